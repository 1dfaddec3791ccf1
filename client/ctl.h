/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vfio-brokerctl's exit statuses beside 0 and 1 (1: a local failure, a check that fails). */

/* A mistake on the command line; nothing was asked of the broker. */
#define EXIT_USAGE 2

/* The broker (or the bus) refused, or could not be reached; for run: COMMAND never ran. */
#define EXIT_BROKER 125
