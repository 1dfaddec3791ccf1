/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Console records: "<N>text\n", one write per record, or one per request
 * between log_hold() and log_unhold().  stderr goes to a pipe while a test
 * logs; what reached the pipe is read back (without waiting) to see when it
 * was written.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "test.h"

static int pipe_fds[2], saved_stderr = -1;
static char captured[16384];
static size_t captured_len;

static void capture_begin(void) {
        captured_len = 0;
        CHECK(pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) == 0);
        saved_stderr = dup(STDERR_FILENO);
        CHECK(saved_stderr >= 0);
        CHECK(dup2(pipe_fds[1], STDERR_FILENO) == STDERR_FILENO);
}

/* What the pipe holds so far (stderr stays captured). */
static const char *written(void) {
        ssize_t n;

        while ((n = read(pipe_fds[0], captured + captured_len, sizeof(captured) - 1 - captured_len)) > 0)
                captured_len += (size_t) n;
        captured[captured_len] = 0;
        return captured;
}

static void capture_end(void) {
        CHECK(dup2(saved_stderr, STDERR_FILENO) == STDERR_FILENO);
        close(saved_stderr);
        saved_stderr = -1;
        close(pipe_fds[0]);
        close(pipe_fds[1]);
}

/* A check that failed while stderr was captured said so into the pipe: pass it on. */
static void show_failure(void) {
        if (saved_stderr < 0)
                return;
        written();
        dup2(saved_stderr, STDERR_FILENO);
        fputs(captured, stderr);
}

/* @size - 1 times @c, then the NUL. */
static char *fill(char *buf, size_t size, char c) {
        memset(buf, c, size - 1);
        buf[size - 1] = 0;
        return buf;
}

static void test_records(void) {
        char long_text[3000];
        const char *w;

        fill(long_text, sizeof(long_text), 'x');
        capture_begin();
        log_info("plain %d", 1);
        w = written();
        CHECK(strcmp(w, "<6>plain 1\n") == 0);

        /* Held: nothing until the unhold, then all of it in order; a nested hold changes nothing. */
        log_hold();
        log_notice("first");
        log_hold();
        log_audit(LOG_INFO, &AUDIT_RECORD(AUDIT_GRANT, .lease = 7), "second %s", "record");
        log_unhold();
        w = written();
        CHECK(strcmp(w, "<6>plain 1\n") == 0);
        log_unhold();
        w = written();
        CHECK(strcmp(w, "<6>plain 1\n<5>first\n<6>second record\n") == 0);

        /* A record longer than the line is cut to it (2047 bytes), newline kept. */
        log_warning("%s", long_text);
        w = written();
        CHECK(strlen(w) == strlen("<6>plain 1\n<5>first\n<6>second record\n") + 3 + 2047 + 1);
        CHECK(w[strlen(w) - 1] == '\n' && w[strlen(w) - 2] == 'x');
        capture_end();
}

/* What does not fit the held buffer goes out first, whole lines only. */
static void test_hold_overflows(void) {
        char text[1500];
        const char *w;

        fill(text, sizeof(text), 'y');
        capture_begin();
        log_hold();
        log_info("%s", text);
        log_info("%s", text);
        CHECK_EQ_INT(strlen(written()), 0);
        log_info("%s", text); /* three of 1503 bytes do not fit in 4096: the first two are written */
        CHECK_EQ_INT(strlen(written()), 2 * 1503);
        log_unhold();
        w = written();
        CHECK_EQ_INT(strlen(w), 3 * 1503);
        for (size_t i = 0; i < 3; i++)
                CHECK(strncmp(w + i * 1503, "<6>yyy", 6) == 0 && w[i * 1503 + 1502] == '\n');
        capture_end();
}

int main(void) {
        atexit(show_failure);
        log_set_target(LOG_TARGET_CONSOLE);
        RUN(test_records);
        RUN(test_hold_overflows);
        return 0;
}
