/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Per-uid accounting (dbus-broker's util/user.c is the model): what each uid
 * holds of the broker, so that one uid cannot take it all.  Whoever holds
 * something on a uid's behalf (a connection, a lease) holds a UserCharge for
 * it; only this file touches the counters.  A User lives while anyone holds
 * a reference to it, a charge included.  The registry also keeps each
 * kind's total over all uids (the unauthenticated connections are limited
 * that way).
 */

#include <stdbool.h>
#include <sys/queue.h>
#include <sys/types.h>

typedef enum UserSlot {
        USER_CONNECTIONS,
        USER_UNAUTHENTICATED,           /* connections that have not said Hello */
        USER_LEASES,
        USER_QUEUED_BYTES,              /* of replies not read yet */
        USER_FDS_IN_FLIGHT,             /* sent but not received yet */
        _USER_SLOT_MAX,
} UserSlot;

typedef struct User User;
typedef struct UserRegistry {
        LIST_HEAD(, User) users;
        unsigned total[_USER_SLOT_MAX];
} UserRegistry;

struct User {
        UserRegistry *registry;
        uid_t uid;
        unsigned n_ref;
        unsigned charged[_USER_SLOT_MAX];
        LIST_ENTRY(User) link;
};

/* What one holder has charged to a user in one slot; zeroed = holds nothing. */
typedef struct UserCharge {
        User *user;                     /* a reference, while charged */
        UserSlot slot;
        unsigned amount;
} UserCharge;

void user_registry_init(UserRegistry *r);
/* Every user must be gone (asserted). */
void user_registry_done(UserRegistry *r);
unsigned user_registry_total(const UserRegistry *r, UserSlot slot);

/* @uid's entry, made on first use: a new reference; -ENOMEM. */
int user_registry_ref(UserRegistry *r, uid_t uid, User **ret);
User *user_ref(User *u);
/* Drops a reference; the entry goes with the last.  Returns NULL. */
User *user_unref(User *u);

unsigned user_charged(const User *u, UserSlot slot);

/* Charge @amount in @slot to @u through @c, which must hold nothing yet. */
void user_charge(UserCharge *c, User *u, UserSlot slot, unsigned amount);
/* Change what @c holds to @amount (it must be charged). */
void user_charge_set(UserCharge *c, unsigned amount);
/* Give back all that @c holds (nothing, if it holds nothing). */
void user_charge_drop(UserCharge *c);
