/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "system/fdstore.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <systemd/sd-daemon.h>

#include "common/util.h"
#include "util/log.h"

/* What one FDSTORE message carries at most: the kernel takes 253 fds per message. */
#define FDS_PER_MESSAGE 250

/* How long a release waits for systemd to close a group fd it dropped from the store. */
#define BARRIER_TIMEOUT_USEC (1000 * 1000ULL)

int want_fds(WantList *w, const int *fds, size_t n_fds, bool group, const char *fmt, ...) {
        Want *item;
        va_list ap;

        if (w->n == w->cap) {
                size_t cap = w->cap ? w->cap * 2 : 64;
                Want *p = reallocarray(w->items, cap, sizeof(*p));

                if (!p)
                        return -ENOMEM;
                w->items = p;
                w->cap = cap;
        }
        item = &w->items[w->n];
        *item = (Want) { .group = group };
        item->fds = calloc(n_fds ? n_fds : 1, sizeof(int));
        if (!item->fds)
                return -ENOMEM;
        for (size_t i = 0; i < n_fds; i++)
                if (fds[i] >= 0)
                        item->fds[item->n_fds++] = fds[i];
        if (item->n_fds == 0) {
                free(item->fds);
                return 0;
        }
        va_start(ap, fmt);
        vsnprintf(item->name, sizeof(item->name), fmt, ap);
        va_end(ap);
        w->n++;
        return 0;
}

void want_list_done(WantList *w) {
        for (size_t i = 0; i < w->n; i++)
                free(w->items[i].fds);
        free(w->items);
}

static const Want *find_want(const WantList *w, const char *name) {
        for (size_t i = 0; i < w->n; i++)
                if (strcmp(w->items[i].name, name) == 0)
                        return &w->items[i];
        return NULL;
}

static StoredName *find_stored(const FdStore *s, const char *name) {
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->names[i].name, name) == 0)
                        return &s->names[i];
        return NULL;
}

void fdstore_forget(FdStore *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->names[i].name);
        free(s->names);
        *s = (FdStore) {};
}

/* Drops first; once a group fd was dropped, wait until systemd has closed its copy. */
static void drop_unwanted(FdStore *s, const WantList *w) {
        bool dropped_group = false;
        char msg[128];
        int r;

        for (size_t i = 0; i < s->n; i++) {
                const Want *want = find_want(w, s->names[i].name);

                if (want && s->names[i].n_fds <= want->n_fds)
                        continue;
                snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", s->names[i].name);
                (void) sd_notify(0, msg);
                s->names[i].n_fds = 0; /* the store holds nothing under it now */
                dropped_group = dropped_group || s->names[i].group;
        }
        if (dropped_group) {
                r = sd_notify_barrier(0, BARRIER_TIMEOUT_USEC);
                if (r < 0)
                        log_warning("the service manager did not confirm it let go of a group fd: %s; "
                                    "the group may stay busy for a moment", strerror(-r));
        }
}

static void send_wanted(const FdStore *s, const WantList *w) {
        char msg[128];
        int r;

        for (size_t i = 0; i < w->n; i++) {
                const StoredName *stored = find_stored(s, w->items[i].name);

                if (stored && stored->n_fds >= w->items[i].n_fds)
                        continue;
                snprintf(msg, sizeof(msg), "FDSTORE=1\nFDPOLL=0\nFDNAME=%s", w->items[i].name);
                /* In parts if need be: systemd adds up the fds sent under one name. */
                for (size_t k = 0; k < w->items[i].n_fds; k += FDS_PER_MESSAGE) {
                        size_t n = w->items[i].n_fds - k < FDS_PER_MESSAGE ? w->items[i].n_fds - k : FDS_PER_MESSAGE;

                        r = sd_pid_notify_with_fds(0, 0, msg, w->items[i].fds + k, (unsigned) n);
                        if (r <= 0) {
                                log_warning("cannot keep %s in the FD store: %s; a restart would lose it",
                                            w->items[i].name, r < 0 ? strerror(-r) : "no service manager");
                                break;
                        }
                }
        }
}

int fdstore_sync(FdStore *s, const WantList *w) {
        StoredName *names;

        drop_unwanted(s, w);
        send_wanted(s, w);
        names = calloc(w->n + 1, sizeof(*names));
        if (!names)
                return -ENOMEM;
        for (size_t i = 0; i < w->n; i++) {
                names[i] = (StoredName) { .name = strdup(w->items[i].name), .n_fds = w->items[i].n_fds,
                                          .group = w->items[i].group };
                if (!names[i].name) {
                        for (size_t k = 0; k < i; k++)
                                free(names[k].name);
                        free(names);
                        return -ENOMEM;
                }
        }
        fdstore_forget(s);
        s->names = names;
        s->n = w->n;
        return 0;
}

int eventfd_id(int fd) {
        long long id = fdinfo_number(fd, "eventfd-id", 10);

        return id >= 0 && id <= INT_MAX ? (int) id : -1;
}

static FdId identify(const KernelBackend *backend, int fd) {
        struct stat st;
        int number = -1;

        if (fstat(fd, &st) < 0)
                return (FdId) { FD_OTHER };
        if (S_ISSOCK(st.st_mode))
                return (FdId) { FD_SOCKET };
        switch (kernel_fd_kind(backend, fd, &number)) {
        case KERNEL_FD_DOMAIN:
                return (FdId) { FD_DOMAIN };
        case KERNEL_FD_GROUP:
                return (FdId) { FD_GROUP, number };
        case KERNEL_FD_OTHER:
                break;
        }
        number = eventfd_id(fd);
        return number >= 0 ? (FdId) { FD_EVENTFD, number } : (FdId) { FD_OTHER };
}

int returned_init(Returned *r, const KernelBackend *backend, StoredFd *fds, size_t n) {
        *r = (Returned) { .fds = fds, .n = n, .ids = calloc(n + 1, sizeof(FdId)) };
        if (!r->ids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                r->ids[i] = fds[i].fd >= 0 ? identify(backend, fds[i].fd) : (FdId) { FD_OTHER };
        return 0;
}

void returned_done(Returned *r) {
        free(r->ids);
        r->ids = NULL;
}

static bool fd_is(FdId id, FdKind kind, int number) {
        switch (kind) {
        case FD_ANY:
                return true;
        case FD_NOT_SOCKET:
                return id.kind != FD_SOCKET;
        case FD_GROUP:
        case FD_EVENTFD:
                return id.kind == kind && id.number == number;
        default:
                return id.kind == kind;
        }
}

int returned_take(Returned *r, FdKind kind, int number, const char *fmt, ...) {
        char name[64];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(name, sizeof(name), fmt, ap);
        va_end(ap);
        for (size_t i = 0; i < r->n; i++)
                if (r->fds[i].name && strcmp(r->fds[i].name, name) == 0 && r->fds[i].fd >= 0 &&
                    fd_is(r->ids[i], kind, number)) {
                        int fd = r->fds[i].fd;

                        r->fds[i].fd = -EBADF;
                        return fd;
                }
        return -ENOENT;
}

void returned_close_rest(Returned *r) {
        for (size_t i = 0; i < r->n; i++)
                if (r->fds[i].fd >= 0) {
                        log_warning("FD store: an fd under %s is not one the state file names; closing it",
                                    r->fds[i].name ? r->fds[i].name : "?");
                        r->fds[i].fd = safe_close(r->fds[i].fd);
                }
}

int fdstore_note_returned(FdStore *s, const Returned *r) {
        fdstore_forget(s);
        s->names = calloc(r->n + 1, sizeof(*s->names));
        if (!s->names)
                return -ENOMEM;
        for (size_t i = 0; i < r->n; i++) {
                const StoredFd *fd = &r->fds[i];
                StoredName *name;

                if (!fd->name)
                        continue;
                name = find_stored(s, fd->name);
                if (!name) {
                        name = &s->names[s->n];
                        *name = (StoredName) { .name = strdup(fd->name) };
                        if (!name->name)
                                return -ENOMEM;
                        s->n++;
                }
                if (fd->fd >= 0)
                        name->n_fds = SIZE_MAX;
                else if (name->n_fds != SIZE_MAX)
                        name->n_fds++;
                name->group = name->group || r->ids[i].kind == FD_GROUP;
        }
        return 0;
}
