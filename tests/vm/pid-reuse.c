/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pid-reuse BROKER-PID FROM-CGROUP TO-CGROUP UID BDF [hold]: the identity
 * race, forced.  With the broker stopped (SIGSTOP), a process of UID in
 * FROM-CGROUP connects, sends Hello and an AcquireRequest for BDF, and exits;
 * its pid is handed (through /proc/sys/kernel/ns_last_pid) to a process of
 * the same UID in TO-CGROUP; then the broker goes on and accepts the
 * connection from its backlog.  With "hold", a child of the connecting
 * process keeps the socket and reads the answers.
 *
 * Prints what the connection got: "granted", "refused: MESSAGE" or "closed"
 * (the broker ended it unanswered; without "hold" nobody reads, "unread").
 * Exits 0 unless the broker granted the device, 3 if it did, 1 when the
 * race could not be set up.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include "raw-client.h"
#include "common/util.h"
#include "proto/vfio-broker.pb-c.h"
#include "proto/wire.h"

static void die(const char *what) {
        fprintf(stderr, "pid-reuse: %s: %m\n", what);
        exit(EXIT_FAILURE);
}

static void write_file(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);

        if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t) strlen(text))
                die(path);
        close(fd);
}

/* Into @cgroup (a directory under /sys/fs/cgroup), then @uid for good. */
static void become(const char *cgroup, uid_t uid) {
        char path[512];

        snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
        write_file(path, "0");
        if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
                die("setresuid");
}

/* The connection's answers, read by the child that kept the socket. */
static int read_answers(int fd, int out) {
        static uint8_t buf[VFIO_BROKER_MAX_MESSAGE];
        char said[600] = "closed";
        int fds[VFIO_BROKER_MAX_FDS];
        int status = 0;

        for (;;) {
                size_t n_fds = 0;
                ssize_t n = wire_recv(fd, buf, sizeof(buf), fds, VFIO_BROKER_MAX_FDS, &n_fds);
                Vfiobroker__Reply *reply;

                close_many(fds, n_fds);
                if (n <= 0)
                        break;
                reply = vfiobroker__reply__unpack(NULL, (size_t) n, buf);
                if (reply && reply->id == 7) {
                        if (reply->error)
                                snprintf(said, sizeof(said), "refused: %s", reply->error->message);
                        else {
                                snprintf(said, sizeof(said), "granted");
                                status = 3;
                        }
                        vfiobroker__reply__free_unpacked(reply, NULL);
                        break;
                }
                if (reply)
                        vfiobroker__reply__free_unpacked(reply, NULL);
        }
        dprintf(out, "%s\n", said);
        return status;
}

/* The broker accepts in order: once a later connection is answered, the racing one has been looked at. */
static void probe(void) {
        static uint8_t buf[VFIO_BROKER_MAX_MESSAGE];
        int fd = raw_connect("pid-reuse"), fds[VFIO_BROKER_MAX_FDS];
        size_t n_fds = 0;

        if (raw_send_hello(fd, "pid-reuse-probe") < 0 ||
            wire_recv(fd, buf, sizeof(buf), fds, VFIO_BROKER_MAX_FDS, &n_fds) <= 0)
                die("probe");
        close_many(fds, n_fds);
        close(fd);
}

int main(int argc, char **argv) {
        pid_t broker, connector, heir;
        int pipefd[2], ready[2], status;
        bool hold;
        char text[32];
        uid_t uid;

        if (argc < 6) {
                fprintf(stderr, "usage: pid-reuse BROKER-PID FROM-CGROUP TO-CGROUP UID BDF [hold]\n");
                return EXIT_FAILURE;
        }
        broker = (pid_t) atoi(argv[1]);
        uid = (uid_t) atoi(argv[4]);
        hold = argc > 6 && strcmp(argv[6], "hold") == 0;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                die("pipe");
        if (kill(broker, SIGSTOP) < 0)
                die("SIGSTOP the broker");

        connector = fork();
        if (connector < 0)
                die("fork");
        if (connector == 0) {
                int fd;

                become(argv[2], uid);
                fd = raw_connect("pid-reuse");
                if (raw_send_hello(fd, "pid-reuse") < 0 || raw_send_acquire(fd, argv[5], 0) < 0)
                        die("send");
                if (hold) {
                        pid_t keeper = fork();

                        if (keeper < 0)
                                die("fork");
                        if (keeper == 0) {
                                close(pipefd[0]);
                                _exit(read_answers(fd, pipefd[1]));
                        }
                }
                _exit(0);
        }
        close(pipefd[1]);
        if (waitpid(connector, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                kill(broker, SIGCONT);
                fprintf(stderr, "pid-reuse: the connecting process failed\n");
                return EXIT_FAILURE;
        }

        /* Its pid is free again: the next fork gets it. */
        snprintf(text, sizeof(text), "%d", (int) connector - 1);
        write_file("/proc/sys/kernel/ns_last_pid", text);
        if (pipe2(ready, O_CLOEXEC) < 0)
                die("pipe");
        heir = fork();
        if (heir < 0)
                die("fork");
        if (heir == 0) {
                become(argv[3], uid);
                close(ready[1]); /* settled in: the broker may look */
                pause();
                _exit(0);
        }
        close(ready[1]);
        if (read(ready[0], text, 1) < 0)
                die("read");
        kill(broker, SIGCONT);
        if (heir != connector) {
                fprintf(stderr, "pid-reuse: pid %d went to %d, not reused\n", (int) connector, (int) heir);
                kill(heir, SIGKILL);
                return EXIT_FAILURE;
        }
        printf("pid-reuse: pid %d connected from %s, now a process in %s\n", (int) connector, argv[2], argv[3]);
        fflush(stdout);
        probe();

        status = 0;
        if (hold) {
                char answer[640] = "";
                ssize_t n;

                alarm(60);
                n = read(pipefd[0], answer, sizeof(answer) - 1);
                answer[n > 0 ? n : 0] = 0;
                printf("pid-reuse: %s", answer[0] ? answer : "no answer\n");
                status = strncmp(answer, "granted", 7) == 0 ? 3 : 0;
        } else {
                printf("pid-reuse: unread\n");
                sleep(1); /* the heir lives while the broker serves the connection */
        }
        kill(heir, SIGKILL);
        waitpid(heir, NULL, 0);
        return status;
}
