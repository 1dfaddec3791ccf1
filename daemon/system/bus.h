/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The admin API on the system bus: org.vfiobroker1 at /org/vfiobroker1,
 * interface org.vfiobroker1.Manager (documented in units/README.md).  Only
 * root and members of the vfio-broker-admin group may call its methods; the
 * bus policy (units/org.vfiobroker1.conf) says so too.
 */

#include "broker/broker.h"

#define BUS_NAME "org.vfiobroker1"
#define BUS_PATH "/org/vfiobroker1"
#define BUS_INTERFACE "org.vfiobroker1.Manager"
#define BUS_ADMIN_GROUP "vfio-broker-admin"

typedef struct Bus Bus;

/* Reload the policy; on failure -errno with @error saying why. */
typedef int (*BusReloadFn)(void *userdata, char *error, size_t size);

/* Connect to the system bus and take the name, now or (without a bus) later; -ENOMEM only. */
int bus_new(Broker *broker, Loop *loop, BusReloadFn reload, void *userdata, Bus **ret);
Bus *bus_free(Bus *bus);

/*
 * Whether the service manager will start this service again once it has
 * stopped (a restart job is queued for its unit): 1 yes, 0 no (a stop, or no
 * job at all: the FD store goes with the service), -errno when that cannot be
 * told (no bus, no answer within 1 s).
 */
int bus_restart_pending(Bus *bus);
