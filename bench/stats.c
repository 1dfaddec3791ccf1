/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stats.h"

void samples_init(Samples *s, size_t cap) {
        *s = (Samples) { .ns = calloc(cap ? cap : 1, sizeof(uint64_t)), .cap = cap };
        if (!s->ns) {
                fprintf(stderr, "bench: out of memory for %zu samples\n", cap);
                exit(EXIT_FAILURE);
        }
}

void samples_add(Samples *s, uint64_t ns) {
        if (s->n < s->cap)
                s->ns[s->n++] = ns;
}

void samples_done(Samples *s) {
        free(s->ns);
        *s = (Samples) {};
}

static int compare(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

uint64_t samples_quantile(Samples *s, double q) {
        size_t i;

        if (s->n == 0)
                return 0;
        qsort(s->ns, s->n, sizeof(uint64_t), compare);
        /* nearest rank */
        i = (size_t) (q * (double) s->n);
        return s->ns[i >= s->n ? s->n - 1 : i];
}

void samples_report(Samples *s, const char *series) {
        uint64_t sum = 0;
        /* The distribution at these quantiles is what the plot draws; dense in the tail. */
        static const double cdf[] = { 0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95,
                                      0.97, 0.98, 0.99, 0.995, 0.997, 0.999, 0.9995, 0.9999 };

        for (size_t i = 0; i < s->n; i++)
                sum += s->ns[i];
        printf("BENCH series=%s n=%zu p50=%llu p99=%llu p999=%llu mean=%llu\n", series, s->n,
               (unsigned long long) samples_quantile(s, 0.5), (unsigned long long) samples_quantile(s, 0.99),
               (unsigned long long) samples_quantile(s, 0.999),
               (unsigned long long) (s->n ? sum / s->n : 0));
        for (size_t i = 0; i < sizeof(cdf) / sizeof(cdf[0]); i++)
                printf("BENCHCDF %s %g %llu\n", series, cdf[i], (unsigned long long) samples_quantile(s, cdf[i]));
        fflush(stdout);
}

void die(const char *what, int err) {
        fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, strerror(err < 0 ? -err : err));
        exit(EXIT_FAILURE);
}

size_t parse_count(const char *s, const char *what) {
        char *end;
        unsigned long long v;

        v = strtoull(s ? s : "", &end, 10);
        if (!s || *s == 0 || *end != 0 || v == 0 || v > 100000000ULL) {
                fprintf(stderr, "bench: bad %s \"%s\"\n", what, s ? s : "");
                exit(EXIT_FAILURE);
        }
        return (size_t) v;
}

int fork_server(void (*serve)(int fd), pid_t *ret_pid) {
        int sv[2];
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                die("socketpair", errno);
        pid = fork();
        if (pid < 0)
                die("fork", errno);
        if (pid == 0) {
                close(sv[0]);
                serve(sv[1]);
                _exit(EXIT_FAILURE); /* not reached */
        }
        close(sv[1]);
        *ret_pid = pid;
        return sv[0];
}

uint64_t cpu_ns(pid_t pid) {
        char path[64];
        unsigned long long ns = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/schedstat", (int) pid);
        f = fopen(path, "re");
        if (!f || fscanf(f, "%llu", &ns) != 1)
                die(path, errno ? errno : EIO);
        fclose(f);
        return ns;
}

int iommu_group_of(const char *bdf) {
        char path[PATH_MAX], target[PATH_MAX];
        ssize_t n;

        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
        n = readlink(path, target, sizeof(target) - 1);
        if (n < 0)
                die(path, errno);
        target[n] = 0;
        return atoi(basename(target));
}
