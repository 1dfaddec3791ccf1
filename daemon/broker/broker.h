/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The model: the connections the broker serves, the leases they hold, the
 * IOMMU groups it has taken (leased or quarantined; a group it does not
 * hold is free), the users they are charged to, and the reset ledger.  It
 * speaks to the kernel through the backend chosen at start (kernel/), never
 * sees the protocol or the service manager, and announces what changed to
 * whoever observes it (persistence, the admin API).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "broker/ledger.h"
#include "broker/user.h"
#include "host/devcache.h"
#include "host/managed.h"
#include "kernel/backend.h"
#include "policy/policy.h"
#include "util/loop.h"

typedef struct Broker Broker;
typedef struct Connection Connection;
typedef struct Lease Lease;
typedef struct Group Group;
typedef struct AcquireJob AcquireJob;

typedef struct BrokerConfig {
        const char *sysfs_root;
        const char *policy_file;
        bool policy_file_required;      /* given on the command line: must exist */
        const char *policy_dir;
        const KernelBackend *backend;
        unsigned max_connections_per_uid;
        unsigned max_leases_per_uid;
        unsigned max_unauthenticated;   /* connections that have not said Hello, all uids */
        uint64_t hello_timeout_usec;
        unsigned max_queued_bytes;      /* of replies not read yet, per uid */
        unsigned max_fds_in_flight;     /* fds sent but not received yet, per uid */
        const char *managed_file;       /* the record of devices moved for Managed=yes pools; NULL: managing is off */
} BrokerConfig;

#define BROKER_DEFAULT_MAX_CONNECTIONS_PER_UID 64
#define BROKER_DEFAULT_MAX_LEASES_PER_UID 16
#define BROKER_DEFAULT_MAX_UNAUTHENTICATED 256
#define BROKER_DEFAULT_HELLO_TIMEOUT_USEC (5 * 1000000ULL)
#define BROKER_DEFAULT_MAX_QUEUED_BYTES (256 * 1024)
#define BROKER_DEFAULT_MAX_FDS_IN_FLIGHT 1024

/* What a lease's holder hears from the broker unasked. */
typedef enum LeaseEventKind {
        LEASE_EVENT_RECALLED = 1,       /* give it back within the grace */
        LEASE_EVENT_ENDED,              /* the broker ended it */
} LeaseEventKind;

/* Who hears of leases coming and going and of every change a restart must find again. */
typedef struct BrokerObserver {
        void (*lease_acquired)(Lease *l, void *userdata);
        void (*lease_released)(Lease *l, const char *why, void *userdata);
        /* Tell the holder (the client protocol): not allowed to free anything. */
        void (*lease_event)(Lease *l, LeaseEventKind kind, const char *why, uint64_t grace_usec, void *userdata);
        void (*state_changed)(Broker *b, void *userdata);
} BrokerObserver;

#define BROKER_MAX_OBSERVERS 4

/* How the broker is ending, if it is: what becomes of the leases of a connection freed then. */
typedef enum BrokerEnding {
        BROKER_RUNNING,                 /* released, "client gone" */
        BROKER_LEAVING,                 /* left as they are in the kernel, for the next start to adopt */
        BROKER_STOPPING,                /* released, "broker stopped" */
} BrokerEnding;

struct Broker {
        BrokerConfig config;
        Loop *loop;
        UserRegistry users;
        uint64_t next_connection_id;
        uint64_t next_lease_id;
        LIST_HEAD(, Connection) connections;
        LIST_HEAD(, Group) groups;
        LIST_HEAD(, AcquireJob) acquiring;  /* acquires whose devices are being opened off the loop (broker/acquire.c) */
        Policy policy;
        uint64_t policy_serial;         /* one more on each load: an acquire off the loop sees a reload */
        ResetLedger ledger;
        bool interrupt_remapping;       /* the host's, read at start: it is fixed at boot */
        DeviceCache *devices;           /* sysfs between kernel events (host/devcache.h) */
        Source *uevents;                /* its uevent socket on the loop: a leased device's departure recalls its lease */
        ManagedHost *managed;           /* devices moved to vfio-pci (host/managed.h); NULL: off */
        BrokerEnding ending;
        struct {
                const BrokerObserver *ops;
                void *userdata;
        } observers[BROKER_MAX_OBSERVERS];
        size_t n_observers;
        unsigned hold;                  /* > 0: state changes wait for broker_unhold() */
        bool dirty;
};

/* The defaults: /sys, /etc policy, the legacy backend, and the limits above. */
void broker_config_init(BrokerConfig *config);

int broker_new(Broker **ret, Loop *loop, const BrokerConfig *config);
/* Every connection must be gone (the protocol's face frees them first). */
Broker *broker_free(Broker *b);

/* (Re)load the policy; on failure the one in force stays and -errno is returned with *err. */
int broker_load_policy(Broker *b, PolicyError *err);

Group *broker_find_group(Broker *b, int number);
/* Any connection's lease @id. */
Lease *broker_find_lease(Broker *b, uint64_t id);
/* Devices held by @uid across every lease. */
size_t broker_devices_of_uid(Broker *b, uid_t uid);
size_t broker_count_leases(Broker *b);

int broker_observe(Broker *b, const BrokerObserver *ops, void *userdata);
void broker_unobserve(Broker *b, const BrokerObserver *ops, void *userdata);

void broker_announce_acquired(Broker *b, Lease *l);
void broker_announce_released(Broker *b, Lease *l, const char *why);
void broker_announce_event(Broker *b, Lease *l, LeaseEventKind kind, const char *why, uint64_t grace_usec);
/* Something a restart must find again changed: observers hear it now, or at the unhold. */
void broker_changed(Broker *b);
/* Between hold and unhold, changes are announced once, at the unhold: one request, one write. */
void broker_hold(Broker *b);
void broker_unhold(Broker *b);
/* Give back every device an earlier broker (or this one) moved that no group of ours holds now. */
void broker_restore_managed(Broker *b);
/* Tell the observers of the state now, held or not. */
void broker_flush(Broker *b);
