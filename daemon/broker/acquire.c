/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "broker/acquire.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/authorize.h"
#include "broker/devices.h"
#include "broker/group.h"
#include "common/util.h"
#include "host/viable.h"
#include "util/log.h"

#include "broker/acquire-internal.h"

const char *irq_type_name(int t) {
        switch (t) {
        case IRQ_INTX: return "INTx";
        case IRQ_MSI: return "MSI";
        case IRQ_MSIX: return "MSI-X";
        case IRQ_ERR: return "err";
        case IRQ_REQ: return "req";
        default: return "unknown";
        }
}

/* ---- validate ---- */

/* The IRQs asked for one device; counts the fds they will take. */
static int parse_irqs(Acquire *a, const AcquireDevice *dr, const char *bdf, DeviceWant *w, size_t *n_fds) {
        unsigned line_based = 0;

        if (dr->n_irqs > _IRQ_TYPE_MAX)
                return broker_error(a->err, BROKER_E_INVALID, "%s: too many IRQ requests", bdf);
        for (size_t j = 0; j < dr->n_irqs; j++) {
                const AcquireIrq *ir = &dr->irqs[j];
                IrqWant *iw = &w->irqs[w->n_irqs];
                bool single;

                if (ir->type < 0 || ir->type >= _IRQ_TYPE_MAX)
                        return broker_error(a->err, BROKER_E_INVALID, "%s: unknown IRQ type %d", bdf, ir->wire_type);
                iw->type = ir->type;
                iw->count = ir->count ? ir->count : 1;
                single = iw->type == IRQ_INTX || iw->type == IRQ_ERR || iw->type == IRQ_REQ;
                if ((single && iw->count != 1) || iw->count > ACQUIRE_MAX_VECTORS)
                        return broker_error(a->err, BROKER_E_INVALID, "%s: %u %s vectors cannot be had", bdf,
                                            iw->count, irq_type_name(iw->type));
                for (size_t k = 0; k < w->n_irqs; k++)
                        if (w->irqs[k].type == iw->type)
                                return broker_error(a->err, BROKER_E_INVALID, "%s: %s requested twice", bdf,
                                                    irq_type_name(iw->type));
                if (iw->type <= IRQ_MSIX && ++line_based > 1)
                        return broker_error(a->err, BROKER_E_INVALID, "%s: INTx, MSI and MSI-X exclude each other", bdf);
                *n_fds += iw->count + (iw->type == IRQ_INTX ? 1 : 0);
                w->n_irqs++;
        }
        return 0;
}

/* What sysfs and the broker's own state say of one device. */
static int check_device(Acquire *a, DeviceWant *w, const char *bdf) {
        Broker *b = a->connection->broker;
        char why[256];
        uid_t uid;
        Group *g;
        int r;

        r = device_cache_read_device(b->devices, bdf, &w->pci);
        if (r == -ENODEV)
                return broker_error(a->err, BROKER_E_UNKNOWN_DEVICE, "no PCI device %s", bdf);
        if (r < 0)
                return broker_error_system(a->err, r, "%s: reading sysfs: %s", bdf, strerror(-r));
        if (!pci_driver_is_vfio(&w->pci)) {
                /* With the fix: how an admin binds it, or has the broker do it. */
                if (w->pci.driver[0])
                        snprintf(w->deferred_why, sizeof(w->deferred_why),
                                 "%s is bound to %s, not vfio-pci: an admin binds it (echo vfio-pci > "
                                 "/sys/bus/pci/devices/%s/driver_override; echo %s > /sys/bus/pci/drivers/%s/unbind; "
                                 "echo %s > /sys/bus/pci/drivers_probe) or pools it with Managed=yes",
                                 bdf, w->pci.driver, bdf, bdf, w->pci.driver, bdf);
                else
                        snprintf(w->deferred_why, sizeof(w->deferred_why),
                                 "%s has no driver; bind it to vfio-pci (echo vfio-pci > "
                                 "/sys/bus/pci/devices/%s/driver_override; echo %s > /sys/bus/pci/drivers_probe) "
                                 "or pool it with Managed=yes",
                                 bdf, bdf, bdf);
                if (!authorize_may_manage(a->connection->broker, &w->pci))
                        return broker_error(a->err, BROKER_E_NOT_VFIO, "%s", w->deferred_why);
                w->deferred = BROKER_E_NOT_VFIO;
        }
        if (w->pci.iommu_group < 0)
                return broker_error(a->err, BROKER_E_NOIOMMU, "%s has no IOMMU group: is the IOMMU on?", bdf);
        if (a->request->mode != KERNEL_MODE_LEGACY &&
            kernel_mode_check(kernel_backend_for_mode(b->config.backend, a->request->mode), a->request->mode, bdf, why,
                              sizeof(why)) < 0)
                return broker_error_errno(a->err, BROKER_E_UNSUPPORTED, EOPNOTSUPP, "%s: %s mode cannot be had: %s",
                                          bdf, kernel_mode_name(a->request->mode), why);
        if (w->pci.noiommu && a->request->mode != KERNEL_MODE_LEGACY)
                return broker_error(a->err, BROKER_E_NOIOMMU, "%s is in no-IOMMU group %d: iommufd gives such devices "
                                    "no cdev to lease; use the legacy mode", bdf, w->pci.iommu_group);
        if (w->pci.noiommu && !b->policy.allow_noiommu)
                return broker_error(a->err, BROKER_E_NOIOMMU,
                                    "%s is in no-IOMMU group %d: no DMA isolation; the policy says AllowNoIommu=no",
                                    bdf, w->pci.iommu_group);
        g = broker_find_group(b, w->pci.iommu_group);
        if (g && g->state == GROUP_RESETTING)
                return broker_error(a->err, BROKER_E_BUSY, "%s is busy: IOMMU group %d is being reset after lease %llu",
                                    bdf, g->number, (unsigned long long) g->lease_id);
        if (g && g->state == GROUP_QUARANTINED)
                return broker_error(a->err, BROKER_E_QUARANTINED,
                                    "IOMMU group %d of %s is quarantined: a device fd of lease %llu (uid %u) is still open",
                                    g->number, bdf, (unsigned long long) g->lease_id, (unsigned) g->uid);
        if (g && g->lease != a->lease)
                return broker_error(a->err, BROKER_E_BUSY, "%s is busy: IOMMU group %d is held by lease %llu of uid %u",
                                    bdf, g->number, (unsigned long long) g->lease_id, (unsigned) g->uid);
        if (!g && broker_group_acquiring(b, w->pci.iommu_group, &uid))
                return broker_error(a->err, BROKER_E_BUSY, "%s is busy: IOMMU group %d is being opened for uid %u",
                                    bdf, w->pci.iommu_group, (unsigned) uid);
        if (!g && !w->deferred && host_group_check_viable(b->devices, w->pci.iommu_group, &w->pci, &w->members,
                                                          &w->n_members, why, sizeof(why)) != 0) {
                snprintf(w->deferred_why, sizeof(w->deferred_why), "%s: %s", bdf, why);
                if (!authorize_may_manage(a->connection->broker, &w->pci))
                        return broker_error(a->err, BROKER_E_NOT_VIABLE, "%s", w->deferred_why);
                w->deferred = BROKER_E_NOT_VIABLE;
        }
        return 0;
}

/* Everything about the request that can be checked without touching a device. */
static int acquire_validate(Acquire *a) {
        const AcquireRequest *req = a->request;
        Connection *c = a->connection;
        size_t n_fds = 1;
        int r;

        if (req->lease_id != 0) {
                a->lease = connection_find_lease(c, req->lease_id);
                if (!a->lease)
                        return broker_error(a->err, BROKER_E_UNKNOWN_LEASE, "this connection holds no lease %llu",
                                            (unsigned long long) req->lease_id);
        }
        if ((int) req->mode < 0 || req->mode >= _KERNEL_MODE_MAX)
                return broker_error(a->err, BROKER_E_INVALID, "unknown backend mode %d", (int) req->mode);
        if (a->lease && lease_mode(a->lease) != req->mode)
                return broker_error(a->err, BROKER_E_INVALID, "lease %llu is a %s lease: devices join it in that mode, "
                                    "not %s", (unsigned long long) a->lease->id, kernel_mode_name(lease_mode(a->lease)),
                                    kernel_mode_name(req->mode));
        if (req->n_devices == 0 || req->n_devices > ACQUIRE_MAX_DEVICES)
                return broker_error(a->err, BROKER_E_INVALID, "an acquire names 1 to %d devices", ACQUIRE_MAX_DEVICES);
        for (size_t i = 0; i < req->n_devices; i++) {
                DeviceWant *w = &a->wants[i];
                char bdf[BDF_STRLEN + 1];

                if (bdf_normalize(req->devices[i].bdf, bdf) < 0)
                        return broker_error(a->err, BROKER_E_INVALID, "\"%.32s\" is not a PCI address",
                                            req->devices[i].bdf);
                for (size_t k = 0; k < i; k++)
                        if (strcmp(a->wants[k].pci.bdf, bdf) == 0)
                                return broker_error(a->err, BROKER_E_INVALID, "%s named twice", bdf);
                if (a->lease && lease_find_device(a->lease, bdf))
                        return broker_error(a->err, BROKER_E_INVALID, "%s is already in lease %llu", bdf,
                                            (unsigned long long) a->lease->id);
                if (req->mode == KERNEL_MODE_VMM && req->devices[i].n_irqs > 0)
                        return broker_error(a->err, BROKER_E_INVALID, "%s: in vmm mode the broker sets up no "
                                            "interrupts (the VMM sets its own on the cdev): ask for none", bdf);
                r = parse_irqs(a, &req->devices[i], bdf, w, &n_fds);
                if (r != 0)
                        return r;
                n_fds++;
                r = check_device(a, w, bdf);
                if (r != 0)
                        return r;
        }
        if (n_fds > req->max_fds)
                return broker_error(a->err, BROKER_E_TOO_MANY_FDS, "the reply would carry %zu fds, more than %zu",
                                    n_fds, req->max_fds);
        return connection_check_fd_budget(c, n_fds, a->err);
}

/* ---- authorize ---- */

/* A managed group: every device to be moved must be free of the host's use (read here, moved in act). */
static int check_managed_group(Acquire *a, DeviceWant *w) {
        Broker *b = a->connection->broker;
        char why[320];
        int r;

        free(w->members);
        w->members = NULL;
        r = device_cache_group_members(b->devices, w->pci.iommu_group, &w->members, &w->n_members);
        if (r < 0)
                return broker_error_system(a->err, r, "IOMMU group %d: reading its devices: %s", w->pci.iommu_group,
                                           strerror(-r));
        for (size_t i = 0; i < w->n_members; i++) {
                PciDevice m;

                r = device_cache_read_device(b->devices, w->members[i], &m);
                if (r < 0)
                        return broker_error_system(a->err, r, "%s: reading sysfs: %s", w->members[i], strerror(-r));
                if (pci_is_bridge(&m) || pci_driver_is_vfio(&m))
                        continue;
                if (managed_host_check_use(b->managed, &m, why, sizeof(why)) != 0)
                        return broker_error(a->err, BROKER_E_BUSY, "IOMMU group %d of %s cannot be moved to vfio-pci: %s",
                                            w->pci.iommu_group, w->pci.bdf, why);
        }
        return 0;
}

static unsigned irq_mask_of(const DeviceWant *w) {
        unsigned mask = 0;

        for (size_t i = 0; i < w->n_irqs; i++)
                mask |= 1u << w->irqs[i].type; /* POLICY_IRQ_* are in IrqType's order */
        return mask;
}

/*
 * The policy's word on every device of the request: a grant each, MaxDevices
 * across the uid's leases, ResetRequired for groups someone else used, and
 * the host's interrupt isolation.  The largest MemlockLimit into a->memlock.
 */
static int acquire_authorize(Acquire *a) {
        Connection *c = a->connection;
        Broker *b = c->broker;
        size_t held = broker_devices_of_uid(b, c->uid) + acquire_pending_of_uid(b, c->uid, NULL), n = a->request->n_devices;
        char why[384];

        if (!b->policy.allow_unsafe_interrupts && !b->interrupt_remapping &&
            sysfs_unsafe_interrupts_allowed(b->config.sysfs_root))
                return broker_error(a->err, BROKER_E_NO_INTERRUPT_REMAPPING,
                                    "this host has no interrupt remapping; vfio_iommu_type1.allow_unsafe_interrupts "
                                    "is on but the policy says AllowUnsafeInterrupts=no");
        for (size_t i = 0; i < n; i++) {
                DeviceWant *w = &a->wants[i];
                const UsedGroup *used;

                w->grant = authorize_device(c, &w->pci, irq_mask_of(w), a->request->mode, why, sizeof(why));
                if (!w->grant)
                        return broker_error(a->err, BROKER_E_DENIED, "%s denied: %s", w->pci.bdf, why);
                if (w->grant->has_max_devices && held + n > w->grant->max_devices)
                        return broker_error(a->err, BROKER_E_QUOTA,
                                            "%s denied: uid %u holds %zu device(s) and asks for %zu more; grant \"%s\" "
                                            "allows %u", w->pci.bdf, (unsigned) c->uid, held, n, w->grant->name,
                                            w->grant->max_devices);
                used = ledger_find(&b->ledger, w->pci.iommu_group);
                if (b->policy.reset_required && used && ledger_other_tenant(used, c->uid, w->grant->name) &&
                    !broker_find_group(b, w->pci.iommu_group))
                        return broker_error(a->err, BROKER_E_DENIED,
                                            "%s denied: IOMMU group %d was last held by uid %u%s%s%s and could not be "
                                            "reset; ResetRequired=yes keeps it from other tenants", w->pci.bdf,
                                            w->pci.iommu_group, (unsigned) used->uid, used->grant[0] ? " by grant \"" : "",
                                            used->grant, used->grant[0] ? "\"" : "");
                if (w->grant->has_memlock && w->grant->memlock > a->memlock)
                        a->memlock = w->grant->memlock;
                w->managed = w->deferred && authorize_managed(c, w->grant, &w->pci);
                if (w->deferred && !w->managed)
                        return broker_error(a->err, w->deferred, "%s", w->deferred_why);
                if (w->managed) {
                        int r = check_managed_group(a, w);
                        if (r != 0)
                                return r;
                }
        }
        return 0;
}

/* ---- act ---- */

/* Managed: every device of @w's group but bridges onto vfio-pci, each recorded first (host/managed.c). */
static int move_group(Acquire *a, DeviceWant *w) {
        Broker *b = a->connection->broker;
        char why[320];
        int r;

        for (size_t i = 0; i < w->n_members; i++) {
                PciDevice m;
                void *p;

                r = device_cache_read_device(b->devices, w->members[i], &m);
                if (r < 0)
                        return broker_error_system(a->err, r, "%s: reading sysfs: %s", w->members[i], strerror(-r));
                if (pci_is_bridge(&m) || pci_driver_is_vfio(&m))
                        continue;
                p = reallocarray(a->moved, a->n_moved + 1, sizeof(*a->moved));
                if (!p)
                        return -ENOMEM;
                a->moved = p;
                r = managed_host_bind(b->managed, &m, why, sizeof(why));
                if (r != 0)
                        return r < 0 ? broker_error_system(a->err, r, "%s", why)
                                     : broker_error(a->err, BROKER_E_BUSY, "IOMMU group %d of %s: %s",
                                                    w->pci.iommu_group, w->pci.bdf, why);
                string_copy(a->moved[a->n_moved++], BDF_STRLEN + 1, m.bdf);
        }
        return 0;
}

/* Managed: @w's group onto vfio-pci, unless it is there already. */
int acquire_move_managed(Acquire *a, DeviceWant *w) {
        int r;

        if (!w->managed)
                return 0;
        r = move_group(a, w);
        if (r != 0)
                return r;
        /* For the test bed only: a broker killed between the moves and the reply (tests/vm/scenarios/managed.sh). */
        if (getenv("VFIO_BROKER_TEST_KILL_AFTER_MOVE"))
                raise(SIGKILL);
        return 0;
}

/* The kernel's part of taking @w's group: open it and attach it to @domain.  May run off the loop. */
int acquire_open_group(Acquire *a, DeviceWant *w, KernelDomain *domain, KernelGroup **ret) {
        int number = w->pci.iommu_group, r;
        KernelGroup *kg = NULL;

        /* Not "held outside" by our own FD store: a release waits for systemd to close the group (system/fdstore.c). */
        r = kernel_group_open(kernel_backend_for_mode(a->broker->config.backend, a->request->mode), number, &kg);
        if (r == 0) {
                r = kernel_group_attach(kg, domain);
                if (r != 0)
                        kg = kernel_group_free(kg);
        }
        if (r == KERNEL_E_HELD_OUTSIDE)
                return broker_error(a->err, BROKER_E_BUSY, "IOMMU group %d of %s is held open outside the broker%s",
                                    number, w->pci.bdf, a->request->mode == KERNEL_MODE_LEGACY ? ""
                                    : " (a device of it is bound elsewhere, or /dev/vfio/N is open)");
        if (r != 0)
                return broker_attach_error(a->broker, number, r, a->err);
        *ret = kg;
        return 0;
}

/* The model's part: the group (@kg, taken) is the broker's, for the lease. */
int acquire_adopt_group(Acquire *a, DeviceWant *w, KernelGroup *kg) {
        Group *g;
        int r;

        r = group_new(a->broker, w->pci.iommu_group, kg, TAKE_PTR(w->members), w->n_members, &g);
        if (r < 0)
                return r;
        g->lease_id = a->lease->id;
        g->uid = a->lease->uid;
        string_copy(g->grant, sizeof(g->grant), w->grant->name);
        a->new_groups[a->n_new++] = g;
        w->group = g;
        return 0;
}

/* Take the group of @w into the lease's domain, unless the lease has it. */
static int take_group(Acquire *a, DeviceWant *w) {
        KernelGroup *kg = NULL;
        Group *g;
        int r;

        g = broker_find_group(a->broker, w->pci.iommu_group);
        if (g) {
                w->group = g; /* validated: it is this lease's */
                return 0;
        }
        r = acquire_move_managed(a, w);
        if (r == 0)
                r = acquire_open_group(a, w, a->lease->domain, &kg);
        if (r != 0)
                return r;
        return acquire_adopt_group(a, w, kg);
}

/* Route the IRQs asked for to fresh eventfds, which @d keeps. */
static int route_irqs(Acquire *a, DeviceWant *w, LeasedDevice *d) {
        const KernelBackend *backend = a->broker->config.backend;
        const char *bdf = w->pci.bdf;

        for (size_t i = 0; i < w->n_irqs; i++) {
                const IrqWant *iw = &w->irqs[i];
                _cleanup_free_ int *fds = NULL;
                int unmask = -EBADF, r;
                uint32_t offered = 0;

                r = kernel_device_irq_count(backend, d->fd, iw->type, &offered);
                if (r < 0 || offered < iw->count)
                        return broker_error_errno(a->err, BROKER_E_IRQ, ENOTSUP, "%s offers %u %s vector(s), %u requested",
                                                  bdf, r < 0 ? 0 : offered, irq_type_name(iw->type), iw->count);
                fds = calloc(iw->count, sizeof(int));
                if (!fds)
                        return -ENOMEM;
                r = kernel_make_eventfds(fds, iw->count);
                if (r < 0)
                        return broker_error_system(a->err, r, "eventfd: %s", strerror(-r));
                /* The kernel's REQ is the broker's own (lease.c); the client's REQ eventfd hears of every recall. */
                if (iw->type == IRQ_REQ)
                        r = 0;
                else
                        r = kernel_device_route_irq(backend, d->fd, iw->type, fds, iw->count, &unmask);
                if (r < 0) {
                        close_many(fds, iw->count);
                        return broker_error_errno(a->err, BROKER_E_IRQ, -r, "%s: setting up %s: %s", bdf,
                                                  irq_type_name(iw->type), strerror(-r));
                }
                if (iw->type != IRQ_REQ)
                        d->irq_types |= 1u << iw->type;
                for (uint32_t v = 0; v < iw->count; v++) {
                        r = leased_device_keep_eventfd(d, TAKE_FD(fds[v]), LEASE_FD_IRQ, iw->type, v);
                        if (r < 0) {
                                close_many(fds, iw->count);
                                safe_close(unmask);
                                return r;
                        }
                }
                if (unmask >= 0) {
                        r = leased_device_keep_eventfd(d, unmask, LEASE_FD_UNMASK, IRQ_INTX, 0);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Open the device through @kg and set up its IRQs; what it took goes to a->devices either way.  May run off the loop. */
int acquire_open_device(Acquire *a, DeviceWant *w, KernelGroup *kg) {
        LeasedDevice *d = &a->devices[a->n_devices];
        int r;

        *d = (LeasedDevice) { .group = w->group, .fd = -EBADF, .kernel_request = -EBADF };
        string_copy(d->bdf, sizeof(d->bdf), w->pci.bdf);
        r = kernel_device_open(kg, w->pci.bdf, &d->fd);
        if (r < 0)
                return broker_error_system(a->err, r, "opening %s through its group: %s", w->pci.bdf, strerror(-r));
        a->n_devices++;
        return route_irqs(a, w, d);
}

static int acquire_act(Acquire *a) {
        int r;

        if (!a->lease) {
                r = lease_new(a->connection, a->request->mode, &a->lease);
                if (r < 0)
                        return broker_error_system(a->err, r, "opening %s: %s", a->request->mode == KERNEL_MODE_LEGACY
                                                   ? "/dev/vfio/vfio" : "/dev/iommu (RLIMIT_MODE, IOAS)", strerror(-r));
                a->new_lease = true;
        }
        if (a->memlock > a->lease->memlock) {
                r = lease_apply_memlock(a->lease, a->memlock);
                if (r < 0)
                        return broker_error_system(a->err, r, "setting the client's RLIMIT_MEMLOCK: %s", strerror(-r));
        }
        for (size_t i = 0; i < a->request->n_devices; i++) {
                r = take_group(a, &a->wants[i]);
                if (r == 0)
                        r = acquire_open_device(a, &a->wants[i], a->wants[i].group->kernel);
                if (r != 0)
                        return r;
        }
        return 0;
}

/* Its fds closed: what this acquire moved goes back to its drivers. */
void acquire_give_back_moved(Acquire *a) {
        for (size_t i = 0; i < a->n_moved; i++)
                (void) managed_host_restore(a->broker->managed, a->moved[i]);
        a->n_moved = 0;
}

void acquire_rollback(Acquire *a) {
        const KernelBackend *backend = a->broker->config.backend;

        for (size_t i = 0; i < a->n_devices; i++)
                leased_device_teardown(&a->devices[i], backend);
        a->n_devices = 0;
        for (size_t i = 0; i < a->n_new; i++) {
                (void) kernel_group_detach(a->new_groups[i]->kernel);
                group_free(a->new_groups[i]);
        }
        a->n_new = 0;
        if (a->new_lease)
                lease_discard(a->lease); /* never granted: no RELEASE for it */
        acquire_give_back_moved(a);
}

/* ---- commit ---- */

int acquire_commit(Acquire *a, size_t *ret_first) {
        Connection *c = a->connection;
        Lease *l = a->lease;
        size_t i = 0;

        *ret_first = l->n_devices;
        for (size_t k = 0; k < a->n_new; k++)
                if (lease_add_group(l, a->new_groups[k]) < 0)
                        goto oom;
        for (; i < a->n_devices; i++)
                if (lease_add_device(l, &a->devices[i]) < 0)
                        goto oom;
        broker_announce_acquired(c->broker, l);
        broker_changed(c->broker);
        for (size_t k = 0; k < a->request->n_devices; k++) {
                const DeviceWant *w = &a->wants[k];

                log_audit(LOG_INFO,
                          &AUDIT_RECORD(AUDIT_GRANT, .lease = l->id, .has_client = true, .uid = c->uid,
                                        .pid = c->pid, .cgroup = c->cgroup, .client_name = c->name,
                                        .device = w->pci.bdf, .has_group = true, .group = w->pci.iommu_group,
                                        .grant = w->grant->name),
                          "GRANT lease %llu: %s (group %d) to uid %u pid %u cgroup %s \"%s\" by grant \"%s\"",
                          (unsigned long long) l->id, w->pci.bdf, w->pci.iommu_group, (unsigned) c->uid,
                          (unsigned) c->pid, c->cgroup, c->name, w->grant->name);
        }
        return 0;

oom:
        /* Committed parts belong to the lease now: release it whole, and what it did not take yet. */
        for (i++; i < a->n_devices; i++)
                leased_device_teardown(&a->devices[i], c->broker->config.backend);
        lease_release(l, "out of memory while acquiring");
        return broker_error_system(a->err, -ENOMEM, "out of memory");
}

/* The audit record of a refusal: DENY for the policy's, REFUSE for every other, with its kind. */
void acquire_audit_refusal(Connection *c, int r, const BrokerError *err, bool by_policy) {
        const char *message = err->message[0] ? err->message : r < 0 ? strerror(-r) : "refused";

        if (by_policy)
                log_audit(LOG_NOTICE,
                          &AUDIT_RECORD(AUDIT_DENY, .has_client = true, .uid = c->uid, .pid = c->pid,
                                        .cgroup = c->cgroup, .client_name = c->name),
                          "DENY uid %u pid %u cgroup %s: %s", (unsigned) c->uid, (unsigned) c->pid, c->cgroup, message);
        else
                log_audit(LOG_NOTICE,
                          &AUDIT_RECORD(AUDIT_REFUSE, .has_client = true, .uid = c->uid, .pid = c->pid,
                                        .cgroup = c->cgroup, .client_name = c->name, .result = broker_code_name(r)),
                          "REFUSE (%s) uid %u pid %u cgroup %s: %s", broker_code_name(r), (unsigned) c->uid,
                          (unsigned) c->pid, c->cgroup, message);
}

int acquire_start(Connection *c, const AcquireRequest *req, BrokerError *err, AcquireDoneFn done, void *userdata,
                  Lease **ret_lease, size_t *ret_first, AcquireJob **ret_job) {
        Acquire a = { .broker = c->broker, .connection = c, .request = req, .err = err };
        bool by_policy = false;
        size_t pending_leases = 0;
        int r;

        r = acquire_validate(&a);
        if (r == 0) {
                r = acquire_authorize(&a);
                by_policy = r == BROKER_E_DENIED || r == BROKER_E_QUOTA;
        }
        (void) acquire_pending_of_uid(c->broker, c->uid, &pending_leases);
        if (r == 0 && !a.lease &&
            user_charged(c->user, USER_LEASES) + pending_leases >= c->broker->config.max_leases_per_uid)
                r = broker_error(err, BROKER_E_QUOTA, "uid %u holds %u leases, the most allowed", (unsigned) c->uid,
                                 user_charged(c->user, USER_LEASES) + (unsigned) pending_leases);
        if (r == 0 && done && acquire_opens_slowly(&a)) {
                r = acquire_defer(&a, done, userdata, ret_job);
                if (r == ACQUIRE_PENDING)
                        return r;
        } else if (r == 0) {
                r = acquire_act(&a);
                if (r != 0) {
                        if (r == -ENOMEM && !err->message[0])
                                broker_error_system(err, r, "out of memory");
                        acquire_rollback(&a);
                }
                if (r == 0)
                        r = acquire_commit(&a, ret_first);
        }
        if (r != 0)
                acquire_audit_refusal(c, r, err, by_policy);
        for (size_t i = 0; i < ELEMENTSOF(a.wants); i++)
                free(a.wants[i].members);
        free(a.moved);
        if (r != 0)
                return r;
        *ret_lease = a.lease;
        return 0;
}

int acquire(Connection *c, const AcquireRequest *req, BrokerError *err, Lease **ret_lease, size_t *ret_first) {
        return acquire_start(c, req, err, NULL, NULL, ret_lease, ret_first, NULL);
}
