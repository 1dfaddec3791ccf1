/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Restarts that lose no lease.  Under systemd, every kernel object a lease
 * stands on (the client's connection and pidfd, the container, the group and
 * interrupt fds; device fds are opened again) is kept in the service's FD
 * store, one name per fd but one for a connection's socket and pidfd, and
 * the state file in the runtime directory says what each name is.
 * A new broker process gets the fds back with its socket, reads the file and
 * adopts every lease: nothing in the kernel changed, so the clients' fds
 * keep working.  Run by hand there is no FD store: a restart ends every lease.
 */

#include <stddef.h>

#include "broker.h"

typedef struct StoredFd {
        char *name;
        int fd;
} StoredFd;

/* From now on, keep the FD store and the state file at @state_file up to date. */
int persist_enable(Broker *b, const char *state_file);

/* Adopt what the state file names among @fds (the fds systemd passed back); closes every fd it does not use. */
int persist_adopt(Broker *b, StoredFd *fds, size_t n_fds);

/* Stop keeping the store and the state file up to date (what they hold stays for a restart). */
void persist_disable(Broker *b);

/* Likewise, for a stop no restart follows: the state file goes (systemd drops its FD store). */
void persist_end(Broker *b);
