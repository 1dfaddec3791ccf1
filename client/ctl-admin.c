/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "client/ctl-admin.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>

#include "client/ctl-output.h"
#include "client/ctl.h"
#include "common/util.h"

#define BUS_NAME "org.vfiobroker1"
#define BUS_PATH "/org/vfiobroker1"
#define BUS_INTERFACE "org.vfiobroker1.Manager"

static sd_bus *bus_connect(void) {
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "vfio-brokerctl: cannot connect to the system bus: %s\n", strerror(-r));
                return NULL;
        }
        return bus;
}

/*
 * A refusal as a sentence: who may call the admin API and how to become one
 * (dbus-daemon's own denial text names match rules, not the fix), or why
 * nobody answers.
 */
static void print_bus_error(const char *what, const sd_bus_error *error, int r) {
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_ACCESS_DENIED))
                fprintf(stderr,
                        "vfio-brokerctl: %s: permission denied: the admin API is for root and the members of "
                        "the vfio-broker-admin group (usermod -aG vfio-broker-admin USER, then log in again)\n",
                        what);
        else if (sd_bus_error_has_name(error, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
                 sd_bus_error_has_name(error, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                fprintf(stderr,
                        "vfio-brokerctl: %s: the broker is not on the system bus and D-Bus cannot start it "
                        "(systemctl status vfio-brokerd.service says why)\n",
                        what);
        else
                fprintf(stderr, "vfio-brokerctl: %s: %s\n", what, error->message ? error->message : strerror(-r));
}

/* Call @method (no arguments but @id when @with_id): the reply, or NULL with the error printed. */
static sd_bus_message *call(sd_bus *bus, const char *method, bool with_id, uint64_t id) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r;

        if (with_id)
                r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, method, &error, &reply, "t", id);
        else
                r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, method, &error, &reply, "");
        if (r < 0) {
                print_bus_error(method, &error, r);
                sd_bus_error_free(&error);
                return NULL;
        }
        return reply;
}

/* A verb that takes nothing but output options (--json[=MODE], --no-legend, --no-pager). */
static int no_arguments(int argc, char **argv) {
        for (int i = 1; i < argc; i++) {
                int r = ctl_output_option(argv[i]);

                if (r > 0)
                        continue;
                if (r < 0)
                        usage_error(argv[0], "--json is short, pretty or off, not \"%s\"", argv[i] + 7);
                else
                        usage_error(argv[0], "takes no arguments, not \"%s\"", argv[i]);
                return -EINVAL;
        }
        return 0;
}

int cmd_status(int argc, char **argv) {
        static const char *const properties[] = { "Connections", "Leases", "LeasedGroups", "QuarantinedGroups" };
        static const char *const keys[] = { "connections", "leases", "leased_groups", "quarantined_groups" };
        json_object *o = NULL;
        sd_bus *bus;
        int rc = 0;

        if (no_arguments(argc, argv) < 0)
                return EXIT_USAGE;
        bus = bus_connect();
        if (!bus)
                return EXIT_BROKER;
        if (ctl_output.json != CTL_JSON_OFF)
                o = json_object_new_object();
        for (size_t i = 0; i < ELEMENTSOF(properties); i++) {
                sd_bus_error error = SD_BUS_ERROR_NULL;
                uint32_t n;
                int r;

                r = sd_bus_get_property_trivial(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, properties[i], &error, 'u', &n);
                if (r < 0) {
                        print_bus_error(properties[i], &error, r);
                        sd_bus_error_free(&error);
                        rc = EXIT_BROKER;
                        break;
                }
                if (o)
                        json_object_object_add(o, keys[i], json_object_new_int64(n));
                else
                        printf("%-18s %" PRIu32 "\n", properties[i], n);
        }
        if (o && rc == 0)
                ctl_print_json(o);
        else
                json_object_put(o);
        sd_bus_flush_close_unref(bus);
        return rc;
}

static void print_since(uint64_t usec) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;
        char buf[64];

        if (gmtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
                printf(" %s", buf);
        else
                printf(" -");
}

/* Read an array of 'u' or 's' into @buf, comma-separated ("-" when empty), and into @json when not NULL. */
static int read_list(sd_bus_message *m, char type, char *buf, size_t size, json_object *json) {
        char sig[2] = { type, 0 };
        size_t used = 0;
        int r;

        buf[0] = 0;
        r = sd_bus_message_enter_container(m, 'a', sig);
        for (;;) {
                const char *s;
                uint32_t u;
                char item[32];

                if (r < 0)
                        return r;
                r = type == 'u' ? sd_bus_message_read_basic(m, 'u', &u) : sd_bus_message_read_basic(m, 's', &s);
                if (r <= 0)
                        break;
                if (type == 'u') {
                        snprintf(item, sizeof(item), "%" PRIu32, u);
                        s = item;
                }
                if (json)
                        json_object_array_add(json, type == 'u' ? json_object_new_int64(u) : json_object_new_string(s));
                if (used < size)
                        used += (size_t) snprintf(buf + used, size - used, "%s%s", used ? "," : "", s);
        }
        if (r < 0)
                return r;
        if (!buf[0])
                snprintf(buf, size, "-");
        return sd_bus_message_exit_container(m);
}

/* The leases the broker wants back, as "ID STEP" lines for lookup; "" from a broker that has no ListRecalls. */
static char *read_recalls(sd_bus *bus) {
        sd_bus_message *reply = NULL;
        char *text = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "ListRecalls", NULL, &reply, "");
        f = open_memstream(&text, &size);
        if (!f) {
                sd_bus_message_unref(reply);
                return NULL;
        }
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(tsst)");
        while (r >= 0) {
                const char *step, *why;
                uint64_t id, since;

                r = sd_bus_message_read(reply, "(tsst)", &id, &step, &why, &since);
                if (r <= 0)
                        break;
                fprintf(f, " %" PRIu64 " recalled:%s\n", id, step);
        }
        fclose(f);
        sd_bus_message_unref(reply);
        return text;
}

/* What read_recalls() says of lease @id: "recalled:STEP", or "held". */
static const char *lease_state(const char *recalls, uint64_t id, char *buf, size_t size) {
        char key[32];
        const char *p;

        snprintf(key, sizeof(key), " %" PRIu64 " ", id);
        p = recalls ? strstr(recalls, key) : NULL;
        if (!p)
                return "held";
        p += strlen(key);
        snprintf(buf, size, "%.*s", (int) strcspn(p, "\n"), p);
        return buf;
}

int cmd_leases(int argc, char **argv) {
        _cleanup_free_ char *recalls = NULL;
        json_object *leases = NULL;
        sd_bus_message *reply;
        sd_bus *bus;
        int r;

        if (no_arguments(argc, argv) < 0)
                return EXIT_USAGE;
        bus = bus_connect();
        if (!bus)
                return EXIT_BROKER;
        reply = call(bus, "ListLeases", false, 0);
        if (!reply) {
                sd_bus_flush_close_unref(bus);
                return EXIT_BROKER;
        }
        recalls = read_recalls(bus);
        ctl_pager_start();
        if (ctl_output.json != CTL_JSON_OFF)
                leases = json_object_new_array();
        else if (!ctl_output.no_legend)
                printf("%-6s %-6s %-7s %-20s %-24s %-8s %-18s %s\n", "LEASE", "UID", "PID", "SINCE", "CGROUP", "GROUPS",
                       "STATE", "DEVICES");
        r = sd_bus_message_enter_container(reply, 'a', "(tuusauast)");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'r', "tuusauast")) > 0) {
                json_object *gids = leases ? json_object_new_array() : NULL, *bdfs = leases ? json_object_new_array() : NULL;
                char groups[128], devices[512], state[64];
                uint32_t uid, pid;
                uint64_t id, since;
                const char *cgroup, *st;

                r = sd_bus_message_read(reply, "tuus", &id, &uid, &pid, &cgroup);
                if (r >= 0)
                        r = read_list(reply, 'u', groups, sizeof(groups), gids);
                if (r >= 0)
                        r = read_list(reply, 's', devices, sizeof(devices), bdfs);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "t", &since);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0) {
                        json_object_put(gids);
                        json_object_put(bdfs);
                        break;
                }
                st = lease_state(recalls, id, state, sizeof(state));
                if (leases) {
                        json_object *o = json_object_new_object();

                        json_object_object_add(o, "id", json_object_new_uint64(id));
                        json_object_object_add(o, "uid", json_object_new_int64(uid));
                        json_object_object_add(o, "pid", pid ? json_object_new_int64(pid) : NULL);
                        json_object_object_add(o, "since_usec", since ? json_object_new_uint64(since) : NULL);
                        json_object_object_add(o, "cgroup", ctl_json_string_or_null(cgroup));
                        json_object_object_add(o, "iommu_groups", gids);
                        json_object_object_add(o, "state", json_object_new_string(st));
                        json_object_object_add(o, "devices", bdfs);
                        json_object_array_add(leases, o);
                        continue;
                }
                printf("%-6" PRIu64 " %-6" PRIu32 " %-7" PRIu32, id, uid, pid);
                print_since(since);
                printf(" %-24s %-8s %-18s %s\n", *cgroup ? cgroup : "-", groups, st, devices);
        }
        sd_bus_message_unref(reply);
        sd_bus_flush_close_unref(bus);
        if (r < 0) {
                json_object_put(leases);
                fprintf(stderr, "vfio-brokerctl: ListLeases: malformed reply: %s\n", strerror(-r));
                return EXIT_BROKER;
        }
        if (leases)
                ctl_print_json(leases);
        return 0;
}

/* A method that returns nothing: call it, say @done on success. */
static int call_and_say(const char *method, bool with_id, uint64_t id, const char *done) {
        sd_bus_message *reply;
        sd_bus *bus;

        bus = bus_connect();
        if (!bus)
                return EXIT_BROKER;
        reply = call(bus, method, with_id, id);
        sd_bus_flush_close_unref(bus);
        if (!reply)
                return EXIT_BROKER;
        sd_bus_message_unref(reply);
        printf("%s\n", done);
        return 0;
}

int cmd_release_lease(int argc, char **argv) {
        unsigned long long id;
        char done[96];
        char *end;

        if (argc != 2 || (errno = 0, id = strtoull(argv[1], &end, 10), errno || *end || end == argv[1] || id == 0 ||
                          !isdigit((unsigned char) argv[1][0]))) {
                fprintf(stderr, "vfio-brokerctl release-lease: takes one lease id, a positive number (see "
                                "vfio-brokerctl release-lease --help)\n");
                return EXIT_USAGE;
        }
        snprintf(done, sizeof(done), "lease %llu recalled: its holder has the policy's grace to release it", id);
        return call_and_say("ReleaseLease", true, id, done);
}

int cmd_reload(int argc, char **argv) {
        if (no_arguments(argc, argv) < 0)
                return EXIT_USAGE;
        return call_and_say("ReloadPolicy", false, 0, "policy reloaded");
}
