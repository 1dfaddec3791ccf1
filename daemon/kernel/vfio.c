/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "kernel/vfio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/sysfs.h"
#include "common/util.h"

int vfio_container_open(int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = ioctl(fd, VFIO_GET_API_VERSION);
        if (r < 0)
                return -errno;
        if (r != VFIO_API_VERSION)
                return -EPROTO;
        r = ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU);
        if (r < 0)
                return -errno;
        if (r == 0)
                return -EOPNOTSUPP;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int vfio_container_set_iommu(int container_fd) {
        return ioctl(container_fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 ? -errno : 0;
}

/*
 * By the character device behind the fd, as sysfs names it: the path /proc
 * shows would do only in the mount namespace the fd was opened in, and each
 * start of the unit has one of its own.
 */
VfioFdKind vfio_fd_kind(int fd, int *ret_group) {
        char link[64], target[PATH_MAX], path[PATH_MAX + 96], name[16], parent[16];
        struct stat st;
        ssize_t n;

        if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode))
                return VFIO_FD_OTHER;
        snprintf(link, sizeof(link), "/sys/dev/char/%u:%u", major(st.st_rdev), minor(st.st_rdev));
        n = readlink(link, target, sizeof(target) - 1);
        if (n < 0)
                return VFIO_FD_OTHER;
        target[n] = 0;
        /* .../devices/virtual/misc/{vfio,iommu}, .../devices/virtual/vfio/NUMBER or .../BDF/vfio-dev/vfioN */
        if (parse_link_name(target, name, sizeof(name)) < 0 || !strrchr(target, '/'))
                return VFIO_FD_OTHER;
        snprintf(path, sizeof(path), "/sys/dev/char/%s/../../iommu_group", target);
        *strrchr(target, '/') = 0;
        if (parse_link_name(target, parent, sizeof(parent)) < 0)
                return VFIO_FD_OTHER;
        if (strcmp(parent, "misc") == 0 && strcmp(name, "vfio") == 0)
                return VFIO_FD_CONTAINER;
        if (strcmp(parent, "misc") == 0 && strcmp(name, "iommu") == 0)
                return VFIO_FD_IOMMUFD;
        if (strcmp(parent, "vfio") == 0 && parse_group_link(name, ret_group) >= 0)
                return VFIO_FD_GROUP;
        if (strcmp(parent, "vfio-dev") == 0 && strncmp(name, "vfio", 4) == 0) {
                n = readlink(path, target, sizeof(target) - 1);
                if (n < 0)
                        return VFIO_FD_OTHER;
                target[n] = 0;
                if (parse_group_link(target, ret_group) >= 0)
                        return VFIO_FD_CDEV;
        }
        return VFIO_FD_OTHER;
}

int vfio_group_open(int group, int *ret_fd) {
        char path[64];
        int fd;

        snprintf(path, sizeof(path), "/dev/vfio/%d", group);
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

int vfio_group_viable(int group_fd) {
        struct vfio_group_status status = { .argsz = sizeof(status) };

        if (ioctl(group_fd, VFIO_GROUP_GET_STATUS, &status) < 0)
                return -errno;
        return !!(status.flags & VFIO_GROUP_FLAGS_VIABLE);
}

int vfio_group_set_container(int group_fd, int container_fd) {
        return ioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &container_fd) < 0 ? -errno : 0;
}

int vfio_group_unset_container(int group_fd) {
        return ioctl(group_fd, VFIO_GROUP_UNSET_CONTAINER) < 0 ? -errno : 0;
}

int vfio_group_get_device(int group_fd, const char *bdf, int *ret_fd) {
        int fd;

        fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, bdf);
        if (fd < 0)
                return -errno;
        *ret_fd = fd; /* the kernel makes it close-on-exec */
        return 0;
}

int vfio_device_get_info(int device_fd, struct vfio_device_info *ret) {
        struct vfio_device_info info = { .argsz = sizeof(info) };

        if (ioctl(device_fd, VFIO_DEVICE_GET_INFO, &info) < 0)
                return -errno;
        *ret = info;
        return 0;
}

int vfio_device_get_region_info(int device_fd, uint32_t index, struct vfio_region_info *ret) {
        struct vfio_region_info info = { .argsz = sizeof(info), .index = index };

        if (ioctl(device_fd, VFIO_DEVICE_GET_REGION_INFO, &info) < 0)
                return -errno;
        *ret = info;
        return 0;
}

int vfio_device_get_irq_info(int device_fd, uint32_t index, struct vfio_irq_info *ret) {
        struct vfio_irq_info info = { .argsz = sizeof(info), .index = index };

        if (ioctl(device_fd, VFIO_DEVICE_GET_IRQ_INFO, &info) < 0)
                return -errno;
        *ret = info;
        return 0;
}

int vfio_device_set_irq_eventfds(int device_fd, uint32_t index, uint32_t action, const int *fds, uint32_t count) {
        _cleanup_free_ struct vfio_irq_set *set = NULL;
        size_t size = sizeof(*set) + sizeof(int32_t) * count;

        set = calloc(1, size);
        if (!set)
                return -ENOMEM;
        *set = (struct vfio_irq_set) {
                .argsz = size,
                .flags = VFIO_IRQ_SET_DATA_EVENTFD | action,
                .index = index,
                .start = 0,
                .count = count,
        };
        memcpy(set->data, fds, sizeof(int32_t) * count);
        return ioctl(device_fd, VFIO_DEVICE_SET_IRQS, set) < 0 ? -errno : 0;
}

int vfio_device_disable_irq(int device_fd, uint32_t index) {
        struct vfio_irq_set set = {
                .argsz = sizeof(set),
                .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
                .index = index,
                .start = 0,
                .count = 0,
        };

        return ioctl(device_fd, VFIO_DEVICE_SET_IRQS, &set) < 0 ? -errno : 0;
}

int vfio_device_reset(int device_fd) {
        return ioctl(device_fd, VFIO_DEVICE_RESET) < 0 ? -errno : 0;
}

int vfio_device_hot_reset(int device_fd, const int *group_fds, uint32_t n) {
        _cleanup_free_ struct vfio_pci_hot_reset *reset = NULL;
        size_t size = sizeof(*reset) + sizeof(int32_t) * n;

        reset = calloc(1, size);
        if (!reset)
                return -ENOMEM;
        *reset = (struct vfio_pci_hot_reset) { .argsz = size, .count = n };
        if (n > 0)
                memcpy(reset->group_fds, group_fds, sizeof(int32_t) * n);
        return ioctl(device_fd, VFIO_DEVICE_PCI_HOT_RESET, reset) < 0 ? -errno : 0;
}
