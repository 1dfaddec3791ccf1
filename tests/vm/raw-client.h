/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The raw side of the protocol, for test clients that misbehave on purpose. */

/* Connect to the broker's socket; exits with @who's message on failure. */
int raw_connect(const char *who);

/* Send a Hello naming @name (the reply is left for the caller); 0 or -errno. */
int raw_send_hello(int fd, const char *name);

/* Send an AcquireRequest (id 7) for @bdf, with one interrupt of type @irq unless 0; 0 or -errno. */
int raw_send_acquire(int fd, const char *bdf, int irq);
