/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "edu.h"

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kernel/iommufd-uapi.h"

#define EDU_ID           0x00
#define EDU_LIVENESS     0x04
#define EDU_IRQ_STATUS   0x24
#define EDU_IRQ_ACK      0x64
#define EDU_DMA_SRC      0x80
#define EDU_DMA_DST      0x88
#define EDU_DMA_COUNT    0x90
#define EDU_DMA_CMD      0x98
#define EDU_DMA_RUN      0x1
#define EDU_DMA_TO_RAM   0x2
#define EDU_DMA_IRQ      0x4
#define EDU_IRQ_DMA      0x100
#define EDU_BUFFER       0x40000
#define EDU_BUFFER_SIZE  4096
/*
 * QEMU 7.2's edu rejects a transfer that ends exactly at the end of its
 * buffer (an off-by-one in its range check, fixed upstream later), so a
 * round trip moves half the buffer.
 */
#define EDU_TRANSFER     2048

static uint32_t edu_read(Edu *edu, size_t reg) {
        return edu->bar[reg / 4];
}

static void edu_write(Edu *edu, size_t reg, uint32_t value) {
        edu->bar[reg / 4] = value;
}

static int region_info(int device_fd, uint32_t index, struct vfio_region_info *ret) {
        struct vfio_region_info info = { .argsz = sizeof(info), .index = index };

        if (ioctl(device_fd, VFIO_DEVICE_GET_REGION_INFO, &info) < 0)
                return -errno;
        *ret = info;
        return 0;
}

static int enable_bus_master(int device_fd) {
        struct vfio_region_info config = {};
        uint16_t command;
        int r;

        r = region_info(device_fd, VFIO_PCI_CONFIG_REGION_INDEX, &config);
        if (r < 0)
                return r;
        if (pread(device_fd, &command, sizeof(command), config.offset + PCI_COMMAND) != sizeof(command))
                return -EIO;
        command |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
        if (pwrite(device_fd, &command, sizeof(command), config.offset + PCI_COMMAND) != sizeof(command))
                return -EIO;
        return 0;
}

int edu_open(Edu *edu, int device_fd) {
        struct vfio_region_info bar0 = {};
        void *p;
        int r;

        r = region_info(device_fd, VFIO_PCI_BAR0_REGION_INDEX, &bar0);
        if (r < 0)
                return r;
        if (!(bar0.flags & VFIO_REGION_INFO_FLAG_MMAP) || bar0.size < EDU_BUFFER + EDU_BUFFER_SIZE)
                return -ENODEV;
        p = mmap(NULL, bar0.size, PROT_READ | PROT_WRITE, MAP_SHARED, device_fd, bar0.offset);
        if (p == MAP_FAILED)
                return -errno;
        *edu = (Edu) { .device_fd = device_fd, .bar = p, .bar_size = bar0.size };

        r = enable_bus_master(device_fd);
        if (r < 0) {
                edu_close(edu);
                return r;
        }
        /* The identification register reads 0xRRrr00ed; the liveness register inverts. */
        edu_write(edu, EDU_LIVENESS, 0x12345678);
        if ((edu_read(edu, EDU_ID) & 0xffff) != 0x00ed || edu_read(edu, EDU_LIVENESS) != ~0x12345678u) {
                edu_close(edu);
                return -ENODEV;
        }
        return 0;
}

void edu_close(Edu *edu) {
        if (edu->bar)
                munmap((void *) edu->bar, edu->bar_size);
        edu->bar = NULL;
}

int edu_set_msi(int device_fd, int irq_fd) {
        char buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
        struct vfio_irq_set *set = (struct vfio_irq_set *) buf;

        *set = (struct vfio_irq_set) {
                .argsz = sizeof(buf),
                .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
                .index = VFIO_PCI_MSI_IRQ_INDEX,
                .start = 0,
                .count = 1,
        };
        memcpy(set->data, &irq_fd, sizeof(int32_t));
        if (ioctl(device_fd, VFIO_DEVICE_SET_IRQS, set) < 0)
                return -errno;
        return 0;
}

uint8_t edu_pattern(uint8_t seed, size_t i) {
        return (uint8_t) (seed + i * 7 + (i >> 8));
}

static int wait_irq(Edu *edu, int irq_fd, int unmask_fd, const char *what) {
        struct pollfd p = { .fd = irq_fd, .events = POLLIN };
        uint64_t count;
        uint32_t status;
        int r;

        r = poll(&p, 1, 10000);
        if (r < 0)
                return -errno;
        if (r == 0) {
                fprintf(stderr, "edu: no interrupt on the eventfd within 10 s after %s\n", what);
                return -ETIMEDOUT;
        }
        if (read(irq_fd, &count, sizeof(count)) != sizeof(count))
                return -EIO;
        status = edu_read(edu, EDU_IRQ_STATUS);
        edu_write(edu, EDU_IRQ_ACK, status);
        if (unmask_fd >= 0) {
                uint64_t one = 1;

                /* The device lowered its line: let VFIO unmask it for the next one. */
                if (write(unmask_fd, &one, sizeof(one)) != sizeof(one))
                        return -EIO;
        }
        if (!(status & EDU_IRQ_DMA)) {
                fprintf(stderr, "edu: interrupt after %s has status 0x%x, not DMA done\n", what, status);
                return -EIO;
        }
        printf("edu: %s: DMA-done interrupt received on the eventfd (count %" PRIu64 ")\n", what, count);
        return 0;
}

static int dma(Edu *edu, int irq_fd, int unmask_fd, uint64_t src, uint64_t dst, uint32_t cmd, const char *what) {
        edu_write(edu, EDU_DMA_SRC, (uint32_t) src);
        edu_write(edu, EDU_DMA_DST, (uint32_t) dst);
        edu_write(edu, EDU_DMA_COUNT, EDU_TRANSFER);
        edu_write(edu, EDU_DMA_CMD, cmd | EDU_DMA_RUN | EDU_DMA_IRQ);
        return wait_irq(edu, irq_fd, unmask_fd, what);
}

/* @fd is a VFIO container when @ioas_id < 0, else an iommufd and the IOAS to map in. */
static int map_dma(int fd, int64_t ioas_id, void *vaddr, uint64_t iova, size_t size) {
        struct iommu_ioas_map ioas_map = {
                .size = sizeof(ioas_map),
                .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
                .ioas_id = (uint32_t) ioas_id,
                .user_va = (uintptr_t) vaddr,
                .length = size,
                .iova = iova,
        };
        struct vfio_iommu_type1_dma_map map = {
                .argsz = sizeof(map),
                .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                .vaddr = (uintptr_t) vaddr,
                .iova = iova,
                .size = size,
        };

        if (ioas_id >= 0 ? ioctl(fd, IOMMU_IOAS_MAP, &ioas_map) < 0 : ioctl(fd, VFIO_IOMMU_MAP_DMA, &map) < 0)
                return -errno;
        return 0;
}

static void unmap_dma(int fd, int64_t ioas_id, uint64_t iova, size_t size) {
        struct iommu_ioas_unmap ioas_unmap = { .size = sizeof(ioas_unmap), .ioas_id = (uint32_t) ioas_id,
                                               .iova = iova, .length = size };
        struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap), .iova = iova, .size = size };

        (void) (ioas_id >= 0 ? ioctl(fd, IOMMU_IOAS_UNMAP, &ioas_unmap) : ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
}

static int roundtrip(Edu *edu, int fd, int64_t ioas_id, int irq_fd, int unmask_fd, uint64_t iova, uint8_t seed) {
        const size_t page = EDU_BUFFER_SIZE;
        uint8_t *buf;
        size_t bad = 0;
        int r;

        buf = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (buf == MAP_FAILED)
                return -errno;
        for (size_t i = 0; i < page; i++)
                buf[i] = edu_pattern(seed, i);

        r = map_dma(fd, ioas_id, buf, iova, 2 * page);
        if (r < 0) {
                fprintf(stderr, "edu: %s: %s\n", ioas_id >= 0 ? "IOMMU_IOAS_MAP" : "VFIO_IOMMU_MAP_DMA", strerror(-r));
                goto out;
        }
        r = dma(edu, irq_fd, unmask_fd, iova, EDU_BUFFER, 0, "buffer -> device");
        if (r >= 0)
                r = dma(edu, irq_fd, unmask_fd, EDU_BUFFER, iova + page, EDU_DMA_TO_RAM, "device -> second buffer");
        unmap_dma(fd, ioas_id, iova, 2 * page);
        if (r < 0)
                goto out;

        for (size_t i = 0; i < EDU_TRANSFER; i++)
                if (buf[page + i] != edu_pattern(seed, i))
                        bad++;
        if (bad > 0) {
                fprintf(stderr, "edu: %zu of %d bytes came back wrong (first: 0x%02x, expected 0x%02x)\n",
                        bad, EDU_TRANSFER, buf[page], edu_pattern(seed, 0));
                r = -EBADMSG;
                goto out;
        }
        printf("edu: %d bytes went to the device and back through the IOMMU intact\n", EDU_TRANSFER);
out:
        munmap(buf, 2 * page);
        return r;
}

int edu_dma_roundtrip(Edu *edu, int container_fd, int irq_fd, int unmask_fd, uint64_t iova, uint8_t seed) {
        return roundtrip(edu, container_fd, -1, irq_fd, unmask_fd, iova, seed);
}

int edu_dma_roundtrip_ioas(Edu *edu, int iommufd, uint32_t ioas_id, int irq_fd, int unmask_fd, uint64_t iova,
                           uint8_t seed) {
        return roundtrip(edu, iommufd, ioas_id, irq_fd, unmask_fd, iova, seed);
}

int edu_open_msi(Edu *edu, int device_fd, int *ret_irq) {
        int irq, r;

        r = edu_open(edu, device_fd);
        if (r < 0)
                return r;
        irq = eventfd(0, EFD_CLOEXEC);
        if (irq < 0)
                return -errno;
        r = edu_set_msi(device_fd, irq);
        if (r < 0) {
                close(irq);
                return r;
        }
        *ret_irq = irq;
        return 0;
}

int edu_group_path(const char *bdf, char *ret, size_t size) {
        char link[PATH_MAX], target[PATH_MAX];
        ssize_t n;

        snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/iommu_group", bdf);
        n = readlink(link, target, sizeof(target) - 1);
        if (n < 0)
                return -errno;
        target[n] = 0;
        snprintf(ret, size, "/dev/vfio/%s", basename(target));
        return 0;
}

int edu_find_fd(const char *fds, const char *name) {
        size_t len = strlen(name);

        for (const char *p = fds; p && *p;) {
                const char *end = strchr(p, ' ');

                if (strncmp(p, name, len) == 0 && p[len] == '=')
                        return atoi(p + len + 1);
                p = end ? end + 1 : NULL;
        }
        return -1;
}
