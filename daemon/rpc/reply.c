/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "rpc/reply.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

void reply_init(Reply *r, uint64_t id) {
        /* Everything but the arrays, which the counts guard. */
        r->n_fds = 0;
        r->allocations = NULL;
        r->n_allocations = 0;
        r->arena_used = 0;
        memset(&r->error, 0, sizeof(r->error));
        vfiobroker__reply__init(&r->msg);
        r->msg.id = id;
}

static void drop_fds(Reply *r) {
        r->n_fds = 0;
        r->msg.n_fds = 0;
        r->msg.fds = NULL;
}

void reply_done(Reply *r) {
        drop_fds(r);
        for (size_t i = 0; i < r->n_allocations; i++)
                free(r->allocations[i]);
        free(r->allocations);
        r->allocations = NULL;
        r->n_allocations = 0;
}

void *reply_alloc(Reply *r, size_t size) {
        size_t rounded = size ? (size + 15) & ~(size_t) 15 : 16;
        void **list, *p;

        if (rounded <= sizeof(r->arena) - r->arena_used) {
                p = r->arena + r->arena_used;
                r->arena_used += rounded;
                return memset(p, 0, size);
        }
        list = reallocarray(r->allocations, r->n_allocations + 1, sizeof(void *));
        if (!list)
                return NULL;
        r->allocations = list;
        p = calloc(1, size ? size : 1);
        if (!p)
                return NULL;
        r->allocations[r->n_allocations++] = p;
        return p;
}

char *reply_strdup(Reply *r, const char *s) {
        size_t len = strlen(s);
        char *p;

        p = reply_alloc(r, len + 1);
        if (p)
                memcpy(p, s, len + 1);
        return p;
}

int reply_error(Reply *r, Vfiobroker__ErrorCode code, int errno_value, const char *fmt, ...) {
        char text[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);

        drop_fds(r);
        r->msg.result_case = VFIOBROKER__REPLY__RESULT__NOT_SET;
        vfiobroker__error__init(&r->error);
        r->error.code = code;
        r->error.errno_value = errno_value;
        r->error.message = reply_strdup(r, text);
        if (!r->error.message)
                r->error.message = (char *) "out of memory";
        r->msg.error = &r->error;
        return 0;
}

int reply_add_fd(Reply *r, int fd, Vfiobroker__FdKind kind, const char *bdf,
                 Vfiobroker__IrqType irq_type, uint32_t vector) {
        Vfiobroker__FdRole *role;

        if (r->n_fds >= VFIO_BROKER_MAX_FDS)
                return -EMSGSIZE;
        role = reply_alloc(r, sizeof(*role));
        if (!role)
                return -ENOMEM;
        vfiobroker__fd_role__init(role);
        role->kind = kind;
        role->bdf = reply_strdup(r, bdf ? bdf : "");
        if (!role->bdf)
                return -ENOMEM;
        role->irq_type = irq_type;
        role->vector = vector;
        r->fds[r->n_fds] = fd;
        r->roles[r->n_fds] = role;
        r->n_fds++;
        r->msg.fds = r->roles;
        r->msg.n_fds = r->n_fds;
        return 0;
}
