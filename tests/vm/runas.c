/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * runas UID GID[,GID...] COMMAND [ARG...]: become UID with primary group GID
 * and, as supplementary groups, exactly the further GIDs listed (none when
 * there are none), then exec.
 */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
        gid_t gid, extra[16];
        size_t n = 0;
        uid_t uid;
        char *p;

        if (argc < 4) {
                fprintf(stderr, "usage: runas UID GID COMMAND [ARG...]\n");
                return 127;
        }
        uid = (uid_t) strtoul(argv[1], NULL, 10);
        gid = (gid_t) strtoul(argv[2], &p, 10);
        while (*p == ',' && n < 16)
                extra[n++] = (gid_t) strtoul(p + 1, &p, 10);
        if (setgroups(n, extra) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
                perror("runas");
                return 127;
        }
        if (getuid() != uid || geteuid() != uid || getgid() != gid) {
                fprintf(stderr, "runas: still uid %u\n", (unsigned) geteuid());
                return 127;
        }
        execvp(argv[3], &argv[3]);
        perror(argv[3]);
        return 127;
}
