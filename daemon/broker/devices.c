/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "broker/devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/acquire.h"
#include "broker/authorize.h"
#include "broker/group.h"
#include "broker/lease.h"
#include "common/util.h"
#include "host/viable.h"

/* A device on its host driver that an acquire would bind to vfio-pci (a Managed=yes pool holds it). */
static bool bindable(Broker *b, const PciDevice *d) {
        return d->iommu_group >= 0 && !pci_is_bridge(d) && authorize_may_manage(b, d);
}

DeviceState broker_device_state(Broker *b, const PciDevice *d, char *why, size_t size) {
        Group *g = d->iommu_group >= 0 ? broker_find_group(b, d->iommu_group) : NULL;

        why[0] = 0;
        if (g)
                return g->state == GROUP_LEASED ? (g->lease && g->lease->recall.step != RECALL_NONE ? DEVICE_RECALLED
                                                                                   : DEVICE_LEASED)
                     : g->state == GROUP_RESETTING ? DEVICE_RESETTING : DEVICE_QUARANTINED;
        if (!pci_driver_is_vfio(d) && bindable(b, d)) {
                /* Managed=yes: the acquire binds its group to vfio-pci, and gives it back after. */
                snprintf(why, size, "on %s until leased (Managed=yes)", d->driver[0] ? d->driver : "no driver");
                return DEVICE_FREE;
        }
        if (!pci_driver_is_vfio(d)) {
                snprintf(why, size, d->driver[0] ? "bound to %s, not vfio-pci" : "no driver bound", d->driver);
                return DEVICE_UNAVAILABLE;
        }
        if (d->iommu_group < 0) {
                snprintf(why, size, "no IOMMU group");
                return DEVICE_UNAVAILABLE;
        }
        if (host_group_check_viable(b->devices, d->iommu_group, d, NULL, NULL, why, size) != 0)
                return DEVICE_UNAVAILABLE;
        return DEVICE_FREE;
}

void broker_view_device(Broker *b, Connection *asking, const PciDevice *d, DeviceView *ret) {
        Group *g = d->iommu_group >= 0 ? broker_find_group(b, d->iommu_group) : NULL;
        char why[256];

        *ret = (DeviceView) { .pci = *d };
        ret->state = broker_device_state(b, d, ret->why, sizeof(ret->why));
        if (g) {
                ret->lease_id = g->lease_id;
                ret->holder_uid = g->uid;
        }
        if (asking) {
                ret->grant = authorize_device(asking, d, 0, KERNEL_MODE_LEGACY, why, sizeof(why));
                if (!ret->grant)
                        ret->grant = authorize_device(asking, d, 0, KERNEL_MODE_IOMMUFD, why, sizeof(why));
        }
}

static int compare_int(const void *a, const void *b) {
        return (*(const int *) a > *(const int *) b) - (*(const int *) a < *(const int *) b);
}

int broker_listed_devices(Broker *b, bool continuing, PciDevice **ret, size_t *ret_n, BrokerError *err) {
        _cleanup_free_ PciDevice *all = NULL;
        _cleanup_free_ int *vfio_groups = NULL;
        size_t n, k = 0, n_groups = 0;
        int r;

        r = device_cache_list_devices(b->devices, continuing, &all, &n);
        if (r < 0)
                return broker_error_system(err, r, "cannot read PCI devices from sysfs: %s", strerror(-r));
        /* The groups that have a device on vfio-pci, sorted: one pass, not one per device. */
        vfio_groups = calloc(n ? n : 1, sizeof(*vfio_groups));
        if (!vfio_groups)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (all[i].iommu_group >= 0 && pci_driver_is_vfio(&all[i]))
                        vfio_groups[n_groups++] = all[i].iommu_group;
        qsort(vfio_groups, n_groups, sizeof(*vfio_groups), compare_int);
        for (size_t i = 0; i < n; i++) {
                const PciDevice *d = &all[i];
                bool listed = pci_driver_is_vfio(d) ||
                              (!pci_is_bridge(d) && d->iommu_group >= 0 &&
                               bsearch(&d->iommu_group, vfio_groups, n_groups, sizeof(int), compare_int)) ||
                              bindable(b, d);

                if (listed)
                        all[k++] = *d;
        }
        *ret = TAKE_PTR(all);
        *ret_n = k;
        return 0;
}

/* The kernel refused to attach a group or set the IOMMU: say why in its terms. */
int broker_attach_error(Broker *b, int group, int r, BrokerError *err) {
        if (r == KERNEL_E_NOT_VIABLE)
                return broker_error(err, BROKER_E_NOT_VIABLE, "the kernel reports IOMMU group %d not viable", group);
        if (r == -EPERM && !sysfs_unsafe_interrupts_allowed(b->config.sysfs_root))
                return broker_error(err, BROKER_E_NO_INTERRUPT_REMAPPING,
                                    "IOMMU group %d: the kernel refused the type1 IOMMU (EPERM): this host has no "
                                    "interrupt remapping and vfio_iommu_type1.allow_unsafe_interrupts is off", group);
        return broker_error_system(err, r, "IOMMU group %d: attaching it to the container: %s", group, strerror(-r));
}

/* A free group: attach it to a domain of our own just long enough to ask. */
static int describe_transient(Broker *b, const PciDevice *d, KernelDeviceInfo *ret, BrokerError *err) {
        const KernelBackend *backend = b->config.backend;
        KernelDomain *domain = NULL;
        KernelGroup *group = NULL;
        _cleanup_close_ int dev = -EBADF;
        int r;

        r = kernel_domain_new(backend, KERNEL_MODE_LEGACY, &domain);
        if (r >= 0)
                r = kernel_group_take(backend, domain, d->iommu_group, &group);
        if (r == KERNEL_E_HELD_OUTSIDE) {
                kernel_domain_free(domain);
                return broker_error(err, BROKER_E_BUSY, "IOMMU group %d of %s is held open outside the broker",
                                    d->iommu_group, d->bdf);
        }
        if (r != 0) {
                kernel_domain_free(domain);
                return broker_attach_error(b, d->iommu_group, r, err);
        }
        r = kernel_device_open(group, d->bdf, &dev);
        if (r >= 0)
                r = kernel_device_describe(backend, dev, ret);
        dev = safe_close(dev);
        (void) kernel_group_detach(group);
        kernel_group_free(group);
        kernel_domain_free(domain);
        if (r < 0)
                return broker_error_system(err, r, "%s: querying VFIO: %s", d->bdf, strerror(-r));
        return 0;
}

int broker_describe_device(Connection *asking, const char *bdf_text, DeviceDescription *ret, BrokerError *err) {
        Broker *b = asking->broker;
        LeasedDevice *leased = NULL;
        char bdf[BDF_STRLEN + 1], why[256];
        DeviceView *v = &ret->view;
        PciDevice d;
        int r;

        if (bdf_normalize(bdf_text, bdf) < 0)
                return broker_error(err, BROKER_E_INVALID, "\"%.32s\" is not a PCI address", bdf_text);
        r = sysfs_read_device(b->config.sysfs_root, bdf, &d);
        if (r < 0)
                return broker_error(err, BROKER_E_UNKNOWN_DEVICE, "no PCI device %s", bdf);
        broker_view_device(b, asking, &d, v);
        ret->has_info = false;
        if (!pci_driver_is_vfio(&d) || d.iommu_group < 0 || d.noiommu)
                return 0;
        for (Lease *l = LIST_FIRST(&asking->leases); l && !leased; l = LIST_NEXT(l, link))
                if ((leased = lease_find_device(l, bdf)) && lease_mode(l) == KERNEL_MODE_VMM)
                        return 0; /* an unbound cdev answers nothing but its bind */
        if (leased) {
                r = kernel_device_describe(b->config.backend, leased->fd, &ret->info);
                if (r < 0)
                        return broker_error_system(err, r, "%s: querying VFIO: %s", bdf, strerror(-r));
                ret->has_info = true;
                return 0;
        }
        /*
         * Leased by another, not allowed or not viable: the sysfs view alone.  So too a device the
         * kernel resets as it opens and closes: the broker's loop would sleep in both (and a client
         * could make it sleep at will); its lease holder asks instead.
         */
        if (broker_find_group(b, d.iommu_group) || broker_group_acquiring(b, d.iommu_group, NULL) || !v->grant ||
            d.reset != PCI_RESET_NONE ||
            host_group_check_viable(b->devices, d.iommu_group, &d, NULL, NULL, why, sizeof(why)) != 0)
                return 0;
        r = describe_transient(b, &d, &ret->info, err);
        if (r != 0)
                return r;
        ret->has_info = true;
        return 0;
}
