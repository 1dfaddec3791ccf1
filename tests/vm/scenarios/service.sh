# SPDX-License-Identifier: LGPL-2.1-or-later
# The daemon as systemd runs it: socket activation, READY/RELOADING/STOPPING
# and watchdog notifications, and the capability drop (CAP_SYS_RESOURCE, CAP_SYS_PTRACE, CAP_KILL only),
# with a lease and its MemlockLimit still working afterwards.
. /tests/lib.sh
cat >/tmp/service.conf <<'POLICY'
[Pool edu]
VendorDevice=1234:11e8

[Grant alice]
Pool=edu
User=alice
MemlockLimit=2M
POLICY
rm -f /run/vfio-broker/broker.sock
mkdir -p /run/vfio-broker
socket-activate /run/vfio-broker/broker.sock /tmp/notify.log \
	vfio-brokerd --policy /tmp/service.conf --socket /nonexistent/not-used.sock >>"$BROKER_LOG" 2>&1 &
activator=$!
for _ in $(seq 200); do grep -q '^READY=1' /tmp/notify.log 2>/dev/null && break; usleep 20000; done
grep -q '^READY=1' /tmp/notify.log || fail "no READY=1"
BROKER_PID=$(sed -n 's/^pid //p' /tmp/notify.log)
grep -q 'listening on the socket systemd passed' "$BROKER_LOG" || fail "the passed socket was not used"
for set in CapEff CapPrm CapBnd; do
	v=$(awk -v k="$set:" '$1 == k { print $2 }' "/proc/$BROKER_PID/status")
	echo "service: $set $v"
	[ "$v" = 0000000001080020 ] || fail "$set is $v, not CAP_SYS_RESOURCE, CAP_SYS_PTRACE and CAP_KILL alone"
done
as_alice client-dma --expect-memlock 2097152 0000:00:03.0 || fail "a lease with MemlockLimit after the drop"
sleep 3
[ "$(grep -c '^WATCHDOG=1' /tmp/notify.log)" -ge 2 ] || fail "no watchdog pings"
kill -HUP "$BROKER_PID"
for _ in $(seq 100); do grep -q '^RELOADING=1' /tmp/notify.log && break; usleep 20000; done
kill "$BROKER_PID"
rc=0
wait "$activator" || rc=$?
cat /tmp/notify.log | grep -v WATCHDOG
[ "$rc" = 0 ] || fail "vfio-brokerd exited $rc"
grep -q '^RELOADING=1' /tmp/notify.log || fail "no RELOADING=1"
grep -q '^STOPPING=1' /tmp/notify.log || fail "no STOPPING=1"
grep -qE 'Sanitizer|runtime error' "$BROKER_LOG" && fail "sanitizer report"
echo "service: passed"
