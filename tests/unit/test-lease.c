/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Leases (daemon/broker/lease.c): a lease charges its uid while it lives;
 * an administrator's request to give it back signals the REQ eventfds the
 * client holds and nothing else; a device's teardown closes every fd the
 * broker kept of it; a release is announced with its reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "broker/lease.h"
#include "fake-sysfs.h"
#include "kernel/backend-fake.h"
#include "test-broker.h"
#include "test.h"

static FakeSysfs fs;
static const char *why_released;

static void on_released(Lease *l, const char *why, void *userdata) {
        why_released = why;
}

static const BrokerObserver observer = { .lease_released = on_released };

static bool readable(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };

        return poll(&p, 1, 0) == 1;
}

static bool is_open(int fd) {
        return fcntl(fd, F_GETFD) >= 0;
}

static void test_request_release(void) {
        Broker *b = test_broker_new(fs.root, NULL, NULL);
        Connection *c;
        LeasedDevice d = { .bdf = "0000:00:03.0", .fd = kernel_fake_fd(KERNEL_FAKE_DEVICE, 0), .kernel_request = -EBADF };
        int req = eventfd(0, EFD_CLOEXEC), msi = eventfd(0, EFD_CLOEXEC), req_copy, msi_copy, peer;
        Lease *l;

        CHECK_EQ_INT(broker_observe(b, &observer, NULL), 0);
        c = test_connect(b, &peer);
        CHECK_EQ_INT(lease_new(c, KERNEL_MODE_LEGACY, &l), 0);
        CHECK_EQ_INT(user_charged(c->user, USER_LEASES), 1);
        req_copy = dup(req);
        msi_copy = dup(msi);
        CHECK_EQ_INT(leased_device_keep_eventfd(&d, msi, LEASE_FD_IRQ, IRQ_MSI, 0), 0);
        CHECK_EQ_INT(leased_device_keep_eventfd(&d, req, LEASE_FD_IRQ, IRQ_REQ, 0), 0);
        CHECK_EQ_INT(lease_add_device(l, &d), 0);

        CHECK_EQ_INT(lease_request_release(l), 1);
        CHECK(readable(req_copy)); /* the client's copy hears it */
        CHECK(!readable(msi_copy));

        lease_release(l, "released by an administrator");
        CHECK_EQ_STR(why_released, "released by an administrator");
        CHECK_EQ_INT(user_charged(c->user, USER_LEASES), 0);
        CHECK(!is_open(req) && !is_open(msi)); /* the broker's copies closed with the device */
        connection_free(c);
        close(peer);
        close(req_copy);
        close(msi_copy);
        test_broker_free(b);
}

static void test_abandon(void) {
        Broker *b = test_broker_new(fs.root, NULL, NULL);
        Connection *c;
        size_t domains = kernel_fake_count_open(KERNEL_FAKE_DOMAIN);
        Lease *l;
        int peer;

        c = test_connect(b, &peer);
        CHECK_EQ_INT(lease_new(c, KERNEL_MODE_LEGACY, &l), 0);
        CHECK_EQ_INT(kernel_fake_count_open(KERNEL_FAKE_DOMAIN), domains + 1);
        why_released = NULL;
        lease_abandon(l);
        CHECK(why_released == NULL); /* not a release: nothing announced */
        CHECK_EQ_INT(kernel_fake_count_open(KERNEL_FAKE_DOMAIN), domains);
        CHECK_EQ_INT(user_charged(c->user, USER_LEASES), 0);
        connection_free(c);
        close(peer);
        test_broker_free(b);
}

int main(void) {
        fake_sysfs_init(&fs);
        fake_sysfs_add(&fs, "0000:00:03.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 1);
        RUN(test_request_release);
        RUN(test_abandon);
        fake_sysfs_done(&fs);
        return 0;
}
