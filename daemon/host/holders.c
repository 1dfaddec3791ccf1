/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "host/holders.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"

static int kcmp_file(pid_t a, pid_t b, int fd_a, int fd_b) {
        return (int) syscall(SYS_kcmp, a, b, KCMP_FILE, (unsigned long) fd_a, (unsigned long) fd_b);
}

/* Fds a process may have before this many are not looked at (FDSize of a process that opened millions). */
#define MAX_FDS_LOOKED_AT 65536

/*
 * From /proc/PID/status (the process pinned: it is the one we opened): whether
 * its real or effective uid is @uid, and the size of its fd table.
 */
static bool runs_as(int dir, uid_t uid, long *ret_fd_size) {
        char line[256];
        bool match = false;
        FILE *f;
        int fd;

        *ret_fd_size = 0;
        fd = openat(dir, "status", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        f = fdopen(fd, "re");
        if (!f) {
                close(fd);
                return false;
        }
        while (fgets(line, sizeof(line), f)) {
                unsigned real, effective;

                if (sscanf(line, "Uid: %u %u", &real, &effective) == 2)
                        match = real == uid || effective == uid;
                else
                        (void) sscanf(line, "FDSize: %ld", ret_fd_size);
        }
        fclose(f);
        return match;
}

/*
 * Whether process @pid has one of @fds open: 1, 0, or -ENOSYS.  Its fd numbers
 * are tried one by one with kcmp (EBADF: not open): /proc/PID/fd would need
 * CAP_DAC_READ_SEARCH besides, the directory being its owner's alone.
 */
static int holds_any(pid_t pid, long fd_size, const int *fds, size_t n_fds) {
        pid_t self = getpid();

        if (fd_size > MAX_FDS_LOOKED_AT)
                fd_size = MAX_FDS_LOOKED_AT;
        for (long theirs = 0; theirs < fd_size; theirs++)
                for (size_t i = 0; i < n_fds; i++) {
                        int k = kcmp_file(self, pid, fds[i], (int) theirs);

                        if (k == 0)
                                return 1;
                        if (k < 0 && errno == EBADF)
                                break; /* not open in it: the next of its numbers */
                        if (k < 0 && errno == ENOSYS)
                                return -ENOSYS;
                        if (k < 0 && (errno == ESRCH || errno == EPERM))
                                return 0;
                }
        return 0;
}

int holders_find(const int *fds, size_t n_fds, uid_t uid, Holder **ret, size_t *ret_n) {
        Holder *found = NULL;
        size_t n = 0;
        struct dirent *e;
        pid_t self = getpid();
        int r = 0;
        DIR *proc;

        proc = opendir("/proc");
        if (!proc)
                return -errno;
        while (r >= 0 && (e = readdir(proc))) {
                _cleanup_close_ int pidfd = -EBADF, dir = -EBADF;
                char *end;
                long pid = strtol(e->d_name, &end, 10), fd_size;
                Holder *p;

                if (*end || end == e->d_name || pid <= 1 || pid == self)
                        continue;
                pidfd = (int) syscall(SYS_pidfd_open, (pid_t) pid, 0);
                if (pidfd < 0)
                        continue; /* gone already */
                dir = openat(dirfd(proc), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dir < 0 || !runs_as(dir, uid, &fd_size))
                        continue;
                r = holds_any((pid_t) pid, fd_size, fds, n_fds);
                /* What we read may have been a process that took the pid after ours exited: then it is not signalled. */
                if (r <= 0 || !pidfd_alive(pidfd)) {
                        r = r < 0 ? r : 0;
                        continue;
                }
                p = reallocarray(found, n + 1, sizeof(*p));
                if (!p) {
                        r = -ENOMEM;
                        break;
                }
                found = p;
                found[n++] = (Holder) { .pid = (pid_t) pid, .pidfd = TAKE_FD(pidfd) };
        }
        closedir(proc);
        if (r < 0) {
                holders_free(found, n);
                return r;
        }
        *ret = found;
        *ret_n = n;
        return 0;
}

void holders_free(Holder *h, size_t n) {
        for (size_t i = 0; i < n; i++)
                safe_close(h[i].pidfd);
        free(h);
}

size_t holders_signal(const Holder *h, size_t n, int signo) {
        size_t reached = 0;

        for (size_t i = 0; i < n; i++)
                if (syscall(SYS_pidfd_send_signal, h[i].pidfd, signo, NULL, 0) == 0)
                        reached++;
        return reached;
}
