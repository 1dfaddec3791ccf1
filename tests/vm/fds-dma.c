/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fds-dma BDF: run under "vfio-brokerctl run --irq BDF:msi BDF -- fds-dma BDF".
 * Knows nothing of the broker: finds its fds in $VFIO_BROKER_FDS
 * ("container=3 device:BDF=4 msi:BDF:0=5 ...", or with --iommufd
 * "iommufd=3 ioas=1 device:BDF=4 ...") and does the edu DMA round trip, with
 * MSI or, when that is what it was given, INTx.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edu.h"

int main(int argc, char **argv) {
        const char *fds = getenv("VFIO_BROKER_FDS");
        char name[64];
        int container, iommufd, ioas, device, irq, unmask = -1, r;
        Edu edu;

        if (argc != 2 || !fds) {
                fprintf(stderr, "usage: VFIO_BROKER_FDS=... fds-dma BDF\n");
                return EXIT_FAILURE;
        }
        printf("fds-dma: VFIO_BROKER_FDS=%s\n", fds);
        container = edu_find_fd(fds, "container");
        iommufd = edu_find_fd(fds, "iommufd");
        ioas = edu_find_fd(fds, "ioas");
        snprintf(name, sizeof(name), "device:%s", argv[1]);
        device = edu_find_fd(fds, name);
        snprintf(name, sizeof(name), "msi:%s:0", argv[1]);
        irq = edu_find_fd(fds, name);
        if (irq < 0) {
                snprintf(name, sizeof(name), "intx:%s:0", argv[1]);
                irq = edu_find_fd(fds, name);
                snprintf(name, sizeof(name), "unmask:%s:0", argv[1]);
                unmask = edu_find_fd(fds, name);
        }
        if ((container < 0) == (iommufd < 0) || (iommufd >= 0 && ioas <= 0) || device < 0 || irq < 0) {
                fprintf(stderr, "fds-dma: VFIO_BROKER_FDS lacks the container (or iommufd and ioas), device or irq fd\n");
                return EXIT_FAILURE;
        }
        r = edu_open(&edu, device);
        if (r < 0) {
                fprintf(stderr, "fds-dma: edu_open: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        if (iommufd >= 0)
                r = edu_dma_roundtrip_ioas(&edu, iommufd, (uint32_t) ioas, irq, unmask, 0x300000, 0x3c);
        else
                r = edu_dma_roundtrip(&edu, container, irq, unmask, 0x300000, 0x3c);
        if (r < 0) {
                fprintf(stderr, "fds-dma: DMA round trip: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        printf("fds-dma: DMA round trip with fds from VFIO_BROKER_FDS passed\n");
        return EXIT_SUCCESS;
}
