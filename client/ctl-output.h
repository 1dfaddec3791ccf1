/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * How vfio-brokerctl shows what it lists (list, info, leases, status): a table
 * with a legend, or JSON (--json=short|pretty, one fixed schema per verb:
 * every key always present, null for none, numbers as numbers), through a
 * pager when standard output is a terminal (--no-pager, $VFIO_BROKER_PAGER,
 * $PAGER; less by default).
 */

#include <stdbool.h>

#include <json-c/json.h>

typedef enum {
        CTL_JSON_OFF,
        CTL_JSON_SHORT,
        CTL_JSON_PRETTY,
} CtlJson;

typedef struct {
        CtlJson json;
        bool no_legend;
        bool no_pager;
} CtlOutput;

extern CtlOutput ctl_output;

/*
 * @arg, if it is an output option (--json, --json=MODE, --no-legend,
 * --no-pager): applied, and 1; 0 when it is not one; -EINVAL for a --json
 * mode that is not short, pretty or off.
 */
int ctl_output_option(const char *arg);

/* Pages the rest of standard output when it is a terminal and no --no-pager; ctl_pager_end() (main calls it) waits for it. */
void ctl_pager_start(void);
void ctl_pager_end(void);

/* Prints @o (as ctl_output.json says) and drops it. */
void ctl_print_json(json_object *o);

/* A string, or JSON null for an empty one. */
json_object *ctl_json_string_or_null(const char *s);
