/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What sysfs says of PCI devices and IOMMU groups.  Every function takes the
 * sysfs root ("/sys" in production) so that tests can point it at a tree of
 * their own.  The parse_* helpers are pure functions of text.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bdf.h"

#define DRIVER_NAME_MAX 64

/* The reset the broker can give a device on release (the kernel's reset rules). */
typedef enum PciReset {
        PCI_RESET_NONE,
        PCI_RESET_FUNCTION,             /* VFIO_DEVICE_RESET: a reset of its own (flr, pm, ...), or its bus's alone */
        PCI_RESET_BUS,                  /* VFIO_DEVICE_PCI_HOT_RESET: its bus, every device on it in its group */
} PciReset;

typedef struct PciDevice {
        char bdf[BDF_STRLEN + 1];
        uint32_t vendor;
        uint32_t device;
        uint32_t class_code;
        int iommu_group;                /* -1: none */
        char driver[DRIVER_NAME_MAX];   /* "": no driver bound */
        bool resettable;                /* reset != PCI_RESET_NONE */
        PciReset reset;
        bool noiommu;                   /* a VFIO no-IOMMU group */
} PciDevice;

/*
 * A PCI device's uevent text ("DRIVER=vfio-pci", "PCI_CLASS=FF00",
 * "PCI_ID=1234:11E8", ... one per line) into @d's vendor, device, class_code
 * and driver ("" without a DRIVER line).  -EINVAL when PCI_ID or PCI_CLASS is
 * missing or any of the three is malformed.
 */
int parse_pci_uevent(const char *text, PciDevice *d);

/* The last path component of a link target as a group number ("../../7" -> 7). */
int parse_group_link(const char *target, int *ret);

/* The last path component of a link target, at most @size - 1 bytes. */
int parse_link_name(const char *target, char *buf, size_t size);

/* One device; -ENODEV when @bdf is not a PCI device. */
int sysfs_read_device(const char *root, const char *bdf, PciDevice *ret);

/* Every PCI device, sorted by address.  Free *ret with free(). */
int sysfs_list_devices(const char *root, PciDevice **ret, size_t *ret_n);

/* The addresses of every device in IOMMU group @group, sorted. Free with free(). */
int sysfs_group_members(const char *root, int group, char (**ret)[BDF_STRLEN + 1], size_t *ret_n);

/* The vfio_iommu_type1 module parameter allow_unsafe_interrupts is set. */
bool sysfs_unsafe_interrupts_allowed(const char *root);

/* The kernel remaps interrupts ("IR-" chips in /proc/interrupts). */
bool host_interrupt_remapping(void);

bool pci_is_bridge(const PciDevice *d);
bool pci_driver_is_vfio(const PciDevice *d);
/* Bound to a driver the kernel accepts beside vfio-pci in a group it hands out (or to none). */
bool pci_driver_allowed_in_group(const PciDevice *d);

/* "function", "bus" or "none". */
const char *pci_reset_name(PciReset r);
