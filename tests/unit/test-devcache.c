/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device cache against a fake sysfs tree, with one end of a datagram
 * socketpair standing in for the kernel's uevent socket.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host/devcache.h"
#include "fake-sysfs.h"
#include "test.h"
#include "common/util.h"

static void set_uevent(const FakeSysfs *f, const char *bdf, const char *text) {
        char path[PATH_MAX];
        FILE *file;

        snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/uevent", f->root, bdf);
        file = fopen(path, "we");
        CHECK(file);
        fputs(text, file);
        fclose(file);
}

static void kernel_says(int fd, const char *event) {
        CHECK(send(fd, event, strlen(event) + 1, 0) > 0);
}

static void check_stats(const DeviceCache *c, size_t hits, size_t reads) {
        size_t h, r;

        device_cache_stats(c, &h, &r);
        CHECK_EQ_INT(h, hits);
        CHECK_EQ_INT(r, reads);
}

/* A cache of @f whose kernel events are what the test writes to *ret_kernel. */
static DeviceCache *cache_with_events(const FakeSysfs *f, int *ret_kernel) {
        DeviceCache *c = NULL;
        int sp[2];

        CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp) == 0);
        CHECK_EQ_INT(device_cache_new(f->root, sp[0], &c), 0);
        *ret_kernel = sp[1];
        return c;
}

/* @f with one edu device bound to vfio-pci, 0000:00:03.0 in group 1, and a cache of it with events. */
static DeviceCache *one_device(FakeSysfs *f, int *ret_kernel) {
        fake_sysfs_init(f);
        fake_sysfs_add(f, "0000:00:03.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 1);
        return cache_with_events(f, ret_kernel);
}

static void done(DeviceCache *c, int kernel, FakeSysfs *f) {
        device_cache_free(c);
        safe_close(kernel);
        fake_sysfs_done(f);
}

static void test_cached_until_an_event(void) {
        DeviceCache *c;
        FakeSysfs f;
        PciDevice d;
        int kernel;

        c = one_device(&f, &kernel);

        CHECK_EQ_INT(device_cache_read_device(c, "00:03.0", &d), 0);
        CHECK_EQ_STR(d.driver, "vfio-pci");
        CHECK_EQ_INT(device_cache_read_device(c, "0000:00:03.0", &d), 0);
        check_stats(c, 1, 1);

        /* Unbound behind the cache's back: no event, so the cache still answers. */
        set_uevent(&f, "0000:00:03.0", "PCI_CLASS=FF00\nPCI_ID=1234:11E8\n");
        CHECK_EQ_INT(device_cache_read_device(c, "0000:00:03.0", &d), 0);
        CHECK_EQ_STR(d.driver, "vfio-pci");
        check_stats(c, 2, 1);

        /* The kernel says so: the next lookup reads sysfs again. */
        kernel_says(kernel, "unbind@/devices/pci0000:00/0000:00:03.0");
        CHECK_EQ_INT(device_cache_read_device(c, "0000:00:03.0", &d), 0);
        CHECK_EQ_STR(d.driver, "");
        check_stats(c, 2, 2);

        /* Several events, any content: one flush, one read. */
        set_uevent(&f, "0000:00:03.0", "DRIVER=e1000e\nPCI_CLASS=FF00\nPCI_ID=1234:11E8\n");
        kernel_says(kernel, "bind@/devices/pci0000:00/0000:00:03.0");
        kernel_says(kernel, "");
        kernel_says(kernel, "junk that is not a uevent at all");
        CHECK_EQ_INT(device_cache_read_device(c, "0000:00:03.0", &d), 0);
        CHECK_EQ_STR(d.driver, "e1000e");
        CHECK_EQ_INT(device_cache_read_device(c, "0000:00:03.0", &d), 0);
        check_stats(c, 3, 3);

        /* What is not there is not kept: a device that appears is seen without an event. */
        CHECK_EQ_INT(device_cache_read_device(c, "0000:00:07.0", &d), -ENODEV);
        fake_sysfs_add(&f, "0000:00:07.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 7);
        CHECK_EQ_INT(device_cache_read_device(c, "0000:00:07.0", &d), 0);
        CHECK_EQ_INT(d.iommu_group, 7);
        CHECK_EQ_INT(device_cache_read_device(c, "nonsense", &d), -EINVAL);

        done(c, kernel, &f);
}

static void test_group_members(void) {
        _cleanup_free_ char (*members)[BDF_STRLEN + 1] = NULL;
        DeviceCache *c;
        FakeSysfs f;
        size_t n;
        int kernel;

        fake_sysfs_init(&f);
        fake_sysfs_add(&f, "0000:02:01.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 4);
        c = cache_with_events(&f, &kernel);

        CHECK_EQ_INT(device_cache_group_members(c, 4, &members, &n), 0);
        CHECK_EQ_INT(n, 1);
        free(members);
        members = NULL;
        /* A device joins the group (hot-plug): the kernel's "add" is what tells. */
        fake_sysfs_add(&f, "0000:02:02.0", "0x8086", "0x10d3", "0x020000", "e1000e", 4);
        CHECK_EQ_INT(device_cache_group_members(c, 4, &members, &n), 0);
        CHECK_EQ_INT(n, 1);
        free(members);
        members = NULL;
        kernel_says(kernel, "add@/devices/pci0000:00/0000:02:02.0");
        CHECK_EQ_INT(device_cache_group_members(c, 4, &members, &n), 0);
        CHECK_EQ_INT(n, 2);
        CHECK_EQ_STR(members[1], "0000:02:02.0");
        check_stats(c, 1, 2);
        CHECK_EQ_INT(device_cache_group_members(c, 9, &members, &n), -ENOENT);

        done(c, kernel, &f);
}

/* Within a hold (one request) only the first lookup drains the socket; after it, every lookup again. */
static void test_one_drain_per_hold(void) {
        DeviceCache *c;
        FakeSysfs f;
        PciDevice d;
        int kernel;

        c = one_device(&f, &kernel);
        CHECK_EQ_INT(device_cache_read_device(c, "0000:00:03.0", &d), 0);

        /* An event before the request's first lookup is seen by it. */
        set_uevent(&f, "0000:00:03.0", "PCI_CLASS=FF00\nPCI_ID=1234:11E8\n");
        kernel_says(kernel, "unbind@/devices/pci0000:00/0000:00:03.0");
        device_cache_hold(c);
        CHECK_EQ_INT(device_cache_read_device(c, "0000:00:03.0", &d), 0);
        CHECK_EQ_STR(d.driver, "");
        /* One that comes during the request is not: its lookups answer as of its start. */
        set_uevent(&f, "0000:00:03.0", "DRIVER=vfio-pci\nPCI_CLASS=FF00\nPCI_ID=1234:11E8\n");
        kernel_says(kernel, "bind@/devices/pci0000:00/0000:00:03.0");
        device_cache_hold(c); /* nested: still the same request */
        CHECK_EQ_INT(device_cache_read_device(c, "0000:00:03.0", &d), 0);
        CHECK_EQ_STR(d.driver, "");
        device_cache_unhold(c);
        CHECK_EQ_INT(device_cache_read_device(c, "0000:00:03.0", &d), 0);
        CHECK_EQ_STR(d.driver, "");
        device_cache_unhold(c);
        check_stats(c, 2, 2);
        /* The next request (or a lookup outside any) sees it. */
        CHECK_EQ_INT(device_cache_read_device(c, "0000:00:03.0", &d), 0);
        CHECK_EQ_STR(d.driver, "vfio-pci");
        check_stats(c, 2, 3);

        done(c, kernel, &f);
}

/* A tree that is not the live /sys has no kernel events: nothing is kept. */
/* The whole listing: kept until an event; without the socket only for a listing's later pages. */
static void test_listing(void) {
        PciDevice *all = NULL;
        DeviceCache *c;
        FakeSysfs f;
        size_t n = 0, hits, reads;
        int kernel;

        c = one_device(&f, &kernel);
        CHECK_EQ_INT(device_cache_list_devices(c, false, &all, &n), 0);
        CHECK_EQ_INT(n, 1);
        free(all);
        fake_sysfs_add(&f, "0000:00:04.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 2);
        CHECK_EQ_INT(device_cache_list_devices(c, false, &all, &n), 0);
        CHECK_EQ_INT(n, 1); /* no event yet: as read */
        free(all);
        kernel_says(kernel, "add@/devices/pci0000:00/0000:00:04.0");
        CHECK_EQ_INT(device_cache_list_devices(c, false, &all, &n), 0);
        CHECK_EQ_INT(n, 2);
        CHECK_EQ_STR(all[1].bdf, "0000:00:04.0");
        free(all);
        check_stats(c, 1, 2);
        done(c, kernel, &f);

        /* No socket: a first page reads sysfs every time; its later pages share that read. */
        fake_sysfs_init(&f);
        fake_sysfs_add(&f, "0000:00:03.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 1);
        CHECK_EQ_INT(device_cache_new(f.root, -1, &c), 0);
        CHECK_EQ_INT(device_cache_list_devices(c, false, &all, &n), 0);
        free(all);
        fake_sysfs_add(&f, "0000:00:04.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 2);
        CHECK_EQ_INT(device_cache_list_devices(c, true, &all, &n), 0);
        CHECK_EQ_INT(n, 1);
        free(all);
        CHECK_EQ_INT(device_cache_list_devices(c, false, &all, &n), 0);
        CHECK_EQ_INT(n, 2);
        free(all);
        device_cache_stats(c, &hits, &reads);
        CHECK_EQ_INT(hits, 1);
        device_cache_free(c);
        fake_sysfs_done(&f);
}

static void test_no_events(void) {
        DeviceCache *c = NULL;
        FakeSysfs f;
        PciDevice d;

        fake_sysfs_init(&f);
        fake_sysfs_add(&f, "0000:00:03.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 1);
        CHECK_EQ_INT(device_cache_new(f.root, -EBADF, &c), 0);
        CHECK_EQ_INT(device_cache_read_device(c, "0000:00:03.0", &d), 0);
        set_uevent(&f, "0000:00:03.0", "PCI_CLASS=FF00\nPCI_ID=1234:11E8\n");
        CHECK_EQ_INT(device_cache_read_device(c, "0000:00:03.0", &d), 0);
        CHECK_EQ_STR(d.driver, "");
        check_stats(c, 0, 2);
        device_cache_free(c);
        fake_sysfs_done(&f);
}

int main(void) {
        RUN(test_cached_until_an_event);
        RUN(test_group_members);
        RUN(test_one_drain_per_hold);
        RUN(test_no_events);
        RUN(test_listing);
        return 0;
}
