/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Per-uid accounting: what each uid holds of the broker (connections,
 * leases), so that one uid cannot take it all.  An entry lives while the uid
 * holds anything.
 */
#include <stdlib.h>

#include "broker.h"

/* The uid's entry, made on first use; NULL on OOM. */
User *user_ref(Broker *b, uid_t uid) {
        User *u;

        LIST_FOREACH(u, &b->users, link)
                if (u->uid == uid)
                        return u;
        u = calloc(1, sizeof(*u));
        if (!u)
                return NULL;
        *u = (User) { .broker = b, .uid = uid };
        LIST_INSERT_HEAD(&b->users, u, link);
        return u;
}

/* Drop the entry once the uid holds nothing. */
void user_unref(User *u) {
        if (!u || u->n_connections > 0 || u->n_leases > 0)
                return;
        LIST_REMOVE(u, link);
        free(u);
}
