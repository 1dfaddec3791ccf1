# SPDX-License-Identifier: LGPL-2.1-or-later
# iommufd and VFIO cdev, with raw ioctls: on the bed's own kernel the DMA round
# trip through an IOAS, and the refusals the broker's iommufd backend will rely
# on; Debian's kernels have neither /dev/iommu nor cdevs.
case "$(uname -r)" in
*-iommufd)
	raw-iommufd 0000:00:03.0
	;;
*)
	[ ! -e /dev/iommu ] || { echo "raw-iommufd: /dev/iommu on $(uname -r), a Debian kernel"; exit 1; }
	if raw-iommufd 0000:00:03.0 2>/tmp/err; then
		echo "raw-iommufd: passed on $(uname -r), which has no iommufd"
		exit 1
	fi
	grep -q 'no VFIO cdev' /tmp/err || { cat /tmp/err; exit 1; }
	echo "raw-iommufd: $(uname -r) has no VFIO cdev, as Debian builds it"
	;;
esac
