# SPDX-License-Identifier: LGPL-2.1-or-later
# The bed is as documented in run-scenario and the README: drivers, groups.
group() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"; }
driver() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null || true; }
expect() {
	if [ "$2" != "$3" ]; then
		echo "topology: $1 is '$2', expected '$3'"
		exit 1
	fi
}
for d in 0000:00:03.0 0000:00:04.0 0000:01:01.0 0000:01:02.0 0000:02:01.0; do
	expect "driver of $d" "$(driver $d)" vfio-pci
done
expect "driver of 0000:02:02.0" "$(driver 0000:02:02.0)" e1000e
# The virtio-rng behind its own PCIe root port: on its host driver, in a group of its own, with a function-level reset.
expect "driver of 0000:03:00.0" "$(driver 0000:03:00.0)" virtio-pci
expect "vendor:device of 0000:03:00.0" "$(cat /sys/bus/pci/devices/0000:03:00.0/vendor):$(cat /sys/bus/pci/devices/0000:03:00.0/device)" 0x1af4:0x1044
expect "members of the group of 0000:03:00.0" "$(ls /sys/kernel/iommu_groups/"$(group 0000:03:00.0)"/devices)" 0000:03:00.0
grep -qw flr /sys/bus/pci/devices/0000:03:00.0/reset_method || { echo "topology: 0000:03:00.0 offers no FLR"; exit 1; }
[ "$(group 0000:00:03.0)" != "$(group 0000:00:04.0)" ] || { echo "topology: 00:03.0 and 00:04.0 share a group"; exit 1; }
expect "group of 01:02.0" "$(group 0000:01:02.0)" "$(group 0000:01:01.0)"
expect "group of 02:02.0" "$(group 0000:02:02.0)" "$(group 0000:02:01.0)"
[ "$(group 0000:01:01.0)" != "$(group 0000:02:01.0)" ] || { echo "topology: the bridges share a group"; exit 1; }
for g in $(group 0000:00:03.0) $(group 0000:00:04.0) $(group 0000:01:01.0) $(group 0000:02:01.0); do
	[ -c "/dev/vfio/$g" ] || { echo "topology: no /dev/vfio/$g"; exit 1; }
done
dmesg | grep -q 'Enabled IRQ remapping' || { echo "topology: no interrupt remapping"; exit 1; }
# The bed's own kernel has iommufd and a VFIO cdev per device bound to vfio-pci, beside the legacy groups.
case "$(uname -r)" in
*-iommufd)
	[ -c /dev/iommu ] || { echo "topology: no /dev/iommu on the iommufd kernel"; exit 1; }
	for d in 0000:00:03.0 0000:00:04.0 0000:01:01.0 0000:01:02.0 0000:02:01.0; do
		cdev=$(ls "/sys/bus/pci/devices/$d/vfio-dev" 2>/dev/null)
		[ -n "$cdev" ] && [ -c "/dev/vfio/devices/$cdev" ] || { echo "topology: $d has no VFIO cdev"; exit 1; }
	done
	echo "topology: /dev/iommu and a VFIO cdev for each vfio-pci device"
	;;
esac
echo "topology: as documented"
