/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Logging: one record per event.  To the journal as structured entries when
 * the daemon runs under it (or is told to), otherwise one line per record on
 * stderr with a syslog priority prefix ("<6>").
 *
 * The audit trail (grant, deny, release, quarantine, reset) carries a stable
 * MESSAGE_ID per kind of event and fields naming who and what; the ids and
 * fields are documented in SECURITY.md and never change meaning.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <syslog.h>

extern int log_max_level;

typedef enum LogTarget {
        LOG_TARGET_AUTO,        /* the journal when stderr is connected to it ($JOURNAL_STREAM) */
        LOG_TARGET_CONSOLE,
        LOG_TARGET_JOURNAL,
} LogTarget;

void log_set_target(LogTarget target);
/* "auto", "console" or "journal"; -EINVAL otherwise. */
int log_target_from_string(const char *s, LogTarget *ret);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)

/* Log at @level and return @r (a -errno), for "return log_error_errno(r, ...)". */
#define log_errno(level, r, ...) ({ log_msg(level, __VA_ARGS__); (r); })

/* The audit trail's MESSAGE_IDs. */
#define AUDIT_GRANT      "0b28f17e8455441fbfe08fdabf0cd487"
#define AUDIT_DENY       "d6b5c09f88a04524b00222931e2c5e42"
#define AUDIT_RELEASE    "7d84da23683c41e28386001d994f2896"
#define AUDIT_QUARANTINE "1e3a2acff8de4ef8b70b0f7b19044a51"
#define AUDIT_RESET      "0a6e2f8a36e74596968eb099eeff093f"
#define AUDIT_REFUSE     "2d3594be02d145458b7ea56127067741"
#define AUDIT_RECALL     "bf73bf251f844347b7a3a5656e31d655"

/* One audit record's fields; unset ones (NULL, 0, has_* false) are left out. */
typedef struct AuditRecord {
        const char *message_id;         /* AUDIT_* */
        uint64_t lease;                 /* VFIO_BROKER_LEASE; 0: none */
        bool has_client;                /* VFIO_BROKER_UID and VFIO_BROKER_PID below are set */
        uid_t uid;
        pid_t pid;
        const char *cgroup;             /* VFIO_BROKER_CGROUP */
        const char *client_name;        /* VFIO_BROKER_CLIENT: what it said in Hello */
        const char *device;             /* VFIO_BROKER_DEVICE: a PCI address */
        bool has_group;                 /* VFIO_BROKER_GROUP below is set */
        int group;                      /* IOMMU group */
        const char *grant;              /* VFIO_BROKER_GRANT: the policy grant that allowed it */
        const char *result;             /* VFIO_BROKER_RESULT: reset outcome, "2/2" devices reset, ... */
} AuditRecord;

#define AUDIT_RECORD(id, ...) ((AuditRecord) { .message_id = (id), __VA_ARGS__ })

void log_audit(int level, const AuditRecord *a, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Between hold and unhold (one request), console lines are kept and written
 * in one write at the unhold, which comes before the request's reply: its
 * records still precede what they record.  The journal is not held.
 */
void log_hold(void);
void log_unhold(void);
