/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-brokerd: hands VFIO devices to unprivileged clients. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "broker.h"
#include "config.h"
#include "log.h"
#include "loop.h"

static void usage(FILE *f) {
        fprintf(f,
                "Usage: vfio-brokerd [OPTIONS]\n"
                "Hand VFIO device, container and IRQ fds to unprivileged clients.\n\n"
                "  --socket PATH             listen on PATH (default %s)\n"
                "  --sysfs PATH              read devices from PATH instead of /sys\n"
                "  --unsafe-allow-any-user   DEVELOPMENT ONLY: every local uid may lease\n"
                "                            every device (there is no policy yet)\n"
                "  --verbose                 log debug messages\n"
                "  --help, --version\n",
                VFIO_BROKER_SOCKET);
}

static void on_terminate(Source *s, int signo, void *userdata) {
        log_info("signal %d: stopping", signo);
        loop_exit(userdata);
}

static int make_parent_dir(const char *path) {
        char dir[4096];
        char *slash;

        snprintf(dir, sizeof(dir), "%s", path);
        slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0;
        *slash = 0;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "socket", required_argument, NULL, 's' },
                { "sysfs", required_argument, NULL, 'S' },
                { "unsafe-allow-any-user", no_argument, NULL, 'U' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {}
        };
        BrokerConfig config = { .socket_path = VFIO_BROKER_SOCKET, .sysfs_root = "/sys" };
        Source *sigterm = NULL, *sigint = NULL;
        Broker *broker = NULL;
        Loop *loop = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 's': config.socket_path = optarg; break;
                case 'S': config.sysfs_root = optarg; break;
                case 'U': config.unsafe_allow_any_user = true; break;
                case 'v': log_max_level = LOG_DEBUG; break;
                case 'h': usage(stdout); return EXIT_SUCCESS;
                case 'V': printf("vfio-brokerd %s\n", VFIO_BROKER_VERSION); return EXIT_SUCCESS;
                default: usage(stderr); return EXIT_FAILURE;
                }
        }
        if (optind < argc) {
                usage(stderr);
                return EXIT_FAILURE;
        }
        if (config.unsafe_allow_any_user)
                log_warning("--unsafe-allow-any-user: EVERY local user may lease EVERY vfio-pci device. "
                            "Development only.");
        signal(SIGPIPE, SIG_IGN);

        r = loop_new(&loop);
        if (r >= 0)
                r = broker_new(&broker, loop, &config);
        if (r < 0) {
                log_error("cannot set up: %s", strerror(-r));
                return EXIT_FAILURE;
        }
        r = make_parent_dir(config.socket_path);
        if (r >= 0)
                r = broker_listen(broker, config.socket_path);
        if (r < 0) {
                log_error("cannot listen on %s: %s", config.socket_path, strerror(-r));
                goto out;
        }
        r = loop_add_signal(loop, SIGTERM, on_terminate, loop, &sigterm);
        if (r >= 0)
                r = loop_add_signal(loop, SIGINT, on_terminate, loop, &sigint);
        if (r < 0) {
                log_error("cannot watch signals: %s", strerror(-r));
                goto out;
        }
        log_info("vfio-brokerd %s listening on %s", VFIO_BROKER_VERSION, config.socket_path);
        r = loop_run(loop);
out:
        source_free(sigterm);
        source_free(sigint);
        broker_free(broker);
        loop_free(loop);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
