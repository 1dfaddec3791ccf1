/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/util.h"

#include <systemd/sd-journal.h>

int log_max_level = LOG_INFO;
static LogTarget log_target = LOG_TARGET_AUTO;
static int use_journal = -1; /* decided at the first record */

void log_set_target(LogTarget target) {
        log_target = target;
        use_journal = -1;
}

int log_target_from_string(const char *s, LogTarget *ret) {
        static const char *const names[] = { "auto", "console", "journal" };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcmp(s, names[i]) == 0) {
                        *ret = (LogTarget) i;
                        return 0;
                }
        return -EINVAL;
}

/* Is stderr the stream systemd connected to the journal ($JOURNAL_STREAM is "DEV:INODE")? */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == dev && st.st_ino == ino;
}

static bool journal(void) {
        if (use_journal < 0)
                use_journal = log_target == LOG_TARGET_JOURNAL ||
                              (log_target == LOG_TARGET_AUTO && stderr_is_journal());
        return use_journal;
}

/*
 * A record's text goes into a Line after room for either target's prefix
 * ("<6>" or "MESSAGE="), which is then written in front of it in place: the
 * record is formatted once, by one vsnprintf, and not copied.
 */
#define HEAD_SIZE 8 /* strlen("MESSAGE=") */
#define TEXT_SIZE 2048

typedef struct Line {
        char buf[HEAD_SIZE + TEXT_SIZE];
} Line;

#define LINE_TEXT(l) ((l)->buf + HEAD_SIZE)

/*
 * Console lines of one request (log_hold()), written together: each write
 * holds whole lines, so lines never interleave with another writer's.
 */
static struct {
        char buf[4096];
        size_t len;
        unsigned hold;
} pending;

_Static_assert(sizeof(pending.buf) >= 3 + TEXT_SIZE, "a held line of any length fits an empty buffer");

static void flush_pending(void) {
        if (pending.len > 0)
                fwrite(pending.buf, 1, pending.len, stderr);
        pending.len = 0;
}

/* One write per line, or per request: stderr is unbuffered, and lines must not interleave. */
static void console_line(int level, Line *l, size_t len) {
        char *start = LINE_TEXT(l) - 3;
        size_t size = 3 + len + 1;

        start[0] = '<';
        start[1] = (char) ('0' + (level & 7));
        start[2] = '>';
        start[3 + len] = '\n'; /* over the NUL: no longer a C string */
        if (pending.hold > 0) {
                if (pending.len + size > sizeof(pending.buf))
                        flush_pending();
                memcpy(pending.buf + pending.len, start, size); /* fits once flushed: see the assertion below */
                pending.len += size;
                return;
        }
        fwrite(start, 1, size, stderr);
}

void log_hold(void) {
        pending.hold++;
}

void log_unhold(void) {
        if (--pending.hold == 0)
                flush_pending();
}

/* The fields of one journal entry, each "NAME=value"; MESSAGE points into the Line. */
typedef struct Entry {
        struct iovec iov[16];
        char text[16][512];
        size_t n;
} Entry;

/* "NAME=value", the value cut to fit. */
static void entry_add(Entry *e, const char *field, const char *value) {
        size_t n = strlen(field), m;

        if (e->n >= ELEMENTSOF(e->iov))
                return;
        m = strnlen(value, sizeof(e->text[0]) - n);
        memcpy(e->text[e->n], field, n);
        memcpy(e->text[e->n] + n, value, m);
        e->iov[e->n] = (struct iovec) { .iov_base = e->text[e->n], .iov_len = n + m };
        e->n++;
}

/* "NAME=" and a number in decimal, "-" before it when @negative. */
static void entry_add_number(Entry *e, const char *field, unsigned long long v, bool negative) {
        char digits[24], *s = digits + sizeof(digits) - 1;

        *s = 0;
        do
                *--s = (char) ('0' + v % 10);
        while (v /= 10);
        if (negative)
                *--s = '-';
        entry_add(e, field, s);
}

static void entry_add_int(Entry *e, const char *field, long long v) {
        entry_add_number(e, field, v < 0 ? 0ULL - (unsigned long long) v : (unsigned long long) v, v < 0);
}

/*
 * sd_journal_sendv() drops a record without a word when journald's socket is
 * missing (no journald, or one between a stop and a start): we look first,
 * and say it once on the console, which then gets the records.
 */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static bool journal_there(void) {
        static bool said;
        bool there = access(JOURNAL_SOCKET, F_OK) == 0;

        if (!there && !said) {
                static const char warning[] = "<4>the journal is not there (no " JOURNAL_SOCKET
                                              "): records go to stderr\n";

                (void) !write(STDERR_FILENO, warning, sizeof(warning) - 1);
        }
        said = !there;
        return there;
}

static void emit(int level, const AuditRecord *a, Line *l, size_t len) {
        Entry e;

        if (!journal() || !journal_there()) {
                console_line(level, l, len);
                return;
        }
        memcpy(l->buf, "MESSAGE=", HEAD_SIZE);
        e.iov[0] = (struct iovec) { .iov_base = l->buf, .iov_len = HEAD_SIZE + len };
        e.n = 1;
        entry_add_int(&e, "PRIORITY=", level);
        entry_add(&e, "SYSLOG_IDENTIFIER=", "vfio-brokerd");
        if (a) {
                entry_add(&e, "MESSAGE_ID=", a->message_id);
                if (a->lease)
                        entry_add_number(&e, "VFIO_BROKER_LEASE=", a->lease, false);
                if (a->has_client) {
                        entry_add_number(&e, "VFIO_BROKER_UID=", a->uid, false);
                        entry_add_int(&e, "VFIO_BROKER_PID=", a->pid);
                }
                if (a->cgroup)
                        entry_add(&e, "VFIO_BROKER_CGROUP=", a->cgroup);
                if (a->client_name)
                        entry_add(&e, "VFIO_BROKER_CLIENT=", a->client_name);
                if (a->device)
                        entry_add(&e, "VFIO_BROKER_DEVICE=", a->device);
                if (a->has_group)
                        entry_add_int(&e, "VFIO_BROKER_GROUP=", a->group);
                if (a->grant)
                        entry_add(&e, "VFIO_BROKER_GRANT=", a->grant);
                if (a->result)
                        entry_add(&e, "VFIO_BROKER_RESULT=", a->result);
        }
        /* The journal unreachable: the record still goes somewhere. */
        if (sd_journal_sendv(e.iov, (int) e.n) < 0)
                console_line(level, l, len);
}

__attribute__((format(printf, 3, 0)))
static void vlog(int level, const AuditRecord *a, const char *fmt, va_list ap) {
        Line l;
        int n;

        if (level > log_max_level)
                return;
        n = vsnprintf(LINE_TEXT(&l), TEXT_SIZE, fmt, ap);
        if (n < 0)
                return;
        emit(level, a, &l, (size_t) n < TEXT_SIZE ? (size_t) n : TEXT_SIZE - 1); /* a long one cut */
}

void log_msg(int level, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vlog(level, NULL, fmt, ap);
        va_end(ap);
}

void log_audit(int level, const AuditRecord *a, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vlog(level, a, fmt, ap);
        va_end(ap);
}
