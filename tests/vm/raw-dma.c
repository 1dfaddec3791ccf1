/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * raw-dma BDF: proves the test bed is real.  With nothing but VFIO ioctls it
 * opens the device's IOMMU group, attaches it to a type1v2 container, checks
 * that a second open of the group fails with EBUSY, routes MSI 0 to an eventfd
 * and has the edu device copy a buffer in and back out through the IOMMU.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "edu.h"

static int fail(const char *what, int err) {
        fprintf(stderr, "raw-dma: %s: %s\n", what, strerror(err));
        return EXIT_FAILURE;
}

int main(int argc, char **argv) {
        struct vfio_group_status status = { .argsz = sizeof(status) };
        char path[PATH_MAX];
        int container, group, again, device, irq;
        Edu edu;
        int r;

        if (argc != 2) {
                fprintf(stderr, "usage: raw-dma BDF\n");
                return EXIT_FAILURE;
        }
        r = edu_group_path(argv[1], path, sizeof(path));
        if (r < 0)
                return fail("iommu_group", -r);

        container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
        if (container < 0)
                return fail("/dev/vfio/vfio", errno);
        if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
                return fail("VFIO_GET_API_VERSION", EPROTO);
        if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0)
                return fail("VFIO_CHECK_EXTENSION(TYPE1v2)", ENOTSUP);

        group = open(path, O_RDWR | O_CLOEXEC);
        if (group < 0)
                return fail(path, errno);
        if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) < 0)
                return fail("VFIO_GROUP_GET_STATUS", errno);
        if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
                return fail("group not viable", EPERM);
        if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0)
                return fail("VFIO_GROUP_SET_CONTAINER", errno);
        if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
                return fail("VFIO_SET_IOMMU", errno);

        again = open(path, O_RDWR | O_CLOEXEC);
        if (again >= 0 || errno != EBUSY) {
                fprintf(stderr, "raw-dma: a second open of %s gave %s, expected EBUSY\n", path,
                        again >= 0 ? "success" : strerror(errno));
                return EXIT_FAILURE;
        }
        printf("raw-dma: second open of %s: EBUSY, as the kernel promises\n", path);

        device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[1]);
        if (device < 0)
                return fail("VFIO_GROUP_GET_DEVICE_FD", errno);
        r = edu_open_msi(&edu, device, &irq);
        if (r < 0)
                return fail("the edu device with MSI on an eventfd", -r);

        r = edu_dma_roundtrip(&edu, container, irq, -1, 0x100000, 0x5a);
        if (r < 0)
                return fail("DMA round trip", -r);
        edu_close(&edu);
        printf("raw-dma: %s: DMA round trip through the IOMMU passed\n", argv[1]);
        return EXIT_SUCCESS;
}
