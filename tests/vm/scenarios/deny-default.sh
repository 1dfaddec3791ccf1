# Without a policy the broker leases to root only, unless the development option says otherwise.
. /tests/lib.sh
start_broker
rc=0
as_alice vfio-brokerctl run 0000:00:03.0 -- true 2>/tmp/err || rc=$?
cat /tmp/err
[ "$rc" = 125 ] || fail "alice got a device from a broker without policy"
grep -q 'uid 1000 may not lease' /tmp/err || fail "the denial does not say who and why"
client-dma 0000:00:03.0 || fail "root is refused"
stop_broker
echo "deny-default: passed"
