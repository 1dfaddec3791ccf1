/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cycle.h"
#include "stats.h"

void acquire_release(vfio_broker *b, const char *bdf, const char *program) {
        struct vfio_broker_device_request want = { .bdf = bdf };
        vfio_broker_lease *lease = NULL;
        uint64_t id;
        int r;

        r = vfio_broker_acquire(b, 0, &want, 1, &lease);
        if (r < 0) {
                fprintf(stderr, "%s: acquire %s: %s\n", program, bdf, vfio_broker_error_message(b));
                exit(EXIT_FAILURE);
        }
        id = vfio_broker_lease_id(lease);
        vfio_broker_lease_free(lease);
        r = vfio_broker_release(b, id);
        if (r != 0)
                die("release (the group should be free at once)", r < 0 ? r : EBUSY);
}
