/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A client connection as the model sees it: who it is (taken once at
 * accept, the process pinned by a pidfd), the uid it is charged to, and the
 * leases it holds.  Its socket is read and written by the protocol's face
 * (rpc/session.c); freeing a connection ends its leases.
 */

#include "broker/broker.h"
#include "broker/error.h"
#include "util/peer.h"

struct Connection {
        Broker *broker;
        uint64_t id;
        int fd;                         /* the client's socket */
        int pidfd;
        uid_t uid;
        gid_t gid;
        pid_t pid;
        gid_t *groups;                  /* supplementary, SO_PEERGROUPS */
        size_t n_groups;
        char cgroup[512];
        bool pinned;                    /* the pidfd is surely the peer, so is the cgroup (peer_pidfd_pinned()) */
        char label[256];                /* SO_PEERSEC; "" without an LSM label */
        bool said_hello;
        bool events;                    /* said in Hello that it reads LeaseEvents */
        bool restart_notice;            /* said in Hello that it reads BrokerRestarted */
        char name[65];
        User *user;
        UserCharge charge;              /* USER_CONNECTIONS */
        UserCharge unauthenticated;     /* USER_UNAUTHENTICATED, until Hello */
        LIST_HEAD(, Lease) leases;
        LIST_ENTRY(Connection) link;
};

/* Whether as many connections wait for their Hello as the broker allows (all uids). */
bool connection_full_before_hello(Broker *b);

/*
 * When the connections before Hello are full: the one to end for a newcomer
 * of @uid.  The oldest of those of the uids that have most, if that is more
 * than @uid has (so one uid, or a few, cannot keep everyone else out until
 * their deadlines); NULL when @uid has as many as anyone.
 */
Connection *connection_crowding(Broker *b, uid_t uid);

/* Room for one more connection of @uid: 0, or BROKER_E_TOO_MANY_CONNECTIONS and why. */
int connection_check_limits(Broker *b, uid_t uid, BrokerError *err);

/* A new connection on @fd of @id (both taken: @id's pidfd and groups too, also on failure). */
int connection_new(Broker *b, int fd, PeerIdentity *id, Connection **ret);

/*
 * A connection from before a restart, said Hello already: @fd, @pidfd taken
 * (also on failure); @saved gives its id, uid, gid, pid, cgroup, label, name.
 */
int connection_adopt(Broker *b, int fd, int pidfd, const Connection *saved, Connection **ret);

/* Ends every lease (or leaves them, while the broker leaves for a restart). */
Connection *connection_free(Connection *c);

Lease *connection_find_lease(Connection *c, uint64_t id);
Connection *broker_find_connection(Broker *b, uint64_t id);

/*
 * Room for @n_fds more fds to @c's uid before it reads what it was sent (its
 * USER_FDS_IN_FLIGHT charge must be current): 0, or BROKER_E_QUOTA and why.
 */
int connection_check_fd_budget(Connection *c, size_t n_fds, BrokerError *err);

/* Hello done: the connection is no longer unauthenticated. */
void connection_said_hello(Connection *c, const char *name);
