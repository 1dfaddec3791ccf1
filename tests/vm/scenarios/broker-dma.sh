# SPDX-License-Identifier: LGPL-2.1-or-later
# An unprivileged client on libvfio-broker: DMA through the broker's lease.
. /tests/lib.sh
start_broker
[ "$(as_alice id -u)" = 1000 ] || fail "as_alice does not run as uid 1000"
group=$(basename "$(readlink /sys/bus/pci/devices/0000:00:03.0/iommu_group)")
if as_alice sh -c "exec 3<>/dev/vfio/$group" 2>/dev/null; then
	fail "alice can open /dev/vfio/$group herself: the test proves nothing"
fi
echo "broker-dma: alice (uid 1000) cannot open /dev/vfio/$group herself"
[ "$(state 0000:00:03.0)" = free ] || fail "0000:00:03.0 is not free at start"
as_alice client-dma --fetch 0000:00:03.0 || fail "client-dma"
[ "$(state 0000:00:03.0)" = free ] || fail "0000:00:03.0 not free after release"
as_alice client-dma --intx --fetch 0000:00:04.0 || fail "client-dma with INTx"
[ "$(state 0000:00:04.0)" = free ] || fail "0000:00:04.0 not free after release"
# A second group joins the lease: the same container comes back (client-dma checks with kcmp).
as_alice client-dma 0000:00:03.0 0000:00:04.0 || fail "two groups in one lease"
grep -q 'GRANT lease .* to uid 1000 .*by grant "testers"' "$BROKER_LOG" || fail "no grant logged"
stop_broker
echo "broker-dma: passed"
