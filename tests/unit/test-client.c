/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfio-broker against the broker's own core, run in a child process on a
 * socket of its own with a fake sysfs tree: the calls, their errno mapping
 * and the broker's messages.  (Leases with real fds are proven in the vm suite.)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker/broker.h"
#include "proto/vfio-broker.pb-c.h"
#include "proto/wire.h"
#include "rpc/server.h"
#include "fake-sysfs.h"
#include "test.h"
#include "vfio-broker.h"

static FakeSysfs fs;
static char socket_path[PATH_MAX];
static pid_t broker_pid;

/* Whether a socket at @path listens: /proc/net/unix shows it with __SO_ACCEPTCON (without connecting to it). */
static bool listening(const char *path) {
        char line[512], name[PATH_MAX];
        unsigned long flags;
        bool found = false;
        FILE *f;

        f = fopen("/proc/net/unix", "re");
        if (!f)
                return access(path, F_OK) == 0;
        while (!found && fgets(line, sizeof(line), f))
                if (sscanf(line, "%*s %*s %*s %lx %*s %*s %*s %4095s", &flags, name) == 2)
                        found = strcmp(name, path) == 0 && (flags & 0x10000);
        fclose(f);
        return found;
}

static void start_broker(void) {
        BrokerConfig config;
        RpcServer *server;
        Broker *b;
        Loop *loop;

        fake_sysfs_init(&fs);
        fake_sysfs_add(&fs, "0000:00:03.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 1);
        fake_sysfs_add(&fs, "0000:02:01.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 4);
        fake_sysfs_add(&fs, "0000:02:02.0", "0x8086", "0x10d3", "0x020000", "e1000e", 4);
        snprintf(socket_path, sizeof(socket_path), "%s/broker.sock", fs.root);
        broker_config_init(&config);
        config.policy_file = config.policy_dir = "/nonexistent";
        config.backend = &kernel_backend_fake;
        config.max_connections_per_uid = 4;
        config.hello_timeout_usec = 300000;
        config.max_queued_bytes = 16384; /* a few replies' worth of the broker's bound (rpc/session.c) */
        config.sysfs_root = fs.root;

        broker_pid = fork();
        CHECK(broker_pid >= 0);
        if (broker_pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed check in the parent must not leave us */
                CHECK_EQ_INT(loop_new(&loop), 0);
                CHECK_EQ_INT(broker_new(&b, loop, &config), 0);
                CHECK_EQ_INT(rpc_server_new(b, &server), 0);
                CHECK_EQ_INT(rpc_server_listen(server, socket_path, NULL), 0);
                loop_run(loop);
                _exit(0);
        }
        /* Up once it listens: its socket file appears at bind, a moment before (a busy machine stretches it). */
        for (int i = 0; i < 500 && !listening(socket_path); i++)
                usleep(10000);
        CHECK(listening(socket_path));
}

static void stop_broker(void) {
        kill(broker_pid, SIGKILL);
        waitpid(broker_pid, NULL, 0);
        fake_sysfs_done(&fs);
}

/* Where a second broker would listen: a live one's socket is refused naming it, a dead one's is replaced. */
static void test_socket_path(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        BrokerConfig config;
        RpcServer *server;
        pid_t owner = 0;
        Broker *b;
        Loop *loop;
        int fd;

        broker_config_init(&config);
        config.policy_file = config.policy_dir = "/nonexistent";
        config.backend = &kernel_backend_fake;
        config.sysfs_root = fs.root;
        CHECK_EQ_INT(loop_new(&loop), 0);
        CHECK_EQ_INT(broker_new(&b, loop, &config), 0);
        CHECK_EQ_INT(rpc_server_new(b, &server), 0);
        CHECK_EQ_INT(rpc_server_listen(server, socket_path, &owner), -EADDRINUSE);
        CHECK_EQ_INT(owner, broker_pid);
        CHECK(access(socket_path, F_OK) == 0); /* the live broker's socket is still there */

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dead.sock", fs.root);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        CHECK(fd >= 0 && bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0);
        close(fd); /* bound, never listened on, its owner gone */
        CHECK_EQ_INT(rpc_server_listen(server, sa.sun_path, &owner), 0);

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/a-file", fs.root);
        fd = open(sa.sun_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        CHECK(fd >= 0);
        close(fd);
        CHECK_EQ_INT(rpc_server_listen(server, sa.sun_path, &owner), -EEXIST);
        CHECK(access(sa.sun_path, F_OK) == 0);
        rpc_server_free(server);
        broker_free(b);
        loop_free(loop);
}

static void test_calls(void) {
        struct vfio_broker_device *devices = NULL;
        struct vfio_broker_device_info *info = NULL;
        struct vfio_broker_device_request want = { .bdf = "0000:02:02.0" };
        vfio_broker_lease *lease = NULL;
        vfio_broker *b = NULL;
        size_t n;

        CHECK_EQ_INT(vfio_broker_connect("/nonexistent/socket", &b), -ENOENT);
        CHECK_EQ_INT(vfio_broker_connect(socket_path, &b), 0);

        /* Nothing before hello: the broker hangs up. */
        CHECK_EQ_INT(vfio_broker_list_devices(b, &devices, &n), -EPROTO);
        CHECK(strstr(vfio_broker_error_message(b), "before Hello"));
        b = vfio_broker_disconnect(b);

        setenv("VFIO_BROKER_SOCKET", socket_path, 1);
        CHECK_EQ_INT(vfio_broker_connect(NULL, &b), 0);
        CHECK_EQ_INT(vfio_broker_hello(b, "test-client"), 0);
        CHECK_EQ_STR(vfio_broker_error_message(b), "");

        CHECK_EQ_INT(vfio_broker_list_devices(b, &devices, &n), 0);
        CHECK_EQ_INT(n, 3);
        CHECK_EQ_STR(devices[0].bdf, "0000:00:03.0");
        CHECK_EQ_INT(devices[0].state, VFIO_BROKER_DEVICE_FREE);
        CHECK_EQ_INT(devices[0].vendor, 0x1234);
        CHECK_EQ_INT(devices[1].state, VFIO_BROKER_DEVICE_UNAVAILABLE);
        CHECK(strstr(devices[1].reason, "e1000e"));
        free(devices);

        CHECK_EQ_INT(vfio_broker_acquire(b, 0, &want, 1, &lease), -ENXIO);
        CHECK(strstr(vfio_broker_error_message(b), "0000:02:02.0 is bound to e1000e"));
        CHECK(!lease);
        want.bdf = "0000:02:01.0";
        CHECK_EQ_INT(vfio_broker_acquire(b, 0, &want, 1, &lease), -EPERM);
        CHECK(strstr(vfio_broker_error_message(b), "not viable"));
        want.bdf = "0000:05:00.0";
        CHECK_EQ_INT(vfio_broker_acquire(b, 0, &want, 1, &lease), -ENODEV);
        CHECK_EQ_INT(vfio_broker_acquire(b, 0, &want, 0, &lease), -EINVAL);
        CHECK_EQ_INT(vfio_broker_release(b, 12), -ENOENT);
        CHECK(strstr(vfio_broker_error_message(b), "no lease 12"));
        CHECK_EQ_INT(vfio_broker_fetch_lease(b, 12, &lease), -ENOENT);
        CHECK(strstr(vfio_broker_error_message(b), "no lease 12"));
        CHECK(!lease);

        CHECK_EQ_INT(vfio_broker_device_info(b, "0000:02:02.0", &info), 0);
        CHECK_EQ_STR(info->device.driver, "e1000e");
        CHECK_EQ_INT(info->n_regions, 0);
        vfio_broker_device_info_free(info);
        CHECK_EQ_INT(vfio_broker_device_info(b, "nonsense", &info), -EINVAL);

        /* Still one healthy connection after all the refusals. */
        CHECK_EQ_INT(vfio_broker_list_devices(b, &devices, &n), 0);
        free(devices);
        CHECK(vfio_broker_lease_find_fd(NULL, VFIO_BROKER_FD_CONTAINER, NULL, 0, 0) == -EINVAL);
        vfio_broker_disconnect(b);
}

/* Per-uid connection limit and the Hello deadline, as a client sees them. */
static void test_limits(void) {
        vfio_broker *b[5] = {};
        vfio_broker *late = NULL;

        for (int i = 0; i < 4; i++) {
                CHECK_EQ_INT(vfio_broker_connect(socket_path, &b[i]), 0);
                CHECK_EQ_INT(vfio_broker_hello(b[i], "limits"), 0);
        }
        CHECK_EQ_INT(vfio_broker_connect(socket_path, &b[4]), 0);
        CHECK_EQ_INT(vfio_broker_hello(b[4], "one too many"), -EUSERS);
        CHECK(strstr(vfio_broker_error_message(b[4]), "has 4 connections, the most allowed"));
        b[4] = vfio_broker_disconnect(b[4]);

        /* One goes, another may come. */
        b[0] = vfio_broker_disconnect(b[0]);
        usleep(100000);
        CHECK_EQ_INT(vfio_broker_connect(socket_path, &b[0]), 0);
        CHECK_EQ_INT(vfio_broker_hello(b[0], "again"), 0);

        /* A connection that says nothing is closed at the deadline. */
        b[1] = vfio_broker_disconnect(b[1]);
        usleep(100000);
        CHECK_EQ_INT(vfio_broker_connect(socket_path, &late), 0);
        usleep(600000);
        CHECK_EQ_INT(vfio_broker_hello(late, "too late"), -ETIMEDOUT);
        CHECK(strstr(vfio_broker_error_message(late), "no Hello in time"));
        vfio_broker_disconnect(late);
        for (int i = 0; i < 5; i++)
                vfio_broker_disconnect(b[i]);
}

/*
 * The broker bounds what a client has not read from above and looks at the
 * queue only when the bound is over the limit: a client that reads every
 * reply is never taken for one that does not, however many it gets.
 */
static void test_reading_client_stays(void) {
        struct vfio_broker_device *devices = NULL;
        vfio_broker *b = NULL;
        size_t n;

        CHECK_EQ_INT(vfio_broker_connect(socket_path, &b), 0);
        CHECK_EQ_INT(vfio_broker_hello(b, "reads everything"), 0);
        for (int i = 0; i < 500; i++) {
                CHECK_EQ_INT(vfio_broker_list_devices(b, &devices, &n), 0);
                free(devices);
        }
        vfio_broker_disconnect(b);
}

/* A packet from a stand-in broker: an event (id 0) for @lease, or with @kind 0 a Hello reply to @id. */
static void send_packet(int fd, uint64_t id, uint64_t lease, Vfiobroker__LeaseEventKind kind, const char *reason) {
        Vfiobroker__Reply reply = VFIOBROKER__REPLY__INIT;
        Vfiobroker__LeaseEvent e = VFIOBROKER__LEASE_EVENT__INIT;
        Vfiobroker__HelloReply hello = VFIOBROKER__HELLO_REPLY__INIT;

        reply.id = id;
        if (kind) {
                e.lease_id = lease;
                e.kind = kind;
                e.reason = (char *) reason;
                e.grace_ms = 5000;
                reply.result_case = VFIOBROKER__REPLY__RESULT_LEASE_EVENT;
                reply.lease_event = &e;
        } else {
                hello.protocol_version = VFIOBROKER__PROTOCOL_VERSION__PROTOCOL_VERSION_1;
                hello.broker_version = (char *) "stand-in";
                reply.result_case = VFIOBROKER__REPLY__RESULT_HELLO;
                reply.hello = &hello;
        }
        CHECK_EQ_INT(wire_send_message(fd, &reply.base, NULL, 0), 0);
}

/* A connection of the library to a stand-in broker: the stand-in's end. */
static int stand_in(const char *name, vfio_broker **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int listener, peer;

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", fs.root, name);
        listener = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        CHECK(listener >= 0);
        CHECK(bind(listener, (struct sockaddr *) &sa, sizeof(sa)) == 0 && listen(listener, 1) == 0);
        CHECK_EQ_INT(vfio_broker_connect(sa.sun_path, ret), 0);
        peer = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        CHECK(peer >= 0);
        close(listener);
        return peer;
}

/*
 * Events: the library asks for them in Hello, keeps one that arrives while
 * a call waits for its reply, hands out one that arrives between calls, and
 * refuses a malformed one (every byte from a broker socket is checked).
 */
static void test_events(void) {
        struct vfio_broker_event e;
        vfio_broker *b = NULL;
        uint8_t buf[4096];
        size_t n_fds;
        Vfiobroker__Request *req;
        ssize_t n;
        int peer;

        peer = stand_in("events.sock", &b);

        /* The Hello says events; an event before its reply waits in the handle. */
        send_packet(peer, 0, 7, VFIOBROKER__LEASE_EVENT_KIND__LEASE_RECALLED, "an administrator asked");
        send_packet(peer, 1, 0, 0, NULL);
        CHECK_EQ_INT(vfio_broker_hello(b, "events"), 0);
        n = wire_recv(peer, buf, sizeof(buf), NULL, 0, &n_fds);
        CHECK(n > 0);
        req = vfiobroker__request__unpack(NULL, (size_t) n, buf);
        CHECK(req && req->hello && req->hello->events);
        vfiobroker__request__free_unpacked(req, NULL);
        CHECK_EQ_INT(vfio_broker_next_event(b, &e), 1);
        CHECK(e.kind == VFIO_BROKER_EVENT_RECALLED && e.lease_id == 7 && e.grace_ms == 5000);
        CHECK_EQ_STR(e.reason, "an administrator asked");
        CHECK_EQ_INT(vfio_broker_next_event(b, &e), 0);

        /* Between calls: readable on vfio_broker_fd(). */
        send_packet(peer, 0, 7, VFIOBROKER__LEASE_EVENT_KIND__LEASE_ENDED, "escalated");
        CHECK(poll(&(struct pollfd) { .fd = vfio_broker_fd(b), .events = POLLIN }, 1, 5000) == 1);
        CHECK_EQ_INT(vfio_broker_next_event(b, &e), 1);
        CHECK(e.kind == VFIO_BROKER_EVENT_LEASE_ENDED && e.lease_id == 7 && e.grace_ms == 0);

        /* Malformed: no lease, an unknown kind, a reply with an id nobody asked for. */
        send_packet(peer, 0, 0, VFIOBROKER__LEASE_EVENT_KIND__LEASE_RECALLED, "no lease");
        CHECK(poll(&(struct pollfd) { .fd = vfio_broker_fd(b), .events = POLLIN }, 1, 5000) == 1);
        CHECK_EQ_INT(vfio_broker_next_event(b, &e), -EBADMSG);
        send_packet(peer, 0, 7, (Vfiobroker__LeaseEventKind) 9, "what");
        CHECK(poll(&(struct pollfd) { .fd = vfio_broker_fd(b), .events = POLLIN }, 1, 5000) == 1);
        CHECK_EQ_INT(vfio_broker_next_event(b, &e), -EBADMSG);
        send_packet(peer, 42, 0, 0, NULL);
        CHECK(poll(&(struct pollfd) { .fd = vfio_broker_fd(b), .events = POLLIN }, 1, 5000) == 1);
        CHECK_EQ_INT(vfio_broker_next_event(b, &e), -EBADMSG);

        /* The broker hangs up. */
        close(peer);
        CHECK_EQ_INT(vfio_broker_next_event(b, &e), -ECONNRESET);
        vfio_broker_disconnect(b);
}

/* A stand-in broker's packet with @result: a reply to @id, or with id 0 unasked. */
static void send_result(int fd, uint64_t id, Vfiobroker__Reply__ResultCase result) {
        Vfiobroker__Reply reply = VFIOBROKER__REPLY__INIT;
        Vfiobroker__PingReply ping = VFIOBROKER__PING_REPLY__INIT;
        Vfiobroker__ReleaseReply release = VFIOBROKER__RELEASE_REPLY__INIT;
        Vfiobroker__BrokerRestarted restarted = VFIOBROKER__BROKER_RESTARTED__INIT;

        reply.id = id;
        reply.result_case = result;
        if (result == VFIOBROKER__REPLY__RESULT_PING)
                reply.ping = &ping;
        else if (result == VFIOBROKER__REPLY__RESULT_RELEASE)
                reply.release = &release;
        else
                reply.restarted = &restarted;
        CHECK_EQ_INT(wire_send_message(fd, &reply.base, NULL, 0), 0);
}

/* The next request the stand-in reads: its id and what it asks. */
static void expect_request(int fd, uint64_t id, Vfiobroker__Request__OpCase op) {
        Vfiobroker__Request *req;
        uint8_t buf[4096];
        size_t n_fds;
        ssize_t n;

        n = wire_recv(fd, buf, sizeof(buf), NULL, 0, &n_fds);
        CHECK(n > 0);
        req = vfiobroker__request__unpack(NULL, (size_t) n, buf);
        CHECK(req);
        CHECK_EQ_INT((int) req->id, (int) id);
        CHECK_EQ_INT(req->op_case, op);
        if (op == VFIOBROKER__REQUEST__OP_HELLO)
                CHECK(req->hello->restart_notice);
        vfiobroker__request__free_unpacked(req, NULL);
}

/*
 * A broker restart (the stand-in's packets are queued before each call: the
 * ids the library gives are known).  Told of it while a call waits, the
 * library pings: the Ping's reply first means the request was lost
 * (-ECONNABORTED, said why); the request's reply first, that it was not, and
 * the Ping's reply that comes later is passed over, in a call and between
 * calls.  A Ping reply nobody sent a Ping for is malformed.
 */
static void test_restart(void) {
        struct vfio_broker_event e;
        vfio_broker *b = NULL;
        int peer;

        peer = stand_in("restart.sock", &b);
        send_packet(peer, 1, 0, 0, NULL);
        CHECK_EQ_INT(vfio_broker_hello(b, "restarts"), 0);
        expect_request(peer, 1, VFIOBROKER__REQUEST__OP_HELLO);

        /* Lost: the old broker read Release 2; the new one says so, answers the Ping (3). */
        send_result(peer, 0, VFIOBROKER__REPLY__RESULT_RESTARTED);
        send_result(peer, 3, VFIOBROKER__REPLY__RESULT_PING);
        CHECK_EQ_INT(vfio_broker_release(b, 7), -ECONNABORTED);
        CHECK(strstr(vfio_broker_error_message(b), "restarted while it handled the request"));
        expect_request(peer, 2, VFIOBROKER__REQUEST__OP_RELEASE);
        expect_request(peer, 3, VFIOBROKER__REQUEST__OP_PING);

        /* Not lost: Release 4 answered after the notice, before the Ping (5), whose reply the next call passes. */
        send_result(peer, 0, VFIOBROKER__REPLY__RESULT_RESTARTED);
        send_result(peer, 4, VFIOBROKER__REPLY__RESULT_RELEASE);
        CHECK_EQ_INT(vfio_broker_release(b, 7), 0);
        send_result(peer, 5, VFIOBROKER__REPLY__RESULT_PING);
        send_result(peer, 6, VFIOBROKER__REPLY__RESULT_RELEASE);
        CHECK_EQ_INT(vfio_broker_release(b, 7), 0);
        expect_request(peer, 4, VFIOBROKER__REQUEST__OP_RELEASE);
        expect_request(peer, 5, VFIOBROKER__REQUEST__OP_PING);
        expect_request(peer, 6, VFIOBROKER__REQUEST__OP_RELEASE);

        /* Two restarts while Release 7 waits: a Ping after each (8, 9); the first one's reply says lost. */
        send_result(peer, 0, VFIOBROKER__REPLY__RESULT_RESTARTED);
        send_result(peer, 0, VFIOBROKER__REPLY__RESULT_RESTARTED);
        send_result(peer, 8, VFIOBROKER__REPLY__RESULT_PING);
        CHECK_EQ_INT(vfio_broker_release(b, 7), -ECONNABORTED);
        expect_request(peer, 7, VFIOBROKER__REQUEST__OP_RELEASE);
        expect_request(peer, 8, VFIOBROKER__REQUEST__OP_PING);
        expect_request(peer, 9, VFIOBROKER__REQUEST__OP_PING);

        /* Between calls: a notice and the late Ping reply (9) are no event, and nothing is lost. */
        send_result(peer, 9, VFIOBROKER__REPLY__RESULT_PING);
        send_result(peer, 0, VFIOBROKER__REPLY__RESULT_RESTARTED);
        CHECK(poll(&(struct pollfd) { .fd = vfio_broker_fd(b), .events = POLLIN }, 1, 5000) == 1);
        CHECK_EQ_INT(vfio_broker_next_event(b, &e), 0);
        CHECK(poll(&(struct pollfd) { .fd = vfio_broker_fd(b), .events = POLLIN }, 1, 0) == 0);

        /* A Ping reply for a Ping never sent: in a call, and between calls. */
        send_result(peer, 11, VFIOBROKER__REPLY__RESULT_PING);
        CHECK_EQ_INT(vfio_broker_release(b, 7), -EBADMSG);
        expect_request(peer, 10, VFIOBROKER__REQUEST__OP_RELEASE);
        send_result(peer, 42, VFIOBROKER__REPLY__RESULT_PING);
        CHECK(poll(&(struct pollfd) { .fd = vfio_broker_fd(b), .events = POLLIN }, 1, 5000) == 1);
        CHECK_EQ_INT(vfio_broker_next_event(b, &e), -EBADMSG);

        close(peer);
        vfio_broker_disconnect(b);
}

int main(void) {
        start_broker();
        RUN(test_socket_path);
        RUN(test_events);
        RUN(test_restart);
        RUN(test_calls);
        RUN(test_limits);
        RUN(test_reading_client_stays);
        stop_broker();
        return 0;
}
