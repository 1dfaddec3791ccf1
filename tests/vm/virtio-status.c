/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * virtio-status FD set|get: the device status of a modern virtio PCI device
 * (the virtio-rng of the test bed) through its VFIO device fd FD, inherited
 * from vfio-brokerctl run: its common configuration structure is found by
 * the vendor capability (cfg_type 1) in config space, and device_status
 * (offset 20) is read or written in the BAR it names.
 *   set  write ACKNOWLEDGE | DRIVER (3), read it back, print it (the device
 *        keeps it until a reset)
 *   get  print it (0 on a device that was reset since)
 * Device-internal state that vfio-pci does not restore on close, unlike
 * config space: what shows a reset happened between two holders.
 */
#include <errno.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define VIRTIO_PCI_CAP_VENDOR 0x09
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define COMMON_DEVICE_STATUS 20

static int fail(const char *what, int err) {
        fprintf(stderr, "virtio-status: %s: %s\n", what, strerror(err));
        return EXIT_FAILURE;
}

static int region_offset(int fd, uint32_t index, uint64_t *ret) {
        struct vfio_region_info info = { .argsz = sizeof(info), .index = index };

        if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &info) < 0)
                return -errno;
        *ret = info.offset;
        return 0;
}

int main(int argc, char **argv) {
        uint64_t config, bar;
        uint32_t cap_offset = 0;
        uint8_t pos, cap[16], status;
        int fd, r, bar_index = -1;

        if (argc != 3 || (strcmp(argv[2], "set") != 0 && strcmp(argv[2], "get") != 0)) {
                fprintf(stderr, "usage: virtio-status FD set|get\n");
                return 2;
        }
        fd = atoi(argv[1]);
        r = region_offset(fd, VFIO_PCI_CONFIG_REGION_INDEX, &config);
        if (r < 0)
                return fail("the config space region", -r);
        /* The capability list, from 0x34: the vendor capability of the common configuration. */
        if (pread(fd, &pos, 1, (off_t) (config + 0x34)) != 1)
                return fail("reading the capability pointer", errno);
        for (int hops = 0; pos >= 0x40 && hops < 48; hops++) {
                if (pread(fd, cap, sizeof(cap), (off_t) (config + pos)) != (ssize_t) sizeof(cap))
                        return fail("reading a capability", errno);
                if (cap[0] == VIRTIO_PCI_CAP_VENDOR && cap[3] == VIRTIO_PCI_CAP_COMMON_CFG) {
                        bar_index = cap[4];
                        memcpy(&cap_offset, cap + 8, sizeof(cap_offset));
                        break;
                }
                pos = cap[1];
        }
        if (bar_index < 0 || bar_index > 5)
                return fail("no virtio common configuration capability", ENODEV);
        r = region_offset(fd, VFIO_PCI_BAR0_REGION_INDEX + (uint32_t) bar_index, &bar);
        if (r < 0)
                return fail("the common configuration's BAR", -r);
        if (strcmp(argv[2], "set") == 0) {
                status = 3;
                if (pwrite(fd, &status, 1, (off_t) (bar + cap_offset + COMMON_DEVICE_STATUS)) != 1)
                        return fail("writing device_status", errno);
        }
        if (pread(fd, &status, 1, (off_t) (bar + cap_offset + COMMON_DEVICE_STATUS)) != 1)
                return fail("reading device_status", errno);
        printf("virtio-status: device_status %u\n", status);
        return 0;
}
