/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * flood-client MODE N: a greedy or broken client, to check that the broker
 * bounds what one uid can take and goes on serving everyone else.
 *   connections N  open N connections and say Hello on each; print how many
 *                  the broker took and how many it refused; then hold them
 *                  until killed ("holding" once done)
 *   noread N       one connection: Hello, then N requests without reading a
 *                  reply; succeeds when the broker drops it first
 *   fds N          N connections each sending a request with 3 eventfds;
 *                  succeeds when every one is refused and closed
 *   bytes N        N connections each sending one-byte packets until closed
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"
#include "vfio-broker.h"
#include "vfio-broker.pb-c.h"
#include "wire.h"

static int connect_raw(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = VFIO_BROKER_DEFAULT_SOCKET };
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                perror("flood-client: connect");
                exit(EXIT_FAILURE);
        }
        return fd;
}

/* Wait up to 5 s for the broker to close @fd (reading and dropping what it sends). */
static bool closed_by_broker(int fd) {
        char buf[VFIO_BROKER_MAX_MESSAGE];

        for (int i = 0; i < 50; i++) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t n;

                if (poll(&p, 1, 100) <= 0)
                        continue;
                n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN))
                        return true;
        }
        return false;
}

static int mode_connections(int n) __attribute__((noreturn));
static int mode_connections(int n) {
        vfio_broker **b = calloc((size_t) n, sizeof(*b));
        int taken = 0, refused = 0;

        for (int i = 0; i < n; i++) {
                int r = vfio_broker_connect(NULL, &b[i]);

                if (r < 0) {
                        refused++;
                        continue;
                }
                if (vfio_broker_hello(b[i], "flood") < 0) {
                        refused++;
                        b[i] = vfio_broker_disconnect(b[i]);
                        continue;
                }
                taken++;
        }
        printf("flood-client: %d connections taken, %d refused\n", taken, refused);
        printf("flood-client: holding\n");
        fflush(stdout);
        for (;;)
                pause();
}

static int mode_noread(int n) {
        Vfiobroker__Request req = VFIOBROKER__REQUEST__INIT;
        Vfiobroker__ListDevicesRequest list = VFIOBROKER__LIST_DEVICES_REQUEST__INIT;
        vfio_broker *b;
        int fd;

        /* Hello through the library, then the raw fd for the flood. */
        if (vfio_broker_connect(NULL, &b) < 0 || vfio_broker_hello(b, "noread") < 0)
                return EXIT_FAILURE;
        fd = connect_raw();
        vfio_broker_disconnect(b);
        {
                Vfiobroker__HelloRequest h = VFIOBROKER__HELLO_REQUEST__INIT;
                Vfiobroker__Request hr = VFIOBROKER__REQUEST__INIT;

                h.protocol_version = 1;
                h.client_name = (char *) "noread";
                hr.op_case = VFIOBROKER__REQUEST__OP_HELLO;
                hr.hello = &h;
                if (wire_send_message(fd, &hr.base, NULL, 0) < 0)
                        return EXIT_FAILURE;
        }
        req.op_case = VFIOBROKER__REQUEST__OP_LIST_DEVICES;
        req.list_devices = &list;
        for (int i = 0; i < n; i++) {
                struct pollfd p = { .fd = fd, .events = POLLOUT };

                req.id = (uint64_t) i + 2;
                /* Our own send queue may fill as well: wait a little, never read. */
                if (poll(&p, 1, 2000) <= 0 || (p.revents & (POLLHUP | POLLERR)) ||
                    wire_send_message(fd, &req.base, NULL, 0) < 0) {
                        printf("flood-client: the broker dropped the connection after %d unread requests\n", i);
                        return EXIT_SUCCESS;
                }
        }
        printf("flood-client: %d requests went unread and the broker kept the connection\n", n);
        return EXIT_FAILURE;
}

static int mode_fds(int n) {
        Vfiobroker__Request req = VFIOBROKER__REQUEST__INIT;
        Vfiobroker__ListDevicesRequest list = VFIOBROKER__LIST_DEVICES_REQUEST__INIT;
        int efds[3];

        req.op_case = VFIOBROKER__REQUEST__OP_LIST_DEVICES;
        req.list_devices = &list;
        for (int i = 0; i < 3; i++)
                efds[i] = eventfd(0, EFD_CLOEXEC);
        for (int i = 0; i < n; i++) {
                int fd = connect_raw();

                /* A send the broker already hung up on counts as closed. */
                if (wire_send_message(fd, &req.base, efds, 3) >= 0 && !closed_by_broker(fd)) {
                        printf("flood-client: connection %d with fds was not closed\n", i);
                        return EXIT_FAILURE;
                }
                close(fd);
        }
        printf("flood-client: %d connections sending fds, every one closed\n", n);
        return EXIT_SUCCESS;
}

static int mode_bytes(int n) {
        for (int i = 0; i < n; i++) {
                int fd = connect_raw(), sent = 0;

                while (send(fd, "x", 1, MSG_NOSIGNAL) == 1 && sent < 1000)
                        sent++;
                if (!closed_by_broker(fd)) {
                        printf("flood-client: a one-byte sender was not closed\n");
                        return EXIT_FAILURE;
                }
                close(fd);
        }
        printf("flood-client: %d one-byte senders, every one closed\n", n);
        return EXIT_SUCCESS;
}

int main(int argc, char **argv) {
        int n;

        if (argc != 3 || (n = atoi(argv[2])) <= 0) {
                fprintf(stderr, "usage: flood-client connections|noread|fds|bytes N\n");
                return EXIT_FAILURE;
        }
        signal(SIGPIPE, SIG_IGN);
        if (strcmp(argv[1], "connections") == 0)
                return mode_connections(n);
        if (strcmp(argv[1], "noread") == 0)
                return mode_noread(n);
        if (strcmp(argv[1], "fds") == 0)
                return mode_fds(n);
        if (strcmp(argv[1], "bytes") == 0)
                return mode_bytes(n);
        fprintf(stderr, "flood-client: unknown mode %s\n", argv[1]);
        return EXIT_FAILURE;
}
