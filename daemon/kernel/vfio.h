/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The kernel's legacy VFIO container/group API, one call per ioctl, each
 * returning 0 (or a count) or -errno.  Nothing here keeps state: the broker
 * decides what to open and when to let go.
 */

#include <linux/vfio.h>
#include <stdint.h>

/* Open /dev/vfio/vfio and check the API version and the type1v2 extension. */
int vfio_container_open(int *ret_fd);

/* VFIO_SET_IOMMU(TYPE1v2): only after the first group joined the container. */
int vfio_container_set_iommu(int container_fd);

/* What an fd of ours is, told by its device: an FD store gives fds back in no order. */
typedef enum VfioFdKind {
        VFIO_FD_OTHER,
        VFIO_FD_CONTAINER,      /* /dev/vfio/vfio */
        VFIO_FD_GROUP,          /* /dev/vfio/N; N in *ret_group */
        VFIO_FD_IOMMUFD,        /* /dev/iommu */
        VFIO_FD_CDEV,           /* /dev/vfio/devices/vfioN; its device's group in *ret_group */
} VfioFdKind;

VfioFdKind vfio_fd_kind(int fd, int *ret_group);

/* Open /dev/vfio/@group (-EBUSY while anyone else has it open). */
int vfio_group_open(int group, int *ret_fd);

/* 1 when every device of the group is bound to a VFIO driver or to none. */
int vfio_group_viable(int group_fd);

int vfio_group_set_container(int group_fd, int container_fd);

/* -EBUSY while any device fd of the group is open anywhere. */
int vfio_group_unset_container(int group_fd);

int vfio_group_get_device(int group_fd, const char *bdf, int *ret_fd);

int vfio_device_get_info(int device_fd, struct vfio_device_info *ret);
int vfio_device_get_region_info(int device_fd, uint32_t index, struct vfio_region_info *ret);
int vfio_device_get_irq_info(int device_fd, uint32_t index, struct vfio_irq_info *ret);

/* Route vectors 0..@count-1 of IRQ @index to @fds for @action (TRIGGER or UNMASK). */
int vfio_device_set_irq_eventfds(int device_fd, uint32_t index, uint32_t action, const int *fds, uint32_t count);

/* Tear down every vector of IRQ @index. */
int vfio_device_disable_irq(int device_fd, uint32_t index);

int vfio_device_reset(int device_fd);

/*
 * VFIO_DEVICE_PCI_HOT_RESET: a reset of the bus (or slot) of the device,
 * proving ownership of every device it affects with @group_fds (legacy), or
 * with none for a cdev bound to an iommufd (the kernel checks the iommufd).
 */
int vfio_device_hot_reset(int device_fd, const int *group_fds, uint32_t n);
