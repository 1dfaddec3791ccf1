/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Inside kernel/ only: the table each backend fills in, and the objects the
 * rest of the daemon holds by pointer alone.  The operations are the
 * backend's primitives on its own objects; what is made of them (the attach
 * sequence, routing interrupts, describing a device) is written once, in
 * kernel.c.  The device calls are VFIO's device-fd ioctls on every real
 * backend: a group's device fd and a bound cdev answer the same ones.
 */

#include <linux/vfio.h>

#include "common/bdf.h"
#include "kernel/backend.h"

struct KernelBackend {
        const char *name;
        /* A new domain's fd, and what it needs in @d->mode (legacy: /dev/vfio/vfio with type1v2 checked). */
        int (*domain_open)(KernelDomain *d);
        /* Once its first group joined: the IOMMU type (NULL: nothing to do). */
        int (*domain_set_iommu)(KernelDomain *d);
        /* Take the group: KERNEL_E_HELD_OUTSIDE while it is open elsewhere, where the backend can tell. */
        int (*group_open)(KernelGroup *g);
        /* A group from before a restart, from its fds (taken, also on failure). */
        int (*group_adopt)(KernelGroup *g, const int *fds, size_t n);
        /* Close what the group holds. */
        void (*group_close)(KernelGroup *g);
        /* Before a detach: close the group's own files of its devices; 1 if there were any (NULL: never any). */
        int (*group_let_go)(KernelGroup *g);
        /* 1 viable, 0 not, -errno. */
        int (*group_viable)(KernelGroup *g);
        /* KERNEL_E_HELD_OUTSIDE when a device of the group is held elsewhere. */
        int (*group_set_domain)(KernelGroup *g, KernelDomain *d);
        /* -EBUSY while a device of the group is open (legacy) or bound (iommufd) anywhere. */
        int (*group_unset_domain)(KernelGroup *g);
        /* The fds a restart needs to adopt the group (at most @max); their number. */
        size_t (*group_fds)(const KernelGroup *g, int *fds, size_t max);
        int (*device_open)(KernelGroup *g, const char *bdf, int *ret_fd);
        int (*device_get_info)(int fd, struct vfio_device_info *ret);
        int (*device_get_region_info)(int fd, uint32_t index, struct vfio_region_info *ret);
        int (*device_get_irq_info)(int fd, uint32_t index, struct vfio_irq_info *ret);
        int (*device_set_irq_eventfds)(int fd, uint32_t index, uint32_t action, const int *fds, uint32_t count);
        int (*device_disable_irq)(int fd, uint32_t index);
        int (*device_reset)(int fd);
        /* The bus reset of @fd's device (a device of @g), its owner proven by @g. */
        int (*device_hot_reset)(KernelGroup *g, int fd);
        KernelFdKind (*fd_kind)(int fd, int *ret_group);
        /* 0 when @mode can be had for @bdf on this kernel, else -EOPNOTSUPP with @why naming what it lacks. */
        int (*mode_check)(KernelMode mode, const char *bdf, char *why, size_t size);
};

struct KernelDomain {
        const KernelBackend *backend;
        KernelMode mode;
        int fd;
        uint32_t ioas;                  /* iommufd, driver mode: the IOAS the devices are attached to */
        unsigned n_groups;              /* attached through us: the first one sets the IOMMU type */
};

/* iommufd: a device of the group and its cdev. */
typedef struct KernelCdev {
        char bdf[BDF_STRLEN + 1];
        char path[64];                  /* /dev/vfio/devices/vfioN */
        int fd;                         /* -EBADF: not open */
} KernelCdev;

struct KernelGroup {
        const KernelBackend *backend;
        int number;
        int fd;                         /* legacy and fake: the group's fd */
        KernelCdev *cdevs;              /* each device of the group that has a cdev: iommufd's files, legacy's to watch */
        size_t n_cdevs;
        KernelDomain *domain;           /* NULL: in none (or leaving one: see kernel_group_detach()) */
};

/*
 * The group's devices that have a VFIO cdev into g->cdevs, none open yet:
 * -ENODEV when none has (a kernel without cdevs).  The iommufd backend opens
 * them; the legacy one only watches them go (kernel_group_departing()).
 */
int kernel_cdevs_list(KernelGroup *g);
/* The cdev of @bdf, "/dev/vfio/devices/vfioN": -ENODEV when the kernel gives it none. */
int kernel_cdev_path(const char *bdf, char *buf, size_t size);

/* Shared by the real backends: what an fd is, by its character device; a group's single fd. */
KernelFdKind legacy_fd_kind(int fd, int *ret_group);
size_t legacy_group_fds(const KernelGroup *g, int *fds, size_t max);
