# SPDX-License-Identifier: LGPL-2.1-or-later
# A real VMM on the broker's fds (the bed's own kernel only): QEMU 10 run by
# alice, who can open neither /dev/iommu nor a VFIO cdev, started through
# "vfio-brokerctl run --vmm" with $VFIO_BROKER_QEMU_ARGS, realizes vfio-pci on
# the unbound cdev and the iommufd; qtest-edu then drives the nested machine
# over qtest: the device in nested PCI config space, BAR0 assigned, edu's
# identification read, a DMA round trip between nested RAM and the device,
# which crosses the iommufd mappings QEMU made.  A second tenant's QEMU is
# refused while the first runs; QEMU killed with SIGKILL frees the group.
. /tests/lib.sh
cat >/tmp/vmm.conf <<'POLICY'
[Broker]
ResetRequired=no

[Pool edu]
VendorDevice=1234:11e8

[Grant vms]
Pool=edu
User=alice bob
# the nested machine's 64 MiB of RAM are pinned for DMA, charged to QEMU
MemlockLimit=256M
POLICY
POLICY=/tmp/vmm.conf start_broker
qemu-system-x86_64 --version | head -n 1
# The nested machine's firmware: one hlt.  The machine runs (edu's DMA needs
# the virtual clock), its CPU does nothing.
head -c 65536 /dev/zero | tr '\0' '\364' >/tmp/hlt.bin
chmod 644 /tmp/hlt.bin
qemu="qemu-system-x86_64 -machine q35 -accel tcg -m 64 -bios /tmp/hlt.bin -display none -nodefaults -no-user-config"

as_alice sh -c 'exec 3<>/dev/iommu' 2>/dev/null && fail "alice can open /dev/iommu herself"
# (/dev/vfio/vfio is open to all: a container without a group grants nothing)
for node in /dev/vfio/devices/* /dev/vfio/[0-9]*; do
	as_alice sh -c "exec 3<>$node" 2>/dev/null && fail "alice can open $node herself"
done

as_alice vfio-brokerctl run --vmm 0000:00:04.0 -- \
	qtest-edu -- sh -c "exec $qemu -qtest stdio -qtest-log /dev/null \$VFIO_BROKER_QEMU_ARGS" ||
	fail "QEMU on the broker's vmm fds, driven over qtest"
[ "$(state 0000:00:04.0)" = free ] || fail "0000:00:04.0 is not free after QEMU ended"

# A QEMU that keeps running; a second tenant is refused meanwhile.
as_alice vfio-brokerctl run --vmm 0000:00:04.0 -- sh -c "exec $qemu -S \$VFIO_BROKER_QEMU_ARGS" >/tmp/qemu.log 2>&1 &
run=$!
wait_state 0000:00:04.0 leased 5000 >/dev/null
qemu_pid=
for _ in $(seq 250); do
	qemu_pid=$(pidof qemu-system-x86_64 || true)
	[ -n "$qemu_pid" ] && break
	usleep 20000
done
[ -n "$qemu_pid" ] || { cat /tmp/qemu.log; fail "the second QEMU did not start"; }
RUN_ARGS=--vmm refused as_bob 0000:00:04.0 'busy.*uid 1000'
refused as_bob 0000:00:04.0 'busy.*uid 1000'
usleep 500000
kill -0 "$qemu_pid" 2>/dev/null || { cat /tmp/qemu.log; fail "QEMU did not stay up on the broker's fds"; }
kill -9 "$qemu_pid"
rc=0
wait "$run" || rc=$?
[ "$rc" = 137 ] || { cat /tmp/qemu.log; fail "vfio-brokerctl run exited $rc, not 137 for its SIGKILL'd QEMU"; }
ms=$(wait_state 0000:00:04.0 free 2000)
echo "vmm-qemu: SIGKILL'd QEMU's group free after ${ms} ms"
as_bob client-dma 0000:00:04.0 >/dev/null || fail "a legacy lease for bob after alice's QEMU"
stop_broker
echo "vmm-qemu: passed"
