/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-brokerd: hands VFIO devices to unprivileged clients. */
#include <errno.h>
#include <fcntl.h>
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
#include "util/peer.h"
#include "util/loop.h"

/* A positive count, at most a million. */
static int parse_limit(const char *s, unsigned *ret) {
        unsigned long v;
        char *end;

        if (*s < '0' || *s > '9') /* strtoul would take " 5", "+5" and "-1" */
                return -EINVAL;
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
        if (peer_pidfd_pinned())
                return;
        for (size_t i = 0; i < b->policy.n_grants; i++) {
                const Grant *g = &b->policy.grants[i];

                if (g->n_cgroups > 0)
                        log_warning("grant \"%s\" (%s:%u): Cgroup= never matches on this kernel: without "
                                    "SO_PEERPIDFD (Linux 6.5) a client's cgroup cannot be read race-free",
                                    g->name, g->file, g->line);
        }
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

/*
 * Earlier builds kept the state file and the binding record in the socket's directory, which a
 * container given the broker's CDI device sees: take @old over to @path (the default), replacing
 * it.  A copy, not a rename: under the unit the two directories are separate mounts.
 */
static void move_runtime_file(const char *old, const char *path) {
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        char tmp[4096], buf[65536];
        ssize_t n;
        int r = 0;

        /* A new broker removes @old once moved: if it is there, an older broker ran last. */
        if (access(old, F_OK) < 0)
                return;
        if (snprintf(tmp, sizeof(tmp), "%s.moving", path) >= (int) sizeof(tmp))
                return;
        in = open(old, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (in < 0)
                r = -errno;
        if (r >= 0)
                r = make_parent_dir(path);
        if (r >= 0) {
                out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (out < 0)
                        r = -errno;
        }
        while (r >= 0 && (n = read(in, buf, sizeof(buf))) != 0) {
                if (n < 0 || write(out, buf, (size_t) n) != n)
                        r = n < 0 || errno ? -errno : -EIO;
        }
        if (r >= 0 && (fsync(out) < 0 || rename(tmp, path) < 0))
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                log_warning("cannot move %s to %s: %s; it stays there, unread", old, path, strerror(-r));
                return;
        }
        (void) unlink(old);
        log_info("moved %s to %s, out of the socket's directory", old, path);
}

/* What the daemon runs on, from the command line to the end. */
typedef struct Daemon {
        BrokerConfig config;
        const char *socket_path;
        const char *state_file;
        bool policy_dir_given;          /* --policy-dir: it must exist */
        Loop *loop;
        Broker *broker;
        RpcServer *server;
        Source *sigterm, *sigint, *sighup, *watchdog;
        StoredFd *stored;               /* what systemd passed back from its FD store */
        size_t n_stored;
} Daemon;

/* 0 for a directory, else the errno that says why not. */
static int is_directory(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0)
                return errno;
        return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

/* Paths given on the command line must lead somewhere: -1 to go on, else the exit status. */
static int check_paths(const Daemon *d) {
        char devices[4096];
        int e;

        if (d->config.sysfs_root) {
                snprintf(devices, sizeof(devices), "%s/bus/pci/devices", d->config.sysfs_root);
                e = is_directory(devices);
                if (e) {
                        fprintf(stderr, "vfio-brokerd: --sysfs %s: no bus/pci/devices there (%s): give the root of a "
                                "sysfs tree\n", d->config.sysfs_root, strerror(e));
                        return EXIT_FAILURE;
                }
        }
        if (d->policy_dir_given && (e = is_directory(d->config.policy_dir))) {
                fprintf(stderr, "vfio-brokerd: --policy-dir %s: %s: give a directory of *.conf drop-ins\n",
                        d->config.policy_dir, strerror(e));
                return EXIT_FAILURE;
        }
        return -1;
}

/* The command line into @d: -1 to go on, else the exit status. */
static int parse_args(Daemon *d, int argc, char **argv) {
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
        BrokerConfig *config = &d->config;
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 's': d->socket_path = optarg; break;
                case 'S': config->sysfs_root = optarg; break;
                case 'b':
                        if (kernel_backend_from_string(optarg, &config->backend) < 0) {
                                fprintf(stderr, "vfio-brokerd: --backend is legacy or fake\n");
                                return EXIT_FAILURE;
                        }
                        break;
                case 'p': config->policy_file = optarg; config->policy_file_required = true; break;
                case 'P': config->policy_dir = optarg; d->policy_dir_given = true; break;
                case 'C': r = parse_limit(optarg, &config->max_connections_per_uid); break;
                case 'L': r = parse_limit(optarg, &config->max_leases_per_uid); break;
                case 'A': r = parse_limit(optarg, &config->max_unauthenticated); break;
                case 'Q': r = parse_limit(optarg, &config->max_queued_bytes); break;
                case 'F': r = parse_limit(optarg, &config->max_fds_in_flight); break;
                case 'T': {
                        unsigned seconds;

                        r = parse_limit(optarg, &seconds);
                        config->hello_timeout_usec = seconds * 1000000ULL;
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
                case 'f': d->state_file = optarg; break;
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
                fprintf(stderr, "vfio-brokerd: unexpected argument \"%s\" (see --help)\n", argv[optind]);
                return EXIT_FAILURE;
        }
        return check_paths(d);
}

/* The socket systemd passed, or one of our own; the fds of its FD store into @d. */
static int listen_socket(Daemon *d) {
        int listen_fd = -EBADF, r;

        r = service_listen_fds(&listen_fd, &d->stored, &d->n_stored);
        if (r >= 0) {
                r = rpc_server_set_listen_fd(d->server, listen_fd);
                d->socket_path = "the socket systemd passed";
        } else if (r == -ENOENT) {
                pid_t owner = 0;

                r = make_parent_dir(d->socket_path);
                if (r >= 0)
                        r = rpc_server_listen(d->server, d->socket_path, &owner);
                if (r == -EADDRINUSE)
                        return log_errno(LOG_ERR, r, "refusing to start: a broker (pid %d) already listens on %s; "
                                         "stop it first, or give another --socket", (int) owner, d->socket_path);
                if (r == -EEXIST)
                        return log_errno(LOG_ERR, r, "refusing to start: %s exists and is not a socket; remove it, or "
                                         "give another --socket", d->socket_path);
        }
        if (r < 0)
                log_error("cannot listen on %s: %s", d->socket_path, strerror(-r));
        return r;
}

/* Under a service manager, leases outlive the process: take back those of the one before. */
static int take_back_leases(Daemon *d) {
        int r = 0;

        if (getenv("NOTIFY_SOCKET")) {
                r = persist_new(d->broker, d->state_file, &persist);
                if (r >= 0)
                        r = persist_adopt(persist, d->stored, d->n_stored);
                if (r >= 0)
                        r = rpc_server_serve_adopted(d->server);
                if (r < 0)
                        log_error("cannot take back the leases of before the restart: %s", strerror(-r));
        }
        for (size_t i = 0; i < d->n_stored; i++)
                d->stored[i].fd = safe_close(d->stored[i].fd); /* not adopted (or no service manager to keep them for) */
        return r;
}

static int watch_signals(Daemon *d) {
        int r;

        r = loop_add_signal(d->loop, SIGTERM, on_terminate, d->broker, &d->sigterm);
        if (r >= 0)
                r = loop_add_signal(d->loop, SIGINT, on_terminate, d->broker, &d->sigint);
        if (r >= 0)
                r = loop_add_signal(d->loop, SIGHUP, on_reload, d->broker, &d->sighup);
        if (r < 0)
                log_error("cannot watch signals: %s", strerror(-r));
        return r;
}

/* Everything up to serving: the policy, the socket, the leases of before, signals, watchdog, admin API, capabilities. */
static int start(Daemon *d) {
        PolicyError err = {};
        char missing[128];
        int r;

        if (strcmp(d->state_file, VFIO_BROKER_STATE_FILE) == 0)
                move_runtime_file(VFIO_BROKER_OLD_STATE_FILE, d->state_file);
        if (d->config.managed_file && strcmp(d->config.managed_file, VFIO_BROKER_MANAGED_FILE) == 0)
                move_runtime_file(VFIO_BROKER_OLD_MANAGED_FILE, d->config.managed_file);
        r = loop_new(&d->loop);
        if (r >= 0)
                r = broker_new(&d->broker, d->loop, &d->config);
        if (r >= 0)
                r = rpc_server_new(d->broker, &d->server);
        if (r < 0) {
                log_error("cannot set up: %s", strerror(-r));
                return r;
        }
        r = broker_load_policy(d->broker, &err);
        if (r < 0) {
                log_policy_error("refusing to start", &err);
                return r;
        }
        if (access(d->config.policy_file, F_OK) < 0)
                log_warning("no policy file %s: nobody may lease anything", d->config.policy_file);
        log_policy(d->broker);
        /* Before anything is bound: a broker that cannot run leaves nothing behind. */
        r = service_check_capabilities(d->broker->policy.allow_noiommu, missing, sizeof(missing));
        if (r == -EPERM)
                return log_errno(LOG_ERR, r, "must run as root: it needs %s (and keeps only those)", missing);
        if (r < 0)
                return log_errno(LOG_ERR, r, "cannot read this process's capabilities: %s", strerror(-r));
        r = listen_socket(d);
        if (r >= 0)
                r = take_back_leases(d);
        if (r >= 0)
                broker_restore_managed(d->broker); /* what an earlier broker moved and nobody holds now */
        if (r >= 0)
                r = watch_signals(d);
        if (r < 0)
                return r;
        r = service_start_watchdog(d->loop, &d->watchdog);
        if (r < 0)
                return log_errno(LOG_ERR, r, "cannot start the watchdog: %s", strerror(-r));
        r = bus_new(d->broker, d->loop, reload, d->broker, &bus);
        if (r < 0)
                log_warning("the admin API is off: %s", strerror(-r));
        /* Everything that needed root is done: keep only what leasing needs. */
        r = service_drop_capabilities(d->broker->policy.allow_noiommu);
        if (r < 0)
                return log_errno(LOG_ERR, r, "cannot drop capabilities: %s", strerror(-r));
        return 0;
}

/* The way out: what becomes of the leases depends on how the broker is ending. */
static void stop(Daemon *d) {
        source_free(d->sigterm);
        source_free(d->sigint);
        source_free(d->sighup);
        source_free(d->watchdog);
        bus = bus_free(bus);
        if (persist) {
                if (d->broker->ending == BROKER_STOPPING)
                        persist = persist_end(persist); /* nothing stays for a next start */
                else {
                        d->broker->ending = BROKER_LEAVING; /* failed: a restart may take them back */
                        persist = persist_free(persist);
                }
        }
        rpc_server_free(d->server);
        broker_free(d->broker);
        for (size_t i = 0; i < d->n_stored; i++) {
                safe_close(d->stored[i].fd);
                free(d->stored[i].name);
        }
        free(d->stored);
        loop_free(d->loop);
}

int main(int argc, char **argv) {
        Daemon d = { .socket_path = VFIO_BROKER_SOCKET, .state_file = VFIO_BROKER_STATE_FILE };
        int r;

        broker_config_init(&d.config);
        d.config.managed_file = VFIO_BROKER_MANAGED_FILE;
        r = parse_args(&d, argc, argv);
        if (r >= 0)
                return r;
        signal(SIGPIPE, SIG_IGN);
        r = start(&d);
        if (r >= 0) {
                log_info("vfio-brokerd %s listening on %s", VFIO_BROKER_VERSION, d.socket_path);
                service_notify("READY=1\nSTATUS=serving, policy of %zu grant(s)", d.broker->policy.n_grants);
                r = loop_run(d.loop);
        }
        stop(&d);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
