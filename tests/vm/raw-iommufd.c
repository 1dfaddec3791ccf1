/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * raw-iommufd BDF: the iommufd and VFIO cdev facts the broker's second
 * backend will stand on, proven with nothing but ioctls on the bed's own
 * kernel.  It opens /dev/iommu and sets per-process memlock accounting
 * (RLIMIT_MODE=1, before any object exists), opens the device's cdev
 * (/dev/vfio/devices/vfioN), checks that an unbound cdev grants nothing but
 * the bind, binds it, checks that the group and a second bind are now refused,
 * allocates an IOAS, attaches the device, routes MSI 0 to an eventfd and has
 * the edu device copy a buffer in and back out through IOMMU_IOAS_MAP
 * mappings.  Each refusal's errno is printed: later code relies on them.
 *
 * raw-iommufd --bind-and-hold BDF: bind the cdev to an iommufd of its own,
 * print "holding" and wait to be killed (someone outside the broker).
 *
 * raw-iommufd --unbound-from-env BDF: what a VMM does with a vmm-mode lease
 * (under vfio-brokerctl run --vmm): the iommufd= and device:BDF= fds of
 * $VFIO_BROKER_FDS, the cdev unbound, bound and attached here, the DMA
 * round trip on them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edu.h"
#include "kernel/iommufd-uapi.h"

static int fail(const char *what, int err) {
        fprintf(stderr, "raw-iommufd: %s: %s\n", what, strerror(err));
        return EXIT_FAILURE;
}

/*
 * /dev/vfio/devices/vfioN of @bdf, named by /sys/bus/pci/devices/BDF/vfio-dev/.
 * That sysfs entry exists since 6.1 for every VFIO device; the character
 * device only with CONFIG_VFIO_DEVICE_CDEV.
 */
static int cdev_path(const char *bdf, char *ret, size_t size) {
        char dir[PATH_MAX];
        struct dirent *de;
        DIR *d;

        snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
        d = opendir(dir);
        if (!d)
                return -errno;
        while ((de = readdir(d)))
                if (strncmp(de->d_name, "vfio", 4) == 0) {
                        struct stat st;

                        snprintf(ret, size, "/dev/vfio/devices/%s", de->d_name);
                        closedir(d);
                        if (stat(ret, &st) < 0)
                                return -errno;
                        return S_ISCHR(st.st_mode) ? 0 : -ENODEV;
                }
        closedir(d);
        return -ENOENT;
}

static int bind(int device, int iommufd, uint32_t *ret_devid) {
        struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };

        if (ioctl(device, VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0)
                return -errno;
        if (ret_devid)
                *ret_devid = bind.out_devid;
        return 0;
}

/* @what must fail (r < 0); say with which errno. */
static int expect_refused(const char *what, int r) {
        if (r >= 0) {
                fprintf(stderr, "raw-iommufd: %s succeeded, expected a refusal\n", what);
                return -1;
        }
        printf("raw-iommufd: %s: refused (%s)\n", what, strerror(-r));
        return 0;
}

/* Bind @device to @iommufd, attach it to a new IOAS, DMA through it with MSI. */
static int bind_attach_dma(int iommufd, int device, const char *bdf) {
        struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
        struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
        uint32_t devid = 0;
        int irq, r;
        Edu edu;

        r = bind(device, iommufd, &devid);
        if (r < 0)
                return fail("VFIO_DEVICE_BIND_IOMMUFD", -r);
        printf("raw-iommufd: %s bound as device %u\n", bdf, devid);
        if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc) < 0)
                return fail("IOMMU_IOAS_ALLOC", errno);
        attach.pt_id = alloc.out_ioas_id;
        if (ioctl(device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) < 0)
                return fail("VFIO_DEVICE_ATTACH_IOMMUFD_PT", errno);
        r = edu_open_msi(&edu, device, &irq);
        if (r < 0)
                return fail("the edu device with MSI on an eventfd", -r);
        r = edu_dma_roundtrip_ioas(&edu, iommufd, alloc.out_ioas_id, irq, -1, 0x100000, 0x5a);
        if (r < 0)
                return fail("DMA round trip", -r);
        edu_close(&edu);
        printf("raw-iommufd: %s: DMA round trip on fds bound here passed\n", bdf);
        return EXIT_SUCCESS;
}

static int unbound_from_env(const char *bdf) {
        struct vfio_device_info info = { .argsz = sizeof(info) };
        char name[64];
        int iommufd, device;

        snprintf(name, sizeof(name), "device:%s", bdf);
        iommufd = edu_find_fd(getenv("VFIO_BROKER_FDS"), "iommufd");
        device = edu_find_fd(getenv("VFIO_BROKER_FDS"), name);
        if (iommufd < 0 || device < 0)
                return fail("VFIO_BROKER_FDS lacks iommufd= or the device", ENOENT);
        if (expect_refused("VFIO_DEVICE_GET_INFO on the lease's cdev",
                           ioctl(device, VFIO_DEVICE_GET_INFO, &info) < 0 ? -errno : 0) < 0)
                return EXIT_FAILURE;
        return bind_attach_dma(iommufd, device, bdf);
}

static int bind_and_hold(const char *bdf) {
        char cdev[PATH_MAX];
        int iommufd, device, r;

        r = cdev_path(bdf, cdev, sizeof(cdev));
        if (r < 0)
                return fail("no VFIO cdev for the device", -r);
        iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
        device = open(cdev, O_RDWR | O_CLOEXEC);
        if (iommufd < 0 || device < 0)
                return fail("opening /dev/iommu or the cdev", errno);
        r = bind(device, iommufd, NULL);
        if (r < 0)
                return fail("VFIO_DEVICE_BIND_IOMMUFD", -r);
        printf("raw-iommufd: %s bound outside the broker; holding\n", bdf);
        fflush(stdout);
        for (;;)
                pause();
}

int main(int argc, char **argv) {
        struct iommu_option option = { .size = sizeof(option), .option_id = IOMMU_OPTION_RLIMIT_MODE,
                                       .op = IOMMU_OPTION_OP_SET, .val64 = 1 };
        struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
        struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
        struct vfio_device_info info = { .argsz = sizeof(info) };
        char cdev[PATH_MAX], group[PATH_MAX];
        int iommufd, other_iommufd, device, second, irq, fd, r;
        uint32_t devid = 0;
        Edu edu;

        if (argc == 3 && strcmp(argv[1], "--bind-and-hold") == 0)
                return bind_and_hold(argv[2]);
        if (argc == 3 && strcmp(argv[1], "--unbound-from-env") == 0)
                return unbound_from_env(argv[2]);
        if (argc != 2) {
                fprintf(stderr, "usage: raw-iommufd [--bind-and-hold|--unbound-from-env] BDF\n");
                return EXIT_FAILURE;
        }
        r = cdev_path(argv[1], cdev, sizeof(cdev));
        if (r < 0)
                return fail("no VFIO cdev for the device (vfio-dev/ in sysfs)", -r);
        r = edu_group_path(argv[1], group, sizeof(group));
        if (r < 0)
                return fail("iommu_group", -r);

        iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
        if (iommufd < 0)
                return fail("/dev/iommu", errno);
        if (ioctl(iommufd, IOMMU_OPTION, &option) < 0)
                return fail("IOMMU_OPTION RLIMIT_MODE=1", errno);
        printf("raw-iommufd: /dev/iommu open, memlock accounting per process\n");

        device = open(cdev, O_RDWR | O_CLOEXEC);
        if (device < 0)
                return fail(cdev, errno);
        if (expect_refused("VFIO_DEVICE_GET_INFO on an unbound cdev",
                           ioctl(device, VFIO_DEVICE_GET_INFO, &info) < 0 ? -errno : 0) < 0)
                return EXIT_FAILURE;
        r = bind(device, iommufd, &devid);
        if (r < 0)
                return fail("VFIO_DEVICE_BIND_IOMMUFD", -r);
        printf("raw-iommufd: %s bound to /dev/iommu as device %u\n", cdev, devid);

        /* The device is this file's now: the legacy group and any other bind are refused. */
        fd = open(group, O_RDWR | O_CLOEXEC);
        if (expect_refused("opening the group of a bound cdev", fd < 0 ? -errno : 0) < 0)
                return EXIT_FAILURE;
        other_iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
        second = open(cdev, O_RDWR | O_CLOEXEC);
        if (other_iommufd < 0 || second < 0)
                return fail("a second /dev/iommu or cdev open", errno);
        if (expect_refused("binding a second open of the cdev", bind(second, other_iommufd, NULL)) < 0)
                return EXIT_FAILURE;
        close(second);
        close(other_iommufd);

        if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc) < 0)
                return fail("IOMMU_IOAS_ALLOC", errno);
        attach.pt_id = alloc.out_ioas_id;
        if (ioctl(device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) < 0)
                return fail("VFIO_DEVICE_ATTACH_IOMMUFD_PT", errno);
        printf("raw-iommufd: attached to IOAS %u (page table %u)\n", alloc.out_ioas_id, attach.pt_id);

        r = edu_open_msi(&edu, device, &irq);
        if (r < 0)
                return fail("the edu device with MSI on an eventfd", -r);
        r = edu_dma_roundtrip_ioas(&edu, iommufd, alloc.out_ioas_id, irq, -1, 0x100000, 0xa5);
        if (r < 0)
                return fail("DMA round trip", -r);
        edu_close(&edu);
        printf("raw-iommufd: %s: DMA round trip through iommufd passed\n", argv[1]);
        return EXIT_SUCCESS;
}
