/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fds-latency ITERATIONS DBUS_ITERATIONS BDF DBUS_ADDRESS: the round trip of
 * one request whose reply carries 4 fds, three ways.  The broker takes turns
 * call by call with the raw echo (ITERATIONS each), then with D-Bus
 * (DBUS_ITERATIONS each), after a warm-up of a tenth as many, so that a
 * noisy machine slows both sides of each comparison alike.
 *
 *   raw     the physical limit: a SOCK_SEQPACKET socketpair, a forked echo
 *           server that answers each 16-byte request with 4 fresh eventfds
 *           (SCM_RIGHTS), the client closing what it got
 *   broker  libvfio-broker against the running vfio-brokerd: one lease of BDF
 *           with INTx (container, device, trigger and unmask eventfds), then
 *           FetchLease on it: 4 new fds each time, closed by the client
 *   dbus    sd-bus through the dbus-daemon at DBUS_ADDRESS: a forked service
 *           whose method returns 4 fresh eventfds ("hhhh"), the way logind's
 *           TakeDevice hands out a device fd
 *
 * Prints the BENCH/BENCHCDF lines of stats.h, series "raw" and "broker",
 * "dbus" and "broker-beside-dbus".
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "stats.h"
#include "vfio-broker.h"

#define N_FDS 4
#define BUS_NAME "org.vfiobroker1.Bench"
#define BUS_PATH "/org/vfiobroker1/Bench"

static void make_eventfds(int *fds) {
        for (int i = 0; i < N_FDS; i++) {
                fds[i] = eventfd(0, EFD_CLOEXEC);
                if (fds[i] < 0)
                        die("eventfd", errno);
        }
}

static void close_fds(int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                close(fds[i]);
}

/* ---- raw ---- */

static void raw_server(int fd) {
        char buf[16];

        for (;;) {
                union {
                        struct cmsghdr h;
                        char buf[CMSG_SPACE(sizeof(int) * N_FDS)];
                } control = {};
                struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                                     .msg_control = &control, .msg_controllen = sizeof(control) };
                struct cmsghdr *cm;
                int fds[N_FDS];
                ssize_t n;

                n = recv(fd, buf, sizeof(buf), 0);
                if (n <= 0)
                        _exit(n == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
                make_eventfds(fds);
                cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(fds));
                memcpy(CMSG_DATA(cm), fds, sizeof(fds));
                iov.iov_len = (size_t) n;
                if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
                        _exit(EXIT_FAILURE);
                close_fds(fds, N_FDS);
        }
}

static void raw_call(int fd) {
        char buf[16] = "fetch";
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * N_FDS)];
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                             .msg_control = &control, .msg_controllen = sizeof(control) };
        struct cmsghdr *cm;
        int fds[N_FDS];

        if (send(fd, buf, sizeof(buf), 0) < 0)
                die("send", errno);
        if (recvmsg(fd, &mh, MSG_CMSG_CLOEXEC) <= 0)
                die("recvmsg", errno ? errno : EPIPE);
        cm = CMSG_FIRSTHDR(&mh);
        if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(fds)))
                die("the echo server's reply lacks its 4 fds", EBADMSG);
        memcpy(fds, CMSG_DATA(cm), sizeof(fds));
        close_fds(fds, N_FDS);
}

static pid_t raw_pid = -1;

static int raw_setup(void) {
        return fork_server(raw_server, &raw_pid);
}

static void raw_teardown(int fd) {
        close(fd);
        waitpid(raw_pid, NULL, 0);
}

/* ---- broker ---- */

static vfio_broker_lease *broker_lease;

static vfio_broker *broker_setup(const char *bdf) {
        struct vfio_broker_irq_request intx = { .type = VFIO_BROKER_IRQ_INTX, .count = 1 };
        struct vfio_broker_device_request want = { .bdf = bdf, .irqs = &intx, .n_irqs = 1 };
        const struct vfio_broker_fd *fds;
        vfio_broker *b = NULL;
        int r;

        r = vfio_broker_connect(NULL, &b);
        if (r < 0)
                die("connect", r);
        r = vfio_broker_hello(b, "fds-latency");
        if (r < 0)
                die("hello", r);
        r = vfio_broker_acquire(b, 0, &want, 1, &broker_lease);
        if (r < 0) {
                fprintf(stderr, "fds-latency: acquire %s: %s\n", bdf, vfio_broker_error_message(b));
                exit(EXIT_FAILURE);
        }
        if (vfio_broker_lease_fds(broker_lease, &fds) != N_FDS)
                die("the lease does not hold 4 fds", EBADMSG);
        return b;
}

static void broker_call(vfio_broker *b) {
        const struct vfio_broker_fd *fds;
        vfio_broker_lease *again = NULL;
        int r;

        r = vfio_broker_fetch_lease(b, vfio_broker_lease_id(broker_lease), &again);
        if (r < 0)
                die("FetchLease", r);
        if (vfio_broker_lease_fds(again, &fds) != N_FDS)
                die("FetchLease did not bring 4 fds", EBADMSG);
        vfio_broker_lease_free(again);
}

static void broker_teardown(vfio_broker *b) {
        uint64_t id = vfio_broker_lease_id(broker_lease);
        int r;

        broker_lease = vfio_broker_lease_free(broker_lease);
        r = vfio_broker_release(b, id);
        if (r != 0)
                die("release", r < 0 ? r : EBUSY);
        vfio_broker_disconnect(b);
}

/* ---- dbus ---- */

static int method_get_fds(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        int fds[N_FDS], r;

        (void) userdata;
        (void) error;
        make_eventfds(fds);
        r = sd_bus_reply_method_return(m, "hhhh", fds[0], fds[1], fds[2], fds[3]); /* sd-bus sends copies */
        close_fds(fds, N_FDS);
        return r;
}

static const sd_bus_vtable bench_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("GetFds", "", "hhhh", method_get_fds, 0),
        SD_BUS_VTABLE_END,
};

static sd_bus *bus_connect(const char *address) {
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, true);
        if (r >= 0)
                r = sd_bus_negotiate_fds(bus, true);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0)
                die("connecting to the bus", r);
        return bus;
}

static void dbus_server(const char *address, int ready_fd) {
        sd_bus *bus = bus_connect(address);
        int r;

        r = sd_bus_add_object_vtable(bus, NULL, BUS_PATH, BUS_NAME, bench_vtable, NULL);
        if (r >= 0)
                r = sd_bus_request_name(bus, BUS_NAME, 0);
        if (r < 0)
                die("serving " BUS_NAME, r);
        if (write(ready_fd, "", 1) != 1)
                _exit(EXIT_FAILURE);
        close(ready_fd);
        for (;;) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        _exit(EXIT_SUCCESS); /* the bus went away */
                if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
                        _exit(EXIT_FAILURE);
        }
}

static void dbus_call(sd_bus *bus) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int a, b, c, d, r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_NAME, "GetFds", &error, &reply, "");
        if (r < 0) {
                fprintf(stderr, "fds-latency: GetFds: %s\n", error.message ? error.message : strerror(-r));
                exit(EXIT_FAILURE);
        }
        r = sd_bus_message_read(reply, "hhhh", &a, &b, &c, &d);
        if (r < 0 || a < 0 || b < 0 || c < 0 || d < 0)
                die("the GetFds reply lacks its 4 fds", r < 0 ? r : EBADMSG);
        sd_bus_message_unref(reply); /* closes the fds it received */
}

static pid_t dbus_pid = -1;
static const char *dbus_address;

static void dbus_serve(int ready_fd) {
        dbus_server(dbus_address, ready_fd);
}

/* Forks the service; the first thing set up, so that it inherits no other fd of ours. */
static void dbus_start_service(const char *address) {
        int ready;
        char c;

        dbus_address = address;
        ready = fork_server(dbus_serve, &dbus_pid);
        if (read(ready, &c, 1) != 1)
                die("the D-Bus service did not come up", EIO);
        close(ready);
}

static void dbus_teardown(sd_bus *bus) {
        sd_bus_flush_close_unref(bus);
        kill(dbus_pid, SIGTERM);
        waitpid(dbus_pid, NULL, 0);
}

/* Time @a and @b taking turns, @iterations each after a warm-up, into @sa and @sb. */
static void take_turns(int a, int b_, size_t iterations, Samples *sa, Samples *sb, int raw, vfio_broker *broker,
                       sd_bus *bus) {
        size_t warmup = iterations / 10 + 1;

        samples_init(sa, iterations);
        samples_init(sb, iterations);
        for (size_t i = 0; i < warmup + iterations; i++)
                for (int k = 0; k < 2; k++) {
                        /* The order turns each round: a noisy machine slows both alike. */
                        int which = (i + (size_t) k) % 2 ? b_ : a;
                        Samples *s = which == a ? sa : sb;
                        uint64_t t = now_ns();

                        if (which == 0)
                                raw_call(raw);
                        else if (which == 1)
                                broker_call(broker);
                        else
                                dbus_call(bus);
                        if (i >= warmup)
                                samples_add(s, now_ns() - t);
                }
}

int main(int argc, char **argv) {
        size_t iterations, dbus_iterations;
        Samples raw_s, broker_s, dbus_s, broker_d;
        vfio_broker *b;
        sd_bus *bus;
        int raw;

        if (argc != 5) {
                fprintf(stderr, "usage: fds-latency ITERATIONS DBUS_ITERATIONS BDF DBUS_ADDRESS\n");
                return EXIT_FAILURE;
        }
        iterations = parse_count(argv[1], "iteration count");
        dbus_iterations = parse_count(argv[2], "D-Bus iteration count");
        /* The servers first, so that neither inherits a client's fds. */
        dbus_start_service(argv[4]);
        raw = raw_setup();
        b = broker_setup(argv[3]);

        take_turns(0, 1, iterations, &raw_s, &broker_s, raw, b, NULL);
        /* Connected only now: sd-bus authenticates lazily, and dbus-daemon drops a client that does not in time. */
        bus = bus_connect(argv[4]);
        take_turns(2, 1, dbus_iterations, &dbus_s, &broker_d, raw, b, bus);
        samples_report(&raw_s, "raw");
        samples_report(&broker_s, "broker");
        samples_report(&dbus_s, "dbus");
        samples_report(&broker_d, "broker-beside-dbus");
        samples_done(&raw_s);
        samples_done(&broker_s);
        samples_done(&dbus_s);
        samples_done(&broker_d);
        raw_teardown(raw);
        broker_teardown(b);
        dbus_teardown(bus);
        return EXIT_SUCCESS;
}
