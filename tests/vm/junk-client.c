/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * junk-client [BDF]: a hostile client.  Each case sends something the broker must
 * refuse, and checks the answer: an error naming the cause and, for protocol
 * violations, the end of the connection.  Exits non-zero on the first case
 * the broker got wrong.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "raw-client.h"
#include "common/util.h"
#include "proto/vfio-broker.pb-c.h"
#include "proto/wire.h"

static int failures;

static int connect_raw(void) {
        return raw_connect("junk-client");
}

/* Receive one reply; NULL at end of stream. */
static Vfiobroker__Reply *receive(int fd) {
        static uint8_t buf[VFIO_BROKER_MAX_MESSAGE];
        int fds[VFIO_BROKER_MAX_FDS];
        size_t n_fds = 0;
        ssize_t n;

        n = wire_recv(fd, buf, sizeof(buf), fds, VFIO_BROKER_MAX_FDS, &n_fds);
        close_many(fds, n_fds);
        if (n <= 0)
                return NULL;
        return vfiobroker__reply__unpack(NULL, (size_t) n, buf);
}

static void expect(const char *name, int fd, Vfiobroker__ErrorCode code, const char *words, bool disconnect) {
        Vfiobroker__Reply *reply = receive(fd);
        bool ok = reply && reply->error && reply->error->code == code &&
                  (!words || strstr(reply->error->message, words));

        if (ok && disconnect) {
                Vfiobroker__Reply *more = receive(fd);
                ok = !more;
                if (more)
                        vfiobroker__reply__free_unpacked(more, NULL);
        }
        printf("junk-client: %-28s %s: %s\n", name, ok ? "ok" : "WRONG",
               reply && reply->error ? reply->error->message : reply ? "(no error)" : "(no reply)");
        if (!ok)
                failures++;
        if (reply)
                vfiobroker__reply__free_unpacked(reply, NULL);
}

static void send_request(int fd, Vfiobroker__Request *req, const int *fds, size_t n_fds) {
        if (wire_send_message(fd, &req->base, fds, n_fds) < 0) {
                perror("junk-client: send");
                exit(EXIT_FAILURE);
        }
}

static void hello(int fd) {
        Vfiobroker__Reply *reply;

        if (raw_send_hello(fd, "junk-client") < 0) {
                perror("junk-client: send");
                exit(EXIT_FAILURE);
        }
        reply = receive(fd);
        if (!reply || reply->error) {
                fprintf(stderr, "junk-client: hello failed\n");
                exit(EXIT_FAILURE);
        }
        vfiobroker__reply__free_unpacked(reply, NULL);
}

static void acquire(int fd, const char *bdf, Vfiobroker__IrqType irq) {
        if (raw_send_acquire(fd, bdf, irq) < 0) {
                perror("junk-client: send");
                exit(EXIT_FAILURE);
        }
}

int main(int argc, char **argv) {
        /* A free vfio-pci device for the cases that get as far as the kernel. */
        const char *free_bdf = argc > 1 ? argv[1] : "0000:00:03.0";
        static char big[VFIO_BROKER_MAX_MESSAGE + 100];
        Vfiobroker__Request req = VFIOBROKER__REQUEST__INIT;
        Vfiobroker__ListDevicesRequest list = VFIOBROKER__LIST_DEVICES_REQUEST__INIT;
        int fd, efd;

        fd = connect_raw();
        if (wire_send(fd, "\xff\xff\xff\xff\x0f garbage", 13, NULL, 0) < 0)
                return EXIT_FAILURE;
        expect("undecodable bytes", fd, VFIOBROKER__ERROR_CODE__ERROR_PROTOCOL, "undecodable", true);
        close(fd);

        fd = connect_raw();
        req.op_case = VFIOBROKER__REQUEST__OP_LIST_DEVICES;
        req.list_devices = &list;
        send_request(fd, &req, NULL, 0);
        expect("request before Hello", fd, VFIOBROKER__ERROR_CODE__ERROR_PROTOCOL, "before Hello", true);
        close(fd);

        fd = connect_raw();
        efd = eventfd(0, EFD_CLOEXEC);
        send_request(fd, &req, &efd, 1);
        expect("fd with a request", fd, VFIOBROKER__ERROR_CODE__ERROR_PROTOCOL, "carried fds", true);
        close(efd);
        close(fd);

        fd = connect_raw();
        /* A datagram larger than the protocol's maximum; the kernel may refuse to send it at all. */
        if (send(fd, big, sizeof(big), MSG_NOSIGNAL) == (ssize_t) sizeof(big))
                expect("oversized packet", fd, VFIOBROKER__ERROR_CODE__ERROR_PROTOCOL, "maximum size", true);
        close(fd);

        fd = connect_raw();
        req = (Vfiobroker__Request) VFIOBROKER__REQUEST__INIT;
        req.id = 5;
        send_request(fd, &req, NULL, 0);
        expect("request without an op", fd, VFIOBROKER__ERROR_CODE__ERROR_PROTOCOL, "unknown request", true);
        close(fd);

        /* A zero-length packet reads like the end of the stream: the broker hangs up. */
        fd = connect_raw();
        if (send(fd, "", 0, MSG_NOSIGNAL) < 0)
                return EXIT_FAILURE;
        {
                Vfiobroker__Reply *reply = receive(fd);

                printf("junk-client: %-28s %s\n", "empty packet", reply ? "WRONG" : "ok: disconnected");
                if (reply) {
                        failures++;
                        vfiobroker__reply__free_unpacked(reply, NULL);
                }
        }
        close(fd);

        /* Semantic errors: answered, and the connection goes on. */
        fd = connect_raw();
        hello(fd);
        acquire(fd, "0000:09:00.0", 0);
        expect("unknown device", fd, VFIOBROKER__ERROR_CODE__ERROR_UNKNOWN_DEVICE, "no PCI device 0000:09:00.0", false);
        acquire(fd, "../../../etc/passwd", 0);
        expect("path as a BDF", fd, VFIOBROKER__ERROR_CODE__ERROR_INVALID_ARGUMENT, "not a PCI address", false);
        acquire(fd, free_bdf, 99);
        expect("unknown IRQ type", fd, VFIOBROKER__ERROR_CODE__ERROR_INVALID_ARGUMENT, "unknown IRQ type", false);
        acquire(fd, "0000:02:02.0", 0);
        expect("device with a host driver", fd, VFIOBROKER__ERROR_CODE__ERROR_NOT_VFIO, "bound to e1000e", false);
        acquire(fd, free_bdf, VFIOBROKER__IRQ_TYPE__IRQ_MSIX);
        expect("IRQ the device lacks", fd, VFIOBROKER__ERROR_CODE__ERROR_IRQ, "MSI-X", false);
        req = (Vfiobroker__Request) VFIOBROKER__REQUEST__INIT;
        req.op_case = VFIOBROKER__REQUEST__OP_LIST_DEVICES;
        req.list_devices = &list;
        send_request(fd, &req, NULL, 0);
        {
                Vfiobroker__Reply *reply = receive(fd);
                bool ok = reply && !reply->error && reply->list_devices && reply->list_devices->n_devices > 0;

                printf("junk-client: %-28s %s\n", "still served after errors", ok ? "ok" : "WRONG");
                if (!ok)
                        failures++;
                if (reply)
                        vfiobroker__reply__free_unpacked(reply, NULL);
        }
        close(fd);

        printf("junk-client: %d wrong\n", failures);
        return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
