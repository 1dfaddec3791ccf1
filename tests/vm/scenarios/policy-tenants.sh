# SPDX-License-Identifier: LGPL-2.1-or-later
# The policy file on the real kernel: tenant A gets its device, tenant B is denied
# with a clear message; MaxDevices; MemlockLimit in the client's limits and
# enforced on its DMA mappings, also with two leases in one process; ResetRequired; policy check and explain.
. /tests/lib.sh
cat >/tmp/tenants.conf <<'POLICY'
[Broker]
ResetRequired=yes

[Pool tenant-a]
Device=0000:00:03.0 0000:01:01.0

[Pool shared]
Device=0000:00:04.0

[Grant tenant-a]
Pool=tenant-a
User=alice
MaxDevices=1
MemlockLimit=1M
Irq=msi intx

[Grant shared]
Pool=shared
User=alice bob
MemlockLimit=8M
POLICY
vfio-brokerctl policy check /tmp/tenants.conf || fail "policy check refused a good file"
vfio-brokerctl policy explain --uid 1000 --policy /tmp/tenants.conf 0000:00:03.0 | tee /tmp/explain
grep -q 'allowed: uid 1000 may lease 0000:00:03.0 by grant "tenant-a" (/tmp/tenants.conf:10)' /tmp/explain ||
	fail "explain does not name the grant, file and line"
rc=0
vfio-brokerctl policy explain --uid 1001 --policy /tmp/tenants.conf 0000:00:03.0 >/tmp/explain || rc=$?
cat /tmp/explain
[ "$rc" = 1 ] && grep -q 'denied: no grant for uid 1001 covers 0000:00:03.0' /tmp/explain || fail "explain for bob"
rc=0
vfio-brokerctl policy explain --uid 1000 --irq msix --policy /tmp/tenants.conf 0000:00:03.0 >/tmp/explain || rc=$?
[ "$rc" = 1 ] && grep -q 'not the interrupt types' /tmp/explain || fail "explain with an IRQ type the grant lacks"

POLICY=/tmp/tenants.conf start_broker
# tenant A, with its MemlockLimit (1 MiB) in force during the lease only
as_alice client-dma --expect-memlock 1048576 0000:00:03.0 || fail "tenant A"
grep -q 'GRANT lease .*0000:00:03.0 .*uid 1000 .*by grant "tenant-a"' "$BROKER_LOG" || fail "grant not logged"
# tenant B
refused as_bob 0000:00:03.0 'denied: no grant for uid 1001 covers 0000:00:03.0'
grep -q 'DENY uid 1001' "$BROKER_LOG" || fail "denial not logged"
vfio-brokerctl list >/dev/null
as_bob vfio-brokerctl list | awk '$1 == "0000:00:04.0" { print $8 }' | grep -qx yes || fail "list does not mark bob's device"
as_bob vfio-brokerctl list | awk '$1 == "0000:00:03.0" { print $8 }' | grep -qx no || fail "list marks alice's device for bob"
# an IRQ type the grant does not allow
rc=0
as_alice vfio-brokerctl run --irq 0000:00:03.0:err 0000:00:03.0 -- true 2>/tmp/err || rc=$?
cat /tmp/err
[ "$rc" = 125 ] && grep -q 'not the interrupt types' /tmp/err || fail "an IRQ type outside Irq= was granted"
# MaxDevices=1: with one device held, a second is refused
hold 0000:00:03.0
refused as_alice 0000:01:01.0 'allows 1'
kill "$HOLDER"
wait_state 0000:00:03.0 free 2000 >/dev/null
# ResetRequired: the edu device has no reset; after alice, bob may not have it
as_alice client-dma 0000:00:04.0 >/dev/null || fail "alice on the shared device"
refused as_bob 0000:00:04.0 'last held by uid 1000 by grant "shared" and could not be reset'
as_alice client-dma 0000:00:04.0 >/dev/null || fail "alice again on her own former device"
# Two leases in one process: its RLIMIT_MEMLOCK is the largest MemlockLimit of the leases it holds, and
# what it had before comes back only with the last; the first lease's end leaves the second's budget.
as_alice client-dma --two-leases 8388608 0000:00:03.0 0000:00:04.0 || fail "the second lease lost its MemlockLimit"
stop_broker
echo "policy-tenants: passed"
