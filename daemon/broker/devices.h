/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Devices as the broker shows them: free, leased, quarantined or unavailable
 * (and why), who holds them, whether the asking connection may lease them,
 * and what VFIO reports of them.
 */

#include "broker/connection.h"
#include "common/sysfs.h"

typedef enum DeviceState {
        DEVICE_FREE,
        DEVICE_LEASED,
        DEVICE_QUARANTINED,
        DEVICE_UNAVAILABLE,
        DEVICE_RESETTING,               /* its lease ended; the broker resets it */
        DEVICE_RECALLED,                /* leased, and the broker wants it back (broker/recall.c) */
} DeviceState;

typedef struct DeviceView {
        PciDevice pci;
        DeviceState state;
        char why[256];                  /* what makes it unavailable; "" otherwise */
        uint64_t lease_id;              /* while its group is held */
        uid_t holder_uid;
        const Grant *grant;             /* what lets the asking connection lease it; NULL: nothing */
} DeviceView;

DeviceState broker_device_state(Broker *b, const PciDevice *d, char *why, size_t size);

/* @d as seen by @asking (NULL: by nobody in particular: no grant). */
void broker_view_device(Broker *b, Connection *asking, const PciDevice *d, DeviceView *ret);

/*
 * What a listing shows, in address order: devices on vfio-pci, the other members of their groups
 * (but bridges), and devices a Managed=yes pool would bind.  Views are made of them one by one
 * (broker_view_device()), as many as a reply holds; @continuing: a later page of a listing
 * (sysfs read once for all of its pages).  Free *ret.
 */
int broker_listed_devices(Broker *b, bool continuing, PciDevice **ret, size_t *ret_n, BrokerError *err);

typedef struct DeviceDescription {
        DeviceView view;
        bool has_info;                  /* VFIO was asked: the device is @asking's, or free for it */
        KernelDeviceInfo info;
} DeviceDescription;

/*
 * Device @bdf (as the client wrote it) for @asking, with what VFIO reports of
 * it when it is leased to @asking, or free and allowed: then the group is
 * attached to a domain of the broker's own just long enough to ask.  *ret is
 * large (the regions and interrupts): the caller provides it.
 */
int broker_describe_device(Connection *asking, const char *bdf, DeviceDescription *ret, BrokerError *err);

/* The kernel refused to attach group @group (@r, a -errno or KERNEL_E_NOT_VIABLE): say why in its terms. */
int broker_attach_error(Broker *b, int group, int r, BrokerError *err);
