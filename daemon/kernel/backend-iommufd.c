/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The iommufd backend: a lease's domain is a /dev/iommu file with
 * RLIMIT_MODE=1 (pinned pages charged to the process that maps them, against
 * its RLIMIT_MEMLOCK, as type1 does), and a group is the cdevs of its
 * devices (/dev/vfio/devices/vfioN).  No /dev/vfio/N is ever opened: the
 * kernel keeps a group and its cdevs from being used at once.
 *
 * Driver mode binds every cdev of the group to the lease's iommufd and
 * attaches it to an IOAS the broker allocated; the client maps its DMA there.
 * VMM mode only proves the devices can be bound (each is bound to the lease's
 * iommufd and let go again) and hands fresh, unbound cdevs on: the VMM binds,
 * allocates and attaches itself.
 *
 * What the kernel says (drivers/vfio/device_cdev.c, drivers/iommu/iommufd/):
 * a bind fails with EINVAL while another file has the device bound, and with
 * EBUSY while the group is open through /dev/vfio/N or its DMA is owned by
 * another iommufd; the binding belongs to the open file, so it lasts while
 * any copy of that file is open.  "Still held" is therefore asked of the
 * kernel the only way it answers: a fresh open and bind, refused while
 * someone else's file is bound.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sysfs.h"
#include "common/util.h"
#include "kernel/backend-ops.h"
#include "kernel/iommufd-uapi.h"
#include "kernel/vfio.h"

#define IOMMU_DEVICE "/dev/iommu"

static int iommufd_open(int *ret_fd) {
        struct iommu_option opt = {
                .size = sizeof(opt), .option_id = IOMMU_OPTION_RLIMIT_MODE, .op = IOMMU_OPTION_OP_SET, .val64 = 1,
        };
        int fd;

        fd = open(IOMMU_DEVICE, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* Before any object exists (else EBUSY); needs CAP_SYS_RESOURCE. */
        if (ioctl(fd, IOMMU_OPTION, &opt) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

static int ioas_alloc(int iommufd, uint32_t *ret) {
        struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

        if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc) < 0)
                return -errno;
        *ret = alloc.out_ioas_id;
        return 0;
}

/* EINVAL (bound by another file) and EBUSY (group open, or DMA owned elsewhere) mean someone holds it. */
static int cdev_bind(int cdev_fd, int iommufd) {
        struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };

        if (ioctl(cdev_fd, VFIO_DEVICE_BIND_IOMMUFD, &bind) == 0)
                return 0;
        return errno == EINVAL || errno == EBUSY ? KERNEL_E_HELD_OUTSIDE : -errno;
}

static int cdev_attach(int cdev_fd, uint32_t pt_id) {
        struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach), .pt_id = pt_id };

        return ioctl(cdev_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) < 0 ? -errno : 0;
}

static int cdev_open(KernelCdev *c) {
        c->fd = open(c->path, O_RDWR | O_CLOEXEC);
        return c->fd < 0 ? -errno : 0;
}

static void cdevs_close(KernelGroup *g) {
        for (size_t i = 0; i < g->n_cdevs; i++)
                g->cdevs[i].fd = safe_close(g->cdevs[i].fd);
}

static int cdevs_open(KernelGroup *g) {
        for (size_t i = 0; i < g->n_cdevs; i++)
                if (g->cdevs[i].fd < 0) {
                        int r = cdev_open(&g->cdevs[i]);
                        if (r < 0) {
                                cdevs_close(g);
                                return r;
                        }
                }
        return 0;
}

static int iommufd_domain_open(KernelDomain *d) {
        int r;

        r = iommufd_open(&d->fd);
        if (r < 0 || d->mode != KERNEL_MODE_IOMMUFD)
                return r;
        return ioas_alloc(d->fd, &d->ioas);
}

static int iommufd_group_open(KernelGroup *g) {
        int r;

        r = kernel_cdevs_list(g);
        if (r < 0)
                return r;
        return cdevs_open(g);
}

static int iommufd_group_adopt(KernelGroup *g, const int *fds, size_t n) {
        int r;

        r = kernel_cdevs_list(g);
        for (size_t k = 0; k < n; k++) {
                struct stat st, want;
                size_t i;

                for (i = 0; r >= 0 && i < g->n_cdevs; i++)
                        if (fstat(fds[k], &st) == 0 && stat(g->cdevs[i].path, &want) == 0 && st.st_rdev == want.st_rdev)
                                break;
                if (r >= 0 && i < g->n_cdevs && g->cdevs[i].fd < 0)
                        g->cdevs[i].fd = fds[k];
                else
                        safe_close(fds[k]); /* a copy of one we have, or no device of this group */
        }
        return r;
}

static void iommufd_group_close(KernelGroup *g) {
        cdevs_close(g);
}

static int iommufd_group_let_go(KernelGroup *g) {
        bool any = false;

        for (size_t i = 0; i < g->n_cdevs; i++)
                any = any || g->cdevs[i].fd >= 0;
        cdevs_close(g);
        return any;
}

static int iommufd_group_viable(KernelGroup *g) {
        _cleanup_free_ char (*members)[BDF_STRLEN + 1] = NULL;
        size_t n = 0;
        int r;

        r = sysfs_group_members("/sys", g->number, &members, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                PciDevice d;

                r = sysfs_read_device("/sys", members[i], &d);
                if (r < 0)
                        return r;
                if (!pci_driver_allowed_in_group(&d))
                        return 0;
        }
        return 1;
}

static int iommufd_group_set_domain(KernelGroup *g, KernelDomain *d) {
        int r;

        r = cdevs_open(g);
        for (size_t i = 0; r == 0 && i < g->n_cdevs; i++) {
                r = cdev_bind(g->cdevs[i].fd, d->fd);
                if (r == 0 && d->mode == KERNEL_MODE_IOMMUFD)
                        r = cdev_attach(g->cdevs[i].fd, d->ioas);
        }
        if (r != 0 || d->mode == KERNEL_MODE_VMM) {
                /* Closing a bound cdev unbinds it; a VMM gets fresh ones, which it binds itself. */
                cdevs_close(g);
                if (r == 0)
                        r = cdevs_open(g);
        }
        return r;
}

/* Our files closed; then a fresh one of each device bound to an iommufd of its own, to ask. */
static int iommufd_group_unset_domain(KernelGroup *g) {
        _cleanup_close_ int probe = -EBADF;
        int r;

        cdevs_close(g);
        r = iommufd_open(&probe);
        for (size_t i = 0; r == 0 && i < g->n_cdevs; i++) {
                _cleanup_close_ int fd = open(g->cdevs[i].path, O_RDWR | O_CLOEXEC);

                r = fd < 0 ? -errno : cdev_bind(fd, probe);
        }
        return r == KERNEL_E_HELD_OUTSIDE ? -EBUSY : r;
}

static size_t iommufd_group_fds(const KernelGroup *g, int *fds, size_t max) {
        size_t n = 0;

        for (size_t i = 0; i < g->n_cdevs && n < max; i++)
                if (g->cdevs[i].fd >= 0)
                        fds[n++] = g->cdevs[i].fd;
        return n;
}

static int iommufd_device_open(KernelGroup *g, const char *bdf, int *ret_fd) {
        for (size_t i = 0; i < g->n_cdevs; i++)
                if (strcmp(g->cdevs[i].bdf, bdf) == 0) {
                        int fd;

                        if (g->cdevs[i].fd < 0)
                                return -EBADF;
                        fd = fcntl(g->cdevs[i].fd, F_DUPFD_CLOEXEC, 3);
                        if (fd < 0)
                                return -errno;
                        *ret_fd = fd;
                        return 0;
                }
        return -ENODEV;
}

static int iommufd_device_hot_reset(KernelGroup *g, int fd) { return vfio_device_hot_reset(fd, NULL, 0); }

static int iommufd_mode_check(KernelMode mode, const char *bdf, char *why, size_t size) {
        char path[64];

        struct stat st;

        if (mode == KERNEL_MODE_LEGACY)
                return 0;
        if (stat(IOMMU_DEVICE, &st) < 0) {
                if (errno == ENOENT)
                        snprintf(why, size, "this kernel has no " IOMMU_DEVICE " (it is built without CONFIG_IOMMUFD)");
                else
                        snprintf(why, size, "cannot see " IOMMU_DEVICE ": %s", strerror(errno));
                return -EOPNOTSUPP;
        }
        if (kernel_cdev_path(bdf, path, sizeof(path)) < 0) {
                snprintf(why, size, "this kernel gives %s no VFIO cdev (/dev/vfio/devices/; it is built without "
                         "CONFIG_VFIO_DEVICE_CDEV)", bdf);
                return -EOPNOTSUPP;
        }
        return 0;
}

const KernelBackend kernel_backend_iommufd = {
        .name = "iommufd",
        .domain_open = iommufd_domain_open,
        .group_open = iommufd_group_open,
        .group_adopt = iommufd_group_adopt,
        .group_close = iommufd_group_close,
        .group_let_go = iommufd_group_let_go,
        .group_viable = iommufd_group_viable,
        .group_set_domain = iommufd_group_set_domain,
        .group_unset_domain = iommufd_group_unset_domain,
        .group_fds = iommufd_group_fds,
        .device_open = iommufd_device_open,
        .device_get_info = vfio_device_get_info,
        .device_get_region_info = vfio_device_get_region_info,
        .device_get_irq_info = vfio_device_get_irq_info,
        .device_set_irq_eventfds = vfio_device_set_irq_eventfds,
        .device_disable_irq = vfio_device_disable_irq,
        .device_reset = vfio_device_reset,
        .device_hot_reset = iommufd_device_hot_reset,
        .fd_kind = legacy_fd_kind,
        .mode_check = iommufd_mode_check,
};
