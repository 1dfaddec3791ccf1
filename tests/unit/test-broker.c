/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "test-broker.h"

#include <sys/socket.h>

#include "common/util.h"
#include "test.h"

Broker *test_broker_new(const char *sysfs_root, const char *policy, void (*config_fn)(BrokerConfig *config)) {
        BrokerConfig config;
        PolicyError err;
        Loop *loop;
        Broker *b;

        broker_config_init(&config);
        config.policy_file = config.policy_dir = "/nonexistent";
        config.sysfs_root = sysfs_root;
        config.backend = &kernel_backend_fake;
        if (config_fn)
                config_fn(&config);
        CHECK_EQ_INT(loop_new(&loop), 0);
        CHECK_EQ_INT(broker_new(&b, loop, &config), 0);
        if (policy) {
                CHECK_EQ_INT(policy_parse_text(&b->policy, "test", policy, &err), 0);
                CHECK_EQ_INT(policy_finish(&b->policy, NULL, &err), 0);
        }
        return b;
}

void test_broker_free(Broker *b) {
        Loop *loop = b->loop;

        broker_free(b);
        loop_free(loop);
}

Connection *test_connection(Broker *b, int fd) {
        PeerIdentity id;
        Connection *c;

        CHECK_EQ_INT(peer_credentials(fd, &id), 0);
        CHECK_EQ_INT(peer_identify(fd, &id), 0);
        CHECK_EQ_INT(connection_new(b, fd, &id, &c), 0);
        return c;
}

Connection *test_connect(Broker *b, int *ret_peer) {
        Connection *c;
        int sv[2];

        CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0);
        c = test_connection(b, sv[0]);
        connection_said_hello(c, "test");
        *ret_peer = sv[1];
        return c;
}

Session *test_session(RpcServer *server, Broker *b, int fd) {
        Session *s;

        CHECK_EQ_INT(session_new(server, test_connection(b, fd), true, &s), 0);
        return s;
}

static void on_stop(Source *s, void *userdata) {
        loop_exit(userdata);
}

void test_run_loop(Broker *b, unsigned msec) {
        Source *timer = NULL;

        CHECK_EQ_INT(loop_add_timer(b->loop, msec * 1000ULL, on_stop, b->loop, &timer), 0);
        CHECK(loop_run(b->loop) >= 0);
        source_free(timer);
}
