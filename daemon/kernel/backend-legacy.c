/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The legacy VFIO container/group backend: vfio.c's calls, one per ioctl. */
#include "kernel/backend-ops.h"
#include "kernel/vfio.h"

_Static_assert((int) IRQ_INTX == VFIO_PCI_INTX_IRQ_INDEX && (int) IRQ_MSI == VFIO_PCI_MSI_IRQ_INDEX &&
               (int) IRQ_MSIX == VFIO_PCI_MSIX_IRQ_INDEX && (int) IRQ_ERR == VFIO_PCI_ERR_IRQ_INDEX &&
               (int) IRQ_REQ == VFIO_PCI_REQ_IRQ_INDEX && (int) _IRQ_TYPE_MAX == VFIO_PCI_NUM_IRQS,
               "IrqType is numbered as VFIO's PCI IRQ indices");

static KernelFdKind legacy_fd_kind(int fd, int *ret_group) {
        switch (vfio_fd_kind(fd, ret_group)) {
        case VFIO_FD_CONTAINER:
                return KERNEL_FD_DOMAIN;
        case VFIO_FD_GROUP:
                return KERNEL_FD_GROUP;
        default:
                return KERNEL_FD_OTHER;
        }
}

const KernelBackend kernel_backend_legacy = {
        .name = "legacy",
        .domain_open = vfio_container_open,
        .domain_set_iommu = vfio_container_set_iommu,
        .group_open = vfio_group_open,
        .group_viable = vfio_group_viable,
        .group_set_domain = vfio_group_set_container,
        .group_unset_domain = vfio_group_unset_container,
        .device_open = vfio_group_get_device,
        .device_get_info = vfio_device_get_info,
        .device_get_region_info = vfio_device_get_region_info,
        .device_get_irq_info = vfio_device_get_irq_info,
        .device_set_irq_eventfds = vfio_device_set_irq_eventfds,
        .device_disable_irq = vfio_device_disable_irq,
        .device_reset = vfio_device_reset,
        .fd_kind = legacy_fd_kind,
};
