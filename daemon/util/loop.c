/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "util/loop.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>

struct Loop {
        struct event_base *base;
};

struct Source {
        struct event *ev;
        union {
                SourceIoFn io;
                SourceTimerFn timer;
                SourceSignalFn signal;
        } fn;
        void *userdata;
};

int loop_new(Loop **ret) {
        Loop *loop;

        loop = calloc(1, sizeof(*loop));
        if (!loop)
                return -ENOMEM;
        loop->base = event_base_new();
        if (!loop->base) {
                free(loop);
                return -ENOMEM;
        }
        *ret = loop;
        return 0;
}

Loop *loop_free(Loop *loop) {
        if (!loop)
                return NULL;
        if (loop->base)
                event_base_free(loop->base);
        free(loop);
        return NULL;
}

static void on_io(evutil_socket_t fd, short what, void *p) {
        Source *s = p;

        s->fn.io(s, fd, s->userdata);
}

static void on_timer(evutil_socket_t fd, short what, void *p) {
        Source *s = p;

        s->fn.timer(s, s->userdata);
}

static void on_signal(evutil_socket_t signo, short what, void *p) {
        Source *s = p;

        s->fn.signal(s, signo, s->userdata);
}

static int source_new(Loop *loop, int fd, short what, event_callback_fn cb, void *userdata, Source **ret) {
        Source *s;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->userdata = userdata;
        s->ev = event_new(loop->base, fd, what, cb, s);
        if (!s->ev) {
                free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

/* Arm @s without a timeout and hand it out, or free it. */
static int source_start(Source *s, Source **ret) {
        if (event_add(s->ev, NULL) < 0) {
                source_free(s);
                return -EIO;
        }
        *ret = s;
        return 0;
}

int loop_add_io(Loop *loop, int fd, SourceIoFn fn, void *userdata, Source **ret) {
        Source *s;
        int r;

        r = source_new(loop, fd, EV_READ | EV_PERSIST, on_io, userdata, &s);
        if (r < 0)
                return r;
        s->fn.io = fn;
        return source_start(s, ret);
}

int source_set_io_write(Source *s, bool write) {
        struct event_base *base;
        evutil_socket_t fd;
        short what;

        event_get_assignment(s->ev, &base, &fd, &what, NULL, NULL);
        if (!!(what & EV_WRITE) == write)
                return 0;
        event_del(s->ev);
        what = (short) (write ? what | EV_WRITE : what & ~EV_WRITE);
        if (event_assign(s->ev, base, fd, what, on_io, s) < 0 || event_add(s->ev, NULL) < 0)
                return -EIO;
        return 0;
}

int source_set_timer(Source *s, uint64_t usec) {
        struct timeval tv = { .tv_sec = usec / 1000000, .tv_usec = usec % 1000000 };

        return event_add(s->ev, &tv) < 0 ? -EIO : 0;
}

int loop_add_timer(Loop *loop, uint64_t usec, SourceTimerFn fn, void *userdata, Source **ret) {
        Source *s;
        int r;

        r = source_new(loop, -1, 0, on_timer, userdata, &s);
        if (r < 0)
                return r;
        s->fn.timer = fn;
        r = source_set_timer(s, usec);
        if (r < 0) {
                source_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

int loop_add_signal(Loop *loop, int signo, SourceSignalFn fn, void *userdata, Source **ret) {
        Source *s;
        int r;

        r = source_new(loop, signo, EV_SIGNAL | EV_PERSIST, on_signal, userdata, &s);
        if (r < 0)
                return r;
        s->fn.signal = fn;
        return source_start(s, ret);
}

Source *source_free(Source *s) {
        if (!s)
                return NULL;
        event_free(s->ev);
        free(s);
        return NULL;
}

int loop_run(Loop *loop) {
        return event_base_dispatch(loop->base) < 0 ? -EIO : 0;
}

void loop_exit(Loop *loop) {
        event_base_loopbreak(loop->base);
}
