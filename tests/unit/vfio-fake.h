/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* vfio-fake.c: daemon/vfio.c's calls without a kernel, for tests and fuzzers. */

#include "vfio.h"

/* A new fd that vfio_fd_kind() takes for @kind (and @group): what an FD store would hand back. */
int vfio_fake_fd(VfioFdKind kind, int group);
