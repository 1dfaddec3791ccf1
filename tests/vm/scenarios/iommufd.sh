# SPDX-License-Identifier: LGPL-2.1-or-later
# The broker's iommufd backend on the bed's own kernel: driver mode (an iommufd
# with an IOAS, bound cdevs, the broker's eventfds) with MSI and INTx, through
# the library and through vfio-brokerctl run; VMM mode's unbound cdevs and
# QEMU arguments; group siblings, busy, not viable, quarantine while a child
# keeps a bound cdev, SIGKILL, MemlockLimit on IOMMU_IOAS_MAP, policy
# Backend=, and a legacy lease beside an iommufd one.  On Debian's kernels
# (no CONFIG_IOMMUFD) both modes are refused naming what the kernel lacks,
# and legacy leases are unaffected.
. /tests/lib.sh
case "$(uname -r)" in
*-iommufd) ;;
*)
	start_broker
	RUN_ARGS=--iommufd refused as_alice 0000:00:04.0 'iommufd mode cannot be had: this kernel has no /dev/iommu .*CONFIG_IOMMUFD'
	RUN_ARGS=--vmm refused as_alice 0000:00:04.0 'vmm mode cannot be had: this kernel has no /dev/iommu'
	[ "$(state 0000:00:04.0)" = free ] || fail "a refused iommufd acquire left 0000:00:04.0 $(state 0000:00:04.0)"
	as_alice client-dma 0000:00:04.0 >/dev/null || fail "a legacy lease after the refusals"
	stop_broker
	echo "iommufd: refused on $(uname -r), which has no iommufd; legacy unaffected"
	exit 0
	;;
esac

cat >/tmp/iommufd.conf <<'POLICY'
[Broker]
ResetRequired=no

[Pool edu]
Device=0000:00:04.0 0000:01:01.0 0000:01:02.0 0000:02:01.0

[Pool legacy-only]
Device=0000:00:03.0

[Grant legacy-only]
Pool=legacy-only
User=alice
Backend=legacy

[Grant testers]
Pool=edu
User=root alice bob
MemlockLimit=1M
POLICY
POLICY=/tmp/iommufd.conf start_broker

# Driver mode, MSI and INTx, with the library; the MemlockLimit bounds IOMMU_IOAS_MAP.
as_alice client-dma --iommufd 0000:00:04.0 || fail "iommufd driver mode with MSI"
as_alice client-dma --iommufd --intx 0000:00:04.0 || fail "iommufd driver mode with INTx"
as_alice client-dma --iommufd --expect-memlock 1048576 0000:00:04.0 || fail "MemlockLimit on an iommufd lease"
as_alice client-dma --iommufd 0000:00:04.0 0000:01:01.0 || fail "two groups in one iommufd lease (one iommufd, one IOAS)"
[ "$(state 0000:00:04.0)" = free ] || fail "0000:00:04.0 not free after the iommufd leases"

# Through vfio-brokerctl run: the tokens of VFIO_BROKER_FDS.
as_alice vfio-brokerctl run --iommufd --irq 0000:00:04.0:msi 0000:00:04.0 -- sh -c 'echo "$VFIO_BROKER_FDS"' >/tmp/fds ||
	fail "run --iommufd"
cat /tmp/fds
grep -qE '^iommufd=[0-9]+ ioas=[0-9]+ device:0000:00:04.0=[0-9]+ msi:0000:00:04.0:0=[0-9]+$' /tmp/fds ||
	fail "VFIO_BROKER_FDS of an iommufd lease is not as documented"
as_alice vfio-brokerctl run --iommufd --irq 0000:00:04.0:msi 0000:00:04.0 -- fds-dma 0000:00:04.0 ||
	fail "fds-dma on an iommufd lease"
as_alice vfio-brokerctl run --iommufd --irq 0000:00:04.0:intx 0000:00:04.0 -- fds-dma 0000:00:04.0 ||
	fail "fds-dma with INTx on an iommufd lease"

# VMM mode: unbound cdevs, no IRQs, the QEMU arguments.
as_alice vfio-brokerctl run --vmm 0000:00:04.0 0000:00:03.0 -- sh -c 'echo "$VFIO_BROKER_FDS"; echo "$VFIO_BROKER_QEMU_ARGS"' \
	>/tmp/vmm 2>&1 && fail "vmm mode for 0000:00:03.0, which Backend=legacy keeps from iommufd"
cat /tmp/vmm
grep -q 'grant "legacy-only" .* covers 0000:00:03.0 but not through iommufd' /tmp/vmm ||
	fail "the Backend= refusal does not name the grant"
as_alice vfio-brokerctl run 0000:00:03.0 -- true || fail "Backend=legacy refused the legacy backend"
as_alice vfio-brokerctl run --vmm 0000:00:04.0 -- sh -c 'echo "$VFIO_BROKER_FDS"; echo "$VFIO_BROKER_QEMU_ARGS"' >/tmp/vmm ||
	fail "run --vmm"
cat /tmp/vmm
grep -qE '^iommufd=[0-9]+ device:0000:00:04.0=[0-9]+$' /tmp/vmm || fail "VFIO_BROKER_FDS of a vmm lease is not as documented"
grep -qE '^-object iommufd,id=vfio-broker-iommufd,fd=[0-9]+ -device vfio-pci,iommufd=vfio-broker-iommufd,fd=[0-9]+,id=hostdev-0000-00-04.0$' /tmp/vmm ||
	fail "VFIO_BROKER_QEMU_ARGS is not as documented"
rc=0
as_alice vfio-brokerctl run --vmm --irq 0000:00:04.0:msi 0000:00:04.0 -- true 2>/tmp/err || rc=$?
cat /tmp/err
[ "$rc" = 2 ] && grep -q 'the VMM sets up the interrupts' /tmp/err || fail "--vmm with --irq"
# An unbound cdev answers only its bind; the raw program proves the fd it got is one.
as_alice vfio-brokerctl run --vmm 0000:00:04.0 -- raw-iommufd --unbound-from-env 0000:00:04.0 ||
	fail "the vmm lease's cdev is not an unbound cdev a client can bind"

# Group siblings: the whole group is bound, the sibling joins the lease.
as_alice client-dma --iommufd 0000:01:01.0 0000:01:02.0 || fail "both devices of a group in one iommufd lease"
HOLD_ARGS=--iommufd hold 0000:01:01.0
[ "$(state 0000:01:02.0)" = leased ] || fail "the sibling 0000:01:02.0 is not reserved"
RUN_ARGS=--iommufd refused as_bob 0000:01:02.0 'busy.*uid 1000'
refused as_bob 0000:01:02.0 'busy.*uid 1000'
RUN_ARGS=--iommufd refused as_bob 0000:02:01.0 '0000:02:02.0 is bound to the host driver e1000e'
# A legacy lease of another group beside the iommufd one, both doing DMA.
as_bob client-dma 0000:00:04.0 || fail "a legacy lease beside an iommufd lease"
kill -9 "$HOLDER"
ms=$(wait_state 0000:01:01.0 free 1000)
echo "iommufd: SIGKILL'd iommufd client's group free after ${ms} ms"
[ "$(state 0000:01:02.0)" = free ] || fail "the sibling is not free after the SIGKILL"

# A child keeps a bound cdev: the fresh bind the broker tries is refused, so the group waits.
as_alice client-dma --iommufd --fork-child 0000:00:04.0 >/tmp/fork.log 2>&1 || { cat /tmp/fork.log; fail "--fork-child"; }
child=$(sed -n 's/^client-dma: child \([0-9]*\) keeps.*/\1/p' /tmp/fork.log)
[ -n "$child" ] || fail "no child pid"
wait_state 0000:00:04.0 quarantined 2000 >/dev/null
sleep 1
[ "$(state 0000:00:04.0)" = quarantined ] || fail "released while the child still has the cdev bound"
RUN_ARGS=--iommufd refused as_bob 0000:00:04.0 'quarantined'
refused as_bob 0000:00:04.0 'quarantined'
kill -9 "$child"
ms=$(wait_state 0000:00:04.0 free 3000)
echo "iommufd: group free ${ms} ms after the child with the bound cdev died"

# Held outside the broker: a bound cdev of someone else's iommufd.
raw-iommufd --bind-and-hold 0000:00:04.0 >/tmp/raw.log 2>&1 &
raw=$!
for _ in $(seq 100); do grep -q holding /tmp/raw.log && break; usleep 20000; done
RUN_ARGS=--iommufd refused as_alice 0000:00:04.0 'held open outside the broker \(a device of it is bound elsewhere'
kill "$raw"; wait "$raw" 2>/dev/null || true
as_alice client-dma --iommufd 0000:00:04.0 >/dev/null || fail "an iommufd lease once the outsider let go"
stop_broker
echo "iommufd: passed"
