/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The reset ledger: groups released without a reset of every device, and
 * who had them last.  With ResetRequired=yes such a group goes to nobody
 * else until a later release resets it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct UsedGroup {
        int number;
        uid_t uid;
        char grant[65];                 /* the grant it was held by; "": not known (a state file of before) */
} UsedGroup;

typedef struct ResetLedger {
        UsedGroup *items;
        size_t n;
} ResetLedger;

void ledger_done(ResetLedger *l);
/* Group @number was released unreset by @uid (replaces what was said of it before). */
void ledger_mark_used(ResetLedger *l, int number, uid_t uid, const char *grant);
/* Whether @used keeps its group from @uid by @grant: another uid, or (where known) another grant. */
bool ledger_other_tenant(const UsedGroup *used, uid_t uid, const char *grant);
/* Group @number was reset clean. */
void ledger_mark_clean(ResetLedger *l, int number);
const UsedGroup *ledger_find(const ResetLedger *l, int number);
