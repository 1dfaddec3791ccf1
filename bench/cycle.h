/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* One acquire + release of @bdf (no IRQs) through @b, the lease's fds closed between; exits on failure. */
#include "vfio-broker.h"

void acquire_release(vfio_broker *b, const char *bdf, const char *program);
