/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Groups (daemon/broker/group.c) on the fake backend: a group whose detach
 * says "still held" is quarantined, announced as a change, retried until it
 * can be detached and then freed; a quarantine adopted after a restart
 * waits the same way; the reset pass and the ledger.
 */
#include <unistd.h>

#include "broker/group.h"
#include "fake-sysfs.h"
#include "kernel/backend-fake.h"
#include "test-broker.h"
#include "test.h"

static FakeSysfs fs;
static unsigned changes;

static void on_changed(Broker *b, void *userdata) {
        changes++;
}

static const BrokerObserver observer = { .state_changed = on_changed };

static Group *take(Broker *b, int number) {
        KernelGroup *kg;
        Group *g;

        CHECK_EQ_INT(kernel_group_open(b->config.backend, number, &kg), 0);
        CHECK_EQ_INT(group_new(b, number, kg, NULL, 0, &g), 0);
        g->uid = 1000;
        return g;
}

static void test_quarantine(void) {
        Broker *b = test_broker_new(fs.root, NULL, NULL);
        Group *g;

        CHECK_EQ_INT(broker_observe(b, &observer, NULL), 0);
        g = take(b, 1);
        CHECK_EQ_INT(g->n_members, 1); /* read from sysfs */
        kernel_fake.still_held = 1;
        changes = 0;
        group_release(g, NULL, 0, NULL);
        CHECK(broker_find_group(b, 1) == g);
        CHECK_EQ_INT(g->state, GROUP_QUARANTINED);
        CHECK_EQ_INT(changes, 1); /* a restart must find the quarantine */
        test_run_loop(b, 40);
        CHECK(broker_find_group(b, 1) == g); /* still held: retried, still there */
        kernel_fake.still_held = -1;
        test_run_loop(b, 100);
        CHECK(broker_find_group(b, 1) == NULL);
        CHECK_EQ_INT(changes, 2); /* and its end */
        CHECK_EQ_INT(kernel_fake_count_open(KERNEL_FAKE_GROUP), 0);
        test_broker_free(b);
}

static void test_adopted_quarantine(void) {
        Broker *b = test_broker_new(fs.root, NULL, NULL);
        KernelGroup *kg;
        Group *g;

        kernel_fake.still_held = 1;
        CHECK_EQ_INT(kernel_group_adopt(b->config.backend, 1, (int[]) { kernel_fake_fd(KERNEL_FAKE_GROUP, 1) }, 1, NULL, &kg), 0);
        CHECK_EQ_INT(group_adopt_quarantined(b, 1, kg, 5, 1000, ""), 0);
        g = broker_find_group(b, 1);
        CHECK(g && g->state == GROUP_QUARANTINED && g->lease_id == 5 && g->uid == 1000);
        kernel_fake.still_held = -1;
        test_run_loop(b, 100);
        CHECK(broker_find_group(b, 1) == NULL);
        test_broker_free(b);
}

static void test_reset_and_ledger(void) {
        Broker *b = test_broker_new(fs.root, NULL, NULL);

        kernel_fake.resettable = false;
        group_release(take(b, 1), NULL, 0, NULL);
        CHECK(ledger_find(&b->ledger, 1) && ledger_find(&b->ledger, 1)->uid == 1000);
        kernel_fake.resettable = true;
        kernel_fake.resets = 0;
        group_release(take(b, 1), NULL, 0, NULL);
        CHECK_EQ_INT(kernel_fake.resets, 1);
        CHECK(ledger_find(&b->ledger, 1) == NULL);
        kernel_fake.resettable = false;
        test_broker_free(b);
}

int main(void) {
        fake_sysfs_init(&fs);
        fake_sysfs_add(&fs, "0000:00:03.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 1);
        RUN(test_quarantine);
        RUN(test_adopted_quarantine);
        RUN(test_reset_and_ledger);
        fake_sysfs_done(&fs);
        return 0;
}
