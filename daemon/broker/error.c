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
