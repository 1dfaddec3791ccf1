/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"

#include <stdarg.h>

int log_max_level = LOG_INFO;

void log_msg(int level, const char *fmt, ...) {
        va_list ap;

        if (level > log_max_level)
                return;
        fprintf(stderr, "<%d>", level);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}
