/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the state file a restarted broker adopts its leases from
 * (daemon/system/records.c), with an FD store holding a fixed set of names.  The
 * input is the file after its header line.  A fresh broker adopts it and is
 * torn down again each time: whatever the file says, nothing may crash or
 * leak, every stored fd ends up used or closed, no IOMMU group is adopted
 * twice, and every adopted device is in a group of its own lease.
 * FUZZ_LOG=1 in the environment shows the broker's log (what was adopted).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "broker/connection.h"
#include "broker/group.h"
#include "broker/lease.h"
#include "common/util.h"
#include "fake-sysfs.h"
#include "kernel/backend-fake.h"
#include "system/persist.h"
#include "util/log.h"

/*
 * What the store of a broker with three clients, three leases and a
 * quarantine holds; connections 1 and 2 and leases 1 and 2 as an older broker
 * stored them (a name per fd but a connection's socket), connection 3 and
 * lease 3 as brokers do now (socket and pidfd under one name, container,
 * groups and eventfds under one), in another order than they were sent.
 * Sockets and the fake backend's stand-ins for containers and groups are marked;
 * the rest are eventfds (whose eventfd-ids the kernel picks: a record names
 * one only by chance).
 */
typedef enum Kind {
        OTHER,
        SOCKET,
        CONTAINER,
        GROUP,
} Kind;

static const struct {
        const char *name;
        Kind kind;
        int group;
} names[] = {
        { "vb-c1", SOCKET }, { "vb-c1-pidfd" }, { "vb-c2", SOCKET }, { "vb-c2-pidfd" },
        { "vb-c3" }, { "vb-c3", SOCKET }, /* pidfd first: adoption must tell them apart */
        { "vb-l1-ctr", CONTAINER }, { "vb-l1-g1", GROUP, 1 }, { "vb-l1-g3", GROUP, 3 },
        { "vb-l1-d0-e0" }, { "vb-l1-d0-e1" }, { "vb-l1-d1-e0" },
        { "vb-l2-ctr" }, { "vb-l2-g4" }, { "vb-l2-g1" }, { "vb-l2-d0-e0" }, /* as plain fds: an older fake */
        { "vb-l3", GROUP, 6 }, { "vb-l3", CONTAINER }, { "vb-l3", GROUP, 3 }, { "vb-l3", GROUP, 1 }, { "vb-l3" },
        { "vb-q3", GROUP, 3 }, { "vb-q5", GROUP, 5 }, { "junk" },
};
#define N_NAMES (sizeof(names) / sizeof(names[0]))

/* What adoption may never produce, whatever the file says. */
static void check_adopted(Broker *b) {
        Connection *c;
        Group *g, *h;
        Lease *l;

        LIST_FOREACH(g, &b->groups, link)
                for (h = LIST_NEXT(g, link); h; h = LIST_NEXT(h, link))
                        if (g->number == h->number)
                                abort(); /* one group, two owners */
        LIST_FOREACH(c, &b->connections, link)
                LIST_FOREACH(l, &c->leases, link)
                        for (size_t i = 0; i < l->n_devices; i++)
                                if (!lease_has_group(l, l->devices[i].group))
                                        abort(); /* a device outside its lease's groups */
}

static Loop *loop;
static FakeSysfs fs;
static char path[] = "/tmp/vfio-broker-fuzz-state.XXXXXX";

static void setup(void) {
        int fd;

        log_max_level = getenv("FUZZ_LOG") ? LOG_DEBUG : LOG_CRIT;
        fake_sysfs_init(&fs);
        fake_sysfs_add(&fs, "0000:00:03.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 1);
        fake_sysfs_add(&fs, "0000:01:01.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 3);
        fake_sysfs_add(&fs, "0000:01:02.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 3);
        fd = mkstemp(path);
        if (fd < 0 || loop_new(&loop) < 0)
                abort();
        close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        StoredFd fds[N_NAMES];
        int peers[N_NAMES];
        BrokerConfig config;
        Persist *persist = NULL;
        Broker *b = NULL;
        FILE *f;

        if (!loop)
                setup();
        f = fopen(path, "we");
        if (!f || fputs("vfio-broker-state 1\n", f) < 0 || fwrite(data, 1, size, f) != size || fclose(f) != 0)
                abort();

        broker_config_init(&config);
        config.sysfs_root = fs.root;
        config.backend = &kernel_backend_fake;
        if (broker_new(&b, loop, &config) < 0 || persist_new(b, path, &persist) < 0)
                abort();
        for (size_t i = 0; i < N_NAMES; i++) {
                int sv[2] = { -EBADF, -EBADF };

                if (names[i].kind == SOCKET) {
                        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
                                abort();
                } else if ((sv[0] = kernel_fake_fd(names[i].kind == CONTAINER ? KERNEL_FAKE_DOMAIN :
                                                   names[i].kind == GROUP ? KERNEL_FAKE_GROUP : KERNEL_FAKE_DEVICE,
                                                   names[i].group)) < 0)
                        abort();
                fds[i] = (StoredFd) { .name = (char *) names[i].name, .fd = sv[0] };
                peers[i] = sv[1];
        }
        (void) persist_adopt(persist, fds, N_NAMES);
        check_adopted(b);
        for (size_t i = 0; i < N_NAMES; i++)
                if (fds[i].fd >= 0)
                        abort(); /* adoption must use or close every stored fd */
        persist_free(persist);
        broker_free(b);
        close_many(peers, N_NAMES);
        return 0;
}
