/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fake backend: no kernel behind it, for unit tests, fuzzers and
 * benchmarks of the broker's own work.  Every open hands out a real fd (an
 * eventfd) so that the broker's fd handling runs as it does on a real one;
 * the eventfd's count says what the fd stands for (fd_kind()).  Every call
 * succeeds and reports one vector per interrupt type (none for MSI-X),
 * unless a knob in kernel_fake says otherwise.  A device opens at once
 * unless VFIO_BROKER_FAKE_OPEN_MS says how long the kernel's reset on open
 * takes (tests of who waits for it).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/util.h"
#include "kernel/backend-fake.h"
#include "kernel/backend-ops.h"

#define TAG_DOMAIN 1u
#define TAG_GROUP 0x10000u /* + the group's number */
#define TAG_DEVICE 0x30000u

KernelFake kernel_fake = { .held_outside = -1, .not_viable = -1, .still_held = -1 };

void kernel_fake_reset(void) {
        kernel_fake = (KernelFake) { .held_outside = -1, .not_viable = -1, .still_held = -1 };
}

static int new_fd(unsigned tag, int *ret) {
        int fd = eventfd(tag, EFD_CLOEXEC);

        if (fd < 0)
                return -errno;
        *ret = fd;
        return 0;
}

static unsigned tag_of(KernelFakeKind kind, int number) {
        switch (kind) {
        case KERNEL_FAKE_DOMAIN: return TAG_DOMAIN;
        case KERNEL_FAKE_GROUP: return TAG_GROUP + (unsigned) number;
        default: return TAG_DEVICE;
        }
}

int kernel_fake_fd(KernelFakeKind kind, int number) {
        int fd = -EBADF;

        (void) new_fd(tag_of(kind, number), &fd);
        return fd;
}

static long long tag_of_fd(int fd) {
        return fdinfo_number(fd, "eventfd-count", 16);
}

size_t kernel_fake_count_open(KernelFakeKind kind) {
        struct dirent *de;
        size_t n = 0;
        DIR *d;

        d = opendir("/proc/self/fd");
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                long long tag;

                if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d))
                        continue;
                tag = tag_of_fd(atoi(de->d_name));
                if (kind == KERNEL_FAKE_GROUP ? tag >= TAG_GROUP && tag < 2 * TAG_GROUP : tag == tag_of(kind, 0))
                        n++;
        }
        closedir(d);
        return n;
}

static KernelFdKind fake_fd_kind(int fd, int *ret_group) {
        long long tag = tag_of_fd(fd);

        if (tag == TAG_DOMAIN)
                return KERNEL_FD_DOMAIN;
        if (tag >= TAG_GROUP && tag < 2 * TAG_GROUP) {
                *ret_group = (int) (tag - TAG_GROUP);
                return KERNEL_FD_GROUP;
        }
        return KERNEL_FD_OTHER;
}

static int fake_group_number(int fd) {
        int number = -1;

        return fake_fd_kind(fd, &number) == KERNEL_FD_GROUP ? number : -1;
}

static int fake_domain_open(KernelDomain *d) {
        int r = new_fd(TAG_DOMAIN, &d->fd);

        if (r >= 0 && d->mode == KERNEL_MODE_IOMMUFD)
                d->ioas = 1;
        return r;
}

static int fake_group_open(KernelGroup *g) {
        if (g->number == kernel_fake.held_outside)
                return KERNEL_E_HELD_OUTSIDE;
        return new_fd(TAG_GROUP + (unsigned) g->number, &g->fd);
}

static int fake_group_adopt(KernelGroup *g, const int *fds, size_t n) {
        if (n != 1 || fake_group_number(fds[0]) != g->number) {
                close_many((int *) fds, n);
                return -EBADF;
        }
        g->fd = fds[0];
        return 0;
}

static void fake_group_close(KernelGroup *g) { g->fd = safe_close(g->fd); }
static int fake_group_viable(KernelGroup *g) { return g->number != kernel_fake.not_viable; }
static int fake_group_set_domain(KernelGroup *g, KernelDomain *d) { return 0; }

static int fake_group_unset_domain(KernelGroup *g) {
        kernel_fake.detaches++;
        return g->number == kernel_fake.still_held ? -EBUSY : 0;
}

static int fake_device_open(KernelGroup *g, const char *bdf, int *ret_fd) {
        /* A kernel's reset on open sleeps: VFIO_BROKER_FAKE_OPEN_MS imitates it for tests of who waits for it. */
        const char *ms = getenv("VFIO_BROKER_FAKE_OPEN_MS");

        if (ms)
                usleep((useconds_t) strtoul(ms, NULL, 10) * 1000);
        return new_fd(TAG_DEVICE, ret_fd);
}

static int fake_device_get_info(int fd, struct vfio_device_info *ret) {
        *ret = (struct vfio_device_info) { .argsz = sizeof(*ret), .num_regions = 9, .num_irqs = 5,
                                           .flags = kernel_fake.resettable ? VFIO_DEVICE_FLAGS_RESET : 0 };
        return 0;
}

static int fake_device_get_region_info(int fd, uint32_t index, struct vfio_region_info *ret) {
        *ret = (struct vfio_region_info) { .argsz = sizeof(*ret), .index = index, .size = index == 0 ? 1 << 20 : 0 };
        return 0;
}

static int fake_device_get_irq_info(int fd, uint32_t index, struct vfio_irq_info *ret) {
        *ret = (struct vfio_irq_info) { .argsz = sizeof(*ret), .index = index,
                                        .count = index == VFIO_PCI_MSIX_IRQ_INDEX ? 0 : 1 };
        return 0;
}

static int fake_device_set_irq_eventfds(int fd, uint32_t index, uint32_t action, const int *fds, uint32_t count) {
        return kernel_fake.fail_irq ? -EINVAL : 0;
}

static int fake_device_disable_irq(int fd, uint32_t index) { return 0; }

static int fake_device_reset(int fd) {
        kernel_fake.resets++;
        return 0;
}

static int fake_device_hot_reset(KernelGroup *g, int fd) {
        kernel_fake.hot_resets++;
        return 0;
}

const KernelBackend kernel_backend_fake = {
        .name = "fake",
        .domain_open = fake_domain_open,
        .group_open = fake_group_open,
        .group_adopt = fake_group_adopt,
        .group_close = fake_group_close,
        .group_viable = fake_group_viable,
        .group_set_domain = fake_group_set_domain,
        .group_unset_domain = fake_group_unset_domain,
        .group_fds = legacy_group_fds,
        .device_open = fake_device_open,
        .device_get_info = fake_device_get_info,
        .device_get_region_info = fake_device_get_region_info,
        .device_get_irq_info = fake_device_get_irq_info,
        .device_set_irq_eventfds = fake_device_set_irq_eventfds,
        .device_disable_irq = fake_device_disable_irq,
        .device_reset = fake_device_reset,
        .device_hot_reset = fake_device_hot_reset,
        .fd_kind = fake_fd_kind,
};
