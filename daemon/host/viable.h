/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Whether the host's PCI state lets a device or a group go to a client:
 * which driver a device is on, and whether every member of an IOMMU group is
 * bound to vfio-pci or to a driver the kernel accepts beside it.
 */

#include <stdbool.h>
#include <stddef.h>

#include "common/sysfs.h"
#include "host/devcache.h"

enum {
        HOST_E_NOT_VIABLE = 1,          /* a member of the group is on a host driver */
};

/*
 * 0 when every device of @group may be handed out together; HOST_E_NOT_VIABLE
 * (or -errno when the group cannot be read) with @why saying which device
 * holds it back.  @known: one of them, already read.  @ret_members, if not
 * NULL: the devices of the group, on success.
 */
int host_group_check_viable(DeviceCache *cache, int group, const PciDevice *known,
                            char (**ret_members)[BDF_STRLEN + 1], size_t *ret_n, char *why, size_t size);

