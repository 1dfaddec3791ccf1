/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A sysfs tree in a temporary directory, shaped like the test bed's: PCI
 * devices with vendor/device/class, driver and iommu_group links.
 */

#include <limits.h>

typedef struct FakeSysfs {
        char root[PATH_MAX];
} FakeSysfs;

void fake_sysfs_init(FakeSysfs *f);
/*
 * A device; @driver NULL for none, @group < 0 for none.  @bdf may be a path
 * below the root bus ("0000:00:1c.0/0000:01:00.0": behind that bridge).
 */
void fake_sysfs_add(FakeSysfs *f, const char *bdf, const char *vendor, const char *device,
                    const char *class_code, const char *driver, int group);
/* Write attribute @name of device @bdf (e.g. reset_method). */
void fake_sysfs_set(FakeSysfs *f, const char *bdf, const char *name, const char *text);
void fake_sysfs_done(FakeSysfs *f);
