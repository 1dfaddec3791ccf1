/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "broker.h"
#include "reply.h"
#include "sysfs.h"
#include "vfio-broker.pb-c.h"

/*
 * Handle one decoded request of @c into @reply.  Returns 0 when the reply is
 * to be sent and the connection kept (the reply may be an error), or
 * -EPROTO when the request was a protocol violation: the reply then holds
 * the error to send before the connection is closed.
 */
int dispatch_request(Connection *c, const Vfiobroker__Request *req, Reply *reply);

/* What a listing says of @d: free, leased, quarantined, or unavailable with @why saying why. */
Vfiobroker__DeviceState broker_device_state(Broker *b, const PciDevice *d, char *why, size_t size);
