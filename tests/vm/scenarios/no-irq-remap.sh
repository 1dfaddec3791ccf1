# SPDX-License-Identifier: LGPL-2.1-or-later
#vmtest: intremap=off
# An IOMMU without interrupt remapping: the kernel refuses and the broker says
# so and rolls back; with vfio_iommu_type1.allow_unsafe_interrupts set the
# broker's own AllowUnsafeInterrupts=no still refuses; a policy saying yes leases.
. /tests/lib.sh
dmesg | grep -q 'Enabled IRQ remapping' && fail "interrupt remapping is on: the scenario proves nothing"
start_broker
refused as_alice 0000:00:03.0 'no interrupt remapping.*allow_unsafe_interrupts is off'
[ "$(state 0000:00:03.0)" = free ] || fail "the failed acquire left 0000:00:03.0 $(state 0000:00:03.0)"
echo Y >/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts
refused as_alice 0000:00:03.0 'policy says AllowUnsafeInterrupts=no'
mkdir -p /tmp/policy.d
printf '[Broker]\nAllowUnsafeInterrupts=yes\n' >/tmp/policy.d/10-unsafe.conf
kill -HUP "$BROKER_PID"
for _ in $(seq 100); do grep -q 'AllowUnsafeInterrupts=yes' "$BROKER_LOG" && break; usleep 20000; done
as_alice client-dma 0000:00:03.0 || fail "no lease with AllowUnsafeInterrupts=yes"
stop_broker
echo "no-irq-remap: passed"
