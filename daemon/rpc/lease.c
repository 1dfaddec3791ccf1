/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Acquire, Release and FetchLease: leases on the wire, their fds beside the reply. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/acquire.h"
#include "broker/group.h"
#include "common/util.h"
#include "rpc/dispatch.h"
#include "rpc/error.h"

static int irq_from_wire(Vfiobroker__IrqType t) {
        switch (t) {
        case VFIOBROKER__IRQ_TYPE__IRQ_INTX: return IRQ_INTX;
        case VFIOBROKER__IRQ_TYPE__IRQ_MSI: return IRQ_MSI;
        case VFIOBROKER__IRQ_TYPE__IRQ_MSIX: return IRQ_MSIX;
        case VFIOBROKER__IRQ_TYPE__IRQ_ERR: return IRQ_ERR;
        case VFIOBROKER__IRQ_TYPE__IRQ_REQ: return IRQ_REQ;
        default: return -1;
        }
}

static Vfiobroker__IrqType irq_to_wire(IrqType t) {
        static const Vfiobroker__IrqType wire[] = {
                [IRQ_INTX] = VFIOBROKER__IRQ_TYPE__IRQ_INTX, [IRQ_MSI] = VFIOBROKER__IRQ_TYPE__IRQ_MSI,
                [IRQ_MSIX] = VFIOBROKER__IRQ_TYPE__IRQ_MSIX, [IRQ_ERR] = VFIOBROKER__IRQ_TYPE__IRQ_ERR,
                [IRQ_REQ] = VFIOBROKER__IRQ_TYPE__IRQ_REQ,
        };

        return t < ELEMENTSOF(wire) ? wire[t] : VFIOBROKER__IRQ_TYPE__IRQ_UNSPECIFIED;
}

static int backend_from_wire(Vfiobroker__Backend b) {
        switch (b) {
        case VFIOBROKER__BACKEND__BACKEND_LEGACY: return KERNEL_MODE_LEGACY;
        case VFIOBROKER__BACKEND__BACKEND_IOMMUFD: return KERNEL_MODE_IOMMUFD;
        case VFIOBROKER__BACKEND__BACKEND_VMM: return KERNEL_MODE_VMM;
        default: return -1;
        }
}

static Vfiobroker__Backend backend_to_wire(KernelMode m) {
        return m == KERNEL_MODE_IOMMUFD ? VFIOBROKER__BACKEND__BACKEND_IOMMUFD
             : m == KERNEL_MODE_VMM     ? VFIOBROKER__BACKEND__BACKEND_VMM
                                        : VFIOBROKER__BACKEND__BACKEND_LEGACY;
}

static Vfiobroker__FdKind fd_kind_to_wire(LeaseFdKind k) {
        switch (k) {
        case LEASE_FD_DOMAIN: return VFIOBROKER__FD_KIND__FD_CONTAINER;
        case LEASE_FD_DEVICE: return VFIOBROKER__FD_KIND__FD_DEVICE;
        case LEASE_FD_IRQ: return VFIOBROKER__FD_KIND__FD_IRQ;
        default: return VFIOBROKER__FD_KIND__FD_UNMASK;
        }
}

/* The lease's domain and its devices from @first on, with their eventfds, in the order of the reply's roles. */
static int add_lease_fds(Reply *reply, const Lease *l, size_t first) {
        int r;

        r = reply_add_fd(reply, kernel_domain_fd(l->domain),
                         lease_mode(l) == KERNEL_MODE_LEGACY ? fd_kind_to_wire(LEASE_FD_DOMAIN)
                                                             : VFIOBROKER__FD_KIND__FD_IOMMUFD, NULL, 0, 0);
        for (size_t i = first; r >= 0 && i < l->n_devices; i++) {
                const LeasedDevice *d = &l->devices[i];

                r = reply_add_fd(reply, d->fd, fd_kind_to_wire(LEASE_FD_DEVICE), d->bdf, 0, 0);
                for (size_t k = 0; r >= 0 && k < d->n_eventfds; k++)
                        r = reply_add_fd(reply, d->eventfds[k].fd, fd_kind_to_wire(d->eventfds[k].kind), d->bdf,
                                         irq_to_wire(d->eventfds[k].irq_type), d->eventfds[k].vector);
        }
        return r;
}

/* The request in the model's terms; the IRQ lists live in *ret_irqs (the caller frees it). */
static int acquire_from_wire(const Vfiobroker__AcquireRequest *a, AcquireDevice **ret_devices, AcquireIrq **ret_irqs) {
        _cleanup_free_ AcquireDevice *devices = calloc(a->n_devices + 1, sizeof(*devices));
        size_t n_irqs = 0, k = 0;
        AcquireIrq *irqs;

        for (size_t i = 0; i < a->n_devices; i++)
                n_irqs += a->devices[i]->n_irqs;
        irqs = calloc(n_irqs + 1, sizeof(*irqs));
        if (!devices || !irqs) {
                free(irqs);
                return -ENOMEM;
        }
        for (size_t i = 0; i < a->n_devices; i++) {
                const Vfiobroker__DeviceRequest *dr = a->devices[i];

                devices[i] = (AcquireDevice) { .bdf = dr->bdf, .irqs = irqs + k, .n_irqs = dr->n_irqs };
                for (size_t j = 0; j < dr->n_irqs; j++)
                        irqs[k++] = (AcquireIrq) { .type = irq_from_wire(dr->irqs[j]->type),
                                                   .wire_type = dr->irqs[j]->type, .count = dr->irqs[j]->count };
        }
        *ret_devices = TAKE_PTR(devices);
        *ret_irqs = irqs;
        return 0;
}

/* The groups' members, whole: what the lease reserves. */
static int acquire_to_wire(const Lease *l, Reply *reply) {
        Vfiobroker__AcquireReply *r;
        size_t n = 0;
        char **p;

        for (size_t i = 0; i < l->n_groups; i++)
                n += l->groups[i]->n_members;
        r = reply_alloc(reply, sizeof(*r));
        p = reply_alloc(reply, sizeof(char *) * (n + 1));
        if (!r || !p)
                return -ENOMEM;
        vfiobroker__acquire_reply__init(r);
        r->lease_id = l->id;
        r->backend = backend_to_wire(lease_mode(l));
        r->ioas_id = kernel_domain_ioas(l->domain);
        r->reserved = p;
        for (size_t i = 0; i < l->n_groups; i++)
                for (size_t k = 0; k < l->groups[i]->n_members; k++) {
                        r->reserved[r->n_reserved] = reply_strdup(reply, l->groups[i]->members[k]);
                        if (!r->reserved[r->n_reserved++])
                                return -ENOMEM;
                }
        reply->msg.result_case = VFIOBROKER__REPLY__RESULT_ACQUIRE;
        reply->msg.acquire = r;
        return 0;
}

/* The reply to an acquire: the lease and its new devices' fds, or why not. */
static int acquire_reply(Lease *lease, size_t first, Reply *reply, BrokerError *err) {
        int r;

        r = acquire_to_wire(lease, reply);
        if (r >= 0)
                r = add_lease_fds(reply, lease, first);
        if (r < 0) {
                /* Committed: the lease is the client's, but it cannot be told. Release it whole. */
                lease_release(lease, "out of memory while acquiring");
                return broker_error_system(err, -ENOMEM, "out of memory");
        }
        return 0;
}

/* An acquire whose devices opened off the loop is done: its reply, and the session reads again. */
static void acquire_done(void *userdata, int r, const BrokerError *err, Lease *lease, size_t first) {
        Session *s = userdata;
        BrokerError e = *err;
        Reply reply;

        s->acquiring = NULL;
        reply_init(&reply, s->waiting_id);
        if (r == 0)
                r = acquire_reply(lease, first, &reply, &e);
        if (r != 0)
                reply_set_error(&reply, r, &e);
        session_send_deferred(s, &reply);
}

int handle_acquire(Session *s, const Vfiobroker__Request *req, Reply *reply, BrokerError *err) {
        _cleanup_free_ AcquireDevice *devices = NULL;
        _cleanup_free_ AcquireIrq *irqs = NULL;
        AcquireRequest a;
        Lease *lease;
        size_t first;
        int r;

        r = acquire_from_wire(req->acquire, &devices, &irqs);
        if (r < 0)
                return r;
        a = (AcquireRequest) { .lease_id = req->acquire->lease_id, .mode = backend_from_wire(req->acquire->backend),
                               .devices = devices, .n_devices = req->acquire->n_devices, .max_fds = VFIO_BROKER_MAX_FDS };
        session_observe_queue(s); /* the fds-in-flight budget, as of now */
        r = acquire_start(s->connection, &a, err, acquire_done, s, &lease, &first, &s->acquiring);
        if (r == ACQUIRE_PENDING) {
                /* The kernel resets its devices as they open: the reply once they are, off the loop. */
                s->waiting_id = req->id;
                return RPC_DEFERRED;
        }
        if (r != 0)
                return r;
        return acquire_reply(lease, first, reply, err);
}

int handle_release(Session *s, const Vfiobroker__Request *req, Reply *reply, BrokerError *err) {
        Connection *c = s->connection;
        Vfiobroker__ReleaseReply *r;
        ReleaseWait *wait;
        Lease *lease;

        lease = connection_find_lease(c, req->release->lease_id);
        if (!lease)
                return broker_error(err, BROKER_E_UNKNOWN_LEASE, "this connection holds no lease %llu",
                                    (unsigned long long) req->release->lease_id);
        r = reply_alloc(reply, sizeof(*r));
        wait = release_wait_new(session_release_done, s);
        if (!r || !wait) {
                free(wait);
                return -ENOMEM;
        }
        vfiobroker__release_reply__init(r);

        lease_release_wait(lease, "released by the client", wait);

        if (wait->pending > 1) {
                /* Resets run off the loop: the reply when every group is free (or quarantined). */
                s->waiting = wait;
                s->waiting_id = req->id;
                release_wait_step(wait, false);
                return RPC_DEFERRED;
        }
        r->quarantined = wait->quarantined;
        release_wait_cancel(wait);
        release_wait_step(wait, false);
        reply->msg.result_case = VFIOBROKER__REPLY__RESULT_RELEASE;
        reply->msg.release = r;
        return 0;
}

int handle_fetch_lease(Session *s, const Vfiobroker__Request *req, Reply *reply, BrokerError *err) {
        Connection *c = s->connection;
        Vfiobroker__FetchLeaseReply *r;
        size_t n_fds = 1;
        Lease *lease;
        int e;

        lease = connection_find_lease(c, req->fetch_lease->lease_id);
        if (!lease)
                return broker_error(err, BROKER_E_UNKNOWN_LEASE, "this connection holds no lease %llu",
                                    (unsigned long long) req->fetch_lease->lease_id);
        for (size_t i = 0; i < lease->n_devices; i++)
                n_fds += 1 + lease->devices[i].n_eventfds;
        session_observe_queue(s);
        e = connection_check_fd_budget(c, n_fds, err);
        if (e != 0)
                return e;
        r = reply_alloc(reply, sizeof(*r));
        if (!r)
                return -ENOMEM;
        vfiobroker__fetch_lease_reply__init(r);
        r->lease_id = lease->id;
        r->backend = backend_to_wire(lease_mode(lease));
        r->ioas_id = kernel_domain_ioas(lease->domain);
        reply->msg.result_case = VFIOBROKER__REPLY__RESULT_FETCH_LEASE;
        reply->msg.fetch_lease = r;
        if (add_lease_fds(reply, lease, 0) < 0)
                return broker_error(err, BROKER_E_TOO_MANY_FDS, "the lease has more fds than a reply carries (%d)",
                                    VFIO_BROKER_MAX_FDS);
        return 0;
}
