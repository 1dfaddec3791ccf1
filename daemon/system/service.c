/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "system/service.h"

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "util/log.h"
#include "common/util.h"

int service_listen_fds(int *ret_listen, StoredFd **ret_stored, size_t *ret_n) {
        _cleanup_free_ StoredFd *stored = NULL;
        char **names = NULL;
        int n, listen_fd = -ENOENT;
        size_t n_stored = 0;

        *ret_stored = NULL;
        *ret_n = 0;
        n = sd_listen_fds_with_names(1, &names);
        if (n < 0)
                return n;
        if (n == 0)
                return -ENOENT;
        stored = calloc((size_t) n, sizeof(*stored));
        if (!stored) {
                for (int i = 0; names && i < n; i++)
                        free(names[i]);
                free(names);
                return -ENOMEM;
        }
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                char *name = names ? names[i] : NULL;

                /* Ours from the FD store are named vb-*; the socket unit's socket is the listener. */
                if (name && strncmp(name, "vb-", 3) == 0) {
                        (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
                        stored[n_stored++] = (StoredFd) { .name = name, .fd = fd };
                        continue;
                }
                free(name);
                if (listen_fd >= 0 || sd_is_socket_unix(fd, SOCK_SEQPACKET, 1, NULL, 0) <= 0) {
                        log_warning("ignoring fd %d passed by the service manager", fd);
                        safe_close(fd);
                        continue;
                }
                if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                        return -errno;
                listen_fd = fd;
        }
        free(names);
        *ret_stored = TAKE_PTR(stored);
        *ret_n = n_stored;
        if (listen_fd < 0)
                return -ENOENT;
        *ret_listen = listen_fd;
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

int service_check_capabilities(bool noiommu, char *missing, size_t size) {
        static const struct {
                int cap;
                const char *name;
        } needed[] = {
                { CAP_SYS_RESOURCE, "CAP_SYS_RESOURCE" },
                { CAP_KILL, "CAP_KILL" },
                { CAP_SYS_PTRACE, "CAP_SYS_PTRACE" },
                { CAP_SYS_RAWIO, "CAP_SYS_RAWIO" },
        };
        size_t n = 0;

        missing[0] = 0;
        if (capng_get_caps_process() < 0)
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(needed); i++) {
                if (needed[i].cap == CAP_SYS_RAWIO && !noiommu)
                        continue;
                if (!capng_have_capability(CAPNG_PERMITTED, (unsigned) needed[i].cap))
                        n += (size_t) snprintf(missing + n, n < size ? size - n : 0, "%s%s", n ? " " : "",
                                               needed[i].name);
        }
        return missing[0] ? -EPERM : 0;
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
        /* CAP_KILL and CAP_SYS_PTRACE: a recall's escalation finds (kcmp) and signals a holder of another uid. */
        if (capng_update(CAPNG_ADD, sets, CAP_SYS_RESOURCE) < 0 || capng_update(CAPNG_ADD, sets, CAP_KILL) < 0 ||
            capng_update(CAPNG_ADD, sets, CAP_SYS_PTRACE) < 0)
                return -EINVAL;
        if (noiommu && capng_update(CAPNG_ADD, sets, CAP_SYS_RAWIO) < 0)
                return -EINVAL;
        if (capng_apply(apply) < 0)
                return -EPERM;
        return 0;
}
