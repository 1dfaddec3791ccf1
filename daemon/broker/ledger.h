/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The reset ledger: groups released without a reset of every device, and
 * who had them last.  With ResetRequired=yes such a group goes to nobody
 * else until a later release resets it.
 */

#include <stddef.h>
#include <sys/types.h>

typedef struct UsedGroup {
        int number;
        uid_t uid;
} UsedGroup;

typedef struct ResetLedger {
        UsedGroup *items;
        size_t n;
} ResetLedger;

void ledger_done(ResetLedger *l);
/* Group @number was released unreset by @uid (replaces what was said of it before). */
void ledger_mark_used(ResetLedger *l, int number, uid_t uid);
/* Group @number was reset clean. */
void ledger_mark_clean(ResetLedger *l, int number);
const UsedGroup *ledger_find(const ResetLedger *l, int number);
