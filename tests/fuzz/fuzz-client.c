/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the client library against a hostile broker (a fake one
 * in a container's mount namespace is a real attacker of it).  Each input is
 * a script of calls, each with the packets the "broker" has queued for it:
 *
 *   call:   OP  N  PACKET...            OP % 7: hello, list, acquire, fetch,
 *                                       release, info, next_event
 *   packet: FLAGS  LEN(2, little end)  BYTES
 *           FLAGS & 3: eventfds sent with it; & 4: if BYTES decode as a
 *           Reply, its id becomes the call's (so that deeper paths are
 *           reached); & 8: id 0 (an unasked message)
 *
 * The library's socket is non-blocking, so a call whose reply is missing ends
 * at once.  Whatever it returns is used (strings read, fds looked up, objects
 * freed) under ASan; no fd may be left open after an input.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client/vfio-broker.h"
#include "common/util.h"
#include "proto/vfio-broker.pb-c.h"
#include "proto/wire.h"

static char socket_path[108];
static int listen_fd = -1;

static void setup(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char dir[] = "/tmp/fuzz-client.XXXXXX";

        if (!mkdtemp(dir))
                abort();
        snprintf(socket_path, sizeof(socket_path), "%s/broker.sock", dir);
        strcpy(sa.sun_path, socket_path);
        listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(listen_fd, 4) < 0)
                abort();
}

static int count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int n = 0;

        if (!d)
                abort();
        while ((e = readdir(d)))
                n += e->d_name[0] != '.';
        closedir(d);
        return n;
}

/* Queue one packet on the broker's end; the rest of the input after it, or NULL at its end. */
static const uint8_t *queue_packet(int fd, const uint8_t *p, const uint8_t *end, uint64_t call_id) {
        static uint8_t out[VFIO_BROKER_MAX_MESSAGE];
        int fds[3] = { -1, -1, -1 };
        size_t len, n_fds;
        const uint8_t *data;
        uint8_t flags;

        if (end - p < 3)
                return NULL;
        flags = p[0];
        len = (size_t) p[1] | (size_t) p[2] << 8;
        p += 3;
        if ((size_t) (end - p) < len)
                len = (size_t) (end - p);
        data = p;
        if (flags & 12) {
                Vfiobroker__Reply *r = vfiobroker__reply__unpack(NULL, len, data);

                if (r) {
                        r->id = flags & 8 ? 0 : call_id;
                        if (protobuf_c_message_get_packed_size(&r->base) <= sizeof(out)) {
                                len = protobuf_c_message_pack(&r->base, out);
                                data = out;
                        }
                        vfiobroker__reply__free_unpacked(r, NULL);
                }
        }
        n_fds = flags & 3;
        for (size_t i = 0; i < n_fds; i++)
                fds[i] = eventfd(0, EFD_CLOEXEC);
        (void) wire_send(fd, data, len, fds, n_fds);
        close_many(fds, n_fds);
        return p + (p + len <= end ? len : (size_t) (end - p));
}

/* Drain what the library sent (requests carry no fds, but a hostile test must not assume it). */
static void drain(int fd) {
        static uint8_t buf[VFIO_BROKER_MAX_MESSAGE];
        int fds[VFIO_BROKER_MAX_FDS];
        size_t n_fds;

        for (;;) {
                n_fds = 0;
                if (wire_recv(fd, buf, sizeof(buf), fds, VFIO_BROKER_MAX_FDS, &n_fds) <= 0)
                        break;
                close_many(fds, n_fds);
        }
}

static size_t sink;

static void use_string(const char *s) {
        sink += strlen(s);
}

static void use_lease(vfio_broker_lease *l) {
        sink += vfio_broker_lease_id(l) + vfio_broker_lease_ioas(l) + (size_t) vfio_broker_lease_backend(l);
        sink += (size_t) vfio_broker_lease_find_fd(l, VFIO_BROKER_FD_CONTAINER, NULL, 0, 0);
        sink += (size_t) vfio_broker_lease_find_fd(l, VFIO_BROKER_FD_DEVICE, "0000:00:03.0", 0, 0);
        sink += (size_t) vfio_broker_lease_find_fd(l, VFIO_BROKER_FD_IRQ, "0000:00:03.0", VFIO_BROKER_IRQ_MSI, 0);
        vfio_broker_lease_free(l);
}

static void run_call(vfio_broker *b, uint8_t op) {
        static const struct vfio_broker_irq_request msi = { .type = VFIO_BROKER_IRQ_MSI, .count = 1 };
        static const struct vfio_broker_device_request want = { .bdf = "0000:00:03.0", .irqs = &msi, .n_irqs = 1 };
        struct vfio_broker_device *devices = NULL;
        struct vfio_broker_device_info *info = NULL;
        struct vfio_broker_event event;
        vfio_broker_lease *lease = NULL;
        size_t n = 0;

        switch (op % 7) {
        case 0:
                (void) vfio_broker_hello(b, "fuzz");
                break;
        case 1:
                if (vfio_broker_list_devices(b, &devices, &n) == 0) {
                        for (size_t i = 0; i < n; i++) {
                                use_string(devices[i].bdf);
                                use_string(devices[i].driver);
                                use_string(devices[i].reason);
                                use_string(devices[i].grant);
                                use_string(devices[i].reset);
                        }
                        free(devices);
                }
                break;
        case 2:
                if (vfio_broker_acquire_backend(b, 0, op & 8 ? VFIO_BROKER_BACKEND_IOMMUFD : VFIO_BROKER_BACKEND_LEGACY,
                                                &want, 1, &lease) == 0)
                        use_lease(lease);
                break;
        case 3:
                if (vfio_broker_fetch_lease(b, 1, &lease) == 0)
                        use_lease(lease);
                break;
        case 4:
                (void) vfio_broker_release(b, 1);
                break;
        case 5:
                if (vfio_broker_device_info(b, "0000:00:03.0", &info) == 0) {
                        use_string(info->device.bdf);
                        for (size_t i = 0; i < info->n_regions; i++)
                                sink += info->regions[i].size;
                        for (size_t i = 0; i < info->n_irqs; i++)
                                sink += info->irqs[i].count;
                        vfio_broker_device_info_free(info);
                }
                break;
        default:
                if (vfio_broker_next_event(b, &event) > 0)
                        use_string(event.reason);
                break;
        }
        use_string(vfio_broker_error_message(b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *p = data, *end = data + size;
        int before;
        uint64_t call_id = 0;
        vfio_broker *b;
        int peer;

        if (listen_fd < 0)
                setup();
        before = count_fds(); /* per input: libFuzzer opens files of its own between them */
        if (vfio_broker_connect(socket_path, &b) < 0)
                abort();
        peer = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (peer < 0 || fcntl(vfio_broker_fd(b), F_SETFL, O_NONBLOCK) < 0)
                abort();

        while (p && end - p >= 2) {
                uint8_t op = p[0], n = p[1];

                p += 2;
                if (op % 7 != 6)
                        call_id++; /* the library numbers its requests 1, 2, ...; next_event sends none */
                for (uint8_t i = 0; i < n && p; i++)
                        p = queue_packet(peer, p, end, call_id);
                run_call(b, op);
                drain(peer);
        }
        vfio_broker_disconnect(b);
        close(peer);
        if (count_fds() != before) {
                fprintf(stderr, "fuzz-client: %d fds open after the input, %d before\n", count_fds(), before);
                abort();
        }
        return 0;
}
