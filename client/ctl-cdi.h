/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vfio-brokerctl cdi generate [--output FILE] [--format json|yaml] */
int cmd_cdi(int argc, char **argv);
