/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "common/util.h"
#include "proto/wire.h"

static int n_open_fds(void) {
        int n = 0;

        for (int fd = 0; fd < 1024; fd++)
                if (fcntl(fd, F_GETFD) >= 0)
                        n++;
        return n;
}

static void pair(int sv[2]) {
        CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
}

static void test_fds_arrive_in_order_cloexec(void) {
        int sv[2], sent[4], got[8];
        char buf[VFIO_BROKER_MAX_MESSAGE];
        size_t n_fds = 0;

        pair(sv);
        for (int i = 0; i < 4; i++) {
                sent[i] = eventfd(0, EFD_CLOEXEC);
                CHECK(sent[i] >= 0);
                CHECK(eventfd_write(sent[i], (eventfd_t) (i + 1)) == 0);
        }
        CHECK_EQ_INT(wire_send(sv[0], "hello", 5, sent, 4), 0);
        CHECK_EQ_INT(wire_recv(sv[1], buf, sizeof(buf), got, 8, &n_fds), 5);
        CHECK_EQ_INT(n_fds, 4);
        CHECK(memcmp(buf, "hello", 5) == 0);
        for (int i = 0; i < 4; i++) {
                eventfd_t v;

                CHECK(fcntl(got[i], F_GETFD) & FD_CLOEXEC);
                CHECK(eventfd_read(got[i], &v) == 0);
                CHECK_EQ_INT(v, i + 1);
        }
        close_many(sent, 4);
        close_many(got, 4);
        close_many(sv, 2);
}

static void test_unexpected_fds_closed(void) {
        int sv[2], efd, got[1];
        char buf[64];
        size_t n_fds = 99;
        int before;

        pair(sv);
        efd = eventfd(0, EFD_CLOEXEC);
        before = n_open_fds();
        CHECK_EQ_INT(wire_send(sv[0], "x", 1, &efd, 1), 0);
        /* The receiver wants no fds: the packet is refused and nothing leaks. */
        CHECK_EQ_INT(wire_recv(sv[1], buf, sizeof(buf), got, 0, &n_fds), -EBADMSG);
        CHECK_EQ_INT(n_fds, 99);
        CHECK_EQ_INT(n_open_fds(), before);
        safe_close(efd);
        close_many(sv, 2);
}

static void test_oversized_packet_refused(void) {
        int sv[2], got[1];
        static char big[4096], buf[128];
        size_t n_fds;

        pair(sv);
        CHECK_EQ_INT(wire_send(sv[0], big, sizeof(big), NULL, 0), 0);
        CHECK_EQ_INT(wire_recv(sv[1], buf, sizeof(buf), got, 1, &n_fds), -EBADMSG);
        CHECK_EQ_INT(wire_send(sv[0], big, VFIO_BROKER_MAX_MESSAGE + 1, NULL, 0), -EMSGSIZE);
        close_many(sv, 2);
}

static void test_too_many_fds_refused(void) {
        int sv[2], fds[VFIO_BROKER_MAX_FDS + 1];

        pair(sv);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                fds[i] = sv[0];
        CHECK_EQ_INT(wire_send(sv[0], "x", 1, fds, ELEMENTSOF(fds)), -EMSGSIZE);
        close_many(sv, 2);
}

/* An empty packet with fds (a hostile peer's): refused with its fds closed, not taken for the end. */
static void test_empty_packet_with_fds(void) {
        int sv[2], efd, got[2];
        char buf[16];
        size_t n_fds = 99;
        int before;

        pair(sv);
        efd = eventfd(0, EFD_CLOEXEC);
        before = n_open_fds();
        CHECK_EQ_INT(wire_send(sv[0], "", 0, &efd, 1), 0);
        CHECK_EQ_INT(wire_recv(sv[1], buf, sizeof(buf), got, 2, &n_fds), -EBADMSG);
        CHECK_EQ_INT(n_fds, 99);
        CHECK_EQ_INT(n_open_fds(), before);
        safe_close(efd);
        close_many(sv, 2);
}

static void test_end_of_stream(void) {
        int sv[2], got[1];
        char buf[16];
        size_t n_fds;

        pair(sv);
        sv[0] = safe_close(sv[0]);
        CHECK_EQ_INT(wire_recv(sv[1], buf, sizeof(buf), got, 1, &n_fds), 0);
        close_many(sv, 2);
}

int main(void) {
        RUN(test_fds_arrive_in_order_cloexec);
        RUN(test_unexpected_fds_closed);
        RUN(test_oversized_packet_refused);
        RUN(test_too_many_fds_refused);
        RUN(test_empty_packet_with_fds);
        RUN(test_end_of_stream);
        return 0;
}
