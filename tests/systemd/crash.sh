#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The broker's own crash consistency under the real systemd: SIGKILLed $KILLS times at
# random points while clients work beside it (alice's holder doing DMA on the fds it
# got before the first kill, a churn of acquires and releases, reloads and restarts
# in between). After each restart every group is held by a live client whose DMA
# works, or free; never lost, never in two leases; the broker's fds do not grow; no
# client waits for a reply the kill lost.
# Then a truncated and a corrupt state file: refused with the reason, nothing
# adopted, and the group a client still holds is not given to anyone else.
set -eu
. /usr/local/lib/vmtest/lib.sh
# How many kills: 100 (test systemd-crash-100, suite long), or what the image was made with (mkimage
# --crash-kills; the CI-sized systemd-crash runs 30: each restart costs about 3 s under TCG).
KILLS=$(cat /usr/local/lib/vmtest/crash-kills 2>/dev/null || echo 100)

echo "crash: $(systemctl --version | head -n 1), kernel $(uname -r)"
# 100 starts in a few minutes: past systemd's start rate limit (5 in 10 s by default).
mkdir -p /run/systemd/system/vfio-brokerd.service.d
printf '[Unit]\nStartLimitIntervalSec=0\n' >/run/systemd/system/vfio-brokerd.service.d/crash.conf
systemctl daemon-reload
as_alice vfio-brokerctl list >/dev/null || fail "the first connection"
fds_of() { ls "/proc/$1/fd" | wc -l; }
settled_fds() { # the broker's fd count once it stays put for half a second
	local a b
	b=$(fds_of "$(broker_pid)")
	for _ in $(seq 50); do
		sleep 0.5
		a=$b
		b=$(fds_of "$(broker_pid)")
		[ "$a" = "$b" ] && break
	done
	echo "$b"
}

hold_dma
fds_before=$(settled_fds)
echo "crash: alice holds $HELD (pid $holder); the broker has $fds_before fds"

# The churn: alice acquires, uses and releases $BDF again and again, each result counted.
rm -f /tmp/stop-churn /tmp/churn.result
churn() {
	while [ ! -e /tmp/stop-churn ]; do
		# A request the killed broker had read but not answered is lost: the library hears of
		# the restart and fails the call; one left waiting (20 s) is a failure of the test.
		rc=0
		timeout 20 runas 1000 1000 client-dma "$BDF" >>/tmp/churn.log 2>&1 </dev/null || rc=$?
		case $rc in
		0) echo ok ;;
		124) echo hung ;;
		*) echo failed ;;
		esac >>/tmp/churn.result
		sleep 0.5 # the guest has one CPU: leave most of it to the broker's restarts
	done
}
churn &
churner=$!

# After each restart: $HELD is in exactly one lease, held by the holder (alive, and its
# DMA works); $BDF is free, or in a lease of its own whose holder is alive.
check_groups() { # ROUND
	local held_lease bdf_lease id pid
	vfio-brokerctl leases >/tmp/leases || fail "round $1: leases"
	held_lease=$(awk -v d="$HELD" '$NF == d { print $1 }' /tmp/leases)
	[ "$(echo "$held_lease" | grep -c .)" = 1 ] || { cat /tmp/leases; fail "round $1: $HELD is in '$held_lease', not one lease"; }
	[ "$(awk -v d="$HELD" '$NF == d { print $3 }' /tmp/leases)" = "$holder" ] ||
		{ cat /tmp/leases; fail "round $1: $HELD's lease is not the holder's ($holder)"; }
	bdf_lease=$(awk -v d="$BDF" '$NF == d { print $1 }' /tmp/leases)
	[ "$(echo "$bdf_lease" | grep -c .)" -le 1 ] || { cat /tmp/leases; fail "round $1: $BDF in two leases"; }
	[ "$bdf_lease" != "$held_lease" ] || fail "round $1: $BDF joined the holder's lease"
	# A churn client cut off by the kill may exit before the new broker has seen it go:
	# its lease must end soon after.
	while read -r id _ pid _; do
		kill -0 "$pid" 2>/dev/null && continue
		for _ in $(seq 50); do
			vfio-brokerctl leases </dev/null | awk -v id="$id" '$1 == id { found = 1 } END { exit !found }' || break
			sleep 0.1
		done
		vfio-brokerctl leases | awk -v id="$id" '$1 == id { found = 1 } END { exit !found }' &&
			fail "round $1: lease $id of pid $pid, which is gone, outlived it by 5 s"
	done < <(tail -n +2 /tmp/leases)
	dma_again "$(($1 + 1))"
}

ms() { echo $(($(date +%s%N) / 1000000)); }
start=$(ms)
for round in $(seq "$KILLS"); do
	old=$(broker_pid)
	t0=$(ms)
	case $((round % 10)) in
	3) systemctl reload vfio-brokerd.service ;; # killed while reloading, or just after
	7) systemctl restart --no-block vfio-brokerd.service # killed while stopping or starting
	   sleep "0.$((RANDOM % 3))" ;;
	esac
	sleep "0.$(printf '%03d' $((RANDOM % 300)))"
	systemctl kill -s SIGKILL vfio-brokerd.service 2>/dev/null || : # between two brokers: the next round's
	wait_active "$old"
	t1=$(ms)
	check_groups "$round"
	echo "crash: round $round: broker $old -> $(broker_pid) in $((t1 - t0)) ms, checked in $(($(ms) - t1)) ms"
done
echo "crash: $KILLS rounds in $(($(ms) - start)) ms"
touch /tmp/stop-churn
wait "$churner"
ok=$(grep -c ok /tmp/churn.result || [ $? = 1 ])
failed=$(grep -c failed /tmp/churn.result || [ $? = 1 ])
hung=$(grep -c hung /tmp/churn.result || [ $? = 1 ])
echo "crash: $KILLS kills; the churn's runs: $ok served, $failed cut off by a kill, $hung left waiting for a lost reply"
[ "$ok" -ge 20 ] || { tail -n 40 /tmp/churn.log; fail "the churn was served only $ok times"; }
[ "$hung" = 0 ] || { tail -n 40 /tmp/churn.log; fail "$hung of the churn's runs waited for a reply the kill lost"; }
wait_state "$BDF" free 50 "after the churn stopped: a group was lost"
as_alice client-dma "$BDF" >/dev/null || fail "$BDF unusable after the kills"
fds_after=$(settled_fds)
echo "crash: the broker has $fds_after fds after $KILLS kills ($fds_before before)"
[ "$fds_after" = "$fds_before" ] || { ls -l "/proc/$(broker_pid)/fd"; fail "the broker's fds went from $fds_before to $fds_after"; }
grep -q '^vfio-broker-state 1$' /run/vfio-brokerd/state && grep -q '^end [0-9a-f]\{16\}$' /run/vfio-brokerd/state ||
	{ cat /run/vfio-brokerd/state; fail "the state file is not whole"; }
[ ! -e /run/vfio-brokerd/state.tmp ] || fail "a temporary state file was left behind"

# A state file cut short, then one changed: the next broker refuses it, naming why, adopts
# nothing and closes the FD store's fds; the holder keeps its fds (its DMA works), and its group
# is not leased to anyone else while it does; once it lets go, the group is free.
bad_state() { # HOW PATTERN: damage the state file with HOW, kill the broker, expect PATTERN in the log
	local old
	old=$(broker_pid)
	eval "$1"
	systemctl kill -s SIGKILL vfio-brokerd.service
	wait_active "$old"
	journalctl --no-pager _PID="$(broker_pid)" | grep -q "$2" ||
		{ journalctl --no-pager _PID="$(broker_pid)"; fail "the broker did not refuse the state file as $2"; }
	journalctl --no-pager _PID="$(broker_pid)" | grep -q 'adopted [1-9]' && fail "it adopted from a bad state file"
	[ "$(state_of "$HELD")" != leased ] || fail "$HELD is leased after a bad state file"
}
bad_state 'truncate -s -10 /run/vfio-brokerd/state' 'state is truncated: its last line is cut short: nothing adopted'
dma_again $((KILLS + 2))
rc=0
as_alice vfio-brokerctl run "$HELD" -- true 2>/tmp/err || rc=$?
cat /tmp/err
[ "$rc" = 125 ] || fail "$HELD was leased again while its old holder still has its fds"
kill -TERM "$holder"
wait "$holder" || :  # its broker connection was closed with the bad state: how it ends is its own
wait_state "$HELD" free 50 "after the old holder let go"
as_alice client-dma "$HELD" >/dev/null || fail "$HELD unusable after a truncated state file"

hold_dma
sed -i '3s/^\(.\)/X\1/' /run/vfio-brokerd/state # any byte: the checksum tells
bad_state : 'state is corrupt: its records do not match their checksum'
dma_again 2
kill -TERM "$holder"
wait "$holder" || :
wait_state "$HELD" free 50 "after the holder let go past a corrupt state file"
echo "crash: a truncated and a corrupt state file were refused, nothing adopted, nothing given twice"

# A request the broker had read when it died, and one it had not. strace kills the broker at
# its first sendmsg once the holder asks for its Release (the journal's, the FD store's or the
# reply: each comes after the request is read and before it is answered). The next broker says
# it restarted; the holder's Ping is answered first, so its Release fails, saying why, and
# the lease ends with the holder. Then the broker is stopped before the holder asks: the
# Release waits in the socket, and the next broker answers it. The watchdog is off here (its
# pings are a sendmsg too, which strace would take for the first).
holder_exits() { for _ in $(seq 300); do kill -0 "$holder" 2>/dev/null || break; sleep 0.1; done; } # up to 30 s; what follows tells
printf '[Service]\nWatchdogSec=0\n' >/run/systemd/system/vfio-brokerd.service.d/no-watchdog.conf
systemctl daemon-reload
old=$(broker_pid)
systemctl restart vfio-brokerd.service
wait_active "$old"
hold_dma
old=$(broker_pid)
strace -f -qq -p "$old" -e trace=sendmsg -e signal=none -e inject=sendmsg:error=EIO:signal=SIGKILL -o /tmp/strace.log &
tracer=$!
for _ in $(seq 100); do
	[ "$(sed -n 's/^TracerPid:[[:space:]]*//p' "/proc/$old/status")" != 0 ] && break
	sleep 0.1
done
kill -TERM "$holder"
wait_active "$old"
holder_exits
kill -0 "$holder" 2>/dev/null && { cat /tmp/hold.log; kill -KILL "$holder"; fail "the holder still waits for the reply to a Release the kill lost"; }
rc=0
wait "$holder" || rc=$?
wait "$tracer" || :
cat /tmp/strace.log
cat /tmp/hold.log
[ "$rc" = 1 ] && grep -q 'release.*Software caused connection abort: the broker restarted while it handled the request' /tmp/hold.log ||
	fail "the holder's lost Release ended with $rc, not the library's error for a lost request"
wait_state "$HELD" free 50 "after the holder whose Release was lost exited"
echo "crash: a Release the killed broker had read failed at once, saying the broker restarted"

hold_dma
old=$(broker_pid)
kill -STOP "$old"
kill -TERM "$holder"
sleep 1 # its Release is in the socket, unread
systemctl kill -s SIGKILL vfio-brokerd.service
wait_active "$old"
holder_exits
rc=0
wait "$holder" || rc=$?
cat /tmp/hold.log
[ "$rc" = 0 ] && grep -q 'released lease' /tmp/hold.log || fail "a Release sent to a stopped broker was not answered by the next one ($rc)"
wait_state "$HELD" free 50 "after the Release the next broker answered"
echo "crash: a Release the killed broker had not read was answered by the next one"
echo "crash: passed"
exit 0
