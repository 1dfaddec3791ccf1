/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The requests.  Each handler reads parse -> validate -> authorize -> act ->
 * reply -> commit: nothing a client sent causes a side effect before all of
 * it was checked, and an act that fails half-way is rolled back before the
 * error reply goes out.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "config.h"
#include "dispatch.h"
#include "log.h"
#include "sysfs.h"
#include "util.h"
#include "vfio.h"

#define MAX_CLIENT_NAME 64
#define MAX_DEVICES_PER_ACQUIRE 16
#define MAX_VECTORS 2048

typedef int (*Handler)(Connection *c, const Vfiobroker__Request *req, Reply *reply);

#define E(code) VFIOBROKER__ERROR_CODE__ERROR_##code

static const Grant *decide(Connection *c, const PciDevice *d, unsigned irq_mask, char *why, size_t size);

/* ---- devices as the broker sees them ---- */

static bool is_bridge(const PciDevice *d) {
        return (d->class_code >> 16) == 0x06;
}

static bool driver_is_vfio(const PciDevice *d) {
        return strcmp(d->driver, "vfio-pci") == 0;
}

/* Drivers the kernel accepts beside vfio-pci in a viable group. */
static bool driver_allowed_in_group(const PciDevice *d) {
        return d->driver[0] == 0 || driver_is_vfio(d) ||
               strcmp(d->driver, "pci-stub") == 0 || strcmp(d->driver, "pcieport") == 0;
}

/*
 * 0 when every device of @group may be handed out together (bound to vfio-pci
 * or to nothing); else -EPERM and why.  @known: one of them, already read.
 * @ret_members, if not NULL: the devices of the group, on success.
 */
static int group_check_viable(Broker *b, int group, const PciDevice *known, char (**ret_members)[BDF_STRLEN + 1],
                              size_t *ret_n, char *why, size_t size) {
        _cleanup_free_ char (*members)[BDF_STRLEN + 1] = NULL;
        size_t n;
        int r;

        r = device_cache_group_members(b->devices, group, &members, &n);
        if (r < 0) {
                snprintf(why, size, "cannot list the devices of IOMMU group %d: %s", group, strerror(-r));
                return r;
        }
        for (size_t i = 0; i < n; i++) {
                const PciDevice *d = known;
                PciDevice read;

                if (!known || strcmp(known->bdf, members[i]) != 0) {
                        if (device_cache_read_device(b->devices, members[i], &read) < 0)
                                continue;
                        d = &read;
                }
                if (!driver_allowed_in_group(d)) {
                        snprintf(why, size, "IOMMU group %d is not viable: %s is bound to the host driver %s",
                                 group, d->bdf, d->driver);
                        return -EPERM;
                }
        }
        if (ret_members) {
                *ret_members = TAKE_PTR(members);
                *ret_n = n;
        }
        return 0;
}

Vfiobroker__DeviceState broker_device_state(Broker *b, const PciDevice *d, char *why, size_t size) {
        Group *g = d->iommu_group >= 0 ? broker_find_group(b, d->iommu_group) : NULL;

        why[0] = 0;
        if (g)
                return g->state == GROUP_LEASED ? VFIOBROKER__DEVICE_STATE__DEVICE_LEASED
                                                : VFIOBROKER__DEVICE_STATE__DEVICE_QUARANTINED;
        if (!driver_is_vfio(d)) {
                snprintf(why, size, d->driver[0] ? "bound to %s, not vfio-pci" : "no driver bound", d->driver);
                return VFIOBROKER__DEVICE_STATE__DEVICE_UNAVAILABLE;
        }
        if (d->iommu_group < 0) {
                snprintf(why, size, "no IOMMU group");
                return VFIOBROKER__DEVICE_STATE__DEVICE_UNAVAILABLE;
        }
        if (group_check_viable(b, d->iommu_group, d, NULL, NULL, why, size) < 0)
                return VFIOBROKER__DEVICE_STATE__DEVICE_UNAVAILABLE;
        return VFIOBROKER__DEVICE_STATE__DEVICE_FREE;
}

static Vfiobroker__Device *device_view(Broker *b, const PciDevice *d, Reply *reply) {
        Group *g = d->iommu_group >= 0 ? broker_find_group(b, d->iommu_group) : NULL;
        Vfiobroker__Device *v;
        char why[256];

        v = reply_alloc(reply, sizeof(*v));
        if (!v)
                return NULL;
        vfiobroker__device__init(v);
        v->vendor = d->vendor;
        v->device = d->device;
        v->class_code = d->class_code;
        v->iommu_group = d->iommu_group;
        v->resettable = d->resettable;
        v->noiommu = d->noiommu;
        v->state = broker_device_state(b, d, why, sizeof(why));
        if (g) {
                v->lease_id = g->lease_id;
                v->holder_uid = g->uid;
        }
        v->bdf = reply_strdup(reply, d->bdf);
        v->driver = reply_strdup(reply, d->driver);
        v->reason = reply_strdup(reply, why);
        v->grant = reply_strdup(reply, "");
        if (!v->bdf || !v->driver || !v->reason || !v->grant)
                return NULL;
        return v;
}

/* Whether the caller's policy lets it lease @d, marked on its view. */
static int mark_allowed(Connection *c, const PciDevice *d, Vfiobroker__Device *v, Reply *reply) {
        const Grant *g;
        char why[256];

        g = decide(c, d, 0, why, sizeof(why));
        v->allowed = g != NULL;
        if (g) {
                v->grant = reply_strdup(reply, g->name);
                if (!v->grant)
                        return -ENOMEM;
        }
        return 0;
}

/* Devices bound to vfio-pci, and the other members of their groups (bridges aside). */
static bool device_listed(const PciDevice *d, const PciDevice *all, size_t n) {
        if (driver_is_vfio(d))
                return true;
        if (is_bridge(d) || d->iommu_group < 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (all[i].iommu_group == d->iommu_group && driver_is_vfio(&all[i]))
                        return true;
        return false;
}

/* ---- authorization ---- */

static PolicyIdentity identity_of(const Connection *c) {
        return (PolicyIdentity) {
                .uid = c->uid,
                .gid = c->gid,
                .groups = c->groups,
                .n_groups = c->n_groups,
                .cgroup = c->cgroup,
                .label = c->label,
        };
}

static PolicyDevice policy_device_of(const PciDevice *d) {
        return (PolicyDevice) {
                .bdf = d->bdf,
                .vendor = (uint16_t) d->vendor,
                .device = (uint16_t) d->device,
                .class_code = d->class_code,
                .iommu_group = d->iommu_group,
        };
}

/* The grant that lets @c lease @d with @irq_mask, or NULL and why. */
static const Grant *decide(Connection *c, const PciDevice *d, unsigned irq_mask, char *why, size_t size) {
        PolicyIdentity id = identity_of(c);
        PolicyDevice pd = policy_device_of(d);

        return policy_decide(&c->broker->policy, &id, &pd, irq_mask, why, size);
}

/* ---- Hello ---- */

static bool printable(const char *s) {
        for (; *s; s++)
                if (!isprint((unsigned char) *s))
                        return false;
        return true;
}

static int handle_hello(Connection *c, const Vfiobroker__Request *req, Reply *reply) {
        static const char *const features[] = {
                "acquire", "release", "device-info", "quarantine",
                "irq-intx", "irq-msi", "irq-msix", "irq-err", "irq-req",
        };
        const Vfiobroker__HelloRequest *hello = req->hello;
        Vfiobroker__HelloReply *r;

        if (c->said_hello)
                return reply_error(reply, E(PROTOCOL), EPROTO, "Hello was already exchanged"), -EPROTO;
        if (strlen(hello->client_name) > MAX_CLIENT_NAME || !printable(hello->client_name))
                return reply_error(reply, E(INVALID_ARGUMENT), EINVAL,
                                   "client name must be at most %d printable bytes", MAX_CLIENT_NAME);
        if (hello->protocol_version != VFIOBROKER__PROTOCOL_VERSION__PROTOCOL_VERSION_1)
                return reply_error(reply, E(VERSION), EPROTONOSUPPORT,
                                   "protocol version %u is not supported; this broker speaks 1",
                                   hello->protocol_version);

        r = reply_alloc(reply, sizeof(*r));
        if (!r)
                return -ENOMEM;
        vfiobroker__hello_reply__init(r);
        r->protocol_version = VFIOBROKER__PROTOCOL_VERSION__PROTOCOL_VERSION_1;
        r->broker_version = (char *) VFIO_BROKER_VERSION;
        r->features = (char **) features;
        r->n_features = ELEMENTSOF(features);
        reply->msg.result_case = VFIOBROKER__REPLY__RESULT_HELLO;
        reply->msg.hello = r;

        connection_said_hello(c);
        string_copy(c->name, sizeof(c->name), hello->client_name);
        /* Debug only: the name is in every audit record of the connection. */
        log_debug("connection %llu: hello from \"%s\"", (unsigned long long) c->id, c->name);
        return 0;
}

/* ---- ListDevices ---- */

static int handle_list_devices(Connection *c, const Vfiobroker__Request *req, Reply *reply) {
        _cleanup_free_ PciDevice *all = NULL;
        Vfiobroker__ListDevicesReply *r;
        size_t n, n_allowed = 0;
        int e;

        e = sysfs_list_devices(c->broker->config.sysfs_root, &all, &n);
        if (e < 0)
                return reply_error(reply, E(INTERNAL), -e, "cannot read PCI devices from sysfs: %s", strerror(-e));
        r = reply_alloc(reply, sizeof(*r));
        if (!r)
                return -ENOMEM;
        vfiobroker__list_devices_reply__init(r);
        r->devices = reply_alloc(reply, sizeof(*r->devices) * (n ? n : 1));
        if (!r->devices)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (!device_listed(&all[i], all, n))
                        continue;
                r->devices[r->n_devices] = device_view(c->broker, &all[i], reply);
                if (!r->devices[r->n_devices] || mark_allowed(c, &all[i], r->devices[r->n_devices], reply) < 0)
                        return -ENOMEM;
                n_allowed += r->devices[r->n_devices]->allowed;
                r->n_devices++;
        }
        log_debug("uid %u pid %u listed %zu devices; the policy lets it lease %zu", (unsigned) c->uid,
                 (unsigned) c->pid, r->n_devices, n_allowed);
        reply->msg.result_case = VFIOBROKER__REPLY__RESULT_LIST_DEVICES;
        reply->msg.list_devices = r;
        return 0;
}

/* ---- Acquire ---- */

typedef struct IrqWant {
        uint32_t index;                 /* VFIO_PCI_*_IRQ_INDEX */
        uint32_t count;
        Vfiobroker__IrqType type;
} IrqWant;

typedef struct DeviceWant {
        PciDevice pci;
        const Grant *grant;             /* once authorized */
        IrqWant irqs[VFIO_PCI_NUM_IRQS];
        size_t n_irqs;
        Group *group;                   /* once attached */
        int fd;
        /* The devices of its group, read by the viability check when no lease holds the group. */
        char (*members)[BDF_STRLEN + 1];
        size_t n_members;
} DeviceWant;

static const char *irq_type_name(Vfiobroker__IrqType t) {
        switch (t) {
        case VFIOBROKER__IRQ_TYPE__IRQ_INTX: return "INTx";
        case VFIOBROKER__IRQ_TYPE__IRQ_MSI: return "MSI";
        case VFIOBROKER__IRQ_TYPE__IRQ_MSIX: return "MSI-X";
        case VFIOBROKER__IRQ_TYPE__IRQ_ERR: return "err";
        case VFIOBROKER__IRQ_TYPE__IRQ_REQ: return "req";
        default: return "unknown";
        }
}

static int irq_index(Vfiobroker__IrqType t, uint32_t *ret) {
        switch (t) {
        case VFIOBROKER__IRQ_TYPE__IRQ_INTX: *ret = VFIO_PCI_INTX_IRQ_INDEX; return 0;
        case VFIOBROKER__IRQ_TYPE__IRQ_MSI: *ret = VFIO_PCI_MSI_IRQ_INDEX; return 0;
        case VFIOBROKER__IRQ_TYPE__IRQ_MSIX: *ret = VFIO_PCI_MSIX_IRQ_INDEX; return 0;
        case VFIOBROKER__IRQ_TYPE__IRQ_ERR: *ret = VFIO_PCI_ERR_IRQ_INDEX; return 0;
        case VFIOBROKER__IRQ_TYPE__IRQ_REQ: *ret = VFIO_PCI_REQ_IRQ_INDEX; return 0;
        default: return -EINVAL;
        }
}

/* Validate the IRQs asked for one device; counts the fds they will take. */
static int parse_irqs(const Vfiobroker__DeviceRequest *dr, const char *bdf, DeviceWant *w,
                      size_t *n_fds, Reply *reply) {
        unsigned line_based = 0;

        if (dr->n_irqs > VFIO_PCI_NUM_IRQS)
                return reply_error(reply, E(INVALID_ARGUMENT), EINVAL, "%s: too many IRQ requests", bdf), -EINVAL;
        for (size_t j = 0; j < dr->n_irqs; j++) {
                const Vfiobroker__IrqRequest *ir = dr->irqs[j];
                IrqWant *iw = &w->irqs[w->n_irqs];
                bool single = ir->type == VFIOBROKER__IRQ_TYPE__IRQ_INTX ||
                              ir->type == VFIOBROKER__IRQ_TYPE__IRQ_ERR ||
                              ir->type == VFIOBROKER__IRQ_TYPE__IRQ_REQ;

                if (irq_index(ir->type, &iw->index) < 0)
                        return reply_error(reply, E(INVALID_ARGUMENT), EINVAL, "%s: unknown IRQ type %d",
                                           bdf, ir->type), -EINVAL;
                iw->type = ir->type;
                iw->count = ir->count ? ir->count : 1;
                if ((single && iw->count != 1) || iw->count > MAX_VECTORS)
                        return reply_error(reply, E(INVALID_ARGUMENT), EINVAL, "%s: %u %s vectors cannot be had",
                                           bdf, iw->count, irq_type_name(ir->type)), -EINVAL;
                for (size_t k = 0; k < w->n_irqs; k++)
                        if (w->irqs[k].index == iw->index)
                                return reply_error(reply, E(INVALID_ARGUMENT), EINVAL,
                                                   "%s: %s requested twice", bdf, irq_type_name(ir->type)), -EINVAL;
                if (iw->index <= VFIO_PCI_MSIX_IRQ_INDEX && ++line_based > 1)
                        return reply_error(reply, E(INVALID_ARGUMENT), EINVAL,
                                           "%s: INTx, MSI and MSI-X exclude each other", bdf), -EINVAL;
                *n_fds += iw->count + (iw->index == VFIO_PCI_INTX_IRQ_INDEX ? 1 : 0);
                w->n_irqs++;
        }
        return 0;
}

/* -EDQUOT, with the reply saying why, if @n_fds more fds would pass the uid's fds-in-flight limit. */
static int check_fd_budget(Connection *c, size_t n_fds, Reply *reply) {
        if (n_fds <= connection_fd_budget(c))
                return 0;
        return reply_error(reply, E(LIMIT), EDQUOT,
                           "uid %u has %u fds sent but not yet received, %zu more would pass the limit of %u; "
                           "read the replies first", (unsigned) c->uid, c->user->fds_in_flight, n_fds,
                           c->broker->config.max_fds_in_flight), -EDQUOT;
}

/* Everything about the request that can be checked without touching a device. */
static int acquire_validate(Connection *c, const Vfiobroker__AcquireRequest *a, Lease *lease,
                            DeviceWant *wants, Reply *reply) {
        Broker *b = c->broker;
        size_t n_fds = 1;
        char why[256];
        int r;

        if (a->n_devices == 0 || a->n_devices > MAX_DEVICES_PER_ACQUIRE)
                return reply_error(reply, E(INVALID_ARGUMENT), EINVAL,
                                   "an acquire names 1 to %d devices", MAX_DEVICES_PER_ACQUIRE), -EINVAL;

        for (size_t i = 0; i < a->n_devices; i++) {
                const Vfiobroker__DeviceRequest *dr = a->devices[i];
                DeviceWant *w = &wants[i];
                Group *g;
                char bdf[BDF_STRLEN + 1];

                w->fd = -EBADF;
                if (bdf_normalize(dr->bdf, bdf) < 0)
                        return reply_error(reply, E(INVALID_ARGUMENT), EINVAL,
                                           "\"%.32s\" is not a PCI address", dr->bdf), -EINVAL;
                for (size_t k = 0; k < i; k++)
                        if (strcmp(wants[k].pci.bdf, bdf) == 0)
                                return reply_error(reply, E(INVALID_ARGUMENT), EINVAL, "%s named twice", bdf), -EINVAL;
                if (lease && lease_find_device(lease, bdf))
                        return reply_error(reply, E(INVALID_ARGUMENT), EINVAL,
                                           "%s is already in lease %llu", bdf, (unsigned long long) lease->id), -EINVAL;
                r = parse_irqs(dr, bdf, w, &n_fds, reply);
                if (r < 0)
                        return r;
                n_fds++;

                r = device_cache_read_device(b->devices, bdf, &w->pci);
                if (r == -ENODEV)
                        return reply_error(reply, E(UNKNOWN_DEVICE), ENODEV, "no PCI device %s", bdf), r;
                if (r < 0)
                        return reply_error(reply, E(INTERNAL), -r, "%s: reading sysfs: %s", bdf, strerror(-r)), r;
                if (!driver_is_vfio(&w->pci))
                        return reply_error(reply, E(NOT_VFIO), ENXIO,
                                           w->pci.driver[0] ? "%s is bound to %s, not vfio-pci" : "%s has no driver; bind it to vfio-pci",
                                           bdf, w->pci.driver), -ENXIO;
                if (w->pci.iommu_group < 0)
                        return reply_error(reply, E(NOIOMMU), EPERM, "%s has no IOMMU group: is the IOMMU on?", bdf), -EPERM;
                if (w->pci.noiommu && !b->policy.allow_noiommu)
                        return reply_error(reply, E(NOIOMMU), EPERM,
                                           "%s is in no-IOMMU group %d: no DMA isolation; the policy says AllowNoIommu=no",
                                           bdf, w->pci.iommu_group), -EPERM;

                g = broker_find_group(b, w->pci.iommu_group);
                if (g && g->state == GROUP_QUARANTINED)
                        return reply_error(reply, E(QUARANTINED), EBUSY,
                                           "IOMMU group %d of %s is quarantined: a device fd of lease %llu (uid %u) is still open",
                                           g->number, bdf, (unsigned long long) g->lease_id, (unsigned) g->uid), -EBUSY;
                if (g && g->lease != lease)
                        return reply_error(reply, E(BUSY), EBUSY,
                                           "%s is busy: IOMMU group %d is held by lease %llu of uid %u",
                                           bdf, g->number, (unsigned long long) g->lease_id, (unsigned) g->uid), -EBUSY;
                if (!g && group_check_viable(b, w->pci.iommu_group, &w->pci, &w->members, &w->n_members,
                                             why, sizeof(why)) < 0)
                        return reply_error(reply, E(GROUP_NOT_VIABLE), EPERM, "%s: %s", bdf, why), -EPERM;
        }
        if (n_fds > VFIO_BROKER_MAX_FDS)
                return reply_error(reply, E(LIMIT), EMSGSIZE, "the reply would carry %zu fds, more than %d",
                                   n_fds, VFIO_BROKER_MAX_FDS), -EMSGSIZE;
        return check_fd_budget(c, n_fds, reply);
}

static unsigned irq_mask_of(const DeviceWant *w) {
        unsigned mask = 0;

        for (size_t i = 0; i < w->n_irqs; i++)
                mask |= 1u << (w->irqs[i].type - VFIOBROKER__IRQ_TYPE__IRQ_INTX);
        return mask;
}

/*
 * The policy's word on every device of the request: a grant each, MaxDevices
 * across the uid's leases, ResetRequired for groups someone else used, and
 * the host's interrupt isolation.  *ret_memlock: the largest MemlockLimit.
 */
static int acquire_authorize(Connection *c, const Vfiobroker__AcquireRequest *a, DeviceWant *wants,
                             uint64_t *ret_memlock, Reply *reply) {
        Broker *b = c->broker;
        size_t held = broker_devices_of_uid(b, c->uid);
        uint64_t memlock = 0;
        char why[384];

        if (!b->policy.allow_unsafe_interrupts && !b->interrupt_remapping &&
            sysfs_unsafe_interrupts_allowed(b->config.sysfs_root))
                return reply_error(reply, E(NO_INTERRUPT_REMAPPING), EPERM,
                                   "this host has no interrupt remapping; vfio_iommu_type1.allow_unsafe_interrupts "
                                   "is on but the policy says AllowUnsafeInterrupts=no"), -EPERM;
        for (size_t i = 0; i < a->n_devices; i++) {
                DeviceWant *w = &wants[i];
                const UsedGroup *used;

                w->grant = decide(c, &w->pci, irq_mask_of(w), why, sizeof(why));
                if (!w->grant)
                        return reply_error(reply, E(DENIED), EACCES, "%s denied: %s", w->pci.bdf, why), -EACCES;
                if (w->grant->has_max_devices && held + a->n_devices > w->grant->max_devices)
                        return reply_error(reply, E(LIMIT), EDQUOT,
                                           "%s denied: uid %u holds %zu device(s) and asks for %zu more; grant \"%s\" "
                                           "allows %u", w->pci.bdf, (unsigned) c->uid, held, a->n_devices,
                                           w->grant->name, w->grant->max_devices), -EDQUOT;
                used = broker_find_used_group(b, w->pci.iommu_group);
                if (b->policy.reset_required && used && used->uid != c->uid &&
                    !broker_find_group(b, w->pci.iommu_group))
                        return reply_error(reply, E(DENIED), EACCES,
                                           "%s denied: IOMMU group %d was last held by uid %u and could not be reset; "
                                           "ResetRequired=yes keeps it from other users", w->pci.bdf,
                                           w->pci.iommu_group, (unsigned) used->uid), -EACCES;
                if (w->grant->has_memlock && w->grant->memlock > memlock)
                        memlock = w->grant->memlock;
        }
        *ret_memlock = memlock;
        return 0;
}

/* The kernel refused to attach a group or set the IOMMU: say why in its terms. */
static int attach_error(Broker *b, int group, int err, Reply *reply) {
        if (err == -EPERM && !sysfs_unsafe_interrupts_allowed(b->config.sysfs_root))
                return reply_error(reply, E(NO_INTERRUPT_REMAPPING), EPERM,
                                   "IOMMU group %d: the kernel refused the type1 IOMMU (EPERM): this host has no "
                                   "interrupt remapping and vfio_iommu_type1.allow_unsafe_interrupts is off", group);
        return reply_error(reply, E(INTERNAL), -err, "IOMMU group %d: attaching it to the container: %s",
                           group, strerror(-err));
}

/* Open and attach the group of @w to the lease's container, unless the lease has it. */
static int acquire_group(Lease *lease, DeviceWant *w, Group **new_groups, size_t *n_new, Reply *reply) {
        Broker *b = lease->broker;
        int number = w->pci.iommu_group;
        _cleanup_close_ int fd = -EBADF;
        Group *g;
        int r;

        g = broker_find_group(b, number);
        if (g) {
                w->group = g; /* validated: it is this lease's */
                return 0;
        }
        /* Not EBUSY from our own FD store: a release waits for systemd to close the group (persist.c). */
        r = vfio_group_open(number, &fd);
        if (r == -EBUSY)
                return reply_error(reply, E(BUSY), EBUSY,
                                   "IOMMU group %d of %s is held open outside the broker", number, w->pci.bdf);
        if (r < 0)
                return reply_error(reply, E(INTERNAL), -r, "opening /dev/vfio/%d: %s", number, strerror(-r));
        r = vfio_group_viable(fd);
        if (r <= 0)
                return reply_error(reply, E(GROUP_NOT_VIABLE), EPERM,
                                   "the kernel reports IOMMU group %d not viable", number);
        r = vfio_group_set_container(fd, lease->container_fd);
        if (r < 0)
                return attach_error(b, number, r, reply);
        if (lease->n_groups == 0 && *n_new == 0) {
                r = vfio_container_set_iommu(lease->container_fd);
                if (r < 0) {
                        (void) vfio_group_unset_container(fd);
                        return attach_error(b, number, r, reply);
                }
        }
        r = group_new(b, number, fd, w->members, w->n_members, &g);
        if (r < 0)
                return -ENOMEM;
        TAKE_FD(fd);
        w->members = NULL;
        g->lease_id = lease->id;
        g->uid = lease->uid;
        new_groups[(*n_new)++] = g;
        w->group = g;
        return 0;
}

static int make_eventfds(int *fds, uint32_t n) {
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

/* Keep @fd with @d (which takes it) and lend it to the reply. */
static int hand_out_eventfd(LeasedDevice *d, int fd, Vfiobroker__FdKind kind, Vfiobroker__IrqType type,
                            uint32_t vector, Reply *reply) {
        int r;

        r = leased_device_keep_eventfd(d, fd, kind, type, vector);
        if (r < 0) {
                reply_error(reply, E(LIMIT), -r, "cannot keep the eventfd of %s: %s", d->bdf, strerror(-r));
                return r;
        }
        return reply_add_fd(reply, fd, kind, d->bdf, type, vector);
}

/* Route the IRQs asked for to fresh eventfds, handing them to the reply. */
static int acquire_irqs(DeviceWant *w, LeasedDevice *d, Reply *reply) {
        const char *bdf = w->pci.bdf;

        for (size_t i = 0; i < w->n_irqs; i++) {
                const IrqWant *iw = &w->irqs[i];
                struct vfio_irq_info info;
                _cleanup_free_ int *fds = NULL;
                int unmask = -EBADF, r;

                r = vfio_device_get_irq_info(w->fd, iw->index, &info);
                if (r < 0 || info.count < iw->count)
                        return reply_error(reply, E(IRQ), ENOTSUP, "%s offers %u %s vector(s), %u requested",
                                           bdf, r < 0 ? 0 : info.count, irq_type_name(iw->type), iw->count);
                fds = calloc(iw->count, sizeof(int));
                if (!fds)
                        return -ENOMEM;
                r = make_eventfds(fds, iw->count);
                if (r < 0)
                        return reply_error(reply, E(INTERNAL), -r, "eventfd: %s", strerror(-r));
                r = vfio_device_set_irq_eventfds(w->fd, iw->index, VFIO_IRQ_SET_ACTION_TRIGGER, fds, iw->count);
                if (r >= 0 && iw->index == VFIO_PCI_INTX_IRQ_INDEX) {
                        r = make_eventfds(&unmask, 1);
                        if (r >= 0)
                                r = vfio_device_set_irq_eventfds(w->fd, iw->index, VFIO_IRQ_SET_ACTION_UNMASK, &unmask, 1);
                }
                if (r < 0) {
                        close_many(fds, iw->count);
                        safe_close(unmask);
                        return reply_error(reply, E(IRQ), -r, "%s: setting up %s: %s", bdf,
                                           irq_type_name(iw->type), strerror(-r));
                }
                d->irq_indices |= 1u << iw->index;
                for (uint32_t v = 0; v < iw->count; v++) {
                        r = hand_out_eventfd(d, fds[v], VFIOBROKER__FD_KIND__FD_IRQ, iw->type, v, reply);
                        fds[v] = -EBADF;
                        if (r < 0) {
                                close_many(fds, iw->count);
                                safe_close(unmask);
                                return r;
                        }
                }
                if (unmask >= 0) {
                        r = hand_out_eventfd(d, unmask, VFIOBROKER__FD_KIND__FD_UNMASK,
                                             VFIOBROKER__IRQ_TYPE__IRQ_INTX, 0, reply);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Open the device, set up its IRQs, add its fds to the reply. */
static int acquire_device(DeviceWant *w, LeasedDevice *ret, Reply *reply) {
        LeasedDevice d = { .group = w->group, .fd = -EBADF };
        int r;

        string_copy(d.bdf, sizeof(d.bdf), w->pci.bdf);
        r = vfio_group_get_device(w->group->fd, w->pci.bdf, &d.fd);
        if (r < 0)
                return reply_error(reply, E(INTERNAL), -r, "VFIO_GROUP_GET_DEVICE_FD %s: %s", w->pci.bdf, strerror(-r));
        w->fd = d.fd;
        if (reply_add_fd(reply, d.fd, VFIOBROKER__FD_KIND__FD_DEVICE, w->pci.bdf, 0, 0) < 0) {
                safe_close(d.fd);
                return reply_error(reply, E(LIMIT), EMFILE, "cannot pass the device fd of %s", w->pci.bdf);
        }
        r = acquire_irqs(w, &d, reply);
        if (r < 0 || reply_failed(reply)) {
                *ret = d;
                return r < 0 ? r : -EIO;
        }
        *ret = d;
        return 0;
}

static void acquire_rollback(LeasedDevice *devices, size_t n_devices, Group **groups, size_t n_groups) {
        for (size_t i = 0; i < n_devices; i++)
                leased_device_teardown(&devices[i]);
        for (size_t i = 0; i < n_groups; i++) {
                (void) vfio_group_unset_container(groups[i]->fd);
                group_free(groups[i]);
        }
}

static int acquire_reply(Lease *lease, Reply *reply) {
        Vfiobroker__AcquireReply *r;
        size_t n = 0;

        r = reply_alloc(reply, sizeof(*r));
        if (!r)
                return -ENOMEM;
        vfiobroker__acquire_reply__init(r);
        r->lease_id = lease->id;
        for (size_t i = 0; i < lease->n_groups; i++) {
                const Group *g = lease->groups[i];
                char **p;

                p = reply_alloc(reply, sizeof(char *) * (n + g->n_members));
                if (!p)
                        return -ENOMEM;
                if (n > 0)
                        memcpy(p, r->reserved, sizeof(char *) * n);
                for (size_t k = 0; k < g->n_members; k++) {
                        p[n] = reply_strdup(reply, g->members[k]);
                        if (!p[n])
                                return -ENOMEM;
                        n++;
                }
                r->reserved = p;
        }
        r->n_reserved = n;
        reply->msg.result_case = VFIOBROKER__REPLY__RESULT_ACQUIRE;
        reply->msg.acquire = r;
        return 0;
}

static int acquire(Connection *c, const Vfiobroker__AcquireRequest *a, DeviceWant *wants, Reply *reply) {
        LeasedDevice devices[MAX_DEVICES_PER_ACQUIRE];
        Group *new_groups[MAX_DEVICES_PER_ACQUIRE];
        size_t n_devices = 0, n_new = 0;
        Lease *lease = NULL;
        bool new_lease = false;
        uint64_t memlock = 0;
        int r;

        /* validate */
        if (a->lease_id != 0) {
                lease = connection_find_lease(c, a->lease_id);
                if (!lease)
                        return reply_error(reply, E(UNKNOWN_LEASE), ENOENT,
                                           "this connection holds no lease %llu", (unsigned long long) a->lease_id);
        }
        if (acquire_validate(c, a, lease, wants, reply) < 0)
                return 0;
        /* authorize */
        r = acquire_authorize(c, a, wants, &memlock, reply);
        if (r < 0) {
                log_audit(LOG_NOTICE,
                          &AUDIT_RECORD(AUDIT_DENY, .has_client = true, .uid = c->uid, .pid = c->pid,
                                        .cgroup = c->cgroup, .client_name = c->name),
                          "DENY uid %u pid %u cgroup %s: %s", (unsigned) c->uid, (unsigned) c->pid, c->cgroup,
                          reply->error.message);
                return 0;
        }

        if (!lease && c->user->n_leases >= c->broker->config.max_leases_per_uid)
                return reply_error(reply, E(LIMIT), EDQUOT, "uid %u holds %u leases, the most allowed",
                                   (unsigned) c->uid, c->user->n_leases);

        /* act */
        if (!lease) {
                r = lease_new(c, &lease);
                if (r < 0)
                        return reply_error(reply, E(INTERNAL), -r, "out of memory");
                new_lease = true;
                r = vfio_container_open(&lease->container_fd);
                if (r < 0) {
                        reply_error(reply, E(INTERNAL), -r, "opening /dev/vfio/vfio: %s", strerror(-r));
                        goto fail;
                }
        }
        if (memlock > lease->memlock) {
                r = lease_apply_memlock(lease, memlock);
                if (r < 0) {
                        reply_error(reply, E(INTERNAL), -r, "setting the client's RLIMIT_MEMLOCK: %s", strerror(-r));
                        goto fail;
                }
        }
        r = reply_add_fd(reply, lease->container_fd, VFIOBROKER__FD_KIND__FD_CONTAINER, NULL, 0, 0);
        if (r < 0) {
                reply_error(reply, E(LIMIT), EMFILE, "cannot pass the container fd");
                goto fail;
        }
        for (size_t i = 0; i < a->n_devices; i++) {
                r = acquire_group(lease, &wants[i], new_groups, &n_new, reply);
                if (r < 0 || reply_failed(reply))
                        goto fail;
                devices[n_devices] = (LeasedDevice) { .fd = -EBADF };
                r = acquire_device(&wants[i], &devices[n_devices], reply);
                if (devices[n_devices].fd >= 0)
                        n_devices++;
                if (r < 0 || reply_failed(reply))
                        goto fail;
        }

        /* commit, then reply */
        for (size_t i = 0; i < n_new; i++)
                if (lease_add_group(lease, new_groups[i]) < 0)
                        goto oom;
        for (size_t i = 0; i < n_devices; i++)
                if (lease_add_device(lease, &devices[i]) < 0)
                        goto oom;
        r = acquire_reply(lease, reply);
        if (r < 0)
                goto oom;
        if (c->broker->hooks && c->broker->hooks->lease_acquired)
                c->broker->hooks->lease_acquired(lease, c->broker->hooks_userdata);
        broker_state_changed(c->broker);
        for (size_t i = 0; i < a->n_devices; i++)
                log_audit(LOG_INFO,
                          &AUDIT_RECORD(AUDIT_GRANT, .lease = lease->id, .has_client = true, .uid = c->uid,
                                        .pid = c->pid, .cgroup = c->cgroup, .client_name = c->name,
                                        .device = wants[i].pci.bdf, .has_group = true, .group = wants[i].pci.iommu_group,
                                        .grant = wants[i].grant->name),
                          "GRANT lease %llu: %s (group %d) to uid %u pid %u cgroup %s \"%s\" by grant \"%s\"",
                          (unsigned long long) lease->id, wants[i].pci.bdf, wants[i].pci.iommu_group,
                          (unsigned) c->uid, (unsigned) c->pid, c->cgroup, c->name, wants[i].grant->name);
        return 0;

oom:
        /* Committed parts belong to the lease now: release it whole. */
        reply_error(reply, E(INTERNAL), ENOMEM, "out of memory");
        lease_release(lease, "out of memory while acquiring");
        return 0;
fail:
        if (!reply_failed(reply))
                reply_error(reply, E(INTERNAL), -r, "acquire failed: %s", strerror(r < 0 ? -r : EIO));
        log_notice("uid %u pid %u: acquire failed: %s", (unsigned) c->uid, (unsigned) c->pid, reply->error.message);
        acquire_rollback(devices, n_devices, new_groups, n_new);
        if (new_lease)
                lease_release(lease, "acquire failed");
        return 0;
}

static int handle_acquire(Connection *c, const Vfiobroker__Request *req, Reply *reply) {
        DeviceWant wants[MAX_DEVICES_PER_ACQUIRE] = {};
        int r;

        r = acquire(c, req->acquire, wants, reply);
        for (size_t i = 0; i < ELEMENTSOF(wants); i++)
                free(wants[i].members);
        return r;
}

/* ---- Release ---- */

static int handle_release(Connection *c, const Vfiobroker__Request *req, Reply *reply) {
        Vfiobroker__ReleaseReply *r;
        int numbers[64];
        size_t n = 0;
        Lease *lease;

        lease = connection_find_lease(c, req->release->lease_id);
        if (!lease)
                return reply_error(reply, E(UNKNOWN_LEASE), ENOENT, "this connection holds no lease %llu",
                                   (unsigned long long) req->release->lease_id);
        r = reply_alloc(reply, sizeof(*r));
        if (!r)
                return -ENOMEM;
        vfiobroker__release_reply__init(r);
        for (size_t i = 0; i < lease->n_groups && n < ELEMENTSOF(numbers); i++)
                numbers[n++] = lease->groups[i]->number;

        lease_release(lease, "released by the client");

        for (size_t i = 0; i < n; i++)
                if (broker_find_group(c->broker, numbers[i]))
                        r->quarantined = true;
        reply->msg.result_case = VFIOBROKER__REPLY__RESULT_RELEASE;
        reply->msg.release = r;
        return 0;
}

/* ---- FetchLease ---- */

/* @fd of the lease into the reply; false (the reply turned into an error) if it does not fit. */
static bool add_lease_fd(Reply *reply, int fd, Vfiobroker__FdKind kind, const char *bdf, Vfiobroker__IrqType type,
                         uint32_t vector) {
        if (reply_add_fd(reply, fd, kind, bdf, type, vector) < 0) {
                reply_error(reply, E(LIMIT), EMSGSIZE, "the lease has more fds than a reply carries (%d)",
                            VFIO_BROKER_MAX_FDS);
                return false;
        }
        return true;
}

static int handle_fetch_lease(Connection *c, const Vfiobroker__Request *req, Reply *reply) {
        Vfiobroker__FetchLeaseReply *r;
        size_t n_fds = 1;
        Lease *lease;

        lease = connection_find_lease(c, req->fetch_lease->lease_id);
        if (!lease)
                return reply_error(reply, E(UNKNOWN_LEASE), ENOENT, "this connection holds no lease %llu",
                                   (unsigned long long) req->fetch_lease->lease_id);
        for (size_t i = 0; i < lease->n_devices; i++)
                n_fds += 1 + lease->devices[i].n_eventfds;
        if (check_fd_budget(c, n_fds, reply) < 0)
                return 0;

        r = reply_alloc(reply, sizeof(*r));
        if (!r)
                return -ENOMEM;
        vfiobroker__fetch_lease_reply__init(r);
        r->lease_id = lease->id;
        if (!add_lease_fd(reply, lease->container_fd, VFIOBROKER__FD_KIND__FD_CONTAINER, NULL, 0, 0))
                return 0;
        for (size_t i = 0; i < lease->n_devices; i++) {
                const LeasedDevice *d = &lease->devices[i];

                if (!add_lease_fd(reply, d->fd, VFIOBROKER__FD_KIND__FD_DEVICE, d->bdf, 0, 0))
                        return 0;
                for (size_t k = 0; k < d->n_eventfds; k++)
                        if (!add_lease_fd(reply, d->eventfds[k].fd, d->eventfds[k].kind, d->bdf, d->eventfds[k].irq_type,
                                      d->eventfds[k].vector))
                                return 0;
        }
        reply->msg.result_case = VFIOBROKER__REPLY__RESULT_FETCH_LEASE;
        reply->msg.fetch_lease = r;
        return 0;
}

/* ---- DeviceInfo ---- */

static int fill_device_info(int device_fd, Vfiobroker__DeviceInfoReply *r, Reply *reply) {
        struct vfio_device_info info;
        int e;

        e = vfio_device_get_info(device_fd, &info);
        if (e < 0)
                return e;
        r->flags = info.flags;
        r->regions = reply_alloc(reply, sizeof(*r->regions) * (info.num_regions + 1));
        r->irqs = reply_alloc(reply, sizeof(*r->irqs) * (info.num_irqs + 1));
        if (!r->regions || !r->irqs || info.num_regions > 64 || info.num_irqs > 64)
                return -ENOMEM;
        for (uint32_t i = 0; i < info.num_regions; i++) {
                struct vfio_region_info ri;
                Vfiobroker__RegionInfo *v;

                if (vfio_device_get_region_info(device_fd, i, &ri) < 0)
                        continue;
                v = reply_alloc(reply, sizeof(*v));
                if (!v)
                        return -ENOMEM;
                vfiobroker__region_info__init(v);
                v->index = ri.index;
                v->flags = ri.flags;
                v->size = ri.size;
                v->offset = ri.offset;
                r->regions[r->n_regions++] = v;
        }
        for (uint32_t i = 0; i < info.num_irqs; i++) {
                struct vfio_irq_info ii;
                Vfiobroker__IrqInfo *v;

                if (vfio_device_get_irq_info(device_fd, i, &ii) < 0)
                        continue;
                v = reply_alloc(reply, sizeof(*v));
                if (!v)
                        return -ENOMEM;
                vfiobroker__irq_info__init(v);
                v->index = ii.index;
                v->flags = ii.flags;
                v->count = ii.count;
                r->irqs[r->n_irqs++] = v;
        }
        return 0;
}

/* A free group: attach it to a container of our own just long enough to ask. */
static int device_info_transient(Broker *b, const PciDevice *d, Vfiobroker__DeviceInfoReply *r, Reply *reply) {
        _cleanup_close_ int container = -EBADF, group = -EBADF, dev = -EBADF;
        int e;

        e = vfio_group_open(d->iommu_group, &group);
        if (e == -EBUSY)
                return reply_error(reply, E(BUSY), EBUSY, "IOMMU group %d of %s is held open outside the broker",
                                   d->iommu_group, d->bdf);
        if (e >= 0)
                e = vfio_container_open(&container);
        if (e >= 0)
                e = vfio_group_set_container(group, container);
        if (e < 0)
                return attach_error(b, d->iommu_group, e, reply);
        e = vfio_container_set_iommu(container);
        if (e >= 0)
                e = vfio_group_get_device(group, d->bdf, &dev);
        if (e >= 0)
                e = fill_device_info(dev, r, reply);
        dev = safe_close(dev);
        (void) vfio_group_unset_container(group);
        if (e < 0)
                return reply_error(reply, E(INTERNAL), -e, "%s: querying VFIO: %s", d->bdf, strerror(-e));
        return 0;
}

static int handle_device_info(Connection *c, const Vfiobroker__Request *req, Reply *reply) {
        Broker *b = c->broker;
        Vfiobroker__DeviceInfoReply *r;
        LeasedDevice *leased = NULL;
        char bdf[BDF_STRLEN + 1], why[256];
        PciDevice d;
        Group *g;
        int e;

        if (bdf_normalize(req->device_info->bdf, bdf) < 0)
                return reply_error(reply, E(INVALID_ARGUMENT), EINVAL, "\"%.32s\" is not a PCI address",
                                   req->device_info->bdf);
        e = sysfs_read_device(b->config.sysfs_root, bdf, &d);
        if (e < 0)
                return reply_error(reply, E(UNKNOWN_DEVICE), ENODEV, "no PCI device %s", bdf);
        r = reply_alloc(reply, sizeof(*r));
        if (!r)
                return -ENOMEM;
        vfiobroker__device_info_reply__init(r);
        r->device = device_view(b, &d, reply);
        if (!r->device || mark_allowed(c, &d, r->device, reply) < 0)
                return -ENOMEM;

        if (driver_is_vfio(&d) && d.iommu_group >= 0 && !d.noiommu) {
                g = broker_find_group(b, d.iommu_group);
                for (Lease *l = LIST_FIRST(&c->leases); l && !leased; l = LIST_NEXT(l, link))
                        leased = lease_find_device(l, bdf);
                if (leased)
                        e = fill_device_info(leased->fd, r, reply);
                else if (!g && decide(c, &d, 0, why, sizeof(why)) && group_check_viable(b, d.iommu_group, &d, NULL, NULL, why, sizeof(why)) >= 0)
                        e = device_info_transient(b, &d, r, reply);
                /* else: leased by another or not viable: the sysfs view alone */
                if (e < 0)
                        return reply_error(reply, E(INTERNAL), -e, "%s: querying VFIO: %s", bdf, strerror(-e));
                if (reply_failed(reply))
                        return 0;
        }
        reply->msg.result_case = VFIOBROKER__REPLY__RESULT_DEVICE_INFO;
        reply->msg.device_info = r;
        return 0;
}

/* ---- dispatch ---- */

static const struct {
        Vfiobroker__Request__OpCase op;
        const char *name;
        Handler handler;
        bool needs_hello;
} handlers[] = {
        { VFIOBROKER__REQUEST__OP_HELLO,        "Hello",       handle_hello,        false },
        { VFIOBROKER__REQUEST__OP_LIST_DEVICES, "ListDevices", handle_list_devices, true },
        { VFIOBROKER__REQUEST__OP_ACQUIRE,      "Acquire",     handle_acquire,      true },
        { VFIOBROKER__REQUEST__OP_RELEASE,      "Release",     handle_release,      true },
        { VFIOBROKER__REQUEST__OP_DEVICE_INFO,  "DeviceInfo",  handle_device_info,  true },
        { VFIOBROKER__REQUEST__OP_FETCH_LEASE,  "FetchLease",  handle_fetch_lease,  true },
};

int dispatch_request(Connection *c, const Vfiobroker__Request *req, Reply *reply) {
        for (size_t i = 0; i < ELEMENTSOF(handlers); i++) {
                int r;

                if (handlers[i].op != req->op_case)
                        continue;
                if (handlers[i].needs_hello && !c->said_hello) {
                        reply_error(reply, E(PROTOCOL), EPROTO, "%s before Hello", handlers[i].name);
                        return -EPROTO;
                }
                r = handlers[i].handler(c, req, reply);
                if (r == -ENOMEM)
                        reply_error(reply, E(INTERNAL), ENOMEM, "out of memory");
                return r == -EPROTO ? -EPROTO : 0;
        }
        reply_error(reply, E(PROTOCOL), EPROTO, "unknown request");
        return -EPROTO;
}
