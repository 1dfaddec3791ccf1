/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "util/loop.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef struct Job {
        void (*work)(void *);
        void (*done)(void *);
        void *userdata;
        pthread_t thread;
        bool finished;                  /* under Loop.jobs_lock */
        struct Job *next;
} Job;

struct Loop {
        struct event_base *base;
        pthread_mutex_t jobs_lock;
        Job *jobs;                      /* running or finished, not yet done */
        int jobs_fd;                    /* an eventfd the threads write when they finish */
        struct event *jobs_ev;
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

static void on_jobs(evutil_socket_t fd, short what, void *p);

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
        pthread_mutex_init(&loop->jobs_lock, NULL);
        /* Made now, not at the first job: the fds a broker holds stay what they were at its start. */
        loop->jobs_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (loop->jobs_fd >= 0)
                loop->jobs_ev = event_new(loop->base, loop->jobs_fd, EV_READ | EV_PERSIST, on_jobs, loop);
        if (loop->jobs_fd < 0 || !loop->jobs_ev || event_add(loop->jobs_ev, NULL) < 0) {
                loop_free(loop);
                return -ENOMEM;
        }
        *ret = loop;
        return 0;
}

Loop *loop_free(Loop *loop) {
        if (!loop)
                return NULL;
        loop_drain_jobs(loop);
        if (loop->jobs_ev)
                event_free(loop->jobs_ev);
        if (loop->jobs_fd >= 0)
                close(loop->jobs_fd);
        pthread_mutex_destroy(&loop->jobs_lock);
        if (loop->base)
                event_base_free(loop->base);
        free(loop);
        return NULL;
}

/* Take the finished jobs (all of them with @all, waiting for each) out of the list, join them and call done. */
static void reap_jobs(Loop *loop, bool all) {
        for (;;) {
                Job *j = NULL, **p;

                pthread_mutex_lock(&loop->jobs_lock);
                for (p = &loop->jobs; *p; p = &(*p)->next)
                        if ((*p)->finished || all) {
                                j = *p;
                                *p = j->next;
                                break;
                        }
                pthread_mutex_unlock(&loop->jobs_lock);
                if (!j)
                        return;
                pthread_join(j->thread, NULL);
                j->done(j->userdata);
                free(j);
        }
}

static void on_jobs(evutil_socket_t fd, short what, void *p) {
        Loop *loop = p;
        uint64_t v;

        (void) !read(fd, &v, sizeof(v));
        reap_jobs(loop, false);
}

typedef struct JobStart {
        Loop *loop;
        Job *job;
} JobStart;

static void *job_main(void *p) {
        JobStart start = *(JobStart *) p;
        uint64_t one = 1;

        free(p);
        start.job->work(start.job->userdata);
        pthread_mutex_lock(&start.loop->jobs_lock);
        start.job->finished = true;
        pthread_mutex_unlock(&start.loop->jobs_lock);
        (void) !write(start.loop->jobs_fd, &one, sizeof(one));
        return NULL;
}

int loop_run_job(Loop *loop, void (*work)(void *), void (*done)(void *), void *userdata) {
        JobStart *start;
        Job *j;
        int r;

        j = calloc(1, sizeof(*j));
        start = calloc(1, sizeof(*start));
        if (!j || !start) {
                free(j);
                free(start);
                return -ENOMEM;
        }
        *j = (Job) { .work = work, .done = done, .userdata = userdata };
        *start = (JobStart) { .loop = loop, .job = j };
        pthread_mutex_lock(&loop->jobs_lock);
        j->next = loop->jobs;
        loop->jobs = j;
        r = -pthread_create(&j->thread, NULL, job_main, start);
        if (r < 0) {
                loop->jobs = j->next;
                free(j);
                free(start);
        }
        pthread_mutex_unlock(&loop->jobs_lock);
        return r;
}

void loop_drain_jobs(Loop *loop) {
        reap_jobs(loop, true);
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
