/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The broker's request handling up to the point where it would touch VFIO:
 * every refusal happens before any side effect, with the right code and a
 * message naming the cause.  Devices come from a fake sysfs tree.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>

#include "broker/connection.h"
#include "common/util.h"
#include "fake-sysfs.h"
#include "rpc/dispatch.h"
#include "rpc/server.h"
#include "test.h"
#include "test-broker.h"

static FakeSysfs fs;
static Broker *broker;
static RpcServer *server;
static Loop *loop;
static Session *session;
static Connection *conn;
static int peer = -1;

#define E(code) VFIOBROKER__ERROR_CODE__ERROR_##code

static void setup(void) {
        BrokerConfig config;
        char path[PATH_MAX];
        FILE *f;
        int sv[2];

        fake_sysfs_init(&fs);
        broker_config_init(&config);
        config.policy_file = config.policy_dir = "/nonexistent";
        config.sysfs_root = fs.root;
        config.backend = &kernel_backend_fake;
        fake_sysfs_add(&fs, "0000:00:03.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 1);
        fake_sysfs_add(&fs, "0000:00:04.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 2);
        fake_sysfs_add(&fs, "0000:00:06.0", "0x1b36", "0x0001", "0x060400", NULL, 4);
        fake_sysfs_add(&fs, "0000:02:01.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 4);
        fake_sysfs_add(&fs, "0000:02:02.0", "0x8086", "0x10d3", "0x020000", "e1000e", 4);
        fake_sysfs_add(&fs, "0000:00:1f.0", "0x8086", "0x2918", "0x060100", NULL, 5);
        fake_sysfs_add(&fs, "0000:00:07.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 7);
        snprintf(path, sizeof(path), "%s/kernel/iommu_groups/7/name", fs.root);
        f = fopen(path, "we");
        CHECK(f);
        fputs("vfio-noiommu\n", f);
        fclose(f);

        CHECK_EQ_INT(loop_new(&loop), 0);
        CHECK_EQ_INT(broker_new(&broker, loop, &config), 0);
        CHECK_EQ_INT(rpc_server_new(broker, &server), 0);
        CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0);
        session = test_session(server, broker, sv[0]);
        conn = session->connection;
        peer = sv[1];
}

/* Dispatch @req; returns dispatch's result, leaves the reply in *reply. */
static int run(Vfiobroker__Request *req, Reply *reply) {
        reply_init(reply, req->id);
        return dispatch_request(session, req, reply);
}

static void expect_error(Vfiobroker__Request *req, int want_r, Vfiobroker__ErrorCode code, const char *words) {
        Reply reply;
        int r = run(req, &reply);

        if (r != want_r || !reply.msg.error || reply.error.code != code || !strstr(reply.error.message, words) ||
            reply.n_fds != 0) {
                fprintf(stderr, "expected code %d \"%s\" (r=%d), got r=%d code %d \"%s\"\n", code, words, want_r, r,
                        reply.msg.error ? (int) reply.error.code : 0,
                        reply.msg.error ? reply.error.message : "(no error)");
                exit(EXIT_FAILURE);
        }
        reply_done(&reply);
}

static void hello(uint32_t version, const char *name, Vfiobroker__Request *req, Vfiobroker__HelloRequest *h) {
        vfiobroker__request__init(req);
        vfiobroker__hello_request__init(h);
        h->protocol_version = version;
        h->client_name = (char *) name;
        req->op_case = VFIOBROKER__REQUEST__OP_HELLO;
        req->hello = h;
        req->id = 1;
}

static void test_hello(void) {
        Vfiobroker__Request req = VFIOBROKER__REQUEST__INIT;
        Vfiobroker__ListDevicesRequest list = VFIOBROKER__LIST_DEVICES_REQUEST__INIT;
        Vfiobroker__PingRequest ping = VFIOBROKER__PING_REQUEST__INIT;
        Vfiobroker__HelloRequest h;
        Reply reply;

        req.op_case = VFIOBROKER__REQUEST__OP_LIST_DEVICES;
        req.list_devices = &list;
        expect_error(&req, -EPROTO, E(PROTOCOL), "ListDevices before Hello");
        req.op_case = VFIOBROKER__REQUEST__OP_PING;
        req.ping = &ping;
        expect_error(&req, -EPROTO, E(PROTOCOL), "Ping before Hello");

        hello(2, "x", &req, &h);
        expect_error(&req, 0, E(VERSION), "protocol version 2");
        hello(1, "bad\nname", &req, &h);
        expect_error(&req, 0, E(INVALID_ARGUMENT), "printable");
        CHECK(!conn->said_hello);

        hello(1, "test", &req, &h);
        h.restart_notice = true;
        CHECK_EQ_INT(run(&req, &reply), 0);
        CHECK(!reply.msg.error);
        CHECK_EQ_INT(reply.msg.result_case, VFIOBROKER__REPLY__RESULT_HELLO);
        CHECK_EQ_INT(reply.msg.hello->protocol_version, 1);
        CHECK(reply.msg.hello->n_features > 0);
        CHECK_EQ_INT(reply.msg.id, 1);
        reply_done(&reply);
        CHECK(conn->said_hello && conn->restart_notice && !conn->events);

        expect_error(&req, -EPROTO, E(PROTOCOL), "already");

        /* Ping: an empty answer to its own id. */
        vfiobroker__request__init(&req);
        req.id = 2;
        req.op_case = VFIOBROKER__REQUEST__OP_PING;
        req.ping = &ping;
        CHECK_EQ_INT(run(&req, &reply), 0);
        CHECK(!reply.msg.error && reply.n_fds == 0);
        CHECK_EQ_INT(reply.msg.result_case, VFIOBROKER__REPLY__RESULT_PING);
        CHECK_EQ_INT(reply.msg.id, 2);
        reply_done(&reply);

        vfiobroker__request__init(&req);
        req.id = 9;
        expect_error(&req, -EPROTO, E(PROTOCOL), "unknown request");
}

static const Vfiobroker__Device *find(const Reply *reply, const char *bdf) {
        for (size_t i = 0; i < reply->msg.list_devices->n_devices; i++)
                if (strcmp(reply->msg.list_devices->devices[i]->bdf, bdf) == 0)
                        return reply->msg.list_devices->devices[i];
        return NULL;
}

static void test_list(void) {
        Vfiobroker__Request req = VFIOBROKER__REQUEST__INIT;
        Vfiobroker__ListDevicesRequest list = VFIOBROKER__LIST_DEVICES_REQUEST__INIT;
        const Vfiobroker__Device *d;
        Reply reply;

        req.op_case = VFIOBROKER__REQUEST__OP_LIST_DEVICES;
        req.list_devices = &list;
        CHECK_EQ_INT(run(&req, &reply), 0);
        CHECK(!reply.msg.error);
        d = find(&reply, "0000:00:03.0");
        CHECK(d && d->state == VFIOBROKER__DEVICE_STATE__DEVICE_FREE && d->iommu_group == 1);
        CHECK_EQ_INT(d->vendor, 0x1234);
        d = find(&reply, "0000:02:01.0");
        CHECK(d && d->state == VFIOBROKER__DEVICE_STATE__DEVICE_UNAVAILABLE);
        CHECK(strstr(d->reason, "0000:02:02.0 is bound to the host driver e1000e"));
        d = find(&reply, "0000:02:02.0");
        CHECK(d && d->state == VFIOBROKER__DEVICE_STATE__DEVICE_UNAVAILABLE && strcmp(d->driver, "e1000e") == 0);
        CHECK(!find(&reply, "0000:00:06.0")); /* the bridge */
        CHECK(!find(&reply, "0000:00:1f.0")); /* no vfio device in its group */
        d = find(&reply, "0000:00:07.0");
        CHECK(d && d->noiommu);
        reply_done(&reply);
}

typedef struct Acq {
        Vfiobroker__Request req;
        Vfiobroker__AcquireRequest a;
        Vfiobroker__DeviceRequest d[20], *dp[20];
        Vfiobroker__IrqRequest irq[4], *ip[4];
} Acq;

static Acq *acquire(size_t n, const char *bdf) {
        static Acq q;

        vfiobroker__request__init(&q.req);
        vfiobroker__acquire_request__init(&q.a);
        for (size_t i = 0; i < 20; i++) {
                vfiobroker__device_request__init(&q.d[i]);
                q.d[i].bdf = (char *) bdf;
                q.dp[i] = &q.d[i];
        }
        for (size_t i = 0; i < 4; i++) {
                vfiobroker__irq_request__init(&q.irq[i]);
                q.ip[i] = &q.irq[i];
        }
        q.a.devices = q.dp;
        q.a.n_devices = n;
        q.req.op_case = VFIOBROKER__REQUEST__OP_ACQUIRE;
        q.req.acquire = &q.a;
        q.req.id = 3;
        return &q;
}

static void with_irqs(Acq *q, Vfiobroker__IrqType t1, uint32_t c1, Vfiobroker__IrqType t2, uint32_t c2) {
        q->irq[0].type = t1;
        q->irq[0].count = c1;
        q->irq[1].type = t2;
        q->irq[1].count = c2;
        q->d[0].irqs = q->ip;
        q->d[0].n_irqs = t2 ? 2 : 1;
}

static void test_acquire_refusals(void) {
        Acq *q;

        expect_error(&acquire(0, "0000:00:03.0")->req, 0, E(INVALID_ARGUMENT), "1 to 16 devices");
        expect_error(&acquire(17, "0000:00:03.0")->req, 0, E(INVALID_ARGUMENT), "1 to 16 devices");
        expect_error(&acquire(1, "0000:00:03")->req, 0, E(INVALID_ARGUMENT), "not a PCI address");
        expect_error(&acquire(1, "/dev/vfio/1")->req, 0, E(INVALID_ARGUMENT), "not a PCI address");
        expect_error(&acquire(2, "0000:00:03.0")->req, 0, E(INVALID_ARGUMENT), "named twice");
        expect_error(&acquire(1, "0000:09:00.0")->req, 0, E(UNKNOWN_DEVICE), "no PCI device 0000:09:00.0");
        expect_error(&acquire(1, "0000:02:02.0")->req, 0, E(NOT_VFIO), "0000:02:02.0 is bound to e1000e");
        expect_error(&acquire(1, "0000:00:1f.0")->req, 0, E(NOT_VFIO), "no driver");
        expect_error(&acquire(1, "0000:02:01.0")->req, 0, E(GROUP_NOT_VIABLE),
                     "0000:02:02.0 is bound to the host driver e1000e");
        expect_error(&acquire(1, "0000:00:07.0")->req, 0, E(NOIOMMU), "no-IOMMU");

        q = acquire(1, "0000:00:03.0");
        with_irqs(q, VFIOBROKER__IRQ_TYPE__IRQ_INTX, 2, 0, 0);
        expect_error(&q->req, 0, E(INVALID_ARGUMENT), "2 INTx vectors");
        q = acquire(1, "0000:00:03.0");
        with_irqs(q, VFIOBROKER__IRQ_TYPE__IRQ_MSI, 4096, 0, 0);
        expect_error(&q->req, 0, E(INVALID_ARGUMENT), "4096 MSI vectors");
        q = acquire(1, "0000:00:03.0");
        with_irqs(q, VFIOBROKER__IRQ_TYPE__IRQ_MSI, 1, VFIOBROKER__IRQ_TYPE__IRQ_INTX, 1);
        expect_error(&q->req, 0, E(INVALID_ARGUMENT), "exclude each other");
        q = acquire(1, "0000:00:03.0");
        with_irqs(q, VFIOBROKER__IRQ_TYPE__IRQ_ERR, 1, VFIOBROKER__IRQ_TYPE__IRQ_ERR, 1);
        expect_error(&q->req, 0, E(INVALID_ARGUMENT), "requested twice");
        q = acquire(1, "0000:00:03.0");
        with_irqs(q, 42, 1, 0, 0);
        expect_error(&q->req, 0, E(INVALID_ARGUMENT), "unknown IRQ type 42");
        q = acquire(1, "0000:00:03.0");
        with_irqs(q, VFIOBROKER__IRQ_TYPE__IRQ_MSIX, 2048, 0, 0);
        q->d[1].irqs = q->ip;
        q->d[1].n_irqs = 1;
        q->d[1].bdf = (char *) "0000:00:04.0";
        q->a.n_devices = 2;
        expect_error(&q->req, 0, E(LIMIT), "fds");

        q = acquire(1, "0000:00:03.0");
        q->a.lease_id = 77;
        expect_error(&q->req, 0, E(UNKNOWN_LEASE), "no lease 77");

        /* A valid request from a uid without a grant: denied, no lease made. */
        conn->uid = 1000;
        expect_error(&acquire(1, "0000:00:03.0")->req, 0, E(DENIED), "no grant names uid 1000");
        CHECK(LIST_EMPTY(&conn->leases));
        CHECK(LIST_EMPTY(&broker->groups));
        conn->uid = 0;
}

static void test_release_and_info(void) {
        Vfiobroker__Request req = VFIOBROKER__REQUEST__INIT;
        Vfiobroker__ReleaseRequest rel = VFIOBROKER__RELEASE_REQUEST__INIT;
        Vfiobroker__DeviceInfoRequest di = VFIOBROKER__DEVICE_INFO_REQUEST__INIT;
        Vfiobroker__FetchLeaseRequest fetch = VFIOBROKER__FETCH_LEASE_REQUEST__INIT;
        Reply reply;

        rel.lease_id = 5;
        req.op_case = VFIOBROKER__REQUEST__OP_RELEASE;
        req.release = &rel;
        expect_error(&req, 0, E(UNKNOWN_LEASE), "no lease 5");

        fetch.lease_id = 5;
        req.op_case = VFIOBROKER__REQUEST__OP_FETCH_LEASE;
        req.fetch_lease = &fetch;
        expect_error(&req, 0, E(UNKNOWN_LEASE), "no lease 5");

        req.op_case = VFIOBROKER__REQUEST__OP_DEVICE_INFO;
        req.device_info = &di;
        di.bdf = (char *) "zz";
        expect_error(&req, 0, E(INVALID_ARGUMENT), "not a PCI address");
        di.bdf = (char *) "0000:0a:00.0";
        expect_error(&req, 0, E(UNKNOWN_DEVICE), "no PCI device 0000:0a:00.0");

        /* Not viable: the sysfs view only, VFIO not asked. */
        di.bdf = (char *) "0000:02:01.0";
        CHECK_EQ_INT(run(&req, &reply), 0);
        CHECK(!reply.msg.error);
        CHECK_EQ_INT(reply.msg.device_info->n_regions, 0);
        CHECK_EQ_INT(reply.msg.device_info->device->state, VFIOBROKER__DEVICE_STATE__DEVICE_UNAVAILABLE);
        reply_done(&reply);
}

int main(void) {
        setup();
        RUN(test_hello);
        RUN(test_list);
        RUN(test_acquire_refusals);
        RUN(test_release_and_info);
        rpc_server_free(server);
        broker_free(broker);
        loop_free(loop);
        safe_close(peer);
        fake_sysfs_done(&fs);
        return 0;
}
