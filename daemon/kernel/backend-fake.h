/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The fake backend's knobs and counters, for tests: which group the "kernel"
 * calls held outside, not viable or still held, whether interrupt routing
 * fails, and how many resets it did.  Its fds are eventfds whose count tags
 * what they stand for, so that a test can count what is still open.
 */

#include <stdbool.h>
#include <stddef.h>

#include "kernel/backend.h"

typedef struct KernelFake {
        int held_outside;               /* a group number, -1: none */
        int not_viable;
        int still_held;
        bool fail_irq;                  /* routing interrupts fails (EINVAL) */
        bool resettable;                /* devices offer a function reset */
        unsigned resets;                /* resets done so far */
        unsigned hot_resets;            /* bus resets done so far */
        unsigned detaches;              /* groups taken out of a domain so far (or tried) */
} KernelFake;

extern KernelFake kernel_fake;

/* Back to no refusals and no counts. */
void kernel_fake_reset(void);

typedef enum KernelFakeKind {
        KERNEL_FAKE_DOMAIN,
        KERNEL_FAKE_GROUP,              /* + the group's number */
        KERNEL_FAKE_DEVICE,
} KernelFakeKind;

/* A new fd of @kind (and group @number), as an FD store would hand one back. */
int kernel_fake_fd(KernelFakeKind kind, int number);

/* How many fds of @kind this process has open (every group's, for groups). */
size_t kernel_fake_count_open(KernelFakeKind kind);
