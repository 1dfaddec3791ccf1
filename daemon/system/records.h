/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The state file's record kinds (records.c says what each holds). */

#include <stdio.h>

#include "broker/broker.h"
#include "system/fdstore.h"
#include "system/state-file.h"

/* What adoption works with: the broker it fills and the fds systemd passed back. */
typedef struct Adoption {
        Broker *broker;
        Returned *returned;
} Adoption;

/* Every record of @b into @f, and the fds they stand on into @w. */
int records_write(FILE *f, Broker *b, WantList *w);

/* The table state_file_read() adopts with (userdata: an Adoption). */
extern const StateRecordKind record_kinds[];
extern const size_t n_record_kinds;
