# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the systemd test bed's scenarios (installed beside them by mkimage):
# the broker under its units, and alice's clients.
GRANT=0b28f17e8455441fbfe08fdabf0cd487
RELEASE=7d84da23683c41e28386001d994f2896
BDF=0000:00:03.0
HELD=0000:00:04.0

fail() {
	echo "FAIL: $*"
	systemctl status --no-pager vfio-brokerd.service vfio-brokerd.socket || : # 3 when inactive: the log goes on
	journalctl --no-pager -u vfio-brokerd.service | tail -n 40
	exit 1
}
as_alice() { runas 1000 1000 "$@"; }
broker_pid() { systemctl show -p MainPID --value vfio-brokerd.service; }

wait_for() { # FILE PATTERN: up to 10 s
	for _ in $(seq 100); do grep -q "$2" "$1" && return 0; sleep 0.1; done
	cat "$1"
	fail "no '$2' in $1"
}
wait_active() { # OLD_PID: the service is active under another pid
	local shown
	for _ in $(seq 100); do
		shown=$(systemctl show -p ActiveState -p MainPID vfio-brokerd.service) # one call: each costs under TCG
		p=$(echo "$shown" | sed -n 's/^MainPID=//p')
		[[ $shown == *ActiveState=active* ]] && [ "$p" != 0 ] && [ "$p" != "$1" ] && return 0
		sleep 0.1
	done
	fail "the service did not come back"
}
state_of() { vfio-brokerctl list | awk -v bdf="$1" '$1 == bdf { print $6 }'; }
wait_state() { # BDF STATE TENTHS: BDF reaches STATE within TENTHS tenths of a second
	for _ in $(seq "$3"); do [ "$(state_of "$1")" = "$2" ] && return 0; sleep 0.1; done
	fail "$1 is '$(state_of "$1")', not $2: $4"
}
admin_api_follows() { # the new broker owns org.vfiobroker1 (it waits in the name's queue while the old one's connection lingers)
	local owner=
	for _ in $(seq 100); do
		owner=$(busctl --system status org.vfiobroker1 2>/dev/null | sed -n 's/^PID=//p')
		[ "$owner" = "$(broker_pid)" ] && vfio-brokerctl status >/dev/null && return 0
		sleep 0.1
	done
	fail "org.vfiobroker1 belongs to pid '$owner', not to the broker ($(broker_pid)), after the restart"
}
restart() { # systemctl ARGS...: the service goes down that way and comes back under a new pid
	local old
	old=$(broker_pid)
	systemctl "$@" vfio-brokerd.service || fail "systemctl $*"
	wait_active "$old"
	admin_api_follows
	echo "systemd: systemctl $*: pid $old -> $(broker_pid), which serves the admin API"
}
reset_recorded() { # PID: broker PID gave $HELD's group back with a RESET record saying what it reset:
	# an edu has no reset, so the truth is "0/1 reset" (tests/vm reset.sh sees real resets)
	local group
	group=$(basename "$(readlink "/sys/bus/pci/devices/$HELD/iommu_group")")
	journalctl --no-pager -o verbose _PID="$1" MESSAGE_ID=0a6e2f8a36e74596968eb099eeff093f VFIO_BROKER_GROUP="$group" >/tmp/reset.journal
	grep -q 'VFIO_BROKER_RESULT=0/1 reset$' /tmp/reset.journal || { cat /tmp/reset.journal; return 1; }
}
hold_dma() { # [BDF...]: alice's client-dma --hold-dma on them (default $HELD) in one lease, its pid in $holder
	runas 1000 1000 client-dma --hold-dma "${@:-$HELD}" >/tmp/hold.log 2>&1 </dev/null &
	holder=$!
	wait_for /tmp/hold.log holding
}
killed() { # PID: a child of ours we sent SIGKILL is reaped, and died of it
	local rc=0
	wait "$1" 2>/dev/null || rc=$?
	[ "$rc" = 137 ] || fail "pid $1 exited $rc, not by SIGKILL"
}
held_is_busy() { # a new acquire of $HELD by alice is refused as busy
	local rc=0
	as_alice vfio-brokerctl run "$HELD" -- true 2>/tmp/err || rc=$?
	cat /tmp/err
	[ "$rc" = 125 ] && grep -q busy /tmp/err
}
dma_again() { # ROUND
	kill -USR1 "$holder"
	wait_for /tmp/hold.log "DMA round $1 passed"
}


# Every link of the installed document @1 to a file of the tree (docs/vmm.md, policy/README.md, ...)
# is installed beside it as in the tree.
readme_links_resolve() {
	local link n=0
	for link in $(grep -o '](\([^)#]*\)' "$1" | sed 's/^](//' | grep -v '://' | sort -u); do
		[ -f "$(dirname "$1")/$link" ] || fail "$1 links to $link, which is not installed beside it"
		n=$((n + 1))
	done
	echo "systemd: $1's $n links to the documents beside it resolve"
}

# The units' Documentation= resolves: the man page and the README are installed.
documentation_resolves() {
	# Each document once: the service and the socket name the same ones.
	for doc in $(systemctl show -p Documentation --value vfio-brokerd.service vfio-brokerd.socket | tr ' ' '\n' | sort -u); do
		doc=${doc//\"/} # systemctl quotes each entry
		case $doc in
		man:*) page=${doc#man:}; section=${page#*(}; section=${section%)}; page=${page%(*}
		       [ -f "/usr/share/man/man$section/$page.$section" ] || [ -f "/usr/share/man/man$section/$page.$section.gz" ] ||
			       fail "Documentation=$doc: no such man page installed" ;;
		file://*) [ -f "${doc#file://}" ] || fail "Documentation=$doc: no such file"
		          readme_links_resolve "${doc#file://}" ;;
		*) fail "Documentation=$doc: neither man: nor file://" ;;
		esac
	done
	echo "systemd: the units' Documentation= resolves"
}
