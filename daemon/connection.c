/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One client connection: its identity, taken once at accept and pinned with a
 * pidfd; its packets, each decoded and dispatched in full before the next;
 * and its end, by disconnect or by the death of the process, which releases
 * every lease it held.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker.h"
#include "dispatch.h"
#include "log.h"
#include "util.h"
#include "wire.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

static void connection_close(Connection *c, const char *why) {
        log_info("connection %llu (uid %u pid %u): closed: %s",
                 (unsigned long long) c->id, (unsigned) c->uid, (unsigned) c->pid, why);
        connection_free(c);
}

/*
 * Look at what the client has not read yet (SIOCOUTQ: bytes of our replies
 * still in its queue) and charge it to its uid.  An empty queue means every
 * fd we sent has been received.
 */
static void observe_queue(Connection *c) {
        User *u = c->user;
        int queued = 0;

        if (ioctl(c->fd, SIOCOUTQ, &queued) < 0 || queued < 0)
                queued = 0;
        log_debug("connection %llu: %d bytes unread, %u fds in flight before", (unsigned long long) c->id, queued,
                  c->fds_in_flight);
        u->queued_bytes = u->queued_bytes - c->queued_bytes + (unsigned) queued;
        c->queued_bytes = (unsigned) queued;
        c->queue_seen = true;
        if (queued == 0) {
                u->fds_in_flight -= c->fds_in_flight;
                c->fds_in_flight = 0;
        }
}

unsigned connection_fd_budget(Connection *c) {
        unsigned max = c->broker->config.max_fds_in_flight;

        observe_queue(c);
        return c->user->fds_in_flight >= max ? 0 : max - c->user->fds_in_flight;
}

static int send_reply(Connection *c, Reply *reply) {
        int r;

        /* A uid that does not read its replies is not queued for: it is told, then dropped.
         * (Looked at once per request: the queue only shrinks while we handle it.) */
        if (!c->queue_seen)
                observe_queue(c);
        c->queue_seen = false;
        if (c->user->queued_bytes > c->broker->config.max_queued_bytes)
                return -ENOBUFS;

        r = wire_send_message(c->fd, &reply->msg.base, reply->fds, reply->n_fds);
        if (r == -EMSGSIZE) {
                /* Our own reply is too large (e.g. a listing): say so instead. */
                reply_error(reply, VFIOBROKER__ERROR_CODE__ERROR_LIMIT, EMSGSIZE,
                            "the reply would exceed the protocol's %d bytes", VFIO_BROKER_MAX_MESSAGE);
                r = wire_send_message(c->fd, &reply->msg.base, NULL, 0);
        }
        if (r >= 0 && reply->n_fds > 0) {
                c->fds_in_flight += reply->n_fds;
                c->user->fds_in_flight += reply->n_fds;
        }
        return r;
}

/* Tell the client why before hanging up (best effort: it may not read). */
static void say_error(int fd, uint64_t id, Vfiobroker__ErrorCode code, int err, const char *what) {
        Reply reply;

        reply_init(&reply, id);
        reply_error(&reply, code, err, "%s", what);
        (void) wire_send_message(fd, &reply.msg.base, NULL, 0);
        reply_done(&reply);
}

static void protocol_error(Connection *c, uint64_t id, const char *what) {
        say_error(c->fd, id, VFIOBROKER__ERROR_CODE__ERROR_PROTOCOL, EPROTO, what);
        connection_close(c, what);
}

/* Handle one request; false when the connection was closed (and freed) on the way. */
static bool on_packet(Connection *c, const uint8_t *buf, size_t size) {
        Vfiobroker__Request *req;
        uint64_t req_id;
        Reply reply;
        int r;

        req = vfiobroker__request__unpack(NULL, size, buf);
        if (!req) {
                protocol_error(c, 0, "undecodable request");
                return false;
        }

        req_id = req->id;
        reply_init(&reply, req->id);
        device_cache_hold(c->broker->devices); /* the request's lookups: one drain of the uevent socket */
        log_hold(); /* its records: one write, before the reply */
        r = dispatch_request(c, req, &reply);
        log_unhold();
        device_cache_unhold(c->broker->devices);
        vfiobroker__request__free_unpacked(req, NULL);
        if (r < 0) {
                char why[512];

                string_copy(why, sizeof(why), reply.msg.error ? reply.error.message : "protocol violation");
                (void) send_reply(c, &reply);
                reply_done(&reply);
                connection_close(c, why);
                return false;
        }
        r = send_reply(c, &reply);
        reply_done(&reply);
        if (r == -ENOBUFS) {
                protocol_error(c, req_id, "over the limit of unread replies: the client does not read");
                return false;
        }
        if (r < 0) {
                connection_close(c, r == -EAGAIN ? "client does not read its replies" : strerror(-r));
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

static void on_readable(Source *s, int fd, void *userdata) {
        Connection *c = userdata;
        uint8_t *buf = c->broker->packet; /* one request at a time: decoded in full before the next is read */

        for (unsigned i = 0; i < READ_BATCH; i++) {
                int fds[1];
                size_t n_fds = 0;
                ssize_t n;

                /* Requests carry no fds: any fd is closed at once and the packet refused. */
                n = wire_recv(fd, buf, VFIO_BROKER_MAX_MESSAGE, fds, 0, &n_fds);
                if (n == -EAGAIN || n == -EINTR)
                        return;
                if (n == -EBADMSG)
                        return protocol_error(c, 0, "packet carried fds, was truncated or exceeded the maximum size");
                if (n < 0)
                        return connection_close(c, strerror((int) -n));
                if (n == 0)
                        return connection_close(c, "disconnected");
                if (!on_packet(c, buf, (size_t) n))
                        return;
        }
}

static void on_process_exit(Source *s, int fd, void *userdata) {
        connection_close(userdata, "client process exited");
}

static void on_hello_timeout(Source *s, void *userdata) {
        Connection *c = userdata;

        say_error(c->fd, 0, VFIOBROKER__ERROR_CODE__ERROR_LIMIT, ETIMEDOUT, "no Hello in time");
        connection_close(c, "no Hello in time");
}

void connection_said_hello(Connection *c) {
        c->said_hello = true;
        c->broker->n_unauthenticated--;
        c->hello_timer = source_free(c->hello_timer);
}

/* The limits a new connection must fit in; -EUSERS with the client told why. */
static int check_limits(Broker *b, int fd, User *u) {
        char why[160];

        if (b->n_unauthenticated >= b->config.max_unauthenticated)
                snprintf(why, sizeof(why), "too many connections have not said Hello yet (%u)",
                         b->config.max_unauthenticated);
        else if (u->n_connections >= b->config.max_connections_per_uid)
                snprintf(why, sizeof(why), "uid %u has %u connections, the most allowed",
                         (unsigned) u->uid, u->n_connections);
        else
                return 0;
        say_error(fd, 0, VFIOBROKER__ERROR_CODE__ERROR_LIMIT, EUSERS, why);
        log_notice("refusing a connection: %s", why);
        return -EUSERS;
}

/* Pin the peer's process: SO_PEERPIDFD where the kernel has it, else pidfd_open and a re-check. */
static int peer_pidfd(int fd, pid_t pid, int *ret) {
        struct ucred again;
        socklen_t len = sizeof(int);
        int pidfd;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) >= 0) {
                *ret = pidfd;
                return 0;
        }
        pidfd = pidfd_open(pid, 0);
        if (pidfd < 0)
                return -errno;
        /* The pid may have been reused between connect() and here if the peer is gone. */
        len = sizeof(again);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &again, &len) < 0 || again.pid != pid ||
            !pidfd_alive(pidfd)) {
                safe_close(pidfd);
                return -ESRCH;
        }
        *ret = pidfd;
        return 0;
}

static int peer_groups(int fd, gid_t **ret, size_t *ret_n) {
        socklen_t len = 16 * sizeof(gid_t);
        gid_t *groups = NULL;

        for (;;) {
                gid_t *p = realloc(groups, len ? len : sizeof(gid_t));

                if (!p) {
                        free(groups);
                        return -ENOMEM;
                }
                groups = p;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) >= 0)
                        break;
                if (errno != ERANGE) {
                        free(groups);
                        return -errno;
                }
        }
        *ret = groups;
        *ret_n = len / sizeof(gid_t);
        return 0;
}

/* The cgroup v2 path of @pid, read while @pidfd pins it; "" on a host without cgroup v2. */
static int peer_cgroup(pid_t pid, int pidfd, char *buf, size_t size) {
        char path[64], line[1024];
        bool found = false;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%u/cgroup", (unsigned) pid);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "0::", 3) == 0) {
                        line[strcspn(line, "\n")] = 0;
                        string_copy(buf, size, line + 3);
                        found = true;
                }
        fclose(f);
        if (!found)
                buf[0] = 0; /* no cgroup v2 hierarchy on this host: Cgroup= grants never match */
        /* Still the same process: what we read was its cgroup. */
        if (!pidfd_alive(pidfd))
                return -ESRCH;
        return 0;
}

static int peer_label(int fd, char *buf, size_t size) {
        socklen_t len = (socklen_t) size - 1;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERSEC, buf, &len) < 0) {
                if (errno == ENOPROTOOPT) {
                        buf[0] = 0; /* no LSM gives labels here */
                        return 0;
                }
                return -errno;
        }
        buf[len] = 0;
        return 0;
}

/*
 * A connection with @init's identity (fds included), in the broker's list
 * and holding a reference to its uid; NULL when out of memory, the fds left
 * to the caller.
 */
static Connection *connection_alloc(Broker *b, const Connection *init) {
        Connection *c;

        c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        *c = *init;
        c->broker = b;
        LIST_INIT(&c->leases);
        LIST_INSERT_HEAD(&b->connections, c, link);
        c->user = user_ref(b, c->uid);
        if (!c->user) {
                c->fd = c->pidfd = -EBADF;
                connection_free(c);
                return NULL;
        }
        return c;
}

/* Watch the socket for requests and the pidfd for the client's exit. */
static int connection_watch(Connection *c) {
        int r;

        r = loop_add_io(c->broker->loop, c->fd, on_readable, c, &c->io);
        if (r >= 0)
                r = loop_add_io(c->broker->loop, c->pidfd, on_process_exit, c, &c->pid_watch);
        return r;
}

int connection_new(Broker *b, int fd, Connection **ret) {
        Connection *c;
        struct ucred cred;
        socklen_t len = sizeof(cred);
        int r;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        /* The whole identity, or no connection: nobody gets a default. */
        c = connection_alloc(b, &(Connection) {
                .id = ++b->next_connection_id,
                .fd = fd,
                .pidfd = -EBADF,
                .uid = cred.uid,
                .gid = cred.gid,
                .pid = cred.pid,
        });
        if (!c)
                return -ENOMEM;
        r = check_limits(b, fd, c->user);
        if (r < 0) {
                c->fd = -EBADF;
                connection_free(c);
                return r;
        }
        c->user->n_connections++;
        b->n_unauthenticated++;
        c->counted = true;

        r = peer_pidfd(fd, cred.pid, &c->pidfd);
        if (r >= 0)
                r = peer_groups(fd, &c->groups, &c->n_groups);
        if (r >= 0)
                r = peer_cgroup(cred.pid, c->pidfd, c->cgroup, sizeof(c->cgroup));
        if (r >= 0)
                r = peer_label(fd, c->label, sizeof(c->label));
        if (r < 0) {
                log_notice("refusing a connection whose identity cannot be established: %s", strerror(-r));
                c->fd = -EBADF; /* the caller still owns it */
                connection_free(c);
                return r;
        }
        r = connection_watch(c);
        if (r >= 0)
                r = loop_add_timer(b->loop, b->config.hello_timeout_usec, on_hello_timeout, c, &c->hello_timer);
        if (r < 0) {
                c->fd = -EBADF;
                connection_free(c);
                return r;
        }
        log_info("connection %llu: uid %u gid %u pid %u cgroup %s label %s", (unsigned long long) c->id,
                 (unsigned) c->uid, (unsigned) c->gid, (unsigned) c->pid, c->cgroup, c->label[0] ? c->label : "-");
        *ret = c;
        return 0;
}

int connection_adopt(Broker *b, int fd, int pidfd, const Connection *saved, Connection **ret) {
        Connection init = *saved, *c;
        int r;

        init.fd = fd;
        init.pidfd = pidfd;
        init.said_hello = true;
        c = connection_alloc(b, &init);
        if (!c)
                return -ENOMEM;
        if (b->next_connection_id < c->id)
                b->next_connection_id = c->id;
        c->user->n_connections++;
        c->counted = true;
        r = peer_groups(fd, &c->groups, &c->n_groups);
        if (r >= 0)
                r = connection_watch(c);
        if (r < 0) {
                c->fd = c->pidfd = -EBADF;
                connection_free(c);
                return r;
        }
        log_info("connection %llu (uid %u pid %u) adopted from before the restart", (unsigned long long) c->id,
                 (unsigned) c->uid, (unsigned) c->pid);
        *ret = c;
        return 0;
}

Connection *connection_free(Connection *c) {
        Lease *l;

        if (!c)
                return NULL;
        broker_state_hold(c->broker);
        while ((l = LIST_FIRST(&c->leases))) {
                if (c->broker->keep_leases)
                        lease_abandon(l);
                else
                        lease_release(l, c->broker->stopping ? "broker stopped" : "client gone");
        }
        broker_state_unhold(c->broker);
        source_free(c->io);
        source_free(c->pid_watch);
        source_free(c->hello_timer);
        if (c->counted) {
                c->user->queued_bytes -= c->queued_bytes;
                c->user->fds_in_flight -= c->fds_in_flight;
                c->user->n_connections--;
                if (!c->said_hello)
                        c->broker->n_unauthenticated--;
        }
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
