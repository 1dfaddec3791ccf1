/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The event loop.  A thin layer over libevent, which is used in loop.c only:
 * the rest of the daemon sees Loop and Source.
 */

#include <stdbool.h>
#include <stdint.h>

typedef struct Loop Loop;
typedef struct Source Source;

/* Called when the fd is readable (and, if asked for, writable). */
typedef void (*SourceIoFn)(Source *s, int fd, void *userdata);
typedef void (*SourceTimerFn)(Source *s, void *userdata);
typedef void (*SourceSignalFn)(Source *s, int signo, void *userdata);

int loop_new(Loop **ret);
Loop *loop_free(Loop *loop);

/* Watch @fd for readability until the source is freed. */
int loop_add_io(Loop *loop, int fd, SourceIoFn fn, void *userdata, Source **ret);

/* Also call the io source back when @fd is writable (or no longer). */
int source_set_io_write(Source *s, bool write);

/* Fire once, @usec from now; re-arm with source_set_timer(). */
int loop_add_timer(Loop *loop, uint64_t usec, SourceTimerFn fn, void *userdata, Source **ret);
int source_set_timer(Source *s, uint64_t usec);

int loop_add_signal(Loop *loop, int signo, SourceSignalFn fn, void *userdata, Source **ret);

Source *source_free(Source *s);

int loop_run(Loop *loop);
void loop_exit(Loop *loop);

/*
 * Work that may sleep in the kernel (a device reset) off the loop: @work
 * runs on a thread of its own, then @done on the loop, both with @userdata.
 * @work must touch nothing the loop does meanwhile.
 */
int loop_run_job(Loop *loop, void (*work)(void *userdata), void (*done)(void *userdata), void *userdata);
/* Wait for every job still running and call its @done: before what they use goes away. */
void loop_drain_jobs(Loop *loop);
