/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Driving QEMU's edu device (docs/specs/edu.rst) from userspace through a
 * VFIO device fd: BAR0 mapped, bus mastering on, DMA through the IOMMU with
 * the completion interrupt on an eventfd.  Shared by the test bed's programs.
 */

#include <stddef.h>
#include <stdint.h>

typedef struct Edu {
        int device_fd;
        volatile uint32_t *bar;
        size_t bar_size;
} Edu;

/* Map BAR0 of the edu device behind @device_fd and enable bus mastering. */
int edu_open(Edu *edu, int device_fd);
void edu_close(Edu *edu);

/* Route MSI vector 0 of the device to @irq_fd (the raw-VFIO path). */
int edu_set_msi(int device_fd, int irq_fd);

/* edu_open(), and MSI vector 0 routed to a new eventfd (into *ret_irq). */
int edu_open_msi(Edu *edu, int device_fd, int *ret_irq);

/* /dev/vfio/N, the legacy group of device @bdf (from its iommu_group link in sysfs). */
int edu_group_path(const char *bdf, char *ret, size_t size);

/*
 * Copy a buffer into the device and back out to a second buffer by DMA through
 * the IOMMU mappings it makes on @container_fd at @iova, waiting for each
 * completion interrupt on @irq_fd.  With INTx, @unmask_fd (else -1) is the
 * eventfd that unmasks the line VFIO masked when it fired.  Returns 0 when
 * the bytes came back intact and both interrupts arrived, -errno otherwise,
 * after printing the cause.
 */
int edu_dma_roundtrip(Edu *edu, int container_fd, int irq_fd, int unmask_fd, uint64_t iova, uint8_t seed);

/* The same through IOAS @ioas_id of @iommufd (IOMMU_IOAS_MAP): a device bound to it and attached. */
int edu_dma_roundtrip_ioas(Edu *edu, int iommufd, uint32_t ioas_id, int irq_fd, int unmask_fd, uint64_t iova,
                           uint8_t seed);

/* The byte edu_dma_roundtrip() expects at @i of the buffer for @seed. */
uint8_t edu_pattern(uint8_t seed, size_t i);

/* The fd (or number) named @name in a $VFIO_BROKER_FDS text ("container=3 device:BDF=4 ..."), or -1. */
int edu_find_fd(const char *fds, const char *name);
