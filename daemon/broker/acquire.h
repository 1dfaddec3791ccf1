/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The acquire transaction: validate, authorize, act, commit.  Nothing the
 * client asked for causes a side effect before all of it was checked, and an
 * act that fails half-way is rolled back (nothing held, nothing open) before
 * the refusal is returned.
 */

#include "broker/connection.h"
#include "broker/lease.h"

#define ACQUIRE_MAX_DEVICES 16
#define ACQUIRE_MAX_VECTORS 2048

typedef struct AcquireIrq {
        int type;                       /* an IrqType; -1: none the broker knows */
        int wire_type;                  /* what the client sent, for the message */
        uint32_t count;                 /* 0: 1 */
} AcquireIrq;

typedef struct AcquireDevice {
        const char *bdf;                /* as the client wrote it */
        const AcquireIrq *irqs;
        size_t n_irqs;
} AcquireDevice;

typedef struct AcquireRequest {
        uint64_t lease_id;              /* 0: a new lease; else one of the connection's, which grows */
        KernelMode mode;                /* what the fds are made of; a lease that grows keeps its own */
        const AcquireDevice *devices;
        size_t n_devices;
        size_t max_fds;                 /* what one reply carries */
} AcquireRequest;

/*
 * Acquire for @c; its fds-in-flight charge must be current.  On success the
 * lease (new or grown) in *ret_lease, and the index of its first device this
 * acquire added in *ret_first: the reply hands out the domain and the devices
 * from there on.  A positive BROKER_E_* or -errno with @err saying why.
 */
int acquire(Connection *c, const AcquireRequest *a, BrokerError *err, Lease **ret_lease, size_t *ret_first);

/*
 * What acquire_start() returns when the new lease's devices are being opened
 * off the loop: the kernel resets a device with a reset as it is opened
 * (100 ms and more), which no other client may wait behind.  Their groups
 * are reserved meanwhile, and @done hears the end: r 0 with the lease and
 * its first new device, or the refusal with @err.
 */
#define ACQUIRE_PENDING 1000001
typedef void (*AcquireDoneFn)(void *userdata, int r, const BrokerError *err, Lease *lease, size_t first);

/* acquire(), or ACQUIRE_PENDING with the job in *@ret_job when its devices open off the loop. */
int acquire_start(Connection *c, const AcquireRequest *a, BrokerError *err, AcquireDoneFn done, void *userdata,
                  Lease **ret_lease, size_t *ret_first, AcquireJob **ret_job);

/* The client went away: the job closes what it opened, gives back what it moved, and tells nobody. */
void acquire_job_orphan(AcquireJob *j);
/* The lease the job grows ended: what it opened closes again, and the acquire is refused. */
void acquire_job_lease_gone(AcquireJob *j);

/* Whether an acquire off the loop reserved IOMMU group @number (and for which uid). */
bool broker_group_acquiring(Broker *b, int number, uid_t *ret_uid);

/* "INTx", "MSI", ... for messages. */
const char *irq_type_name(int type);
