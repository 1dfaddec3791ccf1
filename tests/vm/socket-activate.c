/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * socket-activate SOCKET LOG COMMAND [ARG...]: start COMMAND the way systemd
 * starts a socket-activated Type=notify service with a watchdog, without
 * systemd.  It binds a SOCK_SEQPACKET listening socket at SOCKET and hands
 * it over as fd 3 (LISTEN_FDS=1, LISTEN_PID), sets NOTIFY_SOCKET to a
 * datagram socket of its own and WATCHDOG_USEC to 1 s, then writes "pid N"
 * and every notification line it receives to LOG until COMMAND exits, and
 * exits with COMMAND's status.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOTIFY_PATH "/run/socket-activate.notify"

static int bound_socket(int type, const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, type, 0);

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        unlink(path);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                perror(path);
                exit(EXIT_FAILURE);
        }
        return fd;
}

int main(int argc, char **argv) {
        int listen_fd, notify_fd, status;
        FILE *log;
        pid_t pid;

        if (argc < 4) {
                fprintf(stderr, "usage: socket-activate SOCKET LOG COMMAND [ARG...]\n");
                return EXIT_FAILURE;
        }
        listen_fd = bound_socket(SOCK_SEQPACKET, argv[1]);
        if (chmod(argv[1], 0666) < 0 || listen(listen_fd, SOMAXCONN) < 0)
                return EXIT_FAILURE;
        notify_fd = bound_socket(SOCK_DGRAM | SOCK_CLOEXEC, NOTIFY_PATH);
        log = fopen(argv[2], "we");
        if (!log)
                return EXIT_FAILURE;

        pid = fork();
        if (pid < 0)
                return EXIT_FAILURE;
        if (pid == 0) {
                char pidstr[16];

                if (dup2(listen_fd, 3) < 0)
                        _exit(EXIT_FAILURE);
                if (listen_fd != 3)
                        close(listen_fd);
                snprintf(pidstr, sizeof(pidstr), "%d", (int) getpid());
                setenv("LISTEN_FDS", "1", 1);
                setenv("LISTEN_PID", pidstr, 1);
                setenv("NOTIFY_SOCKET", NOTIFY_PATH, 1);
                setenv("WATCHDOG_USEC", "1000000", 1);
                setenv("WATCHDOG_PID", pidstr, 1);
                execvp(argv[3], &argv[3]);
                _exit(127);
        }
        close(listen_fd);
        fprintf(log, "pid %d\n", (int) pid);
        fflush(log);
        for (;;) {
                struct pollfd p = { .fd = notify_fd, .events = POLLIN };
                char buf[4096];
                ssize_t n;

                if (poll(&p, 1, 200) > 0) {
                        n = recv(notify_fd, buf, sizeof(buf) - 1, 0);
                        if (n > 0) {
                                buf[n] = 0;
                                fprintf(log, "%s\n", buf);
                                fflush(log);
                        }
                        continue;
                }
                if (waitpid(pid, &status, WNOHANG) == pid)
                        break;
        }
        fclose(log);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
