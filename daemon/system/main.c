/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-brokerd: hands VFIO devices to unprivileged clients. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/broker.h"
#include "common/util.h"
#include "config.h"
#include "policy/policy-load.h"
#include "rpc/server.h"
#include "system/bus.h"
#include "system/persist.h"
#include "system/service.h"
#include "util/log.h"
#include "util/loop.h"

/* A positive count, at most a million. */
static int parse_limit(const char *s, unsigned *ret) {
        unsigned long v;
        char *end;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || end == s || v == 0 || v > 1000000)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static void usage(FILE *f) {
        fprintf(f,
                "Usage: vfio-brokerd [OPTIONS]\n"
                "Hand VFIO device, container and IRQ fds to unprivileged clients.\n\n"
                "  --socket PATH        listen on PATH (default %s)\n"
                "  --policy FILE        the policy file (default %s; must exist when given)\n"
                "  --policy-dir DIR     drop-ins, *.conf in lexical order (default %s)\n"
                "  --sysfs PATH         read devices from PATH instead of /sys\n"
                "  --backend legacy|fake\n"
                "                       the kernel side: VFIO's container/group API (default),\n"
                "                       or no kernel at all, for tests and benchmarks\n"
                "  --max-connections-per-uid N   (default %u)\n"
                "  --max-leases-per-uid N        (default %u)\n"
                "  --max-unauthenticated N       connections before Hello, all uids (default %u)\n"
                "  --hello-timeout SECONDS       to say Hello in (default %llu)\n"
                "  --max-queued-bytes N          bytes of replies a uid leaves unread (default %u)\n"
                "  --max-fds-in-flight N         fds sent to a uid and not yet received (default %u)\n"
                "  --log-target auto|console|journal\n"
                "                       where records go; auto: the journal when stderr is\n"
                "                       connected to it, else stderr (default auto)\n"
                "  --state-file PATH    where leases are written for restarts under systemd\n"
                "                       (default %s)\n"
                "  --verbose            log debug messages\n"
                "  --help, --version\n\n"
                "SIGHUP reloads the policy; a broken policy leaves the one in force.\n"
                "Under systemd (FileDescriptorStoreMax=) a restart keeps every lease; run by hand,\n"
                "stopping the broker ends them.\n",
                VFIO_BROKER_SOCKET, POLICY_DEFAULT_FILE, POLICY_DEFAULT_DIR, BROKER_DEFAULT_MAX_CONNECTIONS_PER_UID,
                BROKER_DEFAULT_MAX_LEASES_PER_UID, BROKER_DEFAULT_MAX_UNAUTHENTICATED,
                BROKER_DEFAULT_HELLO_TIMEOUT_USEC / 1000000ULL, BROKER_DEFAULT_MAX_QUEUED_BYTES,
                BROKER_DEFAULT_MAX_FDS_IN_FLIGHT, VFIO_BROKER_STATE_FILE);
}

static void log_policy_error(const char *what, const PolicyError *err) {
        if (err->line > 0)
                log_error("%s: %s:%u: %s", what, err->file, err->line, err->message);
        else
                log_error("%s: %s: %s", what, err->file, err->message);
}

static void log_policy(const Broker *b) {
        log_info("policy: %zu pool(s), %zu grant(s); AllowUnsafeInterrupts=%s AllowNoIommu=%s ResetRequired=%s",
                 b->policy.n_pools, b->policy.n_grants, b->policy.allow_unsafe_interrupts ? "yes" : "no",
                 b->policy.allow_noiommu ? "yes" : "no", b->policy.reset_required ? "yes" : "no");
}

/* SIGHUP or the admin API's ReloadPolicy: -errno with @error saying why if the policy is broken. */
static int reload(void *userdata, char *error, size_t size) {
        Broker *b = userdata;
        PolicyError err = {};
        int r;

        service_notify("RELOADING=1");
        r = broker_load_policy(b, &err);
        if (r < 0) {
                log_policy_error("reload failed, the policy in force stays", &err);
                if (err.line > 0)
                        snprintf(error, size, "%s:%u: %s", err.file, err.line, err.message);
                else
                        snprintf(error, size, "%s: %s", err.file, err.message);
                service_notify("READY=1\nSTATUS=reload failed: %s", error);
                return r;
        }
        log_info("policy reloaded");
        log_policy(b);
        service_notify("READY=1\nSTATUS=serving, policy of %zu grant(s) reloaded", b->policy.n_grants);
        return 0;
}

static void on_reload(Source *s, int signo, void *userdata) {
        char error[512];

        (void) reload(userdata, error, sizeof(error));
}

/* The admin API, asked on SIGTERM whether a restart follows; persistence, under a service manager. */
static Bus *bus;
static Persist *persist;

static void on_terminate(Source *s, int signo, void *userdata) {
        Broker *b = userdata;
        int r = 0;

        service_notify("STOPPING=1");
        /* Under systemd a restart takes every lease back from the FD store; so may a stop we cannot tell from one. */
        if (persist)
                r = bus_restart_pending(bus);
        b->ending = persist && r != 0 ? BROKER_LEAVING : BROKER_STOPPING;
        if (b->ending == BROKER_LEAVING)
                log_info("signal %d: stopping; the leases stay in the FD store for the next start%s%s", signo,
                         r < 0 ? " (whether one follows cannot be told: " : "", r < 0 ? strerror(-r) : "");
        else
                log_info("signal %d: stopping; every lease ends%s", signo,
                         persist ? " (no restart follows: the service manager drops its FD store)" : "");
        loop_exit(b->loop);
}

static int make_parent_dir(const char *path) {
        char dir[4096];
        char *slash;

        string_copy(dir, sizeof(dir), path);
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
                { "backend", required_argument, NULL, 'b' },
                { "policy", required_argument, NULL, 'p' },
                { "policy-dir", required_argument, NULL, 'P' },
                { "max-connections-per-uid", required_argument, NULL, 'C' },
                { "max-leases-per-uid", required_argument, NULL, 'L' },
                { "max-unauthenticated", required_argument, NULL, 'A' },
                { "hello-timeout", required_argument, NULL, 'T' },
                { "max-queued-bytes", required_argument, NULL, 'Q' },
                { "max-fds-in-flight", required_argument, NULL, 'F' },
                { "log-target", required_argument, NULL, 'l' },
                { "state-file", required_argument, NULL, 'f' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {}
        };
        BrokerConfig config;
        const char *socket_path = VFIO_BROKER_SOCKET;
        RpcServer *server = NULL;
        Source *sigterm = NULL, *sigint = NULL, *sighup = NULL, *watchdog = NULL;
        int listen_fd = -EBADF;
        PolicyError err = {};
        Broker *broker = NULL;
        Loop *loop = NULL;
        StoredFd *stored = NULL;
        size_t n_stored = 0;
        const char *state_file = VFIO_BROKER_STATE_FILE;
        int c, r = 0;

        broker_config_init(&config);
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 's': socket_path = optarg; break;
                case 'S': config.sysfs_root = optarg; break;
                case 'b':
                        if (kernel_backend_from_string(optarg, &config.backend) < 0) {
                                fprintf(stderr, "vfio-brokerd: --backend is legacy or fake\n");
                                return EXIT_FAILURE;
                        }
                        break;
                case 'p': config.policy_file = optarg; config.policy_file_required = true; break;
                case 'P': config.policy_dir = optarg; break;
                case 'C': r = parse_limit(optarg, &config.max_connections_per_uid); break;
                case 'L': r = parse_limit(optarg, &config.max_leases_per_uid); break;
                case 'A': r = parse_limit(optarg, &config.max_unauthenticated); break;
                case 'Q': r = parse_limit(optarg, &config.max_queued_bytes); break;
                case 'F': r = parse_limit(optarg, &config.max_fds_in_flight); break;
                case 'T': {
                        unsigned seconds;

                        r = parse_limit(optarg, &seconds);
                        config.hello_timeout_usec = seconds * 1000000ULL;
                        break;
                }
                case 'l': {
                        LogTarget target;

                        if (log_target_from_string(optarg, &target) < 0) {
                                fprintf(stderr, "vfio-brokerd: --log-target is auto, console or journal\n");
                                return EXIT_FAILURE;
                        }
                        log_set_target(target);
                        break;
                }
                case 'f': state_file = optarg; break;
                case 'v': log_max_level = LOG_DEBUG; break;
                case 'h': usage(stdout); return EXIT_SUCCESS;
                case 'V': printf("vfio-brokerd %s\n", VFIO_BROKER_VERSION); return EXIT_SUCCESS;
                default: usage(stderr); return EXIT_FAILURE;
                }
                if (r < 0) {
                        fprintf(stderr, "vfio-brokerd: bad number \"%s\"\n", optarg);
                        return EXIT_FAILURE;
                }
        }
        if (optind < argc) {
                usage(stderr);
                return EXIT_FAILURE;
        }
        signal(SIGPIPE, SIG_IGN);

        r = loop_new(&loop);
        if (r >= 0)
                r = broker_new(&broker, loop, &config);
        if (r >= 0)
                r = rpc_server_new(broker, &server);
        if (r < 0) {
                log_error("cannot set up: %s", strerror(-r));
                return EXIT_FAILURE;
        }
        r = broker_load_policy(broker, &err);
        if (r < 0) {
                log_policy_error("refusing to start", &err);
                goto out;
        }
        if (access(config.policy_file, F_OK) < 0)
                log_warning("no policy file %s: nobody may lease anything", config.policy_file);
        log_policy(broker);
        r = service_listen_fds(&listen_fd, &stored, &n_stored);
        if (r >= 0) {
                r = rpc_server_set_listen_fd(server, listen_fd);
                socket_path = "the socket systemd passed";
        } else if (r == -ENOENT) {
                r = make_parent_dir(socket_path);
                if (r >= 0)
                        r = rpc_server_listen(server, socket_path);
        }
        if (r < 0) {
                log_error("cannot listen on %s: %s", socket_path, strerror(-r));
                goto out;
        }
        /* Under a service manager, leases outlive the process: take back those of the one before. */
        if (getenv("NOTIFY_SOCKET")) {
                r = persist_new(broker, state_file, &persist);
                if (r >= 0)
                        r = persist_adopt(persist, stored, n_stored);
                if (r >= 0)
                        r = rpc_server_serve_adopted(server);
                if (r < 0) {
                        log_error("cannot take back the leases of before the restart: %s", strerror(-r));
                        goto out;
                }
        }
        for (size_t i = 0; i < n_stored; i++)
                safe_close(stored[i].fd); /* not adopted (or no service manager to keep them for) */
        r = loop_add_signal(loop, SIGTERM, on_terminate, broker, &sigterm);
        if (r >= 0)
                r = loop_add_signal(loop, SIGINT, on_terminate, broker, &sigint);
        if (r >= 0)
                r = loop_add_signal(loop, SIGHUP, on_reload, broker, &sighup);
        if (r < 0) {
                log_error("cannot watch signals: %s", strerror(-r));
                goto out;
        }
        r = service_start_watchdog(loop, &watchdog);
        if (r < 0) {
                log_error("cannot start the watchdog: %s", strerror(-r));
                goto out;
        }
        r = bus_new(broker, loop, reload, broker, &bus);
        if (r < 0)
                log_warning("the admin API is off: %s", strerror(-r));
        /* Everything that needed root is done: keep only what leasing needs. */
        r = service_drop_capabilities(broker->policy.allow_noiommu);
        if (r < 0) {
                log_error("cannot drop capabilities: %s", strerror(-r));
                goto out;
        }
        log_info("vfio-brokerd %s listening on %s", VFIO_BROKER_VERSION, socket_path);
        service_notify("READY=1\nSTATUS=serving, policy of %zu grant(s)", broker->policy.n_grants);
        r = loop_run(loop);
out:
        source_free(sigterm);
        source_free(sigint);
        source_free(sighup);
        source_free(watchdog);
        bus = bus_free(bus);
        if (persist) {
                if (broker->ending == BROKER_STOPPING)
                        persist = persist_end(persist); /* nothing stays for a next start */
                else {
                        broker->ending = BROKER_LEAVING; /* failed: a restart may take them back */
                        persist = persist_free(persist);
                }
        }
        rpc_server_free(server);
        broker_free(broker);
        for (size_t i = 0; i < n_stored; i++)
                free(stored[i].name);
        free(stored);
        loop_free(loop);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
