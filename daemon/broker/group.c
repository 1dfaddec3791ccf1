/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "broker/group.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sysfs.h"
#include "common/util.h"
#include "util/log.h"

#define RETRY_FIRST_USEC 10000ULL
#define RETRY_MAX_USEC 1000000ULL

static void group_retry_later(Group *g);

const char *group_state_name(GroupState state) {
        return state == GROUP_LEASED ? "leased" : state == GROUP_RESETTING ? "resetting" : "quarantined";
}

int group_new(Broker *b, int number, KernelGroup *kernel, char (*members)[BDF_STRLEN + 1], size_t n_members,
              Group **ret) {
        Group *g;
        int r;

        g = calloc(1, sizeof(*g));
        if (!g) {
                kernel_group_free(kernel);
                free(members);
                return -ENOMEM;
        }
        *g = (Group) { .broker = b, .number = number, .kernel = kernel, .state = GROUP_LEASED,
                       .members = members, .n_members = n_members };
        if (!members) {
                r = sysfs_group_members(b->config.sysfs_root, number, &g->members, &g->n_members);
                if (r < 0)
                        log_warning("group %d: cannot list its devices: %s", number, strerror(-r));
        }
        LIST_INSERT_HEAD(&b->groups, g, link);
        *ret = g;
        return 0;
}

Group *group_free(Group *g) {
        if (!g)
                return NULL;
        LIST_REMOVE(g, link);
        source_free(g->retry);
        kernel_group_free(g->kernel);
        free(g->members);
        free(g);
        return NULL;
}

/* What one reset pass did: devices opened, and reset by their own reset or by their bus's. */
typedef struct ResetDone {
        size_t opened, reset, by_bus;
        char warning[256];              /* the last thing that went wrong, for the loop to log ("": none) */
} ResetDone;

/*
 * A release's kernel work, off the loop when it may sleep: closing the last
 * device fds (the kernel resets a device as it lets go of it), the detach,
 * the reset pass.  Read from sysfs before (the device cache is the loop's):
 * which members only a bus reset resets.
 */
struct GroupJob {
        Group *group;
        int *closing;                   /* the lease's device fds of the group, to close first */
        size_t n_closing;
        bool *by_bus;                   /* per member */
        int detach;                     /* 0, KERNEL_E_STILL_HELD or -errno */
        ResetDone done;
};

/*
 * Reset every vfio-pci device of the group, through a domain of our own: a
 * function reset (VFIO_DEVICE_RESET) where the device offers one, and for
 * the devices whose only reset is their bus's (sysfs: every device on the
 * bus in this group) one hot reset of that bus (VFIO_DEVICE_PCI_HOT_RESET).
 */
static void group_reset(Group *g, const bool *by_bus, ResetDone *ret) {
        const KernelBackend *backend = g->broker->config.backend;
        _cleanup_close_ int bus_fd = -EBADF;
        KernelDomain *domain = NULL;
        size_t n_bus = 0;
        int r;

        *ret = (ResetDone) {};
        r = kernel_group_domain_new(g->kernel, &domain);
        if (r >= 0)
                r = kernel_group_attach(g->kernel, domain);
        if (r != 0) {
                snprintf(ret->warning, sizeof(ret->warning), "cannot attach it for reset: %s",
                         r < 0 ? strerror(-r) : "the kernel reports it not viable");
                kernel_domain_free(domain);
                return;
        }
        for (size_t i = 0; i < g->n_members; i++) {
                _cleanup_close_ int dev = -EBADF;

                if (kernel_device_open(g->kernel, g->members[i], &dev) < 0)
                        continue; /* a bridge, or a device of another driver */
                ret->opened++;
                if (kernel_device_can_reset(backend, dev) <= 0) {
                        if (by_bus && by_bus[i]) {
                                n_bus++;
                                if (bus_fd < 0)
                                        bus_fd = TAKE_FD(dev);
                        }
                        continue;
                }
                r = kernel_device_reset(backend, dev);
                if (r < 0)
                        snprintf(ret->warning, sizeof(ret->warning), "reset of %s failed: %s", g->members[i],
                                 strerror(-r));
                else
                        ret->reset++; /* counted in the RESET record */
        }
        if (n_bus > 0) {
                r = kernel_device_hot_reset(g->kernel, bus_fd);
                if (r < 0)
                        snprintf(ret->warning, sizeof(ret->warning), "hot reset of the bus of %zu device(s) failed: %s",
                                 n_bus, strerror(-r));
                else
                        ret->by_bus = n_bus;
                ret->reset += ret->by_bus;
        }
        bus_fd = safe_close(bus_fd);
        (void) kernel_group_detach(g->kernel);
        kernel_domain_free(domain);
}

/*
 * Free a group that is out of every domain, and give back to their drivers
 * the devices of it a managed lease moved (the record says which, also after
 * a restart): its fds are closed first, or the unbind would wait for them.
 */
static void give_back(Group *g) {
        _cleanup_free_ char (*members)[BDF_STRLEN + 1] = TAKE_PTR(g->members);
        size_t n = g->n_members;
        Broker *b = g->broker;

        g->n_members = 0;
        group_free(g);
        for (size_t i = 0; b->managed && i < n; i++)
                (void) managed_host_restore(b->managed, members[i]);
}

/* Which members only their bus's reset resets, from sysfs (on the loop: the cache is its); NULL when none. */
static bool *members_by_bus(Group *g, bool *ret_slow) {
        bool *by_bus = calloc(g->n_members + 1, sizeof(bool));

        *ret_slow = false;
        for (size_t i = 0; i < g->n_members; i++) {
                PciDevice pci;

                if (device_cache_read_device(g->broker->devices, g->members[i], &pci) < 0)
                        continue;
                if (by_bus)
                        by_bus[i] = pci.reset == PCI_RESET_BUS;
                /* The kernel resets a device with a reset as its last fd closes and as it is opened again. */
                *ret_slow = *ret_slow || pci.reset != PCI_RESET_NONE;
        }
        return by_bus;
}

/* The kernel's part of letting go: close what the lease left us, detach, reset.  May run off the loop. */
static void job_work(void *userdata) {
        GroupJob *j = userdata;

        close_many(j->closing, j->n_closing);
        j->detach = kernel_group_detach(j->group->kernel);
        if (j->detach == KERNEL_E_STILL_HELD)
                return;
        group_reset(j->group, j->by_bus, &j->done);
}

static void job_free(GroupJob *j) {
        if (!j)
                return;
        close_many(j->closing, j->n_closing);
        free(j->closing);
        free(j->by_bus);
        free(j);
}

static void group_quarantine(Group *g);

/* The loop's part, after job_work(): free and give back, or quarantine; then whoever waits hears. */
static void job_done(void *userdata) {
        GroupJob *j = userdata;
        Group *g = j->group;
        ReleaseWait *wait = TAKE_PTR(g->wait);
        bool held = j->detach == KERNEL_E_STILL_HELD;
        Broker *b = g->broker;
        char result[64];

        g->job = NULL;
        if (j->detach < 0)
                log_warning("group %d: detaching it: %s", g->number, strerror(-j->detach));
        if (j->done.warning[0])
                log_warning("group %d: %s", g->number, j->done.warning);
        if (held) {
                if (g->retry)
                        group_retry_later(g);
                else
                        group_quarantine(g);
        } else {
                if (j->done.opened > 0 && j->done.reset == j->done.opened)
                        ledger_mark_clean(&b->ledger, g->number);
                else
                        ledger_mark_used(&b->ledger, g->number, g->uid, g->grant);
                snprintf(result, sizeof(result), "%zu/%zu reset%s", j->done.reset, j->done.opened,
                         j->done.by_bus ? " (bus)" : "");
                log_audit(LOG_INFO, &AUDIT_RECORD(AUDIT_RESET, .lease = g->lease_id, .has_group = true, .group = g->number, .result = result),
                          "group %d: free again (was lease %llu of uid %u); %zu of %zu device(s) reset%s",
                          g->number, (unsigned long long) g->lease_id, (unsigned) g->uid, j->done.reset, j->done.opened,
                          j->done.by_bus ? ", by a reset of their bus" : "");
                give_back(g);
                broker_changed(b); /* after: the store lets go of its fd */
        }
        job_free(j);
        release_wait_step(wait, held);
}

/*
 * Let go of the group: 0 when it is free (done here, on the loop: nothing in
 * it sleeps), 1 when the work went off the loop (GROUP_RESETTING until
 * job_done()), KERNEL_E_STILL_HELD when it is held elsewhere still.
 */
static int group_settle(Group *g, int *closing, size_t n_closing) {
        GroupJob *j;
        bool slow;
        int r;

        j = calloc(1, sizeof(*j));
        if (!j) {
                close_many(closing, n_closing);
                free(closing);
                return -ENOMEM;
        }
        *j = (GroupJob) { .group = g, .closing = closing, .n_closing = n_closing };
        j->by_bus = members_by_bus(g, &slow);
        /* Out of the lease's domain here: the lease frees it once this returns, the job may still run. */
        kernel_group_leave_domain(g->kernel);
        if (slow && loop_run_job(g->broker->loop, job_work, job_done, j) >= 0) {
                g->job = j;
                if (g->state == GROUP_LEASED) { /* a quarantined one stays so while it is asked again */
                        g->state = GROUP_RESETTING;
                        broker_changed(g->broker);
                }
                return 1;
        }
        g->job = j;
        job_work(j);
        r = j->detach == KERNEL_E_STILL_HELD ? KERNEL_E_STILL_HELD : 0;
        job_done(j);
        return r;
}

static void on_retry(Source *s, void *userdata) {
        (void) group_settle(userdata, NULL, 0);
}

static void group_retry_later(Group *g) {
        g->backoff_usec = g->backoff_usec * 2 > RETRY_MAX_USEC ? RETRY_MAX_USEC : g->backoff_usec * 2;
        if (source_set_timer(g->retry, g->backoff_usec) < 0)
                log_error("group %d: cannot re-arm the quarantine timer", g->number);
}

static void group_quarantine(Group *g) {
        int r;

        g->state = GROUP_QUARANTINED;
        g->backoff_usec = RETRY_FIRST_USEC;
        broker_changed(g->broker);
        log_audit(LOG_NOTICE, &AUDIT_RECORD(AUDIT_QUARANTINE, .lease = g->lease_id, .has_group = true, .group = g->number),
                  "group %d: quarantined: a device fd of lease %llu (uid %u) is still open elsewhere",
                  g->number, (unsigned long long) g->lease_id, (unsigned) g->uid);
        r = loop_add_timer(g->broker->loop, g->backoff_usec, on_retry, g, &g->retry);
        if (r < 0)
                log_error("group %d: cannot arm the quarantine timer: %s", g->number, strerror(-r));
}

int group_adopt_quarantined(Broker *b, int number, KernelGroup *kernel, uint64_t lease_id, uid_t uid,
                            const char *grant) {
        Group *g;
        int r;

        r = group_new(b, number, kernel, NULL, 0, &g);
        if (r < 0)
                return r;
        g->lease_id = lease_id;
        g->uid = uid;
        string_copy(g->grant, sizeof(g->grant), grant);
        group_quarantine(g);
        return 0;
}

void group_release(Group *g, int *closing, size_t n_closing, ReleaseWait *wait) {
        g->lease = NULL;
        g->wait = wait;
        if (wait)
                wait->pending++;
        (void) group_settle(g, closing, n_closing);
}

/* ---- waiting for a release ---- */

ReleaseWait *release_wait_new(void (*done)(void *userdata, bool quarantined), void *userdata) {
        ReleaseWait *w = calloc(1, sizeof(*w));

        if (w)
                *w = (ReleaseWait) { .done = done, .userdata = userdata, .pending = 1 };
        return w;
}

void release_wait_step(ReleaseWait *w, bool quarantined) {
        if (!w)
                return;
        w->quarantined = w->quarantined || quarantined;
        if (--w->pending > 0)
                return;
        if (w->done)
                w->done(w->userdata, w->quarantined);
        free(w);
}

void release_wait_cancel(ReleaseWait *w) {
        if (w)
                w->done = NULL;
}
