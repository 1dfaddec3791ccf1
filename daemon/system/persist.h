/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Restarts that lose no lease.  Under systemd, every kernel object a lease
 * stands on (the client's connection and pidfd, the domain, the group and
 * interrupt fds; device fds are opened again) is kept in the service's FD
 * store (system/fdstore.h), and the state file in the runtime directory
 * (system/records.c) says what each name is.  Persistence observes the model
 * and writes both after every change (once per request).  A new broker
 * process gets the fds back with its socket, reads the file and adopts every
 * lease: nothing in the kernel changed, so the clients' fds keep working.
 * Run by hand there is no FD store: a restart ends every lease.
 */

#include <stddef.h>

#include "broker/broker.h"
#include "system/fdstore.h"

typedef struct Persist Persist;

/* From now on, keep the FD store and the state file at @state_file up to date. */
int persist_new(Broker *b, const char *state_file, Persist **ret);

/* Adopt what the state file names among @fds (the fds systemd passed back); closes every fd it does not use. */
int persist_adopt(Persist *p, StoredFd *fds, size_t n_fds);

/* Stop keeping the store and the state file up to date (what they hold stays for a restart). */
Persist *persist_free(Persist *p);

/* Likewise, for a stop no restart follows: the state file goes (systemd drops its FD store). */
Persist *persist_end(Persist *p);
