/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "system/state-file.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/*
 * Since format 2 the records are framed: a "format 2" line after the header
 * (which older brokers pass over, as any kind they do not know) and an "end"
 * line last, with the FNV-1a hash of every byte in between, so that a file cut
 * short or changed is known before anything in it is believed.
 */
#define FORMAT_LINE "format 2\n"
#define MAX_STATE_SIZE (16u << 20)

static uint64_t fnv1a(const char *p, size_t n) {
        uint64_t h = 0xcbf29ce484222325ULL;

        for (size_t i = 0; i < n; i++)
                h = (h ^ (unsigned char) p[i]) * 0x100000001b3ULL;
        return h;
}

int state_file_write(const char *path, int (*write)(FILE *f, void *userdata), void *userdata) {
        _cleanup_free_ char *tmp = NULL, *body = NULL;
        size_t size = 0;
        FILE *m, *f;
        int r;

        m = open_memstream(&body, &size);
        if (!m)
                return -errno;
        r = write(m, userdata);
        if (fclose(m) != 0)
                return -errno;
        if (r < 0)
                return r;
        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        f = fopen(tmp, "we");
        if (!f)
                return -errno;
        fputs(STATE_FILE_HEADER FORMAT_LINE, f);
        fwrite(body, 1, size, f);
        fprintf(f, "end %016" PRIx64 "\n", fnv1a(body, size));
        if (fclose(f) != 0) {
                r = -errno;
                unlink(tmp);
                return r;
        }
        if (rename(tmp, path) < 0)
                return -errno;
        return 0;
}

static const StateRecordKind *kind_of(const char *line, const StateRecordKind *kinds, size_t n) {
        size_t len = strcspn(line, " \n");

        for (size_t i = 0; i < n; i++)
                if (strlen(kinds[i].keyword) == len && strncmp(line, kinds[i].keyword, len) == 0)
                        return &kinds[i];
        return NULL;
}

/* The whole file, NUL-terminated; -EFBIG past MAX_STATE_SIZE. */
static int read_all(const char *path, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, cap = 0;
        FILE *f = fopen(path, "re");
        int r = 0;

        if (!f)
                return -errno;
        for (;;) {
                size_t n;

                if (cap - size < 4096) {
                        char *p;

                        cap = cap ? cap * 2 : 65536;
                        if (cap > MAX_STATE_SIZE + 4096) {
                                r = -EFBIG;
                                break;
                        }
                        p = realloc(buf, cap + 1);
                        if (!p) {
                                r = -ENOMEM;
                                break;
                        }
                        buf = p;
                }
                n = fread(buf + size, 1, cap - size, f);
                size += n;
                if (n == 0) {
                        if (ferror(f))
                                r = -EIO;
                        break;
                }
        }
        fclose(f);
        if (r < 0)
                return r;
        if (!buf && !(buf = malloc(1)))
                return -ENOMEM;
        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

/* The records of a format 2 file, checked whole: [*ret_body, *ret_end) or why not. */
static int check_frame(char *text, char **ret_body, char **ret_end, const char **ret_why) {
        char *body = text + strlen(FORMAT_LINE), *end, *last;
        size_t len = strlen(text); /* of the whole file once, not per check */
        uint64_t want;
        char tail;

        if (len == 0 || text[len - 1] != '\n') {
                *ret_why = "truncated: its last line is cut short";
                return -EBADMSG;
        }
        text[len - 1] = 0; /* the last line alone */
        last = strrchr(text, '\n');
        last = last ? last + 1 : text;
        if (last < body || sscanf(last, "end %16" SCNx64 "%c", &want, &tail) != 1 || strlen(last) != 20) {
                *ret_why = "truncated: it has no end record";
                return -EBADMSG;
        }
        end = last;
        if (fnv1a(body, (size_t) (end - body)) != want) {
                *ret_why = "corrupt: its records do not match their checksum";
                return -EBADMSG;
        }
        *ret_body = body;
        *ret_end = end;
        return 0;
}

int state_file_read(const char *path, const StateRecordKind *kinds, size_t n_kinds, void *userdata,
                    unsigned *ret_bad, const char **ret_why) {
        _cleanup_free_ char *text = NULL;
        char *body, *end, *line;
        unsigned bad = 0;
        size_t size = 0;
        int r;

        *ret_why = NULL;
        r = read_all(path, &text, &size);
        if (r == -EFBIG)
                *ret_why = "corrupt: larger than any state file the broker writes";
        if (r < 0)
                return r;
        if (strlen(text) != size) {
                *ret_why = "corrupt: it holds a NUL byte";
                return -EBADMSG;
        }
        if (strncmp(text, STATE_FILE_HEADER, strlen(STATE_FILE_HEADER)) != 0) {
                *ret_why = "not a state file this broker reads (its first line)";
                return -EBADMSG;
        }
        body = text + strlen(STATE_FILE_HEADER);
        end = text + size;
        if (strncmp(body, FORMAT_LINE, strlen(FORMAT_LINE)) == 0) {
                r = check_frame(body, &body, &end, ret_why);
                if (r < 0)
                        return r;
        } else if (*body && strncmp(body, FORMAT_LINE, strlen(body)) == 0) {
                *ret_why = "truncated: it ends in its format line";
                return -EBADMSG;
        } /* else an older broker's, unframed: each record is checked as it is adopted */
        for (line = body; line < end;) {
                char *nl = memchr(line, '\n', (size_t) (end - line));
                const StateRecordKind *k;

                if (nl)
                        *nl = 0;
                if (strlen(line) >= 2048)
                        bad++; /* longer than any record */
                else if ((k = kind_of(line, kinds, n_kinds)) && k->adopt(line, userdata) < 0)
                        bad++;
                if (!nl)
                        break;
                line = nl + 1;
        }
        *ret_bad = bad;
        return 0;
}
