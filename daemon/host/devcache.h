/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What sysfs said of PCI devices and IOMMU groups, kept between requests.
 * Each sysfs read costs path walks through the kernel, and an acquire needs
 * the device and its group's members: read once, they are served from here
 * until the kernel says anything changed.
 *
 * The kernel announces every device event (add, remove, bind, unbind,
 * change) on its uevent netlink socket.  Before every lookup the cache drains
 * that socket, and any message at all, or a lost one (ENOBUFS), empties it:
 * a lookup never answers from before an event the kernel had sent.  Within
 * one request (device_cache_hold()) only its first lookup drains: all of
 * them answer as of that moment, and a request costs one recv, not one per
 * lookup.  Messages are not parsed and nothing in them is trusted; they only
 * cause rereads.  Only successful reads are kept (a device that is not there
 * is asked again).
 *
 * Without the socket (sysfs_root is not the live /sys, or the sandbox
 * forbids netlink) every lookup reads sysfs.
 */

#include <stdbool.h>
#include <stddef.h>

#include "common/sysfs.h"

typedef struct DeviceCache DeviceCache;

/*
 * A cache of the tree at @root.  @events: a socket whose every datagram
 * stands for a kernel event (taken); -1 to open the kernel's uevent socket
 * when @root is "/sys", or to cache nothing otherwise.
 */
int device_cache_new(const char *root, int events, DeviceCache **ret);
DeviceCache *device_cache_free(DeviceCache *c);

/* sysfs_read_device(), from the cache when nothing changed since. */
int device_cache_read_device(DeviceCache *c, const char *bdf, PciDevice *ret);

/*
 * sysfs_list_devices() (a copy the caller frees), from the cache likewise;
 * without the uevent socket, a listing's later pages (@continuing) share
 * what its first page read for a moment.
 */
int device_cache_list_devices(DeviceCache *c, bool continuing, PciDevice **ret, size_t *ret_n);
/* sysfs_group_members() (a copy the caller frees), from the cache likewise. */
int device_cache_group_members(DeviceCache *c, int group, char (**ret)[BDF_STRLEN + 1], size_t *ret_n);

/*
 * Between hold and unhold (one request), lookups drain the uevent socket once,
 * at the first: they answer as of then.  Outside, every lookup drains it.
 */
void device_cache_hold(DeviceCache *c);
void device_cache_unhold(DeviceCache *c);

/* The uevent socket, to watch on the loop (-1: none), and draining it now: whether the kernel said anything. */
int device_cache_events_fd(const DeviceCache *c);
bool device_cache_sync(DeviceCache *c);
/* Lookups answered from the cache, and reads of sysfs, so far. */
void device_cache_stats(const DeviceCache *c, size_t *ret_hits, size_t *ret_reads);
