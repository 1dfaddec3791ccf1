/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-brokerctl policy check | explain: the policy files read here, as the broker reads them; no broker is asked. */
#include "client/ctl-policy.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/ctl.h"
#include "common/bdf.h"
#include "common/sysfs.h"
#include "common/util.h"
#include "policy/policy-load.h"

static int policy_usage(const char *what, const char *arg) {
        fprintf(stderr, "vfio-brokerctl policy: %s%s%s%s (see vfio-brokerctl policy --help)\n", what, arg ? " \"" : "",
                arg ? arg : "", arg ? "\"" : "");
        return EXIT_USAGE;
}

/* A uid or gid: a number, or a name the system knows; -EINVAL for anything else. */
static int parse_id(const char *s, bool group, unsigned *ret) {
        unsigned long v;
        char *end;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (*s && !*end && !errno && v < (unsigned long) (uid_t) -1 && *s != '-' && *s != '+') {
                *ret = (unsigned) v;
                return 0;
        }
        if (group) {
                struct group *gr = getgrnam(s);

                if (gr) {
                        *ret = gr->gr_gid;
                        return 0;
                }
        } else {
                struct passwd *pw = getpwnam(s);

                if (pw) {
                        *ret = pw->pw_uid;
                        return 0;
                }
        }
        return -EINVAL;
}

void print_policy_error(const PolicyError *err) {
        if (err->line > 0)
                fprintf(stderr, "%s:%u: %s\n", err->file, err->line, err->message);
        else
                fprintf(stderr, "%s: %s\n", err->file, err->message);
}

static void print_strv(const char *key, char *const *v, size_t n) {
        if (n == 0)
                return;
        printf(" %s=", key);
        for (size_t i = 0; i < n; i++)
                printf("%s%s", i ? "," : "", v[i]);
}

/* check FILE...: those files; check [--policy FILE] [--policy-dir DIR]: what the broker reads (by default its own). */
static int cmd_policy_check(int argc, char **argv) {
        static const struct option options[] = {
                { "policy", required_argument, NULL, 'p' },
                { "policy-dir", required_argument, NULL, 'P' },
                {}
        };
        const char *file = POLICY_DEFAULT_FILE, *dir = POLICY_DEFAULT_DIR;
        bool file_required = false, configuration = false;
        PolicyError err = {};
        Policy p;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 'p': file = optarg; file_required = true; configuration = true; break;
                case 'P': dir = optarg; configuration = true; break;
                default: return policy_usage("unknown option", argv[optind - 1]);
                }
        }
        if (configuration && optind < argc)
                return policy_usage("check takes policy files or --policy/--policy-dir, not both:", argv[optind]);
        if (optind < argc)
                r = policy_load_files(&p, argv + optind, (size_t) (argc - optind), &policy_nss_resolver, &err);
        else {
                printf("checking %s%s and %s/*.conf, as the broker reads them\n", file,
                       file_required || access(file, F_OK) == 0 ? "" : " (absent: no grant)", dir);
                r = policy_load(&p, file, file_required, dir, &policy_nss_resolver, &err);
        }
        if (r < 0) {
                print_policy_error(&err);
                return EXIT_FAILURE;
        }
        printf("policy ok: %zu pool(s), %zu grant(s); AllowUnsafeInterrupts=%s AllowNoIommu=%s ResetRequired=%s\n",
               p.n_pools, p.n_grants, p.allow_unsafe_interrupts ? "yes" : "no", p.allow_noiommu ? "yes" : "no",
               p.reset_required ? "yes" : "no");
        for (size_t i = 0; i < p.n_pools; i++)
                printf("pool %s (%s:%u): %zu address(es), %zu id(s), %zu class(es), %zu group(s)\n", p.pools[i].name,
                       p.pools[i].file, p.pools[i].line, p.pools[i].n_devices, p.pools[i].n_ids,
                       p.pools[i].n_classes, p.pools[i].n_groups);
        for (size_t i = 0; i < p.n_grants; i++) {
                const Grant *g = &p.grants[i];

                printf("grant %s (%s:%u):", g->name, g->file, g->line);
                print_strv("Pool", g->pool_names, g->n_pool_names);
                print_strv("User", g->users, g->n_users);
                print_strv("Group", g->groups, g->n_groups);
                print_strv("Cgroup", g->cgroups, g->n_cgroups);
                print_strv("SecurityLabel", g->labels, g->n_labels);
                if (g->has_max_devices)
                        printf(" MaxDevices=%u", g->max_devices);
                if (g->has_memlock)
                        printf(" MemlockLimit=%llu", (unsigned long long) g->memlock);
                printf("\n");
        }
        policy_done(&p);
        return EXIT_SUCCESS;
}

static int cmd_policy_explain(int argc, char **argv) {
        static const struct option options[] = {
                { "uid", required_argument, NULL, 'u' },
                { "gid", required_argument, NULL, 'g' },
                { "cgroup", required_argument, NULL, 'c' },
                { "label", required_argument, NULL, 'l' },
                { "irq", required_argument, NULL, 'i' },
                { "policy", required_argument, NULL, 'p' },
                { "policy-dir", required_argument, NULL, 'P' },
                { "backend", required_argument, NULL, 'b' },
                {}
        };
        const char *file = POLICY_DEFAULT_FILE, *dir = POLICY_DEFAULT_DIR;
        unsigned backend = POLICY_BACKEND_LEGACY;
        PolicyIdentity id = { .uid = (uid_t) -1, .gid = (gid_t) -1, .cgroup = "/", .label = "" };
        gid_t groups[64];
        size_t n_groups = 0;
        bool file_required = false;
        char bdf[BDF_STRLEN + 1], why[384];
        PciDevice pci;
        PolicyDevice d;
        unsigned irq_mask = 0, number;
        PolicyError err = {};
        const Grant *g;
        Policy p;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 'u':
                        if (parse_id(optarg, false, &number) < 0)
                                return policy_usage("--uid takes a number or a user name, not", optarg);
                        id.uid = (uid_t) number;
                        break;
                case 'g':
                        if (parse_id(optarg, true, &number) < 0)
                                return policy_usage("--gid takes a number or a group name, not", optarg);
                        if (id.gid == (gid_t) -1)
                                id.gid = (gid_t) number;
                        else if (n_groups < ELEMENTSOF(groups))
                                groups[n_groups++] = (gid_t) number;
                        else
                                return policy_usage("too many --gid", NULL);
                        break;
                case 'c': id.cgroup = optarg; break;
                case 'l': id.label = optarg; break;
                case 'b':
                        if (strcmp(optarg, "legacy") == 0)
                                backend = POLICY_BACKEND_LEGACY;
                        else if (strcmp(optarg, "iommufd") == 0 || strcmp(optarg, "vmm") == 0)
                                backend = POLICY_BACKEND_IOMMUFD;
                        else
                                return policy_usage("--backend is legacy, iommufd or vmm, not", optarg);
                        break;
                case 'i': {
                        static const char *const names[] = { "intx", "msi", "msix", "err", "req" };
                        size_t k;

                        for (k = 0; k < 5 && strcmp(optarg, names[k]) != 0; k++)
                                ;
                        if (k == 5)
                                return policy_usage("--irq is intx, msi, msix, err or req, not", optarg);
                        irq_mask |= 1u << k;
                        break;
                }
                case 'p': file = optarg; file_required = true; break;
                case 'P': dir = optarg; break;
                default: return policy_usage("unknown option", argv[optind - 1]);
                }
        }
        if (id.uid == (uid_t) -1)
                return policy_usage("explain needs --uid", NULL);
        if (optind + 1 != argc)
                return policy_usage("explain takes one PCI address", NULL);
        if (bdf_normalize(argv[optind], bdf) < 0)
                return policy_usage("not a PCI address (DDDD:BB:DD.F):", argv[optind]);
        if (id.gid == (gid_t) -1)
                id.gid = id.uid;
        id.groups = groups;
        id.n_groups = n_groups;
        /* The broker's own reading of sysfs, attributes only: explain opens no device. */
        if (sysfs_read_device("/sys", bdf, &pci) < 0) {
                fprintf(stderr, "vfio-brokerctl: no PCI device %s\n", bdf);
                return EXIT_FAILURE;
        }
        d = (PolicyDevice) {
                .bdf = pci.bdf,
                .vendor = (uint16_t) pci.vendor,
                .device = (uint16_t) pci.device,
                .class_code = pci.class_code,
                .iommu_group = pci.iommu_group,
        };

        if (policy_load(&p, file, file_required, dir, &policy_nss_resolver, &err) < 0) {
                print_policy_error(&err);
                return EXIT_FAILURE;
        }
        g = policy_decide(&p, &id, &d, irq_mask, backend, why, sizeof(why));
        if (g)
                printf("allowed: uid %u may lease %s by grant \"%s\" (%s:%u)\n", (unsigned) id.uid, bdf, g->name,
                       g->file, g->line);
        else
                printf("denied: %s\n", why);
        policy_done(&p);
        return g ? EXIT_SUCCESS : EXIT_FAILURE;
}

int cmd_policy(int argc, char **argv) {
        if (argc >= 2 && strcmp(argv[1], "check") == 0)
                return cmd_policy_check(argc - 1, argv + 1);
        if (argc >= 2 && strcmp(argv[1], "explain") == 0)
                return cmd_policy_explain(argc - 1, argv + 1);
        return policy_usage(argc >= 2 ? "no such policy command" : "check or explain?", argc >= 2 ? argv[1] : NULL);
}

