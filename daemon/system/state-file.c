/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "system/state-file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

void state_write_string(FILE *f, const char *s) {
        if (!*s) {
                fputc('-', f);
                return;
        }
        for (; *s; s++) {
                unsigned char ch = (unsigned char) *s;

                if (ch > ' ' && ch < 127 && ch != '%' && ch != '-')
                        fputc(ch, f);
                else
                        fprintf(f, "%%%02x", ch);
        }
}

void state_read_string(const char *in, char *out, size_t size) {
        size_t n = 0;

        if (strcmp(in, "-") == 0)
                in = "";
        for (; *in && n + 1 < size; in++) {
                unsigned v;

                if (in[0] == '%' && sscanf(in + 1, "%2x", &v) == 1) {
                        out[n++] = (char) v;
                        in += 2;
                } else
                        out[n++] = *in;
        }
        out[n] = 0;
}

int state_file_write(const char *path, int (*write)(FILE *f, void *userdata), void *userdata) {
        _cleanup_free_ char *tmp = NULL;
        FILE *f;
        int r;

        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        f = fopen(tmp, "we");
        if (!f)
                return -errno;
        fputs(STATE_FILE_HEADER, f);
        r = write(f, userdata);
        if (fclose(f) != 0 && r >= 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        return r;
}

static const StateRecordKind *kind_of(const char *line, const StateRecordKind *kinds, size_t n) {
        size_t len = strcspn(line, " \n");

        for (size_t i = 0; i < n; i++)
                if (strlen(kinds[i].keyword) == len && strncmp(line, kinds[i].keyword, len) == 0)
                        return &kinds[i];
        return NULL;
}

int state_file_read(const char *path, const StateRecordKind *kinds, size_t n_kinds, void *userdata,
                    unsigned *ret_bad) {
        char line[2048];
        unsigned bad = 0;
        FILE *f;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        if (!fgets(line, sizeof(line), f) || strcmp(line, STATE_FILE_HEADER) != 0) {
                fclose(f);
                return -EBADMSG;
        }
        while (fgets(line, sizeof(line), f)) {
                const StateRecordKind *k = kind_of(line, kinds, n_kinds);

                if (k && k->adopt(line, userdata) < 0)
                        bad++;
        }
        fclose(f);
        *ret_bad = bad;
        return 0;
}
