/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/*
 * Inside the acquire transaction (acquire.c) and its off-the-loop part
 * (acquire-job.c): what it checked of each device, what it took so far,
 * and the steps both parts take.
 */
#include "broker/acquire.h"
#include "broker/devices.h"

typedef struct IrqWant {
        IrqType type;
        uint32_t count;
} IrqWant;

/* One device of the request, as it is checked and then taken. */
typedef struct DeviceWant {
        PciDevice pci;
        const Grant *grant;             /* once authorized */
        IrqWant irqs[_IRQ_TYPE_MAX];
        size_t n_irqs;
        Group *group;                   /* once attached */
        /* The devices of its group, read by the viability check when no lease holds the group. */
        char (*members)[BDF_STRLEN + 1];
        size_t n_members;
        /* Not on vfio-pci, or its group not viable, but a Managed=yes pool holds it: the refusal, unless it is managed. */
        int deferred;
        char deferred_why[384];
        bool managed;                   /* once authorized: the broker moves its group to vfio-pci */
} DeviceWant;

/* The transaction's state: what it took so far, to commit or to roll back. */
typedef struct Acquire {
        Broker *broker;
        Connection *connection;         /* NULL once an acquire off the loop was orphaned */
        const AcquireRequest *request;
        BrokerError *err;
        DeviceWant wants[ACQUIRE_MAX_DEVICES];
        Lease *lease;
        bool new_lease;
        uint64_t memlock;
        LeasedDevice devices[ACQUIRE_MAX_DEVICES];
        size_t n_devices;
        Group *new_groups[ACQUIRE_MAX_DEVICES];
        size_t n_new;
        /* Devices moved to vfio-pci by this acquire (managed): given back if it fails. */
        char (*moved)[BDF_STRLEN + 1];
        size_t n_moved;
        /* Off the loop: the new lease's domain and each want's group (NULL: an earlier want's) until the commit. */
        KernelDomain *domain;
        KernelGroup *kgroups[ACQUIRE_MAX_DEVICES];
} Acquire;

/* An acquire whose devices open off the loop (acquire_start()): its groups are reserved until it ends. */
struct AcquireJob {
        Acquire a;
        AcquireRequest request;         /* a copy, without the devices (read by the validation only) */
        BrokerError err;
        uid_t uid;
        int r;                          /* the kernel part's result */
        uint64_t policy_serial;         /* the policy it was authorized by */
        bool grows;                     /* a->lease existed: a->domain is a second handle on its domain */
        AcquireDoneFn done;             /* NULL: orphaned */
        void *userdata;
        LIST_ENTRY(AcquireJob) link;    /* in Broker.acquiring */
};

/* Managed: @w's group onto vfio-pci (recorded first), unless it is not managed. */
int acquire_move_managed(Acquire *a, DeviceWant *w);
/* The kernel's part of taking @w's group: open it, attach it to @domain.  May run off the loop. */
int acquire_open_group(Acquire *a, DeviceWant *w, KernelDomain *domain, KernelGroup **ret);
/* The model's part: the group (@kg, taken) is the broker's, for a->lease. */
int acquire_adopt_group(Acquire *a, DeviceWant *w, KernelGroup *kg);
/* Open @w's device through @kg, set up its IRQs; into a->devices either way.  May run off the loop. */
int acquire_open_device(Acquire *a, DeviceWant *w, KernelGroup *kg);
/* What this acquire moved goes back to its drivers (its fds closed). */
void acquire_give_back_moved(Acquire *a);
/* Undo what the act took, on the loop. */
void acquire_rollback(Acquire *a);
int acquire_commit(Acquire *a, size_t *ret_first);
void acquire_audit_refusal(Connection *c, int r, const BrokerError *err, bool by_policy);

/* acquire-job.c: devices and leases acquires off the loop are taking for @uid. */
size_t acquire_pending_of_uid(Broker *b, uid_t uid, size_t *ret_leases);
/* Whether the kernel resets a device as @a opens it, and @a may open it off the loop (a new group each). */
bool acquire_opens_slowly(Acquire *a);
/* Validated and authorized: go on off the loop (ACQUIRE_PENDING), or why not. */
int acquire_defer(Acquire *a, AcquireDoneFn done, void *userdata, AcquireJob **ret_job);
