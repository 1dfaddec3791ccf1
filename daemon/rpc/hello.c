/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hello: the protocol version, the client's name, what this broker offers; and Ping, which does nothing. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "config.h"
#include "rpc/dispatch.h"
#include "rpc/error.h"
#include "util/log.h"

#define MAX_CLIENT_NAME 64

static bool printable(const char *s) {
        for (; *s; s++)
                if (!isprint((unsigned char) *s))
                        return false;
        return true;
}

int handle_hello(Session *s, const Vfiobroker__Request *req, Reply *reply, BrokerError *err) {
        static const char *const features[] = {
                "acquire", "release", "device-info", "quarantine",
                "irq-intx", "irq-msi", "irq-msix", "irq-err", "irq-req", "backend-iommufd", "backend-vmm",
                "events", "ping", "restart-notice",
        };
        const Vfiobroker__HelloRequest *hello = req->hello;
        Connection *c = s->connection;
        Vfiobroker__HelloReply *r;

        if (c->said_hello)
                return broker_error(err, RPC_E_PROTOCOL, "Hello was already exchanged");
        if (strlen(hello->client_name) > MAX_CLIENT_NAME || !printable(hello->client_name))
                return broker_error(err, BROKER_E_INVALID, "client name must be at most %d printable bytes",
                                    MAX_CLIENT_NAME);
        if (hello->protocol_version != VFIOBROKER__PROTOCOL_VERSION__PROTOCOL_VERSION_1)
                return broker_error(err, RPC_E_VERSION, "protocol version %u is not supported; this broker speaks 1",
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

        c->events = hello->events;
        c->restart_notice = hello->restart_notice;
        session_said_hello(s, hello->client_name);
        /* Debug only: the name is in every audit record of the connection. */
        log_debug("connection %llu: hello from \"%s\"", (unsigned long long) c->id, c->name);
        return 0;
}

int handle_ping(Session *s, const Vfiobroker__Request *req, Reply *reply, BrokerError *err) {
        Vfiobroker__PingReply *r;

        r = reply_alloc(reply, sizeof(*r));
        if (!r)
                return -ENOMEM;
        vfiobroker__ping_reply__init(r);
        reply->msg.result_case = VFIOBROKER__REPLY__RESULT_PING;
        reply->msg.ping = r;
        return 0;
}
