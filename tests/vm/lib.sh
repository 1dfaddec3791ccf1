# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the scenarios: running the broker and clients in the guest.
BROKER_LOG=/tmp/vfio-brokerd.log

# Reports on stderr, so that it shows even inside $(...) or behind >/dev/null.
fail() {
	{
		echo "FAIL: $*"
		echo "--- broker log"
		cat "$BROKER_LOG" 2>/dev/null
	} >&2
	exit 1
}

# pins_peers: whether this kernel has SO_PEERPIDFD (6.5), the only race-free view of a client's cgroup.
pins_peers() {
	v=$(uname -r)
	major=${v%%.*}
	minor=${v#*.}
	minor=${minor%%.*}
	[ "$major" -gt 6 ] || { [ "$major" = 6 ] && [ "$minor" -ge 5 ]; }
}

as_alice() { runas 1000 1000 "$@"; }
as_bob() { runas 1001 1001 "$@"; }

# The policy most scenarios run under: root, alice, bob and carol may lease
# every edu device; no reset is required between them.
TEST_POLICY=/tmp/test-policy.conf
cat >"$TEST_POLICY" <<'POLICY'
[Broker]
ResetRequired=no

[Pool edu]
VendorDevice=1234:11e8

[Grant testers]
Pool=edu
User=root alice bob carol
POLICY

# The drop-in directory every broker here is given (a --policy-dir must exist).
mkdir -p /tmp/policy.d

# start_broker [OPTIONS]: vfio-brokerd in the background with $POLICY (default
# $TEST_POLICY) and drop-ins from /tmp/policy.d, waiting for its socket.
start_broker() {
	rm -f /run/vfio-broker/broker.sock
	vfio-brokerd --policy "${POLICY:-$TEST_POLICY}" --policy-dir /tmp/policy.d "$@" >>"$BROKER_LOG" 2>&1 &
	BROKER_PID=$!
	for _ in $(seq 100); do
		[ -S /run/vfio-broker/broker.sock ] && return 0
		usleep 20000
	done
	fail "vfio-brokerd did not come up"
}

# to_vfio_pci BDF DRIVER: move BDF from its host driver DRIVER to vfio-pci by hand (driver_override).
to_vfio_pci() {
	echo vfio-pci >"/sys/bus/pci/devices/$1/driver_override"
	echo "$1" >"/sys/bus/pci/drivers/$2/unbind"
	echo "$1" >/sys/bus/pci/drivers_probe
}

# start_system_bus: a dbus-daemon with Debian's system bus configuration (and
# units/org.vfiobroker1.conf, in the initramfs); its pid in $DBUS_PID.
start_system_bus() {
	mkdir -p /run/dbus
	dbus-daemon --system --nofork --nopidfile >/tmp/dbus.log 2>&1 &
	DBUS_PID=$!
	for _ in $(seq 100); do [ -S /run/dbus/system_bus_socket ] && return 0; usleep 20000; done
	cat /tmp/dbus.log >&2
	fail "no system bus"
}

# wait_bus_name: until the broker owns org.vfiobroker1.
wait_bus_name() {
	for _ in $(seq 100); do busctl --system status org.vfiobroker1 >/dev/null 2>&1 && return 0; usleep 20000; done
	fail "the broker did not get onto the bus"
}

# stop_broker: SIGTERM, then the broker must exit 0 with no sanitizer report
# in its log (the ASan+UBSan build reports leaks and errors there).
stop_broker() {
	kill "$BROKER_PID" || fail "vfio-brokerd is gone before the end"
	rc=0
	wait "$BROKER_PID" || rc=$?
	[ "$rc" = 0 ] || fail "vfio-brokerd exited $rc"
	if grep -qE 'Sanitizer|runtime error' "$BROKER_LOG"; then
		fail "sanitizer report from vfio-brokerd"
	fi
}

# state BDF: free, leased, quarantined or unavailable, as vfio-brokerctl list says.
state() {
	vfio-brokerctl list | awk -v bdf="$1" '$1 == bdf { print $6 }'
}

# Milliseconds since boot.
now_ms() {
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# wait_state BDF STATE MS: poll until BDF is in STATE; fails after MS milliseconds.
# Prints how long it took.
wait_state() {
	start=$(now_ms)
	while :; do
		s=$(state "$1")
		[ "$s" = "$2" ] && { echo $(($(now_ms) - start)); return 0; }
		[ $(($(now_ms) - start)) -gt "$3" ] && fail "$1 is '$s', not '$2', after $3 ms"
		usleep 10000
	done
}

fd_count() {
	ls "/proc/$1/fd" 2>/dev/null | wc -l
}

# settled_fd_count PID: the fd count once it has not changed for 300 ms
# (connections that just ended are closed asynchronously).
settled_fd_count() {
	last=$(fd_count "$1")
	for _ in $(seq 50); do
		usleep 300000
		now=$(fd_count "$1")
		[ "$now" = "$last" ] && break
		last=$now
	done
	echo "$last"
}

# hold BDF: a client of alice's holds BDF in the background; its pid goes to
# $HOLDER (not printed: a background child would keep a $(...) pipe open).
# $HOLD_ARGS: more options for client-dma (--iommufd).
hold() {
	# shellcheck disable=SC2086
	runas 1000 1000 client-dma --hold $HOLD_ARGS "$1" >/tmp/hold.log 2>&1 </dev/null &
	for _ in $(seq 250); do grep -q holding /tmp/hold.log && break; usleep 20000; done
	grep -q holding /tmp/hold.log || { cat /tmp/hold.log >&2; fail "alice's client did not get $1"; }
	HOLDER=$(sed -n 's/.*holding (pid \([0-9]*\)).*/\1/p' /tmp/hold.log)
}

# refused AS BDF PATTERN: "vfio-brokerctl run BDF -- true" run by AS (as_alice,
# as_bob, or "" for root) must be refused: exit 125 with PATTERN (grep -E) in its message.
# $RUN_ARGS: options for run before BDF (--iommufd, --vmm).
refused() {
	rc=0
	# shellcheck disable=SC2086
	${1:+"$1"} vfio-brokerctl run $RUN_ARGS "$2" -- true 2>/tmp/err || rc=$?
	cat /tmp/err
	[ "$rc" = 125 ] || fail "$1 $2: exited $rc, not refused (125)"
	grep -qE "$3" /tmp/err || fail "$1 $2: the refusal does not say '$3'"
}

# wait_fd_count PID WANT MS: the fd count of PID must come back to WANT within
# MS milliseconds (closing what clients left is asynchronous).
wait_fd_count() {
	start=$(now_ms)
	while [ "$(fd_count "$1")" != "$2" ]; do
		if [ $(($(now_ms) - start)) -gt "$3" ]; then
			ls -l "/proc/$1/fd" >&2
			fail "the broker has $(fd_count "$1") fds, not $2, after $3 ms"
		fi
		usleep 50000
	done
}
