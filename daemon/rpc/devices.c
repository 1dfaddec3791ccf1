/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ListDevices and DeviceInfo: the model's device views on the wire. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/devices.h"
#include "common/bdf.h"
#include "common/util.h"
#include "proto/wire.h"
#include "rpc/dispatch.h"
#include "util/log.h"

static Vfiobroker__DeviceState wire_state(DeviceState state) {
        switch (state) {
        case DEVICE_FREE: return VFIOBROKER__DEVICE_STATE__DEVICE_FREE;
        case DEVICE_LEASED: return VFIOBROKER__DEVICE_STATE__DEVICE_LEASED;
        case DEVICE_QUARANTINED: return VFIOBROKER__DEVICE_STATE__DEVICE_QUARANTINED;
        case DEVICE_RESETTING: return VFIOBROKER__DEVICE_STATE__DEVICE_RESETTING;
        case DEVICE_RECALLED: return VFIOBROKER__DEVICE_STATE__DEVICE_RECALLED;
        default: return VFIOBROKER__DEVICE_STATE__DEVICE_UNAVAILABLE;
        }
}

static Vfiobroker__Device *device_to_wire(const DeviceView *d, Reply *reply) {
        Vfiobroker__Device *v;

        v = reply_alloc(reply, sizeof(*v));
        if (!v)
                return NULL;
        vfiobroker__device__init(v);
        v->vendor = d->pci.vendor;
        v->device = d->pci.device;
        v->class_code = d->pci.class_code;
        v->iommu_group = d->pci.iommu_group;
        v->resettable = d->pci.resettable;
        v->noiommu = d->pci.noiommu;
        v->state = wire_state(d->state);
        v->lease_id = d->lease_id;
        v->holder_uid = d->holder_uid;
        v->allowed = d->grant != NULL;
        v->bdf = reply_strdup(reply, d->pci.bdf);
        v->driver = reply_strdup(reply, d->pci.driver);
        v->reason = reply_strdup(reply, d->why);
        v->grant = reply_strdup(reply, d->grant ? d->grant->name : "");
        v->reset = (char *) pci_reset_name(d->pci.reset);
        if (!v->bdf || !v->driver || !v->reason || !v->grant)
                return NULL;
        return v;
}

/* What a device adds to a ListDevicesReply: its tag, its length, itself. */
static size_t device_wire_size(const Vfiobroker__Device *v) {
        size_t size = vfiobroker__device__get_packed_size(v);

        return 1 + (size < 128 ? 1 : size < 16384 ? 2 : 3) + size;
}

/* The room a paged reply's devices have in one packet, beside the envelope (id, tags, more). */
#define LIST_PAGE_BUDGET (VFIO_BROKER_MAX_MESSAGE - 256)

int handle_list_devices(Session *s, const Vfiobroker__Request *req, Reply *reply, BrokerError *err) {
        const Vfiobroker__ListDevicesRequest *q = req->list_devices;
        Connection *c = s->connection;
        _cleanup_free_ PciDevice *devices = NULL;
        Vfiobroker__ListDevicesReply *r;
        char after[BDF_STRLEN + 1] = "";
        size_t n, first = 0, n_allowed = 0, used = 0;
        int e;

        if (q->after && q->after[0] && (!q->paged || bdf_normalize(q->after, after) < 0))
                return broker_error(err, BROKER_E_INVALID, q->paged ? "ListDevices: after is not a PCI address"
                                                                    : "ListDevices: after without paged");
        e = broker_listed_devices(c->broker, after[0] != 0, &devices, &n, err);
        if (e != 0)
                return e;
        /* In address order, and canonical addresses compare as strings do. */
        while (after[0] && first < n && strcmp(devices[first].bdf, after) <= 0)
                first++;
        r = reply_alloc(reply, sizeof(*r));
        if (!r)
                return -ENOMEM;
        vfiobroker__list_devices_reply__init(r);
        r->devices = reply_alloc(reply, sizeof(*r->devices) * (n - first + 1));
        if (!r->devices)
                return -ENOMEM;
        for (size_t i = first; i < n; i++) {
                DeviceView view;
                Vfiobroker__Device *v;

                broker_view_device(c->broker, c, &devices[i], &view);
                v = device_to_wire(&view, reply);
                if (!v)
                        return -ENOMEM;
                if (q->paged && r->n_devices > 0 && used + device_wire_size(v) > LIST_PAGE_BUDGET) {
                        r->more = true;
                        break;
                }
                used += device_wire_size(v);
                r->devices[r->n_devices++] = v;
                n_allowed += view.grant != NULL;
        }
        log_debug("uid %u pid %u listed %zu devices%s; the policy lets it lease %zu of them", (unsigned) c->uid,
                  (unsigned) c->pid, r->n_devices, r->more ? " (one page)" : "", n_allowed);
        reply->msg.result_case = VFIOBROKER__REPLY__RESULT_LIST_DEVICES;
        reply->msg.list_devices = r;
        return 0;
}

static int info_to_wire(const KernelDeviceInfo *info, Vfiobroker__DeviceInfoReply *r, Reply *reply) {
        r->flags = info->flags;
        r->regions = reply_alloc(reply, sizeof(*r->regions) * (info->n_regions + 1));
        r->irqs = reply_alloc(reply, sizeof(*r->irqs) * (info->n_irqs + 1));
        if (!r->regions || !r->irqs)
                return -ENOMEM;
        for (size_t i = 0; i < info->n_regions; i++) {
                Vfiobroker__RegionInfo *v = reply_alloc(reply, sizeof(*v));

                if (!v)
                        return -ENOMEM;
                vfiobroker__region_info__init(v);
                v->index = info->regions[i].index;
                v->flags = info->regions[i].flags;
                v->size = info->regions[i].size;
                v->offset = info->regions[i].offset;
                r->regions[r->n_regions++] = v;
        }
        for (size_t i = 0; i < info->n_irqs; i++) {
                Vfiobroker__IrqInfo *v = reply_alloc(reply, sizeof(*v));

                if (!v)
                        return -ENOMEM;
                vfiobroker__irq_info__init(v);
                v->index = info->irqs[i].index;
                v->flags = info->irqs[i].flags;
                v->count = info->irqs[i].count;
                r->irqs[r->n_irqs++] = v;
        }
        return 0;
}

int handle_device_info(Session *s, const Vfiobroker__Request *req, Reply *reply, BrokerError *err) {
        _cleanup_free_ DeviceDescription *d = malloc(sizeof(*d));
        Vfiobroker__DeviceInfoReply *r;
        int e;

        if (!d)
                return -ENOMEM;
        e = broker_describe_device(s->connection, req->device_info->bdf, d, err);
        if (e != 0)
                return e;
        r = reply_alloc(reply, sizeof(*r));
        if (!r)
                return -ENOMEM;
        vfiobroker__device_info_reply__init(r);
        r->device = device_to_wire(&d->view, reply);
        if (!r->device || (d->has_info && info_to_wire(&d->info, r, reply) < 0))
                return -ENOMEM;
        reply->msg.result_case = VFIOBROKER__REPLY__RESULT_DEVICE_INFO;
        reply->msg.device_info = r;
        return 0;
}
