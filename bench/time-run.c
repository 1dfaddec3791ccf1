/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * time-run SERIES COMMAND [ARG...]: run COMMAND, wait for it, and print
 *   BENCHSAMPLE series=SERIES ns=N
 * its wall time from the fork to its exit (CLOCK_MONOTONIC), for series whose
 * samples are whole processes (a VMM started and stopped); bench/run makes
 * the percentiles of them.  Exits with COMMAND's status; prints nothing when
 * COMMAND fails.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stats.h"

int main(int argc, char **argv) {
        uint64_t t;
        int status;
        pid_t pid;

        if (argc < 3) {
                fprintf(stderr, "usage: time-run SERIES COMMAND [ARG...]\n");
                return 2;
        }
        t = now_ns();
        pid = fork();
        if (pid < 0)
                die("fork", errno);
        if (pid == 0) {
                execvp(argv[2], argv + 2);
                die(argv[2], errno);
        }
        if (waitpid(pid, &status, 0) < 0)
                die("waitpid", errno);
        t = now_ns() - t;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        printf("BENCHSAMPLE series=%s ns=%llu\n", argv[1], (unsigned long long) t);
        return 0;
}
