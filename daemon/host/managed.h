/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Managed binding (a pool's Managed=yes): the devices of a group the broker
 * binds to vfio-pci for a lease, and gives back to the drivers they had.
 *
 * Crash-safe by its own record file, written (and synced) before each sysfs
 * write and whether or not a service manager runs the broker: one line
 * "BDF DRIVER" per device the broker moved ("-": it had none).  A device is
 * in the record from just before it leaves its driver until it is back on
 * it; a broker that starts finds what an earlier one moved and gives back
 * what nobody holds (host_managed_restore()).  A device not in the record is
 * never written to.
 */

#include <stdbool.h>
#include <stddef.h>

#include "common/sysfs.h"

typedef struct ManagedHost ManagedHost;

/* Positive codes of the calls below; -errno is a failure of the system. */
enum {
        HOST_E_IN_USE = 1,              /* the host uses the device (an interface up, a filesystem mounted) */
        HOST_E_WONT_BIND,               /* its driver did not let go, or vfio-pci did not take it */
};

/* The record at @path, read (missing: empty); @sysfs_root is where the writes go. */
int managed_host_new(const char *sysfs_root, const char *path, ManagedHost **ret);
ManagedHost *managed_host_free(ManagedHost *m);

/* Whether the host itself uses @d: 0, or HOST_E_IN_USE with @why naming how. */
int managed_host_check_use(ManagedHost *m, const PciDevice *d, char *why, size_t size);

/* Record @d's driver, then move it to vfio-pci (driver_override); 0, or HOST_E_WONT_BIND / -errno with @why. */
int managed_host_bind(ManagedHost *m, const PciDevice *d, char *why, size_t size);

/* If the broker moved @bdf: back to its driver, override cleared, out of the record. 1 if it did, 0 if not ours. */
int managed_host_restore(ManagedHost *m, const char *bdf);

/* Whether the record holds @bdf. */
bool managed_host_has(const ManagedHost *m, const char *bdf);

/* The devices in the record, for a start to give back (a copy: free() it). */
int managed_host_list(const ManagedHost *m, char (**ret)[BDF_STRLEN + 1], size_t *ret_n);
