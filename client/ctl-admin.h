/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * vfio-brokerctl's admin commands, over the broker's D-Bus admin API on the
 * system bus: status, leases, release-lease ID, reload.  Each returns the
 * exit status: 0, or 125 when the broker (or the bus) refused.
 */

int cmd_status(int argc, char **argv);
int cmd_leases(int argc, char **argv);
int cmd_release_lease(int argc, char **argv);
int cmd_reload(int argc, char **argv);
