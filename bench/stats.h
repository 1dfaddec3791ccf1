/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Latency samples of one benchmark series, and how they are reported: one
 * "BENCH" line with the percentiles, and "BENCHCDF" lines (the distribution,
 * for the plot) that bench/run reads off the guest's console.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

typedef struct Samples {
        uint64_t *ns;
        size_t n, cap;
} Samples;

static inline uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

/* Room for @cap samples; exits the program when memory is short. */
void samples_init(Samples *s, size_t cap);
void samples_add(Samples *s, uint64_t ns);
void samples_done(Samples *s);

/* The @q quantile (0..1) of the samples, sorting them first. */
uint64_t samples_quantile(Samples *s, double q);

/* Print the BENCH and BENCHCDF lines of @series (sorts the samples). */
void samples_report(Samples *s, const char *series);

/* "PROGRAM: @what: strerror(@err)" on stderr, then exit(EXIT_FAILURE); @err is an errno, either sign. */
__attribute__((noreturn)) void die(const char *what, int err);

/*
 * A child process running @serve (which must not return) on one end of a
 * fresh SOCK_SEQPACKET pair; returns the other end, *ret_pid the child.
 * Exits with a message when it cannot.
 */
int fork_server(void (*serve)(int fd), pid_t *ret_pid);

/* Parse a positive count; exits with a message on a bad one. */
size_t parse_count(const char *s, const char *what);

/* The CPU time @pid has used so far (the first field of /proc/PID/schedstat, ns); exits when it cannot be read. */
uint64_t cpu_ns(pid_t pid);

/* The IOMMU group of PCI device @bdf, from sysfs; exits when it has none. */
int iommu_group_of(const char *bdf);
