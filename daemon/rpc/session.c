/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "rpc/session.h"

#include <errno.h>
#include <linux/sockios.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "broker/acquire.h"
#include "common/util.h"
#include "proto/wire.h"
#include "rpc/dispatch.h"
#include "rpc/error.h"
#include "rpc/server.h"
#include "util/log.h"

static void session_close(Session *s, const char *why) {
        Connection *c = s->connection;

        log_info("connection %llu (uid %u pid %u): closed: %s",
                 (unsigned long long) c->id, (unsigned) c->uid, (unsigned) c->pid, why);
        session_free(s);
}

/*
 * SIOCOUTQ: bytes of our replies still in the client's queue.  An empty
 * queue means every fd we sent has been received.
 */
void session_observe_queue(Session *s) {
        int queued = 0;

        if (ioctl(s->connection->fd, SIOCOUTQ, &queued) < 0 || queued < 0)
                queued = 0;
        log_debug("connection %llu: %d bytes unread, %u fds in flight before", (unsigned long long) s->connection->id,
                  queued, s->in_flight.amount);
        user_charge_set(&s->queued, (unsigned) queued);
        s->queue_seen = true;
        if (queued == 0)
                user_charge_set(&s->in_flight, 0);
}

static int send_reply(Session *s, Reply *reply) {
        Connection *c = s->connection;
        int r;

        /* A uid that does not read its replies is not queued for: it is told, then dropped.
         * (Looked at once per request: the queue only shrinks while we handle it.) */
        if (!s->queue_seen)
                session_observe_queue(s);
        s->queue_seen = false;
        if (user_charged(c->user, USER_QUEUED_BYTES) > c->broker->config.max_queued_bytes)
                return -ENOBUFS;

        r = wire_send_message(c->fd, &reply->msg.base, reply->fds, reply->n_fds);
        if (r == -EMSGSIZE) {
                /* Our own reply is too large (e.g. a listing): say so instead. */
                reply_set_code(reply, RPC_E_REPLY_TOO_LARGE, "the reply would exceed the protocol's %d bytes",
                               VFIO_BROKER_MAX_MESSAGE);
                r = wire_send_message(c->fd, &reply->msg.base, NULL, 0);
        }
        if (r >= 0 && reply->n_fds > 0)
                user_charge_set(&s->in_flight, s->in_flight.amount + (unsigned) reply->n_fds);
        return r;
}

void session_send_event(Session *s, uint64_t lease_id, LeaseEventKind kind, const char *why, uint64_t grace_usec) {
        Vfiobroker__LeaseEvent *e;
        Reply reply;
        int r = -ENOMEM;

        reply_init(&reply, 0);
        e = reply_alloc(&reply, sizeof(*e));
        if (e) {
                vfiobroker__lease_event__init(e);
                e->lease_id = lease_id;
                e->kind = kind == LEASE_EVENT_RECALLED ? VFIOBROKER__LEASE_EVENT_KIND__LEASE_RECALLED
                                                       : VFIOBROKER__LEASE_EVENT_KIND__LEASE_ENDED;
                e->reason = reply_strdup(&reply, why);
                e->grace_ms = (uint32_t) (grace_usec / 1000);
                reply.msg.result_case = VFIOBROKER__REPLY__RESULT_LEASE_EVENT;
                reply.msg.lease_event = e;
                r = e->reason ? send_reply(s, &reply) : -ENOMEM;
        }
        reply_done(&reply);
        /* Not closed here (we are inside a change of the model): a client that cannot hear it is escalated in time. */
        if (r < 0)
                log_info("connection %llu: lease %llu's event not sent: %s", (unsigned long long) s->connection->id,
                         (unsigned long long) lease_id, strerror(-r));
}

void session_send_restarted(Session *s) {
        Vfiobroker__BrokerRestarted restarted = VFIOBROKER__BROKER_RESTARTED__INIT;
        Reply reply;
        int r;

        reply_init(&reply, 0);
        reply.msg.result_case = VFIOBROKER__REPLY__RESULT_RESTARTED;
        reply.msg.restarted = &restarted;
        r = send_reply(s, &reply);
        reply_done(&reply);
        if (r < 0)
                log_info("connection %llu: the restart notice not sent: %s", (unsigned long long) s->connection->id,
                         strerror(-r));
}

void session_say_error(int fd, uint64_t id, int code, const char *what) {
        Reply reply;

        reply_init(&reply, id);
        reply_set_code(&reply, code, "%s", what);
        (void) wire_send_message(fd, &reply.msg.base, NULL, 0);
        reply_done(&reply);
}

void session_end(Session *s, uint64_t id, int code, const char *why) {
        session_say_error(s->connection->fd, id, code, why);
        session_close(s, why);
}

static void protocol_error(Session *s, uint64_t id, const char *what) {
        session_end(s, id, RPC_E_PROTOCOL, what);
}

/* Handle one request; false when the session was closed (and freed) on the way. */
static bool on_packet(Session *s, const uint8_t *buf, size_t size) {
        Broker *b = s->connection->broker;
        Vfiobroker__Request *req;
        uint64_t req_id;
        Reply reply;
        int r;

        req = vfiobroker__request__unpack(NULL, size, buf);
        if (!req) {
                protocol_error(s, 0, "undecodable request");
                return false;
        }

        req_id = req->id;
        reply_init(&reply, req->id);
        device_cache_hold(b->devices); /* the request's lookups: one drain of the uevent socket */
        log_hold(); /* its records: one write, before the reply */
        r = dispatch_request(s, req, &reply);
        log_unhold();
        device_cache_unhold(b->devices);
        vfiobroker__request__free_unpacked(req, NULL);
        if (r == 1) {
                /* deferred: no reply now, and no request read until it is sent (replies come in request order) */
                reply_done(&reply);
                s->io = source_free(s->io);
                return false;
        }
        if (r < 0) {
                char why[512];

                string_copy(why, sizeof(why), reply.msg.error ? reply.error.message : "protocol violation");
                (void) send_reply(s, &reply);
                reply_done(&reply);
                session_close(s, why);
                return false;
        }
        r = send_reply(s, &reply);
        reply_done(&reply);
        if (r == -ENOBUFS) {
                protocol_error(s, req_id, "over the limit of unread replies: the client does not read");
                return false;
        }
        if (r < 0) {
                session_close(s, r == -EAGAIN ? "client does not read its replies" : strerror(-r));
                return false;
        }
        return true;
}

/*
 * Up to READ_BATCH requests per wakeup: a client that sends its next request
 * while we finish the last one (on one CPU it runs as soon as the reply
 * wakes it) is served without another trip through epoll, and one that
 * floods still yields to the others.
 */
#define READ_BATCH 8

static void on_readable(Source *src, int fd, void *userdata) {
        Session *s = userdata;
        uint8_t *buf = rpc_server_packet(s->server); /* one request at a time: decoded in full before the next is read */

        for (unsigned i = 0; i < READ_BATCH; i++) {
                int fds[1];
                size_t n_fds = 0;
                ssize_t n;

                /* Requests carry no fds: any fd is closed at once and the packet refused. */
                n = wire_recv(fd, buf, VFIO_BROKER_MAX_MESSAGE, fds, 0, &n_fds);
                if (n == -EAGAIN || n == -EINTR)
                        return;
                if (n == -EBADMSG)
                        return protocol_error(s, 0, "packet carried fds, was truncated or exceeded the maximum size");
                if (n < 0)
                        return session_close(s, strerror((int) -n));
                if (n == 0)
                        return session_close(s, "disconnected");
                if (!on_packet(s, buf, (size_t) n))
                        return;
        }
}

void session_send_deferred(Session *s, Reply *reply) {
        int r;

        r = send_reply(s, reply);
        reply_done(reply);
        if (r < 0)
                return session_close(s, r == -EAGAIN ? "client does not read its replies" : strerror(-r));
        if (loop_add_io(s->connection->broker->loop, s->connection->fd, on_readable, s, &s->io) < 0)
                session_close(s, "cannot watch the connection again");
}

void session_release_done(void *userdata, bool quarantined) {
        Session *s = userdata;
        Vfiobroker__ReleaseReply *rr;
        Reply reply;

        s->waiting = NULL;
        reply_init(&reply, s->waiting_id);
        rr = reply_alloc(&reply, sizeof(*rr));
        if (!rr) {
                reply_done(&reply);
                return session_close(s, "out of memory");
        }
        vfiobroker__release_reply__init(rr);
        rr->quarantined = quarantined;
        reply.msg.result_case = VFIOBROKER__REPLY__RESULT_RELEASE;
        reply.msg.release = rr;
        session_send_deferred(s, &reply);
}

static void on_process_exit(Source *src, int fd, void *userdata) {
        session_close(userdata, "client process exited");
}

static void on_hello_timeout(Source *src, void *userdata) {
        session_end(userdata, 0, RPC_E_HELLO_TIMEOUT, "no Hello in time");
}

void session_said_hello(Session *s, const char *name) {
        connection_said_hello(s->connection, name);
        s->hello_timer = source_free(s->hello_timer);
}

int session_new(RpcServer *server, Connection *c, bool hello_deadline, Session **ret) {
        Loop *loop = c->broker->loop;
        Session *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s) {
                connection_free(c);
                return -ENOMEM;
        }
        *s = (Session) { .server = server, .connection = c };
        user_charge(&s->queued, c->user, USER_QUEUED_BYTES, 0);
        user_charge(&s->in_flight, c->user, USER_FDS_IN_FLIGHT, 0);
        rpc_server_add_session(server, s);
        r = loop_add_io(loop, c->fd, on_readable, s, &s->io);
        if (r >= 0)
                r = loop_add_io(loop, c->pidfd, on_process_exit, s, &s->pid_watch);
        if (r >= 0 && hello_deadline)
                r = loop_add_timer(loop, c->broker->config.hello_timeout_usec, on_hello_timeout, s, &s->hello_timer);
        if (r < 0) {
                session_free(s);
                return r;
        }
        if (ret)
                *ret = s;
        return 0;
}

Session *session_free(Session *s) {
        if (!s)
                return NULL;
        release_wait_cancel(s->waiting);
        acquire_job_orphan(s->acquiring); /* before its connection goes: it closes what it opened */
        source_free(s->io);
        source_free(s->pid_watch);
        source_free(s->hello_timer);
        rpc_server_remove_session(s->server, s);
        user_charge_drop(&s->queued);
        user_charge_drop(&s->in_flight);
        connection_free(s->connection);
        free(s);
        return NULL;
}
