# SPDX-License-Identifier: LGPL-2.1-or-later
# The limits a uid lives within, each reached by one uid while another, well
# behaved, is still served: leases per uid, connections before Hello (all
# uids), the Hello deadline while the broker is busy, and the bytes of replies
# a uid leaves unread when it reads, but too slowly.
. /tests/lib.sh

# Leases per uid: alice holds two, a third is refused with the limit named; bob is served
# beside her; once one of hers ends she is served again.
start_broker --max-leases-per-uid 2
hold 0000:00:03.0
first=$HOLDER
runas 1000 1000 client-dma --hold 0000:00:04.0 >/tmp/hold2.log 2>&1 </dev/null &
for _ in $(seq 250); do grep -q holding /tmp/hold2.log && break; usleep 20000; done
grep -q holding /tmp/hold2.log || { cat /tmp/hold2.log; fail "alice's second lease"; }
refused as_alice 0000:01:01.0 'uid 1000 holds 2 leases, the most allowed'
as_bob client-dma 0000:01:01.0 >/dev/null || fail "bob not served while alice is at her lease limit"
kill -TERM "$first"
wait_state 0000:00:03.0 free 3000
as_alice client-dma 0000:01:01.0 >/dev/null || fail "alice not served again below her lease limit"
kill -TERM "$(sed -n 's/.*holding (pid \([0-9]*\)).*/\1/p' /tmp/hold2.log)"
wait_state 0000:00:04.0 free 3000
echo "limits: leases per uid held at 2 for alice, bob served beside her"
stop_broker

# Connections before Hello, all uids: bob fills them with silent connections; alice still gets
# in, by ending bob's oldest (then carol finds room); bob himself gets no more.
start_broker --max-unauthenticated 8 --hello-timeout 60
runas 1001 1001 flood-client silent 12 20 >/tmp/silent.log 2>&1 </dev/null &
silent=$!
for _ in $(seq 250); do grep -q holding /tmp/silent.log && break; usleep 20000; done
for _ in $(seq 100); do [ "$(grep -c 'too many connections have not said Hello' "$BROKER_LOG" || :)" = 4 ] && break; usleep 20000; done
as_alice client-dma 0000:00:03.0 >/dev/null || fail "alice not served while bob holds every connection before Hello"
runas 1002 1002 vfio-brokerctl list >/dev/null || fail "carol not served while bob holds the connections before Hello"
kill -TERM "$silent"
wait "$silent" || { cat /tmp/silent.log; fail "flood-client silent"; }
cat /tmp/silent.log
grep -q 'silent: 4 refused at once, 1 ended for another uid' /tmp/silent.log ||
	fail "bob's silent connections were not bounded as they should be (8 taken, 4 refused, 1 ended for alice)"
grep -q 'connection 1 (uid 1001 .*): closed: no Hello yet, .*room made for uid 1000' "$BROKER_LOG" ||
	fail "the end of bob's oldest connection for alice is not logged"
echo "limits: 8 connections before Hello across uids; bob's oldest gave way to alice"
stop_broker

# The Hello deadline while the broker is busy: bob's silent connections end at the deadline
# (2 s) while carol floods one-byte packets and alice acquires again and again.
start_broker --hello-timeout 2
runas 1001 1001 flood-client silent 16 30 >/tmp/silent.log 2>&1 </dev/null &
silent=$!
runas 1002 1002 flood-client bytes 200 >/tmp/bytes.log 2>&1 </dev/null &
bytes=$!
for round in 1 2 3; do
	as_alice client-dma 0000:00:03.0 >/dev/null || fail "alice not served in round $round beside the silent and the flood"
done
wait "$silent" || { cat /tmp/silent.log; fail "flood-client silent"; }
wait "$bytes" || { cat /tmp/bytes.log; fail "one-byte sender"; }
cat /tmp/silent.log
line=$(grep 'silent: 0 refused at once, 0 ended for another uid, 16 at the Hello deadline' /tmp/silent.log) ||
	fail "not all 16 silent connections ended at their Hello deadline"
from=$(echo "$line" | sed 's/.*(\([0-9]*\) to \([0-9]*\) ms).*/\1/')
to=$(echo "$line" | sed 's/.*(\([0-9]*\) to \([0-9]*\) ms).*/\2/')
# Not a timing test: the deadline must be kept (not early), and not slip by more than seconds.
[ "$from" -ge 1900 ] && [ "$to" -le 10000 ] || fail "the Hello deadline of 2 s was kept at $from to $to ms"
echo "limits: 16 silent connections ended at the Hello deadline ($from to $to ms) beside a flood"
stop_broker

# Unread bytes under a slow reader: carol asks two for every reply she reads, and is dropped
# once she leaves more than 16 KiB unread, with the reason; one that asks one at a time, as
# slowly, is never dropped; alice is served meanwhile.
start_broker --max-queued-bytes 16384
runas 1002 1002 flood-client slowread 400 2 >/tmp/slow2.log 2>&1 </dev/null &
slow2=$!
runas 1001 1001 flood-client slowread 100 1 >/tmp/slow1.log 2>&1 </dev/null &
slow1=$!
as_alice client-dma 0000:00:03.0 >/dev/null || fail "alice not served beside a slow reader"
wait "$slow2" || { cat /tmp/slow2.log; fail "carol, reading too slowly, was not dropped"; }
wait "$slow1" || { cat /tmp/slow1.log; fail "bob, reading slowly but keeping up, was dropped"; }
cat /tmp/slow2.log /tmp/slow1.log
grep -q 'dropped in round .*: .*unread' /tmp/slow2.log || fail "carol was not told why she was dropped"
as_alice client-dma 0000:00:03.0 >/dev/null || fail "alice not served after the slow reader"
stop_broker
echo "limits: passed"
