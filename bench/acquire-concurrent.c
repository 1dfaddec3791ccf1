/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * acquire-concurrent CYCLES BROKER_PID BDF...: acquire + release throughput
 * with 1, 2, 4, ... clients at once (up to one per BDF given), each on its
 * own connection and its own device (so its own IOMMU group), each doing
 * CYCLES acquire + release cycles after a tenth as many to warm up, all
 * starting together.  The broker is VFIO_BROKER_SOCKET's (or the default).
 *
 * Prints a BENCHCONC line per client count: the cycles of all clients per
 * second, and the broker's CPU time per cycle (its schedstat, which the
 * clients' noise does not reach).  A broker that serializes its clients
 * shows as throughput that stays flat while the CPU is not used up; on one
 * CPU the throughput cannot grow, and the CPU per cycle tells whether the
 * broker's own work grows with the clients beside it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cycle.h"
#include "stats.h"
#include "vfio-broker.h"


/* One client: warm up, say so on @ready, wait for @go to close, then the timed cycles. */
__attribute__((noreturn)) static void client(const char *bdf, size_t cycles, int ready, int go) {
        vfio_broker *b = NULL;
        char c;
        int r;

        r = vfio_broker_connect(NULL, &b);
        if (r >= 0)
                r = vfio_broker_hello(b, "acquire-concurrent");
        if (r < 0)
                die("connecting to the broker", r);
        for (size_t i = 0; i < cycles / 10 + 1; i++)
                acquire_release(b, bdf, "acquire-concurrent");
        if (write(ready, "r", 1) != 1 || read(go, &c, 1) != 0)
                die("waiting for the start", EPIPE);
        for (size_t i = 0; i < cycles; i++)
                acquire_release(b, bdf, "acquire-concurrent");
        vfio_broker_disconnect(b);
        exit(EXIT_SUCCESS);
}

static void run(size_t clients, size_t cycles, pid_t broker, char **bdfs) {
        int ready[2], go[2], status;
        uint64_t t0, cpu0, wall, cpu;
        pid_t pids[64];
        char c;

        if (pipe(ready) < 0 || pipe(go) < 0)
                die("pipe", errno);
        for (size_t i = 0; i < clients; i++) {
                pids[i] = fork();
                if (pids[i] < 0)
                        die("fork", errno);
                if (pids[i] == 0) {
                        close(ready[0]);
                        close(go[1]);
                        client(bdfs[i], cycles, ready[1], go[0]);
                }
        }
        close(ready[1]);
        close(go[0]);
        for (size_t i = 0; i < clients; i++)
                if (read(ready[0], &c, 1) != 1)
                        die("a client did not get ready", EPIPE);
        cpu0 = cpu_ns(broker);
        t0 = now_ns();
        close(go[1]); /* all start */
        for (size_t i = 0; i < clients; i++)
                if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        die("a client failed", ECHILD);
        wall = now_ns() - t0;
        cpu = cpu_ns(broker) - cpu0;
        close(ready[0]);
        printf("BENCHCONC clients=%zu cycles=%zu wall_us=%llu per_s=%.1f broker_cpu_ns=%llu\n", clients,
               clients * cycles, (unsigned long long) (wall / 1000), clients * cycles * 1e9 / (double) wall,
               (unsigned long long) (cpu / (clients * cycles)));
        fflush(stdout);
}

int main(int argc, char **argv) {
        size_t cycles, n;
        pid_t broker;

        if (argc < 4) {
                fprintf(stderr, "usage: acquire-concurrent CYCLES BROKER_PID BDF...\n");
                return 2;
        }
        cycles = parse_count(argv[1], "CYCLES");
        broker = (pid_t) parse_count(argv[2], "BROKER_PID");
        n = (size_t) argc - 3;
        if (n > 64)
                n = 64;
        for (size_t clients = 1; clients <= n; clients *= 2)
                run(clients, cycles, broker, argv + 3);
        return 0;
}
