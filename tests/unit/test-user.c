/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Per-uid accounting (daemon/broker/user.c): a user lives while anything
 * holds it, a charge included; charges add up per uid and over all uids; a
 * charge dropped gives back exactly what it held.
 */
#include "broker/user.h"
#include "test.h"

static UserRegistry reg;

static void test_refcount(void) {
        User *a, *b;

        user_registry_init(&reg);
        CHECK_EQ_INT(user_registry_ref(&reg, 1000, &a), 0);
        CHECK_EQ_INT(user_registry_ref(&reg, 1000, &b), 0);
        CHECK(a == b);
        CHECK_EQ_INT(a->n_ref, 2);
        CHECK(user_unref(b) == NULL);
        CHECK(!LIST_EMPTY(&reg.users)); /* one reference left */
        user_unref(a);
        CHECK(LIST_EMPTY(&reg.users));
        user_registry_done(&reg);
}

static void test_charges(void) {
        UserCharge c1 = {}, c2 = {}, c3 = {};
        User *a, *b;

        user_registry_init(&reg);
        CHECK_EQ_INT(user_registry_ref(&reg, 1000, &a), 0);
        CHECK_EQ_INT(user_registry_ref(&reg, 1001, &b), 0);
        user_charge(&c1, a, USER_LEASES, 1);
        user_charge(&c2, a, USER_LEASES, 1);
        user_charge(&c3, b, USER_QUEUED_BYTES, 100);
        /* The charges hold the users: our own references may go. */
        user_unref(a);
        user_unref(b);
        CHECK_EQ_INT(user_charged(a, USER_LEASES), 2);
        CHECK_EQ_INT(user_charged(b, USER_LEASES), 0);
        CHECK_EQ_INT(user_registry_total(&reg, USER_LEASES), 2);
        CHECK_EQ_INT(user_registry_total(&reg, USER_QUEUED_BYTES), 100);

        user_charge_set(&c3, 40);
        CHECK_EQ_INT(user_charged(b, USER_QUEUED_BYTES), 40);
        CHECK_EQ_INT(user_registry_total(&reg, USER_QUEUED_BYTES), 40);

        user_charge_drop(&c1);
        CHECK_EQ_INT(user_charged(a, USER_LEASES), 1);
        CHECK(c1.user == NULL);
        user_charge_drop(&c1); /* twice: nothing more given back */
        CHECK_EQ_INT(user_charged(a, USER_LEASES), 1);
        user_charge_drop(&c2);
        user_charge_drop(&c3);
        CHECK_EQ_INT(user_registry_total(&reg, USER_LEASES), 0);
        CHECK_EQ_INT(user_registry_total(&reg, USER_QUEUED_BYTES), 0);
        CHECK(LIST_EMPTY(&reg.users)); /* the last charge took the users with it */
        user_registry_done(&reg);
}

int main(void) {
        RUN(test_refcount);
        RUN(test_charges);
        return 0;
}
