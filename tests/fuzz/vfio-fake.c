/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A stand-in for daemon/vfio.c in the fuzz build: no kernel behind it.  Every
 * open hands out a real fd (an eventfd) so that the broker's fd handling is
 * exercised as it is; every ioctl succeeds and reports one MSI vector.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>

#include "vfio.h"

static int new_fd(int *ret) {
        int fd = eventfd(0, EFD_CLOEXEC);

        if (fd < 0)
                return -errno;
        *ret = fd;
        return 0;
}

int vfio_container_open(int *ret_fd) { return new_fd(ret_fd); }
int vfio_container_set_iommu(int container_fd) { return 0; }
int vfio_group_open(int group, int *ret_fd) { return new_fd(ret_fd); }
int vfio_group_viable(int group_fd) { return 1; }
int vfio_group_set_container(int group_fd, int container_fd) { return 0; }
int vfio_group_unset_container(int group_fd) { return 0; }
int vfio_group_get_device(int group_fd, const char *bdf, int *ret_fd) { return new_fd(ret_fd); }

int vfio_device_get_info(int device_fd, struct vfio_device_info *ret) {
        *ret = (struct vfio_device_info) { .argsz = sizeof(*ret), .num_regions = 9, .num_irqs = 5 };
        return 0;
}

int vfio_device_get_region_info(int device_fd, uint32_t index, struct vfio_region_info *ret) {
        *ret = (struct vfio_region_info) { .argsz = sizeof(*ret), .index = index, .size = index == 0 ? 1 << 20 : 0 };
        return 0;
}

int vfio_device_get_irq_info(int device_fd, uint32_t index, struct vfio_irq_info *ret) {
        *ret = (struct vfio_irq_info) { .argsz = sizeof(*ret), .index = index,
                                        .count = index == VFIO_PCI_MSIX_IRQ_INDEX ? 0 : 1 };
        return 0;
}

int vfio_device_set_irq_eventfds(int device_fd, uint32_t index, uint32_t action, const int *fds, uint32_t count) {
        return 0;
}

int vfio_device_disable_irq(int device_fd, uint32_t index) { return 0; }
int vfio_device_reset(int device_fd) { return 0; }
