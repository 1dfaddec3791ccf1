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

const char *group_state_name(GroupState state) {
        return state == GROUP_LEASED ? "leased" : "quarantined";
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
} ResetDone;

/*
 * Reset every vfio-pci device of the group, through a domain of our own: a
 * function reset (VFIO_DEVICE_RESET) where the device offers one, and for
 * the devices whose only reset is their bus's (sysfs: every device on the
 * bus in this group) one hot reset of that bus (VFIO_DEVICE_PCI_HOT_RESET).
 */
static void group_reset(Group *g, ResetDone *ret) {
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
                log_warning("group %d: cannot attach it for reset: %s", g->number,
                            r < 0 ? strerror(-r) : "the kernel reports it not viable");
                kernel_domain_free(domain);
                return;
        }
        for (size_t i = 0; i < g->n_members; i++) {
                _cleanup_close_ int dev = -EBADF;
                PciDevice pci;

                if (kernel_device_open(g->kernel, g->members[i], &dev) < 0)
                        continue; /* a bridge, or a device of another driver */
                ret->opened++;
                if (kernel_device_can_reset(backend, dev) <= 0) {
                        if (device_cache_read_device(g->broker->devices, g->members[i], &pci) >= 0 &&
                            pci.reset == PCI_RESET_BUS) {
                                n_bus++;
                                if (bus_fd < 0)
                                        bus_fd = TAKE_FD(dev);
                        } else
                                log_debug("group %d: %s offers no reset", g->number, g->members[i]);
                        continue;
                }
                r = kernel_device_reset(backend, dev);
                if (r < 0)
                        log_warning("group %d: reset of %s failed: %s", g->number, g->members[i], strerror(-r));
                else
                        ret->reset++; /* counted in the RESET record */
        }
        if (n_bus > 0) {
                r = kernel_device_hot_reset(g->kernel, bus_fd);
                if (r < 0)
                        log_warning("group %d: hot reset of the bus of %zu device(s) failed: %s", g->number, n_bus,
                                    strerror(-r));
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

/* 0: detached and freed; KERNEL_E_STILL_HELD: held elsewhere still. */
static int group_try_detach(Group *g) {
        ResetDone done;
        Broker *b;
        char result[64];
        int r;

        r = kernel_group_detach(g->kernel);
        if (r == KERNEL_E_STILL_HELD)
                return r;
        if (r < 0)
                log_warning("group %d: detaching it: %s", g->number, strerror(-r));
        b = g->broker;
        group_reset(g, &done);
        if (done.opened > 0 && done.reset == done.opened)
                ledger_mark_clean(&b->ledger, g->number);
        else
                ledger_mark_used(&b->ledger, g->number, g->uid, g->grant);
        snprintf(result, sizeof(result), "%zu/%zu reset%s", done.reset, done.opened,
                 done.by_bus ? " (bus)" : "");
        log_audit(LOG_INFO, &AUDIT_RECORD(AUDIT_RESET, .lease = g->lease_id, .has_group = true, .group = g->number, .result = result),
                  "group %d: free again (was lease %llu of uid %u); %zu of %zu device(s) reset%s",
                  g->number, (unsigned long long) g->lease_id, (unsigned) g->uid, done.reset, done.opened,
                  done.by_bus ? ", by a reset of their bus" : "");
        give_back(g);
        broker_changed(b); /* after: the store lets go of its fd */
        return 0;
}

static void on_retry(Source *s, void *userdata) {
        Group *g = userdata;

        if (group_try_detach(g) == 0)
                return;
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

void group_release(Group *g) {
        g->lease = NULL;
        if (group_try_detach(g) == 0)
                return;
        group_quarantine(g);
}
