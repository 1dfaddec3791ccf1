/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A stand-in for daemon/vfio.c in the fuzz build and the persist unit test:
 * no kernel behind it.  Every open hands out a real fd (an eventfd) so that
 * the broker's fd handling is exercised as it is; every ioctl succeeds and
 * reports one MSI vector.  The eventfd's count says what the fd stands for
 * (vfio_fd_kind()).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>

#include "util.h"
#include "vfio-fake.h"

#define TAG_CONTAINER 1u
#define TAG_GROUP 0x10000u /* + the group's number */

static int new_fd(unsigned tag, int *ret) {
        int fd = eventfd(tag, EFD_CLOEXEC);

        if (fd < 0)
                return -errno;
        *ret = fd;
        return 0;
}

int vfio_fake_fd(VfioFdKind kind, int group) {
        int fd = -EBADF;

        (void) new_fd(kind == VFIO_FD_CONTAINER ? TAG_CONTAINER : kind == VFIO_FD_GROUP ? TAG_GROUP + (unsigned) group : 0,
                      &fd);
        return fd;
}

VfioFdKind vfio_fd_kind(int fd, int *ret_group) {
        long long count = fdinfo_number(fd, "eventfd-count", 16);

        if (count == TAG_CONTAINER)
                return VFIO_FD_CONTAINER;
        if (count >= TAG_GROUP && count < 2 * TAG_GROUP) {
                *ret_group = (int) (count - TAG_GROUP);
                return VFIO_FD_GROUP;
        }
        return VFIO_FD_OTHER;
}

int vfio_container_open(int *ret_fd) { return new_fd(TAG_CONTAINER, ret_fd); }
int vfio_container_set_iommu(int container_fd) { return 0; }
int vfio_group_open(int group, int *ret_fd) { return new_fd(TAG_GROUP + (unsigned) group, ret_fd); }
int vfio_group_viable(int group_fd) { return 1; }
int vfio_group_set_container(int group_fd, int container_fd) { return 0; }
int vfio_group_unset_container(int group_fd) { return 0; }
int vfio_group_get_device(int group_fd, const char *bdf, int *ret_fd) { return new_fd(0, ret_fd); }

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
