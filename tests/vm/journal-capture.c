/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * journal-capture SOCKET OUT: stands in for journald's native socket
 * (/run/systemd/journal/socket) to read what the broker sends it.  Each
 * datagram, in journald's native format (FIELD=value lines), is appended to
 * OUT followed by a line "----".  A datagram too large for the socket comes
 * as a memfd (SCM_RIGHTS), which is read instead.  Runs until killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void append(int out, const char *data, size_t n) {
        while (n > 0) {
                ssize_t w = write(out, data, n);

                if (w < 0) {
                        perror("journal-capture: write");
                        exit(EXIT_FAILURE);
                }
                data += w;
                n -= (size_t) w;
        }
}

int main(int argc, char **argv) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        static char buf[256 * 1024];
        int sock, out;

        if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "usage: journal-capture SOCKET OUT\n");
                return EXIT_FAILURE;
        }
        strcpy(sa.sun_path, argv[1]);
        out = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (out < 0 || sock < 0) {
                perror("journal-capture");
                return EXIT_FAILURE;
        }
        unlink(argv[1]);
        if (bind(sock, (struct sockaddr *) &sa, sizeof(sa)) < 0 || chmod(argv[1], 0666) < 0) {
                perror("journal-capture: bind");
                return EXIT_FAILURE;
        }
        for (;;) {
                union {
                        struct cmsghdr h;
                        char buf[CMSG_SPACE(sizeof(int))];
                } control;
                struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                                     .msg_control = &control, .msg_controllen = sizeof(control) };
                struct cmsghdr *cm;
                ssize_t n;

                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        perror("journal-capture: recvmsg");
                        return EXIT_FAILURE;
                }
                cm = CMSG_FIRSTHDR(&mh);
                if (cm && cm->cmsg_type == SCM_RIGHTS) {
                        int fd;

                        memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
                        n = pread(fd, buf, sizeof(buf), 0);
                        close(fd);
                        if (n < 0)
                                n = 0;
                }
                append(out, buf, (size_t) n);
                append(out, "----\n", 5);
        }
}
