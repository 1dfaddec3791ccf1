/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a restarted broker tells the FD store (daemon/persist.c), with a
 * datagram socket of ours as $NOTIFY_SOCKET: after adopting a store an
 * older broker wrote (a connection's pidfd under a name of its own) it must
 * store the socket and pidfd again under one name and drop the old one;
 * after adopting a store it wrote itself it has nothing to say.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "broker.h"
#include "persist.h"
#include "test.h"
#include "util.h"

static char dir[] = "/tmp/vfio-broker-test-persist.XXXXXX";
static char state[PATH_MAX];

/* Our end of $NOTIFY_SOCKET. */
static int notify_socket(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
        unlink(sa.sun_path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        CHECK(fd >= 0);
        CHECK(bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0);
        CHECK(setenv("NOTIFY_SOCKET", sa.sun_path, 1) == 0);
        return fd;
}

/* The next message the broker sent ("" if none), the number of fds that came with it (closed). */
static void next_message(int fd, char *text, size_t size, size_t *ret_n_fds) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 8)];
        } control;
        struct iovec iov = { .iov_base = text, .iov_len = size - 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof(control) };
        ssize_t n;

        *ret_n_fds = 0;
        n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0) {
                CHECK(errno == EAGAIN);
                text[0] = 0;
                return;
        }
        text[n] = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

                        close_many((int *) CMSG_DATA(c), k);
                        *ret_n_fds += k;
                }
}

/* One connection with one lease (no groups), stored under @names. */
static void adopt(const char *const *names, size_t n_names, Broker **ret) {
        StoredFd fds[4];
        BrokerConfig config;
        Loop *loop = NULL;
        int sv[2];
        FILE *f;

        f = fopen(state, "we");
        CHECK(f);
        fprintf(f, "vfio-broker-state 1\nconn 1 1000 1000 %d - - old\nlease 1 1 1700000000000000 0 65536 65536\n",
                (int) getpid());
        CHECK(fclose(f) == 0);

        CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0);
        close(sv[1]); /* the client side: not needed to adopt */
        fds[0] = (StoredFd) { .name = (char *) names[0], .fd = sv[0] };
        fds[1] = (StoredFd) { .name = (char *) names[1], .fd = (int) syscall(SYS_pidfd_open, getpid(), 0) };
        if (fds[1].fd < 0) /* no pidfd_open (valgrind): any fd that is not a socket will do */
                fds[1].fd = eventfd(0, EFD_CLOEXEC);
        fds[2] = (StoredFd) { .name = (char *) names[2], .fd = eventfd(0, EFD_CLOEXEC) }; /* the container */
        CHECK(fds[1].fd >= 0 && fds[2].fd >= 0);
        CHECK_EQ_INT(n_names, 3);

        CHECK_EQ_INT(loop_new(&loop), 0);
        broker_config_init(&config);
        config.policy_file = config.policy_dir = "/nonexistent";
        CHECK_EQ_INT(broker_new(ret, loop, &config), 0);
        CHECK_EQ_INT(persist_enable(*ret, state), 0);
        CHECK_EQ_INT(persist_adopt(*ret, fds, n_names), 0);
        CHECK(broker_find_lease(*ret, 1) != NULL);
}

static void done(Broker *b) {
        Loop *loop = b->loop;

        persist_disable(b);
        broker_free(b);
        loop_free(loop);
}

/* What the broker sends $NOTIFY_SOCKET: the text and how many fds came with it. */
typedef struct Said {
        const char *text;
        size_t n_fds;
} Said;

/* Adopt a store holding @names: the broker must then say @said, in that order, and nothing more. */
static void check_answer(const char *const *names, size_t n_names, const Said *said, size_t n_said) {
        int notify = notify_socket();
        char text[256];
        size_t n_fds;
        Broker *b;

        adopt(names, n_names, &b);
        for (size_t i = 0; i < n_said; i++) {
                next_message(notify, text, sizeof(text), &n_fds);
                CHECK_EQ_STR(text, said[i].text);
                CHECK_EQ_INT(n_fds, said[i].n_fds);
        }
        next_message(notify, text, sizeof(text), &n_fds);
        CHECK_EQ_STR(text, "");
        done(b);
        close(notify);
}

static void test_older_store(void) {
        static const char *const names[] = { "vb-c1", "vb-c1-pidfd", "vb-l1-ctr" };
        static const Said said[] = {
                { "FDSTOREREMOVE=1\nFDNAME=vb-c1-pidfd", 0 },
                { "FDSTORE=1\nFDNAME=vb-c1", 2 }, /* systemd keeps the socket it has once and adds the pidfd */
        };

        check_answer(names, ELEMENTSOF(names), said, ELEMENTSOF(said));
}

static void test_own_store(void) {
        static const char *const names[] = { "vb-c1", "vb-c1", "vb-l1-ctr" };

        check_answer(names, ELEMENTSOF(names), NULL, 0); /* the store already holds all of it */
}

int main(void) {
        CHECK(mkdtemp(dir));
        snprintf(state, sizeof(state), "%s/state", dir);
        RUN(test_older_store);
        RUN(test_own_store);
        unlink(state);
        snprintf(state, sizeof(state), "%s/notify", dir);
        unlink(state);
        rmdir(dir);
        return 0;
}
