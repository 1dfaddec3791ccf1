/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "broker/connection.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/lease.h"
#include "common/util.h"
#include "util/log.h"

static unsigned charged_to(Broker *b, uid_t uid, UserSlot slot) {
        User *u;

        LIST_FOREACH(u, &b->users.users, link)
                if (u->uid == uid)
                        return user_charged(u, slot);
        return 0;
}

bool connection_full_before_hello(Broker *b) {
        return user_registry_total(&b->users, USER_UNAUTHENTICATED) >= b->config.max_unauthenticated;
}

Connection *connection_crowding(Broker *b, uid_t uid) {
        unsigned mine = charged_to(b, uid, USER_UNAUTHENTICATED), most = mine;
        Connection *c, *victim = NULL;

        /* Newest first in the list: the last one seen of those with most is the oldest. */
        LIST_FOREACH(c, &b->connections, link) {
                unsigned n;

                if (c->said_hello)
                        continue;
                n = user_charged(c->user, USER_UNAUTHENTICATED);
                if (n > most || (victim && n == most)) {
                        most = n;
                        victim = c;
                }
        }
        return victim;
}

int connection_check_limits(Broker *b, uid_t uid, BrokerError *err) {
        unsigned n;

        if (connection_full_before_hello(b))
                return broker_error(err, BROKER_E_TOO_MANY_CONNECTIONS,
                                    "too many connections have not said Hello yet (%u)", b->config.max_unauthenticated);
        n = charged_to(b, uid, USER_CONNECTIONS);
        if (n >= b->config.max_connections_per_uid)
                return broker_error(err, BROKER_E_TOO_MANY_CONNECTIONS, "uid %u has %u connections, the most allowed",
                                    (unsigned) uid, n);
        return 0;
}

/* A connection of @init's identity (fds included), in the broker's list and charged to its uid. */
static int connection_alloc(Broker *b, const Connection *init, Connection **ret) {
        Connection *c;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = *init;
        c->broker = b;
        c->charge = c->unauthenticated = (UserCharge) {};
        LIST_INIT(&c->leases);
        r = user_registry_ref(&b->users, c->uid, &c->user);
        if (r < 0) {
                free(c);
                return r;
        }
        user_charge(&c->charge, c->user, USER_CONNECTIONS, 1);
        LIST_INSERT_HEAD(&b->connections, c, link);
        *ret = c;
        return 0;
}

int connection_new(Broker *b, int fd, PeerIdentity *id, Connection **ret) {
        Connection init = {
                .id = b->next_connection_id + 1,
                .fd = fd,
                .pidfd = id->pidfd,
                .uid = id->uid,
                .gid = id->gid,
                .pid = id->pid,
                .pinned = id->pinned,
                .groups = id->groups,
                .n_groups = id->n_groups,
        }, *c;
        int r;

        string_copy(init.cgroup, sizeof(init.cgroup), id->cgroup);
        string_copy(init.label, sizeof(init.label), id->label);
        r = connection_alloc(b, &init, &c);
        if (r < 0) {
                safe_close(fd);
                peer_identity_done(id);
                return r;
        }
        id->pidfd = -EBADF;
        id->groups = NULL;
        b->next_connection_id++;
        user_charge(&c->unauthenticated, c->user, USER_UNAUTHENTICATED, 1);
        log_info("connection %llu: uid %u gid %u pid %u cgroup %s%s label %s", (unsigned long long) c->id,
                 (unsigned) c->uid, (unsigned) c->gid, (unsigned) c->pid, c->cgroup,
                 c->pinned ? "" : " (unverified)", c->label[0] ? c->label : "-");
        *ret = c;
        return 0;
}

int connection_adopt(Broker *b, int fd, int pidfd, const Connection *saved, Connection **ret) {
        Connection init = *saved, *c;
        int r;

        init.fd = fd;
        init.pidfd = pidfd;
        init.said_hello = true;
        init.pinned = peer_pidfd_pinned(); /* as it was at accept: the same kernel */
        init.groups = NULL;
        init.n_groups = 0;
        r = peer_groups(fd, &init.groups, &init.n_groups);
        if (r >= 0)
                r = connection_alloc(b, &init, &c);
        if (r < 0) {
                free(init.groups);
                safe_close(fd);
                safe_close(pidfd);
                return r;
        }
        if (b->next_connection_id < c->id)
                b->next_connection_id = c->id;
        log_info("connection %llu (uid %u pid %u) adopted from before the restart", (unsigned long long) c->id,
                 (unsigned) c->uid, (unsigned) c->pid);
        *ret = c;
        return 0;
}

Connection *connection_free(Connection *c) {
        Broker *b;
        Lease *l;

        if (!c)
                return NULL;
        b = c->broker;
        broker_hold(b); /* every lease of it: one write */
        while ((l = LIST_FIRST(&c->leases))) {
                if (b->ending == BROKER_LEAVING)
                        lease_abandon(l);
                else
                        lease_release(l, b->ending == BROKER_STOPPING ? "broker stopped" : "client gone");
        }
        broker_unhold(b);
        user_charge_drop(&c->unauthenticated);
        user_charge_drop(&c->charge);
        user_unref(c->user);
        safe_close(c->pidfd);
        safe_close(c->fd);
        LIST_REMOVE(c, link);
        free(c->groups);
        free(c);
        return NULL;
}

Lease *connection_find_lease(Connection *c, uint64_t id) {
        Lease *l;

        LIST_FOREACH(l, &c->leases, link)
                if (l->id == id)
                        return l;
        return NULL;
}

Connection *broker_find_connection(Broker *b, uint64_t id) {
        Connection *c;

        LIST_FOREACH(c, &b->connections, link)
                if (c->id == id)
                        return c;
        return NULL;
}

int connection_check_fd_budget(Connection *c, size_t n_fds, BrokerError *err) {
        unsigned max = c->broker->config.max_fds_in_flight, in_flight = user_charged(c->user, USER_FDS_IN_FLIGHT);

        if (n_fds <= (in_flight >= max ? 0 : max - in_flight))
                return 0;
        return broker_error(err, BROKER_E_QUOTA,
                            "uid %u has %u fds sent but not yet received, %zu more would pass the limit of %u; "
                            "read the replies first", (unsigned) c->uid, in_flight, n_fds, max);
}

void connection_said_hello(Connection *c, const char *name) {
        c->said_hello = true;
        user_charge_drop(&c->unauthenticated);
        string_copy(c->name, sizeof(c->name), name);
}
