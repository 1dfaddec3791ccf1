/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The kernel's side of a lease, behind one table of operations chosen once
 * at start (libvfio-user's struct transport_ops is the model):
 *
 *   legacy   the VFIO container/group API (backend-legacy.c, over vfio.c);
 *   iommufd  /dev/iommu and the VFIO device cdevs (backend-iommufd.c);
 *   fake     no kernel at all (backend-fake.c): every fd is an eventfd that
 *            says what it stands for; for unit tests, fuzzers and benchmarks
 *            of the broker's own work.
 *
 * The broker starts with legacy or fake; a lease asks for a mode, and
 * kernel_backend_for_mode() says which backend serves it (fake serves all).
 * The model holds a KernelDomain per lease (where the client's DMA mappings
 * live: a container, or an iommufd context) and a KernelGroup per IOMMU
 * group it has taken, and never sees what they are made of.  Expected outcomes of the
 * kernel are positive KERNEL_E_* codes; -errno is a failure.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Interrupt types, numbered as VFIO's PCI IRQ indices (checked in backend-legacy.c). */
typedef enum IrqType {
        IRQ_INTX,
        IRQ_MSI,
        IRQ_MSIX,
        IRQ_ERR,
        IRQ_REQ,
        _IRQ_TYPE_MAX,
} IrqType;

typedef enum KernelCode {
        KERNEL_E_HELD_OUTSIDE = 1,      /* the group is open outside the broker */
        KERNEL_E_NOT_VIABLE,            /* the kernel reports the group not viable */
        KERNEL_E_STILL_HELD,            /* a device fd of the group is still open somewhere */
} KernelCode;

/* What an fd of ours is, as an FD store hands fds back in no order. */
typedef enum KernelFdKind {
        KERNEL_FD_OTHER,
        KERNEL_FD_DOMAIN,               /* a lease's domain (a container, or /dev/iommu) */
        KERNEL_FD_GROUP,                /* an IOMMU group, or a cdev of one of its devices; its number beside it */
} KernelFdKind;

/* What a lease's fds are made of. */
typedef enum KernelMode {
        KERNEL_MODE_LEGACY,             /* a container, device fds from the group */
        KERNEL_MODE_IOMMUFD,            /* /dev/iommu with an IOAS, cdevs bound and attached to it */
        KERNEL_MODE_VMM,                /* /dev/iommu, cdevs unbound: the VMM binds and maps them itself */
        _KERNEL_MODE_MAX,
} KernelMode;

/* At most this many devices of one group have a cdev (larger groups are refused). */
#define KERNEL_MAX_GROUP_FDS 32

#define KERNEL_MAX_REGIONS 64
#define KERNEL_MAX_IRQS 64

typedef struct KernelRegion {
        uint32_t index;
        uint32_t flags;
        uint64_t size;
        uint64_t offset;
} KernelRegion;

typedef struct KernelIrq {
        uint32_t index;
        uint32_t flags;
        uint32_t count;
} KernelIrq;

/* What the kernel says of a device: its flags, regions and interrupts. */
typedef struct KernelDeviceInfo {
        uint32_t flags;
        size_t n_regions;
        KernelRegion regions[KERNEL_MAX_REGIONS];
        size_t n_irqs;
        KernelIrq irqs[KERNEL_MAX_IRQS];
} KernelDeviceInfo;

typedef struct KernelBackend KernelBackend;
typedef struct KernelDomain KernelDomain;
typedef struct KernelGroup KernelGroup;

extern const KernelBackend kernel_backend_legacy;
extern const KernelBackend kernel_backend_iommufd;
extern const KernelBackend kernel_backend_fake;

/* "legacy" or "fake" (what a broker starts with); -EINVAL for anything else. */
int kernel_backend_from_string(const char *name, const KernelBackend **ret);
const char *kernel_backend_name(const KernelBackend *b);
/* The backend that serves @mode for a broker started with @base. */
const KernelBackend *kernel_backend_for_mode(const KernelBackend *base, KernelMode mode);
/*
 * 0 when this kernel can give @bdf in @mode; -EOPNOTSUPP with @why naming
 * what it lacks (/dev/iommu, the device's cdev) otherwise.
 */
int kernel_mode_check(const KernelBackend *b, KernelMode mode, const char *bdf, char *why, size_t size);
/* "legacy", "iommufd", "vmm". */
const char *kernel_mode_name(KernelMode mode);

/* A new, empty domain for @mode. */
int kernel_domain_new(const KernelBackend *b, KernelMode mode, KernelDomain **ret);
/* A domain from before a restart (@fd taken, also on failure); @ioas as kernel_domain_ioas() said. */
int kernel_domain_adopt(const KernelBackend *b, KernelMode mode, int fd, uint32_t ioas, KernelDomain **ret);
/*
 * A second handle on @d's domain (its fd duplicated): groups attached through
 * it join the same container or IOAS, which lives while either handle is
 * open.  For an acquire off the loop that grows a lease the loop may end.
 */
int kernel_domain_dup(const KernelDomain *d, KernelDomain **ret);
KernelDomain *kernel_domain_free(KernelDomain *d);
/* The fd a client gets to map its DMA on (a container, or /dev/iommu); the FD store keeps it too. */
int kernel_domain_fd(const KernelDomain *d);
KernelMode kernel_domain_mode(const KernelDomain *d);
/* Driver mode: the IOAS the devices are attached to, where the client maps; 0 otherwise. */
uint32_t kernel_domain_ioas(const KernelDomain *d);

/* Take group @number, in no domain yet; KERNEL_E_HELD_OUTSIDE while it is open elsewhere. */
int kernel_group_open(const KernelBackend *b, int number, KernelGroup **ret);
/*
 * A group from before a restart, from the fds kernel_group_fds() gave (taken,
 * also on failure), attached to @d (NULL: to nothing we hold).
 */
int kernel_group_adopt(const KernelBackend *b, int number, const int *fds, size_t n, KernelDomain *d,
                       KernelGroup **ret);
KernelGroup *kernel_group_free(KernelGroup *g);
/* The fds that keep the group across a restart (at most KERNEL_MAX_GROUP_FDS; none for an iommufd group out of its domain). */
size_t kernel_group_fds(const KernelGroup *g, int *fds, size_t max);
/*
 * The first device of @g whose VFIO cdev is gone (an unbind or removal has
 * begun: the kernel deletes the cdev before it waits for the fds), or NULL.
 * Groups on a kernel without cdevs always answer NULL.
 */
const char *kernel_group_departing(const KernelGroup *g);
/* The mode to take the group in again (to reset it, or adopt it in quarantine): legacy or iommufd. */
KernelMode kernel_group_mode(const KernelGroup *g);
/* A fresh domain of the group's own backend in which its devices can be opened (to reset them). */
int kernel_group_domain_new(const KernelGroup *g, KernelDomain **ret);

/*
 * The attach sequence, the one place it is written: the kernel's viability
 * (KERNEL_E_NOT_VIABLE), the group into @d, and for a domain's first group
 * its IOMMU type.  On failure the group is in no domain.
 */
int kernel_group_attach(KernelGroup *g, KernelDomain *d);
/* Open group @number and attach it to @d; on any failure nothing is held. */
int kernel_group_take(const KernelBackend *b, KernelDomain *d, int number, KernelGroup **ret);
/*
 * Out of its domain: 0, or KERNEL_E_STILL_HELD while a device fd of the
 * group is open anywhere (iommufd: a cdev of it is bound by any file, as a
 * fresh open and bind finds out); call again later.  The group counts as out
 * of its domain from the first call on.
 */
int kernel_group_detach(KernelGroup *g);
/*
 * The bookkeeping part of a detach alone: the group counts as out of its
 * domain, which may then be freed.  On the loop, before a detach runs
 * anywhere else.
 */
void kernel_group_leave_domain(KernelGroup *g);
/* @g, attached through another handle on @to's domain (kernel_domain_dup()), counts as @to's now. */
void kernel_group_move_domain(KernelGroup *g, KernelDomain *to);

/*
 * Before a detach: close the group's own files of its devices (iommufd's
 * cdevs).  1 when it had some: copies of those files elsewhere (an FD
 * store's) keep them bound, and must go before kernel_group_detach() asks.
 */
int kernel_group_let_go(KernelGroup *g);
/* The broker's own fd of device @bdf of the group (close-on-exec; iommufd: its cdev, shared with the group). */
int kernel_device_open(KernelGroup *g, const char *bdf, int *ret_fd);
int kernel_device_describe(const KernelBackend *b, int fd, KernelDeviceInfo *ret);
/* How many vectors of @type the device offers. */
int kernel_device_irq_count(const KernelBackend *b, int fd, IrqType type, uint32_t *ret);
/* @n fresh eventfds (close-on-exec, non-blocking) into @fds; on failure none stays open. */
int kernel_make_eventfds(int *fds, uint32_t n);
/*
 * Route vectors 0..@count-1 of @type to @fds (the caller's still); for INTx
 * also a fresh unmask eventfd (into *ret_unmask, else -EBADF).  On failure
 * nothing stays routed.
 */
int kernel_device_route_irq(const KernelBackend *b, int fd, IrqType type, const int *fds, uint32_t count,
                            int *ret_unmask);
int kernel_device_disable_irq(const KernelBackend *b, int fd, IrqType type);
/* 1 when the device offers a function reset of its own, 0 if not. */
int kernel_device_can_reset(const KernelBackend *b, int fd);
int kernel_device_reset(const KernelBackend *b, int fd);
/* The hot reset of the bus of device @fd, every device of it owned through @g (VFIO_DEVICE_PCI_HOT_RESET). */
int kernel_device_hot_reset(KernelGroup *g, int fd);

KernelFdKind kernel_fd_kind(const KernelBackend *b, int fd, int *ret_group);
