/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "service.h"

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "log.h"

int service_listen_fd(int *ret) {
        int n, fd = SD_LISTEN_FDS_START;

        n = sd_listen_fds(1);
        if (n < 0)
                return n;
        if (n == 0)
                return -ENOENT;
        if (n > 1 || sd_is_socket_unix(fd, SOCK_SEQPACKET, 1, NULL, 0) <= 0)
                return -EINVAL;
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                return -errno;
        *ret = fd;
        return 0;
}

void service_notify(const char *fmt, ...) {
        char buf[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        (void) sd_notify(0, buf);
}

static void on_watchdog(Source *s, void *userdata) {
        uint64_t *interval = userdata;

        (void) sd_notify(0, "WATCHDOG=1");
        (void) source_set_timer(s, *interval);
}

int service_start_watchdog(Loop *loop, Source **ret) {
        static uint64_t interval;
        uint64_t usec;
        int r;

        r = sd_watchdog_enabled(0, &usec);
        if (r <= 0)
                return r;
        interval = usec / 2;
        return loop_add_timer(loop, interval, on_watchdog, &interval, ret);
}

int service_drop_capabilities(bool noiommu) {
        capng_type_t sets = CAPNG_EFFECTIVE | CAPNG_PERMITTED;
        capng_select_t apply = CAPNG_SELECT_CAPS;

        /*
         * The bounding set can only be narrowed with CAP_SETPCAP: we have it
         * when run by hand as root.  Under systemd the unit's
         * CapabilityBoundingSet= has narrowed it already and leaves
         * CAP_SETPCAP out; the effective and permitted sets are what count.
         */
        if (capng_get_caps_process() == 0 && capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP)) {
                sets |= CAPNG_BOUNDING_SET;
                apply = CAPNG_SELECT_BOTH;
        }
        capng_clear(CAPNG_SELECT_BOTH);
        if (capng_update(CAPNG_ADD, sets, CAP_SYS_RESOURCE) < 0)
                return -EINVAL;
        if (noiommu && capng_update(CAPNG_ADD, sets, CAP_SYS_RAWIO) < 0)
                return -EINVAL;
        if (capng_apply(apply) < 0)
                return -EPERM;
        return 0;
}
