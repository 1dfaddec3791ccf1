/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * reset-beside ITERATIONS BDF TAG TENANT_BDF...: a client's FetchLease while
 * another tenant's leases end with resets.
 *
 * The client leases BDF with INTx (4 fds back per FetchLease, as in
 * fds-latency).  A forked tenant, on a connection of its own, acquires the
 * TENANT_BDFs (one lease) and releases them, over and over, while a flag
 * shared with the client says so: each release resets them, off the broker's
 * loop (a function-level reset, or a bus reset of a group that has only
 * that), and the Release reply waits for it.  The client times FetchLease in
 * blocks of 50 that take turns, so that a noisy machine slows both alike: the
 * tenant paused and idle (series "fetch-alone-TAG"), and the tenant's
 * releases (series "fetch-beside-TAG": only calls that began and ended
 * within one of its releases count; its acquires are the broker's loop
 * working for it, which a single-threaded broker serialises).  Also prints
 *   BENCHRESET tag=TAG cycles=N cycle_us=M
 * the tenant's acquire + release cycles during the run and their mean.
 * TENANT_BDF "sysfs:BDF" is the baseline with no broker in it: the tenant
 * resets BDF (free, on vfio-pci) through its sysfs reset file instead, and
 * the client's calls within each reset count.  "vfio:BDF BDF..." is the
 * baseline of a bus reset: the tenant, as root, does the kernel's part of
 * a release itself (the group into a container of its own, each device
 * opened, VFIO_DEVICE_PCI_HOT_RESET, closed, detached), no broker in it.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stats.h"
#include "vfio-broker.h"
#include "kernel/vfio.h"

#define BLOCK 50

typedef struct Shared {
        atomic_int run;                 /* 1: cycle; 0: pause; -1: exit */
        atomic_int idle;                /* the tenant is between cycles, holding nothing */
        atomic_ulong cycles;
        atomic_ulong cycle_ns;
        atomic_ulong release_seq;       /* odd: a release is under way */
} Shared;

static vfio_broker *connect_hello(const char *name) {
        vfio_broker *b = NULL;
        int r;

        r = vfio_broker_connect(NULL, &b);
        if (r >= 0)
                r = vfio_broker_hello(b, name);
        if (r < 0)
                die("connect and Hello", r);
        return b;
}

/* The tenant's turn: idle while the client says pause, gone when it says exit. */
static void await_turn(Shared *sh) {
        while (atomic_load(&sh->run) == 0) {
                atomic_store(&sh->idle, 1);
                usleep(1000);
        }
        if (atomic_load(&sh->run) < 0)
                _exit(0);
        atomic_store(&sh->idle, 0);
}

/* The baseline: the same reset with no broker in it, as root writes the device's sysfs reset file. */
static void sysfs_tenant(Shared *sh, const char *bdf) {
        char path[128];

        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/reset", bdf);
        for (;;) {
                uint64_t t;
                FILE *f;

                await_turn(sh);
                t = now_ns();
                atomic_fetch_add(&sh->release_seq, 1);
                f = fopen(path, "we");
                if (!f || fputs("1", f) < 0 || fclose(f) != 0)
                        die(path, errno);
                atomic_fetch_add(&sh->release_seq, 1);
                atomic_fetch_add(&sh->cycle_ns, now_ns() - t);
                atomic_fetch_add(&sh->cycles, 1);
        }
}

static void check(int r, const char *what) {
        if (r < 0)
                die(what, r);
}

/* The baseline of a bus reset: what the broker's release asks of the kernel, done here by root. */
static void vfio_tenant(Shared *sh, char **bdfs, int n) {
        int group_fd, devices[8];

        check(vfio_group_open(iommu_group_of(bdfs[0]), &group_fd), "opening the group");
        for (;;) {
                uint64_t t;
                int container;

                await_turn(sh);
                t = now_ns();
                atomic_fetch_add(&sh->release_seq, 1);
                check(vfio_container_open(&container), "opening /dev/vfio/vfio");
                check(vfio_group_set_container(group_fd, container), "VFIO_GROUP_SET_CONTAINER");
                check(vfio_container_set_iommu(container), "VFIO_SET_IOMMU");
                for (int i = 0; i < n; i++)
                        check(vfio_group_get_device(group_fd, bdfs[i], &devices[i]), "VFIO_GROUP_GET_DEVICE_FD");
                check(vfio_device_hot_reset(devices[0], &group_fd, 1), "VFIO_DEVICE_PCI_HOT_RESET");
                for (int i = 0; i < n; i++)
                        close(devices[i]);
                check(vfio_group_unset_container(group_fd), "VFIO_GROUP_UNSET_CONTAINER");
                close(container);
                atomic_fetch_add(&sh->release_seq, 1);
                atomic_fetch_add(&sh->cycle_ns, now_ns() - t);
                atomic_fetch_add(&sh->cycles, 1);
        }
}

static void tenant(Shared *sh, char **bdfs, int n) {
        struct vfio_broker_device_request want[8] = {};
        vfio_broker *b;

        if (strncmp(bdfs[0], "sysfs:", 6) == 0)
                sysfs_tenant(sh, bdfs[0] + 6);
        if (strncmp(bdfs[0], "vfio:", 5) == 0) {
                bdfs[0] += 5;
                vfio_tenant(sh, bdfs, n > 8 ? 8 : n);
        }
        b = connect_hello("reset-beside-tenant");

        for (int i = 0; i < n; i++)
                want[i].bdf = bdfs[i];
        for (;;) {
                vfio_broker_lease *l = NULL;
                uint64_t t, id;
                int r;

                await_turn(sh);
                t = now_ns();
                r = vfio_broker_acquire(b, 0, want, (size_t) n, &l);
                if (r < 0) {
                        fprintf(stderr, "reset-beside: tenant acquire: %s (%s)\n", strerror(-r),
                                vfio_broker_error_message(b));
                        _exit(1);
                }
                id = vfio_broker_lease_id(l);
                vfio_broker_lease_free(l);
                atomic_fetch_add(&sh->release_seq, 1);
                r = vfio_broker_release(b, id);
                atomic_fetch_add(&sh->release_seq, 1);
                if (r < 0)
                        die("tenant release", r);
                atomic_fetch_add(&sh->cycle_ns, now_ns() - t);
                atomic_fetch_add(&sh->cycles, 1);
        }
}

/* BLOCK FetchLease calls into @s; with @sh, only those that began and ended within one release of the tenant. */
static void fetch_block(vfio_broker *b, uint64_t id, Samples *s, Shared *sh) {
        for (int i = 0; i < BLOCK;) {
                vfio_broker_lease *again = NULL;
                unsigned long seq = 0;
                uint64_t t, dt;
                int r;

                if (sh) {
                        while (((seq = atomic_load(&sh->release_seq)) & 1) == 0)
                                sched_yield();
                }
                t = now_ns();
                r = vfio_broker_fetch_lease(b, id, &again);
                dt = now_ns() - t;
                if (r < 0)
                        die("FetchLease", r);
                vfio_broker_lease_free(again);
                if (sh && atomic_load(&sh->release_seq) != seq)
                        continue;
                samples_add(s, dt);
                i++;
        }
}

int main(int argc, char **argv) {
        struct vfio_broker_irq_request intx = { .type = VFIO_BROKER_IRQ_INTX, .count = 1 };
        struct vfio_broker_device_request want = { .irqs = &intx, .n_irqs = 1 };
        char alone_name[64], beside_name[64];
        vfio_broker_lease *l = NULL;
        Samples alone, beside;
        size_t iterations;
        unsigned long cycles;
        vfio_broker *b;
        Shared *sh;
        pid_t pid;
        int r, status;

        if (argc < 5 || argc > 12) {
                fprintf(stderr, "usage: reset-beside ITERATIONS BDF TAG TENANT_BDF...\n");
                return EXIT_FAILURE;
        }
        iterations = parse_count(argv[1], "ITERATIONS");
        want.bdf = argv[2];
        snprintf(alone_name, sizeof(alone_name), "fetch-alone-%s", argv[3]);
        snprintf(beside_name, sizeof(beside_name), "fetch-beside-%s", argv[3]);
        sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (sh == MAP_FAILED)
                die("mmap", errno);
        memset(sh, 0, sizeof(*sh));

        b = connect_hello("reset-beside");
        r = vfio_broker_acquire(b, 0, &want, 1, &l);
        if (r < 0)
                die("acquire", r);
        pid = fork();
        if (pid < 0)
                die("fork", errno);
        if (pid == 0)
                tenant(sh, argv + 4, argc - 4);

        samples_init(&alone, iterations);
        samples_init(&beside, iterations);
        fetch_block(b, vfio_broker_lease_id(l), &alone, NULL); /* warm-up, dropped */
        samples_done(&alone);
        samples_init(&alone, iterations);
        while (alone.n < iterations || beside.n < iterations) {
                atomic_store(&sh->run, 0);
                while (!atomic_load(&sh->idle))
                        usleep(1000);
                fetch_block(b, vfio_broker_lease_id(l), &alone, NULL);
                atomic_store(&sh->run, 1);
                fetch_block(b, vfio_broker_lease_id(l), &beside, sh);
        }
        atomic_store(&sh->run, -1);
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                die("the tenant failed", EIO);
        samples_report(&alone, alone_name);
        samples_report(&beside, beside_name);
        cycles = atomic_load(&sh->cycles);
        printf("BENCHRESET tag=%s cycles=%lu cycle_us=%lu\n", argv[3], cycles,
               cycles ? atomic_load(&sh->cycle_ns) / cycles / 1000 : 0);
        samples_done(&alone);
        samples_done(&beside);
        vfio_broker_lease_free(l);
        vfio_broker_disconnect(b);
        return EXIT_SUCCESS;
}
