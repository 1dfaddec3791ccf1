/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Inside kernel/ only: the table each backend fills in, and the objects the
 * rest of the daemon holds by pointer alone.  The operations are the
 * backend's primitives; what is made of them (the attach sequence, routing
 * interrupts, describing a device) is written once, in kernel.c.  The device
 * calls are VFIO's device-fd ioctls on every real backend.
 */

#include <linux/vfio.h>

#include "kernel/backend.h"

struct KernelBackend {
        const char *name;
        /* A new domain's fd (legacy: /dev/vfio/vfio with type1v2 checked). */
        int (*domain_open)(int *ret_fd);
        /* Once its first group joined: the IOMMU type. */
        int (*domain_set_iommu)(int domain_fd);
        /* -EBUSY while the group is open elsewhere. */
        int (*group_open)(int number, int *ret_fd);
        /* 1 viable, 0 not, -errno. */
        int (*group_viable)(int group_fd);
        int (*group_set_domain)(int group_fd, int domain_fd);
        /* -EBUSY while a device fd of the group is open anywhere. */
        int (*group_unset_domain)(int group_fd);
        int (*device_open)(int group_fd, const char *bdf, int *ret_fd);
        int (*device_get_info)(int fd, struct vfio_device_info *ret);
        int (*device_get_region_info)(int fd, uint32_t index, struct vfio_region_info *ret);
        int (*device_get_irq_info)(int fd, uint32_t index, struct vfio_irq_info *ret);
        int (*device_set_irq_eventfds)(int fd, uint32_t index, uint32_t action, const int *fds, uint32_t count);
        int (*device_disable_irq)(int fd, uint32_t index);
        int (*device_reset)(int fd);
        KernelFdKind (*fd_kind)(int fd, int *ret_group);
};

struct KernelDomain {
        const KernelBackend *backend;
        int fd;
        unsigned n_groups;              /* attached through us: the first one sets the IOMMU type */
};

struct KernelGroup {
        const KernelBackend *backend;
        int number;
        int fd;
        KernelDomain *domain;           /* NULL: in none (or leaving one: see kernel_group_detach()) */
};
