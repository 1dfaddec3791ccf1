/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The legacy VFIO container/group backend: vfio.c's calls, one per ioctl, on the objects' fds. */
#include <errno.h>
#include <unistd.h>

#include "common/util.h"
#include "kernel/backend-ops.h"
#include "kernel/vfio.h"

_Static_assert((int) IRQ_INTX == VFIO_PCI_INTX_IRQ_INDEX && (int) IRQ_MSI == VFIO_PCI_MSI_IRQ_INDEX &&
               (int) IRQ_MSIX == VFIO_PCI_MSIX_IRQ_INDEX && (int) IRQ_ERR == VFIO_PCI_ERR_IRQ_INDEX &&
               (int) IRQ_REQ == VFIO_PCI_REQ_IRQ_INDEX && (int) _IRQ_TYPE_MAX == VFIO_PCI_NUM_IRQS,
               "IrqType is numbered as VFIO's PCI IRQ indices");

KernelFdKind legacy_fd_kind(int fd, int *ret_group) {
        switch (vfio_fd_kind(fd, ret_group)) {
        case VFIO_FD_CONTAINER:
        case VFIO_FD_IOMMUFD:
                return KERNEL_FD_DOMAIN;
        case VFIO_FD_GROUP:
        case VFIO_FD_CDEV:
                return KERNEL_FD_GROUP;
        default:
                return KERNEL_FD_OTHER;
        }
}

static int legacy_domain_open(KernelDomain *d) { return vfio_container_open(&d->fd); }
static int legacy_domain_set_iommu(KernelDomain *d) { return vfio_container_set_iommu(d->fd); }

/*
 * Where the kernel has VFIO cdevs, it deletes a device's cdev as an unbind or
 * removal begins, whichever way the device was opened: the broker hears of
 * it so even when a client took the REQ interrupt away from it.
 */
static void watch_cdevs(KernelGroup *g) {
        static int has_cdevs = -1;

        /*
         * Asked once, at the first group: its devices are on vfio-pci, so a kernel with cdevs has
         * made /dev/vfio/devices by then (/sys/class/vfio-dev is there without cdevs too, since 6.1).
         * Elsewhere this costs nothing: the listing is a dozen sysfs lookups per group.
         */
        if (has_cdevs < 0)
                has_cdevs = access("/dev/vfio/devices", F_OK) == 0;
        if (has_cdevs)
                (void) kernel_cdevs_list(g);
}

static int legacy_group_open(KernelGroup *g) {
        int r = vfio_group_open(g->number, &g->fd);

        if (r == 0)
                watch_cdevs(g);
        return r == -EBUSY ? KERNEL_E_HELD_OUTSIDE : r;
}

static int legacy_group_adopt(KernelGroup *g, const int *fds, size_t n) {
        if (n != 1) {
                close_many((int *) fds, n);
                return -EBADF;
        }
        g->fd = fds[0];
        watch_cdevs(g);
        return 0;
}

static void legacy_group_close(KernelGroup *g) { g->fd = safe_close(g->fd); }
static int legacy_group_viable(KernelGroup *g) { return vfio_group_viable(g->fd); }
static int legacy_group_set_domain(KernelGroup *g, KernelDomain *d) { return vfio_group_set_container(g->fd, d->fd); }
static int legacy_group_unset_domain(KernelGroup *g) { return vfio_group_unset_container(g->fd); }

size_t legacy_group_fds(const KernelGroup *g, int *fds, size_t max) {
        if (g->fd < 0 || max < 1)
                return 0;
        fds[0] = g->fd;
        return 1;
}

static int legacy_device_open(KernelGroup *g, const char *bdf, int *ret_fd) {
        return vfio_group_get_device(g->fd, bdf, ret_fd);
}

static int legacy_device_hot_reset(KernelGroup *g, int fd) { return vfio_device_hot_reset(fd, &g->fd, 1); }

const KernelBackend kernel_backend_legacy = {
        .name = "legacy",
        .domain_open = legacy_domain_open,
        .domain_set_iommu = legacy_domain_set_iommu,
        .group_open = legacy_group_open,
        .group_adopt = legacy_group_adopt,
        .group_close = legacy_group_close,
        .group_viable = legacy_group_viable,
        .group_set_domain = legacy_group_set_domain,
        .group_unset_domain = legacy_group_unset_domain,
        .group_fds = legacy_group_fds,
        .device_open = legacy_device_open,
        .device_get_info = vfio_device_get_info,
        .device_get_region_info = vfio_device_get_region_info,
        .device_get_irq_info = vfio_device_get_irq_info,
        .device_set_irq_eventfds = vfio_device_set_irq_eventfds,
        .device_disable_irq = vfio_device_disable_irq,
        .device_reset = vfio_device_reset,
        .device_hot_reset = legacy_device_hot_reset,
        .fd_kind = legacy_fd_kind,
};
