/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "proto/vfio-broker.pb-c.h"
#include "rpc/reply.h"
#include "rpc/session.h"

/*
 * Handle one decoded request of @s into @reply.  Returns 0 when the reply is
 * to be sent and the connection kept (the reply may be an error), or
 * -EPROTO when the request was a protocol violation: the reply then holds
 * the error to send before the connection is closed.
 */
int dispatch_request(Session *s, const Vfiobroker__Request *req, Reply *reply);

/*
 * A request handler: 0 with the result in @reply, or a positive code
 * (BROKER_E_*, RPC_E_*) or -errno with @err saying why; dispatch turns that
 * into the wire error (rpc/error.c).
 */
typedef int (*Handler)(Session *s, const Vfiobroker__Request *req, Reply *reply, BrokerError *err);

/* hello.c */
int handle_hello(Session *s, const Vfiobroker__Request *req, Reply *reply, BrokerError *err);
int handle_ping(Session *s, const Vfiobroker__Request *req, Reply *reply, BrokerError *err);
/* devices.c */
int handle_list_devices(Session *s, const Vfiobroker__Request *req, Reply *reply, BrokerError *err);
int handle_device_info(Session *s, const Vfiobroker__Request *req, Reply *reply, BrokerError *err);
/* lease.c */
int handle_acquire(Session *s, const Vfiobroker__Request *req, Reply *reply, BrokerError *err);
int handle_release(Session *s, const Vfiobroker__Request *req, Reply *reply, BrokerError *err);
int handle_fetch_lease(Session *s, const Vfiobroker__Request *req, Reply *reply, BrokerError *err);
