/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-brokerctl cdi generate: a Container Device Interface spec for container engines.
 *
 * Kind vfiobroker.org/vfio; one CDI device per device the policy's pools can lease (named by
 * its PCI address, read from sysfs: the broker is neither asked nor started) and a catch-all,
 * "all".  Each bind-mounts the socket's directory read-only, nosuid, nodev, noexec at the same
 * path (the directory, so that a socket the broker re-creates stays reachable) and sets
 * VFIO_BROKER_SOCKET; a device's own also sets VFIO_BROKER_DEVICE_<address>=<address>, one
 * variable per device so that several combine.  No device node is added: a container gets its
 * fds from the broker, by the policy, and keeps no /dev/vfio.
 */
#include "client/ctl-cdi.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client/ctl-policy.h"
#include "client/ctl.h"
#include "client/vfio-broker.h"
#include "common/sysfs.h"
#include "common/util.h"
#include "policy/policy-load.h"
#include "policy/policy.h"

/* The newest CDI version the container engines of Debian 12 accept (podman 4.3 reads up to 0.5.0). */
#define CDI_VERSION "0.5.0"
#define CDI_KIND "vfiobroker.org/vfio"

/* A CDI device: the socket's directory, $VFIO_BROKER_SOCKET and, for one device, its variable. */
static json_object *cdi_device(const char *name, const char *socket, const char *dir, const char *bdf) {
        static const char *const options[] = { "bind", "ro", "nosuid", "nodev", "noexec" };
        json_object *d = json_object_new_object(), *edits = json_object_new_object(),
                    *mount = json_object_new_object(), *mounts = json_object_new_array(),
                    *opts = json_object_new_array(), *env = json_object_new_array();
        char var[256];

        snprintf(var, sizeof(var), "VFIO_BROKER_SOCKET=%s", socket);
        json_object_array_add(env, json_object_new_string(var));
        if (bdf) {
                size_t start = strlen(VFIO_BROKER_DEVICE_ENV_PREFIX);

                snprintf(var, sizeof(var), VFIO_BROKER_DEVICE_ENV_PREFIX "%s=%s", bdf, bdf);
                /* The variable's name: the address with '_' for ':' and '.'. */
                for (size_t i = start; var[i] && var[i] != '='; i++)
                        if (var[i] == ':' || var[i] == '.')
                                var[i] = '_';
                json_object_array_add(env, json_object_new_string(var));
        }
        for (size_t i = 0; i < ELEMENTSOF(options); i++)
                json_object_array_add(opts, json_object_new_string(options[i]));
        json_object_object_add(mount, "hostPath", json_object_new_string(dir));
        json_object_object_add(mount, "containerPath", json_object_new_string(dir));
        json_object_object_add(mount, "options", opts);
        json_object_array_add(mounts, mount);
        json_object_object_add(edits, "env", env);
        json_object_object_add(edits, "mounts", mounts);
        json_object_object_add(d, "name", json_object_new_string(name));
        json_object_object_add(d, "containerEdits", edits);
        return d;
}

/*
 * Whether the broker could ever lease @d: a pool of the policy holds it, it has an IOMMU group and
 * is no bridge, and it is on vfio-pci now or its pool binds it (Managed=yes).
 */
static bool leasable(const Policy *p, const PciDevice *d) {
        PolicyDevice pd = {
                .bdf = d->bdf,
                .vendor = (uint16_t) d->vendor,
                .device = (uint16_t) d->device,
                .class_code = d->class_code,
                .iommu_group = d->iommu_group,
        };

        if (d->iommu_group < 0 || pci_is_bridge(d))
                return false;
        for (size_t i = 0; i < p->n_pools; i++)
                if (pool_contains(&p->pools[i], &pd) && (p->pools[i].managed || pci_driver_is_vfio(d)))
                        return true;
        return false;
}

static json_object *cdi_spec(const Policy *p, const PciDevice *devices, size_t n, const char *socket) {
        json_object *spec = json_object_new_object(), *list = json_object_new_array();
        char *copy = strdup(socket);
        const char *dir = copy ? dirname(copy) : "/";

        json_object_object_add(spec, "cdiVersion", json_object_new_string(CDI_VERSION));
        json_object_object_add(spec, "kind", json_object_new_string(CDI_KIND));
        for (size_t i = 0; i < n; i++)
                if (leasable(p, &devices[i]))
                        json_object_array_add(list, cdi_device(devices[i].bdf, socket, dir, devices[i].bdf));
        json_object_array_add(list, cdi_device("all", socket, dir, NULL));
        json_object_object_add(spec, "devices", list);
        free(copy);
        return spec;
}

/* YAML, block style; every scalar in JSON's double-quoted form, which YAML reads alike. */
static void yaml_node(FILE *f, json_object *v, int indent);

static bool yaml_block(json_object *v) {
        return (json_object_is_type(v, json_type_object) && json_object_object_length(v) > 0) ||
               (json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0);
}

static void yaml_scalar(FILE *f, json_object *v) {
        fprintf(f, "%s\n", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* A key YAML reads as itself unquoted: a letter, then letters and digits. */
static bool plain_key(const char *key) {
        if (!((*key >= 'a' && *key <= 'z') || (*key >= 'A' && *key <= 'Z')))
                return false;
        for (; *key; key++)
                if (!((*key >= 'a' && *key <= 'z') || (*key >= 'A' && *key <= 'Z') || (*key >= '0' && *key <= '9')))
                        return false;
        return true;
}

static void yaml_mapping(FILE *f, json_object *o, int indent, bool first_inline) {
        bool first = true;

        json_object_object_foreach(o, key, value) {
                if (!first || !first_inline)
                        fprintf(f, "%*s", indent, "");
                first = false;
                if (plain_key(key))
                        fprintf(f, "%s:", key);
                else {
                        json_object *k = json_object_new_string(key);

                        fprintf(f, "%s:", json_object_to_json_string_ext(k, JSON_C_TO_STRING_NOSLASHESCAPE));
                        json_object_put(k);
                }
                if (yaml_block(value)) {
                        fputc('\n', f);
                        yaml_node(f, value, indent + 2);
                } else {
                        fputc(' ', f);
                        yaml_scalar(f, value);
                }
        }
}

static void yaml_node(FILE *f, json_object *v, int indent) {
        if (json_object_is_type(v, json_type_object)) {
                yaml_mapping(f, v, indent, false);
                return;
        }
        for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *e = json_object_array_get_idx(v, i);

                fprintf(f, "%*s- ", indent, "");
                if (json_object_is_type(e, json_type_object) && yaml_block(e))
                        yaml_mapping(f, e, indent + 2, true);
                else if (yaml_block(e)) {
                        fputc('\n', f);
                        yaml_node(f, e, indent + 2);
                } else
                        yaml_scalar(f, e);
        }
}

static void write_spec(FILE *f, json_object *spec, bool yaml) {
        if (yaml) {
                fputs("---\n", f);
                yaml_node(f, spec, 0);
        } else
                fprintf(f, "%s\n", json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PRETTY |
                                                                           JSON_C_TO_STRING_SPACED |
                                                                           JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* @path replaced whole or not at all: a container engine never reads half a spec. */
static int write_spec_file(const char *path, json_object *spec, bool yaml) {
        char tmp[4096];
        FILE *f;
        int fd;

        if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int) sizeof(tmp))
                return -ENAMETOOLONG;
        fd = mkstemp(tmp);
        if (fd < 0)
                return -errno;
        f = fdopen(fd, "w");
        if (!f) {
                close(fd);
                unlink(tmp);
                return -ENOMEM;
        }
        write_spec(f, spec, yaml);
        if (fchmod(fd, 0644) < 0 || fflush(f) != 0 || fsync(fd) < 0 || ferror(f)) {
                int r = -errno;

                fclose(f);
                unlink(tmp);
                return r ? r : -EIO;
        }
        if (fclose(f) != 0 || rename(tmp, path) < 0) {
                int r = -errno;

                unlink(tmp);
                return r;
        }
        return 0;
}

static int cdi_generate(int argc, char **argv) {
        static const struct option options[] = {
                { "output", required_argument, NULL, 'o' },
                { "format", required_argument, NULL, 'f' },
                { "policy", required_argument, NULL, 'p' },
                { "policy-dir", required_argument, NULL, 'P' },
                { "sysfs", required_argument, NULL, 's' },
                {}
        };
        const char *output = NULL, *file = POLICY_DEFAULT_FILE, *dir = POLICY_DEFAULT_DIR, *sysfs = "/sys";
        bool yaml = false, file_required = false;
        PciDevice *devices = NULL;
        PolicyError err = {};
        json_object *spec;
        Policy p;
        size_t n;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 'o': output = optarg; break;
                case 'f':
                        if (strcmp(optarg, "json") != 0 && strcmp(optarg, "yaml") != 0)
                                return usage_error("cdi", "--format is json or yaml, not \"%s\"", optarg);
                        yaml = optarg[0] == 'y';
                        break;
                case 'p': file = optarg; file_required = true; break;
                case 'P': dir = optarg; break;
                case 's': sysfs = optarg; break;
                default: return usage_error("cdi", "unknown option \"%s\"", argv[optind - 1]);
                }
        }
        if (optind < argc)
                return usage_error("cdi", "unexpected argument \"%s\"", argv[optind]);
        if (output && !*output)
                return usage_error("cdi", "--output needs a file name");

        /* The policy's pools and sysfs, as the broker reads them; the broker itself is not asked (nor started). */
        if (policy_load(&p, file, file_required, dir, &policy_nss_resolver, &err) < 0) {
                print_policy_error(&err);
                return EXIT_FAILURE;
        }
        r = sysfs_list_devices(sysfs, &devices, &n);
        if (r < 0) {
                fprintf(stderr, "vfio-brokerctl: cdi generate: cannot read PCI devices from %s: %s\n", sysfs,
                        strerror(-r));
                policy_done(&p);
                return EXIT_FAILURE;
        }
        spec = cdi_spec(&p, devices, n, ctl_socket_path());
        if (output) {
                r = write_spec_file(output, spec, yaml);
                if (r < 0)
                        fprintf(stderr, "vfio-brokerctl: cdi generate: %s: %s\n", output, strerror(-r));
        } else
                write_spec(stdout, spec, yaml);
        json_object_put(spec);
        free(devices);
        policy_done(&p);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int cmd_cdi(int argc, char **argv) {
        if (argc >= 2 && strcmp(argv[1], "generate") == 0)
                return cdi_generate(argc - 1, argv + 1);
        return usage_error("cdi", argc >= 2 ? "unknown subcommand \"%s\"" : "expected a subcommand%s: generate",
                           argc >= 2 ? argv[1] : "");
}
