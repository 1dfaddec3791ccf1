/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "proto/wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/util.h"

typedef union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * VFIO_BROKER_MAX_FDS)];
} ControlBuffer;

int wire_send(int sock, const void *data, size_t size, const int *fds, size_t n_fds) {
        ControlBuffer control = {};
        struct iovec iov = { .iov_base = (void *) data, .iov_len = size };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (size > VFIO_BROKER_MAX_MESSAGE || n_fds > VFIO_BROKER_MAX_FDS)
                return -EMSGSIZE;
        if (n_fds > 0) {
                struct cmsghdr *cmsg;

                mh.msg_control = control.buf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                cmsg = CMSG_FIRSTHDR(&mh);
                cmsg->cmsg_level = SOL_SOCKET;
                cmsg->cmsg_type = SCM_RIGHTS;
                cmsg->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * n_fds);
        }
        if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
                return -errno;
        return 0;
}

int wire_send_message(int sock, const ProtobufCMessage *msg, const int *fds, size_t n_fds) {
        _cleanup_free_ uint8_t *heap = NULL;
        uint8_t small[1024], *buf = small;
        size_t size;

        size = protobuf_c_message_get_packed_size(msg);
        if (size > VFIO_BROKER_MAX_MESSAGE)
                return -EMSGSIZE;
        if (size > sizeof(small)) {
                buf = heap = malloc(size);
                if (!buf)
                        return -ENOMEM;
        }
        protobuf_c_message_pack(msg, buf);
        return wire_send(sock, buf, size, fds, n_fds);
}

/* Take the fds of one SCM_RIGHTS message; -EBADMSG (fds closed) past @max_fds. */
static int take_fds(struct cmsghdr *cmsg, int *fds, size_t max_fds, size_t *n_fds) {
        size_t n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int r = 0;

        for (size_t i = 0; i < n; i++) {
                int fd;

                memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
                if (*n_fds < max_fds)
                        fds[(*n_fds)++] = fd;
                else {
                        safe_close(fd);
                        r = -EBADMSG;
                }
        }
        return r;
}

ssize_t wire_recv(int sock, void *buf, size_t size, int *fds, size_t max_fds, size_t *ret_n_fds) {
        ControlBuffer control;
        struct iovec iov = { .iov_base = buf, .iov_len = size };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = control.buf,
                .msg_controllen = sizeof(control.buf),
        };
        size_t n_fds = 0;
        ssize_t n;
        int r = 0;

        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0)
                return -errno;

        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        if (take_fds(c, fds, max_fds, &n_fds) < 0)
                                r = -EBADMSG;
                } else
                        r = -EBADMSG;
        }
        if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
                r = -EBADMSG;
        /* An empty packet is no message (and would pass for the end of the stream): its fds are not taken. */
        if (n == 0 && n_fds > 0)
                r = -EBADMSG;
        if (r < 0) {
                close_many(fds, n_fds);
                return r;
        }
        *ret_n_fds = n_fds;
        return n;
}
