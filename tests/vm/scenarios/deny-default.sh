# SPDX-License-Identifier: LGPL-2.1-or-later
# Without a policy file nobody may lease, root included, and the denial says why.
. /tests/lib.sh
[ ! -e /etc/vfio-broker/policy.conf ] || fail "the guest has a policy file"
rm -f /run/vfio-broker/broker.sock
vfio-brokerd >>"$BROKER_LOG" 2>&1 &
BROKER_PID=$!
for _ in $(seq 100); do [ -S /run/vfio-broker/broker.sock ] && break; usleep 20000; done
grep -q 'no policy file' "$BROKER_LOG" || fail "no warning about the missing policy"
refused as_alice 0000:00:03.0 'denied: no grant names uid 1000'
refused "" 0000:00:03.0 'denied: no grant names uid 0'
stop_broker
echo "deny-default: passed"
