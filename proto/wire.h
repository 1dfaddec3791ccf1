/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One message per SOCK_SEQPACKET packet, fds beside it with SCM_RIGHTS.
 * Shared by the broker and the client library.
 */

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <sys/types.h>

#define VFIO_BROKER_MAX_MESSAGE 65536
#define VFIO_BROKER_MAX_FDS 128

/*
 * Send one packet of @size bytes with @n_fds fds.  -EMSGSIZE when the packet
 * or the fd count is over the protocol's maximum; -errno from sendmsg
 * otherwise (never SIGPIPE).
 */
int wire_send(int sock, const void *data, size_t size, const int *fds, size_t n_fds);

/* Pack @msg and send it with wire_send(). */
int wire_send_message(int sock, const ProtobufCMessage *msg, const int *fds, size_t n_fds);

/*
 * Receive one packet into @buf (@size bytes, at most VFIO_BROKER_MAX_MESSAGE
 * are ever needed) and up to @max_fds fds into @fds, close-on-exec.
 * Returns the packet's length, 0 at end of stream, or -errno.  Every control
 * message is walked; a packet longer than @size, a truncated control buffer,
 * more fds than @max_fds, a control message other than SCM_RIGHTS or fds on
 * an empty packet is -EBADMSG, and then every fd that arrived with it is
 * already closed.
 */
ssize_t wire_recv(int sock, void *buf, size_t size, int *fds, size_t max_fds, size_t *ret_n_fds);
