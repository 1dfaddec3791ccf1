/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "host/viable.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

int host_group_check_viable(DeviceCache *cache, int group, const PciDevice *known,
                            char (**ret_members)[BDF_STRLEN + 1], size_t *ret_n, char *why, size_t size) {
        _cleanup_free_ char (*members)[BDF_STRLEN + 1] = NULL;
        size_t n;
        int r;

        r = device_cache_group_members(cache, group, &members, &n);
        if (r < 0) {
                snprintf(why, size, "cannot list the devices of IOMMU group %d: %s", group, strerror(-r));
                return r;
        }
        for (size_t i = 0; i < n; i++) {
                const PciDevice *d = known;
                PciDevice read;

                if (!known || strcmp(known->bdf, members[i]) != 0) {
                        if (device_cache_read_device(cache, members[i], &read) < 0)
                                continue;
                        d = &read;
                }
                if (!pci_driver_allowed_in_group(d)) {
                        snprintf(why, size, "IOMMU group %d is not viable: %s is bound to the host driver %s",
                                 group, d->bdf, d->driver);
                        return HOST_E_NOT_VIABLE;
                }
        }
        if (ret_members) {
                *ret_members = TAKE_PTR(members);
                *ret_n = n;
        }
        return 0;
}
