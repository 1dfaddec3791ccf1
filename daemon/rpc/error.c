/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "rpc/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdarg.h>
#include <string.h>

#include "common/util.h"

#define E(code) VFIOBROKER__ERROR_CODE__ERROR_##code

static const struct {
        Vfiobroker__ErrorCode wire;
        int errno_value;
} errors[] = {
        [BROKER_E_INVALID]                = { E(INVALID_ARGUMENT),       EINVAL },
        [BROKER_E_UNKNOWN_DEVICE]         = { E(UNKNOWN_DEVICE),         ENODEV },
        [BROKER_E_UNKNOWN_LEASE]          = { E(UNKNOWN_LEASE),          ENOENT },
        [BROKER_E_NOT_VFIO]               = { E(NOT_VFIO),               ENXIO },
        [BROKER_E_NOT_VIABLE]             = { E(GROUP_NOT_VIABLE),       EPERM },
        [BROKER_E_BUSY]                   = { E(BUSY),                   EBUSY },
        [BROKER_E_QUARANTINED]            = { E(QUARANTINED),            EBUSY },
        [BROKER_E_DENIED]                 = { E(DENIED),                 EACCES },
        [BROKER_E_NO_INTERRUPT_REMAPPING] = { E(NO_INTERRUPT_REMAPPING), EPERM },
        [BROKER_E_NOIOMMU]                = { E(NOIOMMU),                EPERM },
        [BROKER_E_IRQ]                    = { E(IRQ),                    ENOTSUP },
        [BROKER_E_QUOTA]                  = { E(LIMIT),                  EDQUOT },
        [BROKER_E_TOO_MANY_FDS]           = { E(LIMIT),                  EMSGSIZE },
        [BROKER_E_TOO_MANY_CONNECTIONS]   = { E(LIMIT),                  EUSERS },
        [BROKER_E_UNSUPPORTED]            = { E(UNSUPPORTED),            EOPNOTSUPP },
        [RPC_E_PROTOCOL]                  = { E(PROTOCOL),               EPROTO },
        [RPC_E_VERSION]                   = { E(VERSION),                EPROTONOSUPPORT },
        [RPC_E_HELLO_TIMEOUT]             = { E(LIMIT),                  ETIMEDOUT },
        [RPC_E_REPLY_TOO_LARGE]           = { E(LIMIT),                  EMSGSIZE },
};

void reply_set_error(Reply *reply, int r, const BrokerError *err) {
        const char *message = err && err->message[0] ? err->message : NULL;

        if (r < 0) {
                if (!message)
                        message = r == -ENOMEM ? "out of memory" : strerror(-r);
                reply_error(reply, E(INTERNAL), -r, "%s", message);
                return;
        }
        if (r <= 0 || (size_t) r >= ELEMENTSOF(errors) || errors[r].wire == 0) {
                reply_error(reply, E(INTERNAL), EIO, "unknown refusal %d", r); /* a bug of ours */
                return;
        }
        reply_error(reply, errors[r].wire, err && err->errno_value ? err->errno_value : errors[r].errno_value, "%s",
                    message ? message : "");
}

void reply_set_code(Reply *reply, int code, const char *fmt, ...) {
        BrokerError err = {};
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err.message, sizeof(err.message), fmt, ap);
        va_end(ap);
        reply_set_error(reply, code, &err);
}
