# SPDX-License-Identifier: LGPL-2.1-or-later
# A broker's start, before it serves: a second broker on a live broker's socket
# is refused naming it, and the first keeps serving; a dead broker's socket is
# replaced; not root, or --sysfs or --policy-dir leading nowhere: refused with
# the reason before any socket exists.
. /tests/lib.sh
sock=/run/vfio-broker/broker.sock
start_broker
rc=0
vfio-brokerd --policy "$TEST_POLICY" >/tmp/second.log 2>&1 || rc=$?
cat /tmp/second.log
[ "$rc" != 0 ] && grep -q "a broker (pid $BROKER_PID) already listens on $sock" /tmp/second.log ||
	fail "a second broker on the live socket was not refused naming the first (exit $rc)"
as_alice client-dma 0000:00:03.0 >/dev/null || fail "the first broker stopped serving after the second's attempt"

kill -9 "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null || :
[ -S "$sock" ] || fail "the killed broker left no socket: nothing to test"
BROKER_LOG=/tmp/third.log
vfio-brokerd --policy "$TEST_POLICY" >"$BROKER_LOG" 2>&1 &
BROKER_PID=$!
for _ in $(seq 100); do grep -q listening "$BROKER_LOG" && break; usleep 20000; done
grep -q "removed $sock, a socket nobody listened on" "$BROKER_LOG" || fail "the stale socket's removal is not logged"
as_alice client-dma 0000:00:03.0 >/dev/null || fail "the broker on the replaced socket"
stop_broker

# Not root: refused before anything is bound.
rc=0
as_alice vfio-brokerd --policy "$TEST_POLICY" --socket /tmp/alice.sock >/tmp/alice.log 2>&1 || rc=$?
cat /tmp/alice.log
[ "$rc" != 0 ] && grep -q 'must run as root: it needs CAP_SYS_RESOURCE CAP_KILL CAP_SYS_PTRACE' /tmp/alice.log ||
	fail "a broker run by alice was not refused as not root (exit $rc)"
[ ! -e /tmp/alice.sock ] || fail "the refused broker left its socket behind"

# Paths that lead nowhere.
for args in "--sysfs /nonexistent" "--policy-dir /nonexistent" "--sysfs /tmp"; do
	rc=0
	# shellcheck disable=SC2086
	vfio-brokerd --policy "$TEST_POLICY" --socket /tmp/paths.sock $args >/tmp/paths.log 2>&1 || rc=$?
	cat /tmp/paths.log
	[ "$rc" != 0 ] && grep -q "^vfio-brokerd: ${args%% *} ${args#* }: " /tmp/paths.log || fail "$args was accepted (exit $rc)"
	[ ! -e /tmp/paths.sock ] || fail "$args: a socket was left behind"
done

# Something that is not a socket where the socket goes: left alone, and refused.
echo precious >/tmp/file.sock
rc=0
vfio-brokerd --policy "$TEST_POLICY" --socket /tmp/file.sock >/tmp/file.log 2>&1 || rc=$?
cat /tmp/file.log
[ "$rc" != 0 ] && grep -q '/tmp/file.sock exists and is not a socket' /tmp/file.log || fail "a file at the socket path (exit $rc)"
[ "$(cat /tmp/file.sock)" = precious ] || fail "the file at the socket path was touched"
echo "startup: passed"
