/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The acquire transaction (daemon/broker/acquire.c) on the fake backend: what
 * a client gets, the refusal code and message for each way it can go wrong,
 * and that a refusal or a failure half-way leaves nothing held: no lease, no
 * group, no domain, group or device fd open, no charge.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "broker/acquire.h"
#include "broker/group.h"
#include "common/util.h"
#include "fake-sysfs.h"
#include "kernel/backend-fake.h"
#include "test-broker.h"
#include "test.h"

static FakeSysfs fs;
static Broker *broker;
static char policy[256];

/* What the broker holds: compared before and after a refusal. */
typedef struct Held {
        size_t leases, groups, domains, group_fds, device_fds;
        unsigned lease_charges;
} Held;

static Held held(void) {
        Held h = { .leases = broker_count_leases(broker) };
        Group *g;

        LIST_FOREACH(g, &broker->groups, link)
                h.groups++;
        h.domains = kernel_fake_count_open(KERNEL_FAKE_DOMAIN);
        h.group_fds = kernel_fake_count_open(KERNEL_FAKE_GROUP);
        h.device_fds = kernel_fake_count_open(KERNEL_FAKE_DEVICE);
        h.lease_charges = user_registry_total(&broker->users, USER_LEASES);
        return h;
}

static void check_held(Held a, Held b) {
        CHECK_EQ_INT(a.leases, b.leases);
        CHECK_EQ_INT(a.groups, b.groups);
        CHECK_EQ_INT(a.domains, b.domains);
        CHECK_EQ_INT(a.group_fds, b.group_fds);
        CHECK_EQ_INT(a.device_fds, b.device_fds);
        CHECK_EQ_INT(a.lease_charges, b.lease_charges);
}

typedef struct Want {
        uint64_t lease_id;
        const char *bdf[2];
        AcquireIrq irq;                 /* for the first device; type 0 count 0: none */
        bool with_irq;
        size_t max_fds;
        KernelMode mode;
} Want;

static int try_acquire(Connection *c, const Want *w, BrokerError *err, Lease **ret, size_t *ret_first) {
        AcquireDevice d[2] = {
                { .bdf = w->bdf[0], .irqs = &w->irq, .n_irqs = w->with_irq },
                { .bdf = w->bdf[1] },
        };
        AcquireRequest a = { .lease_id = w->lease_id, .mode = w->mode, .devices = d, .n_devices = w->bdf[1] ? 2 : 1,
                             .max_fds = w->max_fds ? w->max_fds : 128 };

        *err = (BrokerError) {};
        return acquire(c, &a, err, ret, ret_first);
}

/* @w must be refused with @code and @words, holding nothing more than before. */
static void expect_refusal(Connection *c, const Want *w, int code, const char *words) {
        Held before = held();
        BrokerError err;
        Lease *l = NULL;
        size_t first;
        int r;

        r = try_acquire(c, w, &err, &l, &first);
        if (r != code || !strstr(err.message, words)) {
                fprintf(stderr, "expected %d \"%s\", got %d \"%s\"\n", code, words, r, err.message);
                CHECK(false);
        }
        check_held(before, held());
}

static void test_acquire_and_grow(void) {
        Held before = held();
        Connection *c;
        BrokerError err;
        Lease *l, *again;
        size_t first;
        int peer;

        c = test_connect(broker, &peer);
        CHECK_EQ_INT(try_acquire(c, &(Want) { .bdf = { "0000:00:03.0" }, .with_irq = true,
                                              .irq = { .type = IRQ_MSI, .count = 1 } }, &err, &l, &first), 0);
        CHECK_EQ_INT(first, 0);
        CHECK_EQ_INT(l->n_devices, 1);
        CHECK_EQ_STR(l->devices[0].bdf, "0000:00:03.0");
        CHECK_EQ_INT(l->devices[0].n_eventfds, 1);
        CHECK_EQ_INT(l->devices[0].eventfds[0].kind, LEASE_FD_IRQ);
        CHECK_EQ_INT(l->devices[0].eventfds[0].irq_type, IRQ_MSI);
        CHECK(broker_find_group(broker, 1) && broker_find_group(broker, 1)->state == GROUP_LEASED);
        CHECK_EQ_INT(kernel_fake_count_open(KERNEL_FAKE_DOMAIN), before.domains + 1);
        CHECK_EQ_INT(kernel_fake_count_open(KERNEL_FAKE_DEVICE), before.device_fds + 1);
        CHECK_EQ_INT(user_charged(c->user, USER_LEASES), 1);

        /* A second acquire on the same lease grows it: the reply starts at the new device. */
        CHECK_EQ_INT(try_acquire(c, &(Want) { .lease_id = l->id, .bdf = { "0000:00:04.0" } }, &err, &again, &first), 0);
        CHECK(again == l);
        CHECK_EQ_INT(first, 1);
        CHECK_EQ_INT(l->n_groups, 2);
        CHECK_EQ_INT(kernel_fake_count_open(KERNEL_FAKE_DOMAIN), before.domains + 1); /* one domain a lease */
        expect_refusal(c, &(Want) { .lease_id = l->id, .bdf = { "0000:00:04.0" } }, BROKER_E_INVALID,
                       "0000:00:04.0 is already in lease");

        connection_free(c); /* a client gone: its lease released, its groups free */
        close(peer);
        check_held(before, held());
}

/* A lease in each mode; the modes stay apart, vmm mode takes no IRQs, Backend= in the policy holds. */
static void test_modes(void) {
        Held before = held();
        Connection *c;
        BrokerError err;
        Lease *l, *v;
        size_t first;
        int peer;

        c = test_connect(broker, &peer);
        CHECK_EQ_INT(try_acquire(c, &(Want) { .bdf = { "0000:00:03.0" }, .mode = KERNEL_MODE_IOMMUFD, .with_irq = true,
                                              .irq = { .type = IRQ_MSI, .count = 1 } }, &err, &l, &first), 0);
        CHECK_EQ_INT(lease_mode(l), KERNEL_MODE_IOMMUFD);
        CHECK(kernel_domain_ioas(l->domain) != 0);
        CHECK_EQ_INT(l->devices[0].n_eventfds, 1);
        expect_refusal(c, &(Want) { .lease_id = l->id, .bdf = { "0000:00:04.0" } }, BROKER_E_INVALID,
                       "is a iommufd lease: devices join it in that mode, not legacy");
        expect_refusal(c, &(Want) { .bdf = { "0000:00:04.0" }, .mode = KERNEL_MODE_VMM, .with_irq = true,
                                    .irq = { .type = IRQ_MSI, .count = 1 } }, BROKER_E_INVALID,
                       "in vmm mode the broker sets up no interrupts");
        expect_refusal(c, &(Want) { .bdf = { "0000:00:04.0" }, .mode = (KernelMode) 7 }, BROKER_E_INVALID,
                       "unknown backend mode 7");
        CHECK_EQ_INT(try_acquire(c, &(Want) { .bdf = { "0000:00:04.0" }, .mode = KERNEL_MODE_VMM }, &err, &v, &first), 0);
        CHECK_EQ_INT(lease_mode(v), KERNEL_MODE_VMM);
        CHECK_EQ_INT(kernel_domain_ioas(v->domain), 0);
        CHECK_EQ_INT(v->devices[0].n_eventfds, 0);
        /* 02:01.0 may be had through the legacy API only (the policy's Backend=legacy). */
        expect_refusal(c, &(Want) { .bdf = { "0000:02:03.0" }, .mode = KERNEL_MODE_IOMMUFD }, BROKER_E_DENIED,
                       "covers 0000:02:03.0 but not through iommufd");
        connection_free(c);
        close(peer);
        check_held(before, held());
}

static void test_refusals(void) {
        Connection *c, *other;
        BrokerError err;
        size_t first;
        Lease *l;
        int peer, peer2;

        c = test_connect(broker, &peer);
        expect_refusal(c, &(Want) { .lease_id = 7, .bdf = { "0000:00:03.0" } }, BROKER_E_UNKNOWN_LEASE,
                       "holds no lease 7");
        expect_refusal(c, &(Want) { .bdf = { "0000:00:03" } }, BROKER_E_INVALID, "is not a PCI address");
        expect_refusal(c, &(Want) { .bdf = { "0000:00:03.0", "0000:00:03.0" } }, BROKER_E_INVALID, "named twice");
        expect_refusal(c, &(Want) { .bdf = { "0000:09:00.0" } }, BROKER_E_UNKNOWN_DEVICE, "no PCI device 0000:09:00.0");
        expect_refusal(c, &(Want) { .bdf = { "0000:02:02.0" } }, BROKER_E_NOT_VFIO, "is bound to e1000e, not vfio-pci");
        expect_refusal(c, &(Want) { .bdf = { "0000:02:01.0" } }, BROKER_E_NOT_VIABLE,
                       "0000:02:02.0 is bound to the host driver e1000e");
        expect_refusal(c, &(Want) { .bdf = { "0000:00:03.0" }, .with_irq = true, .irq = { .type = -1, .wire_type = 42 } },
                       BROKER_E_INVALID, "unknown IRQ type 42");
        expect_refusal(c, &(Want) { .bdf = { "0000:00:03.0" }, .with_irq = true, .irq = { .type = IRQ_INTX, .count = 2 } },
                       BROKER_E_INVALID, "2 INTx vectors cannot be had");
        expect_refusal(c, &(Want) { .bdf = { "0000:00:03.0" }, .with_irq = true, .irq = { .type = IRQ_MSI, .count = 4 },
                                    .max_fds = 5 },
                       BROKER_E_TOO_MANY_FDS, "the reply would carry 6 fds, more than 5");

        /* The policy: a uid without a grant is denied. */
        c->uid = 4242;
        expect_refusal(c, &(Want) { .bdf = { "0000:00:03.0" } }, BROKER_E_DENIED, "0000:00:03.0 denied");
        c->uid = getuid();

        /* Someone else's group is busy, a quarantined one is quarantined. */
        other = test_connect(broker, &peer2);
        CHECK_EQ_INT(try_acquire(other, &(Want) { .bdf = { "0000:00:03.0" } }, &err, &l, &first), 0);
        expect_refusal(c, &(Want) { .bdf = { "0000:00:03.0" } }, BROKER_E_BUSY, "is busy: IOMMU group 1 is held by lease");
        kernel_fake.still_held = 1;
        lease_release(l, "test");
        CHECK(broker_find_group(broker, 1)->state == GROUP_QUARANTINED);
        expect_refusal(c, &(Want) { .bdf = { "0000:00:03.0" } }, BROKER_E_QUARANTINED, "IOMMU group 1 of 0000:00:03.0 is quarantined");
        kernel_fake.still_held = -1;
        test_run_loop(broker, 50); /* the retry finds it free */
        CHECK(broker_find_group(broker, 1) == NULL);

        connection_free(other);
        connection_free(c);
        close(peer);
        close(peer2);
}

/* The kernel says no half-way: everything taken so far is given back. */
static void test_rollback(void) {
        Held before = held();
        Connection *c;
        int peer;

        c = test_connect(broker, &peer);
        kernel_fake.held_outside = 2;
        expect_refusal(c, &(Want) { .bdf = { "0000:00:03.0", "0000:00:04.0" } }, BROKER_E_BUSY,
                       "IOMMU group 2 of 0000:00:04.0 is held open outside the broker");
        kernel_fake.held_outside = -1;
        kernel_fake.not_viable = 2;
        expect_refusal(c, &(Want) { .bdf = { "0000:00:03.0", "0000:00:04.0" } }, BROKER_E_NOT_VIABLE,
                       "the kernel reports IOMMU group 2 not viable");
        kernel_fake.not_viable = -1;
        kernel_fake.fail_irq = true;
        expect_refusal(c, &(Want) { .bdf = { "0000:00:03.0" }, .with_irq = true, .irq = { .type = IRQ_INTX } },
                       BROKER_E_IRQ, "0000:00:03.0: setting up INTx: Invalid argument");
        kernel_fake.fail_irq = false;
        connection_free(c);
        close(peer);
        check_held(before, held());
}

static void test_lease_limit(void) {
        Connection *c;
        BrokerError err;
        size_t first;
        Lease *l;
        int peer;

        broker->config.max_leases_per_uid = 1;
        c = test_connect(broker, &peer);
        CHECK_EQ_INT(try_acquire(c, &(Want) { .bdf = { "0000:00:03.0" } }, &err, &l, &first), 0);
        expect_refusal(c, &(Want) { .bdf = { "0000:00:04.0" } }, BROKER_E_QUOTA, "holds 1 leases, the most allowed");
        /* Growing the lease it has is no new lease. */
        CHECK_EQ_INT(try_acquire(c, &(Want) { .lease_id = l->id, .bdf = { "0000:00:04.0" } }, &err, &l, &first), 0);
        broker->config.max_leases_per_uid = BROKER_DEFAULT_MAX_LEASES_PER_UID;
        connection_free(c);
        close(peer);
}

/* A group of two devices goes whole: both are reserved, and reset passes open both. */
static void test_group_whole(void) {
        Connection *c;
        BrokerError err;
        size_t first;
        Lease *l;
        int peer;

        c = test_connect(broker, &peer);
        CHECK_EQ_INT(try_acquire(c, &(Want) { .bdf = { "0000:01:01.0" } }, &err, &l, &first), 0);
        CHECK_EQ_INT(l->n_groups, 1);
        CHECK_EQ_INT(l->groups[0]->n_members, 2);
        CHECK_EQ_STR(l->groups[0]->members[1], "0000:01:02.0");
        kernel_fake.resettable = true;
        kernel_fake.resets = 0;
        lease_release(l, "test");
        CHECK_EQ_INT(kernel_fake.resets, 2);
        CHECK(ledger_find(&broker->ledger, 3) == NULL); /* reset clean */
        kernel_fake.resettable = false;
        CHECK_EQ_INT(try_acquire(c, &(Want) { .bdf = { "0000:01:02.0" } }, &err, &l, &first), 0);
        lease_release(l, "test");
        CHECK(ledger_find(&broker->ledger, 3) && ledger_find(&broker->ledger, 3)->uid == getuid()); /* not reset */
        connection_free(c);
        close(peer);
}

/* What acquire_done() heard. */
typedef struct Heard {
        unsigned calls;
        int r;
        char message[512];
        Lease *lease;
        size_t first;
} Heard;

static void on_acquired(void *userdata, int r, const BrokerError *err, Lease *lease, size_t first) {
        Heard *h = userdata;

        h->first = first;
        h->calls++;
        h->r = r;
        string_copy(h->message, sizeof(h->message), err->message);
        h->lease = lease;
}

static int start_growing(Connection *c, uint64_t lease_id, const char *bdf, Heard *h, AcquireJob **ret_job) {
        AcquireDevice d = { .bdf = bdf };
        AcquireRequest a = { .lease_id = lease_id, .mode = KERNEL_MODE_LEGACY, .devices = &d, .n_devices = 1,
                             .max_fds = 128 };
        BrokerError err = {};
        Lease *l = NULL;
        size_t first;
        int r;

        *h = (Heard) {};
        r = acquire_start(c, &a, &err, on_acquired, h, &l, &first, ret_job);
        string_copy(h->message, sizeof(h->message), err.message);
        return r;
}

/* The loop run: @h heard one refusal, @code with @words, and nothing more is held than @before. */
static void heard_refusal(const Heard *h, int code, const char *words, Held before) {
        test_run_loop(broker, 100);
        CHECK_EQ_INT(h->calls, 1);
        CHECK_EQ_INT(h->r, code);
        CHECK(strstr(h->message, words));
        check_held(before, held());
}

static int start_acquire(Connection *c, const char *bdf, Heard *h, AcquireJob **ret_job) {
        return start_growing(c, 0, bdf, h, ret_job);
}

/*
 * A device the kernel resets as it opens (reset_method flr) opens off the
 * loop: its group is reserved until then, the lease comes at the end; a
 * client gone meanwhile, or a policy reload, leaves nothing held.
 */
static void test_off_the_loop(void) {
        Held before = held();
        Connection *c, *other;
        AcquireJob *job = NULL;
        BrokerError err;
        Lease *l;
        size_t first;
        Heard h;
        int peer, other_peer;

        c = test_connect(broker, &peer);
        other = test_connect(broker, &other_peer);
        CHECK_EQ_INT(start_acquire(c, "0000:03:00.0", &h, &job), ACQUIRE_PENDING);
        CHECK(job);
        CHECK(broker_group_acquiring(broker, 6, NULL));
        CHECK_EQ_INT(h.calls, 0);
        /* Reserved: another client is told so (what is held is not compared: the job's thread may be opening). */
        CHECK_EQ_INT(try_acquire(other, &(Want) { .bdf = { "0000:03:00.0" } }, &err, &l, &first), BROKER_E_BUSY);
        CHECK(strstr(err.message, "IOMMU group 6 is being opened for uid"));
        test_run_loop(broker, 100);
        CHECK_EQ_INT(h.calls, 1);
        CHECK_EQ_INT(h.r, 0);
        CHECK(h.lease && h.lease->n_devices == 1 && strcmp(h.lease->devices[0].bdf, "0000:03:00.0") == 0);
        CHECK(!broker_group_acquiring(broker, 6, NULL));
        CHECK(broker_find_group(broker, 6) && broker_find_group(broker, 6)->state == GROUP_LEASED);
        CHECK_EQ_INT(kernel_fake_count_open(KERNEL_FAKE_DEVICE), before.device_fds + 1);
        /* A device without a reset still opens on the loop, at once. */
        CHECK_EQ_INT(try_acquire(other, &(Want) { .bdf = { "0000:00:03.0" } }, &err, &l, &first), 0);
        connection_free(c);
        close(peer);
        connection_free(other);
        close(other_peer);
        test_run_loop(broker, 100); /* the release's reset, off the loop too */
        check_held(before, held());

        /* The client goes while its devices open: closed again, and nobody told. */
        c = test_connect(broker, &peer);
        CHECK_EQ_INT(start_acquire(c, "0000:03:00.0", &h, &job), ACQUIRE_PENDING);
        acquire_job_orphan(job);
        connection_free(c);
        close(peer);
        test_run_loop(broker, 100);
        CHECK_EQ_INT(h.calls, 0);
        CHECK(!broker_group_acquiring(broker, 6, NULL));
        check_held(before, held());

        /* The policy reloaded meanwhile: refused (it may not allow it any more), nothing held. */
        c = test_connect(broker, &peer);
        CHECK_EQ_INT(start_acquire(c, "0000:03:00.0", &h, &job), ACQUIRE_PENDING);
        broker->policy_serial++;
        heard_refusal(&h, BROKER_E_BUSY, "the policy was reloaded", before);
        connection_free(c);
        close(peer);
        check_held(before, held());

        /* A lease grows by it off the loop too (a second handle on its domain), from its second device on. */
        c = test_connect(broker, &peer);
        CHECK_EQ_INT(try_acquire(c, &(Want) { .bdf = { "0000:00:03.0" } }, &err, &l, &first), 0);
        CHECK_EQ_INT(start_growing(c, l->id, "0000:03:00.0", &h, &job), ACQUIRE_PENDING);
        CHECK(l->growing == job);
        test_run_loop(broker, 100);
        CHECK_EQ_INT(h.calls, 1);
        CHECK_EQ_INT(h.r, 0);
        CHECK(h.lease == l && !l->growing);
        CHECK_EQ_INT(h.first, 1);
        CHECK_EQ_INT(l->n_devices, 2);
        CHECK_EQ_INT(l->n_groups, 2);
        CHECK_EQ_INT(kernel_fake_count_open(KERNEL_FAKE_DOMAIN), before.domains + 1); /* the second handle closed */
        lease_release(l, "test");
        test_run_loop(broker, 100);
        check_held(before, held());

        /* The lease ends while it grows (an administrator's release): refused, nothing held. */
        CHECK_EQ_INT(try_acquire(c, &(Want) { .bdf = { "0000:00:03.0" } }, &err, &l, &first), 0);
        CHECK_EQ_INT(start_growing(c, l->id, "0000:03:00.0", &h, &job), ACQUIRE_PENDING);
        lease_release(l, "test");
        heard_refusal(&h, BROKER_E_UNKNOWN_LEASE, "ended while its new devices were being opened", before);
        connection_free(c);
        close(peer);
        check_held(before, held());
}

int main(void) {
        fake_sysfs_init(&fs);
        fake_sysfs_add(&fs, "0000:00:03.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 1);
        fake_sysfs_add(&fs, "0000:00:04.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 2);
        fake_sysfs_add(&fs, "0000:01:01.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 3);
        fake_sysfs_add(&fs, "0000:01:02.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 3);
        fake_sysfs_add(&fs, "0000:02:01.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 4);
        fake_sysfs_add(&fs, "0000:02:02.0", "0x8086", "0x10d3", "0x020000", "e1000e", 4);
        fake_sysfs_add(&fs, "0000:02:03.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 5);
        fake_sysfs_add(&fs, "0000:03:00.0", "0x1af4", "0x1044", "0x00ff00", "vfio-pci", 6);
        fake_sysfs_set(&fs, "0000:03:00.0", "reset_method", "flr pm bus");
        snprintf(policy, sizeof(policy), "[Pool legacy]\nDevice=0000:02:03.0\n[Grant legacy]\nPool=legacy\nUser=%u\n"
                 "Backend=legacy\n[Pool edu]\nDevice=0000:00:03.0 0000:00:04.0 0000:01:01.0 0000:01:02.0 0000:02:01.0 0000:03:00.0\n[Grant tenant]\nPool=edu\n"
                 "User=%u\n", (unsigned) getuid(), (unsigned) getuid());
        broker = test_broker_new(fs.root, policy, NULL);
        RUN(test_acquire_and_grow);
        RUN(test_modes);
        RUN(test_refusals);
        RUN(test_rollback);
        RUN(test_lease_limit);
        RUN(test_group_whole);
        RUN(test_off_the_loop);
        test_broker_free(broker);
        fake_sysfs_done(&fs);
        return 0;
}
