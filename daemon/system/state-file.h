/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The state file's format: a header line, then one record per line, its
 * kind's keyword first, fields separated by spaces, strings %-escaped ("-"
 * for the empty string), framed by a "format 2" line and an "end" line with
 * their checksum.  It is written whole to a temporary file, then renamed
 * over the old one.  Reading it walks a table of record kinds: each
 * kind names its keyword and how to adopt one line of it; a line of a kind
 * the table does not know is passed over (a newer broker's).
 */

#include <stdio.h>

#define STATE_FILE_HEADER "vfio-broker-state 1\n"

typedef struct StateRecordKind {
        const char *keyword;
        /* Adopt one line (the whole line, keyword included): 0, or -errno when it cannot be. */
        int (*adopt)(const char *line, void *userdata);
} StateRecordKind;

/* Printable, no spaces: what a string field may hold. */
void state_write_string(FILE *f, const char *s);
/* The field @in back into @out (@size bytes). */
void state_read_string(const char *in, char *out, size_t size);

/* Write @path atomically: @write fills the temporary file after the header. */
int state_file_write(const char *path, int (*write)(FILE *f, void *userdata), void *userdata);

/*
 * Read @path record by record through @kinds.  -ENOENT without a file;
 * -EBADMSG (and *ret_why says which) when it is not ours, or is framed
 * (format 2) and cut short or changed: then no record is adopted.  Else 0,
 * with the records that could not be adopted counted in *ret_bad.
 */
int state_file_read(const char *path, const StateRecordKind *kinds, size_t n_kinds, void *userdata,
                    unsigned *ret_bad, const char **ret_why);
