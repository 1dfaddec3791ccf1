/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/bdf.h"
#include "common/util.h"
#include "client/vfio-broker.h"
#include "proto/vfio-broker.pb-c.h"
#include "proto/wire.h"

/*
 * Where a reply is decoded: the part of the handle's buffer after the packet
 * itself, with malloc() for what does not fit.  A reply lives until the call
 * that asked for it returns.
 */
typedef struct Arena {
        uint8_t *base;
        size_t size, used;
} Arena;

/* Events that came while a call waited for its reply, for vfio_broker_next_event(); the oldest go first when full. */
#define EVENT_QUEUE 32

struct vfio_broker {
        int fd;
        uint64_t next_id;
        uint64_t last_ping;             /* the id of the last Ping sent (after a restart notice), 0 if none */
        struct vfio_broker_event events[EVENT_QUEUE];
        size_t first_event, n_events;
        char error[512];
        uint8_t *buf;                   /* for replies, VFIO_BROKER_MAX_MESSAGE bytes, from the first call on */
        Arena arena;
        ProtobufCAllocator allocator;
};

struct vfio_broker_lease {
        uint64_t id;
        enum vfio_broker_backend backend;
        uint32_t ioas;
        struct vfio_broker_fd *fds;
        size_t n_fds;
};

typedef Vfiobroker__Reply Reply;

int vfio_broker_connect(const char *path, vfio_broker **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        vfio_broker *b;

        if (!ret)
                return -EINVAL;
        if (!path)
                path = getenv("VFIO_BROKER_SOCKET");
        if (!path || !*path)
                path = VFIO_BROKER_DEFAULT_SOCKET;
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->fd = TAKE_FD(fd);
        *ret = b;
        return 0;
}

vfio_broker *vfio_broker_disconnect(vfio_broker *b) {
        if (!b)
                return NULL;
        safe_close(b->fd);
        free(b->buf);
        free(b);
        return NULL;
}

const char *vfio_broker_error_message(const vfio_broker *b) {
        return b ? b->error : "";
}

static void *arena_alloc(void *data, size_t size) {
        Arena *a = data;
        size_t rounded = size ? (size + 15) & ~(size_t) 15 : 16;
        void *p;

        if (rounded > a->size - a->used)
                return malloc(size);
        p = a->base + a->used;
        a->used += rounded;
        return p;
}

static void arena_free(void *data, void *p) {
        Arena *a = data;

        if ((uint8_t *) p >= a->base && (uint8_t *) p < a->base + a->size)
                return; /* the arena goes whole, at the next decode */
        free(p);
}

/* Decode the @n bytes at the start of the handle's buffer into its arena. */
static Reply *decode(vfio_broker *b, size_t n) {
        size_t start = (n + 15) & ~(size_t) 15;

        b->arena = (Arena) { .base = b->buf + start, .size = VFIO_BROKER_MAX_MESSAGE - start };
        b->allocator = (ProtobufCAllocator) { .alloc = arena_alloc, .free = arena_free, .allocator_data = &b->arena };
        return vfiobroker__reply__unpack(&b->allocator, n, b->buf);
}

static void reply_free(vfio_broker *b, Reply *reply) {
        vfiobroker__reply__free_unpacked(reply, &b->allocator);
}

/* The handle's buffer for replies; kept from call to call (a fresh 64 KiB each time costs the heap a trim and a grow). */
static uint8_t *recv_buffer(vfio_broker *b) {
        if (!b->buf)
                b->buf = malloc(VFIO_BROKER_MAX_MESSAGE);
        return b->buf;
}

/* An error the broker sent on its own (id 0) before closing: -errno, or 0 if none. */
static int pending_error(vfio_broker *b) {
        uint8_t *buf = recv_buffer(b);
        int fds[VFIO_BROKER_MAX_FDS];
        Vfiobroker__Reply *reply;
        size_t n_fds = 0;
        ssize_t n;
        int e = 0;

        struct pollfd p = { .fd = b->fd, .events = POLLIN };

        if (!buf || poll(&p, 1, 0) <= 0)
                return 0;
        n = wire_recv(b->fd, buf, VFIO_BROKER_MAX_MESSAGE, fds, VFIO_BROKER_MAX_FDS, &n_fds);
        if (n <= 0)
                return 0;
        close_many(fds, n_fds);
        reply = decode(b, (size_t) n);
        if (reply && reply->error && reply->id == 0) {
                string_copy(b->error, sizeof(b->error), reply->error->message);
                e = reply->error->errno_value > 0 && reply->error->errno_value < 4096 ? -reply->error->errno_value : -EIO;
        }
        if (reply)
                reply_free(b, reply);
        return e;
}

/* @reply as an event into *@ret: 0, or -EBADMSG if it is not a well-formed one. */
static int event_from_reply(const Reply *reply, size_t n_fds, struct vfio_broker_event *ret) {
        const Vfiobroker__LeaseEvent *e = reply->lease_event;

        if (reply->id != 0 || reply->error || reply->result_case != VFIOBROKER__REPLY__RESULT_LEASE_EVENT || n_fds != 0 ||
            reply->n_fds != 0 || e->lease_id == 0 || strlen(e->reason) >= sizeof(ret->reason) ||
            (e->kind != VFIOBROKER__LEASE_EVENT_KIND__LEASE_RECALLED && e->kind != VFIOBROKER__LEASE_EVENT_KIND__LEASE_ENDED))
                return -EBADMSG;
        *ret = (struct vfio_broker_event) {
                .kind = e->kind == VFIOBROKER__LEASE_EVENT_KIND__LEASE_RECALLED ? VFIO_BROKER_EVENT_RECALLED
                                                                                : VFIO_BROKER_EVENT_LEASE_ENDED,
                .lease_id = e->lease_id,
                .grace_ms = e->kind == VFIOBROKER__LEASE_EVENT_KIND__LEASE_RECALLED ? e->grace_ms : 0,
        };
        string_copy(ret->reason, sizeof(ret->reason), e->reason);
        return 0;
}

static bool is_event(const Reply *reply) {
        return reply->id == 0 && !reply->error && reply->result_case == VFIOBROKER__REPLY__RESULT_LEASE_EVENT;
}

/* A broker that adopted the connection after a restart says so (HelloRequest.restart_notice). */
static bool is_restart_notice(const Reply *reply, size_t n_fds) {
        return reply->id == 0 && !reply->error && reply->result_case == VFIOBROKER__REPLY__RESULT_RESTARTED && n_fds == 0;
}

/* The reply to a Ping this handle sent before the request @before (0: before the next one). */
static bool is_ping_before(const vfio_broker *b, const Reply *reply, size_t n_fds, uint64_t before) {
        return reply->result_case == VFIOBROKER__REPLY__RESULT_PING && !reply->error && n_fds == 0 && reply->id > 0 &&
               reply->id <= b->last_ping && (before == 0 || reply->id < before);
}

/* A Ping: its reply comes after those of every request sent before it. */
static int send_ping(vfio_broker *b) {
        Vfiobroker__Request req = VFIOBROKER__REQUEST__INIT;
        Vfiobroker__PingRequest ping = VFIOBROKER__PING_REQUEST__INIT;
        int r;

        req.id = ++b->next_id;
        req.op_case = VFIOBROKER__REQUEST__OP_PING;
        req.ping = &ping;
        r = wire_send_message(b->fd, &req.base, NULL, 0);
        if (r >= 0)
                b->last_ping = req.id;
        return r;
}

static void queue_event(vfio_broker *b, const struct vfio_broker_event *e) {
        if (b->n_events == EVENT_QUEUE) {
                b->first_event = (b->first_event + 1) % EVENT_QUEUE;
                b->n_events--;
        }
        b->events[(b->first_event + b->n_events++) % EVENT_QUEUE] = *e;
}

/*
 * Send @req, wait for its reply, which must carry the result @want.  On
 * success *ret holds the reply and @fds the fds that came with it, one per
 * role listed.  A broker error becomes -errno with the message kept for
 * vfio_broker_error_message().  A broker that restarted says so first: a
 * Ping then tells whether it still answers @req (its reply comes before the
 * Ping's) or never will (the old broker had read it: -ECONNABORTED).
 */
static int call(vfio_broker *b, Vfiobroker__Request *req, Vfiobroker__Reply__ResultCase want,
                Reply **ret, int *fds, size_t *ret_n_fds) {
        int local_fds[VFIO_BROKER_MAX_FDS];
        uint64_t ping = 0;              /* the Ping sent after a restart notice while we waited */
        size_t n_fds = 0;
        Reply *reply;
        ssize_t n;
        int r;

        b->error[0] = 0;
        req->id = ++b->next_id;
        r = wire_send_message(b->fd, &req->base, NULL, 0);
        if (r == -EPIPE || r == -ECONNRESET) {
                /* The broker hung up; it may have said why first (a limit, a deadline). */
                int e = pending_error(b);
                return e < 0 ? e : r;
        }
        if (r < 0)
                return r;

        if (!recv_buffer(b))
                return -ENOMEM;
        if (!fds)
                fds = local_fds;
        for (;;) {
                struct vfio_broker_event event;

                do
                        n = wire_recv(b->fd, b->buf, VFIO_BROKER_MAX_MESSAGE, fds, VFIO_BROKER_MAX_FDS, &n_fds);
                while (n == -EINTR);
                if (n == -ECONNRESET) {
                        /* The kernel reports the hang-up before what the broker queued ahead of it. */
                        int e = pending_error(b);
                        return e < 0 ? e : (int) n;
                }
                if (n == 0)
                        return -ECONNRESET;
                if (n < 0)
                        return (int) n;

                reply = decode(b, (size_t) n);
                if (reply && ping > 0 && is_ping_before(b, reply, n_fds, 0) && reply->id >= ping) {
                        close_many(fds, n_fds);
                        reply_free(b, reply);
                        snprintf(b->error, sizeof(b->error),
                                 "the broker restarted while it handled the request, whose reply is lost; what the "
                                 "request did, if anything, stays with this connection");
                        return -ECONNABORTED;
                }
                if (reply && (is_restart_notice(reply, n_fds) || is_ping_before(b, reply, n_fds, req->id))) {
                        /* A notice: our request may be lost, the Ping tells. A Ping of an earlier call: done with. */
                        bool notice = reply->id == 0;

                        close_many(fds, n_fds);
                        reply_free(b, reply);
                        if (notice) {
                                r = send_ping(b);
                                if (r < 0)
                                        return r;
                                if (ping == 0)
                                        ping = b->last_ping;
                        }
                        continue;
                }
                if (!reply || !is_event(reply))
                        break;
                /* An event the broker sent meanwhile: kept for vfio_broker_next_event(); the reply is still to come. */
                r = event_from_reply(reply, n_fds, &event);
                close_many(fds, n_fds);
                reply_free(b, reply);
                if (r < 0) {
                        snprintf(b->error, sizeof(b->error), "the broker sent a malformed event");
                        return r;
                }
                queue_event(b, &event);
        }
        /* id 0: an error the broker sent on its own before hanging up */
        if (!reply || (reply->id != req->id && !(reply->id == 0 && reply->error)) || reply->n_fds != n_fds ||
            (!reply->error && reply->result_case != want)) {
                close_many(fds, n_fds);
                if (reply)
                        reply_free(b, reply);
                snprintf(b->error, sizeof(b->error), "the broker's reply was malformed or not the one asked for");
                return -EBADMSG;
        }
        if (reply->error) {
                int e = reply->error->errno_value;

                string_copy(b->error, sizeof(b->error), reply->error->message);
                close_many(fds, n_fds);
                reply_free(b, reply);
                return e > 0 && e < 4096 ? -e : -EIO;
        }
        if (fds == local_fds)
                close_many(fds, n_fds);
        else if (ret_n_fds)
                *ret_n_fds = n_fds;
        *ret = reply;
        return 0;
}

int vfio_broker_hello(vfio_broker *b, const char *client_name) {
        Vfiobroker__Request req = VFIOBROKER__REQUEST__INIT;
        Vfiobroker__HelloRequest hello = VFIOBROKER__HELLO_REQUEST__INIT;
        Reply *reply;
        int r;

        hello.protocol_version = VFIOBROKER__PROTOCOL_VERSION__PROTOCOL_VERSION_1;
        hello.client_name = (char *) (client_name ? client_name : "");
        hello.events = true; /* queued while a call waits: vfio_broker_next_event() */
        hello.restart_notice = true; /* call() tells a request the broker lost in a restart */
        req.op_case = VFIOBROKER__REQUEST__OP_HELLO;
        req.hello = &hello;
        r = call(b, &req, VFIOBROKER__REPLY__RESULT_HELLO, &reply, NULL, NULL);
        if (r < 0)
                return r;
        if (reply->hello->protocol_version != VFIOBROKER__PROTOCOL_VERSION__PROTOCOL_VERSION_1)
                r = -EPROTONOSUPPORT;
        reply_free(b, reply);
        return r;
}

static void copy_device(struct vfio_broker_device *d, const Vfiobroker__Device *v) {
        *d = (struct vfio_broker_device) {
                .vendor = (uint16_t) v->vendor,
                .device = (uint16_t) v->device,
                .class_code = v->class_code,
                .iommu_group = v->iommu_group,
                .state = (enum vfio_broker_device_state) v->state,
                .resettable = v->resettable,
                .noiommu = v->noiommu,
                .lease_id = v->lease_id,
                .holder_uid = v->holder_uid,
                .allowed = v->allowed,
        };
        string_copy(d->grant, sizeof(d->grant), v->grant);
        /* The broker's word: one of three, or an older broker's nothing. */
        string_copy(d->reset, sizeof(d->reset),
                    strcmp(v->reset, "function") == 0 || strcmp(v->reset, "bus") == 0 ? v->reset
                    : v->resettable ? "function" : "none");
        string_copy(d->bdf, sizeof(d->bdf), v->bdf);
        string_copy(d->driver, sizeof(d->driver), v->driver);
        string_copy(d->reason, sizeof(d->reason), v->reason);
}

/* More devices than any host has: a broker that keeps saying "more" is lying. */
#define MAX_LISTED_DEVICES (1u << 20)

/* One page of a listing, appended to *devices; *last is the last address, for the next page. */
static int list_page(vfio_broker *b, char last[static BDF_STRLEN + 1], struct vfio_broker_device **devices,
                     size_t *n, bool *more) {
        Vfiobroker__Request req = VFIOBROKER__REQUEST__INIT;
        Vfiobroker__ListDevicesRequest list = VFIOBROKER__LIST_DEVICES_REQUEST__INIT;
        const Vfiobroker__ListDevicesReply *page;
        struct vfio_broker_device *grown;
        Reply *reply;
        int r;

        list.paged = true;
        list.after = last;
        req.op_case = VFIOBROKER__REQUEST__OP_LIST_DEVICES;
        req.list_devices = &list;
        r = call(b, &req, VFIOBROKER__REPLY__RESULT_LIST_DEVICES, &reply, NULL, NULL);
        if (r < 0)
                return r;
        page = reply->list_devices;
        /* Each page goes forward: a page that says "more" has devices, each after the one before. */
        r = page->more && page->n_devices == 0 ? -EBADMSG : 0;
        if (r == 0 && page->n_devices > MAX_LISTED_DEVICES - *n)
                r = -EBADMSG;
        for (size_t i = 0; r == 0 && i < page->n_devices; i++) {
                const char *bdf = page->devices[i]->bdf;

                if (strlen(bdf) > BDF_STRLEN || (last[0] && strcmp(bdf, last) <= 0) || !bdf[0])
                        r = -EBADMSG;
                else
                        strcpy(last, bdf);
        }
        if (r == 0) {
                grown = realloc(*devices, (*n + page->n_devices + 1) * sizeof(**devices));
                if (!grown)
                        r = -ENOMEM;
                else
                        *devices = grown;
        }
        for (size_t i = 0; r == 0 && i < page->n_devices; i++)
                copy_device(&(*devices)[(*n)++], page->devices[i]);
        *more = page->more;
        reply_free(b, reply);
        return r;
}

int vfio_broker_list_devices(vfio_broker *b, struct vfio_broker_device **ret, size_t *ret_n) {
        struct vfio_broker_device *devices = NULL;
        char last[BDF_STRLEN + 1] = "";
        bool more = true;
        size_t n = 0;
        int r = 0;

        if (!b || !ret || !ret_n)
                return -EINVAL;
        /* Page by page (an older broker, which knows no pages, answers all in one). */
        while (r == 0 && more)
                r = list_page(b, last, &devices, &n, &more);
        if (r == 0 && !devices)
                devices = calloc(1, sizeof(*devices));
        if (r == 0 && !devices)
                r = -ENOMEM;
        if (r < 0) {
                free(devices);
                return r;
        }
        memset(&devices[n], 0, sizeof(*devices));
        *ret = devices;
        *ret_n = n;
        return 0;
}

static int lease_from_reply(const Reply *reply, uint64_t id, Vfiobroker__Backend backend, uint32_t ioas, int *fds,
                            size_t n_fds, vfio_broker_lease **ret) {
        vfio_broker_lease *l;

        /* The broker's word too is checked: a backend we did not ask for, or an IOAS outside driver mode. */
        if ((backend != VFIOBROKER__BACKEND__BACKEND_LEGACY && backend != VFIOBROKER__BACKEND__BACKEND_IOMMUFD &&
             backend != VFIOBROKER__BACKEND__BACKEND_VMM) ||
            (backend == VFIOBROKER__BACKEND__BACKEND_IOMMUFD) != (ioas != 0))
                return -EPROTO;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->fds = calloc(n_fds + 1, sizeof(*l->fds));
        if (!l->fds) {
                free(l);
                return -ENOMEM;
        }
        l->id = id;
        l->backend = (enum vfio_broker_backend) backend;
        l->ioas = ioas;
        for (size_t i = 0; i < n_fds; i++) {
                const Vfiobroker__FdRole *role = reply->fds[i];

                l->fds[i] = (struct vfio_broker_fd) {
                        .fd = fds[i],
                        .kind = (enum vfio_broker_fd_kind) role->kind,
                        .irq_type = (enum vfio_broker_irq_type) role->irq_type,
                        .vector = role->vector,
                };
                string_copy(l->fds[i].bdf, sizeof(l->fds[i].bdf), role->bdf);
        }
        l->n_fds = n_fds;
        *ret = l;
        return 0;
}

int vfio_broker_acquire(vfio_broker *b, uint64_t lease_id, const struct vfio_broker_device_request *devices,
                        size_t n_devices, vfio_broker_lease **ret) {
        return vfio_broker_acquire_backend(b, lease_id, VFIO_BROKER_BACKEND_LEGACY, devices, n_devices, ret);
}

int vfio_broker_acquire_backend(vfio_broker *b, uint64_t lease_id, enum vfio_broker_backend backend,
                                const struct vfio_broker_device_request *devices, size_t n_devices,
                                vfio_broker_lease **ret) {
        Vfiobroker__Request req = VFIOBROKER__REQUEST__INIT;
        Vfiobroker__AcquireRequest acquire = VFIOBROKER__ACQUIRE_REQUEST__INIT;
        _cleanup_free_ Vfiobroker__DeviceRequest *drs = NULL;
        _cleanup_free_ Vfiobroker__DeviceRequest **drp = NULL;
        _cleanup_free_ Vfiobroker__IrqRequest *irs = NULL;
        _cleanup_free_ Vfiobroker__IrqRequest **irp = NULL;
        int fds[VFIO_BROKER_MAX_FDS];
        size_t n_irqs = 0, k = 0, n_fds = 0;
        Reply *reply;
        int r;

        if (!devices || n_devices == 0 || n_devices > 16 || !ret || (unsigned) backend > VFIO_BROKER_BACKEND_VMM)
                return -EINVAL;
        for (size_t i = 0; i < n_devices; i++) {
                if (!devices[i].bdf || (devices[i].n_irqs > 0 && !devices[i].irqs))
                        return -EINVAL;
                n_irqs += devices[i].n_irqs;
        }
        drs = calloc(n_devices, sizeof(*drs));
        drp = calloc(n_devices, sizeof(*drp));
        irs = calloc(n_irqs + 1, sizeof(*irs));
        irp = calloc(n_irqs + 1, sizeof(*irp));
        if (!drs || !drp || !irs || !irp)
                return -ENOMEM;
        for (size_t i = 0; i < n_devices; i++) {
                vfiobroker__device_request__init(&drs[i]);
                drs[i].bdf = (char *) devices[i].bdf;
                drs[i].irqs = &irp[k];
                drs[i].n_irqs = devices[i].n_irqs;
                for (size_t j = 0; j < devices[i].n_irqs; j++, k++) {
                        vfiobroker__irq_request__init(&irs[k]);
                        irs[k].type = (Vfiobroker__IrqType) devices[i].irqs[j].type;
                        irs[k].count = devices[i].irqs[j].count;
                        irp[k] = &irs[k];
                }
                drp[i] = &drs[i];
        }
        acquire.devices = drp;
        acquire.n_devices = n_devices;
        acquire.lease_id = lease_id;
        acquire.backend = (Vfiobroker__Backend) backend;
        req.op_case = VFIOBROKER__REQUEST__OP_ACQUIRE;
        req.acquire = &acquire;

        r = call(b, &req, VFIOBROKER__REPLY__RESULT_ACQUIRE, &reply, fds, &n_fds);
        if (r < 0)
                return r;
        r = (Vfiobroker__Backend) backend != reply->acquire->backend ? -EPROTO
            : lease_from_reply(reply, reply->acquire->lease_id, reply->acquire->backend, reply->acquire->ioas_id, fds,
                               n_fds, ret);
        if (r < 0)
                close_many(fds, n_fds);
        reply_free(b, reply);
        return r;
}

int vfio_broker_fetch_lease(vfio_broker *b, uint64_t lease_id, vfio_broker_lease **ret) {
        Vfiobroker__Request req = VFIOBROKER__REQUEST__INIT;
        Vfiobroker__FetchLeaseRequest fetch = VFIOBROKER__FETCH_LEASE_REQUEST__INIT;
        int fds[VFIO_BROKER_MAX_FDS];
        size_t n_fds = 0;
        Reply *reply;
        int r;

        if (!ret)
                return -EINVAL;
        fetch.lease_id = lease_id;
        req.op_case = VFIOBROKER__REQUEST__OP_FETCH_LEASE;
        req.fetch_lease = &fetch;
        r = call(b, &req, VFIOBROKER__REPLY__RESULT_FETCH_LEASE, &reply, fds, &n_fds);
        if (r < 0)
                return r;
        r = lease_from_reply(reply, reply->fetch_lease->lease_id, reply->fetch_lease->backend,
                             reply->fetch_lease->ioas_id, fds, n_fds, ret);
        if (r < 0)
                close_many(fds, n_fds);
        reply_free(b, reply);
        return r;
}

uint64_t vfio_broker_lease_id(const vfio_broker_lease *l) {
        return l ? l->id : 0;
}

enum vfio_broker_backend vfio_broker_lease_backend(const vfio_broker_lease *l) {
        return l ? l->backend : VFIO_BROKER_BACKEND_LEGACY;
}

uint32_t vfio_broker_lease_ioas(const vfio_broker_lease *l) {
        return l ? l->ioas : 0;
}

size_t vfio_broker_lease_fds(const vfio_broker_lease *l, const struct vfio_broker_fd **ret) {
        if (!l)
                return 0;
        *ret = l->fds;
        return l->n_fds;
}

int vfio_broker_lease_find_fd(const vfio_broker_lease *l, enum vfio_broker_fd_kind kind, const char *bdf,
                              enum vfio_broker_irq_type irq_type, unsigned vector) {
        char want[BDF_STRLEN + 1] = "";
        bool whole = kind == VFIO_BROKER_FD_CONTAINER || kind == VFIO_BROKER_FD_IOMMUFD;

        if (!l)
                return -EINVAL;
        if (!whole && (!bdf || bdf_normalize(bdf, want) < 0))
                return -EINVAL;
        for (size_t i = 0; i < l->n_fds; i++) {
                const struct vfio_broker_fd *f = &l->fds[i];

                if (f->kind != kind)
                        continue;
                if (whole)
                        return f->fd;
                if (strcmp(f->bdf, want) != 0)
                        continue;
                if (kind == VFIO_BROKER_FD_DEVICE ||
                    (f->irq_type == irq_type && (kind == VFIO_BROKER_FD_UNMASK || f->vector == vector)))
                        return f->fd;
        }
        return -ENOENT;
}

vfio_broker_lease *vfio_broker_lease_free(vfio_broker_lease *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n_fds; i++)
                safe_close(l->fds[i].fd);
        free(l->fds);
        free(l);
        return NULL;
}

int vfio_broker_release(vfio_broker *b, uint64_t lease_id) {
        Vfiobroker__Request req = VFIOBROKER__REQUEST__INIT;
        Vfiobroker__ReleaseRequest release = VFIOBROKER__RELEASE_REQUEST__INIT;
        Reply *reply;
        int r;

        release.lease_id = lease_id;
        req.op_case = VFIOBROKER__REQUEST__OP_RELEASE;
        req.release = &release;
        r = call(b, &req, VFIOBROKER__REPLY__RESULT_RELEASE, &reply, NULL, NULL);
        if (r < 0)
                return r;
        r = reply->release->quarantined ? 1 : 0;
        reply_free(b, reply);
        return r;
}

int vfio_broker_fd(const vfio_broker *b) {
        return b ? b->fd : -EINVAL;
}

int vfio_broker_next_event(vfio_broker *b, struct vfio_broker_event *ret) {
        struct pollfd p = { .events = POLLIN };
        int fds[VFIO_BROKER_MAX_FDS];
        size_t n_fds = 0;
        Reply *reply;
        ssize_t n;
        int r;

        if (!b || !ret)
                return -EINVAL;
        if (b->n_events > 0) {
                *ret = b->events[b->first_event];
                b->first_event = (b->first_event + 1) % EVENT_QUEUE;
                b->n_events--;
                return 1;
        }
        p.fd = b->fd;
        for (;;) {
                r = poll(&p, 1, 0);
                if (r < 0)
                        return -errno;
                if (r == 0)
                        return 0;
                if (!recv_buffer(b))
                        return -ENOMEM;
                n = wire_recv(b->fd, b->buf, VFIO_BROKER_MAX_MESSAGE, fds, VFIO_BROKER_MAX_FDS, &n_fds);
                if (n == -EAGAIN || n == -EINTR)
                        return 0;
                if (n == 0)
                        return -ECONNRESET;
                if (n < 0)
                        return (int) n;
                reply = decode(b, (size_t) n);
                close_many(fds, n_fds);
                if (!reply || !(is_restart_notice(reply, n_fds) || is_ping_before(b, reply, n_fds, 0)))
                        break;
                /* No call waits, so nothing was lost; a Ping's reply is what an earlier call did not need. */
                reply_free(b, reply);
        }
        if (reply && reply->id == 0 && reply->error) {
                /* The broker's last word before hanging up (a limit, a deadline). */
                string_copy(b->error, sizeof(b->error), reply->error->message);
                r = reply->error->errno_value > 0 && reply->error->errno_value < 4096 ? -reply->error->errno_value : -EIO;
        } else if (reply && is_event(reply) && event_from_reply(reply, n_fds, ret) == 0)
                r = 1;
        else {
                snprintf(b->error, sizeof(b->error), "the broker sent a packet that is not an event while no call waited");
                r = -EBADMSG;
        }
        if (reply)
                reply_free(b, reply);
        return r;
}

int vfio_broker_device_info(vfio_broker *b, const char *bdf, struct vfio_broker_device_info **ret) {
        Vfiobroker__Request req = VFIOBROKER__REQUEST__INIT;
        Vfiobroker__DeviceInfoRequest di = VFIOBROKER__DEVICE_INFO_REQUEST__INIT;
        struct vfio_broker_device_info *info = NULL;
        const Vfiobroker__DeviceInfoReply *d;
        Reply *reply;
        int r;

        if (!bdf || !ret)
                return -EINVAL;
        di.bdf = (char *) bdf;
        req.op_case = VFIOBROKER__REQUEST__OP_DEVICE_INFO;
        req.device_info = &di;
        r = call(b, &req, VFIOBROKER__REPLY__RESULT_DEVICE_INFO, &reply, NULL, NULL);
        if (r < 0)
                return r;
        if (!reply->device_info->device) {
                r = -EBADMSG;
                goto out;
        }
        d = reply->device_info;
        info = calloc(1, sizeof(*info));
        if (info) {
                info->regions = calloc(d->n_regions + 1, sizeof(*info->regions));
                info->irqs = calloc(d->n_irqs + 1, sizeof(*info->irqs));
        }
        if (!info || !info->regions || !info->irqs) {
                vfio_broker_device_info_free(info);
                r = -ENOMEM;
                goto out;
        }
        copy_device(&info->device, d->device);
        info->flags = d->flags;
        for (size_t i = 0; i < d->n_regions; i++)
                info->regions[i] = (struct vfio_broker_region) {
                        d->regions[i]->index, d->regions[i]->flags, d->regions[i]->size, d->regions[i]->offset,
                };
        info->n_regions = d->n_regions;
        for (size_t i = 0; i < d->n_irqs; i++)
                info->irqs[i] = (struct vfio_broker_irq_info) {
                        d->irqs[i]->index, d->irqs[i]->flags, d->irqs[i]->count,
                };
        info->n_irqs = d->n_irqs;
        *ret = info;
out:
        reply_free(b, reply);
        return r;
}

void vfio_broker_device_info_free(struct vfio_broker_device_info *info) {
        if (!info)
                return;
        free(info->regions);
        free(info->irqs);
        free(info);
}
