# SPDX-License-Identifier: LGPL-2.1-or-later
# A client's identity when the connecting process is gone: its pid, reused by
# a process in a granted cgroup while the connection waits in the broker's
# backlog, must not lend the connection that process's cgroup.
. /tests/lib.sh
[ -f /sys/fs/cgroup/cgroup.procs ] || fail "no cgroup2 hierarchy"
mkdir -p /sys/fs/cgroup/machine.slice/granted /sys/fs/cgroup/machine.slice/refused
in_granted() { sh -c 'echo $$ >/sys/fs/cgroup/machine.slice/granted/cgroup.procs && exec "$@"' sh "$@"; }

cat >/tmp/identity.conf <<'POLICY'
[Broker]
ResetRequired=no

[Pool edu]
Device=0000:00:03.0

[Grant containers]
Pool=edu
Cgroup=/machine.slice/granted
POLICY
POLICY=/tmp/identity.conf start_broker

# The grant itself: bob in the granted cgroup, where the kernel can pin him.
if pins_peers; then
	in_granted runas 1001 1001 client-dma 0000:00:03.0 >/dev/null || fail "bob in the granted cgroup"
else
	grep -q 'grant "containers" (/tmp/identity.conf:7): Cgroup= never matches on this kernel' "$BROKER_LOG" ||
		fail "no warning that Cgroup= cannot match without SO_PEERPIDFD"
	refused in_granted 0000:00:03.0 'no grant names uid 0 \(gid 0, cgroup unverified,'
fi
refused as_bob 0000:00:03.0 'no grant names uid 1001'

# The race, with nobody left on the connection: refused as gone, on every kernel.
pid-reuse "$BROKER_PID" /sys/fs/cgroup/machine.slice/refused /sys/fs/cgroup/machine.slice/granted 1001 \
	0000:00:03.0 >/tmp/race.log 2>&1 || { cat /tmp/race.log; fail "pid-reuse (gone)"; }
cat /tmp/race.log
grep -q 'refusing a connection whose identity cannot be established: No such process' "$BROKER_LOG" ||
	fail "the connection of a process that is gone was not refused"

# The race with a child keeping the socket: SO_PEERPIDFD still knows the
# connector is gone; without it the cgroup is unverified and the grant cannot match.
rc=0
pid-reuse "$BROKER_PID" /sys/fs/cgroup/machine.slice/refused /sys/fs/cgroup/machine.slice/granted 1001 \
	0000:00:03.0 hold >/tmp/race.log 2>&1 || rc=$?
cat /tmp/race.log
[ "$rc" = 0 ] || fail "pid-reuse (held) exited $rc: the reused pid's cgroup was trusted"
if pins_peers; then
	grep -q 'pid-reuse: closed' /tmp/race.log || fail "the held connection was not ended"
else
	grep -q 'pid-reuse: refused: .*cgroup unverified' /tmp/race.log || fail "the held connection's refusal"
fi
# Only the grant to bob in the granted cgroup (where the kernel can pin him), none to the races.
grants=$(grep -c 'GRANT .*0000:00:03.0' "$BROKER_LOG" || :) # grep -c exits 1 at 0
[ "$grants" = "$(pins_peers && echo 1 || echo 0)" ] || fail "$grants grants: the race was granted the device"
[ "$(state 0000:00:03.0)" = free ] || fail "0000:00:03.0 is not free"
kill -0 "$BROKER_PID" || fail "the broker died"
stop_broker
echo "identity: passed"
