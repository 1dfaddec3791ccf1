/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a broker tells the FD store (daemon/system/persist.c), with a datagram socket
 * of ours as $NOTIFY_SOCKET and a thread of ours answering it as systemd
 * would (a barrier's fd is closed at once).  The kernel side is the fake backend,
 * whose fds say what they stand for, as the real ones do by their device.
 *
 * After adopting a store an older broker wrote (a name per fd but a
 * connection's socket) it stores each connection and each lease under one
 * name and drops the old names; after adopting its own it has nothing to say,
 * whatever order the fds come back in, and each eventfd is the one its record
 * names by eventfd-id.  An fd under a lease's name that adoption let go of
 * makes it drop the name and store it anew; a lease that gains a group is
 * sent again whole, and one of more fds than a message carries in parts; a
 * release is one write of the state file.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "broker/connection.h"
#include "broker/group.h"
#include "broker/lease.h"
#include "common/util.h"
#include "fake-sysfs.h"
#include "kernel/backend-fake.h"
#include "system/persist.h"
#include "test.h"

static char dir[] = "/tmp/vfio-broker-test-persist.XXXXXX";
static Persist *persist;
static char state[PATH_MAX];
static FakeSysfs fs;

/* What the broker sent $NOTIFY_SOCKET: the text and how many fds came with it. */
typedef struct Said {
        const char *text;
        size_t n_fds;
} Said;

#define MAX_HEARD 32

typedef struct Listener {
        int fd;
        pthread_t thread;
        char text[MAX_HEARD][256];
        Said heard[MAX_HEARD];
        size_t n_heard;
} Listener;

/* Until 300 ms pass in silence: each message kept, its fds closed (which answers a barrier). */
static void *listen_notify(void *userdata) {
        Listener *l = userdata;
        struct pollfd p = { .fd = l->fd, .events = POLLIN };

        while (poll(&p, 1, 300) > 0) {
                union {
                        struct cmsghdr h;
                        char buf[CMSG_SPACE(sizeof(int) * 253)];
                } control;
                char *text = l->text[l->n_heard < MAX_HEARD ? l->n_heard : MAX_HEARD - 1];
                struct iovec iov = { .iov_base = text, .iov_len = sizeof(l->text[0]) - 1 };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                                     .msg_controllen = sizeof(control) };
                size_t n_fds = 0;
                ssize_t n;

                n = recvmsg(l->fd, &mh, MSG_CMSG_CLOEXEC);
                if (n < 0)
                        break;
                text[n] = 0;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

                                close_many((int *) CMSG_DATA(c), k);
                                n_fds += k;
                        }
                if (l->n_heard < MAX_HEARD)
                        l->heard[l->n_heard++] = (Said) { .text = text, .n_fds = n_fds };
        }
        return NULL;
}

/* Our end of $NOTIFY_SOCKET, listened to from now on. */
static void listen_start(Listener *l) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        *l = (Listener) {};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
        unlink(sa.sun_path);
        l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        CHECK(l->fd >= 0);
        CHECK(bind(l->fd, (struct sockaddr *) &sa, sizeof(sa)) == 0);
        CHECK(setenv("NOTIFY_SOCKET", sa.sun_path, 1) == 0);
        CHECK(pthread_create(&l->thread, NULL, listen_notify, l) == 0);
}

/* The broker must have said @said, in that order, and nothing more. */
static void listen_check(Listener *l, const Said *said, size_t n_said) {
        CHECK(pthread_join(l->thread, NULL) == 0);
        for (size_t i = 0; i < l->n_heard; i++) {
                printf("  heard \"");
                for (const char *p = l->heard[i].text; *p; p++)
                        fputs(*p == '\n' ? "\\n" : (char[]) { *p, 0 }, stdout);
                printf("\" with %zu fd(s)\n", l->heard[i].n_fds);
        }
        CHECK_EQ_INT(l->n_heard, n_said);
        for (size_t i = 0; i < n_said; i++) {
                CHECK_EQ_STR(l->heard[i].text, said[i].text);
                CHECK_EQ_INT(l->heard[i].n_fds, said[i].n_fds);
        }
        close(l->fd);
}

/* What a stored fd is. */
typedef enum Kind {
        SOCKET,
        PIDFD,
        CONTAINER,
        GROUP7,
        GROUP9,
        EVENTFD_A,
        EVENTFD_B,
} Kind;

typedef struct Stored {
        const char *name;
        Kind kind;
} Stored;

static int new_fd(Kind kind) {
        int sv[2], fd;

        switch (kind) {
        case SOCKET:
                CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0);
                close(sv[1]); /* the client side: not needed to adopt */
                return sv[0];
        case PIDFD:
                fd = (int) syscall(SYS_pidfd_open, getpid(), 0);
                /* no pidfd_open (valgrind): any fd that is not a socket will do */
                return fd >= 0 ? fd : kernel_fake_fd(KERNEL_FAKE_DEVICE, 0);
        case CONTAINER:
                return kernel_fake_fd(KERNEL_FAKE_DOMAIN, 0);
        case GROUP7:
                return kernel_fake_fd(KERNEL_FAKE_GROUP, 7);
        case GROUP9:
                return kernel_fake_fd(KERNEL_FAKE_GROUP, 9);
        case EVENTFD_A:
        case EVENTFD_B:
                return eventfd(0, EFD_CLOEXEC);
        }
        return -EBADF;
}

/* The kernel's eventfd-id of @fd, as the state file records it. */
static int kernel_eventfd_id(int fd) {
        long long id = fdinfo_number(fd, "eventfd-id", 10);

        CHECK(id >= 0);
        return (int) id;
}

/* What the state file says beyond a connection with a lease of group 7: a device with two eventfds, or not. */
typedef enum Records {
        NO_DEVICE,
        EVENTFDS_BY_NAME,       /* as older brokers wrote them: under names of their own */
        EVENTFDS_BY_ID,         /* under the lease's name, told apart by eventfd-id */
} Records;

/* MODE and IOAS of the lease record ("" as older brokers wrote it: legacy). */
static const char *lease_mode_fields = "";
/* Records after the lease's. */
static const char *extra_records = "";
/* What the connection said in Hello, after its name ("": as older brokers wrote it, or nothing). */
static const char *conn_flags = "";

/* A broker adopting @records from a store holding @stored; the fds made for it in @ret_fds. */
static Broker *adopt(Records records, const Stored *stored, size_t n, int *ret_fds) {
        StoredFd fds[16];
        BrokerConfig config;
        Loop *loop = NULL;
        int id[2] = { -1, -1 };
        Broker *b;
        FILE *f;

        CHECK(n <= ELEMENTSOF(fds));
        for (size_t i = 0; i < n; i++) {
                fds[i] = (StoredFd) { .name = (char *) stored[i].name, .fd = new_fd(stored[i].kind) };
                CHECK(fds[i].fd >= 0);
                if (ret_fds)
                        ret_fds[i] = fds[i].fd;
                if (stored[i].kind == EVENTFD_A || stored[i].kind == EVENTFD_B)
                        id[stored[i].kind - EVENTFD_A] = kernel_eventfd_id(fds[i].fd);
        }
        f = fopen(state, "we");
        CHECK(f);
        fprintf(f, "vfio-broker-state 1\nconn 1 1000 1000 %d - - old%s\nlease 1 1 1700000000000000 0 65536 65536%s\n"
                   "group 1 7\n%s", (int) getpid(), conn_flags, lease_mode_fields, extra_records);
        if (records != NO_DEVICE)
                fprintf(f, "device 1 0 0000:00:07.0 7 4\n");
        if (records == EVENTFDS_BY_NAME)
                fprintf(f, "eventfd 1 0 0 3 2 0\neventfd 1 0 1 4 1 0\n");
        if (records == EVENTFDS_BY_ID) /* A first, then B */
                fprintf(f, "eventfd 1 0 0 3 2 0 %d\neventfd 1 0 1 4 1 0 %d\n", id[0], id[1]);
        CHECK(fclose(f) == 0);

        CHECK_EQ_INT(loop_new(&loop), 0);
        broker_config_init(&config);
        config.policy_file = config.policy_dir = "/nonexistent";
        config.sysfs_root = fs.root;
        config.backend = &kernel_backend_fake;
        CHECK_EQ_INT(broker_new(&b, loop, &config), 0);
        CHECK_EQ_INT(persist_new(b, state, &persist), 0);
        CHECK_EQ_INT(persist_adopt(persist, fds, n), 0);
        for (size_t i = 0; i < n; i++)
                CHECK(fds[i].fd < 0); /* each used or closed */
        CHECK(broker_find_lease(b, 1) != NULL);
        CHECK_EQ_INT(broker_find_lease(b, 1)->n_groups, 1);
        return b;
}

static void done(Broker *b) {
        Loop *loop = b->loop;

        persist = persist_free(persist);
        broker_free(b);
        loop_free(loop);
}

/* What a broker of this version stores for the state above, the fds in another order than it sent them. */
static const Stored own_store[] = {
        { "vb-c1", PIDFD }, { "vb-l1", GROUP7 }, { "vb-c1", SOCKET }, { "vb-l1", CONTAINER },
};

static void check_adopted(Records records, const Stored *stored, size_t n, const Said *said, size_t n_said) {
        Listener l;

        listen_start(&l);
        done(adopt(records, stored, n, NULL));
        listen_check(&l, said, n_said);
}

/* The state file's text, whole. */
static void read_state(char *text, size_t size) {
        size_t n;
        FILE *f;

        f = fopen(state, "re");
        CHECK(f);
        n = fread(text, 1, size - 1, f);
        text[n] = 0;
        fclose(f);
}

/* An iommufd lease's mode and IOAS come back, and are written again as they were. */
static void test_lease_mode(void) {
        char text[4096];
        Broker *b;
        Lease *l;

        lease_mode_fields = " 1 5";
        extra_records = "used 4 1000 tenant-a\nused 6 1001\n"; /* the second as an older broker wrote it */
        b = adopt(NO_DEVICE, own_store, ELEMENTSOF(own_store), NULL);
        lease_mode_fields = extra_records = "";
        CHECK_EQ_STR(ledger_find(&b->ledger, 4)->grant, "tenant-a");
        CHECK_EQ_STR(ledger_find(&b->ledger, 6)->grant, "");
        l = broker_find_lease(b, 1);
        CHECK_EQ_INT(lease_mode(l), KERNEL_MODE_IOMMUFD);
        CHECK_EQ_INT(kernel_domain_ioas(l->domain), 5);
        read_state(text, sizeof(text));
        CHECK(strstr(text, "\nlease 1 1 1700000000000000 0 65536 65536 1 5\n"));
        CHECK(strstr(text, "\nused 4 1000 tenant-a\n") && strstr(text, "\nused 6 1001 -\n"));
        done(b);
        /* Written by an older broker: legacy, no IOAS. */
        b = adopt(NO_DEVICE, own_store, ELEMENTSOF(own_store), NULL);
        CHECK_EQ_INT(lease_mode(broker_find_lease(b, 1)), KERNEL_MODE_LEGACY);
        CHECK_EQ_INT(kernel_domain_ioas(broker_find_lease(b, 1)->domain), 0);
        done(b);
}

/* What a connection said in Hello (events, the restart notice) comes back, and is written again. */
static void test_connection_flags(void) {
        static const struct {
                const char *flags;
                bool events, restart_notice;
        } cases[] = {
                { "", false, false },
                { " events", true, false },
                { " restart-notice", false, true },
                { " events restart-notice", true, true },
        };
        char text[4096], line[128];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Connection *c;
                Broker *b;

                conn_flags = cases[i].flags;
                b = adopt(NO_DEVICE, own_store, ELEMENTSOF(own_store), NULL);
                conn_flags = "";
                c = broker_find_lease(b, 1)->connection;
                CHECK_EQ_INT(c->events, cases[i].events);
                CHECK_EQ_INT(c->restart_notice, cases[i].restart_notice);
                read_state(text, sizeof(text));
                snprintf(line, sizeof(line), "\nconn 1 1000 1000 %d - - old%s\n", (int) getpid(), cases[i].flags);
                CHECK(strstr(text, line));
                done(b);
        }
}

static void test_older_store(void) {
        static const Stored stored[] = {
                { "vb-c1", SOCKET }, { "vb-c1-pidfd", PIDFD }, { "vb-l1-ctr", CONTAINER }, { "vb-l1-g7", GROUP7 },
                { "vb-l1-d0-e0", EVENTFD_A }, { "vb-l1-d0-e1", EVENTFD_B },
        };
        static const Said said[] = {
                { "FDSTOREREMOVE=1\nFDNAME=vb-c1-pidfd", 0 },
                { "FDSTOREREMOVE=1\nFDNAME=vb-l1-ctr", 0 },
                { "FDSTOREREMOVE=1\nFDNAME=vb-l1-g7", 0 },
                { "FDSTOREREMOVE=1\nFDNAME=vb-l1-d0-e0", 0 },
                { "FDSTOREREMOVE=1\nFDNAME=vb-l1-d0-e1", 0 },
                { "BARRIER=1", 1 },
                { "FDSTORE=1\nFDPOLL=0\nFDNAME=vb-c1", 2 }, /* systemd keeps the socket it has once and adds the pidfd */
                { "FDSTORE=1\nFDPOLL=0\nFDNAME=vb-l1", 4 },
        };

        check_adopted(EVENTFDS_BY_NAME, stored, ELEMENTSOF(stored), said, ELEMENTSOF(said));
}

static void test_own_store(void) {
        check_adopted(NO_DEVICE, own_store, ELEMENTSOF(own_store), NULL, 0); /* the store already holds all of it */
}

static void test_eventfds_by_id(void) {
        static const Stored stored[] = {
                { "vb-c1", PIDFD }, { "vb-c1", SOCKET }, { "vb-l1", EVENTFD_B }, { "vb-l1", GROUP7 },
                { "vb-l1", EVENTFD_A }, { "vb-l1", CONTAINER },
        };
        int fds[ELEMENTSOF(stored)];
        const LeasedDevice *d;
        Listener l;
        Broker *b;

        listen_start(&l);
        b = adopt(EVENTFDS_BY_ID, stored, ELEMENTSOF(stored), fds);
        listen_check(&l, NULL, 0); /* nothing to store anew */
        d = &broker_find_lease(b, 1)->devices[0];
        CHECK_EQ_INT(d->n_eventfds, 2);
        CHECK_EQ_INT(d->eventfds[0].fd, fds[4]); /* A: the record's first eventfd, wherever the store put it */
        CHECK_EQ_INT(d->eventfds[1].fd, fds[2]);
        CHECK_EQ_INT(kernel_domain_fd(broker_find_lease(b, 1)->domain), fds[5]);
        CHECK_EQ_INT(d->eventfds[0].kind, LEASE_FD_IRQ); /* as the file's numbers say */
        CHECK_EQ_INT(d->eventfds[0].irq_type, IRQ_MSI);
        CHECK_EQ_INT(d->eventfds[1].kind, LEASE_FD_UNMASK);
        CHECK_EQ_INT(d->eventfds[1].irq_type, IRQ_INTX);
        done(b);
}

static void test_fd_let_go(void) {
        /* Group 9 under the lease's name, which the state file does not give the lease: closed on adoption. */
        static const Stored stored[] = {
                { "vb-c1", PIDFD }, { "vb-c1", SOCKET }, { "vb-l1", GROUP9 }, { "vb-l1", CONTAINER }, { "vb-l1", GROUP7 },
        };
        static const Said said[] = {
                { "FDSTOREREMOVE=1\nFDNAME=vb-l1", 0 }, /* or systemd would keep group 9 open */
                { "BARRIER=1", 1 },
                { "FDSTORE=1\nFDPOLL=0\nFDNAME=vb-l1", 2 },
        };

        check_adopted(NO_DEVICE, stored, ELEMENTSOF(stored), said, ELEMENTSOF(said));
}

/* Adopt the own store, let @change grow the lease: the broker must then say @said, and nothing more. */
static void check_growth(void (*change)(Broker *b, Lease *l), const Said *said, size_t n_said) {
        Broker *b = adopt(NO_DEVICE, own_store, ELEMENTSOF(own_store), NULL);
        Listener l;

        listen_start(&l);
        change(b, broker_find_lease(b, 1));
        broker_changed(b);
        listen_check(&l, said, n_said);
        done(b);
}

static void add_group9(Broker *b, Lease *lease) {
        KernelGroup *kg;
        Group *g;

        CHECK_EQ_INT(kernel_group_adopt(b->config.backend, 9, (int[]) { kernel_fake_fd(KERNEL_FAKE_GROUP, 9) }, 1, lease->domain, &kg), 0);
        CHECK_EQ_INT(group_new(b, 9, kg, NULL, 0, &g), 0);
        CHECK_EQ_INT(lease_add_group(lease, g), 0);
}

static void test_lease_grows(void) {
        static const Said said[] = {
                { "FDSTORE=1\nFDPOLL=0\nFDNAME=vb-l1", 3 }, /* all of them: systemd keeps those it has once */
        };

        check_growth(add_group9, said, ELEMENTSOF(said));
}

static void add_300_eventfds(Broker *b, Lease *lease) {
        LeasedDevice d = { .bdf = "0000:00:07.0", .group = lease->groups[0], .fd = kernel_fake_fd(KERNEL_FAKE_DEVICE, 0),
                           .kernel_request = -EBADF };

        CHECK_EQ_INT(lease_add_device(lease, &d), 0);
        for (uint32_t k = 0; k < 300; k++)
                CHECK_EQ_INT(leased_device_keep_eventfd(&lease->devices[0], eventfd(0, EFD_CLOEXEC), LEASE_FD_IRQ,
                                                        IRQ_MSIX, k), 0);
}

static void test_big_lease(void) {
        static const Said said[] = {
                /* container, group and 300 eventfds: more than one message may carry */
                { "FDSTORE=1\nFDPOLL=0\nFDNAME=vb-l1", 250 },
                { "FDSTORE=1\nFDPOLL=0\nFDNAME=vb-l1", 52 },
        };

        check_growth(add_300_eventfds, said, ELEMENTSOF(said));
}

static void test_release(void) {
        static const Said said[] = {
                { "FDSTOREREMOVE=1\nFDNAME=vb-c1", 0 },
                { "FDSTOREREMOVE=1\nFDNAME=vb-l1", 0 },
                { "BARRIER=1", 1 }, /* group 7 is free once systemd let go of it */
        };
        Broker *b = adopt(NO_DEVICE, own_store, ELEMENTSOF(own_store), NULL);
        char events[4096];
        size_t n_writes = 0;
        Listener l;
        ssize_t n;
        int watch;

        watch = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        CHECK(watch >= 0);
        /* Creates between renames: inotify would merge two renames in a row into one event. */
        CHECK(inotify_add_watch(watch, dir, IN_CREATE | IN_MOVED_TO) >= 0);
        listen_start(&l);
        lease_release(broker_find_lease(b, 1), "test");
        listen_check(&l, said, ELEMENTSOF(said));
        CHECK(broker_find_group(b, 7) == NULL);
        while ((n = read(watch, events, sizeof(events))) > 0)
                for (char *p = events; p < events + n; p += sizeof(struct inotify_event) + ((struct inotify_event *) p)->len)
                        n_writes += !!(((struct inotify_event *) p)->mask & IN_MOVED_TO);
        CHECK_EQ_INT(n_writes, 1); /* the lease and its group: one state file */
        close(watch);
        done(b);
}

int main(void) {
        CHECK(mkdtemp(dir));
        snprintf(state, sizeof(state), "%s/state", dir);
        fake_sysfs_init(&fs);
        fake_sysfs_add(&fs, "0000:00:07.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 7);
        fake_sysfs_add(&fs, "0000:00:09.0", "0x1234", "0x11e8", "0x00ff00", "vfio-pci", 9);
        RUN(test_older_store);
        RUN(test_lease_mode);
        RUN(test_connection_flags);
        RUN(test_own_store);
        RUN(test_eventfds_by_id);
        RUN(test_fd_let_go);
        RUN(test_lease_grows);
        RUN(test_big_lease);
        RUN(test_release);
        fake_sysfs_done(&fs);
        unlink(state);
        snprintf(state, sizeof(state), "%s/notify", dir);
        unlink(state);
        rmdir(dir);
        return 0;
}
