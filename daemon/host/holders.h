/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Which processes hold a file the broker holds too: the processes a recalled
 * lease's escalation signals.  Every process in /proc is pinned with a pidfd
 * before it is looked at, and each of its fd numbers (up to the FDSize its
 * status gives) is compared with ours by kcmp(2) (KCMP_FILE: the same open
 * file, not merely the same device; the VFIO device fds of the container API
 * are all one anonymous inode).  That takes CAP_SYS_PTRACE for processes of
 * other uids (not CAP_DAC_READ_SEARCH: /proc/PID/fd is never listed), and a
 * kernel with kcmp (CONFIG_KCMP, which CONFIG_CHECKPOINT_RESTORE selects).
 */

#include <stddef.h>
#include <sys/types.h>

typedef struct Holder {
        pid_t pid;
        int pidfd;                      /* signals go through it: never to a process that reused the pid */
} Holder;

/*
 * The processes of @uid (real or effective), other than us and pid 1 (the
 * service manager keeps our FD store), that hold any of @fds.  -ENOSYS: the
 * kernel has no kcmp.  The caller frees with holders_free().
 */
int holders_find(const int *fds, size_t n_fds, uid_t uid, Holder **ret, size_t *ret_n);
void holders_free(Holder *h, size_t n);
/* @signo to each still alive (through its pidfd); how many it reached. */
size_t holders_signal(const Holder *h, size_t n, int signo);
