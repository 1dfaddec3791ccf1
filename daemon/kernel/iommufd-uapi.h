/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The kernel's iommufd and VFIO cdev interface (Linux 6.6: <linux/iommufd.h>
 * and the cdev part of <linux/vfio.h>), for building on hosts whose headers
 * are older (Debian 12's are 6.1).  Layouts and numbers as the kernel's uapi;
 * the kernel headers win where they have them.
 */

#include <linux/types.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>

#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#else
#define IOMMUFD_TYPE (';')
#define IOMMUFD_CMD_IOAS_ALLOC 0x81
#define IOMMUFD_CMD_IOAS_MAP 0x85
#define IOMMUFD_CMD_IOAS_UNMAP 0x86
#define IOMMUFD_CMD_OPTION 0x87

struct iommu_ioas_alloc {
        __u32 size;
        __u32 flags;
        __u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)

enum iommufd_ioas_map_flags {
        IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
        IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
        IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

struct iommu_ioas_map {
        __u32 size;
        __u32 flags;
        __u32 ioas_id;
        __u32 __reserved;
        __aligned_u64 user_va;
        __aligned_u64 length;
        __aligned_u64 iova;
};
#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)

struct iommu_ioas_unmap {
        __u32 size;
        __u32 ioas_id;
        __aligned_u64 iova;
        __aligned_u64 length;
};
#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)

enum iommufd_option {
        IOMMU_OPTION_RLIMIT_MODE = 0,
        IOMMU_OPTION_HUGE_PAGES = 1,
};

enum iommufd_option_ops {
        IOMMU_OPTION_OP_SET = 0,
        IOMMU_OPTION_OP_GET = 1,
};

struct iommu_option {
        __u32 size;
        __u32 option_id;
        __u16 op;
        __u16 __reserved;
        __u32 object_id;
        __aligned_u64 val64;
};
#define IOMMU_OPTION _IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION)
#endif

#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
        __u32 argsz;
        __u32 flags;
        __s32 iommufd;
        __u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)

struct vfio_device_attach_iommufd_pt {
        __u32 argsz;
        __u32 flags;
        __u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)

struct vfio_device_detach_iommufd_pt {
        __u32 argsz;
        __u32 flags;
};
#define VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)
#endif
