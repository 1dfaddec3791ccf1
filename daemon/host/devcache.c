/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "host/devcache.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "common/util.h"

typedef struct CachedGroup {
        int number;
        char (*members)[BDF_STRLEN + 1];
        size_t n_members;
} CachedGroup;

struct DeviceCache {
        const char *root;
        int events;                     /* -EBADF: nothing is kept */
        PciDevice *devices;
        size_t n_devices;
        CachedGroup *groups;
        size_t n_groups;
        PciDevice *listing;             /* every device (sysfs_list_devices()); NULL: not read since */
        size_t n_listing;
        uint64_t listing_usec;          /* CLOCK_MONOTONIC when read */
        unsigned hold;                  /* device_cache_hold() depth */
        bool drained;                   /* in this hold */
        size_t hits, reads;
};

/* The inode of the initial user namespace (PROC_USER_INIT_INO in the kernel's proc_ns.h). */
#define INIT_USER_NS_INO 0xEFFFFFFDU

/*
 * The kernel sends uevents only into network namespaces its initial user
 * namespace owns: elsewhere (a rootless container) the socket would open
 * and stay silent, and a silent socket must not stand for "nothing changed".
 */
static int uevents_reach_us(void) {
        _cleanup_close_ int net = -EBADF, owner = -EBADF;
        struct stat st;

        net = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (net < 0)
                return -errno;
        owner = ioctl(net, NS_GET_USERNS);
        if (owner < 0)
                return -errno;
        if (fstat(owner, &st) < 0)
                return -errno;
        return st.st_ino == INIT_USER_NS_INO ? 0 : -EXDEV;
}

/* The kernel's own uevents (multicast group 1), not udev's re-broadcasts. */
static int open_kernel_uevents(void) {
        struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = 1 };
        int fd, r;

        r = uevents_reach_us();
        if (r < 0)
                return r;

        fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int device_cache_new(const char *root, int events, DeviceCache **ret) {
        DeviceCache *c;

        c = calloc(1, sizeof(*c));
        if (!c) {
                safe_close(events);
                return -ENOMEM;
        }
        c->root = root;
        c->events = events;
        if (c->events < 0 && strcmp(root, "/sys") == 0) {
                c->events = open_kernel_uevents();
                if (c->events < 0)
                        log_warning("no kernel uevents (%s): sysfs is read at every request",
                                    c->events == -EXDEV ? "not in the initial user namespace" : strerror(-c->events));
        }
        *ret = c;
        return 0;
}

static void flush(DeviceCache *c) {
        for (size_t i = 0; i < c->n_groups; i++)
                free(c->groups[i].members);
        free(c->groups);
        c->groups = NULL;
        c->n_groups = 0;
        free(c->devices);
        c->devices = NULL;
        c->n_devices = 0;
        free(c->listing);
        c->listing = NULL;
        c->n_listing = 0;
}

DeviceCache *device_cache_free(DeviceCache *c) {
        if (!c)
                return NULL;
        flush(c);
        safe_close(c->events);
        free(c);
        return NULL;
}

/*
 * Empty the cache if the kernel said anything since the last look; false when
 * nothing may be kept.  *@ret_changed: whether anything came.
 */
static bool drain_events(DeviceCache *c, bool *ret_changed) {
        bool changed = false;
        char buf[512];

        if (c->events < 0)
                return false;
        if (c->hold > 0) {
                if (c->drained)
                        return true;
                c->drained = true;
        }
        for (;;) {
                /* Only that a datagram came matters: the rest of a long one is dropped. */
                if (recv(c->events, buf, sizeof(buf), MSG_DONTWAIT) >= 0 || errno == ENOBUFS) {
                        changed = true;
                        continue;
                }
                if (errno == EINTR)
                        continue;
                if (errno == EAGAIN)
                        break;
                log_warning("kernel uevent socket: %s; sysfs is read at every request from now on", strerror(errno));
                c->events = safe_close(c->events);
                changed = true;
                break;
        }
        if (changed)
                flush(c);
        if (ret_changed)
                *ret_changed = changed;
        return c->events >= 0;
}

static bool sync_events(DeviceCache *c) {
        return drain_events(c, NULL);
}

int device_cache_events_fd(const DeviceCache *c) {
        return c->events;
}

bool device_cache_sync(DeviceCache *c) {
        bool changed = false;

        (void) drain_events(c, &changed);
        return changed;
}

int device_cache_read_device(DeviceCache *c, const char *bdf, PciDevice *ret) {
        char normal[BDF_STRLEN + 1];
        PciDevice d, *p;
        int r;

        if (!sync_events(c)) {
                c->reads++;
                return sysfs_read_device(c->root, bdf, ret);
        }
        if (bdf_normalize(bdf, normal) < 0)
                return -EINVAL;
        for (size_t i = 0; i < c->n_devices; i++)
                if (strcmp(c->devices[i].bdf, normal) == 0) {
                        c->hits++;
                        *ret = c->devices[i];
                        return 0;
                }
        c->reads++;
        r = sysfs_read_device(c->root, normal, &d);
        if (r < 0)
                return r;
        p = reallocarray(c->devices, c->n_devices + 1, sizeof(*p));
        if (p) {
                c->devices = p;
                c->devices[c->n_devices++] = d;
        }
        *ret = d;
        return 0;
}

static int copy_members(const CachedGroup *g, char (**ret)[BDF_STRLEN + 1], size_t *ret_n) {
        char (*copy)[BDF_STRLEN + 1];

        copy = calloc(g->n_members ? g->n_members : 1, sizeof(*copy));
        if (!copy)
                return -ENOMEM;
        memcpy(copy, g->members, g->n_members * sizeof(*copy));
        *ret = copy;
        *ret_n = g->n_members;
        return 0;
}

int device_cache_group_members(DeviceCache *c, int group, char (**ret)[BDF_STRLEN + 1], size_t *ret_n) {
        CachedGroup g = { .number = group }, *p;
        int r;

        if (!sync_events(c)) {
                c->reads++;
                return sysfs_group_members(c->root, group, ret, ret_n);
        }
        for (size_t i = 0; i < c->n_groups; i++)
                if (c->groups[i].number == group) {
                        c->hits++;
                        return copy_members(&c->groups[i], ret, ret_n);
                }
        c->reads++;
        r = sysfs_group_members(c->root, group, &g.members, &g.n_members);
        if (r < 0)
                return r;
        r = copy_members(&g, ret, ret_n);
        if (r < 0) {
                free(g.members);
                return r;
        }
        p = reallocarray(c->groups, c->n_groups + 1, sizeof(*p));
        if (!p) {
                free(g.members);
                return 0;
        }
        c->groups = p;
        c->groups[c->n_groups++] = g;
        return 0;
}

void device_cache_hold(DeviceCache *c) {
        c->hold++;
}

void device_cache_unhold(DeviceCache *c) {
        if (--c->hold == 0)
                c->drained = false;
}

void device_cache_stats(const DeviceCache *c, size_t *ret_hits, size_t *ret_reads) {
        *ret_hits = c->hits;
        *ret_reads = c->reads;
}

/* Without the uevent socket, how long the pages of one listing may share what its first page read. */
#define LISTING_CONTINUES_USEC (2 * 1000000ULL)

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

int device_cache_list_devices(DeviceCache *c, bool continuing, PciDevice **ret, size_t *ret_n) {
        bool kept = sync_events(c);
        PciDevice *all, *copy;
        size_t n;
        int r;

        if (c->listing && (kept || (continuing && now_usec() - c->listing_usec < LISTING_CONTINUES_USEC))) {
                copy = malloc((c->n_listing ? c->n_listing : 1) * sizeof(*copy));
                if (!copy)
                        return -ENOMEM;
                memcpy(copy, c->listing, c->n_listing * sizeof(*copy));
                c->hits++;
                *ret = copy;
                *ret_n = c->n_listing;
                return 0;
        }
        r = sysfs_list_devices(c->root, &all, &n);
        if (r < 0)
                return r;
        c->reads++;
        free(c->listing);
        c->listing = malloc((n ? n : 1) * sizeof(*c->listing));
        c->n_listing = c->listing ? n : 0;
        if (c->listing) {
                memcpy(c->listing, all, n * sizeof(*all));
                c->listing_usec = now_usec();
        }
        *ret = all;
        *ret_n = n;
        return 0;
}
