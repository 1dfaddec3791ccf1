/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Living under systemd (and without it): the socket handed over by socket
 * activation, readiness and watchdog notifications, and the capability drop.
 * All of it is a no-op where systemd is not involved.
 */

#include <stdbool.h>

#include "broker/broker.h"
#include "util/loop.h"
#include "system/fdstore.h"

/*
 * The fds systemd passed: the listening socket into @ret_listen (-ENOENT when
 * there is none), and the fds it kept for us in its FD store (named vb-*,
 * see persist.h) into @ret_stored, which the caller frees (names included).
 */
int service_listen_fds(int *ret_listen, StoredFd **ret_stored, size_t *ret_n);

/* Tell the service manager something ("READY=1", "STATUS=...", ...). */
void service_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Ping the watchdog at half its interval, when systemd asked for one. */
int service_start_watchdog(Loop *loop, Source **ret);

/*
 * Keep only the capabilities the daemon needs from now on: CAP_SYS_RESOURCE
 * (MemlockLimit: setting a client's RLIMIT_MEMLOCK) and, when @noiommu,
 * CAP_SYS_RAWIO (VFIO demands it to open no-IOMMU groups).  Bounding and
 * inheritable sets are cleared too.
 */
int service_drop_capabilities(bool noiommu);

/*
 * Whether this process may keep what service_drop_capabilities() keeps: 0, or
 * -EPERM with the missing capabilities' names in @missing (checked before
 * anything is bound or opened).
 */
int service_check_capabilities(bool noiommu, char *missing, size_t size);
