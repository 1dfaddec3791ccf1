/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * acquire-latency ITERATIONS BDF: acquire plus release of one device, three
 * ways taking turns (so that all see the same noise), each timed ITERATIONS
 * times after a warm-up of a tenth as many.  Runs as root.
 *
 *   broker   through vfio-brokerd with libvfio-broker (no IRQs): Acquire,
 *            close the lease's fds, Release (which must find the group free)
 *   direct   in this process, the VFIO ioctl sequence the broker
 *            does for the same work, with the broker's own ioctl wrappers
 *            (daemon/kernel/vfio.c): open the container, open the group, check it
 *            viable, attach it, set the type1 IOMMU, get the device fd;
 *            then close the device, detach the group, and the reset pass
 *            the broker makes after every release (attach the group to a
 *            fresh container, open each device, reset it if it can), close
 *   switched the direct sequence with the four process switches a broker's
 *            two round trips force on one CPU and nothing else: a 1-byte
 *            hop to an idle helper process (there and back) before the
 *            acquire half and another before the release half.  Not a
 *            target's baseline: it tells the cost of being a separate
 *            process apart from the broker's own work.
 *
 * Prints the BENCH/BENCHCDF lines of stats.h, series "acquire-direct",
 * "acquire-broker" and "acquire-switched".
 *
 * acquire-latency --compare ITERATIONS BDF SOCKET_A PID_A SOCKET_B PID_B:
 * the same acquire + release through two brokers (two builds, as bench/compare
 * runs them side by side) taking turns with two 1-byte hops (the process
 * switches alone), series "compare-a", "compare-b" and "compare-hops"; and a
 * BENCHCPU line per broker: the CPU time it spent per call (its schedstat),
 * which the noise of the other processes does not reach.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cycle.h"
#include "stats.h"
#include "vfio-broker.h"
#include "kernel/vfio.h"

static void check(int r, const char *what) {
        if (r < 0)
                die(what, r);
}

/* The broker's reset pass after a release: the group in a container of its own, each device reset. */
static void reset_pass(int group_fd, const char *bdf) {
        struct vfio_device_info info;
        int container, device;

        check(vfio_container_open(&container), "opening /dev/vfio/vfio (reset)");
        check(vfio_group_set_container(group_fd, container), "VFIO_GROUP_SET_CONTAINER (reset)");
        check(vfio_container_set_iommu(container), "VFIO_SET_IOMMU (reset)");
        check(vfio_group_get_device(group_fd, bdf, &device), "VFIO_GROUP_GET_DEVICE_FD (reset)");
        check(vfio_device_get_info(device, &info), "VFIO_DEVICE_GET_INFO");
        if (info.flags & VFIO_DEVICE_FLAGS_RESET)
                (void) vfio_device_reset(device);
        close(device);
        check(vfio_group_unset_container(group_fd), "VFIO_GROUP_UNSET_CONTAINER (reset)");
        close(container);
}

/* The helper's end of the hop: echo each byte until the other end closes. */
__attribute__((noreturn)) static void echo_bytes(int fd) {
        char byte;

        while (read(fd, &byte, 1) == 1 && write(fd, &byte, 1) == 1)
                ;
        _exit(EXIT_SUCCESS);
}

/* To the helper and back: two process switches on one CPU. */
static void hop(int helper) {
        char byte = 0;

        if (write(helper, &byte, 1) != 1 || read(helper, &byte, 1) != 1)
                die("the hop to the helper process", errno ? errno : EIO);
}

/* The broker's ioctls done here; @helper >= 0: with a hop before each half. */
static void direct_once(int group, const char *bdf, int helper) {
        int container, group_fd, device;

        if (helper >= 0)
                hop(helper);
        check(vfio_container_open(&container), "opening /dev/vfio/vfio");
        check(vfio_group_open(group, &group_fd), "opening the group");
        if (vfio_group_viable(group_fd) <= 0)
                die("the group is not viable", EPERM);
        check(vfio_group_set_container(group_fd, container), "VFIO_GROUP_SET_CONTAINER");
        check(vfio_container_set_iommu(container), "VFIO_SET_IOMMU");
        check(vfio_group_get_device(group_fd, bdf, &device), "VFIO_GROUP_GET_DEVICE_FD");
        /* release */
        if (helper >= 0)
                hop(helper);
        close(device);
        check(vfio_group_unset_container(group_fd), "VFIO_GROUP_UNSET_CONTAINER");
        reset_pass(group_fd, bdf);
        close(group_fd);
        close(container);
}

static void broker_once(vfio_broker *b, const char *bdf) {
        acquire_release(b, bdf, "acquire-latency");
}

static vfio_broker *connect_broker(const char *socket) {
        vfio_broker *b = NULL;
        int r;

        r = vfio_broker_connect(socket, &b);
        if (r >= 0)
                r = vfio_broker_hello(b, "acquire-latency");
        if (r < 0)
                die(socket ? socket : "connecting to the broker", r);
        return b;
}

/* What the ways of either mode need: the brokers, the device, its group, the hop helper. */
typedef struct Ways {
        vfio_broker *broker[2];
        const char *bdf;
        int group;
        int helper;
} Ways;

/*
 * @rounds rounds of every one of @n_ways ways, turn about, the order changing
 * each round so that all see the same noise; each call timed into @s[way]
 * unless @s is NULL (the warm-up).
 */
static void take_turns(size_t rounds, int n_ways, void (*once)(const Ways *w, int way), const Ways *w, Samples *s) {
        for (size_t i = 0; i < rounds; i++)
                for (int k = 0; k < n_ways; k++) {
                        int which = (int) ((i + (size_t) k) % (size_t) n_ways);
                        uint64_t t = now_ns();

                        once(w, which);
                        if (s)
                                samples_add(&s[which], now_ns() - t);
                }
}

/* The helper gone (it reads EOF and exits), every series reported. */
static void finish(const Ways *w, pid_t helper_pid, Samples *s, const char *const *names, int n_ways) {
        close(w->helper);
        waitpid(helper_pid, NULL, 0);
        for (int k = 0; k < n_ways; k++) {
                samples_report(&s[k], names[k]);
                samples_done(&s[k]);
        }
}

enum { COMPARE_A, COMPARE_B, COMPARE_HOPS, N_COMPARE };

static void compare_once(const Ways *w, int way) {
        if (way == COMPARE_HOPS) {
                hop(w->helper);
                hop(w->helper);
        } else
                broker_once(w->broker[way], w->bdf);
}

static int compare(int argc, char **argv) {
        static const char *const names[N_COMPARE] = { "compare-a", "compare-b", "compare-hops" };
        size_t iterations;
        pid_t pid[2], helper_pid;
        uint64_t cpu[2];
        Ways w = { .bdf = argv[3] };
        Samples s[N_COMPARE];

        if (argc != 8) {
                fprintf(stderr, "usage: acquire-latency --compare ITERATIONS BDF SOCKET_A PID_A SOCKET_B PID_B\n");
                return EXIT_FAILURE;
        }
        iterations = parse_count(argv[2], "iteration count");
        w.helper = fork_server(echo_bytes, &helper_pid);
        for (int k = 0; k < 2; k++) {
                w.broker[k] = connect_broker(argv[4 + 2 * k]);
                pid[k] = (pid_t) parse_count(argv[5 + 2 * k], "broker pid");
        }
        for (int k = 0; k < N_COMPARE; k++)
                samples_init(&s[k], iterations);

        take_turns(iterations / 10 + 1, N_COMPARE, compare_once, &w, NULL);
        for (int k = 0; k < 2; k++)
                cpu[k] = cpu_ns(pid[k]);
        take_turns(iterations, N_COMPARE, compare_once, &w, s);
        for (int k = 0; k < 2; k++)
                printf("BENCHCPU series=%s ns_per_call=%llu\n", names[k],
                       (unsigned long long) ((cpu_ns(pid[k]) - cpu[k]) / iterations));

        finish(&w, helper_pid, s, names, N_COMPARE);
        for (int k = 0; k < 2; k++)
                vfio_broker_disconnect(w.broker[k]);
        return EXIT_SUCCESS;
}

enum { DIRECT, BROKER, SWITCHED, N_WAYS };

static void acquire_once(const Ways *w, int way) {
        if (way == BROKER)
                broker_once(w->broker[0], w->bdf);
        else
                direct_once(w->group, w->bdf, way == SWITCHED ? w->helper : -EBADF);
}

int main(int argc, char **argv) {
        static const char *const names[N_WAYS] = { "acquire-direct", "acquire-broker", "acquire-switched" };
        size_t iterations;
        pid_t helper_pid;
        Ways w = {};
        Samples s[N_WAYS];

        if (argc > 1 && strcmp(argv[1], "--compare") == 0)
                return compare(argc, argv);
        if (argc != 3) {
                fprintf(stderr, "usage: acquire-latency ITERATIONS BDF\n"
                                "       acquire-latency --compare ITERATIONS BDF SOCKET_A PID_A SOCKET_B PID_B\n");
                return EXIT_FAILURE;
        }
        iterations = parse_count(argv[1], "iteration count");
        w.bdf = argv[2];
        w.group = iommu_group_of(argv[2]);
        w.helper = fork_server(echo_bytes, &helper_pid); /* before the broker's socket exists: the helper holds no copy */
        w.broker[0] = connect_broker(NULL);
        for (int k = 0; k < N_WAYS; k++)
                samples_init(&s[k], iterations);

        take_turns(iterations / 10 + 1, N_WAYS, acquire_once, &w, NULL);
        take_turns(iterations, N_WAYS, acquire_once, &w, s);

        finish(&w, helper_pid, s, names, N_WAYS);
        vfio_broker_disconnect(w.broker[0]);
        return EXIT_SUCCESS;
}
