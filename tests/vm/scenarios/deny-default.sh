# Without a policy the broker leases to root only, unless the development option says otherwise.
. /tests/lib.sh
start_broker
refused as_alice 0000:00:03.0 'uid 1000 may not lease'
client-dma 0000:00:03.0 || fail "root is refused"
stop_broker
echo "deny-default: passed"
