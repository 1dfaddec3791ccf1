# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/demo: the main job, narrated.  Every line meant for the reader starts with "demo:".
. /tests/lib.sh
say() { sed 's/^/demo:   /'; }
cat >/tmp/demo-policy.conf <<'POLICY'
[Pool edu]
VendorDevice=1234:11e8

[Grant alice]
Pool=edu
User=alice
MemlockLimit=64M
POLICY
echo "demo: the broker's policy (/etc/vfio-broker/policy.conf on a real host):"
grep -v '^$' /tmp/demo-policy.conf | say
POLICY=/tmp/demo-policy.conf start_broker
echo "demo: vfio-brokerd is running as root. What it shows alice (vfio-brokerctl list):"
as_alice vfio-brokerctl list | say
group=$(basename "$(readlink /sys/bus/pci/devices/0000:00:03.0/iommu_group)")
echo "demo: alice (uid 1000) tries to open /dev/vfio/$group herself:"
rc=0
as_alice sh -c "exec 3<>/dev/vfio/$group" >/tmp/open.log 2>&1 || rc=$?
say </tmp/open.log
[ "$rc" != 0 ] && grep -q 'Permission denied' /tmp/open.log || fail "alice opened /dev/vfio/$group herself"
echo "demo: alice asks the broker instead:"
echo "demo:   \$ vfio-brokerctl run --irq 0000:00:03.0:msi 0000:00:03.0 -- fds-dma 0000:00:03.0"
rc=0
as_alice vfio-brokerctl run --irq 0000:00:03.0:msi 0000:00:03.0 -- fds-dma 0000:00:03.0 >/tmp/run.log 2>&1 || rc=$?
say </tmp/run.log
[ "$rc" = 0 ] || fail "the DMA through the broker failed"
echo "demo: the command exited; 0000:00:03.0 is $(state 0000:00:03.0) again."
stop_broker
