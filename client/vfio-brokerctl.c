/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-brokerctl: the command line side of vfio-brokerd. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/bdf.h"
#include "client/ctl-admin.h"
#include "client/ctl-cdi.h"
#include "client/ctl-devices.h"
#include "client/ctl-output.h"
#include "client/ctl.h"
#include "client/ctl-policy.h"
#include "policy/policy-load.h"
#include "common/sysfs.h"
#include "common/util.h"
#include "client/vfio-broker.h"
#include "config.h"


static const char *socket_path;

static const char *const irq_names[] = {
        [VFIO_BROKER_IRQ_INTX] = "intx",
        [VFIO_BROKER_IRQ_MSI] = "msi",
        [VFIO_BROKER_IRQ_MSIX] = "msix",
        [VFIO_BROKER_IRQ_ERR] = "err",
        [VFIO_BROKER_IRQ_REQ] = "req",
};

/* What each verb takes and does, for --help, help VERB and VERB --help. */
typedef struct Verb {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *synopsis;
        const char *help;
} Verb;

static const Verb verbs[];
static const size_t n_verbs;

static void verb_usage(FILE *f, const Verb *v) {
        fprintf(f, "  %s %s\n%s", v->name, v->synopsis, v->help);
}

static void usage(FILE *f) {
        fprintf(f, "Usage: vfio-brokerctl [--socket PATH] [--json[=short|pretty]] [--no-legend] [--no-pager] COMMAND ...\n"
                   "       vfio-brokerctl help [COMMAND] | COMMAND --help | --version\n\n");
        for (size_t i = 0; i < n_verbs; i++)
                verb_usage(f, &verbs[i]);
        fprintf(f,
                "\nstatus, leases, release-lease and reload use the D-Bus admin API on the system bus.\n"
                "The socket defaults to $VFIO_BROKER_SOCKET, else %s.\n"
                "Exit status: 0 done; 1 failed (a policy check, an explanation that denies, no broker to\n"
                "reach); %d a usage error; %d the broker (or the bus) refused; run: COMMAND's status.\n",
                VFIO_BROKER_DEFAULT_SOCKET, EXIT_USAGE, EXIT_BROKER);
}

/* A mistake on the command line: one line saying what, and where to look. */
int usage_error(const char *verb, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "vfio-brokerctl%s%s: ", verb ? " " : "", verb ? verb : "");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, " (see vfio-brokerctl %s%s--help)\n", verb ? verb : "", verb ? " " : "");
        return EXIT_USAGE;
}

const char *ctl_socket_path(void) {
        const char *env = getenv("VFIO_BROKER_SOCKET");

        return socket_path ? socket_path : env && *env ? env : VFIO_BROKER_DEFAULT_SOCKET;
}

int connect_broker(vfio_broker **ret) {
        vfio_broker *b = NULL;
        int r;

        r = vfio_broker_connect(socket_path, &b);
        if (r < 0) {
                fprintf(stderr, "vfio-brokerctl: cannot connect to the broker: %s\n", strerror(-r));
                return r;
        }
        r = vfio_broker_hello(b, "vfio-brokerctl");
        if (r < 0) {
                fprintf(stderr, "vfio-brokerctl: hello: %s%s%s\n", strerror(-r),
                        *vfio_broker_error_message(b) ? ": " : "", vfio_broker_error_message(b));
                vfio_broker_disconnect(b);
                return r;
        }
        *ret = b;
        return 0;
}

void print_error(vfio_broker *b, const char *what, int r) {
        const char *msg = vfio_broker_error_message(b);

        fprintf(stderr, "vfio-brokerctl: %s: %s\n", what, *msg ? msg : strerror(-r));
}

/* "BDF:TYPE" or "BDF:TYPE:COUNT"; the BDF may be short or long. */
static int parse_irq_arg(const char *arg, char bdf[static BDF_STRLEN + 1], struct vfio_broker_irq_request *ret) {
        char buf[64], *type, *count = NULL, *end;
        unsigned long n = 1;

        if (strlen(arg) >= sizeof(buf))
                return -EINVAL;
        strcpy(buf, arg);
        type = strrchr(buf, ':');
        if (!type)
                return -EINVAL;
        *type++ = 0;
        if (*type >= '0' && *type <= '9') {
                count = type;
                type = strrchr(buf, ':');
                if (!type)
                        return -EINVAL;
                *type++ = 0;
                errno = 0;
                n = strtoul(count, &end, 10);
                if (errno || *end || n == 0 || n > 2048)
                        return -EINVAL;
        }
        for (unsigned t = VFIO_BROKER_IRQ_INTX; t <= VFIO_BROKER_IRQ_REQ; t++)
                if (strcmp(type, irq_names[t]) == 0) {
                        if (bdf_normalize(buf, bdf) < 0)
                                return -EINVAL;
                        *ret = (struct vfio_broker_irq_request) { .type = t, .count = (unsigned) n };
                        return 0;
                }
        return -EINVAL;
}

/* VFIO_BROKER_FDS: space-separated NAME=FD, in the order the broker sent them. */
static char *describe_fds(const vfio_broker_lease *l) {
        const struct vfio_broker_fd *fds;
        size_t n = vfio_broker_lease_fds(l, &fds);
        char *s = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&s, &size);

        if (!f)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                const struct vfio_broker_fd *d = &fds[i];
                const char *type = d->irq_type >= VFIO_BROKER_IRQ_INTX && d->irq_type <= VFIO_BROKER_IRQ_REQ
                                           ? irq_names[d->irq_type] : "?";

                if (i > 0)
                        fputc(' ', f);
                switch (d->kind) {
                case VFIO_BROKER_FD_CONTAINER: fprintf(f, "container=%d", d->fd); break;
                case VFIO_BROKER_FD_IOMMUFD:
                        fprintf(f, "iommufd=%d", d->fd);
                        if (vfio_broker_lease_ioas(l))
                                fprintf(f, " ioas=%" PRIu32, vfio_broker_lease_ioas(l));
                        break;
                case VFIO_BROKER_FD_DEVICE: fprintf(f, "device:%s=%d", d->bdf, d->fd); break;
                case VFIO_BROKER_FD_IRQ: fprintf(f, "%s:%s:%u=%d", type, d->bdf, d->vector, d->fd); break;
                case VFIO_BROKER_FD_UNMASK: fprintf(f, "unmask:%s:0=%d", d->bdf, d->fd); break;
                default: fprintf(f, "unknown=%d", d->fd); break;
                }
        }
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        return s;
}

/*
 * VFIO_BROKER_QEMU_ARGS: what QEMU (9.0 and later) takes to use the fds
 * itself: the iommufd object, and one vfio-pci device per cdev.
 */
static char *qemu_args(const vfio_broker_lease *l) {
        const struct vfio_broker_fd *fds;
        size_t n = vfio_broker_lease_fds(l, &fds), size = 0;
        int iommufd = vfio_broker_lease_find_fd(l, VFIO_BROKER_FD_IOMMUFD, NULL, 0, 0);
        char *s = NULL;
        FILE *f;

        if (iommufd < 0)
                return NULL;
        f = open_memstream(&s, &size);
        if (!f)
                return NULL;
        fprintf(f, "-object iommufd,id=vfio-broker-iommufd,fd=%d", iommufd);
        for (size_t i = 0; i < n; i++)
                if (fds[i].kind == VFIO_BROKER_FD_DEVICE) {
                        char id[BDF_STRLEN + 1];

                        string_copy(id, sizeof(id), fds[i].bdf);
                        for (char *p = id; *p; p++)
                                if (*p == ':')
                                        *p = '-';
                        fprintf(f, " -device vfio-pci,iommufd=vfio-broker-iommufd,fd=%d,id=hostdev-%s", fds[i].fd, id);
                }
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        return s;
}

static int run_child(const vfio_broker_lease *l, char **command) {
        const struct vfio_broker_fd *fds;
        size_t n = vfio_broker_lease_fds(l, &fds);
        char *env;

        env = describe_fds(l);
        if (!env || setenv("VFIO_BROKER_FDS", env, 1) < 0) {
                perror("vfio-brokerctl: VFIO_BROKER_FDS");
                _exit(EXIT_BROKER);
        }
        if (vfio_broker_lease_backend(l) == VFIO_BROKER_BACKEND_VMM) {
                env = qemu_args(l);
                if (!env || setenv("VFIO_BROKER_QEMU_ARGS", env, 1) < 0) {
                        perror("vfio-brokerctl: VFIO_BROKER_QEMU_ARGS");
                        _exit(EXIT_BROKER);
                }
        } else
                unsetenv("VFIO_BROKER_QEMU_ARGS");
        for (size_t i = 0; i < n; i++)
                if (fcntl(fds[i].fd, F_SETFD, 0) < 0) {
                        perror("vfio-brokerctl: fcntl");
                        _exit(EXIT_BROKER);
                }
        execvp(command[0], command);
        fprintf(stderr, "vfio-brokerctl: %s: %s\n", command[0], strerror(errno));
        _exit(127);
}

/* --recall-signal: a signal by name (TERM, SIGTERM) or number, or 0 for "none". */
static int parse_signal(const char *s, int *ret) {
        static const struct {
                const char *name;
                int signo;
        } names[] = {
                { "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "KILL", SIGKILL }, { "USR1", SIGUSR1 },
                { "USR2", SIGUSR2 }, { "TERM", SIGTERM }, { "CONT", SIGCONT }, { "PWR", SIGPWR },
        };
        char *end;
        long n;

        if (strcmp(s, "none") == 0) {
                *ret = 0;
                return 0;
        }
        if (strncmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(s, names[i].name) == 0) {
                        *ret = names[i].signo;
                        return 0;
                }
        if (*s < '0' || *s > '9') /* strtol would take " 9" and "+9" */
                return -EINVAL;
        errno = 0;
        n = strtol(s, &end, 10);
        if (errno || end == s || *end || n < 1 || n > SIGRTMAX)
                return -EINVAL;
        *ret = (int) n;
        return 0;
}

/*
 * Wait for COMMAND (@pid), and meanwhile hear the broker: a recall of the
 * lease becomes @recall_signal to COMMAND (0: only a message).  True when the
 * broker ended the lease itself.
 */
static bool run_wait(vfio_broker *b, uint64_t lease_id, pid_t pid, int recall_signal, int *ret_status) {
        struct pollfd p[2] = {
                { .fd = (int) syscall(SYS_pidfd_open, pid, 0), .events = POLLIN },
                { .fd = vfio_broker_fd(b), .events = POLLIN },
        };
        bool ended = false;

        while (p[0].fd >= 0) {
                struct vfio_broker_event e;
                int r;

                while (p[1].fd >= 0 && (r = vfio_broker_next_event(b, &e)) != 0) {
                        if (r < 0) {
                                fprintf(stderr, "vfio-brokerctl: the broker connection is gone (%s); waiting for COMMAND\n",
                                        *vfio_broker_error_message(b) ? vfio_broker_error_message(b) : strerror(-r));
                                p[1].fd = -1;
                                ended = true;
                        } else if (e.lease_id == lease_id && e.kind == VFIO_BROKER_EVENT_RECALLED) {
                                const char *abbrev = recall_signal ? sigabbrev_np(recall_signal) : NULL;

                                fprintf(stderr, "vfio-brokerctl: the broker wants lease %" PRIu64 " back (%s): %s%s%s; "
                                        "it escalates in %u ms\n", lease_id, e.reason,
                                        recall_signal ? "SIG" : "COMMAND is not signalled (--recall-signal none)",
                                        abbrev ? abbrev : "", recall_signal ? " to COMMAND" : "", e.grace_ms);
                                if (recall_signal && kill(pid, recall_signal) < 0)
                                        perror("vfio-brokerctl: kill");
                        } else if (e.lease_id == lease_id && e.kind == VFIO_BROKER_EVENT_LEASE_ENDED) {
                                fprintf(stderr, "vfio-brokerctl: the broker ended lease %" PRIu64 " (%s)\n", lease_id,
                                        e.reason);
                                ended = true;
                        }
                }
                if (poll(p, 2, -1) < 0 && errno != EINTR) {
                        perror("vfio-brokerctl: poll");
                        break;
                }
                if (p[0].revents)
                        break;
        }
        safe_close(p[0].fd);
        while (waitpid(pid, ret_status, 0) < 0)
                if (errno != EINTR) {
                        perror("vfio-brokerctl: waitpid");
                        *ret_status = EXIT_BROKER << 8;
                        break;
                }
        return ended;
}

/* Without a BDF on the command line, the devices the environment names (a CDI device's variables). */
static int env_devices(char bdfs[16][BDF_STRLEN + 1], struct vfio_broker_device_request devices[16],
                       struct vfio_broker_irq_request irqs[16][5], size_t *n_devices) {
        char **v = NULL;
        size_t n;

        if (vfio_broker_env_devices(&v, &n) < 0)
                return usage_error("run", "a " VFIO_BROKER_DEVICE_ENV_PREFIX "* variable is not a PCI address");
        if (n > 16) {
                free(v);
                return usage_error("run", "at most 16 devices, and the environment names %zu", n);
        }
        for (size_t i = 0; i < n; i++) {
                strcpy(bdfs[i], v[i]);
                devices[i].bdf = bdfs[i];
                devices[i].irqs = irqs[i];
        }
        *n_devices = n;
        free(v);
        return 0;
}

static int cmd_run(int argc, char **argv) {
        struct vfio_broker_device_request devices[16] = {};
        struct vfio_broker_irq_request irqs[16][5];
        char irq_bdfs[16 * 5][BDF_STRLEN + 1], bdfs[16][BDF_STRLEN + 1];
        size_t n_devices = 0, n_irq_args = 0;
        struct vfio_broker_irq_request irq_args[16 * 5];
        enum vfio_broker_backend backend = VFIO_BROKER_BACKEND_LEGACY;
        vfio_broker_lease *lease = NULL;
        vfio_broker *b = NULL;
        int i, r, status, recall_signal = SIGTERM;
        uint64_t lease_id;
        bool ended;
        pid_t pid;

        for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
                if (strcmp(argv[i], "--recall-signal") == 0 && i + 1 < argc) {
                        if (parse_signal(argv[++i], &recall_signal) < 0) {
                                return usage_error("run", "bad --recall-signal \"%s\": expected a signal name "
                                                   "(TERM, USR1, ...), a number or none", argv[i]);
                        }
                        continue;
                }
                if (strcmp(argv[i], "--iommufd") == 0 || strcmp(argv[i], "--vmm") == 0) {
                        enum vfio_broker_backend want = argv[i][2] == 'i' ? VFIO_BROKER_BACKEND_IOMMUFD
                                                                          : VFIO_BROKER_BACKEND_VMM;

                        if (backend != VFIO_BROKER_BACKEND_LEGACY && backend != want)
                                return usage_error("run", "--iommufd and --vmm exclude each other");
                        backend = want;
                } else if (strcmp(argv[i], "--irq") == 0 && i + 1 < argc) {
                        if (n_irq_args >= ELEMENTSOF(irq_args) ||
                            parse_irq_arg(argv[++i], irq_bdfs[n_irq_args], &irq_args[n_irq_args]) < 0)
                                return usage_error("run", "bad --irq \"%s\": expected BDF:TYPE[:COUNT]", argv[i]);
                        n_irq_args++;
                } else if (argv[i][0] == '-') {
                        return usage_error("run", "unknown option \"%s\"", argv[i]);
                } else if (n_devices >= ELEMENTSOF(devices)) {
                        return usage_error("run", "at most %zu devices", ELEMENTSOF(devices));
                } else if (bdf_normalize(argv[i], bdfs[n_devices]) < 0) {
                        return usage_error("run", "\"%s\" is not a PCI address (DDDD:BB:DD.F)", argv[i]);
                } else {
                        devices[n_devices].bdf = bdfs[n_devices];
                        devices[n_devices].irqs = irqs[n_devices];
                        n_devices++;
                }
        }
        if (n_devices == 0) {
                r = env_devices(bdfs, devices, irqs, &n_devices);
                if (r != 0)
                        return r;
        }
        if (n_devices == 0)
                return usage_error("run", "no device given, and no " VFIO_BROKER_DEVICE_ENV_PREFIX
                                   "* variable names one (as a CDI device does)");
        if (i + 1 >= argc)
                return usage_error("run", "no COMMAND given after \"--\"");
        for (size_t k = 0; k < n_irq_args; k++) {
                size_t d;

                for (d = 0; d < n_devices && strcmp(bdfs[d], irq_bdfs[k]) != 0; d++)
                        ;
                if (d == n_devices || devices[d].n_irqs >= 5)
                        return usage_error("run", "--irq for %s, which is not among the devices (or a sixth --irq for it)",
                                           irq_bdfs[k]);
                irqs[d][devices[d].n_irqs++] = irq_args[k];
        }
        if (backend == VFIO_BROKER_BACKEND_VMM && n_irq_args > 0)
                return usage_error("run", "--vmm takes no --irq: the VMM sets up the interrupts on the cdev itself");

        if (connect_broker(&b) < 0)
                return EXIT_BROKER;
        r = vfio_broker_acquire_backend(b, 0, backend, devices, n_devices, &lease);
        if (r < 0) {
                print_error(b, "acquire", r);
                vfio_broker_disconnect(b);
                return EXIT_BROKER;
        }

        signal(SIGINT, SIG_IGN);   /* the terminal's ^C reaches COMMAND; we wait for it */
        signal(SIGQUIT, SIG_IGN);
        pid = fork();
        if (pid < 0) {
                perror("vfio-brokerctl: fork");
                return EXIT_BROKER;
        }
        if (pid == 0) {
                signal(SIGINT, SIG_DFL);
                signal(SIGQUIT, SIG_DFL);
                run_child(lease, &argv[i + 1]);
        }
        /* Only COMMAND holds the fds now: the group is free as soon as it lets go. */
        lease_id = vfio_broker_lease_id(lease);
        lease = vfio_broker_lease_free(lease);
        ended = run_wait(b, lease_id, pid, recall_signal, &status);
        r = ended ? 0 : vfio_broker_release(b, lease_id);
        vfio_broker_disconnect(b);
        if (r == 1)
                fprintf(stderr, "vfio-brokerctl: a device fd is still open elsewhere: the broker quarantined the group\n");
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return WEXITSTATUS(status);
}

static const Verb verbs[] = {
        { "list", cmd_list, "[--json[=short|pretty]] [--no-legend] [--no-pager]",
          "      devices the broker knows, and their state\n" },
        { "info", cmd_info, "[--json[=short|pretty]] BDF", "      regions and interrupts as VFIO reports them\n" },
        { "run", cmd_run, "[--iommufd|--vmm] [--irq BDF:TYPE[:COUNT]]... [--recall-signal SIG|none]\n"
                          "      BDF... -- COMMAND [ARG...]",
          "      acquire the devices, run COMMAND with their fds, release when it exits; TYPE is\n"
          "      intx, msi, msix, err or req.  COMMAND finds its fds in $VFIO_BROKER_FDS.\n"
          "      --iommufd: an iommufd and bound cdevs; --vmm: unbound cdevs for a VMM, with\n"
          "      $VFIO_BROKER_QEMU_ARGS.  When the broker recalls the lease, COMMAND gets SIGTERM\n"
          "      (or --recall-signal SIG; none: no signal)\n" },
        { "policy", cmd_policy, "check [FILE... | --policy FILE --policy-dir DIR] | explain --uid U [--gid G]... [--cgroup P] [--label L]\n"
                                "      [--irq TYPE]... [--backend legacy|iommufd|vmm] [--policy FILE] [--policy-dir DIR] BDF",
          "      check: validate policy files (by default the broker's own) and summarise them; explain: the decision for that\n"
          "      identity, and the grant behind it; touches no device\n" },
        { "status", cmd_status, "[--json[=short|pretty]]", "      counts of connections, leases and groups\n" },
        { "leases", cmd_leases, "[--json[=short|pretty]] [--no-legend] [--no-pager]",
          "      every lease: id, uid, pid, since, cgroup, groups, state (held, recalled:asked,\n"
          "      recalled:sigterm), devices (root or group vfio-broker-admin)\n" },
        { "release-lease", cmd_release_lease, "ID",
          "      recall the lease: its holder is told (an event, its REQ eventfd) and has\n"
          "      RecallGraceSec to release it, then SIGTERM and SIGKILL (RecallEscalation=kill)\n" },
        { "reload", cmd_reload, "", "      reload the policy (as SIGHUP)\n" },
        { "cdi", cmd_cdi, "generate [--output FILE] [--format json|yaml] [--policy FILE] [--policy-dir DIR] [--sysfs DIR]",
          "      a CDI spec (kind vfiobroker.org/vfio) for container engines: one device per device\n"
          "      the policy's pools can lease, and \"all\"; each mounts the socket's directory and\n"
          "      sets VFIO_BROKER_SOCKET (and VFIO_BROKER_DEVICE_*, which run reads without a BDF)\n" },
};
static const size_t n_verbs = ELEMENTSOF(verbs);

static const Verb *find_verb(const char *name) {
        for (size_t i = 0; i < n_verbs; i++)
                if (strcmp(name, verbs[i].name) == 0)
                        return &verbs[i];
        return NULL;
}

/* VERB's own usage on stdout, for help VERB and VERB --help: nothing is connected to. */
static int verb_help(const Verb *v) {
        printf("Usage: vfio-brokerctl [--socket PATH] %s %s\n\n%s", v->name, v->synopsis, v->help);
        return EXIT_SUCCESS;
}

/* --help or -h among a verb's options (before "--", after which COMMAND's arguments begin). */
static bool asks_help(int argc, char **argv) {
        for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
                        return true;
        return false;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "socket", required_argument, NULL, 's' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { "json", optional_argument, NULL, 'j' },
                { "no-legend", no_argument, NULL, 'L' },
                { "no-pager", no_argument, NULL, 'P' },
                {}
        };
        char option[64];
        int r;
        const Verb *v;
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
                switch (c) {
                case 's': socket_path = optarg; break;
                case 'h': usage(stdout); return EXIT_SUCCESS;
                case 'V': printf("vfio-brokerctl %s\n", VFIO_BROKER_VERSION); return EXIT_SUCCESS;
                case 'j':
                        snprintf(option, sizeof(option), "--json%s%s", optarg ? "=" : "", optarg ? optarg : "");
                        if (ctl_output_option(option) < 0)
                                return usage_error(NULL, "--json is short, pretty or off, not \"%s\"", optarg);
                        break;
                case 'L': ctl_output.no_legend = true; break;
                case 'P': ctl_output.no_pager = true; break;
                default:
                        return usage_error(NULL, "unknown option \"%s\"", argv[optind - 1]);
                }
        }
        if (optind >= argc)
                return usage_error(NULL, "no command given");
        argv += optind;
        argc -= optind;
        if (strcmp(argv[0], "help") == 0) {
                if (argc == 1) {
                        usage(stdout);
                        return EXIT_SUCCESS;
                }
                v = find_verb(argv[1]);
                return v ? verb_help(v) : usage_error(NULL, "no command \"%s\"", argv[1]);
        }
        v = find_verb(argv[0]);
        if (!v)
                return usage_error(NULL, "unknown command \"%s\"", argv[0]);
        if (asks_help(argc, argv))
                return verb_help(v);
        r = v->run(argc, argv);
        ctl_pager_end(); /* what a verb paged is shown in full before we exit */
        return r;
}
