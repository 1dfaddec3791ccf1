/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the broker does with the kernel, made once of a backend's primitives:
 * domains and groups as objects, the attach sequence, interrupts routed to
 * eventfds, a device described.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/sysfs.h"
#include "common/util.h"
#include "kernel/backend-ops.h"

int kernel_backend_from_string(const char *name, const KernelBackend **ret) {
        static const KernelBackend *const all[] = { &kernel_backend_legacy, &kernel_backend_fake };

        /* iommufd is not one to start with: a lease asks for it (kernel_backend_for_mode()). */

        for (size_t i = 0; i < ELEMENTSOF(all); i++)
                if (strcmp(all[i]->name, name) == 0) {
                        *ret = all[i];
                        return 0;
                }
        return -EINVAL;
}

const char *kernel_backend_name(const KernelBackend *b) {
        return b->name;
}

const KernelBackend *kernel_backend_for_mode(const KernelBackend *base, KernelMode mode) {
        if (base == &kernel_backend_fake)
                return base;
        return mode == KERNEL_MODE_LEGACY ? &kernel_backend_legacy : &kernel_backend_iommufd;
}

int kernel_mode_check(const KernelBackend *b, KernelMode mode, const char *bdf, char *why, size_t size) {
        return b->mode_check ? b->mode_check(mode, bdf, why, size) : 0;
}

const char *kernel_mode_name(KernelMode mode) {
        static const char *const names[] = {
                [KERNEL_MODE_LEGACY] = "legacy", [KERNEL_MODE_IOMMUFD] = "iommufd", [KERNEL_MODE_VMM] = "vmm",
        };

        return (unsigned) mode < ELEMENTSOF(names) ? names[mode] : "unknown";
}

static int domain_alloc(const KernelBackend *b, KernelMode mode, KernelDomain **ret) {
        KernelDomain *d;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        *d = (KernelDomain) { .backend = b, .mode = mode, .fd = -EBADF };
        *ret = d;
        return 0;
}

int kernel_domain_new(const KernelBackend *b, KernelMode mode, KernelDomain **ret) {
        KernelDomain *d;
        int r;

        r = domain_alloc(b, mode, &d);
        if (r < 0)
                return r;
        r = b->domain_open(d);
        if (r < 0) {
                kernel_domain_free(d);
                return r;
        }
        *ret = d;
        return 0;
}

int kernel_domain_adopt(const KernelBackend *b, KernelMode mode, int fd, uint32_t ioas, KernelDomain **ret) {
        int r;

        /* Its groups come back one by one (kernel_group_adopt()), and count again then. */
        r = domain_alloc(b, mode, ret);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        (*ret)->fd = fd;
        (*ret)->ioas = ioas;
        return 0;
}

int kernel_domain_dup(const KernelDomain *d, KernelDomain **ret) {
        int r;

        r = domain_alloc(d->backend, d->mode, ret);
        if (r < 0)
                return r;
        (*ret)->fd = fcntl(d->fd, F_DUPFD_CLOEXEC, 3);
        if ((*ret)->fd < 0) {
                r = -errno;
                *ret = kernel_domain_free(*ret);
                return r;
        }
        (*ret)->ioas = d->ioas;
        (*ret)->n_groups = d->n_groups;
        return 0;
}

KernelDomain *kernel_domain_free(KernelDomain *d) {
        if (!d)
                return NULL;
        safe_close(d->fd);
        free(d);
        return NULL;
}

int kernel_domain_fd(const KernelDomain *d) {
        return d->fd;
}

KernelMode kernel_domain_mode(const KernelDomain *d) {
        return d->mode;
}

uint32_t kernel_domain_ioas(const KernelDomain *d) {
        return d->ioas;
}

static int group_alloc(const KernelBackend *b, int number, KernelGroup **ret) {
        KernelGroup *g;

        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        *g = (KernelGroup) { .backend = b, .number = number, .fd = -EBADF };
        *ret = g;
        return 0;
}

int kernel_group_open(const KernelBackend *b, int number, KernelGroup **ret) {
        KernelGroup *g;
        int r;

        r = group_alloc(b, number, &g);
        if (r < 0)
                return r;
        r = b->group_open(g);
        if (r != 0) {
                kernel_group_free(g);
                return r;
        }
        *ret = g;
        return 0;
}

int kernel_group_adopt(const KernelBackend *b, int number, const int *fds, size_t n, KernelDomain *d,
                       KernelGroup **ret) {
        KernelGroup *g = NULL;
        int r;

        r = group_alloc(b, number, &g);
        if (r < 0) {
                close_many((int *) fds, n);
                return r;
        }
        r = b->group_adopt(g, fds, n);
        if (r < 0) {
                kernel_group_free(g);
                return r;
        }
        if (d) {
                g->domain = d;
                d->n_groups++;
        }
        *ret = g;
        return 0;
}

KernelGroup *kernel_group_free(KernelGroup *g) {
        if (!g)
                return NULL;
        if (g->domain)
                g->domain->n_groups--;
        g->backend->group_close(g);
        free(g->cdevs);
        free(g);
        return NULL;
}

int kernel_cdev_path(const char *bdf, char *buf, size_t size) {
        char dir[128];
        struct dirent *de;
        DIR *d;
        int r = -ENODEV;

        snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
        d = opendir(dir);
        if (!d)
                return -ENODEV;
        while ((de = readdir(d)))
                if (strncmp(de->d_name, "vfio", 4) == 0 && strlen(de->d_name) < 16) {
                        snprintf(buf, size, "/dev/vfio/devices/%s", de->d_name);
                        r = access(buf, F_OK) == 0 ? 0 : -ENODEV;
                        break;
                }
        closedir(d);
        return r;
}

int kernel_cdevs_list(KernelGroup *g) {
        _cleanup_free_ char (*members)[BDF_STRLEN + 1] = NULL;
        size_t n = 0;
        int r;

        r = sysfs_group_members("/sys", g->number, &members, &n);
        if (r < 0)
                return r;
        g->cdevs = calloc(n ? n : 1, sizeof(*g->cdevs));
        if (!g->cdevs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                KernelCdev *c = &g->cdevs[g->n_cdevs];

                *c = (KernelCdev) { .fd = -EBADF };
                string_copy(c->bdf, sizeof(c->bdf), members[i]);
                if (kernel_cdev_path(c->bdf, c->path, sizeof(c->path)) < 0)
                        continue; /* a bridge, or a device on another driver: viability speaks of it */
                if (++g->n_cdevs > KERNEL_MAX_GROUP_FDS)
                        return -E2BIG;
        }
        return g->n_cdevs > 0 ? 0 : -ENODEV;
}

const char *kernel_group_departing(const KernelGroup *g) {
        for (size_t i = 0; i < g->n_cdevs; i++)
                if (access(g->cdevs[i].path, F_OK) < 0 && errno == ENOENT)
                        return g->cdevs[i].bdf;
        return NULL;
}

size_t kernel_group_fds(const KernelGroup *g, int *fds, size_t max) {
        return g->backend->group_fds(g, fds, max);
}

KernelMode kernel_group_mode(const KernelGroup *g) {
        return g->backend == &kernel_backend_iommufd ? KERNEL_MODE_IOMMUFD : KERNEL_MODE_LEGACY;
}

int kernel_group_domain_new(const KernelGroup *g, KernelDomain **ret) {
        return kernel_domain_new(g->backend, kernel_group_mode(g), ret);
}

int kernel_group_attach(KernelGroup *g, KernelDomain *d) {
        const KernelBackend *b = g->backend;
        int r;

        r = b->group_viable(g);
        if (r < 0)
                return r;
        if (r == 0)
                return KERNEL_E_NOT_VIABLE;
        r = b->group_set_domain(g, d);
        if (r != 0)
                return r;
        if (d->n_groups == 0 && b->domain_set_iommu) {
                r = b->domain_set_iommu(d);
                if (r < 0) {
                        (void) b->group_unset_domain(g);
                        return r;
                }
        }
        g->domain = d;
        d->n_groups++;
        return 0;
}

int kernel_group_take(const KernelBackend *b, KernelDomain *d, int number, KernelGroup **ret) {
        KernelGroup *g = NULL;
        int r;

        r = kernel_group_open(b, number, &g);
        if (r != 0)
                return r;
        r = kernel_group_attach(g, d);
        if (r != 0) {
                kernel_group_free(g);
                return r;
        }
        *ret = g;
        return 0;
}

void kernel_group_move_domain(KernelGroup *g, KernelDomain *to) {
        kernel_group_leave_domain(g);
        g->domain = to;
        to->n_groups++;
}

void kernel_group_leave_domain(KernelGroup *g) {
        if (g->domain) {
                g->domain->n_groups--;
                g->domain = NULL;
        }
}

int kernel_group_detach(KernelGroup *g) {
        int r;

        kernel_group_leave_domain(g);
        r = g->backend->group_unset_domain(g);
        return r == -EBUSY ? KERNEL_E_STILL_HELD : r;
}

int kernel_group_let_go(KernelGroup *g) {
        return g->backend->group_let_go ? g->backend->group_let_go(g) : 0;
}

int kernel_device_open(KernelGroup *g, const char *bdf, int *ret_fd) {
        return g->backend->device_open(g, bdf, ret_fd);
}

int kernel_device_describe(const KernelBackend *b, int fd, KernelDeviceInfo *ret) {
        struct vfio_device_info info;
        int r;

        r = b->device_get_info(fd, &info);
        if (r < 0)
                return r;
        if (info.num_regions > KERNEL_MAX_REGIONS || info.num_irqs > KERNEL_MAX_IRQS)
                return -ENOMEM;
        ret->flags = info.flags;
        ret->n_regions = ret->n_irqs = 0;
        for (uint32_t i = 0; i < info.num_regions; i++) {
                struct vfio_region_info ri;

                if (b->device_get_region_info(fd, i, &ri) < 0)
                        continue;
                ret->regions[ret->n_regions++] = (KernelRegion) {
                        .index = ri.index, .flags = ri.flags, .size = ri.size, .offset = ri.offset,
                };
        }
        for (uint32_t i = 0; i < info.num_irqs; i++) {
                struct vfio_irq_info ii;

                if (b->device_get_irq_info(fd, i, &ii) < 0)
                        continue;
                ret->irqs[ret->n_irqs++] = (KernelIrq) { .index = ii.index, .flags = ii.flags, .count = ii.count };
        }
        return 0;
}

int kernel_device_irq_count(const KernelBackend *b, int fd, IrqType type, uint32_t *ret) {
        struct vfio_irq_info info;
        int r;

        r = b->device_get_irq_info(fd, type, &info);
        if (r < 0)
                return r;
        *ret = info.count;
        return 0;
}

int kernel_make_eventfds(int *fds, uint32_t n) {
        for (uint32_t i = 0; i < n; i++) {
                fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
                if (fds[i] < 0) {
                        int r = -errno;
                        close_many(fds, i);
                        return r;
                }
        }
        return 0;
}

int kernel_device_route_irq(const KernelBackend *b, int fd, IrqType type, const int *fds, uint32_t count,
                            int *ret_unmask) {
        int unmask = -EBADF, r;

        r = b->device_set_irq_eventfds(fd, type, VFIO_IRQ_SET_ACTION_TRIGGER, fds, count);
        if (r < 0)
                return r;
        if (type == IRQ_INTX) {
                r = kernel_make_eventfds(&unmask, 1);
                if (r >= 0)
                        r = b->device_set_irq_eventfds(fd, type, VFIO_IRQ_SET_ACTION_UNMASK, &unmask, 1);
                if (r < 0) {
                        safe_close(unmask);
                        (void) b->device_disable_irq(fd, type);
                        return r;
                }
        }
        *ret_unmask = unmask;
        return 0;
}

int kernel_device_disable_irq(const KernelBackend *b, int fd, IrqType type) {
        return b->device_disable_irq(fd, type);
}

int kernel_device_can_reset(const KernelBackend *b, int fd) {
        struct vfio_device_info info;
        int r;

        r = b->device_get_info(fd, &info);
        if (r < 0)
                return r;
        return !!(info.flags & VFIO_DEVICE_FLAGS_RESET);
}

int kernel_device_reset(const KernelBackend *b, int fd) {
        return b->device_reset(fd);
}

int kernel_device_hot_reset(KernelGroup *g, int fd) {
        return g->backend->device_hot_reset(g, fd);
}

KernelFdKind kernel_fd_kind(const KernelBackend *b, int fd, int *ret_group) {
        return b->fd_kind(fd, ret_group);
}
