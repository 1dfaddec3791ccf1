/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The one table that turns the broker's codes (broker/error.h) and the
 * protocol's own (below) into wire errors: an ErrorCode and the errno a
 * client library returns for it.  Handlers return a code and fill a
 * BrokerError; only this file picks what goes on the wire.
 */

#include "broker/error.h"
#include "rpc/reply.h"

/* The protocol's own refusals, beside the model's. */
/* A handler's "the reply comes later" (the session sends it, and reads nothing more meanwhile). */
#define RPC_DEFERRED (-1000000)

typedef enum RpcCode {
        RPC_E_PROTOCOL = _BROKER_CODE_MAX,      /* a violation: the connection is closed after the reply */
        RPC_E_VERSION,
        RPC_E_HELLO_TIMEOUT,
        RPC_E_REPLY_TOO_LARGE,
} RpcCode;

/*
 * Turn @reply into the error for @r: a positive code (RPC_E_* or BROKER_E_*)
 * or a -errno (a failure of the broker or the kernel), with @err's message
 * (for a -errno without one, what strerror says, or "out of memory").
 */
void reply_set_error(Reply *reply, int r, const BrokerError *err);

/* The same, for a message of the protocol's own. */
void reply_set_code(Reply *reply, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
