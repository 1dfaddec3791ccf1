/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fake-sysfs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

static void mkdirs(const char *path) {
        char cmd[PATH_MAX + 16];

        snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
        CHECK(system(cmd) == 0);
}

static void write_file(const char *dir, const char *name, const char *text) {
        char path[PATH_MAX];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "we");
        CHECK(f);
        fprintf(f, "%s\n", text);
        fclose(f);
}

void fake_sysfs_init(FakeSysfs *f) {
        snprintf(f->root, sizeof(f->root), "/tmp/vfio-broker-sysfs.XXXXXX");
        CHECK(mkdtemp(f->root));
}

void fake_sysfs_add(FakeSysfs *f, const char *bdf, const char *vendor, const char *device,
                    const char *class_code, const char *driver, int group) {
        char dir[PATH_MAX], path[PATH_MAX], target[PATH_MAX], uevent[512];
        const char *path_of = bdf;

        bdf = strrchr(path_of, '/') ? strrchr(path_of, '/') + 1 : path_of;
        snprintf(dir, sizeof(dir), "%s/devices/pci0000:00/%s", f->root, path_of);
        mkdirs(dir);
        /* What the kernel's uevent attribute says of a PCI device (the broker reads only this). */
        snprintf(uevent, sizeof(uevent),
                 "%s%s%sPCI_CLASS=%04lX\nPCI_ID=%04lX:%04lX\nPCI_SUBSYS_ID=1AF4:1100\nPCI_SLOT_NAME=%s\n"
                 "MODALIAS=pci:v%08lXd%08lXsv00001AF4sd00001100bc%02lXsc%02lXi%02lX",
                 driver ? "DRIVER=" : "", driver ? driver : "", driver ? "\n" : "",
                 strtoul(class_code, NULL, 16), strtoul(vendor, NULL, 16), strtoul(device, NULL, 16), bdf,
                 strtoul(vendor, NULL, 16), strtoul(device, NULL, 16), strtoul(class_code, NULL, 16) >> 16,
                 (strtoul(class_code, NULL, 16) >> 8) & 0xff, strtoul(class_code, NULL, 16) & 0xff);
        write_file(dir, "uevent", uevent);
        snprintf(path, sizeof(path), "%s/bus/pci/devices", f->root);
        mkdirs(path);
        snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", f->root, bdf);
        CHECK(symlink(dir, path) == 0);
        if (driver) {
                snprintf(target, sizeof(target), "%s/bus/pci/drivers/%s", f->root, driver);
                mkdirs(target);
                snprintf(path, sizeof(path), "%s/driver", dir);
                CHECK(symlink(target, path) == 0);
        }
        if (group >= 0) {
                snprintf(target, sizeof(target), "%s/kernel/iommu_groups/%d/devices", f->root, group);
                mkdirs(target);
                snprintf(path, sizeof(path), "%s/%s", target, bdf);
                CHECK(symlink(dir, path) == 0);
                snprintf(target, sizeof(target), "%s/kernel/iommu_groups/%d", f->root, group);
                snprintf(path, sizeof(path), "%s/iommu_group", dir);
                CHECK(symlink(target, path) == 0);
        }
}

void fake_sysfs_set(FakeSysfs *f, const char *bdf, const char *name, const char *text) {
        char dir[PATH_MAX];

        snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", f->root, bdf);
        write_file(dir, name, text);
}

void fake_sysfs_done(FakeSysfs *f) {
        char cmd[PATH_MAX + 16];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
        CHECK(system(cmd) == 0);
}
