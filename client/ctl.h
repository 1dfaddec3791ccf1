/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vfio-brokerctl's exit statuses beside 0 and 1 (1: a local failure, a check that fails). */

/* A mistake on the command line; nothing was asked of the broker. */
#define EXIT_USAGE 2

/* The broker (or the bus) refused, or could not be reached; for run: COMMAND never ran. */
#define EXIT_BROKER 125

struct vfio_broker;

/* A mistake on the command line: one line saying what, and where to look; returns EXIT_USAGE. */
int usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The socket connect_broker() uses: --socket, $VFIO_BROKER_SOCKET or the default. */
const char *ctl_socket_path(void);

/* Connect to the broker's socket (--socket, $VFIO_BROKER_SOCKET or the default) and say Hello; errors are printed. */
int connect_broker(struct vfio_broker **ret);

/* "vfio-brokerctl: WHAT: " the broker's message, or @r's. */
void print_error(struct vfio_broker *b, const char *what, int r);
