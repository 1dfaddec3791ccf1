/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The broker's registries, its observers, and the policy in force. */
#include "broker/broker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/connection.h"
#include "broker/group.h"
#include "broker/lease.h"
#include "common/util.h"
#include "policy/policy-load.h"
#include "util/log.h"

void broker_config_init(BrokerConfig *config) {
        *config = (BrokerConfig) {
                .sysfs_root = "/sys",
                .policy_file = POLICY_DEFAULT_FILE,
                .policy_dir = POLICY_DEFAULT_DIR,
                .backend = &kernel_backend_legacy,
                .max_connections_per_uid = BROKER_DEFAULT_MAX_CONNECTIONS_PER_UID,
                .max_leases_per_uid = BROKER_DEFAULT_MAX_LEASES_PER_UID,
                .max_unauthenticated = BROKER_DEFAULT_MAX_UNAUTHENTICATED,
                .hello_timeout_usec = BROKER_DEFAULT_HELLO_TIMEOUT_USEC,
                .max_queued_bytes = BROKER_DEFAULT_MAX_QUEUED_BYTES,
                .max_fds_in_flight = BROKER_DEFAULT_MAX_FDS_IN_FLIGHT,
        };
}

/* The kernel said something of a device: drained here, and a leased device on its way out recalls its lease. */
static void on_uevents(Source *s, int fd, void *userdata) {
        Broker *b = userdata;

        if (device_cache_sync(b->devices))
                broker_recall_departing(b);
}

int broker_new(Broker **ret, Loop *loop, const BrokerConfig *config) {
        Broker *b;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        *b = (Broker) { .config = *config, .loop = loop, .interrupt_remapping = host_interrupt_remapping() };
        if (device_cache_new(config->sysfs_root, -EBADF, &b->devices) < 0) {
                free(b);
                return -ENOMEM;
        }
        if (config->managed_file) {
                int r = managed_host_new(config->sysfs_root, config->managed_file, &b->managed);

                if (r < 0) {
                        log_error("cannot read %s: %s", config->managed_file, strerror(-r));
                        device_cache_free(b->devices);
                        free(b);
                        return r;
                }
        }
        if (device_cache_events_fd(b->devices) >= 0 &&
            loop_add_io(loop, device_cache_events_fd(b->devices), on_uevents, b, &b->uevents) < 0)
                log_warning("cannot watch the kernel's uevents: a VMM lease's device being unbound goes unnoticed");
        user_registry_init(&b->users);
        policy_init(&b->policy);
        LIST_INIT(&b->connections);
        LIST_INIT(&b->groups);
        LIST_INIT(&b->acquiring);
        *ret = b;
        return 0;
}

Broker *broker_free(Broker *b) {
        Connection *c;
        Group *g;

        if (!b)
                return NULL;
        loop_drain_jobs(b->loop); /* the groups' resets in flight end first */
        while ((c = LIST_FIRST(&b->connections)))
                connection_free(c);
        while ((g = LIST_FIRST(&b->groups)))
                group_free(g);
        source_free(b->uevents);
        user_registry_done(&b->users);
        policy_done(&b->policy);
        ledger_done(&b->ledger);
        device_cache_free(b->devices);
        managed_host_free(b->managed);
        free(b);
        return NULL;
}

void broker_restore_managed(Broker *b) {
        _cleanup_free_ char (*moved)[BDF_STRLEN + 1] = NULL;
        size_t n = 0;

        if (!b->managed || managed_host_list(b->managed, &moved, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                PciDevice d;

                /* Held by a group of ours (adopted, or quarantined): given back when that ends. */
                if (device_cache_read_device(b->devices, moved[i], &d) >= 0 && d.iommu_group >= 0 &&
                    broker_find_group(b, d.iommu_group))
                        continue;
                (void) managed_host_restore(b->managed, moved[i]);
        }
}

int broker_load_policy(Broker *b, PolicyError *err) {
        Policy p;
        int r;

        r = policy_load(&p, b->config.policy_file, b->config.policy_file_required, b->config.policy_dir,
                        &policy_nss_resolver, err);
        if (r < 0)
                return r;
        policy_done(&b->policy);
        b->policy = p;
        b->policy_serial++;
        return 0;
}

size_t broker_devices_of_uid(Broker *b, uid_t uid) {
        Connection *c;
        Lease *l;
        size_t n = 0;

        LIST_FOREACH(c, &b->connections, link)
                LIST_FOREACH(l, &c->leases, link)
                        if (l->uid == uid)
                                n += l->n_devices;
        return n;
}

size_t broker_count_leases(Broker *b) {
        Connection *c;
        Lease *l;
        size_t n = 0;

        LIST_FOREACH(c, &b->connections, link)
                LIST_FOREACH(l, &c->leases, link)
                        n++;
        return n;
}

Lease *broker_find_lease(Broker *b, uint64_t id) {
        Connection *c;

        LIST_FOREACH(c, &b->connections, link) {
                Lease *l = connection_find_lease(c, id);

                if (l)
                        return l;
        }
        return NULL;
}

Group *broker_find_group(Broker *b, int number) {
        Group *g;

        LIST_FOREACH(g, &b->groups, link)
                if (g->number == number)
                        return g;
        return NULL;
}

int broker_observe(Broker *b, const BrokerObserver *ops, void *userdata) {
        if (b->n_observers >= BROKER_MAX_OBSERVERS)
                return -ENOSPC;
        b->observers[b->n_observers].ops = ops;
        b->observers[b->n_observers].userdata = userdata;
        b->n_observers++;
        return 0;
}

void broker_unobserve(Broker *b, const BrokerObserver *ops, void *userdata) {
        for (size_t i = 0; i < b->n_observers; i++)
                if (b->observers[i].ops == ops && b->observers[i].userdata == userdata) {
                        b->observers[i] = b->observers[--b->n_observers];
                        return;
                }
}

void broker_announce_acquired(Broker *b, Lease *l) {
        for (size_t i = 0; i < b->n_observers; i++)
                if (b->observers[i].ops->lease_acquired)
                        b->observers[i].ops->lease_acquired(l, b->observers[i].userdata);
}

void broker_announce_released(Broker *b, Lease *l, const char *why) {
        for (size_t i = 0; i < b->n_observers; i++)
                if (b->observers[i].ops->lease_released)
                        b->observers[i].ops->lease_released(l, why, b->observers[i].userdata);
}

void broker_announce_event(Broker *b, Lease *l, LeaseEventKind kind, const char *why, uint64_t grace_usec) {
        for (size_t i = 0; i < b->n_observers; i++)
                if (b->observers[i].ops->lease_event)
                        b->observers[i].ops->lease_event(l, kind, why, grace_usec, b->observers[i].userdata);
}

void broker_changed(Broker *b) {
        if (b->hold > 0) {
                b->dirty = true;
                return;
        }
        broker_flush(b);
}

void broker_flush(Broker *b) {
        b->dirty = false;
        for (size_t i = 0; i < b->n_observers; i++)
                if (b->observers[i].ops->state_changed)
                        b->observers[i].ops->state_changed(b, b->observers[i].userdata);
}

void broker_hold(Broker *b) {
        b->hold++;
}

void broker_unhold(Broker *b) {
        if (--b->hold > 0 || !b->dirty)
                return;
        b->dirty = false;
        broker_changed(b);
}
