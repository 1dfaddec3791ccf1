/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One client socket as the protocol sees it: its packets, each decoded and
 * dispatched in full before the next; its replies, sent at once or the
 * client is dropped; what of them it has not read yet, charged to its uid;
 * the Hello deadline; and its end, by disconnect, a protocol violation or
 * the death of the process, which frees the model's connection (and so
 * ends its leases).
 */

#include "broker/connection.h"
#include "broker/group.h"
#include "rpc/reply.h"

typedef struct RpcServer RpcServer;

typedef struct Session {
        RpcServer *server;
        Connection *connection;
        Source *io;
        Source *pid_watch;
        Source *hello_timer;
        UserCharge queued;              /* USER_QUEUED_BYTES: of our replies it has not read, when last looked */
        UserCharge in_flight;           /* USER_FDS_IN_FLIGHT: sent since its queue was last seen empty */
        bool queue_seen;                /* looked at while handling the current request */
        ReleaseWait *waiting;           /* a Release whose reply waits for its groups' resets; reading waits too */
        AcquireJob *acquiring;          /* an Acquire whose devices open off the loop; reading waits too */
        uint64_t waiting_id;            /* the request id of either */
        LIST_ENTRY(Session) link;
} Session;

/* Serve @c (taken: freed with the session, also on failure); @hello_deadline for a new one. */
int session_new(RpcServer *server, Connection *c, bool hello_deadline, Session **ret);
Session *session_free(Session *s);

/* Look at what the client has not read yet, and charge it to its uid (once per request). */
void session_observe_queue(Session *s);

/* An unasked LeaseEvent (id 0) to a client that said it reads them; best effort. */
void session_send_event(Session *s, uint64_t lease_id, LeaseEventKind kind, const char *why, uint64_t grace_usec);

/* BrokerRestarted (id 0) to a client adopted after a restart that said it reads it; best effort. */
void session_send_restarted(Session *s);

/* Tell the client on @fd why before hanging up (best effort: it may not read); @id: the request's. */
void session_say_error(int fd, uint64_t id, int code, const char *what);

/* Tell the client why (@code: RPC_E_* or BROKER_E_*, best effort; @id: the request's or 0), then hang up; @s is freed. */
void session_end(Session *s, uint64_t id, int code, const char *why);

/* Hello done: the connection leaves the unauthenticated count and its deadline. */
void session_said_hello(Session *s, const char *name);

/* Reply to the Release that waited (its request id in s->waiting_id), and read requests again. */
void session_release_done(void *userdata, bool quarantined);

/* Send the reply (done with it here) to a request that waited, and read requests again. */
void session_send_deferred(Session *s, Reply *reply);
