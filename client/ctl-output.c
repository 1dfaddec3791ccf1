/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "client/ctl-output.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

CtlOutput ctl_output;
static pid_t pager_pid;

int ctl_output_option(const char *arg) {
        if (strcmp(arg, "--json") == 0 || strcmp(arg, "--json=pretty") == 0)
                ctl_output.json = CTL_JSON_PRETTY;
        else if (strcmp(arg, "--json=short") == 0)
                ctl_output.json = CTL_JSON_SHORT;
        else if (strcmp(arg, "--json=off") == 0)
                ctl_output.json = CTL_JSON_OFF;
        else if (strncmp(arg, "--json=", 7) == 0)
                return -EINVAL;
        else if (strcmp(arg, "--no-legend") == 0)
                ctl_output.no_legend = true;
        else if (strcmp(arg, "--no-pager") == 0)
                ctl_output.no_pager = true;
        else
                return 0;
        return 1;
}

/* The pager's side: run it on the pipe; where it cannot run, copy the pipe out ourselves (nothing is lost). */
static _Noreturn void run_pager(int fd) {
        const char *pager = getenv("VFIO_BROKER_PAGER");
        char buf[4096];
        ssize_t n;

        if (!pager || !*pager)
                pager = getenv("PAGER");
        if (dup2(fd, STDIN_FILENO) < 0)
                _exit(EXIT_FAILURE);
        if (fd != STDIN_FILENO)
                close(fd);
        if (!pager || !*pager)
                pager = "less";
        if (strcmp(pager, "cat") != 0) {
                /* less: quit if one screen, keep colours, no line wrap, no screen clearing, quit on ^C. */
                setenv("LESS", "FRSXMK", 0);
                execl("/bin/sh", "sh", "-c", pager, (char *) NULL);
        }
        while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
                if (fwrite(buf, 1, (size_t) n, stdout) != (size_t) n)
                        break;
        _exit(EXIT_SUCCESS);
}

void ctl_pager_start(void) {
        int fds[2];
        pid_t pid;

        if (ctl_output.no_pager || pager_pid > 0 || !isatty(STDOUT_FILENO))
                return;
        if (pipe(fds) < 0)
                return;
        fflush(stdout);
        pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                return;
        }
        if (pid == 0) {
                close(fds[1]);
                run_pager(fds[0]);
        }
        close(fds[0]);
        if (dup2(fds[1], STDOUT_FILENO) < 0) {
                close(fds[1]);
                kill(pid, SIGTERM);
                waitpid(pid, NULL, 0);
                return;
        }
        close(fds[1]);
        /* A pager that quits early (q) must not kill us with SIGPIPE: writes then fail quietly. */
        signal(SIGPIPE, SIG_IGN);
        pager_pid = pid;
}

void ctl_pager_end(void) {
        if (pager_pid <= 0)
                return;
        fflush(stdout);
        close(STDOUT_FILENO);
        while (waitpid(pager_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        pager_pid = 0;
}

void ctl_print_json(json_object *o) {
        int flags = JSON_C_TO_STRING_NOSLASHESCAPE;

        flags |= ctl_output.json == CTL_JSON_SHORT ? JSON_C_TO_STRING_PLAIN
                                                   : JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED;
        puts(json_object_to_json_string_ext(o, flags));
        json_object_put(o);
}

json_object *ctl_json_string_or_null(const char *s) {
        return s && *s ? json_object_new_string(s) : NULL;
}
