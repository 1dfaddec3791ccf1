/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * time-run [--up WORD] SERIES COMMAND [ARG...]: run COMMAND, wait for it, and
 * print
 *   BENCHSAMPLE series=SERIES ns=N
 * its wall time from the fork to its exit (CLOCK_MONOTONIC), for series whose
 * samples are whole processes (a VMM started and stopped); bench/run makes
 * the percentiles of them.  Exits with COMMAND's status; prints nothing when
 * COMMAND fails.
 *
 * --up WORD: COMMAND's standard output comes to us through a pipe (and is
 * dropped), and N is the time from the fork to the first WORD in it: for a
 * QEMU with "-qmp stdio", WORD "return" is its answer to qmp_capabilities,
 * which it gives from its main loop, once every -device is realized.  The
 * time to the exit is printed too, as series SERIES-exit.  A COMMAND that
 * exits without printing WORD is a failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stats.h"

/* The longest WORD: what of a read is kept for a word across two reads. */
#define WORD_MAX 64

/* Read @fd to its end; the time of the first @word in it, 0 if none. */
static uint64_t wait_for_word(int fd, const char *word) {
        size_t len = strlen(word), kept = 0;
        char buf[4096 + WORD_MAX];
        uint64_t at = 0;

        for (;;) {
                ssize_t n = read(fd, buf + kept, sizeof(buf) - WORD_MAX);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return at;
                if (!at && memmem(buf, kept + (size_t) n, word, len))
                        at = now_ns();
                /* The word may straddle two reads: keep the tail of this one. */
                kept += (size_t) n;
                if (kept >= len) {
                        memmove(buf, buf + kept - (len - 1), len - 1);
                        kept = len - 1;
                }
        }
}

int main(int argc, char **argv) {
        const char *word = NULL;
        uint64_t start, t, up = 0;
        int status, out[2] = { -1, -1 };
        pid_t pid;

        if (argc > 2 && strcmp(argv[1], "--up") == 0) {
                word = argv[2];
                argv += 2;
                argc -= 2;
        }
        if (argc < 3 || (word && (!*word || strlen(word) > WORD_MAX))) {
                fprintf(stderr, "usage: time-run [--up WORD] SERIES COMMAND [ARG...]\n");
                return 2;
        }
        if (word && pipe(out) < 0)
                die("pipe", errno);
        start = now_ns();
        pid = fork();
        if (pid < 0)
                die("fork", errno);
        if (pid == 0) {
                if (word && (dup2(out[1], STDOUT_FILENO) < 0 || close(out[0]) < 0 || close(out[1]) < 0))
                        die("the pipe to COMMAND's output", errno);
                execvp(argv[2], argv + 2);
                die(argv[2], errno);
        }
        if (word) {
                close(out[1]);
                up = wait_for_word(out[0], word);
                close(out[0]);
        }
        if (waitpid(pid, &status, 0) < 0)
                die("waitpid", errno);
        t = now_ns() - start;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (word && !up) {
                fprintf(stderr, "time-run: %s: \"%s\" never came\n", argv[1], word);
                return 1;
        }
        if (word)
                printf("BENCHSAMPLE series=%s ns=%llu\nBENCHSAMPLE series=%s-exit ns=%llu\n", argv[1],
                       (unsigned long long) (up - start), argv[1],
                       (unsigned long long) t);
        else
                printf("BENCHSAMPLE series=%s ns=%llu\n", argv[1], (unsigned long long) t);
        return 0;
}
