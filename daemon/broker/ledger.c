/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "broker/ledger.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#include "util/log.h"

void ledger_done(ResetLedger *l) {
        free(l->items);
        *l = (ResetLedger) {};
}

const UsedGroup *ledger_find(const ResetLedger *l, int number) {
        for (size_t i = 0; i < l->n; i++)
                if (l->items[i].number == number)
                        return &l->items[i];
        return NULL;
}

void ledger_mark_clean(ResetLedger *l, int number) {
        for (size_t i = 0; i < l->n; i++)
                if (l->items[i].number == number) {
                        l->items[i] = l->items[--l->n];
                        return;
                }
}

void ledger_mark_used(ResetLedger *l, int number, uid_t uid, const char *grant) {
        UsedGroup *p;

        ledger_mark_clean(l, number);
        p = reallocarray(l->items, l->n + 1, sizeof(*p));
        if (!p) {
                log_error("group %d: out of memory recording its last holder", number);
                return;
        }
        l->items = p;
        l->items[l->n] = (UsedGroup) { .number = number, .uid = uid };
        string_copy(l->items[l->n++].grant, sizeof(p->grant), grant ? grant : "");
}

bool ledger_other_tenant(const UsedGroup *used, uid_t uid, const char *grant) {
        return used->uid != uid || (used->grant[0] && strcmp(used->grant, grant) != 0);
}
