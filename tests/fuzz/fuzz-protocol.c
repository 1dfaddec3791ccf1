/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: one client packet through the broker's decode, validation
 * and dispatch, as root under a policy that grants everything, with devices
 * from a fake sysfs tree and the fake kernel backend.  Leases made
 * are released after each input, so that nothing carries over.  Quiet
 * unless FUZZ_LOG is set.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "broker/lease.h"
#include "common/util.h"
#include "fake-sysfs.h"
#include "rpc/dispatch.h"
#include "rpc/server.h"
#include "util/log.h"
#include "util/peer.h"

static Broker *broker;
static RpcServer *server;
static Loop *loop;
static FakeSysfs fs;

static void setup(void) {
        static const char policy[] = "[Broker]\nAllowNoIommu=yes\n[Pool all]\nVendorDevice=1234:*\n"
                                     "[Grant all]\nPool=all\nUser=0\n";
        BrokerConfig config;
        PolicyError err;

        /* The log of every input would take the time from fuzzing: FUZZ_LOG=1 to see it. */
        log_max_level = getenv("FUZZ_LOG") ? LOG_DEBUG : LOG_CRIT;
        fake_sysfs_init(&fs);
        fake_sysfs_add(&fs, "0000:00:03.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 1);
        fake_sysfs_add(&fs, "0000:01:01.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 3);
        fake_sysfs_add(&fs, "0000:01:02.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 3);
        fake_sysfs_add(&fs, "0000:02:01.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 4);
        fake_sysfs_add(&fs, "0000:02:02.0", "0x8086", "0x10d3", "0x020000", "e1000e", 4);
        broker_config_init(&config);
        config.sysfs_root = fs.root;
        config.backend = &kernel_backend_fake;
        if (loop_new(&loop) < 0 || broker_new(&broker, loop, &config) < 0 || rpc_server_new(broker, &server) < 0)
                abort();
        if (policy_parse_text(&broker->policy, "fuzz", policy, &err) < 0 ||
            policy_finish(&broker->policy, NULL, &err) < 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Vfiobroker__Request *req;
        PeerIdentity id;
        Connection *c;
        Session *s;
        Lease *l;
        int sv[2];
        Reply reply;

        if (!broker)
                setup();
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
                abort();
        if (peer_credentials(sv[0], &id) < 0 || peer_identify(sv[0], &id) < 0 || connection_new(broker, sv[0], &id, &c) < 0 ||
            session_new(server, c, true, &s) < 0)
                abort();
        /* Every input after a Hello, so that all requests are reachable, and once before. */
        if (size > 0 && (data[0] & 1))
                session_said_hello(s, "fuzz");

        req = vfiobroker__request__unpack(NULL, size, data);
        if (req) {
                reply_init(&reply, req->id);
                (void) dispatch_request(s, req, &reply);
                (void) protobuf_c_message_get_packed_size(&reply.msg.base);
                reply_done(&reply);
                vfiobroker__request__free_unpacked(req, NULL);
        }
        while ((l = LIST_FIRST(&c->leases)))
                lease_release(l, "fuzz");
        session_free(s);
        safe_close(sv[1]);
        return 0;
}
