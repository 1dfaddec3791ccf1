/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "broker/error.h"

#include <stdio.h>

static void say(BrokerError *e, int errno_value, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
static void say(BrokerError *e, int errno_value, const char *fmt, va_list ap) {
        e->errno_value = errno_value;
        vsnprintf(e->message, sizeof(e->message), fmt, ap);
}

int broker_error(BrokerError *e, int code, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        say(e, 0, fmt, ap);
        va_end(ap);
        return code;
}

int broker_error_errno(BrokerError *e, int code, int errno_value, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        say(e, errno_value, fmt, ap);
        va_end(ap);
        return code;
}

int broker_error_system(BrokerError *e, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        say(e, -r, fmt, ap);
        va_end(ap);
        return r;
}

const char *broker_code_name(int code) {
        static const char *const names[_BROKER_CODE_MAX] = {
                [BROKER_E_INVALID] = "invalid",
                [BROKER_E_UNKNOWN_DEVICE] = "unknown-device",
                [BROKER_E_UNKNOWN_LEASE] = "unknown-lease",
                [BROKER_E_NOT_VFIO] = "not-vfio",
                [BROKER_E_NOT_VIABLE] = "not-viable",
                [BROKER_E_BUSY] = "busy",
                [BROKER_E_QUARANTINED] = "quarantined",
                [BROKER_E_DENIED] = "denied",
                [BROKER_E_NO_INTERRUPT_REMAPPING] = "no-interrupt-remapping",
                [BROKER_E_NOIOMMU] = "noiommu",
                [BROKER_E_IRQ] = "irq",
                [BROKER_E_QUOTA] = "quota",
                [BROKER_E_TOO_MANY_FDS] = "too-many-fds",
                [BROKER_E_TOO_MANY_CONNECTIONS] = "too-many-connections",
                [BROKER_E_UNSUPPORTED] = "unsupported",
        };

        if (code < 0)
                return "error";
        return code < _BROKER_CODE_MAX && names[code] ? names[code] : "unknown";
}
