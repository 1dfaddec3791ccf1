/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* PCI addresses ("bus/device/function"), as in 0000:00:03.0. */

#include <stdbool.h>
#include <stdint.h>

#define BDF_STRLEN 12 /* "dddd:bb:ss.f" */

typedef struct Bdf {
        uint16_t domain;
        uint8_t bus;
        uint8_t slot;
        uint8_t function;
} Bdf;

/*
 * Parse "DDDD:BB:SS.F" or the short "BB:SS.F" (domain 0), hex digits in either
 * case.  Anything else, including trailing bytes, a slot above 0x1f or a
 * function above 7, is -EINVAL.
 */
int bdf_parse(const char *s, Bdf *ret);

/* The canonical lower-case form; @buf holds BDF_STRLEN + 1 bytes. */
char *bdf_format(const Bdf *bdf, char buf[static BDF_STRLEN + 1]);

/* Parse and write back in canonical form; -EINVAL if @s is not a BDF. */
int bdf_normalize(const char *s, char buf[static BDF_STRLEN + 1]);

bool bdf_equal(const Bdf *a, const Bdf *b);
