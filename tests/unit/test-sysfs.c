/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "fake-sysfs.h"
#include "common/util.h"
#include "common/sysfs.h"
#include "test.h"

static void test_parse_uevent(void) {
        PciDevice d = { .vendor = 7 };

        CHECK_EQ_INT(parse_pci_uevent("DRIVER=vfio-pci\nPCI_CLASS=FF00\nPCI_ID=1234:11E8\n"
                                      "PCI_SUBSYS_ID=1AF4:1100\nPCI_SLOT_NAME=0000:00:04.0\n"
                                      "MODALIAS=pci:v00001234d000011E8sv00001AF4sd00001100bc00scFFi00\n", &d), 0);
        CHECK_EQ_STR(d.driver, "vfio-pci");
        CHECK_EQ_INT(d.vendor, 0x1234);
        CHECK_EQ_INT(d.device, 0x11e8);
        CHECK_EQ_INT(d.class_code, 0xff00);

        /* No driver bound; a bridge's six-digit class; no final newline. */
        CHECK_EQ_INT(parse_pci_uevent("PCI_CLASS=60400\nPCI_ID=1b36:0001", &d), 0);
        CHECK_EQ_STR(d.driver, "");
        CHECK_EQ_INT(d.class_code, 0x060400);
        CHECK_EQ_INT(d.vendor, 0x1b36);

        CHECK_EQ_INT(parse_pci_uevent("PCI_CLASS=FF00\n", &d), -EINVAL);                      /* no PCI_ID */
        CHECK_EQ_INT(parse_pci_uevent("PCI_ID=1234:11E8\n", &d), -EINVAL);                    /* no PCI_CLASS */
        CHECK_EQ_INT(parse_pci_uevent("", &d), -EINVAL);
        CHECK_EQ_INT(parse_pci_uevent("PCI_CLASS=FF00\nPCI_ID=12345:11E8\n", &d), -EINVAL);  /* > 0xffff */
        CHECK_EQ_INT(parse_pci_uevent("PCI_CLASS=1000000\nPCI_ID=1234:11E8\n", &d), -EINVAL); /* > 24 bits */
        CHECK_EQ_INT(parse_pci_uevent("PCI_CLASS=FF00 \nPCI_ID=1234:11E8\n", &d), -EINVAL);
        CHECK_EQ_INT(parse_pci_uevent("PCI_CLASS=\nPCI_ID=1234:11E8\n", &d), -EINVAL);
        CHECK_EQ_INT(parse_pci_uevent("PCI_CLASS=FF00\nPCI_ID=1234-11E8\n", &d), -EINVAL);
        CHECK_EQ_INT(parse_pci_uevent("PCI_CLASS=FF00\nPCI_ID=1234:\n", &d), -EINVAL);
        CHECK_EQ_INT(parse_pci_uevent("PCI_CLASS=000000000FF00\nPCI_ID=1234:11E8\n", &d), -EINVAL);
        CHECK_EQ_INT(parse_pci_uevent("DRIVER=\nPCI_CLASS=FF00\nPCI_ID=1234:11E8\n", &d), -EINVAL);
        CHECK_EQ_INT(parse_pci_uevent("DRIVER=../x\nPCI_CLASS=FF00\nPCI_ID=1234:11E8\n", &d), -EINVAL);
        CHECK_EQ_INT(parse_pci_uevent("DRIVER=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
                                      "PCI_CLASS=FF00\nPCI_ID=1234:11E8\n", &d), -EINVAL);  /* 68 > 63 */
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

static void test_reset_behind_bridge(void) {
        FakeSysfs f;
        PciDevice d;

        fake_sysfs_init(&f);
        /* Behind a bridge: a bus reset serves when the group owns the whole bus, or the device is alone on it. */
        fake_sysfs_add(&f, "0000:00:1c.0", "0x1b36", "0x000c", "0x060400", "pcieport", 17);
        fake_sysfs_add(&f, "0000:00:1c.0/0000:01:00.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 17);
        fake_sysfs_add(&f, "0000:00:1c.0/0000:01:00.1", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 17);
        fake_sysfs_add(&f, "0000:00:1d.0", "0x1b36", "0x000c", "0x060400", "pcieport", 18);
        fake_sysfs_add(&f, "0000:00:1d.0/0000:05:00.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 18);
        fake_sysfs_add(&f, "0000:00:1d.0/0000:05:00.1", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 19);
        fake_sysfs_add(&f, "0000:00:1e.0", "0x1b36", "0x000c", "0x060400", "pcieport", 20);
        fake_sysfs_add(&f, "0000:00:1e.0/0000:06:00.0", "0x1af4", "0x1044", "0x00ff00", "virtio-pci", 21);
        CHECK_EQ_INT(sysfs_read_device(f.root, "0000:01:00.0", &d), 0);
        CHECK_EQ_INT(d.reset, PCI_RESET_BUS); /* no function reset; its group is all of bus 01 */
        CHECK_EQ_INT(sysfs_read_device(f.root, "0000:05:00.0", &d), 0);
        CHECK_EQ_INT(d.reset, PCI_RESET_NONE); /* 05:00.1 is in another group: no hot reset for it */
        fake_sysfs_set(&f, "0000:06:00.0", "reset_method", "bus");
        CHECK_EQ_INT(sysfs_read_device(f.root, "0000:06:00.0", &d), 0);
        CHECK_EQ_INT(d.reset, PCI_RESET_FUNCTION); /* alone on its bus: "bus" resets it alone */
        fake_sysfs_done(&f);
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
        CHECK_EQ_INT(d.reset, PCI_RESET_NONE); /* no method, and a root bus: no bridge to reset it */
        CHECK(!d.noiommu);

        /* The kernel's methods, as reset_method lists them: any but "bus" resets the function alone. */
        {
                char path[PATH_MAX + 64];
                FILE *m;

                snprintf(path, sizeof(path), "%s/devices/pci0000:00/0000:02:02.0/reset_method", f.root);
                CHECK((m = fopen(path, "we")) && fputs("pm\n", m) >= 0 && fclose(m) == 0);
                CHECK_EQ_INT(sysfs_read_device(f.root, "0000:02:02.0", &d), 0);
                CHECK_EQ_INT(d.reset, PCI_RESET_FUNCTION);
                CHECK(d.resettable);
                CHECK((m = fopen(path, "we")) && fputs("bus\n", m) >= 0 && fclose(m) == 0);
                CHECK_EQ_INT(sysfs_read_device(f.root, "0000:02:02.0", &d), 0);
                CHECK_EQ_INT(d.reset, PCI_RESET_NONE); /* "bus" on the root bus is nothing */
        }

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
        RUN(test_parse_uevent);
        RUN(test_parse_links);
        RUN(test_tree);
        RUN(test_reset_behind_bridge);
        return 0;
}
