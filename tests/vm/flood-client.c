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
 *   silent N SECS  N connections that never say Hello, watched for SECS
 *                  seconds: how the broker ended each (refused at once, ended
 *                  to make room for another uid, or its Hello deadline, with
 *                  when), printed at the end
 *   slowread N DEPTH
 *                  one connection reading slower than it asks: N rounds of
 *                  DEPTH ListDevices requests and one reply read, 20 ms
 *                  apart; DEPTH 1 succeeds when all N are answered, a larger
 *                  DEPTH when the broker drops the connection first, saying
 *                  why
 *   inflight N     asks for two devices with N MSI vectors each in a row
 *                  without reading: with a broker limit of fds in flight
 *                  below twice 2+N, the first reply carries the fds and the
 *                  second says the limit was reached; once both are read a
 *                  third request is served again
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "raw-client.h"
#include "common/util.h"
#include "vfio-broker.h"
#include "proto/vfio-broker.pb-c.h"
#include "proto/wire.h"

static int connect_raw(void) {
        return raw_connect("flood-client");
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
        int fd = connect_raw();

        if (raw_send_hello(fd, "noread") < 0)
                return EXIT_FAILURE;
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

/* The error message of the next reply on @fd, "" for a reply without one; false at the end of the stream. */
static bool next_reply(int fd, char *error, size_t size) {
        static uint8_t buf[VFIO_BROKER_MAX_MESSAGE];
        int fds[VFIO_BROKER_MAX_FDS];
        size_t n_fds = 0;
        Vfiobroker__Reply *reply;
        ssize_t n;

        n = wire_recv(fd, buf, sizeof(buf), fds, VFIO_BROKER_MAX_FDS, &n_fds);
        close_many(fds, n_fds);
        if (n <= 0)
                return false;
        reply = vfiobroker__reply__unpack(NULL, (size_t) n, buf);
        snprintf(error, size, "%s", reply && reply->error ? reply->error->message : reply ? "" : "undecodable");
        if (reply)
                vfiobroker__reply__free_unpacked(reply, NULL);
        return true;
}

static long long now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static volatile sig_atomic_t stopped;

static void on_term(int sig) {
        stopped = 1;
}

static int mode_silent(int n, int seconds) {
        struct pollfd *p = calloc((size_t) n, sizeof(*p));
        long long start = now_ms(), first = -1, last = -1;
        int refused = 0, evicted = 0, deadline = 0, other = 0, open = n;

        /* SIGTERM ends the watch early, with the summary. */
        sigaction(SIGTERM, &(struct sigaction) { .sa_handler = on_term }, NULL);
        for (int i = 0; i < n; i++)
                p[i] = (struct pollfd) { .fd = connect_raw(), .events = POLLIN };
        printf("flood-client: silent: %d connections open, none says Hello\n", n);
        printf("flood-client: holding\n");
        fflush(stdout);
        while (open > 0 && !stopped && now_ms() < start + seconds * 1000LL) {
                if (poll(p, (nfds_t) n, 100) <= 0)
                        continue;
                for (int i = 0; i < n; i++) {
                        char error[512];
                        long long at = now_ms() - start;

                        if (p[i].fd < 0 || !p[i].revents)
                                continue;
                        if (next_reply(p[i].fd, error, sizeof(error))) {
                                if (strstr(error, "not said Hello yet"))
                                        refused++;
                                else if (strstr(error, "room made for uid"))
                                        evicted++;
                                else if (strstr(error, "no Hello in time")) {
                                        deadline++;
                                        first = first < 0 ? at : first;
                                        last = at;
                                } else {
                                        printf("flood-client: silent: unexpected: %s\n", error);
                                        other++;
                                }
                                continue; /* the end of the stream follows */
                        }
                        close(p[i].fd);
                        p[i].fd = -1;
                        open--;
                }
        }
        printf("flood-client: silent: %d refused at once, %d ended for another uid, %d at the Hello deadline "
               "(%lld to %lld ms), %d other, %d still open\n",
               refused, evicted, deadline, first, last, other, open);
        for (int i = 0; i < n; i++)
                safe_close(p[i].fd);
        free(p);
        return other == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int mode_slowread(int rounds, int depth) {
        Vfiobroker__Request req = VFIOBROKER__REQUEST__INIT;
        Vfiobroker__ListDevicesRequest list = VFIOBROKER__LIST_DEVICES_REQUEST__INIT;
        int fd = connect_raw(), asked = 0, read = 0;
        char error[512];

        if (raw_send_hello(fd, "slowread") < 0 || !next_reply(fd, error, sizeof(error)) || *error)
                return EXIT_FAILURE;
        req.op_case = VFIOBROKER__REQUEST__OP_LIST_DEVICES;
        req.list_devices = &list;
        for (int i = 0; i < rounds; i++) {
                for (int k = 0; k < depth; k++) {
                        req.id = (uint64_t) ++asked + 1;
                        if (wire_send_message(fd, &req.base, NULL, 0) < 0)
                                break; /* hung up on: what it sent before tells why */
                }
                if (!next_reply(fd, error, sizeof(error)))
                        break;
                if (*error) {
                        printf("flood-client: slowread: dropped in round %d, %d replies read of %d asked: %s\n",
                               i + 1, read, asked, error);
                        return depth > 1 ? EXIT_SUCCESS : EXIT_FAILURE;
                }
                read++;
                usleep(20000);
        }
        printf("flood-client: slowread: %d replies read of %d asked, %s\n", read, asked,
               read == rounds ? "never dropped" : "the connection ended without a word");
        return depth == 1 && read == rounds ? EXIT_SUCCESS : EXIT_FAILURE;
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

static void send_acquire(int fd, uint64_t id, const char *bdf, unsigned vectors) {
        Vfiobroker__Request req = VFIOBROKER__REQUEST__INIT;
        Vfiobroker__AcquireRequest a = VFIOBROKER__ACQUIRE_REQUEST__INIT;
        Vfiobroker__DeviceRequest d = VFIOBROKER__DEVICE_REQUEST__INIT, *dp = &d;
        Vfiobroker__IrqRequest i = VFIOBROKER__IRQ_REQUEST__INIT, *ip = &i;

        i.type = VFIOBROKER__IRQ_TYPE__IRQ_MSI;
        i.count = vectors;
        d.bdf = (char *) bdf;
        d.irqs = &ip;
        d.n_irqs = 1;
        a.devices = &dp;
        a.n_devices = 1;
        req.id = id;
        req.op_case = VFIOBROKER__REQUEST__OP_ACQUIRE;
        req.acquire = &a;
        if (wire_send_message(fd, &req.base, NULL, 0) < 0)
                exit(EXIT_FAILURE);
}

/* The next reply: its error message ("" if none) and how many fds it carried (closed). */
static size_t receive_reply(int fd, char *error, size_t size) {
        static uint8_t buf[VFIO_BROKER_MAX_MESSAGE];
        int fds[VFIO_BROKER_MAX_FDS];
        Vfiobroker__Reply *reply;
        size_t n_fds = 0;
        ssize_t n;

        n = wire_recv(fd, buf, sizeof(buf), fds, VFIO_BROKER_MAX_FDS, &n_fds);
        if (n <= 0)
                exit(EXIT_FAILURE);
        close_many(fds, n_fds);
        reply = vfiobroker__reply__unpack(NULL, (size_t) n, buf);
        snprintf(error, size, "%s", reply && reply->error ? reply->error->message : "");
        if (reply)
                vfiobroker__reply__free_unpacked(reply, NULL);
        return n_fds;
}

static int mode_inflight(int vectors) {
        char error[512];
        size_t n;
        int fd = connect_raw();

        if (raw_send_hello(fd, "inflight") < 0)
                return EXIT_FAILURE;
        receive_reply(fd, error, sizeof(error));

        send_acquire(fd, 2, "0000:00:03.0", (unsigned) vectors);
        usleep(300000);
        send_acquire(fd, 3, "0000:00:04.0", (unsigned) vectors);
        usleep(300000); /* the broker answers both while we read nothing */
        n = receive_reply(fd, error, sizeof(error));
        printf("flood-client: first reply: %zu fds %s\n", n, error);
        if (n == 0)
                return EXIT_FAILURE;
        n = receive_reply(fd, error, sizeof(error));
        printf("flood-client: second reply: %zu fds: %s\n", n, error);
        if (n != 0 || !strstr(error, "not yet received"))
                return EXIT_FAILURE;
        send_acquire(fd, 4, "0000:00:04.0", (unsigned) vectors);
        n = receive_reply(fd, error, sizeof(error));
        printf("flood-client: after reading: %zu fds %s\n", n, error);
        return n > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char **argv) {
        int n;

        if (argc < 3 || argc > 4 || (n = atoi(argv[2])) <= 0 || (argc == 4 && atoi(argv[3]) <= 0)) {
                fprintf(stderr, "usage: flood-client connections|noread|fds|bytes|inflight N\n"
                                "       flood-client silent N SECONDS | slowread N DEPTH\n");
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
        if (strcmp(argv[1], "silent") == 0 && argc == 4)
                return mode_silent(n, atoi(argv[3]));
        if (strcmp(argv[1], "slowread") == 0 && argc == 4)
                return mode_slowread(n, atoi(argv[3]));
        if (strcmp(argv[1], "inflight") == 0)
                return mode_inflight(n);
        fprintf(stderr, "flood-client: unknown mode %s\n", argv[1]);
        return EXIT_FAILURE;
}
