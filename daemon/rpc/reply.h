/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A reply under construction: the protobuf message, the fds it carries with
 * their roles (borrowed, see reply_add_fd()), and the memory its nested
 * messages live in (freed together).
 */

#include <stddef.h>
#include <stdint.h>

#include "proto/vfio-broker.pb-c.h"
#include "proto/wire.h"

typedef struct Reply {
        Vfiobroker__Reply msg;
        Vfiobroker__Error error;
        int fds[VFIO_BROKER_MAX_FDS];
        Vfiobroker__FdRole *roles[VFIO_BROKER_MAX_FDS];
        size_t n_fds;
        void **allocations;             /* what did not fit in the arena */
        size_t n_allocations;
        size_t arena_used;
        /* Most replies' nested messages fit here: no malloc per field (left uninitialised). */
        _Alignas(16) uint8_t arena[2048];
} Reply;

void reply_init(Reply *r, uint64_t id);
void reply_done(Reply *r);

/* Zeroed memory that lives as long as the reply; NULL on OOM. */
void *reply_alloc(Reply *r, size_t size);
char *reply_strdup(Reply *r, const char *s);

/*
 * Turn the reply into an error: @code, the errno a client library returns
 * for it, and a message naming the cause.  Any result or fd set so far is
 * dropped.  Returns 0 so that a handler can "return reply_error(...)".
 */
int reply_error(Reply *r, Vfiobroker__ErrorCode code, int errno_value, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/*
 * Attach @fd with its role.  The fd stays the caller's: the reply neither
 * copies nor closes it, and it must stay open until reply_done().  Replies
 * are sent before a handler's caller returns, so the fds of a lease qualify,
 * with no copy per fd on the request path.  -EMSGSIZE past
 * VFIO_BROKER_MAX_FDS.
 */
int reply_add_fd(Reply *r, int fd, Vfiobroker__FdKind kind, const char *bdf,
                 Vfiobroker__IrqType irq_type, uint32_t vector);

/* True once reply_error() was called. */
static inline int reply_failed(const Reply *r) {
        return r->msg.error != NULL;
}
