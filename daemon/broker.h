/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The broker's state: the connections it serves, the leases they hold, and
 * the IOMMU groups it has open (leased or quarantined).  A group the broker
 * does not have open is free.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <sys/resource.h>

#include "bdf.h"
#include "devcache.h"
#include "loop.h"
#include "policy.h"

typedef struct Broker Broker;
typedef struct Connection Connection;
typedef struct Lease Lease;
typedef struct Group Group;
typedef struct User User;

typedef struct BrokerConfig {
        const char *socket_path;
        const char *sysfs_root;
        const char *policy_file;
        bool policy_file_required;      /* given on the command line: must exist */
        const char *policy_dir;
        unsigned max_connections_per_uid;
        unsigned max_leases_per_uid;
        unsigned max_unauthenticated;   /* connections that have not said Hello, all uids */
        uint64_t hello_timeout_usec;
        unsigned max_queued_bytes;      /* of replies not read yet, per uid */
        unsigned max_fds_in_flight;     /* fds sent but not received yet, per uid */
} BrokerConfig;

#define BROKER_DEFAULT_MAX_CONNECTIONS_PER_UID 64
#define BROKER_DEFAULT_MAX_LEASES_PER_UID 16
#define BROKER_DEFAULT_MAX_UNAUTHENTICATED 256
#define BROKER_DEFAULT_HELLO_TIMEOUT_USEC (5 * 1000000ULL)
#define BROKER_DEFAULT_MAX_QUEUED_BYTES (256 * 1024)
#define BROKER_DEFAULT_MAX_FDS_IN_FLIGHT 1024

/* What one uid holds of the broker, against the limits above. */
struct User {
        Broker *broker;
        uid_t uid;
        unsigned n_connections;
        unsigned n_leases;
        unsigned queued_bytes;          /* sum over its connections */
        unsigned fds_in_flight;         /* sum over its connections */
        LIST_ENTRY(User) link;
};

/* A group released without a reset of every device: it remembers who had it. */
typedef struct UsedGroup {
        int number;
        uid_t uid;
} UsedGroup;

typedef enum GroupState {
        GROUP_LEASED,
        GROUP_QUARANTINED,
} GroupState;

struct Group {
        Broker *broker;
        int number;
        int fd;
        GroupState state;
        Lease *lease;                   /* while leased */
        uint64_t lease_id;              /* the lease it is (or was, in quarantine) part of */
        uid_t uid;                      /* that lease's uid */
        /* Its devices when it was taken: the acquire reply names them, the reset pass opens them. */
        char (*members)[BDF_STRLEN + 1];
        size_t n_members;
        Source *retry;                  /* quarantine: next attempt to detach */
        uint64_t backoff_usec;
        LIST_ENTRY(Group) link;
};

/* An eventfd handed out with a lease; the broker keeps a copy to hand it out again. */
typedef struct LeaseEventfd {
        int fd;
        int kind;                       /* Vfiobroker__FdKind: FD_IRQ or FD_UNMASK */
        int irq_type;                   /* Vfiobroker__IrqType */
        uint32_t vector;
        int id;                         /* the kernel's eventfd-id (fdinfo) once persist.c read it; -1: not yet, -2: none */
} LeaseEventfd;

typedef struct LeasedDevice {
        char bdf[BDF_STRLEN + 1];
        Group *group;
        int fd;                         /* the broker's own device fd */
        uint32_t irq_indices;           /* bit per VFIO_PCI_*_IRQ_INDEX set up */
        LeaseEventfd *eventfds;
        size_t n_eventfds;
} LeasedDevice;

struct Lease {
        Broker *broker;
        uint64_t id;
        Connection *connection;
        uid_t uid;
        pid_t pid;
        uint64_t since_usec;            /* CLOCK_REALTIME when it was granted */
        uint64_t memlock;               /* the client's RLIMIT_MEMLOCK while leased; 0: untouched */
        struct rlimit saved_memlock;    /* to restore at the end */
        int container_fd;
        Group **groups;
        size_t n_groups;
        LeasedDevice *devices;
        size_t n_devices;
        LIST_ENTRY(Lease) link;         /* in its connection's list */
};

struct Connection {
        Broker *broker;
        uint64_t id;
        int fd;
        Source *io;
        int pidfd;
        Source *pid_watch;
        Source *hello_timer;
        User *user;
        bool counted;                   /* in user->n_connections (and, before Hello, n_unauthenticated) */
        unsigned queued_bytes;          /* of our replies it has not read, when last looked */
        bool queue_seen;                /* looked at while handling the current request */
        unsigned fds_in_flight;         /* sent since its queue was last seen empty */
        uid_t uid;
        gid_t gid;
        pid_t pid;
        gid_t *groups;                  /* supplementary, SO_PEERGROUPS */
        size_t n_groups;
        char cgroup[512];
        char label[256];                /* SO_PEERSEC; "" without an LSM label */
        bool said_hello;
        char name[65];
        LIST_HEAD(, Lease) leases;
        LIST_ENTRY(Connection) link;
};

/* Who wants to hear of leases coming and going (the D-Bus admin API). */
typedef struct BrokerHooks {
        void (*lease_acquired)(Lease *l, void *userdata);
        void (*lease_released)(Lease *l, const char *why, void *userdata);
} BrokerHooks;

struct Broker {
        BrokerConfig config;
        const BrokerHooks *hooks;
        void *hooks_userdata;
        Loop *loop;
        int listen_fd;
        Source *listen_io;
        uint64_t next_connection_id;
        uint64_t next_lease_id;
        LIST_HEAD(, Connection) connections;
        LIST_HEAD(, Group) groups;
        LIST_HEAD(, User) users;
        unsigned n_unauthenticated;
        Policy policy;
        UsedGroup *used_groups;
        size_t n_used_groups;
        uint8_t *packet;                /* each request is read here (VFIO_BROKER_MAX_MESSAGE bytes) */
        bool interrupt_remapping;       /* the host's, read at start: it is fixed at boot */
        DeviceCache *devices;           /* sysfs between kernel events (devcache.h) */
        /* Restarts that keep leases (persist.c): */
        bool persist;                   /* under systemd: fds go to its FD store, leases to the state file */
        bool keep_leases;               /* exiting for a restart: leave every lease to the FD store */
        bool stopping;                  /* exiting for good: every lease ends ("broker stopped") */
        struct StoredName *stored;      /* the names in the FD store (persist.c) */
        size_t n_stored;
        unsigned state_hold;            /* > 0: changes wait for broker_state_unhold() */
        bool state_dirty;
};

/* The defaults: /run socket, /sys, /etc policy, and the limits above. */
void broker_config_init(BrokerConfig *config);

int broker_new(Broker **ret, Loop *loop, const BrokerConfig *config);
Broker *broker_free(Broker *b);

/* Take over a listening socket (from systemd, or broker_listen()). */
int broker_set_listen_fd(Broker *b, int fd);
int broker_listen(Broker *b, const char *path);

Group *broker_find_group(Broker *b, int number);
/* Any connection's lease @id. */
Lease *broker_find_lease(Broker *b, uint64_t id);

/* (Re)load the policy; on failure the one in force stays and -errno is returned with *err. */
int broker_load_policy(Broker *b, PolicyError *err);

/* Devices held by @uid across every lease. */
size_t broker_devices_of_uid(Broker *b, uid_t uid);

/* Something a restart must find again changed: write the state (persist.c). */
void broker_state_changed(Broker *b);

/* Between hold and unhold, changes are written once, at the unhold: one request, one write. */
void broker_state_hold(Broker *b);
void broker_state_unhold(Broker *b);

/* ResetRequired bookkeeping: a group released unreset by @uid, or reset clean. */
void broker_mark_group_used(Broker *b, int number, uid_t uid);
void broker_mark_group_clean(Broker *b, int number);
const UsedGroup *broker_find_used_group(Broker *b, int number);

/* group.c */
/*
 * Track the open group @fd (taken on success).  @members: its devices, as
 * just read from sysfs (taken); NULL to read them here.
 */
int group_new(Broker *b, int number, int fd, char (*members)[BDF_STRLEN + 1], size_t n_members, Group **ret);
/* Let go of a group whose lease ended: detach it, or quarantine it until it can be. */
void group_release(Group *g);
/* Wait, retrying with backoff, until nothing holds the group's devices, then let go of it. */
void group_quarantine(Group *g);
Group *group_free(Group *g);
const char *group_state_name(GroupState state);

/* lease.c */
int lease_new(Connection *c, Lease **ret);
/* Ask the client to give the lease back: signal the REQ eventfds it holds (if it asked for them). */
size_t lease_request_release(Lease *l);
/* Close the broker's fds and free the lease, leaving the kernel state as it is (a restart). */
void lease_abandon(Lease *l);
/* Tear down IRQs, close the broker's fds, release every group; frees the lease. */
void lease_release(Lease *l, const char *why);
LeasedDevice *lease_find_device(Lease *l, const char *bdf);
bool lease_has_group(Lease *l, const Group *g);
int lease_add_group(Lease *l, Group *g);
int lease_add_device(Lease *l, const LeasedDevice *d);

/* Keep @fd, handed out with @d, to hand it out again (taken: closed on failure). */
int leased_device_keep_eventfd(LeasedDevice *d, int fd, int kind, int irq_type, uint32_t vector);
/* Tear down the device's IRQs and close the broker's fds of it. */
void leased_device_teardown(LeasedDevice *d);

/* Apply the lease's MemlockLimit to its client, or restore what it had. */
int lease_apply_memlock(Lease *l, uint64_t limit);

/* user.c */
User *user_ref(Broker *b, uid_t uid);
void user_unref(User *u);

/* connection.c */
int connection_new(Broker *b, int fd, Connection **ret);
/* A connection from before a restart: @saved gives its identity (id, uid, gid, pid, cgroup, label, name). */
int connection_adopt(Broker *b, int fd, int pidfd, const Connection *saved, Connection **ret);
Connection *connection_free(Connection *c);
Lease *connection_find_lease(Connection *c, uint64_t id);
/* How many more fds may go to @c's uid before it reads what it was sent. */
unsigned connection_fd_budget(Connection *c);
/* Hello done: the connection leaves the unauthenticated count and its deadline. */
void connection_said_hello(Connection *c);
