# SPDX-License-Identifier: LGPL-2.1-or-later
# Groups are leased whole: siblings reserved and joinable, busy errors name the holder,
# a group with a host-driver device is refused naming it.
. /tests/lib.sh
start_broker
hold 0000:01:01.0
vfio-brokerctl list
[ "$(state 0000:01:01.0)" = leased ] || fail "0000:01:01.0 not leased"
[ "$(state 0000:01:02.0)" = leased ] || fail "its sibling 0000:01:02.0 is not reserved"

refused as_bob 0000:01:02.0 'busy.*uid 1000'
refused as_bob 0000:02:01.0 '0000:02:02.0 is bound to the host driver e1000e'
[ "$(state 0000:02:01.0)" = unavailable ] || fail "0000:02:01.0 not shown unavailable"

kill "$HOLDER"
wait_state 0000:01:01.0 free 2000 >/dev/null

# Both devices of the group in one lease, acquired one after the other, both doing DMA.
as_alice client-dma 0000:01:01.0 0000:01:02.0 || fail "one lease for both devices of group"
[ "$(state 0000:01:02.0)" = free ] || fail "0000:01:02.0 not free after release"
stop_broker
echo "bridge: passed"
