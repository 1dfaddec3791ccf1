/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "util/peer.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <sys/pidfd.h>
#include <sys/socket.h>

#include "common/util.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

int peer_credentials(int fd, PeerIdentity *ret) {
        struct ucred cred;
        socklen_t len = sizeof(cred);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        *ret = (PeerIdentity) { .uid = cred.uid, .gid = cred.gid, .pid = cred.pid, .pidfd = -EBADF };
        return 0;
}

bool peer_pidfd_pinned(void) {
        static int known = -1;

        if (known < 0) {
                int sv[2], pidfd;
                socklen_t len = sizeof(pidfd);

                known = 0;
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                        return false;
                if (getsockopt(sv[0], SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) >= 0) {
                        known = 1;
                        close(pidfd);
                }
                close(sv[0]);
                close(sv[1]);
        }
        return known == 1;
}

/* The effective uid of the process @pid, from /proc; -errno when it cannot be read. */
static int process_euid(pid_t pid, uid_t *ret) {
        char path[64], line[256];
        unsigned real, effective;
        int r = -ENOENT;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%u/status", (unsigned) pid);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "Uid: %u %u", &real, &effective) == 2) {
                        *ret = effective;
                        r = 0;
                        break;
                }
        fclose(f);
        return r;
}

/*
 * Pin the peer's process.  SO_PEERPIDFD (Linux 6.5) names the very process
 * that connected, and fails once it has exited: such a peer is refused.  An
 * older kernel only has the pid SO_PEERCRED recorded at connect(), which the
 * connecting process may have given back (and someone else been given) by
 * now.  There the pidfd is opened on that pid and kept only if the peer has
 * not hung up and the process is of the peer's uid; it is still not proof
 * (the socket may live on in a child of a process that exited), so such an
 * identity is marked unpinned and its cgroup is never trusted.
 */
static int peer_pidfd(int fd, const PeerIdentity *id, int *ret, bool *ret_pinned) {
        struct pollfd p = { .fd = fd, .events = POLLRDHUP };
        socklen_t len = sizeof(int);
        uid_t euid;
        int pidfd;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) >= 0) {
                *ret = pidfd;
                *ret_pinned = true;
                return 0;
        }
        if (errno != ENOPROTOOPT)
                return -ESRCH; /* the connecting process is gone */
        pidfd = pidfd_open(id->pid, 0);
        if (pidfd < 0)
                return -ESRCH;
        if (poll(&p, 1, 0) != 0 || process_euid(id->pid, &euid) < 0 || euid != id->uid || !pidfd_alive(pidfd)) {
                safe_close(pidfd);
                return -ESRCH;
        }
        *ret = pidfd;
        *ret_pinned = false;
        return 0;
}

int peer_groups(int fd, gid_t **ret, size_t *ret_n) {
        socklen_t len = 16 * sizeof(gid_t);
        gid_t *groups = NULL;

        for (;;) {
                gid_t *p = realloc(groups, len ? len : sizeof(gid_t));

                if (!p) {
                        free(groups);
                        return -ENOMEM;
                }
                groups = p;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) >= 0)
                        break;
                if (errno != ERANGE) {
                        free(groups);
                        return -errno;
                }
        }
        *ret = groups;
        *ret_n = len / sizeof(gid_t);
        return 0;
}

/* The cgroup v2 path of @pid, read while @pidfd pins it; "" on a host without cgroup v2. */
static int peer_cgroup(pid_t pid, int pidfd, char *buf, size_t size) {
        char path[64], line[1024];
        bool found = false;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%u/cgroup", (unsigned) pid);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "0::", 3) == 0) {
                        line[strcspn(line, "\n")] = 0;
                        string_copy(buf, size, line + 3);
                        found = true;
                }
        fclose(f);
        if (!found)
                buf[0] = 0; /* no cgroup v2 hierarchy on this host: Cgroup= grants never match */
        /* Still the same process: what we read was its cgroup. */
        if (!pidfd_alive(pidfd))
                return -ESRCH;
        return 0;
}

static int peer_label(int fd, char *buf, size_t size) {
        socklen_t len = (socklen_t) size - 1;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERSEC, buf, &len) < 0) {
                if (errno == ENOPROTOOPT) {
                        buf[0] = 0; /* no LSM gives labels here */
                        return 0;
                }
                return -errno;
        }
        buf[len] = 0;
        return 0;
}

int peer_identify(int fd, PeerIdentity *id) {
        int r;

        r = peer_pidfd(fd, id, &id->pidfd, &id->pinned);
        if (r >= 0)
                r = peer_groups(fd, &id->groups, &id->n_groups);
        if (r >= 0)
                r = peer_cgroup(id->pid, id->pidfd, id->cgroup, sizeof(id->cgroup));
        if (r >= 0)
                r = peer_label(fd, id->label, sizeof(id->label));
        if (r < 0)
                peer_identity_done(id);
        return r;
}

void peer_identity_done(PeerIdentity *id) {
        id->pidfd = safe_close(id->pidfd);
        free(id->groups);
        id->groups = NULL;
        id->n_groups = 0;
}
