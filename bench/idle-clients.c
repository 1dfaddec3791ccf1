/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * idle-clients BROKER_PID N ITERATIONS BDF: the broker at scale.
 *
 * An active client leases BDF with INTx and times FetchLease (4 fds back)
 * ITERATIONS times alone: series "alone-N".  Then N more clients connect
 * and say Hello, one after the other (the accept rate: N over the time that
 * took), and stay connected doing nothing while the active client is timed
 * again: series "idle-N".  The broker's resident memory (Rss in
 * /proc/BROKER_PID/smaps_rollup, which sums the page tables; VmRSS can lag)
 * is read before the N connect and after; the difference over N
 * is its memory per client.  Prints stats.h's lines and one line
 *   BENCHSCALE clients=N rss_before_kib=A rss_after_kib=B bytes_per_client=C accepts_per_s=D
 * The caller raises the broker's per-uid limits and both processes'
 * RLIMIT_NOFILE for N.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "stats.h"
#include "vfio-broker.h"

static long rss_kib(long pid) {
        char path[64], line[256];
        long kib = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", pid);
        f = fopen(path, "re");
        if (!f)
                die(path, errno);
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "Rss: %ld kB", &kib) == 1)
                        break;
        fclose(f);
        if (kib < 0)
                die("no Rss for the broker", EINVAL);
        return kib;
}

static vfio_broker *connect_hello(void) {
        vfio_broker *b = NULL;
        int r;

        r = vfio_broker_connect(NULL, &b);
        if (r >= 0)
                r = vfio_broker_hello(b, "idle-client");
        if (r < 0) {
                fprintf(stderr, "idle-clients: connect and Hello: %s (%s)\n", strerror(-r),
                        b ? vfio_broker_error_message(b) : "");
                exit(EXIT_FAILURE);
        }
        return b;
}

static void time_fetches(vfio_broker *b, uint64_t id, size_t iterations, const char *series) {
        Samples s;

        samples_init(&s, iterations);
        for (size_t i = 0; i < iterations + iterations / 10 + 1; i++) {
                vfio_broker_lease *again = NULL;
                uint64_t t = now_ns();
                int r;

                r = vfio_broker_fetch_lease(b, id, &again);
                if (r < 0)
                        die("FetchLease", r);
                vfio_broker_lease_free(again);
                if (i > iterations / 10)
                        samples_add(&s, now_ns() - t);
        }
        samples_report(&s, series);
        samples_done(&s);
}

int main(int argc, char **argv) {
        struct vfio_broker_irq_request intx = { .type = VFIO_BROKER_IRQ_INTX, .count = 1 };
        struct vfio_broker_device_request want;
        vfio_broker_lease *lease = NULL;
        vfio_broker **idle;
        size_t n, iterations;
        long pid, before, after;
        uint64_t t0, elapsed, id;
        char series[64];
        struct rlimit rl;
        vfio_broker *b;
        int r;

        if (argc != 5) {
                fprintf(stderr, "usage: idle-clients BROKER_PID N ITERATIONS BDF\n");
                return EXIT_FAILURE;
        }
        pid = (long) parse_count(argv[1], "broker pid");
        n = parse_count(argv[2], "client count");
        iterations = parse_count(argv[3], "iteration count");
        want = (struct vfio_broker_device_request) { .bdf = argv[4], .irqs = &intx, .n_irqs = 1 };
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < n + 64)
                die("RLIMIT_NOFILE is too low for that many clients", EMFILE);

        b = connect_hello();
        r = vfio_broker_acquire(b, 0, &want, 1, &lease);
        if (r < 0) {
                fprintf(stderr, "idle-clients: acquire %s: %s\n", argv[4], vfio_broker_error_message(b));
                return EXIT_FAILURE;
        }
        id = vfio_broker_lease_id(lease);
        snprintf(series, sizeof(series), "alone-%zu", n);
        time_fetches(b, id, iterations, series);

        idle = calloc(n, sizeof(*idle));
        if (!idle)
                die("calloc", ENOMEM);
        before = rss_kib(pid);
        t0 = now_ns();
        for (size_t i = 0; i < n; i++)
                idle[i] = connect_hello();
        elapsed = now_ns() - t0;
        after = rss_kib(pid);

        snprintf(series, sizeof(series), "idle-%zu", n);
        time_fetches(b, id, iterations, series);
        printf("BENCHSCALE clients=%zu rss_before_kib=%ld rss_after_kib=%ld bytes_per_client=%ld accepts_per_s=%.0f\n",
               n, before, after, (after - before) * 1024 / (long) n, (double) n * 1e9 / (double) elapsed);
        fflush(stdout);

        for (size_t i = 0; i < n; i++)
                vfio_broker_disconnect(idle[i]);
        free(idle);
        vfio_broker_lease_free(lease);
        r = vfio_broker_release(b, id);
        if (r != 0)
                die("release", r < 0 ? r : EBUSY);
        vfio_broker_disconnect(b);
        return EXIT_SUCCESS;
}
