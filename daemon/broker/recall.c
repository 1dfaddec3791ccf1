/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Taking a lease back from a client that holds it: an administrator's
 * release-lease, or the kernel's request for a device (an unbind or a
 * hot-unplug signals the REQ eventfd the broker set on every device it holds).
 *
 * Asked: the client hears it (a LeaseEvent on its socket if it reads them,
 * and the REQ eventfds it asked for) and has the policy's RecallGraceSec to
 * release the lease.  Past it, with RecallEscalation=kill, SIGTERM goes to
 * every process of the lease's uid that holds a file of the lease, and
 * POLICY_RECALL_KILL_SEC later SIGKILL to those still holding one; then, or
 * at once with RecallEscalation=none, the lease ends, and its groups wait in
 * quarantine for the last fd.  A client that releases on the way ends it
 * sooner; nothing here waits on the loop.
 */

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "broker/connection.h"
#include "broker/lease.h"
#include "common/util.h"
#include "host/holders.h"
#include "util/log.h"

#define USEC_PER_SEC 1000000ULL

static void recall_audit(Lease *l, const char *step, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void recall_audit(Lease *l, const char *step, const char *fmt, ...) {
        char text[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        log_audit(LOG_NOTICE,
                  &AUDIT_RECORD(AUDIT_RECALL, .lease = l->id, .has_client = true, .uid = l->uid, .pid = l->pid,
                                .result = step),
                  "lease %llu of uid %u: %s", (unsigned long long) l->id, (unsigned) l->uid, text);
}

/* The broker's files of the lease a holder may keep: the domain, each group's, each device's. */
static size_t lease_files(Lease *l, int *fds, size_t max) {
        size_t n = 0;
        int domain = kernel_domain_fd(l->domain);

        if (domain >= 0 && n < max)
                fds[n++] = domain;
        for (size_t i = 0; i < l->n_groups && n < max; i++)
                n += kernel_group_fds(l->groups[i]->kernel, fds + n, max - n);
        for (size_t i = 0; i < l->n_devices && n < max; i++)
                if (l->devices[i].fd >= 0)
                        fds[n++] = l->devices[i].fd;
        return n;
}

/* Signal the holders of the lease's files; how many were reached, their pids in @pids. */
static size_t signal_holders(Lease *l, int signo, char *pids, size_t size) {
        int fds[512];
        size_t n_fds = lease_files(l, fds, ELEMENTSOF(fds)), n = 0, reached;
        Holder *h = NULL;
        int r;

        pids[0] = 0;
        r = holders_find(fds, n_fds, l->uid, &h, &n);
        if (r == -ENOSYS) {
                /* No kcmp: the client process itself is all we can name. */
                Connection *c = l->connection;

                log_warning("lease %llu: the kernel has no kcmp(2) (CONFIG_KCMP): only the client process %u is signalled",
                            (unsigned long long) l->id, (unsigned) l->pid);
                if (!c)
                        return 0;
                snprintf(pids, size, "%u", (unsigned) l->pid);
                return holders_signal(&(Holder) { .pid = l->pid, .pidfd = c->pidfd }, 1, signo);
        }
        if (r < 0) {
                log_warning("lease %llu: looking for the processes that hold its files: %s", (unsigned long long) l->id,
                            strerror(-r));
                return 0;
        }
        reached = holders_signal(h, n, signo);
        for (size_t i = 0, used = 0; i < n && used < size; i++)
                used += (size_t) snprintf(pids + used, size - used, "%s%u", i ? " " : "", (unsigned) h[i].pid);
        holders_free(h, n);
        return reached;
}

static void recall_end(Lease *l, const char *how) {
        char why[256];

        snprintf(why, sizeof(why), "recalled (%s): %s", l->recall.why, how);
        broker_announce_event(l->broker, l, LEASE_EVENT_ENDED, why, 0);
        lease_release(l, why);
}

static uint64_t now_realtime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static void on_recall_timer(Source *s, void *userdata);

/* The next step in @usec, written down (the state file) so that a restarted broker keeps the pace. */
static int arm_next_step(Lease *l, uint64_t usec) {
        l->recall.next_usec = now_realtime_usec() + usec;
        broker_changed(l->broker);
        return loop_add_timer(l->broker->loop, usec, on_recall_timer, l, &l->recall.timer);
}

static void on_recall_timer(Source *s, void *userdata) {
        Lease *l = userdata;
        const Policy *p = &l->broker->policy;
        char pids[256];
        size_t n;

        l->recall.timer = source_free(l->recall.timer);
        if (l->recall.step == RECALL_ASKED && !p->recall_escalate) {
                recall_audit(l, "ended", "not released within %u s; RecallEscalation=none: the lease ends, its groups "
                             "wait in quarantine for its files to close", p->recall_grace_sec);
                return recall_end(l, "not released in time, not escalated (RecallEscalation=none)");
        }
        if (l->recall.step == RECALL_ASKED) {
                n = signal_holders(l, SIGTERM, pids, sizeof(pids));
                if (n > 0) {
                        recall_audit(l, "sigterm", "not released within %u s: SIGTERM to %zu process(es) holding its files "
                                     "(%s); SIGKILL in %u s", p->recall_grace_sec, n, pids, POLICY_RECALL_KILL_SEC);
                        l->recall.step = RECALL_TERMINATED;
                        if (arm_next_step(l, POLICY_RECALL_KILL_SEC * USEC_PER_SEC) >= 0)
                                return;
                } else
                        recall_audit(l, "ended", "not released within %u s, and no process of uid %u holds its files: "
                                     "the lease ends", p->recall_grace_sec, (unsigned) l->uid);
                return recall_end(l, "not released in time");
        }
        n = signal_holders(l, SIGKILL, pids, sizeof(pids));
        if (n > 0)
                recall_audit(l, "sigkill", "still held after SIGTERM: SIGKILL to %zu process(es) (%s); the lease ends", n,
                             pids);
        else
                recall_audit(l, "ended", "its holders let go after SIGTERM: the lease ends");
        recall_end(l, n > 0 ? "escalated to SIGKILL" : "escalated to SIGTERM");
}

void lease_recall(Lease *l, const char *why) {
        const Policy *p = &l->broker->policy;
        uint64_t grace = (uint64_t) p->recall_grace_sec * USEC_PER_SEC;
        size_t asked;
        int r;

        if (l->recall.step != RECALL_NONE) {
                log_info("lease %llu: asked back again (%s); recalled already (%s)", (unsigned long long) l->id, why,
                         l->recall.why);
                return;
        }
        l->recall.step = RECALL_ASKED;
        l->recall.since_usec = now_realtime_usec();
        string_copy(l->recall.why, sizeof(l->recall.why), why);
        asked = lease_request_release(l);
        broker_announce_event(l->broker, l, LEASE_EVENT_RECALLED, why, grace);
        recall_audit(l, "asked", "recalled (%s): the client was told%s and has %u s to release it, then %s", why,
                     asked ? " (and its REQ eventfd signalled)" : "", p->recall_grace_sec,
                     p->recall_escalate ? "SIGTERM and SIGKILL to its holders" : "the lease ends (RecallEscalation=none)");
        r = arm_next_step(l, grace);
        if (r < 0) {
                log_error("lease %llu: cannot arm the recall's timer: %s", (unsigned long long) l->id, strerror(-r));
                recall_end(l, "the broker could not wait");
        }
}

int lease_recall_resume(Lease *l, RecallStep step, uint64_t since_usec, uint64_t next_usec, const char *why) {
        uint64_t now = now_realtime_usec();

        if (step != RECALL_ASKED && step != RECALL_TERMINATED)
                return -EINVAL;
        l->recall.step = step;
        l->recall.since_usec = since_usec;
        l->recall.next_usec = next_usec;
        string_copy(l->recall.why, sizeof(l->recall.why), why);
        log_info("lease %llu: its recall (%s) goes on from before the restart: %s next, in %llu ms",
                 (unsigned long long) l->id, why, step == RECALL_ASKED ? "the escalation" : "SIGKILL",
                 (unsigned long long) (next_usec > now ? (next_usec - now) / 1000 : 0));
        return loop_add_timer(l->broker->loop, next_usec > now ? next_usec - now : 0, on_recall_timer, l,
                              &l->recall.timer);
}

void lease_recall_cancel(Lease *l) {
        l->recall.timer = source_free(l->recall.timer);
}

void broker_recall_departing(Broker *b) {
        Connection *c;

        LIST_FOREACH(c, &b->connections, link) {
                Lease *l = LIST_FIRST(&c->leases), *next;

                for (; l; l = next) {
                        next = LIST_NEXT(l, link);
                        if (l->recall.step != RECALL_NONE)
                                continue;
                        for (size_t i = 0; i < l->n_groups; i++) {
                                const char *bdf = kernel_group_departing(l->groups[i]->kernel);
                                char why[128];

                                if (!bdf)
                                        continue;
                                snprintf(why, sizeof(why), "%s is being unbound or removed: its VFIO cdev is gone", bdf);
                                lease_recall(l, why);
                                break;
                        }
                }
        }
}
