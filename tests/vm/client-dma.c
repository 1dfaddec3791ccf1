/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * client-dma [--hold] [--fork-child] [BDF...]: an unprivileged client on
 * libvfio-broker (no BDF: those the environment's VFIO_BROKER_DEVICE_* name,
 * as in a container with CDI devices).  Acquires the first BDF with one MSI
 * vector in a new lease and every further BDF into the same lease, one acquire each (so a sibling
 * of the same IOMMU group joins the lease it already reserves).  For each
 * device it maps a buffer of its own on the lease's container fd and has the
 * edu device DMA it in and back out, each completion arriving on the
 * broker's eventfd.  Then it releases the lease.
 *   --hold        instead of releasing: print "holding" and sleep until killed
 *   --steal-req   instead of releasing: take the first device's REQ interrupt
 *                 away from the broker (VFIO_DEVICE_SET_IRQS with an eventfd
 *                 of our own), ignore SIGTERM, print "holding" and sleep
 *                 until killed: a client that hears no unbind
 *   --fork-child  instead of releasing: fork a child that keeps every fd and
 *                 sleeps until killed, print its pid, and exit
 *   --intx        ask for INTx (trigger and unmask eventfds) instead of MSI
 *   --iommufd     lease in iommufd driver mode: map on the lease's IOAS of
 *                 its iommufd (IOMMU_IOAS_MAP), the device fds being cdevs
 *   --wait-req    ask for the REQ interrupt too; instead of releasing:
 *                 print "holding", wait until the broker signals the REQ
 *                 eventfd (it wants the device back), then close every
 *                 fd, say so and exit
 *   --honour-recall
 *                 instead of releasing at once: print "holding", wait for
 *                 the broker's LeaseEvent that recalls the lease
 *                 (vfio_broker_next_event()), release it, say so, and keep
 *                 running until SIGTERM (exit 0)
 *   --two-leases BYTES
 *                 exactly two BDFs, each in a lease of its own, the second's
 *                 MemlockLimit BYTES (larger than the first's): lower our own
 *                 RLIMIT_MEMLOCK to 64 KiB, acquire both, release the first,
 *                 then map BYTES / 2 for DMA on the second (its budget must
 *                 still be in force), release it, and check that 64 KiB is
 *                 back
 *   --hold-dma    instead of releasing at once: print "holding", then on each
 *                 SIGUSR1 do every DMA round trip again (to show the lease
 *                 still works, say after a broker restart), and on SIGTERM
 *                 release the lease over the same connection and exit
 *   --fetch       before releasing: fetch the lease's fds again, close the
 *                 first ones, and do each device's DMA round trip once more
 *                 on the fetched fds alone; with --hold-dma, so on each
 *                 SIGUSR1 (after a broker restart: the fds it adopted)
 *   --again       after the release, acquire every BDF again at once (a
 *                 group the broker called free must be free), DMA, release
 *   --expect-memlock BYTES
 *                 check that /proc/self/limits shows a locked-memory limit
 *                 of BYTES during the lease, that a DMA mapping of twice
 *                 that fails, and that the old limit is back after release
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kcmp.h>
#include <linux/vfio.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "edu.h"
#include "kernel/iommufd-uapi.h"
#include "vfio-broker.h"

static int fail(vfio_broker *b, const char *what, int r) {
        fprintf(stderr, "client-dma: %s: %s%s%s\n", what, strerror(-r),
                b && *vfio_broker_error_message(b) ? ": " : "", b ? vfio_broker_error_message(b) : "");
        return EXIT_FAILURE;
}

static bool intx;
static enum vfio_broker_backend backend = VFIO_BROKER_BACKEND_LEGACY;

/* The lease's domain: its container, or its iommufd. */
static int domain_fd(const vfio_broker_lease *lease) {
        return vfio_broker_lease_find_fd(lease, backend == VFIO_BROKER_BACKEND_LEGACY ? VFIO_BROKER_FD_CONTAINER
                                                                                      : VFIO_BROKER_FD_IOMMUFD,
                                         NULL, 0, 0);
}

/* Whether two leases' domains are one open file (kcmp), and for iommufd one IOAS. */
static bool same_domain(const vfio_broker_lease *a, const vfio_broker_lease *b) {
        pid_t self = getpid();

        if (syscall(SYS_kcmp, self, self, KCMP_FILE, domain_fd(a), domain_fd(b)) != 0)
                return false;
        return backend == VFIO_BROKER_BACKEND_LEGACY || vfio_broker_lease_ioas(a) == vfio_broker_lease_ioas(b);
}

/* Map @size bytes at @buf for DMA at @iova on the lease's domain: 0 or -errno. */
static int map_dma(const vfio_broker_lease *lease, void *buf, size_t size, uint64_t iova) {
        if (backend == VFIO_BROKER_BACKEND_LEGACY) {
                struct vfio_iommu_type1_dma_map map = {
                        .argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                        .vaddr = (uintptr_t) buf, .iova = iova, .size = size,
                };
                return ioctl(domain_fd(lease), VFIO_IOMMU_MAP_DMA, &map) < 0 ? -errno : 0;
        }
        struct iommu_ioas_map map = {
                .size = sizeof(map), .ioas_id = vfio_broker_lease_ioas(lease),
                .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
                .user_va = (uintptr_t) buf, .length = size, .iova = iova,
        };
        return ioctl(domain_fd(lease), IOMMU_IOAS_MAP, &map) < 0 ? -errno : 0;
}

/* The soft "Max locked memory" of /proc/self/limits; -1 for unlimited. */
static long long memlock_from_proc(void) {
        char line[256];
        long long v = -2;
        FILE *f = fopen("/proc/self/limits", "re");

        if (!f)
                return -2;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "Max locked memory", 17) == 0) {
                        char soft[32];

                        if (sscanf(line + 17, "%31s", soft) == 1)
                                v = strcmp(soft, "unlimited") == 0 ? -1 : atoll(soft);
                }
        fclose(f);
        return v;
}

/* A mapping past the limit must fail: the broker's MemlockLimit is what the kernel charges. */
static int check_memlock(vfio_broker *b, const vfio_broker_lease *lease, long long limit) {
        long long now = memlock_from_proc();
        size_t size = (size_t) limit * 2;
        void *buf;
        int r;

        printf("client-dma: Max locked memory in /proc/self/limits during the lease: %lld\n", now);
        if (now != limit)
                return fail(b, "the lease's MemlockLimit is not in force", -EINVAL);
        buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (buf == MAP_FAILED)
                return fail(b, "mmap", -errno);
        memset(buf, 1, size);
        r = map_dma(lease, buf, size, 0x8000000);
        if (r == 0)
                return fail(b, "a DMA mapping beyond MemlockLimit succeeded", -EINVAL);
        printf("client-dma: mapping %zu bytes for DMA failed (%s), as the limit demands\n", size, strerror(-r));
        munmap(buf, size);
        return 0;
}

static int dma_one(vfio_broker *b, const vfio_broker_lease *lease, const char *bdf, uint64_t iova) {
        enum vfio_broker_irq_type type = intx ? VFIO_BROKER_IRQ_INTX : VFIO_BROKER_IRQ_MSI;
        int container, device, irq, unmask = -1, r;
        Edu edu;

        container = domain_fd(lease);
        device = vfio_broker_lease_find_fd(lease, VFIO_BROKER_FD_DEVICE, bdf, 0, 0);
        irq = vfio_broker_lease_find_fd(lease, VFIO_BROKER_FD_IRQ, bdf, type, 0);
        if (intx)
                unmask = vfio_broker_lease_find_fd(lease, VFIO_BROKER_FD_UNMASK, bdf, type, 0);
        if (container < 0 || device < 0 || irq < 0 || (intx && unmask < 0))
                return fail(b, "the lease lacks an fd", -ENOENT);
        printf("client-dma: uid %u, lease %llu, %s: %s fd %d, device fd %d, %s eventfd %d%s\n",
               (unsigned) getuid(), (unsigned long long) vfio_broker_lease_id(lease), bdf,
               backend == VFIO_BROKER_BACKEND_LEGACY ? "container" : "iommufd", container, device,
               intx ? "INTx" : "MSI", irq, intx ? " (+ unmask eventfd)" : "");
        r = edu_open(&edu, device);
        if (r < 0)
                return fail(b, "edu_open", r);
        if (backend == VFIO_BROKER_BACKEND_LEGACY)
                r = edu_dma_roundtrip(&edu, container, irq, unmask, iova, (uint8_t) (0xa5 + iova / 0x100000));
        else
                r = edu_dma_roundtrip_ioas(&edu, container, vfio_broker_lease_ioas(lease), irq, unmask, iova,
                                           (uint8_t) (0xa5 + iova / 0x100000));
        edu_close(&edu);
        if (r < 0)
                return fail(b, "DMA round trip", r);
        printf("client-dma: %s: DMA round trip through the broker's lease passed\n", bdf);
        return 0;
}

/* Fetch the lease's fds again, drop the first ones, and DMA on the fetched ones (from @iova on). */
static int fetch_again(vfio_broker *b, uint64_t lease_id, vfio_broker_lease **leases, int n, const char *const *bdfs,
                       uint64_t iova) {
        const struct vfio_broker_fd *fds;
        vfio_broker_lease *again = NULL;
        size_t want = 1 + (size_t) n * (intx ? 3 : 2);
        int r;

        r = vfio_broker_fetch_lease(b, lease_id, &again);
        if (r < 0)
                return fail(b, "fetch lease", r);
        if (vfio_broker_lease_fds(again, &fds) != want)
                return fail(b, "the fetched lease has the wrong number of fds", -EINVAL);
        for (int k = 0; k < n; k++)
                leases[k] = vfio_broker_lease_free(leases[k]);
        printf("client-dma: fetched lease %llu again: %zu fds; the first ones closed\n",
               (unsigned long long) lease_id, want);
        for (int k = 0; k < n; k++)
                if (dma_one(b, again, bdfs[k], iova + 0x100000 * (uint64_t) k) != 0)
                        return EXIT_FAILURE;
        vfio_broker_lease_free(again);
        return 0;
}

/* Acquire @bdfs into one lease (the first makes it), a DMA round trip on each; 0 or the exit status. */
static int acquire_all(vfio_broker *b, char **bdfs, int count, struct vfio_broker_irq_request *irq_want, bool wait_req,
                       long long expect_memlock, vfio_broker_lease **leases, uint64_t *lease_id) {
        *lease_id = 0;
        for (int n = 0; n < count; n++) {
                struct vfio_broker_device_request want = { .bdf = bdfs[n], .irqs = irq_want,
                                                           .n_irqs = wait_req && n == 0 ? 2 : 1 };
                int r;

                r = vfio_broker_acquire_backend(b, *lease_id, backend, &want, 1, &leases[n]);
                if (r < 0)
                        return fail(b, "acquire", r);
                *lease_id = vfio_broker_lease_id(leases[n]);
                if (expect_memlock && n == 0 && check_memlock(b, leases[n], expect_memlock) != 0)
                        return EXIT_FAILURE;
                /* Every acquire into the lease hands the same container (or iommufd and IOAS) again. */
                if (n > 0 && !same_domain(leases[0], leases[n])) {
                        fprintf(stderr, "client-dma: %s joined the lease in another %s than %s\n", bdfs[n],
                                backend == VFIO_BROKER_BACKEND_LEGACY ? "container" : "iommufd or IOAS", bdfs[0]);
                        return EXIT_FAILURE;
                }
                if (dma_one(b, leases[n], bdfs[n], 0x100000 * (uint64_t) (n + 1)) != 0)
                        return EXIT_FAILURE;
        }
        return 0;
}

/* Free our copies of the lease's fds and release it; 0 or the exit status. */
static volatile sig_atomic_t terminated;

static void on_term(int sig) {
        terminated = 1;
}

static int release_all(vfio_broker *b, vfio_broker_lease **leases, int n, uint64_t lease_id) {
        int r;

        for (int k = 0; k < n; k++)
                vfio_broker_lease_free(leases[k]);
        r = vfio_broker_release(b, lease_id);
        if (r != 0)
                return fail(b, "release (expected the groups to be free at once)", r < 0 ? r : -EBUSY);
        printf("client-dma: released lease %llu\n", (unsigned long long) lease_id);
        return 0;
}

/* --two-leases: the first lease's end must leave the second's MemlockLimit in force (policy/README.md). */
static int two_leases(vfio_broker *b, char **bdfs, long long big) {
        const struct rlimit small = { .rlim_cur = 65536, .rlim_max = 65536 };
        vfio_broker_lease *first = NULL, *second = NULL;
        size_t size = (size_t) big / 2;
        uint64_t first_id;
        void *buf;
        int r;

        if (setrlimit(RLIMIT_MEMLOCK, &small) < 0)
                return fail(b, "setrlimit", -errno);
        r = vfio_broker_acquire_backend(b, 0, backend, &(struct vfio_broker_device_request) { .bdf = bdfs[0] }, 1, &first);
        if (r == 0)
                r = vfio_broker_acquire_backend(b, 0, backend, &(struct vfio_broker_device_request) { .bdf = bdfs[1] }, 1,
                                                &second);
        if (r < 0)
                return fail(b, "acquire", r);
        printf("client-dma: two leases, Max locked memory %lld\n", memlock_from_proc());
        if (memlock_from_proc() != big)
                return fail(b, "the larger MemlockLimit is not in force with both leases", -EINVAL);
        first_id = vfio_broker_lease_id(first);
        vfio_broker_lease_free(first);
        r = vfio_broker_release(b, first_id);
        if (r < 0)
                return fail(b, "release of the first lease", r);
        printf("client-dma: the first lease released, Max locked memory %lld\n", memlock_from_proc());
        buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (buf == MAP_FAILED)
                return fail(b, "mmap", -errno);
        memset(buf, 1, size);
        r = map_dma(second, buf, size, 0x8000000);
        if (r < 0)
                return fail(b, "a DMA mapping within the second lease's MemlockLimit, after the first lease ended", r);
        printf("client-dma: mapped %zu bytes for DMA on the second lease\n", size);
        r = vfio_broker_release(b, vfio_broker_lease_id(second));
        vfio_broker_lease_free(second);
        munmap(buf, size);
        if (r < 0)
                return fail(b, "release of the second lease", r);
        printf("client-dma: both released, Max locked memory %lld\n", memlock_from_proc());
        if (memlock_from_proc() != 65536)
                return fail(b, "the limit from before the first lease was not restored", -EINVAL);
        return 0;
}

int main(int argc, char **argv) {
        struct vfio_broker_irq_request irq_want[2] = {
                { .type = VFIO_BROKER_IRQ_MSI, .count = 1 },
                { .type = VFIO_BROKER_IRQ_REQ, .count = 1 },
        };
        vfio_broker_lease *leases[16] = {};
        bool hold = false, steal_req = false, fork_child = false, fetch = false, wait_req = false, hold_dma = false, again = false,
             honour_recall = false;
        long long expect_memlock = 0, memlock_before = memlock_from_proc(), two = 0;
        vfio_broker *b = NULL;
        uint64_t lease_id = 0;
        int i, n = 0, r;

        for (i = 1; i < argc && argv[i][0] == '-'; i++) {
                if (strcmp(argv[i], "--hold") == 0)
                        hold = true;
                else if (strcmp(argv[i], "--steal-req") == 0)
                        steal_req = true;
                else if (strcmp(argv[i], "--fork-child") == 0)
                        fork_child = true;
                else if (strcmp(argv[i], "--intx") == 0)
                        intx = true;
                else if (strcmp(argv[i], "--iommufd") == 0)
                        backend = VFIO_BROKER_BACKEND_IOMMUFD;
                else if (strcmp(argv[i], "--fetch") == 0)
                        fetch = true;
                else if (strcmp(argv[i], "--wait-req") == 0)
                        wait_req = true;
                else if (strcmp(argv[i], "--hold-dma") == 0)
                        hold_dma = true;
                else if (strcmp(argv[i], "--honour-recall") == 0)
                        honour_recall = true;
                else if (strcmp(argv[i], "--two-leases") == 0 && i + 1 < argc)
                        two = atoll(argv[++i]);
                else if (strcmp(argv[i], "--again") == 0)
                        again = true;
                else if (strcmp(argv[i], "--expect-memlock") == 0 && i + 1 < argc)
                        expect_memlock = atoll(argv[++i]);
                else
                        break;
        }
        if (i >= argc) {
                /* No BDF: the devices the environment names (a CDI device's VFIO_BROKER_DEVICE_*). */
                char **env = NULL, **with = NULL;
                size_t n_env = 0;

                if (vfio_broker_env_devices(&env, &n_env) < 0) {
                        fprintf(stderr, "client-dma: a VFIO_BROKER_DEVICE_* variable is not a PCI address\n");
                        return EXIT_FAILURE;
                }
                with = calloc(argc + n_env + 1, sizeof(char *));
                if (!with)
                        return EXIT_FAILURE;
                memcpy(with, argv, argc * sizeof(char *));
                memcpy(with + argc, env, n_env * sizeof(char *));
                argv = with; /* kept until exit, as env is */
                argc += (int) n_env;
                if (n_env > 0)
                        printf("client-dma: the environment names %zu device(s)\n", n_env);
        }
        if (i >= argc || argc - i > 16) {
                fprintf(stderr, "usage: client-dma [--hold] [--steal-req] [--fork-child] [--intx] [--iommufd] [--fetch] [--wait-req] [--honour-recall] [--two-leases BYTES] [--hold-dma] [--again] [--expect-memlock BYTES] BDF [BDF...]\n");
                return EXIT_FAILURE;
        }

        if (intx)
                irq_want[0].type = VFIO_BROKER_IRQ_INTX;
        r = vfio_broker_connect(NULL, &b);
        if (r < 0)
                return fail(NULL, "connect", r);
        r = vfio_broker_hello(b, "client-dma");
        if (r < 0)
                return fail(b, "hello", r);
        n = argc - i;
        if (two) {
                if (n != 2)
                        return fail(b, "--two-leases takes two BDFs", -EINVAL);
                r = two_leases(b, argv + i, two);
                vfio_broker_disconnect(b);
                return r;
        }
        r = acquire_all(b, argv + i, n, irq_want, wait_req, expect_memlock, leases, &lease_id);
        if (r != 0)
                return r;
        i = argc;
        fflush(stdout);

        if (fork_child) {
                pid_t pid = fork();

                if (pid < 0)
                        return fail(b, "fork", -errno);
                if (pid == 0)
                        for (;;)
                                pause(); /* keeps every fd of the lease, the device fds among them */
                printf("client-dma: child %d keeps the device fds\n", (int) pid);
                for (int k = 0; k < n; k++)
                        vfio_broker_lease_free(leases[k]); /* our copies; the child keeps its own */
                vfio_broker_disconnect(b);                  /* no release: the broker sees us go */
                return EXIT_SUCCESS;
        }
        if (wait_req) {
                int req = vfio_broker_lease_find_fd(leases[0], VFIO_BROKER_FD_IRQ, argv[i - n], VFIO_BROKER_IRQ_REQ, 0);
                uint64_t v;

                if (req < 0)
                        return fail(b, "the lease lacks the REQ eventfd", req);
                printf("client-dma: holding (pid %d), waiting for a request to release\n", (int) getpid());
                fflush(stdout);
                /* The broker's eventfds are non-blocking: wait for it first. */
                if (poll(&(struct pollfd) { .fd = req, .events = POLLIN }, 1, -1) != 1 ||
                    read(req, &v, sizeof(v)) != sizeof(v))
                        return fail(b, "reading the REQ eventfd", -errno);
                for (int k = 0; k < n; k++)
                        vfio_broker_lease_free(leases[k]);
                vfio_broker_disconnect(b);
                printf("client-dma: the broker asked for the device back; every fd closed\n");
                return EXIT_SUCCESS;
        }
        if (honour_recall) {
                struct vfio_broker_event e;

                printf("client-dma: holding (pid %d), waiting for the broker to recall lease %llu\n", (int) getpid(),
                       (unsigned long long) lease_id);
                fflush(stdout);
                for (;;) {
                        r = vfio_broker_next_event(b, &e);
                        if (r < 0)
                                return fail(b, "reading the broker's events", r);
                        if (r > 0 && e.kind == VFIO_BROKER_EVENT_RECALLED && e.lease_id == lease_id)
                                break;
                        if (r > 0)
                                continue;
                        if (poll(&(struct pollfd) { .fd = vfio_broker_fd(b), .events = POLLIN }, 1, -1) < 0 && errno != EINTR)
                                return fail(b, "poll", -errno);
                }
                printf("client-dma: recalled (%s; %u ms of grace): releasing\n", e.reason, e.grace_ms);
                r = release_all(b, leases, n, lease_id);
                if (r != 0)
                        return r;
                signal(SIGTERM, on_term); /* before we say so: the test sends SIGTERM once it reads it */
                printf("client-dma: released on recall; still running\n");
                fflush(stdout);
                while (!terminated)
                        pause();
                vfio_broker_disconnect(b);
                return EXIT_SUCCESS;
        }
        if (hold_dma) {
                sigset_t set;
                int sig, round = 1;

                sigemptyset(&set);
                sigaddset(&set, SIGUSR1);
                sigaddset(&set, SIGTERM);
                sigprocmask(SIG_BLOCK, &set, NULL);
                printf("client-dma: holding (pid %d); SIGUSR1: DMA again, SIGTERM: release\n", (int) getpid());
                fflush(stdout);
                while (sigwait(&set, &sig) == 0 && sig == SIGUSR1) {
                        /* Below 256 MiB whatever the round: edu's DMA engine has a 28-bit mask. */
                        uint64_t iova = 0x2000000 * (uint64_t) (1 + (round - 1) % 7);

                        if (fetch && fetch_again(b, lease_id, leases, n, (const char *const *) argv + i - n, iova) != 0)
                                return EXIT_FAILURE;
                        for (int k = 0; !fetch && k < n; k++)
                                if (dma_one(b, leases[k], argv[i - n + k], iova + 0x100000 * (uint64_t) k) != 0)
                                        return EXIT_FAILURE;
                        printf("client-dma: DMA round %d passed\n", ++round);
                        fflush(stdout);
                }
        }
        if (steal_req) {
                char set[sizeof(struct vfio_irq_set) + sizeof(int)];
                struct vfio_irq_set *irq = (struct vfio_irq_set *) set;
                int device = vfio_broker_lease_find_fd(leases[0], VFIO_BROKER_FD_DEVICE, argv[i - n], 0, 0);
                int mine = eventfd(0, EFD_CLOEXEC);

                if (device < 0 || mine < 0)
                        return fail(b, "the device fd, or an eventfd", device < 0 ? device : -errno);
                *irq = (struct vfio_irq_set) { .argsz = sizeof(set), .index = VFIO_PCI_REQ_IRQ_INDEX, .count = 1,
                                               .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER };
                memcpy(irq->data, &mine, sizeof(int));
                if (ioctl(device, VFIO_DEVICE_SET_IRQS, irq) < 0)
                        return fail(b, "taking the REQ interrupt (VFIO_DEVICE_SET_IRQS)", -errno);
                signal(SIGTERM, SIG_IGN);
                hold = true;
                printf("client-dma: the REQ interrupt is ours now\n");
        }
        if (hold) {
                printf("client-dma: holding (pid %d)\n", (int) getpid());
                fflush(stdout);
                for (;;)
                        pause();
        }
        if (fetch) {
                int first = i - n;

                r = fetch_again(b, lease_id, leases, n, (const char *const *) argv + first, 0x1000000);
                if (r != 0)
                        return r;
        }
        r = release_all(b, leases, n, lease_id);
        if (r != 0)
                return r;
        if (again) {
                r = acquire_all(b, argv + i - n, n, irq_want, false, 0, leases, &lease_id);
                if (r == 0)
                        r = release_all(b, leases, n, lease_id);
                if (r != 0)
                        return r;
                printf("client-dma: acquired again at once, DMA done, released\n");
        }
        if (expect_memlock) {
                long long after = memlock_from_proc();

                printf("client-dma: Max locked memory after release: %lld (before the lease: %lld)\n", after,
                       memlock_before);
                if (after != memlock_before)
                        return fail(b, "the old RLIMIT_MEMLOCK was not restored", -EINVAL);
        }
        vfio_broker_disconnect(b);
        return EXIT_SUCCESS;
}
