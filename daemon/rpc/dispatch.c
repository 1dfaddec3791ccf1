/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The requests: a const table of what each needs before it may run.  An
 * unknown request, or one not permitted yet, is a protocol violation.
 */
#include "rpc/dispatch.h"

#include <errno.h>

#include "common/util.h"
#include "rpc/error.h"

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
        { VFIOBROKER__REQUEST__OP_PING,         "Ping",        handle_ping,         true },
};

int dispatch_request(Session *s, const Vfiobroker__Request *req, Reply *reply) {
        for (size_t i = 0; i < ELEMENTSOF(handlers); i++) {
                BrokerError err = {};
                int r;

                if (handlers[i].op != req->op_case)
                        continue;
                if (handlers[i].needs_hello && !s->connection->said_hello) {
                        reply_set_code(reply, RPC_E_PROTOCOL, "%s before Hello", handlers[i].name);
                        return -EPROTO;
                }
                r = handlers[i].handler(s, req, reply, &err);
                if (r == RPC_DEFERRED)
                        return 1;
                if (r != 0)
                        reply_set_error(reply, r, &err);
                return r == RPC_E_PROTOCOL ? -EPROTO : 0;
        }
        reply_set_code(reply, RPC_E_PROTOCOL, "unknown request");
        return -EPROTO;
}
