# SPDX-License-Identifier: LGPL-2.1-or-later
# Release on client death: SIGKILL frees the group within 1 s; a device fd kept by a
# child quarantines the group until the child exits.
. /tests/lib.sh
start_broker
hold 0000:00:04.0
[ "$(state 0000:00:04.0)" = leased ] || fail "not leased"
kill -9 "$HOLDER"
ms=$(wait_state 0000:00:04.0 free 1000)
echo "client-death: SIGKILL'd client's group free after ${ms} ms"

as_alice client-dma --fork-child 0000:00:04.0 >/tmp/fork.log 2>&1 || { cat /tmp/fork.log; fail "client-dma --fork-child"; }
cat /tmp/fork.log
child=$(sed -n 's/^client-dma: child \([0-9]*\) keeps.*/\1/p' /tmp/fork.log)
[ -n "$child" ] || fail "no child pid"
wait_state 0000:00:04.0 quarantined 2000 >/dev/null
sleep 2
[ "$(state 0000:00:04.0)" = quarantined ] || fail "released while the child still holds the device fd"
refused as_bob 0000:00:04.0 'quarantined'
kill -9 "$child"
ms=$(wait_state 0000:00:04.0 free 3000)
echo "client-death: group free ${ms} ms after the child died"
grep -q 'quarantined' "$BROKER_LOG" || fail "no quarantine logged"
stop_broker
echo "client-death: passed"
