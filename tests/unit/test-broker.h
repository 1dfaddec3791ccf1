/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the model's unit tests share: a broker on a fake sysfs tree and the
 * fake kernel backend, and connections of this process on sockets of the
 * test's own.
 */

#include "broker/connection.h"
#include "rpc/server.h"
#include "rpc/session.h"

/*
 * A broker on the tree at @sysfs_root and the fake backend, under @policy (the
 * text of a policy file; NULL: none), with its own loop.  @config_fn, if not
 * NULL, changes the configuration first.
 */
Broker *test_broker_new(const char *sysfs_root, const char *policy, void (*config_fn)(BrokerConfig *config));
void test_broker_free(Broker *b);

/* A connection of the broker on @fd (taken), with the identity of @fd's peer: this process. */
Connection *test_connection(Broker *b, int fd);
/* The same on a new socket pair, whose other end goes to *ret_peer; said Hello. */
Connection *test_connect(Broker *b, int *ret_peer);
/* The same, served by @server. */
Session *test_session(RpcServer *server, Broker *b, int fd);

/* Run @b's loop for @msec milliseconds. */
void test_run_loop(Broker *b, unsigned msec);
