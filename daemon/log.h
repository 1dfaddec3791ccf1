/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Logging: one line per event on stderr, with a syslog priority prefix
 * ("<6>") that journald understands when it captures the daemon's stderr.
 */

#include <stdio.h>
#include <syslog.h>

extern int log_max_level;

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)

/* Log at @level and return @r (a -errno), for "return log_error_errno(r, ...)". */
#define log_errno(level, r, ...) ({ log_msg(level, __VA_ARGS__); (r); })
