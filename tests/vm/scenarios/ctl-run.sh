# SPDX-License-Identifier: LGPL-2.1-or-later
# vfio-brokerctl run: fds described in VFIO_BROKER_FDS, exit status, errors; list and info.
. /tests/lib.sh
start_broker
vfio-brokerctl list
vfio-brokerctl list --json | grep -q '"bdf": "0000:00:04.0"' || fail "list --json lacks 0000:00:04.0"
vfio-brokerctl info 0000:00:04.0 | tee /tmp/info
grep -q 'region 0: size 0x100000' /tmp/info || fail "info does not show the edu's 1 MiB BAR0"

as_alice vfio-brokerctl run --irq 0000:00:04.0:msi:1 0000:00:04.0 -- fds-dma 0000:00:04.0 ||
	fail "fds-dma under vfio-brokerctl run"
[ "$(state 0000:00:04.0)" = free ] || fail "0000:00:04.0 not free after run"

# MSI and the device-request IRQ (REQ) together; err is refused, edu has no AER.
as_alice vfio-brokerctl run --irq 0000:00:04.0:msi:1 --irq 0000:00:04.0:req 0000:00:04.0 -- \
	sh -c 'echo "$VFIO_BROKER_FDS"' >/tmp/fds || fail "msi + req"
cat /tmp/fds
grep -qE '^container=[0-9]+ device:0000:00:04.0=[0-9]+ msi:0000:00:04.0:0=[0-9]+ req:0000:00:04.0:0=[0-9]+$' /tmp/fds ||
	fail "VFIO_BROKER_FDS is not as documented"
rc=0
as_alice vfio-brokerctl run --irq 0000:00:04.0:err 0000:00:04.0 -- true 2>/tmp/err || rc=$?
cat /tmp/err
[ "$rc" = 125 ] && grep -q 'offers 0 err vector' /tmp/err || fail "an err IRQ the device lacks"

rc=0
as_alice vfio-brokerctl run 00:04.0 -- sh -c 'exit 7' || rc=$?
[ "$rc" = 7 ] || fail "run exited $rc, not COMMAND's 7"

refused as_alice 0000:02:02.0 'bound to e1000e'

rc=0
as_alice vfio-brokerctl run --irq 0000:00:04.0:bogus 0000:00:04.0 -- true 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "a bad --irq exited $rc, not 2 (a usage error)"
# The broker keeps what sysfs said of a device until the kernel sends a
# uevent (daemon/host/devcache.c); 00:04.0 was just read and kept.  An unbinding,
# a rebinding, an unplug and a re-plug are each seen by the next request.
echo 0000:00:04.0 >/sys/bus/pci/drivers/vfio-pci/unbind
[ -z "$(state 0000:00:04.0)" ] || fail "an unbound device is listed as $(state 0000:00:04.0)"
refused as_alice 0000:00:04.0 '0000:00:04.0 has no driver; bind it to vfio-pci'
echo 0000:00:04.0 >/sys/bus/pci/drivers_probe
[ "$(state 0000:00:04.0)" = free ] || fail "a rebound device is not free"
echo 1 >/sys/bus/pci/devices/0000:00:04.0/remove
vfio-brokerctl list | grep -q 0000:00:04.0 && fail "an unplugged device is still listed"
refused as_alice 0000:00:04.0 'no PCI device 0000:00:04.0'
echo 1 >/sys/bus/pci/rescan
echo vfio-pci >/sys/bus/pci/devices/0000:00:04.0/driver_override
echo 0000:00:04.0 >/sys/bus/pci/drivers_probe
[ "$(state 0000:00:04.0)" = free ] || fail "the re-plugged device is not free"
as_alice client-dma 0000:00:04.0 >/dev/null || fail "no DMA after the re-plug"
stop_broker
echo "ctl-run: passed"
