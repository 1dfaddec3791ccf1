# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the unit scripts: fake_device ROOT BDF VENDOR DEVICE CLASS DRIVER GROUP adds a PCI
# device to a generated sysfs tree under ROOT, with the links the broker and the CLI follow.
fake_device() {
	local root=$1 dir=$1/devices/pci0000:00/$2
	mkdir -p "$dir" "$root/bus/pci/devices" "$root/bus/pci/drivers/$6" "$root/kernel/iommu_groups/$7/devices"
	printf 'DRIVER=%s\nPCI_CLASS=%s\nPCI_ID=%s:%s\nPCI_SUBSYS_ID=1AF4:1100\nPCI_SLOT_NAME=%s\n' "$6" "$5" "$3" "$4" "$2" >"$dir/uevent"
	ln -s "$dir" "$root/bus/pci/devices/$2"
	ln -s "$root/bus/pci/drivers/$6" "$dir/driver"
	ln -s "$dir" "$root/kernel/iommu_groups/$7/devices/$2"
	ln -s "$root/kernel/iommu_groups/$7" "$dir/iommu_group"
}
