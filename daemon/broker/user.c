/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "broker/user.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

void user_registry_init(UserRegistry *r) {
        *r = (UserRegistry) {};
        LIST_INIT(&r->users);
}

void user_registry_done(UserRegistry *r) {
        assert(LIST_EMPTY(&r->users));
}

unsigned user_registry_total(const UserRegistry *r, UserSlot slot) {
        return r->total[slot];
}

int user_registry_ref(UserRegistry *r, uid_t uid, User **ret) {
        User *u;

        LIST_FOREACH(u, &r->users, link)
                if (u->uid == uid) {
                        *ret = user_ref(u);
                        return 0;
                }
        u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        *u = (User) { .registry = r, .uid = uid, .n_ref = 1 };
        LIST_INSERT_HEAD(&r->users, u, link);
        *ret = u;
        return 0;
}

User *user_ref(User *u) {
        if (u)
                u->n_ref++;
        return u;
}

User *user_unref(User *u) {
        if (!u)
                return NULL;
        assert(u->n_ref > 0);
        if (--u->n_ref > 0)
                return NULL;
        for (UserSlot s = 0; s < _USER_SLOT_MAX; s++)
                assert(u->charged[s] == 0); /* every charge holds a reference */
        LIST_REMOVE(u, link);
        free(u);
        return NULL;
}

unsigned user_charged(const User *u, UserSlot slot) {
        return u->charged[slot];
}

void user_charge(UserCharge *c, User *u, UserSlot slot, unsigned amount) {
        assert(!c->user);
        *c = (UserCharge) { .user = user_ref(u), .slot = slot, .amount = amount };
        u->charged[slot] += amount;
        u->registry->total[slot] += amount;
}

void user_charge_set(UserCharge *c, unsigned amount) {
        User *u = c->user;

        assert(u);
        u->charged[c->slot] = u->charged[c->slot] - c->amount + amount;
        u->registry->total[c->slot] = u->registry->total[c->slot] - c->amount + amount;
        c->amount = amount;
}

void user_charge_drop(UserCharge *c) {
        if (!c->user)
                return;
        user_charge_set(c, 0);
        user_unref(c->user);
        *c = (UserCharge) {};
}
