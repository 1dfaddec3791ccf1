/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * vfio-brokerctl policy check FILE... (validate and summarise) and policy
 * explain (the decision for an identity, and the grant behind it; opens no
 * device).  Returns the exit status.
 */

int cmd_policy(int argc, char **argv);

struct PolicyError;

/* "FILE:LINE: why" on stderr. */
void print_policy_error(const struct PolicyError *err);
