/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "rpc/server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/util.h"
#include "proto/wire.h"
#include "rpc/error.h"
#include "broker/lease.h"
#include "rpc/session.h"
#include "util/log.h"
#include "util/peer.h"

struct RpcServer {
        Broker *broker;
        int listen_fd;
        Source *listen_io;
        uint8_t *packet;                /* each request is read here (VFIO_BROKER_MAX_MESSAGE bytes) */
        LIST_HEAD(, Session) sessions;
};

static Session *session_of(RpcServer *s, const Connection *c) {
        Session *session;

        LIST_FOREACH(session, &s->sessions, link)
                if (session->connection == c)
                        return session;
        return NULL;
}

/* A lease's holder hears what the broker wants of it, on its socket, if it said it reads events. */
static void on_lease_event(Lease *l, LeaseEventKind kind, const char *why, uint64_t grace_usec, void *userdata) {
        Session *session = session_of(userdata, l->connection);

        if (session && session->connection->events)
                session_send_event(session, l->id, kind, why, grace_usec);
}

static const BrokerObserver rpc_observer = {
        .lease_event = on_lease_event,
};

int rpc_server_new(Broker *b, RpcServer **ret) {
        RpcServer *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *s = (RpcServer) { .broker = b, .listen_fd = -EBADF };
        s->packet = malloc(VFIO_BROKER_MAX_MESSAGE);
        if (!s->packet) {
                free(s);
                return -ENOMEM;
        }
        LIST_INIT(&s->sessions);
        r = broker_observe(b, &rpc_observer, s);
        if (r < 0) {
                free(s->packet);
                free(s);
                return r;
        }
        *ret = s;
        return 0;
}

RpcServer *rpc_server_free(RpcServer *s) {
        Session *session;

        if (!s)
                return NULL;
        while ((session = LIST_FIRST(&s->sessions)))
                session_free(session);
        broker_unobserve(s->broker, &rpc_observer, s);
        source_free(s->listen_io);
        safe_close(s->listen_fd);
        free(s->packet);
        free(s);
        return NULL;
}

uint8_t *rpc_server_packet(RpcServer *s) {
        return s->packet;
}

void rpc_server_add_session(RpcServer *s, Session *session) {
        LIST_INSERT_HEAD(&s->sessions, session, link);
}

void rpc_server_remove_session(RpcServer *s, Session *session) {
        LIST_REMOVE(session, link);
}

/* A new client: its limits first, then the whole identity, or no connection: nobody gets a default. */
static int accept_client(RpcServer *s, int fd) {
        PeerIdentity id;
        BrokerError err = {};
        Connection *c;
        int r;

        r = peer_credentials(fd, &id);
        if (r < 0)
                return r;
        if (connection_full_before_hello(s->broker)) {
                Connection *crowding = connection_crowding(s->broker, id.uid);
                Session *victim = crowding ? session_of(s, crowding) : NULL;

                if (victim) {
                        char why[160];

                        snprintf(why, sizeof(why), "no Hello yet, and its uid has the most connections waiting "
                                 "for one: room made for uid %u", (unsigned) id.uid);
                        session_end(victim, 0, BROKER_E_TOO_MANY_CONNECTIONS, why);
                }
        }
        r = connection_check_limits(s->broker, id.uid, &err);
        if (r != 0) {
                session_say_error(fd, 0, r, err.message);
                log_notice("refusing a connection: %s", err.message);
                return -EUSERS;
        }
        r = peer_identify(fd, &id);
        if (r < 0) {
                log_notice("refusing a connection whose identity cannot be established: %s", strerror(-r));
                return r;
        }
        r = connection_new(s->broker, fd, &id, &c);
        if (r < 0)
                return -EBADF; /* the fd went with it */
        return session_new(s, c, true, NULL) < 0 ? -EBADF : 0;
}

static void on_connection(Source *src, int fd, void *userdata) {
        RpcServer *s = userdata;
        int cfd, r;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
                if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                        log_warning("accept: %s", strerror(errno));
                return;
        }
        r = accept_client(s, cfd);
        if (r < 0 && r != -EBADF)
                safe_close(cfd);
}

int rpc_server_set_listen_fd(RpcServer *s, int fd) {
        s->listen_fd = fd;
        return loop_add_io(s->broker->loop, fd, on_connection, s, &s->listen_io);
}

/*
 * What is at @sa's path before we bind there: nothing (0); a socket nobody
 * listens on, left by a broker that died, removed (1); a live broker's
 * (-EADDRINUSE, its pid in *ret_owner); something else (-EEXIST).
 */
static int clear_path(const struct sockaddr_un *sa, pid_t *ret_owner) {
        _cleanup_close_ int probe = -EBADF;
        struct ucred cred = {};
        socklen_t len = sizeof(cred);
        struct stat st;

        if (lstat(sa->sun_path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISSOCK(st.st_mode))
                return -EEXIST;
        probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (probe < 0)
                return -errno;
        if (connect(probe, (const struct sockaddr *) sa, sizeof(*sa)) == 0) {
                (void) getsockopt(probe, SOL_SOCKET, SO_PEERCRED, &cred, &len);
                if (ret_owner)
                        *ret_owner = cred.pid; /* whoever called listen(): PID1 for a socket it passes on */
                return -EADDRINUSE;
        }
        if (errno != ECONNREFUSED)
                return -errno;
        if (unlink(sa->sun_path) < 0 && errno != ENOENT)
                return -errno;
        return 1;
}

int rpc_server_listen(RpcServer *s, const char *path, pid_t *ret_owner) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        r = clear_path(&sa, ret_owner);
        if (r < 0)
                return r;
        if (r > 0)
                log_notice("removed %s, a socket nobody listened on (a broker before this one died)", path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        /* Anyone may connect; what they may have is the broker's decision. */
        if (chmod(path, 0666) < 0)
                return -errno;
        if (listen(fd, SOMAXCONN) < 0)
                return -errno;
        r = rpc_server_set_listen_fd(s, fd);
        if (r < 0)
                return r;
        fd = -EBADF;
        return 0;
}

int rpc_server_serve_adopted(RpcServer *s) {
        Connection *c, *next;
        int r;

        for (c = LIST_FIRST(&s->broker->connections); c; c = next) {
                Session *session;

                next = LIST_NEXT(c, link);
                if (session_of(s, c))
                        continue;
                r = session_new(s, c, false, &session);
                if (r < 0)
                        return r;
                /* Before anything it reads is answered: what it sent to the broker before us may be lost. */
                if (c->restart_notice)
                        session_send_restarted(session);
        }
        return 0;
}
