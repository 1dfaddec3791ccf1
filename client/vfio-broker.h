/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: libvfio-broker
 *
 * The client side of vfio-brokerd.  Connect to the broker's socket, say
 * hello, then list devices, acquire them (receiving the VFIO container fd,
 * device fds and interrupt eventfds the broker set up), ask for device
 * information and release leases.
 *
 * Every call returns 0 (or a count) on success and a negative errno on
 * failure.  When the broker refused a request, vfio_broker_error_message()
 * returns its explanation until the next call on the same handle.  A
 * handle is not thread-safe; use one per thread.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VFIO_BROKER_DEFAULT_SOCKET "/run/vfio-broker/broker.sock"

typedef struct vfio_broker vfio_broker;
typedef struct vfio_broker_lease vfio_broker_lease;

enum vfio_broker_irq_type {
        VFIO_BROKER_IRQ_INTX = 1,
        VFIO_BROKER_IRQ_MSI = 2,
        VFIO_BROKER_IRQ_MSIX = 3,
        VFIO_BROKER_IRQ_ERR = 4,
        VFIO_BROKER_IRQ_REQ = 5,
};

enum vfio_broker_fd_kind {
        VFIO_BROKER_FD_CONTAINER = 1,   /* the lease's VFIO container, IOMMU type set */
        VFIO_BROKER_FD_DEVICE = 2,      /* a VFIO device fd */
        VFIO_BROKER_FD_IRQ = 3,         /* an eventfd the device signals */
        VFIO_BROKER_FD_UNMASK = 4,      /* INTx: write 1 to unmask the line */
        VFIO_BROKER_FD_IOMMUFD = 5,     /* the lease's /dev/iommu (RLIMIT_MODE=1); device fds are then VFIO cdevs */
};

/**
 * enum vfio_broker_backend - what a lease's fds are made of
 * @VFIO_BROKER_BACKEND_LEGACY: a VFIO container (IOMMU type set) and device
 *      fds from the group; the broker sets up the interrupts asked for
 * @VFIO_BROKER_BACKEND_IOMMUFD: driver mode: an iommufd with an IOAS
 *      (vfio_broker_lease_ioas()) and cdevs bound and attached to it; map DMA
 *      with IOMMU_IOAS_MAP; the broker sets up the interrupts asked for
 * @VFIO_BROKER_BACKEND_VMM: an iommufd and unbound cdevs, no interrupts: for
 *      a VMM (QEMU's -object iommufd,fd= and -device vfio-pci,fd=) that binds,
 *      attaches and maps itself
 */
enum vfio_broker_backend {
        VFIO_BROKER_BACKEND_LEGACY = 0,
        VFIO_BROKER_BACKEND_IOMMUFD = 1,
        VFIO_BROKER_BACKEND_VMM = 2,
};

enum vfio_broker_device_state {
        VFIO_BROKER_DEVICE_FREE = 1,
        VFIO_BROKER_DEVICE_LEASED = 2,
        VFIO_BROKER_DEVICE_QUARANTINED = 3,
        VFIO_BROKER_DEVICE_UNAVAILABLE = 4,
        VFIO_BROKER_DEVICE_RESETTING = 5,       /* its lease ended; the broker is resetting it */
        VFIO_BROKER_DEVICE_RECALLED = 6,        /* leased, and the broker wants it back (since 0.3) */
};

/* What an event says (vfio_broker_next_event()). */
enum vfio_broker_event_kind {
        VFIO_BROKER_EVENT_RECALLED = 1,         /* release the lease within grace_ms */
        VFIO_BROKER_EVENT_LEASE_ENDED = 2,      /* the broker ended the lease */
};

/**
 * struct vfio_broker_event - something the broker says unasked
 * @kind: VFIO_BROKER_EVENT_RECALLED: an administrator (release-lease) or the
 *        kernel (an unbind or hot-unplug of a device of the lease) wants it
 *        back: close its fds and vfio_broker_release() it within @grace_ms,
 *        after which the broker escalates as its policy says (by default
 *        SIGTERM, then SIGKILL two seconds later, to every process of the
 *        lease's uid that holds one of its files).
 *        VFIO_BROKER_EVENT_LEASE_ENDED: the broker ended the lease; its fds
 *        are no longer anyone's lease (the groups wait in quarantine for them).
 * @lease_id: the lease
 * @grace_ms: RECALLED: the time left to release it
 * @reason: who asked and why, for a person
 */
struct vfio_broker_event {
        enum vfio_broker_event_kind kind;
        uint64_t lease_id;
        uint32_t grace_ms;
        char reason[256];
};

/**
 * struct vfio_broker_device - a PCI device as the broker sees it
 * @bdf: PCI address, "0000:00:03.0"
 * @vendor: PCI vendor id
 * @device: PCI device id
 * @class_code: 24-bit PCI class
 * @iommu_group: IOMMU group number, -1 when none
 * @driver: bound driver, "" when none
 * @state: free, leased, quarantined or unavailable
 * @resettable: the broker resets it on release (@reset is not "none")
 * @noiommu: its group is a VFIO no-IOMMU group
 * @lease_id: leased or quarantined: the lease
 * @holder_uid: leased or quarantined: the uid of that lease
 * @reason: unavailable: why, in words
 * @allowed: the broker's policy lets this caller lease it
 * @grant: when allowed, the name of the grant that does
 * @reset: the reset the broker gives it on release: "function"
 *         (VFIO_DEVICE_RESET), "bus" (a hot reset of its bus, every device
 *         on which is in its group) or "none" (since soname 1)
 */
struct vfio_broker_device {
        char bdf[13];
        uint16_t vendor;
        uint16_t device;
        uint32_t class_code;
        int iommu_group;
        char driver[64];
        enum vfio_broker_device_state state;
        bool resettable;
        bool noiommu;
        uint64_t lease_id;
        uint32_t holder_uid;
        char reason[256];
        bool allowed;
        char grant[65];
        char reset[16];
};

/**
 * struct vfio_broker_irq_request - interrupts wanted for one device
 * @type: which interrupt
 * @count: vectors, from 0 (MSI and MSI-X); 0 means 1.  INTx, err and req have one.
 */
struct vfio_broker_irq_request {
        enum vfio_broker_irq_type type;
        unsigned count;
};

/**
 * struct vfio_broker_device_request - one device to acquire
 * @bdf: its PCI address
 * @irqs: the interrupts to route to eventfds (at most one of INTx, MSI, MSI-X)
 * @n_irqs: entries in @irqs
 */
struct vfio_broker_device_request {
        const char *bdf;
        const struct vfio_broker_irq_request *irqs;
        size_t n_irqs;
};

/**
 * struct vfio_broker_fd - one fd of a lease and what it is
 * @fd: the fd (owned by the lease object)
 * @kind: container, device, irq eventfd or INTx unmask eventfd
 * @bdf: the device it belongs to ("" for the container)
 * @irq_type: for irq and unmask fds
 * @vector: for irq fds
 */
struct vfio_broker_fd {
        int fd;
        enum vfio_broker_fd_kind kind;
        char bdf[13];
        enum vfio_broker_irq_type irq_type;
        unsigned vector;
};

struct vfio_broker_region {
        uint32_t index;
        uint32_t flags;
        uint64_t size;
        uint64_t offset;
};

struct vfio_broker_irq_info {
        uint32_t index;
        uint32_t flags;
        uint32_t count;
};

/**
 * struct vfio_broker_device_info - what VFIO reports of a device
 * @device: the broker's view of it
 * @flags: VFIO_DEVICE_FLAGS_*; 0 with no regions and irqs when the broker
 *         could not open the device (leased by someone else, or not viable)
 * @regions: VFIO_DEVICE_GET_REGION_INFO for each region
 * @n_regions: entries in @regions
 * @irqs: VFIO_DEVICE_GET_IRQ_INFO for each IRQ index
 * @n_irqs: entries in @irqs
 */
struct vfio_broker_device_info {
        struct vfio_broker_device device;
        uint32_t flags;
        struct vfio_broker_region *regions;
        size_t n_regions;
        struct vfio_broker_irq_info *irqs;
        size_t n_irqs;
};

/**
 * vfio_broker_connect() - connect to the broker
 * @path: the socket; NULL means $VFIO_BROKER_SOCKET, or else
 *        VFIO_BROKER_DEFAULT_SOCKET
 * @ret: the new handle
 *
 * Return: 0, or -errno from socket() or connect().
 */
int vfio_broker_connect(const char *path, vfio_broker **ret);

/**
 * vfio_broker_disconnect() - close the connection and free the handle
 * @b: the handle, or NULL
 *
 * The broker releases every lease of the connection; fds already received
 * stay open in this process until closed (lease objects close theirs).
 *
 * Return: NULL.
 */
vfio_broker *vfio_broker_disconnect(vfio_broker *b);

/**
 * vfio_broker_hello() - the first exchange on a connection
 * @b: the handle
 * @client_name: a name for the broker's logs, at most 64 printable bytes
 *
 * Return: 0; -EPROTONOSUPPORT if the broker does not speak this protocol version.
 */
int vfio_broker_hello(vfio_broker *b, const char *client_name);

/**
 * vfio_broker_error_message() - the broker's explanation of the last failure
 * @b: the handle
 *
 * Return: the message, or "" when the last call did not fail in the broker.
 */
const char *vfio_broker_error_message(const vfio_broker *b);

/**
 * vfio_broker_list_devices() - the devices the broker can hand out, and why not
 * @b: the handle
 * @ret: an array to free() with free()
 * @ret_n: its length
 *
 * Return: 0 or -errno.
 */
int vfio_broker_list_devices(vfio_broker *b, struct vfio_broker_device **ret, size_t *ret_n);

/**
 * vfio_broker_acquire() - lease devices and receive their fds
 * @b: the handle
 * @lease_id: 0 for a new lease, or a lease of this connection to add to
 * @devices: what to acquire
 * @n_devices: entries in @devices (1 to 16)
 * @ret: the lease, holding the container fd, one device fd per device and
 *       the interrupt eventfds; free with vfio_broker_lease_free()
 *
 * The whole IOMMU group of each device joins the lease; its other devices
 * can be acquired into the same lease later.
 *
 * Return: 0; -EBUSY (held by another lease, or quarantined), -EACCES
 * (denied), -ENODEV (no such device), -ENXIO (not bound to vfio-pci), -EPERM
 * (group not viable, no IOMMU, no interrupt remapping), -ENOTSUP (no such
 * interrupt), -EINVAL, or another -errno.
 */
int vfio_broker_acquire(vfio_broker *b, uint64_t lease_id, const struct vfio_broker_device_request *devices,
                        size_t n_devices, vfio_broker_lease **ret);

/**
 * vfio_broker_acquire_backend() - vfio_broker_acquire(), with the fds made by @backend
 * @b: the handle
 * @lease_id: 0 for a new lease, or a lease of this connection (of the same backend)
 * @backend: legacy, iommufd (driver mode) or vmm; vmm takes no interrupt requests
 * @devices: what to acquire
 * @n_devices: entries in @devices (1 to 16)
 * @ret: the lease; free with vfio_broker_lease_free()
 *
 * Return: as vfio_broker_acquire(); also -EOPNOTSUPP when the kernel lacks
 * iommufd or the device's cdev (the message says which).
 */
int vfio_broker_acquire_backend(vfio_broker *b, uint64_t lease_id, enum vfio_broker_backend backend,
                                const struct vfio_broker_device_request *devices, size_t n_devices,
                                vfio_broker_lease **ret);

/**
 * vfio_broker_lease_backend() - what the lease's fds are made of
 * @l: the lease
 *
 * Return: its backend.
 */
enum vfio_broker_backend vfio_broker_lease_backend(const vfio_broker_lease *l);

/**
 * vfio_broker_lease_ioas() - where an iommufd lease in driver mode maps its DMA
 * @l: the lease
 *
 * Return: the IOAS id the cdevs are attached to, 0 for other backends.
 */
uint32_t vfio_broker_lease_ioas(const vfio_broker_lease *l);

/**
 * vfio_broker_fetch_lease() - the fds of a lease this connection holds, again
 * @b: the handle
 * @lease_id: a lease of this connection
 * @ret: a new lease object holding new fds for the same files: the container,
 *       each device, each interrupt eventfd; free with vfio_broker_lease_free()
 *
 * For a process that handed a lease's fds on (to a VMM it restarts, say) and
 * needs them once more.  The lease itself is unchanged.
 *
 * Return: 0, -ENOENT for an unknown lease, -EDQUOT when too many fds sent
 * earlier are still unread, or another -errno.
 */
int vfio_broker_fetch_lease(vfio_broker *b, uint64_t lease_id, vfio_broker_lease **ret);

/**
 * vfio_broker_lease_id() - the broker's id of a lease
 * @l: the lease
 *
 * Return: the id.
 */
uint64_t vfio_broker_lease_id(const vfio_broker_lease *l);

/**
 * vfio_broker_lease_fds() - every fd a lease holds, in the order received
 * @l: the lease
 * @ret: the array, owned by @l
 *
 * Return: the number of fds.
 */
size_t vfio_broker_lease_fds(const vfio_broker_lease *l, const struct vfio_broker_fd **ret);

/**
 * vfio_broker_lease_find_fd() - one fd of a lease by its role
 * @l: the lease
 * @kind: what to look for
 * @bdf: the device (ignored for the container and the iommufd)
 * @irq_type: for irq and unmask fds
 * @vector: for irq fds
 *
 * Return: the fd (owned by @l), or -ENOENT.
 */
int vfio_broker_lease_find_fd(const vfio_broker_lease *l, enum vfio_broker_fd_kind kind, const char *bdf,
                              enum vfio_broker_irq_type irq_type, unsigned vector);

/**
 * vfio_broker_lease_free() - close a lease's fds and free it
 * @l: the lease, or NULL
 *
 * This does not release the lease in the broker: see vfio_broker_release().
 *
 * Return: NULL.
 */
vfio_broker_lease *vfio_broker_lease_free(vfio_broker_lease *l);

/**
 * vfio_broker_release() - give a lease back
 * @b: the handle
 * @lease_id: a lease of this connection
 *
 * Close the lease's fds first (vfio_broker_lease_free()): while a device fd
 * is open anywhere the broker cannot detach the group and quarantines it.
 *
 * Return: 0 when the groups are free again, 1 when the broker had to
 * quarantine them, -ENOENT for an unknown lease, or -errno.
 */
int vfio_broker_release(vfio_broker *b, uint64_t lease_id);

/**
 * vfio_broker_fd() - the connection's socket, to poll for events
 * @b: the handle
 *
 * Readable (POLLIN) when the broker sent something unasked; then call
 * vfio_broker_next_event().  Do not read or write it otherwise.  Events that
 * arrive while a call waits for its reply are kept in the handle, so also
 * call vfio_broker_next_event() after each call before polling again.
 *
 * Return: the fd, or -EINVAL.
 */
int vfio_broker_fd(const vfio_broker *b);

/**
 * vfio_broker_next_event() - the next event the broker sent, without waiting
 * @b: the handle
 * @ret: the event
 *
 * Events come after vfio_broker_hello() (which asks for them); the handle
 * keeps the last 32 that arrived during calls.
 *
 * Return: 1 with *@ret set; 0 when there is none now; -ECONNRESET when the
 * broker hung up (or its error, with vfio_broker_error_message()); -EBADMSG
 * for a packet that is not a well-formed event.
 */
int vfio_broker_next_event(vfio_broker *b, struct vfio_broker_event *ret);

/**
 * vfio_broker_device_info() - regions and interrupts as VFIO reports them
 * @b: the handle
 * @bdf: the device
 * @ret: the information; free with vfio_broker_device_info_free()
 *
 * Return: 0 or -errno.
 */
int vfio_broker_device_info(vfio_broker *b, const char *bdf, struct vfio_broker_device_info **ret);

/**
 * vfio_broker_device_info_free() - free what vfio_broker_device_info() returned
 * @info: the information, or NULL
 */
void vfio_broker_device_info_free(struct vfio_broker_device_info *info);

#ifdef __cplusplus
}
#endif
