/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Connections in the model (daemon/broker/connection.c): the limits a new
 * one must fit in, with the refusal a client sees; what its end does to its
 * leases (released, or left to the kernel while the broker leaves for a
 * restart); and a connection adopted after a restart.
 */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/acquire.h"
#include "common/util.h"
#include "fake-sysfs.h"
#include "kernel/backend-fake.h"
#include "test-broker.h"
#include "test.h"

static FakeSysfs fs;
static unsigned released;
static char last_why[64];

static void on_released(Lease *l, const char *why, void *userdata) {
        released++;
        snprintf(last_why, sizeof(last_why), "%s", why);
}

static const BrokerObserver observer = { .lease_released = on_released };

static void limits(BrokerConfig *config) {
        config->max_connections_per_uid = 2;
        config->max_unauthenticated = 1;
}

static void test_limits(void) {
        Broker *b = test_broker_new(fs.root, NULL, limits);
        BrokerError err = {};
        Connection *c1, *c2;
        int peer1, peer2, sv[2];

        CHECK_EQ_INT(connection_check_limits(b, getuid(), &err), 0);
        CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
        c1 = test_connection(b, sv[0]); /* has not said Hello */
        peer1 = sv[1];
        CHECK_EQ_INT(connection_check_limits(b, getuid(), &err), BROKER_E_TOO_MANY_CONNECTIONS);
        CHECK(strstr(err.message, "too many connections have not said Hello yet (1)"));
        connection_said_hello(c1, "one");
        CHECK_EQ_STR(c1->name, "one");
        CHECK_EQ_INT(user_registry_total(&b->users, USER_UNAUTHENTICATED), 0);
        CHECK_EQ_INT(connection_check_limits(b, getuid(), &err), 0);
        c2 = test_connect(b, &peer2);
        CHECK_EQ_INT(connection_check_limits(b, getuid(), &err), BROKER_E_TOO_MANY_CONNECTIONS);
        CHECK(strstr(err.message, "has 2 connections, the most allowed"));
        CHECK_EQ_INT(connection_check_limits(b, getuid() + 1, &err), 0); /* per uid */
        connection_free(c2);
        CHECK_EQ_INT(connection_check_limits(b, getuid(), &err), 0);
        connection_free(c1);
        CHECK(LIST_EMPTY(&b->users.users)); /* nothing holds the uid any more */
        close(peer1);
        close(peer2);
        test_broker_free(b);
}

static Lease *lease_of(Connection *c, const char *bdf) {
        AcquireDevice d = { .bdf = bdf };
        AcquireRequest a = { .devices = &d, .n_devices = 1, .max_fds = 128 };
        BrokerError err = {};
        size_t first;
        Lease *l;

        CHECK_EQ_INT(acquire(c, &a, &err, &l, &first), 0);
        return l;
}

/* A connection before Hello, of @uid as if it came from there. */
static Connection *silent_connection_of(Broker *b, uid_t uid, int *ret_peer) {
        PeerIdentity id;
        Connection *c;
        int sv[2];

        CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
        CHECK_EQ_INT(peer_credentials(sv[0], &id), 0);
        CHECK_EQ_INT(peer_identify(sv[0], &id), 0);
        id.uid = uid;
        CHECK_EQ_INT(connection_new(b, sv[0], &id, &c), 0);
        *ret_peer = sv[1];
        return c;
}

static void crowded(BrokerConfig *config) {
        config->max_unauthenticated = 3;
}

/* Full before Hello: the oldest silent connection of the uid with most gives way, never to that uid itself. */
static void test_crowding(void) {
        Broker *b = test_broker_new(fs.root, NULL, crowded);
        Connection *a1, *a2, *b1;
        int peers[3];

        a1 = silent_connection_of(b, 5000, &peers[0]);
        b1 = silent_connection_of(b, 5001, &peers[1]);
        CHECK(!connection_full_before_hello(b));
        CHECK(connection_crowding(b, 5002) == a1); /* a tie: the oldest of those that have most */
        a2 = silent_connection_of(b, 5000, &peers[2]);
        CHECK(connection_full_before_hello(b));
        CHECK(connection_crowding(b, 5002) == a1);
        CHECK(connection_crowding(b, 5001) == a1); /* 5000 has 2, 5001 one */
        CHECK(connection_crowding(b, 5000) == NULL); /* nobody has more than 5000 */
        connection_said_hello(a1, "now");
        CHECK(!connection_full_before_hello(b));
        CHECK(connection_crowding(b, 5001) == NULL); /* 1 each */
        CHECK(connection_crowding(b, 5002) == b1);
        connection_free(a1);
        connection_free(a2);
        connection_free(b1);
        close_many(peers, 3);
        test_broker_free(b);
}

static void test_end(void) {
        char policy[128];
        Broker *b;
        Connection *c;
        unsigned detaches;
        int peer;

        snprintf(policy, sizeof(policy), "[Pool all]\nVendorDevice=1234:*\n[Grant all]\nPool=all\nUser=%u\n",
                 (unsigned) getuid());
        b = test_broker_new(fs.root, policy, NULL);
        CHECK_EQ_INT(broker_observe(b, &observer, NULL), 0);

        /* A client gone: its lease is released, its group detached and free. */
        c = test_connect(b, &peer);
        (void) lease_of(c, "0000:00:03.0");
        released = 0;
        detaches = kernel_fake.detaches;
        connection_free(c);
        close(peer);
        CHECK_EQ_INT(released, 1);
        CHECK_EQ_STR(last_why, "client gone");
        CHECK(kernel_fake.detaches > detaches);
        CHECK(broker_find_group(b, 1) == NULL);

        /* Leaving for a restart: the lease stays in the kernel as it is, nothing is released. */
        c = test_connect(b, &peer);
        (void) lease_of(c, "0000:00:03.0");
        released = 0;
        detaches = kernel_fake.detaches;
        b->ending = BROKER_LEAVING;
        connection_free(c);
        close(peer);
        CHECK_EQ_INT(released, 0);
        CHECK_EQ_INT(kernel_fake.detaches, detaches);
        CHECK(broker_find_group(b, 1) == NULL); /* the broker forgot it; the next one adopts it */

        /* Stopping: released, and said so. */
        b->ending = BROKER_STOPPING;
        c = test_connect(b, &peer);
        (void) lease_of(c, "0000:00:03.0");
        connection_free(c);
        close(peer);
        CHECK_EQ_STR(last_why, "broker stopped");
        test_broker_free(b);
}

static void test_adopt(void) {
        Broker *b = test_broker_new(fs.root, NULL, NULL);
        Connection saved = { .id = 41, .uid = 1000, .gid = 1000, .pid = getpid() }, *c;
        int sv[2];

        strcpy(saved.name, "before");
        CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
        CHECK_EQ_INT(connection_adopt(b, sv[0], dup(sv[1]), &saved, &c), 0);
        CHECK(c->said_hello);
        CHECK_EQ_INT(c->uid, 1000);
        CHECK_EQ_STR(c->name, "before");
        CHECK_EQ_INT(b->next_connection_id, 41); /* new ones come after it */
        CHECK_EQ_INT(user_registry_total(&b->users, USER_UNAUTHENTICATED), 0);
        CHECK_EQ_INT(user_registry_total(&b->users, USER_CONNECTIONS), 1);
        CHECK(broker_find_connection(b, 41) == c);
        connection_free(c);
        close(sv[1]);
        test_broker_free(b);
}

int main(void) {
        fake_sysfs_init(&fs);
        fake_sysfs_add(&fs, "0000:00:03.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 1);
        RUN(test_limits);
        RUN(test_crowding);
        RUN(test_end);
        RUN(test_adopt);
        fake_sysfs_done(&fs);
        return 0;
}
