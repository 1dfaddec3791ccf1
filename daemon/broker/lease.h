/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A lease: what one client holds.  Its domain (where its DMA mappings live),
 * its groups (whole), the devices it was handed with the broker's own copy of
 * each device fd (to tear the interrupts down at the end) and of each
 * eventfd (to hand the lease out again), and who holds it.
 */

#include <sys/resource.h>

#include "broker/broker.h"
#include "broker/group.h"
#include "common/bdf.h"

/* What a handed-out fd is to the lease. */
typedef enum LeaseFdKind {
        LEASE_FD_DOMAIN,
        LEASE_FD_DEVICE,
        LEASE_FD_IRQ,                   /* the device signals it */
        LEASE_FD_UNMASK,                /* INTx: write to unmask the line */
} LeaseFdKind;

typedef struct LeaseEventfd {
        int fd;
        LeaseFdKind kind;               /* LEASE_FD_IRQ or LEASE_FD_UNMASK */
        IrqType irq_type;
        uint32_t vector;
        int id;                         /* the kernel's eventfd-id once persistence read it; -1: not yet, -2: none */
} LeaseEventfd;

typedef struct LeasedDevice {
        char bdf[BDF_STRLEN + 1];
        Group *group;
        int fd;                         /* the broker's own device fd */
        int kernel_request;             /* the eventfd the kernel's REQ interrupt signals (unbind, unplug); -1: none */
        Source *kernel_request_watch;
        uint32_t irq_types;             /* bit per IrqType set up */
        LeaseEventfd *eventfds;
        size_t n_eventfds;
} LeasedDevice;

/* Where a lease the broker wants back is (broker/recall.c). */
typedef enum RecallStep {
        RECALL_NONE,
        RECALL_ASKED,                   /* the client was told; the grace runs */
        RECALL_TERMINATED,              /* SIGTERM went to the holders; SIGKILL follows */
} RecallStep;

typedef struct LeaseRecall {
        RecallStep step;
        char why[160];
        uint64_t since_usec;            /* CLOCK_REALTIME when it was asked back */
        uint64_t next_usec;             /* CLOCK_REALTIME of its next step (the timer's), kept across restarts */
        Source *timer;
} LeaseRecall;

struct Lease {
        Broker *broker;
        uint64_t id;
        Connection *connection;
        uid_t uid;
        pid_t pid;
        uint64_t since_usec;            /* CLOCK_REALTIME when it was granted */
        uint64_t memlock;               /* the client's RLIMIT_MEMLOCK while leased; 0: untouched */
        struct rlimit saved_memlock;    /* to restore at the end */
        KernelDomain *domain;
        Group **groups;
        size_t n_groups;
        LeasedDevice *devices;
        size_t n_devices;
        UserCharge charge;              /* USER_LEASES */
        AcquireJob *growing;            /* an acquire opening new devices for it off the loop (broker/acquire-job.c) */
        LeaseRecall recall;
        LIST_ENTRY(Lease) link;         /* in its connection's list */
};

/* A new lease of @c with a new domain for @mode. */
int lease_new(Connection *c, KernelMode mode, Lease **ret);
/* The same on @domain (taken, also on failure). */
int lease_new_with_domain(Connection *c, KernelDomain *domain, Lease **ret);
/*
 * A lease from before a restart: @id, when granted, the memlock it set and
 * what to restore, on @domain (taken, also on failure).
 */
int lease_adopt(Connection *c, uint64_t id, uint64_t since_usec, uint64_t memlock, const struct rlimit *saved,
                KernelDomain *domain, Lease **ret);

/* Ask the client to give the lease back: signal the REQ eventfds it holds (if it asked for them). */
size_t lease_request_release(Lease *l);
/*
 * Want the lease back (broker/recall.c): tell the client (an event, its REQ
 * eventfds), give it the policy's RecallGraceSec, then escalate as
 * RecallEscalation says and end the lease; the groups are quarantined until
 * the last fd of them closes.  Once: a recalled lease is not recalled again.
 */
void lease_recall(Lease *l, const char *why);
/*
 * Recall every lease a device of which is on its way out (its cdev gone: an
 * unbind or removal waits for the fds).  What reaches a VMM-mode lease, whose
 * REQ interrupt the VMM takes.
 */
void broker_recall_departing(Broker *b);
/* Stop the recall's timer (the lease ends). */
void lease_recall_cancel(Lease *l);
/*
 * Go on with a recall an earlier broker began (adopted from the state file): the step it had
 * reached, and its next step at @next_usec (CLOCK_REALTIME; at once if that is past).
 */
int lease_recall_resume(Lease *l, RecallStep step, uint64_t since_usec, uint64_t next_usec, const char *why);
/* Close the broker's fds and free the lease, leaving the kernel state as it is (a restart). */
void lease_abandon(Lease *l);
/* Tear down IRQs, close the broker's fds, release every group; frees the lease. */
void lease_release(Lease *l, const char *why);
/* lease_release(), and @wait hears when each group is free or quarantined (its resets may run off the loop). */
void lease_release_wait(Lease *l, const char *why, ReleaseWait *wait);
/* The same for a lease that was never granted (an acquire rolled back): no one hears of it, nothing is audited. */
void lease_discard(Lease *l);

LeasedDevice *lease_find_device(Lease *l, const char *bdf);
bool lease_has_group(Lease *l, const Group *g);
int lease_add_group(Lease *l, Group *g);
/* @d's fds and eventfds become the lease's (also on failure: then closed). */
int lease_add_device(Lease *l, LeasedDevice *d);
/* A device of the lease from before a restart: opened again through its group. */
int lease_adopt_device(Lease *l, const char *bdf, Group *g, uint32_t irq_types);

/* Keep @fd, handed out with @d, to hand it out again (taken: closed on failure). */
int leased_device_keep_eventfd(LeasedDevice *d, int fd, LeaseFdKind kind, IrqType irq_type, uint32_t vector);
/* Tear down the device's IRQs and close the broker's fds of it. */
void leased_device_teardown(LeasedDevice *d, const KernelBackend *backend);
/* The same, the device fd into *@ret_fd instead of closed (NULL: closed). */
void leased_device_teardown_keep(LeasedDevice *d, const KernelBackend *backend, int *ret_fd);

/* What the lease's fds are made of. */
KernelMode lease_mode(const Lease *l);

/* Apply the lease's MemlockLimit to its client, or restore what it had. */
int lease_apply_memlock(Lease *l, uint64_t limit);
