/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A lease: what one client holds.  Its container, its groups (whole), the
 * devices it was handed with the broker's own copy of each device fd (to tear
 * the interrupts down at the end), and who holds it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>

#include "broker.h"
#include "log.h"
#include "util.h"
#include "vfio-broker.pb-c.h"
#include "vfio.h"

static uint64_t now_realtime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

int lease_new(Connection *c, Lease **ret) {
        Broker *b = c->broker;
        Lease *l;

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        *l = (Lease) {
                .broker = b,
                .id = ++b->next_lease_id,
                .connection = c,
                .uid = c->uid,
                .pid = c->pid,
                .container_fd = -EBADF,
                .since_usec = now_realtime_usec(),
        };
        LIST_INSERT_HEAD(&c->leases, l, link);
        c->user->n_leases++;
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

int lease_add_device(Lease *l, const LeasedDevice *d) {
        LeasedDevice *p;

        p = reallocarray(l->devices, l->n_devices + 1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        l->devices = p;
        l->devices[l->n_devices++] = *d;
        return 0;
}

int leased_device_keep_eventfd(LeasedDevice *d, int fd, int kind, int irq_type, uint32_t vector) {
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

/* The broker's fds of the device, closed; the kernel's interrupt routing left as it is. */
static void leased_device_close(LeasedDevice *d) {
        d->fd = safe_close(d->fd);
        for (size_t i = 0; i < d->n_eventfds; i++)
                safe_close(d->eventfds[i].fd);
        free(d->eventfds);
        d->eventfds = NULL;
        d->n_eventfds = 0;
}

void leased_device_teardown(LeasedDevice *d) {
        for (uint32_t index = 0; index < VFIO_PCI_NUM_IRQS; index++) {
                int r;

                if (!(d->irq_indices & (1u << index)))
                        continue;
                r = vfio_device_disable_irq(d->fd, index);
                if (r < 0)
                        log_warning("%s: tearing down IRQ index %u: %s", d->bdf, index, strerror(-r));
        }
        d->irq_indices = 0;
        leased_device_close(d);
}

int lease_apply_memlock(Lease *l, uint64_t limit) {
        struct rlimit want = { .rlim_cur = limit, .rlim_max = limit }, old;

        if (l->memlock == limit)
                return 0;
        if (prlimit(l->pid, RLIMIT_MEMLOCK, &want, l->memlock ? NULL : &old) < 0)
                return -errno;
        if (!l->memlock)
                l->saved_memlock = old;
        l->memlock = limit;
        return 0;
}

static void lease_restore_memlock(Lease *l) {
        Connection *c = l->connection;

        if (!l->memlock)
                return;
        /* Only while the process the pidfd pins still lives: its pid cannot have been reused. */
        if (!c || !pidfd_alive(c->pidfd))
                return;
        if (prlimit(l->pid, RLIMIT_MEMLOCK, &l->saved_memlock, NULL) < 0)
                log_warning("lease %llu: restoring RLIMIT_MEMLOCK of pid %u: %s", (unsigned long long) l->id,
                            (unsigned) l->pid, strerror(errno));
}

size_t lease_request_release(Lease *l) {
        size_t n = 0;

        for (size_t i = 0; i < l->n_devices; i++)
                for (size_t k = 0; k < l->devices[i].n_eventfds; k++) {
                        const LeaseEventfd *e = &l->devices[i].eventfds[k];

                        if (e->kind == VFIOBROKER__FD_KIND__FD_IRQ && e->irq_type == VFIOBROKER__IRQ_TYPE__IRQ_REQ &&
                            eventfd_write(e->fd, 1) == 0)
                                n++;
                }
        return n;
}

/* Once out of its connection's list: the uid's count, the container, the memory. */
static void lease_free(Lease *l) {
        if (l->connection) {
                l->connection->user->n_leases--;
                user_unref(l->connection->user);
        }
        safe_close(l->container_fd);
        free(l->devices);
        free(l->groups);
        free(l);
}

void lease_abandon(Lease *l) {
        for (size_t i = 0; i < l->n_devices; i++)
                leased_device_close(&l->devices[i]);
        for (size_t i = 0; i < l->n_groups; i++)
                group_free(l->groups[i]);
        LIST_REMOVE(l, link);
        lease_free(l);
}

void lease_release(Lease *l, const char *why) {
        Broker *b;

        if (!l)
                return;
        b = l->broker;
        broker_state_hold(b); /* the lease and each of its groups: one write */
        if (b->hooks && b->hooks->lease_released)
                b->hooks->lease_released(l, why, b->hooks_userdata);
        log_audit(LOG_INFO,
                  &AUDIT_RECORD(AUDIT_RELEASE, .lease = l->id, .has_client = true, .uid = l->uid, .pid = l->pid,
                                .result = why),
                  "lease %llu of uid %u released (%s)", (unsigned long long) l->id, (unsigned) l->uid, why);
        lease_restore_memlock(l);
        /* Out of the lists first: the state written while its groups go must not name them. */
        LIST_REMOVE(l, link);
        for (size_t i = 0; i < l->n_devices; i++)
                leased_device_teardown(&l->devices[i]);
        for (size_t i = 0; i < l->n_groups; i++)
                group_release(l->groups[i]);
        lease_free(l);
        broker_state_changed(b);
        broker_state_unhold(b);
}
