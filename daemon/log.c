/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"

#include <stdarg.h>

int log_max_level = LOG_INFO;

void log_msg(int level, const char *fmt, ...) {
        char line[2048];
        va_list ap;
        int n, m;

        if (level > log_max_level)
                return;
        /* One write per line: stderr is unbuffered, and lines must not interleave. */
        n = snprintf(line, sizeof(line), "<%d>", level);
        va_start(ap, fmt);
        m = vsnprintf(line + n, sizeof(line) - (size_t) n - 1, fmt, ap);
        va_end(ap);
        if (m < 0)
                m = 0;
        n = n + m < (int) sizeof(line) - 1 ? n + m : (int) sizeof(line) - 2;
        line[n++] = '\n';
        fwrite(line, 1, (size_t) n, stderr);
}
