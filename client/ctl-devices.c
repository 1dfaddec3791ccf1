/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-brokerctl list | info: a table (or --json, one schema each: README, vfio-brokerctl(1)). */
#include "client/ctl-devices.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "client/ctl-output.h"
#include "client/ctl.h"
#include "client/vfio-broker.h"
#include "common/bdf.h"

static const char *const state_names[] = {
        [VFIO_BROKER_DEVICE_FREE] = "free",
        [VFIO_BROKER_DEVICE_LEASED] = "leased",
        [VFIO_BROKER_DEVICE_QUARANTINED] = "quarantined",
        [VFIO_BROKER_DEVICE_UNAVAILABLE] = "unavailable",
        [VFIO_BROKER_DEVICE_RESETTING] = "resetting",
        [VFIO_BROKER_DEVICE_RECALLED] = "recalled",
};

static const char *state_name(enum vfio_broker_device_state s) {
        return s >= VFIO_BROKER_DEVICE_FREE && s <= VFIO_BROKER_DEVICE_RECALLED ? state_names[s] : "?";
}

static bool has_holder(const struct vfio_broker_device *d) {
        return d->state == VFIO_BROKER_DEVICE_LEASED || d->state == VFIO_BROKER_DEVICE_RECALLED ||
               d->state == VFIO_BROKER_DEVICE_QUARANTINED;
}

/* One device: every key always there, null for none, numbers as numbers. */
static json_object *device_json(const struct vfio_broker_device *d) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "bdf", json_object_new_string(d->bdf));
        json_object_object_add(o, "vendor", json_object_new_int(d->vendor));
        json_object_object_add(o, "device", json_object_new_int(d->device));
        json_object_object_add(o, "class", json_object_new_int64(d->class_code));
        json_object_object_add(o, "iommu_group", d->iommu_group >= 0 ? json_object_new_int(d->iommu_group) : NULL);
        json_object_object_add(o, "driver", ctl_json_string_or_null(d->driver));
        json_object_object_add(o, "state", json_object_new_string(state_name(d->state)));
        json_object_object_add(o, "reset", json_object_new_string(d->reset[0] ? d->reset : "none"));
        json_object_object_add(o, "resettable", json_object_new_boolean(d->resettable));
        json_object_object_add(o, "noiommu", json_object_new_boolean(d->noiommu));
        json_object_object_add(o, "lease_id", has_holder(d) ? json_object_new_uint64(d->lease_id) : NULL);
        json_object_object_add(o, "holder_uid", has_holder(d) ? json_object_new_int64(d->holder_uid) : NULL);
        json_object_object_add(o, "reason", ctl_json_string_or_null(d->reason));
        json_object_object_add(o, "allowed", json_object_new_boolean(d->allowed));
        json_object_object_add(o, "grant", d->allowed ? ctl_json_string_or_null(d->grant) : NULL);
        return o;
}

static void print_devices(const struct vfio_broker_device *devices, size_t n) {
        if (ctl_output.json != CTL_JSON_OFF) {
                json_object *a = json_object_new_array();

                for (size_t i = 0; i < n; i++)
                        json_object_array_add(a, device_json(&devices[i]));
                ctl_print_json(a);
                return;
        }
        if (!ctl_output.no_legend)
                printf("%-12s  %-9s  %-8s  %5s  %-10s  %-11s  %-8s  %-5s  %s\n", "DEVICE", "ID", "CLASS", "GROUP",
                       "DRIVER", "STATE", "RESET", "YOURS", "DETAIL");
        for (size_t i = 0; i < n; i++) {
                const struct vfio_broker_device *d = &devices[i];
                char detail[300] = "";

                if (has_holder(d))
                        snprintf(detail, sizeof(detail), "lease %llu, uid %u", (unsigned long long) d->lease_id,
                                 d->holder_uid);
                else
                        snprintf(detail, sizeof(detail), "%s", d->reason);
                printf("%-12s  %04x:%04x  %06x  %5d  %-10s  %-11s  %-8s  %-5s  %s\n", d->bdf, d->vendor, d->device,
                       d->class_code, d->iommu_group, d->driver[0] ? d->driver : "-", state_name(d->state), d->reset,
                       d->allowed ? "yes" : "no", detail);
        }
}

/* The options of a verb that only shows: output options; anything else is a usage error (-1). */
static int output_options(const char *verb, int argc, char **argv, int *ret_first) {
        int i;

        for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
                int r = ctl_output_option(argv[i]);

                if (r < 0)
                        return usage_error(verb, "--json is short, pretty or off, not \"%s\"", argv[i] + 7);
                if (r == 0)
                        return usage_error(verb, "unknown option \"%s\"", argv[i]);
        }
        *ret_first = i;
        return 0;
}

int cmd_list(int argc, char **argv) {
        struct vfio_broker_device *devices = NULL;
        vfio_broker *b = NULL;
        size_t n;
        int r, first;

        if (output_options("list", argc, argv, &first) != 0)
                return EXIT_USAGE;
        if (first < argc)
                return usage_error("list", "unexpected argument \"%s\"", argv[first]);
        if (connect_broker(&b) < 0)
                return EXIT_BROKER;
        r = vfio_broker_list_devices(b, &devices, &n);
        if (r < 0) {
                print_error(b, "list", r);
                vfio_broker_disconnect(b);
                return EXIT_BROKER;
        }
        ctl_pager_start();
        print_devices(devices, n);
        free(devices);
        vfio_broker_disconnect(b);
        return EXIT_SUCCESS;
}

static json_object *info_json(const struct vfio_broker_device_info *info) {
        json_object *o = json_object_new_object(), *regions = json_object_new_array(),
                    *irqs = json_object_new_array();
        bool asked = info->n_regions > 0 || info->n_irqs > 0;

        json_object_object_add(o, "device", device_json(&info->device));
        json_object_object_add(o, "vfio_flags", asked ? json_object_new_int64(info->flags) : NULL);
        for (size_t i = 0; i < info->n_regions; i++) {
                json_object *r = json_object_new_object();

                json_object_object_add(r, "index", json_object_new_int64(info->regions[i].index));
                json_object_object_add(r, "size", json_object_new_uint64(info->regions[i].size));
                json_object_object_add(r, "offset", json_object_new_uint64(info->regions[i].offset));
                json_object_object_add(r, "flags", json_object_new_int64(info->regions[i].flags));
                json_object_array_add(regions, r);
        }
        for (size_t i = 0; i < info->n_irqs; i++) {
                json_object *q = json_object_new_object();

                json_object_object_add(q, "index", json_object_new_int64(info->irqs[i].index));
                json_object_object_add(q, "count", json_object_new_int64(info->irqs[i].count));
                json_object_object_add(q, "flags", json_object_new_int64(info->irqs[i].flags));
                json_object_array_add(irqs, q);
        }
        json_object_object_add(o, "regions", regions);
        json_object_object_add(o, "irqs", irqs);
        return o;
}

static void print_info(const struct vfio_broker_device_info *info) {
        if (ctl_output.json != CTL_JSON_OFF) {
                ctl_print_json(info_json(info));
                return;
        }
        printf("device:      %s %04x:%04x class %06x\n", info->device.bdf, info->device.vendor,
               info->device.device, info->device.class_code);
        printf("iommu group: %d\n", info->device.iommu_group);
        printf("driver:      %s\n", info->device.driver[0] ? info->device.driver : "-");
        printf("state:       %s%s%s\n", state_name(info->device.state), info->device.reason[0] ? ": " : "",
               info->device.reason);
        printf("reset:       %s\n", info->device.reset);
        printf("yours:       %s%s\n", info->device.allowed ? "yes, by grant " : "no: no grant of the policy covers you",
               info->device.allowed ? info->device.grant : "");
        if (info->n_regions == 0 && info->n_irqs == 0)
                printf("(VFIO was not asked: the device is leased by someone else or cannot be opened)\n");
        else
                printf("vfio flags:  0x%x\n", info->flags);
        for (size_t i = 0; i < info->n_regions; i++)
                printf("region %u: size 0x%llx offset 0x%llx flags 0x%x\n", info->regions[i].index,
                       (unsigned long long) info->regions[i].size, (unsigned long long) info->regions[i].offset,
                       info->regions[i].flags);
        for (size_t i = 0; i < info->n_irqs; i++)
                printf("irq %u: count %u flags 0x%x\n", info->irqs[i].index, info->irqs[i].count, info->irqs[i].flags);
}

int cmd_info(int argc, char **argv) {
        struct vfio_broker_device_info *info = NULL;
        char bdf[BDF_STRLEN + 1];
        vfio_broker *b = NULL;
        int r, first;

        if (output_options("info", argc, argv, &first) != 0)
                return EXIT_USAGE;
        if (argc - first != 1)
                return usage_error("info", "takes one PCI address");
        if (bdf_normalize(argv[first], bdf) < 0)
                return usage_error("info", "\"%s\" is not a PCI address (DDDD:BB:DD.F)", argv[first]);
        if (connect_broker(&b) < 0)
                return EXIT_BROKER;
        r = vfio_broker_device_info(b, bdf, &info);
        if (r < 0) {
                print_error(b, argv[first], r);
                vfio_broker_disconnect(b);
                return EXIT_BROKER;
        }
        print_info(info);
        vfio_broker_device_info_free(info);
        vfio_broker_disconnect(b);
        return EXIT_SUCCESS;
}
