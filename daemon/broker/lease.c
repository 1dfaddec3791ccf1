/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "broker/lease.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include "broker/acquire.h"
#include "broker/connection.h"
#include "broker/group.h"
#include "common/util.h"
#include "util/log.h"

static uint64_t now_realtime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static int lease_alloc(Connection *c, uint64_t id, KernelDomain *domain, Lease **ret) {
        Lease *l;

        l = calloc(1, sizeof(*l));
        if (!l) {
                kernel_domain_free(domain);
                return -ENOMEM;
        }
        *l = (Lease) {
                .broker = c->broker,
                .id = id,
                .connection = c,
                .uid = c->uid,
                .pid = c->pid,
                .domain = domain,
                .since_usec = now_realtime_usec(),
        };
        user_charge(&l->charge, c->user, USER_LEASES, 1);
        LIST_INSERT_HEAD(&c->leases, l, link);
        *ret = l;
        return 0;
}

int lease_new_with_domain(Connection *c, KernelDomain *domain, Lease **ret) {
        int r;

        r = lease_alloc(c, c->broker->next_lease_id + 1, domain, ret);
        if (r >= 0)
                c->broker->next_lease_id++;
        return r;
}

int lease_new(Connection *c, KernelMode mode, Lease **ret) {
        KernelDomain *domain;
        int r;

        r = kernel_domain_new(kernel_backend_for_mode(c->broker->config.backend, mode), mode, &domain);
        if (r < 0)
                return r;
        return lease_new_with_domain(c, domain, ret);
}

int lease_adopt(Connection *c, uint64_t id, uint64_t since_usec, uint64_t memlock, const struct rlimit *saved,
                KernelDomain *domain, Lease **ret) {
        Lease *l;
        int r;

        r = lease_alloc(c, id, domain, &l);
        if (r < 0)
                return r;
        if (c->broker->next_lease_id < id)
                c->broker->next_lease_id = id;
        l->since_usec = since_usec;
        l->memlock = memlock;
        l->saved_memlock = *saved;
        *ret = l;
        return 0;
}

LeasedDevice *lease_find_device(Lease *l, const char *bdf) {
        for (size_t i = 0; i < l->n_devices; i++)
                if (strcmp(l->devices[i].bdf, bdf) == 0)
                        return &l->devices[i];
        return NULL;
}

bool lease_has_group(Lease *l, const Group *g) {
        for (size_t i = 0; i < l->n_groups; i++)
                if (l->groups[i] == g)
                        return true;
        return false;
}

int lease_add_group(Lease *l, Group *g) {
        Group **p;

        p = reallocarray(l->groups, l->n_groups + 1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        l->groups = p;
        l->groups[l->n_groups++] = g;
        g->lease = l;
        g->lease_id = l->id;
        g->uid = l->uid;
        return 0;
}

/* The broker's fds of the device, closed; the kernel's interrupt routing left as it is. */
static void leased_device_close(LeasedDevice *d) {
        d->kernel_request_watch = source_free(d->kernel_request_watch);
        d->kernel_request = safe_close(d->kernel_request);
        d->fd = safe_close(d->fd);
        for (size_t i = 0; i < d->n_eventfds; i++)
                safe_close(d->eventfds[i].fd);
        free(d->eventfds);
        d->eventfds = NULL;
        d->n_eventfds = 0;
}

/* The kernel wants a device of @l back (its REQ interrupt: an unbind or a hot-unplug waits for the fds to close). */
static void on_kernel_request(Source *s, int fd, void *userdata) {
        Lease *l = userdata;
        char why[128];
        eventfd_t n;

        (void) eventfd_read(fd, &n);
        for (size_t i = 0; i < l->n_devices; i++)
                if (l->devices[i].kernel_request == fd) {
                        snprintf(why, sizeof(why), "the kernel asks for %s back: it is being unbound or removed",
                                 l->devices[i].bdf);
                        return lease_recall(l, why);
                }
}

/*
 * Route the device's REQ interrupt to an eventfd of ours, which the loop
 * watches: an unbind or unplug then reaches the broker, which recalls the
 * lease.  A client's own REQ eventfd is the broker's to signal (a recall does).
 * Not in VMM mode: the VMM binds the cdev and takes the REQ itself.
 */
static void leased_device_watch_requests(Lease *l, LeasedDevice *d) {
        const KernelBackend *backend = l->broker->config.backend;
        int unmask, r;

        if (lease_mode(l) == KERNEL_MODE_VMM)
                return;
        r = kernel_make_eventfds(&d->kernel_request, 1);
        if (r >= 0)
                r = kernel_device_route_irq(backend, d->fd, IRQ_REQ, &d->kernel_request, 1, &unmask);
        if (r >= 0) {
                d->irq_types |= 1u << IRQ_REQ;
                r = loop_add_io(l->broker->loop, d->kernel_request, on_kernel_request, l, &d->kernel_request_watch);
        }
        if (r < 0) {
                log_warning("%s: the kernel's device requests cannot reach the broker (%s): an unbind of it waits for "
                            "lease %llu to end", d->bdf, strerror(-r), (unsigned long long) l->id);
                d->kernel_request = safe_close(d->kernel_request);
        }
}

int lease_add_device(Lease *l, LeasedDevice *d) {
        LeasedDevice *p;

        p = reallocarray(l->devices, l->n_devices + 1, sizeof(*p));
        if (!p) {
                leased_device_teardown(d, l->broker->config.backend);
                return -ENOMEM;
        }
        l->devices = p;
        l->devices[l->n_devices++] = *d;
        leased_device_watch_requests(l, &l->devices[l->n_devices - 1]);
        return 0;
}

int lease_adopt_device(Lease *l, const char *bdf, Group *g, uint32_t irq_types) {
        LeasedDevice d = { .group = g, .fd = -EBADF, .kernel_request = -EBADF, .irq_types = irq_types };
        int r;

        string_copy(d.bdf, sizeof(d.bdf), bdf);
        r = kernel_device_open(g->kernel, d.bdf, &d.fd);
        if (r < 0)
                return r;
        return lease_add_device(l, &d);
}

int leased_device_keep_eventfd(LeasedDevice *d, int fd, LeaseFdKind kind, IrqType irq_type, uint32_t vector) {
        LeaseEventfd *p;

        p = reallocarray(d->eventfds, d->n_eventfds + 1, sizeof(*p));
        if (!p) {
                safe_close(fd);
                return -ENOMEM;
        }
        d->eventfds = p;
        d->eventfds[d->n_eventfds++] = (LeaseEventfd) {
                .fd = fd, .kind = kind, .irq_type = irq_type, .vector = vector, .id = -1,
        };
        return 0;
}

void leased_device_teardown(LeasedDevice *d, const KernelBackend *backend) {
        leased_device_teardown_keep(d, backend, NULL);
}

void leased_device_teardown_keep(LeasedDevice *d, const KernelBackend *backend, int *ret_fd) {
        for (IrqType t = 0; t < _IRQ_TYPE_MAX; t++) {
                int r;

                if (!(d->irq_types & (1u << t)))
                        continue;
                r = kernel_device_disable_irq(backend, d->fd, t);
                if (r < 0)
                        log_warning("%s: tearing down IRQ index %u: %s", d->bdf, (unsigned) t, strerror(-r));
        }
        d->irq_types = 0;
        if (ret_fd)
                *ret_fd = TAKE_FD(d->fd);
        leased_device_close(d);
}

KernelMode lease_mode(const Lease *l) {
        return kernel_domain_mode(l->domain);
}

/*
 * The other leases of @l's process that set a MemlockLimit: the largest, and
 * one of them in *@ret_any (it knows the limit from before the first).
 */
static uint64_t memlock_of_others(Lease *l, Lease **ret_any) {
        uint64_t most = 0;
        Connection *c;

        if (ret_any)
                *ret_any = NULL;
        LIST_FOREACH(c, &l->broker->connections, link) {
                Lease *o;

                if (c->pid != l->pid)
                        continue;
                LIST_FOREACH(o, &c->leases, link)
                        if (o != l && o->memlock > 0) {
                                most = o->memlock > most ? o->memlock : most;
                                if (ret_any)
                                        *ret_any = o;
                        }
        }
        return most;
}

/*
 * The rule: while a process holds leases with a MemlockLimit, its
 * RLIMIT_MEMLOCK is the largest of theirs; when the last of them ends, it gets
 * back what it had before the first.  So the first lease's end never takes
 * the budget of a second that is still held.
 */
int lease_apply_memlock(Lease *l, uint64_t limit) {
        struct rlimit want, old;
        Lease *any;
        uint64_t others;

        if (l->memlock == limit)
                return 0;
        others = memlock_of_others(l, &any);
        want.rlim_cur = want.rlim_max = limit > others ? limit : others;
        if (prlimit(l->pid, RLIMIT_MEMLOCK, &want, &old) < 0)
                return -errno;
        if (!l->memlock)
                l->saved_memlock = any ? any->saved_memlock : old;
        l->memlock = limit;
        return 0;
}

static void lease_restore_memlock(Lease *l) {
        Connection *c = l->connection;
        struct rlimit back;
        uint64_t others;

        if (!l->memlock)
                return;
        /* Only while the process the pidfd pins still lives: its pid cannot have been reused. */
        if (!c || !pidfd_alive(c->pidfd))
                return;
        others = memlock_of_others(l, NULL);
        back = others ? (struct rlimit) { .rlim_cur = others, .rlim_max = others } : l->saved_memlock;
        if (prlimit(l->pid, RLIMIT_MEMLOCK, &back, NULL) < 0)
                log_warning("lease %llu: restoring RLIMIT_MEMLOCK of pid %u: %s", (unsigned long long) l->id,
                            (unsigned) l->pid, strerror(errno));
}

size_t lease_request_release(Lease *l) {
        size_t n = 0;

        for (size_t i = 0; i < l->n_devices; i++)
                for (size_t k = 0; k < l->devices[i].n_eventfds; k++) {
                        const LeaseEventfd *e = &l->devices[i].eventfds[k];

                        if (e->kind == LEASE_FD_IRQ && e->irq_type == IRQ_REQ && eventfd_write(e->fd, 1) == 0)
                                n++;
                }
        return n;
}

/* Once out of its connection's list: the uid's charge, the domain, the memory. */
static void lease_free(Lease *l) {
        lease_recall_cancel(l);
        user_charge_drop(&l->charge);
        kernel_domain_free(l->domain);
        free(l->devices);
        free(l->groups);
        free(l);
}

void lease_abandon(Lease *l) {
        acquire_job_lease_gone(l->growing);
        l->growing = NULL;
        for (size_t i = 0; i < l->n_devices; i++)
                leased_device_close(&l->devices[i]);
        for (size_t i = 0; i < l->n_groups; i++)
                group_free(l->groups[i]);
        LIST_REMOVE(l, link);
        lease_free(l);
}

static void lease_end(Lease *l, const char *why, ReleaseWait *wait) {
        _cleanup_free_ int *closing = NULL;
        _cleanup_free_ size_t *first = NULL, *count = NULL;
        bool settle = false;
        Broker *b;

        if (!l)
                return;
        b = l->broker;
        broker_hold(b); /* the lease and each of its groups: one write */
        if (why) {
                broker_announce_released(b, l, why);
                log_audit(LOG_INFO,
                          &AUDIT_RECORD(AUDIT_RELEASE, .lease = l->id, .has_client = true, .uid = l->uid, .pid = l->pid,
                                        .result = why),
                          "lease %llu of uid %u released (%s)", (unsigned long long) l->id, (unsigned) l->uid, why);
        }
        lease_restore_memlock(l);
        acquire_job_lease_gone(l->growing); /* what it opened for the lease closes again */
        l->growing = NULL;
        /* Out of the lists first: the state written while its groups go must not name them. */
        LIST_REMOVE(l, link);
        /* Each group gets its devices' fds to close: the kernel resets a device as its last fd goes. */
        closing = calloc(l->n_devices + 1, sizeof(int));
        first = calloc(l->n_groups + 1, sizeof(size_t));
        count = calloc(l->n_groups + 1, sizeof(size_t));
        for (size_t k = 0, n = 0; k < l->n_groups; k++) {
                first[k] = n;
                for (size_t i = 0; closing && first && count && i < l->n_devices; i++)
                        if (l->devices[i].group == l->groups[k]) {
                                leased_device_teardown_keep(&l->devices[i], b->config.backend, &closing[n++]);
                                count[k]++;
                        }
        }
        for (size_t i = 0; i < l->n_devices; i++)
                leased_device_teardown(&l->devices[i], b->config.backend); /* any left (out of memory above) */
        for (size_t i = 0; i < l->n_groups; i++)
                settle |= kernel_group_let_go(l->groups[i]->kernel) > 0;
        if (settle) {
                /* Copies of the files we let go of (the FD store's) keep them bound: they go first. */
                broker_flush(b);
        }
        for (size_t k = 0; k < l->n_groups; k++) {
                int *fds = NULL;

                if (closing && count && count[k] > 0 && (fds = calloc(count[k], sizeof(int))))
                        memcpy(fds, closing + first[k], count[k] * sizeof(int));
                else if (closing && count)
                        close_many(closing + first[k], count[k]);
                group_release(l->groups[k], fds, fds ? count[k] : 0, wait);
        }
        lease_free(l);
        broker_changed(b);
        broker_unhold(b);
}

void lease_release(Lease *l, const char *why) {
        lease_end(l, why, NULL);
}

void lease_release_wait(Lease *l, const char *why, ReleaseWait *wait) {
        lease_end(l, why, wait);
}

void lease_discard(Lease *l) {
        lease_end(l, NULL, NULL);
}
