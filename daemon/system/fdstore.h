/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * systemd's FD store, both ways.  Going in: the names the broker wants kept
 * and their fds (a WantList), and what the store holds as far as we know, so
 * that a change sends only what changed.  Coming back after a restart: the
 * fds systemd passed, each with its name and what it is (a socket, a domain,
 * group N, the eventfd of eventfd-id N), taken one by one by adoption.
 *
 * Each name is one message to systemd when stored and one when dropped, so
 * fds that come and go together share one.  A name is dropped when no
 * longer wanted, or when the store may hold an fd under it that we do not
 * want (adoption let go of it); it is sent when new, when dropped just now,
 * or when it has more fds than the store holds (a lease's new group): sent
 * whole, since systemd keeps an fd it already holds once.  A group can be
 * open only once: when a group fd leaves the store the broker waits for
 * systemd to have closed it (a BARRIER=1) before it goes on, so that a group
 * it calls free can be opened at once, by the broker or anyone else.
 */

#include <stdbool.h>
#include <stddef.h>

#include "kernel/backend.h"

/* One fd systemd passed back, with its FDNAME. */
typedef struct StoredFd {
        char *name;
        int fd;
} StoredFd;

/* One name the store should hold and its fds; @group: one of them is a group. */
typedef struct Want {
        char name[64];
        int *fds;
        size_t n_fds;
        bool group;
} Want;

typedef struct WantList {
        Want *items;
        size_t n, cap;
} WantList;

/* Want @n_fds fds (those >= 0) under the name @fmt; nothing when none is open. */
int want_fds(WantList *w, const int *fds, size_t n_fds, bool group, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
#define want_fd(w, fd, group, ...) want_fds(w, (const int[]) { fd }, 1, group, __VA_ARGS__)
void want_list_done(WantList *w);

/* What the store holds under a name, as far as we know: SIZE_MAX fds when it holds some we let go of. */
typedef struct StoredName {
        char *name;
        size_t n_fds;
        bool group;
} StoredName;

typedef struct FdStore {
        StoredName *names;
        size_t n;
} FdStore;

/* Bring the store in line with @w (see above). */
int fdstore_sync(FdStore *s, const WantList *w);
void fdstore_forget(FdStore *s);

/* What a returned fd is, found out once: systemd hands fds back in no particular order. */
typedef enum FdKind {
        FD_ANY,
        FD_OTHER,
        FD_SOCKET,
        FD_NOT_SOCKET,  /* asked for only: anything but a socket */
        FD_DOMAIN,
        FD_GROUP,       /* number: the group's */
        FD_EVENTFD,     /* number: its eventfd-id */
} FdKind;

typedef struct FdId {
        FdKind kind;
        int number;
} FdId;

/* The fds systemd passed back, each identified. */
typedef struct Returned {
        StoredFd *fds;
        FdId *ids;
        size_t n;
} Returned;

int returned_init(Returned *r, const KernelBackend *backend, StoredFd *fds, size_t n);
void returned_done(Returned *r);
/* The first returned fd of that name and @kind (and @number), out of @r; -ENOENT if none. */
int returned_take(Returned *r, FdKind kind, int number, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define returned_take_any(r, ...) returned_take(r, FD_ANY, 0, __VA_ARGS__)
/* Close what nobody took, saying so. */
void returned_close_rest(Returned *r);

/* What the store holds once adoption is done: each name with the fds adopted from it, or marked as holding fds we closed. */
int fdstore_note_returned(FdStore *s, const Returned *r);

/* The kernel's eventfd-id of @fd (unique while the eventfd lives), -1 if not an eventfd or too old a kernel. */
int eventfd_id(int fd);
