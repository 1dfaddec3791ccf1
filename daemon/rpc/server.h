/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The client socket: the listening socket, a session per accepted client,
 * and the one buffer every request is read into.
 */

#include "broker/broker.h"

typedef struct RpcServer RpcServer;
typedef struct Session Session;

int rpc_server_new(Broker *b, RpcServer **ret);
/* Frees every session, and so their connections. */
RpcServer *rpc_server_free(RpcServer *s);

/* Take over a listening socket (from systemd, or rpc_server_listen()). */
int rpc_server_set_listen_fd(RpcServer *s, int fd);
/*
 * Listen on @path (mode 0666).  A socket there that nobody listens on is
 * removed first; -EADDRINUSE when a live broker answers on it (its pid in
 * *@ret_owner), -EEXIST when something else than a socket is there.
 */
int rpc_server_listen(RpcServer *s, const char *path, pid_t *ret_owner);

/* Serve every connection of the broker that has no session yet (adopted after a restart). */
int rpc_server_serve_adopted(RpcServer *s);

/* For session.c. */
uint8_t *rpc_server_packet(RpcServer *s);
void rpc_server_add_session(RpcServer *s, Session *session);
void rpc_server_remove_session(RpcServer *s, Session *session);
