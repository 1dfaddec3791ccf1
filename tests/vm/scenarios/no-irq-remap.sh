#vmtest: intremap=off
# An IOMMU without interrupt remapping: the broker says so, rolls back, and
# leases once the admin sets vfio_iommu_type1.allow_unsafe_interrupts.
. /tests/lib.sh
dmesg | grep -q 'Enabled IRQ remapping' && fail "interrupt remapping is on: the scenario proves nothing"
start_broker --unsafe-allow-any-user
refused as_alice 0000:00:03.0 'no interrupt remapping.*allow_unsafe_interrupts'
[ "$(state 0000:00:03.0)" = free ] || fail "the failed acquire left 0000:00:03.0 $(state 0000:00:03.0)"
echo Y >/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts
as_alice client-dma 0000:00:03.0 || fail "no lease with allow_unsafe_interrupts set"
stop_broker
echo "no-irq-remap: passed"
