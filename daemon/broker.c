/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The listening socket, and the broker's registries. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "broker.h"
#include "config.h"
#include "log.h"
#include "policy-load.h"
#include "sysfs.h"
#include "util.h"
#include "wire.h"

void broker_config_init(BrokerConfig *config) {
        *config = (BrokerConfig) {
                .socket_path = VFIO_BROKER_SOCKET,
                .sysfs_root = "/sys",
                .policy_file = POLICY_DEFAULT_FILE,
                .policy_dir = POLICY_DEFAULT_DIR,
                .max_connections_per_uid = BROKER_DEFAULT_MAX_CONNECTIONS_PER_UID,
                .max_leases_per_uid = BROKER_DEFAULT_MAX_LEASES_PER_UID,
                .max_unauthenticated = BROKER_DEFAULT_MAX_UNAUTHENTICATED,
                .hello_timeout_usec = BROKER_DEFAULT_HELLO_TIMEOUT_USEC,
                .max_queued_bytes = BROKER_DEFAULT_MAX_QUEUED_BYTES,
                .max_fds_in_flight = BROKER_DEFAULT_MAX_FDS_IN_FLIGHT,
        };
}

int broker_new(Broker **ret, Loop *loop, const BrokerConfig *config) {
        Broker *b;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        *b = (Broker) { .config = *config, .loop = loop, .listen_fd = -EBADF,
                        .interrupt_remapping = host_interrupt_remapping() };
        b->packet = malloc(VFIO_BROKER_MAX_MESSAGE);
        if (!b->packet || device_cache_new(config->sysfs_root, -EBADF, &b->devices) < 0) {
                free(b->packet);
                free(b);
                return -ENOMEM;
        }
        policy_init(&b->policy);
        LIST_INIT(&b->connections);
        LIST_INIT(&b->groups);
        LIST_INIT(&b->users);
        *ret = b;
        return 0;
}

Broker *broker_free(Broker *b) {
        Connection *c;
        Group *g;

        if (!b)
                return NULL;
        while ((c = LIST_FIRST(&b->connections)))
                connection_free(c);
        while ((g = LIST_FIRST(&b->groups)))
                group_free(g);
        source_free(b->listen_io);
        safe_close(b->listen_fd);
        policy_done(&b->policy);
        free(b->used_groups);
        free(b->packet);
        device_cache_free(b->devices);
        free(b);
        return NULL;
}

int broker_load_policy(Broker *b, PolicyError *err) {
        Policy p;
        int r;

        r = policy_load(&p, b->config.policy_file, b->config.policy_file_required, b->config.policy_dir,
                        &policy_nss_resolver, err);
        if (r < 0)
                return r;
        policy_done(&b->policy);
        b->policy = p;
        return 0;
}

size_t broker_devices_of_uid(Broker *b, uid_t uid) {
        Connection *c;
        Lease *l;
        size_t n = 0;

        LIST_FOREACH(c, &b->connections, link)
                LIST_FOREACH(l, &c->leases, link)
                        if (l->uid == uid)
                                n += l->n_devices;
        return n;
}

const UsedGroup *broker_find_used_group(Broker *b, int number) {
        for (size_t i = 0; i < b->n_used_groups; i++)
                if (b->used_groups[i].number == number)
                        return &b->used_groups[i];
        return NULL;
}

void broker_mark_group_clean(Broker *b, int number) {
        for (size_t i = 0; i < b->n_used_groups; i++)
                if (b->used_groups[i].number == number) {
                        b->used_groups[i] = b->used_groups[--b->n_used_groups];
                        return;
                }
}

void broker_mark_group_used(Broker *b, int number, uid_t uid) {
        UsedGroup *p;

        broker_mark_group_clean(b, number);
        p = realloc(b->used_groups, (b->n_used_groups + 1) * sizeof(*p));
        if (!p) {
                log_error("group %d: out of memory recording its last holder", number);
                return;
        }
        b->used_groups = p;
        b->used_groups[b->n_used_groups++] = (UsedGroup) { .number = number, .uid = uid };
}

Lease *broker_find_lease(Broker *b, uint64_t id) {
        Connection *c;

        LIST_FOREACH(c, &b->connections, link) {
                Lease *l = connection_find_lease(c, id);

                if (l)
                        return l;
        }
        return NULL;
}

Group *broker_find_group(Broker *b, int number) {
        Group *g;

        LIST_FOREACH(g, &b->groups, link)
                if (g->number == number)
                        return g;
        return NULL;
}

static void on_connection(Source *s, int fd, void *userdata) {
        Broker *b = userdata;
        Connection *c;
        int cfd, r;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
                if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                        log_warning("accept: %s", strerror(errno));
                return;
        }
        r = connection_new(b, cfd, &c);
        if (r < 0)
                safe_close(cfd); /* connection_new() said why, to the client and the log */
}

int broker_set_listen_fd(Broker *b, int fd) {
        b->listen_fd = fd;
        return loop_add_io(b->loop, fd, on_connection, b, &b->listen_io);
}

int broker_listen(Broker *b, const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void) unlink(path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        /* Anyone may connect; what they may have is the broker's decision. */
        if (chmod(path, 0666) < 0)
                return -errno;
        if (listen(fd, SOMAXCONN) < 0)
                return -errno;
        r = broker_set_listen_fd(b, fd);
        if (r < 0)
                return r;
        fd = -EBADF;
        return 0;
}
