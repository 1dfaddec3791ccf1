/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vfio-brokerctl list and info: what the broker's socket says of the host's devices. */

int cmd_list(int argc, char **argv);
int cmd_info(int argc, char **argv);
