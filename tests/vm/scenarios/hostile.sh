# SPDX-License-Identifier: LGPL-2.1-or-later
# Malformed packets, unexpected fds, unknown devices: errors or disconnects, nothing leaked,
# everyone else still served.
. /tests/lib.sh
start_broker
as_alice client-dma 0000:00:03.0 >/dev/null || fail "warm-up"
before=$(settled_fd_count "$BROKER_PID")
as_bob junk-client || fail "junk-client found a wrong answer"
after=$(settled_fd_count "$BROKER_PID")
echo "hostile: broker fds before $before, after $after"
[ "$before" = "$after" ] || { ls -l /proc/$BROKER_PID/fd; fail "the broker's fd count changed"; }
as_alice client-dma 0000:00:03.0 || fail "a good client is not served after the junk"
kill -0 "$BROKER_PID" || fail "the broker died"
stop_broker
echo "hostile: passed"
