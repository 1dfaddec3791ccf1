/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading the policy files from disk (the parser itself does no I/O). */

#include <stdbool.h>

#include "config.h"
#include "policy/policy.h"

#define POLICY_DEFAULT_FILE VFIO_BROKER_CONFDIR "/policy.conf"
#define POLICY_DEFAULT_DIR VFIO_BROKER_CONFDIR "/policy.d"

/*
 * Load @file, then every *.conf of @dir in lexical order, into a fresh
 * *@ret, and finish it with @resolver.  A missing @file is an error only
 * when @file_required; a missing @dir is no error.  On -EINVAL *err says
 * FILE:LINE and why; other -errno are I/O errors on err->file.
 */
int policy_load(Policy *ret, const char *file, bool file_required, const char *dir,
                const PolicyResolver *resolver, PolicyError *err);

/* Load exactly the files given, in order. */
int policy_load_files(Policy *ret, char **files, size_t n_files, const PolicyResolver *resolver, PolicyError *err);
