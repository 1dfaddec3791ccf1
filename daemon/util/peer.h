/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Who is at the other end of a Unix socket, read once at accept: the
 * credentials, the process pinned with a pidfd, its supplementary groups,
 * its cgroup and its security label.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct PeerIdentity {
        uid_t uid;
        gid_t gid;
        pid_t pid;
        int pidfd;                      /* pins the process (owned by whoever holds the identity) */
        bool pinned;                    /* by SO_PEERPIDFD: the pidfd is the connecting process for sure */
        gid_t *groups;                  /* supplementary, SO_PEERGROUPS (malloc'd) */
        size_t n_groups;
        char cgroup[512];               /* cgroup v2 path; "" on a host without cgroup v2 */
        char label[256];                /* SO_PEERSEC; "" without an LSM label */
} PeerIdentity;

/* SO_PEERCRED alone: uid, gid and pid (pidfd -EBADF, nothing else). */
int peer_credentials(int fd, PeerIdentity *ret);

/*
 * The rest of @id (read by peer_credentials()): the pidfd (SO_PEERPIDFD where
 * the kernel has it, else pidfd_open and a re-check), the groups, the cgroup
 * and the label.  -ESRCH when the connecting process is gone.  On failure
 * nothing is left open or allocated.
 */
int peer_identify(int fd, PeerIdentity *id);

/*
 * Whether this kernel pins a connecting process race-free (SO_PEERPIDFD, Linux
 * 6.5).  Without it, a pid read from a socket may be a stranger's by the time
 * it is used: uid, gid, groups and label come from the socket and stay sound,
 * the cgroup (read through the pid) does not.
 */
bool peer_pidfd_pinned(void);

/* The groups of the socket's peer (for a connection adopted after a restart). */
int peer_groups(int fd, gid_t **ret, size_t *ret_n);

/* Frees what peer_identify() allocated and closes the pidfd. */
void peer_identity_done(PeerIdentity *id);
