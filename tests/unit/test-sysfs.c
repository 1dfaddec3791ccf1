/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "fake-sysfs.h"
#include "util.h"
#include "sysfs.h"
#include "test.h"

static void test_parse_hex(void) {
        uint32_t v = 7;

        CHECK_EQ_INT(parse_hex_u32("0x1234\n", 0xffff, &v), 0);
        CHECK_EQ_INT(v, 0x1234);
        CHECK_EQ_INT(parse_hex_u32("0x00ff00", 0xffffff, &v), 0);
        CHECK_EQ_INT(v, 0xff00);
        CHECK_EQ_INT(parse_hex_u32("0x10000", 0xffff, &v), -EINVAL);
        CHECK_EQ_INT(parse_hex_u32("1234", 0xffff, &v), -EINVAL);
        CHECK_EQ_INT(parse_hex_u32("0x", 0xffff, &v), -EINVAL);
        CHECK_EQ_INT(parse_hex_u32("0x-1", 0xffff, &v), -EINVAL);
        CHECK_EQ_INT(parse_hex_u32("0x12 ", 0xffff, &v), -EINVAL);
        CHECK_EQ_INT(parse_hex_u32("0x12\n\n", 0xffff, &v), -EINVAL);
        CHECK_EQ_INT(parse_hex_u32("0x0000000000001", 0xffffffff, &v), -EINVAL);
        CHECK_EQ_INT(v, 0xff00);
}

static void test_parse_links(void) {
        char name[8];
        int g = -5;

        CHECK_EQ_INT(parse_group_link("../../../kernel/iommu_groups/7", &g), 0);
        CHECK_EQ_INT(g, 7);
        CHECK_EQ_INT(parse_group_link("12", &g), 0);
        CHECK_EQ_INT(g, 12);
        CHECK_EQ_INT(parse_group_link("../groups/07", &g), -EINVAL);
        CHECK_EQ_INT(parse_group_link("../groups/x", &g), -EINVAL);
        CHECK_EQ_INT(parse_group_link("../groups/", &g), -EINVAL);
        CHECK_EQ_INT(parse_group_link("../groups/99999999999", &g), -EINVAL);
        CHECK_EQ_INT(g, 12);

        CHECK_EQ_INT(parse_link_name("../../bus/pci/drivers/vfio-pci", name, sizeof(name)), -EINVAL);
        CHECK_EQ_INT(parse_link_name("../drivers/e1000e", name, sizeof(name)), 0);
        CHECK_EQ_STR(name, "e1000e");
        CHECK_EQ_INT(parse_link_name("../drivers/..", name, sizeof(name)), -EINVAL);
}

static void test_tree(void) {
        _cleanup_free_ char (*members)[BDF_STRLEN + 1] = NULL;
        _cleanup_free_ PciDevice *all = NULL;
        FakeSysfs f;
        PciDevice d;
        size_t n;

        fake_sysfs_init(&f);
        fake_sysfs_add(&f, "0000:00:03.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 1);
        fake_sysfs_add(&f, "0000:02:02.0", "0x8086", "0x10d3", "0x020000", "e1000e", 4);
        fake_sysfs_add(&f, "0000:02:01.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 4);
        fake_sysfs_add(&f, "0000:00:06.0", "0x1b36", "0x0001", "0x060400", NULL, 4);
        fake_sysfs_add(&f, "0000:00:1f.0", "0x8086", "0x2918", "0x060100", NULL, -1);

        CHECK_EQ_INT(sysfs_read_device(f.root, "00:03.0", &d), 0);
        CHECK_EQ_STR(d.bdf, "0000:00:03.0");
        CHECK_EQ_INT(d.vendor, 0x1234);
        CHECK_EQ_INT(d.device, 0x11e8);
        CHECK_EQ_INT(d.class_code, 0xff00);
        CHECK_EQ_STR(d.driver, "vfio-pci");
        CHECK_EQ_INT(d.iommu_group, 1);
        CHECK(!d.resettable);
        CHECK(!d.noiommu);

        CHECK_EQ_INT(sysfs_read_device(f.root, "0000:00:1f.0", &d), 0);
        CHECK_EQ_STR(d.driver, "");
        CHECK_EQ_INT(d.iommu_group, -1);

        CHECK_EQ_INT(sysfs_read_device(f.root, "0000:09:00.0", &d), -ENODEV);
        CHECK_EQ_INT(sysfs_read_device(f.root, "../../../etc", &d), -EINVAL);

        CHECK_EQ_INT(sysfs_group_members(f.root, 4, &members, &n), 0);
        CHECK_EQ_INT(n, 3);
        CHECK_EQ_STR(members[0], "0000:00:06.0");
        CHECK_EQ_STR(members[1], "0000:02:01.0");
        CHECK_EQ_STR(members[2], "0000:02:02.0");
        CHECK_EQ_INT(sysfs_group_members(f.root, 9, &members, &n), -ENOENT);

        CHECK_EQ_INT(sysfs_list_devices(f.root, &all, &n), 0);
        CHECK_EQ_INT(n, 5);
        CHECK_EQ_STR(all[0].bdf, "0000:00:03.0");
        CHECK_EQ_STR(all[4].bdf, "0000:02:02.0");
        CHECK_EQ_STR(all[4].driver, "e1000e");
        CHECK(!sysfs_unsafe_interrupts_allowed(f.root));
        fake_sysfs_done(&f);
}

int main(void) {
        RUN(test_parse_hex);
        RUN(test_parse_links);
        RUN(test_tree);
        return 0;
}
