/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

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

/* One write per line: stderr is unbuffered, and lines must not interleave. */
static void console_line(int level, const char *message) {
        char line[2048];
        int n;

        n = snprintf(line, sizeof(line) - 1, "<%d>%s", level, message);
        if (n < 0)
                return;
        if (n > (int) sizeof(line) - 2)
                n = (int) sizeof(line) - 2;
        line[n++] = '\n';
        fwrite(line, 1, (size_t) n, stderr);
}

/* Room for the fields of one journal entry, each "NAME=value". */
typedef struct Entry {
        struct iovec iov[16];
        char text[16][512];
        size_t n;
} Entry;

static void entry_add(Entry *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void entry_add(Entry *e, const char *fmt, ...) {
        va_list ap;
        int n;

        if (e->n >= sizeof(e->iov) / sizeof(e->iov[0]))
                return;
        va_start(ap, fmt);
        n = vsnprintf(e->text[e->n], sizeof(e->text[0]), fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if (n >= (int) sizeof(e->text[0]))
                n = (int) sizeof(e->text[0]) - 1;
        e->iov[e->n] = (struct iovec) { .iov_base = e->text[e->n], .iov_len = (size_t) n };
        e->n++;
}

static void emit(int level, const AuditRecord *a, const char *message) {
        Entry e;

        if (!journal()) {
                console_line(level, message);
                return;
        }
        e.n = 0;
        entry_add(&e, "MESSAGE=%s", message);
        entry_add(&e, "PRIORITY=%d", level);
        entry_add(&e, "SYSLOG_IDENTIFIER=vfio-brokerd");
        if (a) {
                entry_add(&e, "MESSAGE_ID=%s", a->message_id);
                if (a->lease)
                        entry_add(&e, "VFIO_BROKER_LEASE=%llu", (unsigned long long) a->lease);
                if (a->has_client) {
                        entry_add(&e, "VFIO_BROKER_UID=%u", (unsigned) a->uid);
                        entry_add(&e, "VFIO_BROKER_PID=%u", (unsigned) a->pid);
                }
                if (a->cgroup)
                        entry_add(&e, "VFIO_BROKER_CGROUP=%s", a->cgroup);
                if (a->client_name)
                        entry_add(&e, "VFIO_BROKER_CLIENT=%s", a->client_name);
                if (a->device)
                        entry_add(&e, "VFIO_BROKER_DEVICE=%s", a->device);
                if (a->has_group)
                        entry_add(&e, "VFIO_BROKER_GROUP=%d", a->group);
                if (a->grant)
                        entry_add(&e, "VFIO_BROKER_GRANT=%s", a->grant);
                if (a->result)
                        entry_add(&e, "VFIO_BROKER_RESULT=%s", a->result);
        }
        /* The journal unreachable: the record still goes somewhere. */
        if (sd_journal_sendv(e.iov, (int) e.n) < 0)
                console_line(level, message);
}

__attribute__((format(printf, 3, 0)))
static void vlog(int level, const AuditRecord *a, const char *fmt, va_list ap) {
        char message[2048];

        if (level > log_max_level)
                return;
        vsnprintf(message, sizeof(message), fmt, ap);
        emit(level, a, message);
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
