/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state file's frame (daemon/system/state-file.c): what is written is read
 * back whole; the same file cut short at any byte, or with any byte of its
 * records changed, is refused with no record adopted and the reason named;
 * an older broker's unframed file is still read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "system/state-file.h"
#include "test.h"

static char path[] = "/tmp/vfio-broker-test-state.XXXXXX";
static unsigned adopted;

static int adopt(const char *line, void *userdata) {
        adopted++;
        return strcmp(line, "rec bad") == 0 ? -EINVAL : 0;
}

static const StateRecordKind kinds[] = { { "rec", adopt } };

static int write_three(FILE *f, void *userdata) {
        fputs("rec 1 alpha\nrec 2 %2d\nrec bad\n", f);
        return 0;
}

static int read_back(unsigned *bad, const char **why) {
        adopted = 0;
        return state_file_read(path, kinds, ELEMENTSOF(kinds), NULL, bad, why);
}

static void put(const char *text, size_t size) {
        FILE *f = fopen(path, "we");

        CHECK(f);
        CHECK_EQ_INT(fwrite(text, 1, size, f), size);
        CHECK(fclose(f) == 0);
}

static void test_round_trip(void) {
        const char *why;
        unsigned bad;

        CHECK_EQ_INT(state_file_write(path, write_three, NULL), 0);
        CHECK_EQ_INT(read_back(&bad, &why), 0);
        CHECK_EQ_INT(adopted, 3);
        CHECK_EQ_INT(bad, 1);
        CHECK(!why);
}

static void test_cut_or_changed(void) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        const char *why;
        unsigned bad;
        FILE *f;

        CHECK_EQ_INT(state_file_write(path, write_three, NULL), 0);
        f = fopen(path, "re");
        CHECK(f);
        text = malloc(4096);
        size = fread(text, 1, 4096, f);
        fclose(f);
        for (size_t cut = 0; cut < size; cut++) {
                put(text, cut);
                if (cut == strlen(STATE_FILE_HEADER)) {
                        /* The header alone: an older broker's file of no records, nothing to adopt either way. */
                        CHECK_EQ_INT(read_back(&bad, &why), 0);
                } else {
                        CHECK_EQ_INT(read_back(&bad, &why), -EBADMSG);
                        CHECK(why && (strstr(why, "truncated") || strstr(why, "not a state file")));
                }
                CHECK_EQ_INT(adopted, 0);
        }
        /* Any byte of the records (after "format 2\n", before "end"): the checksum tells. */
        for (size_t at = strlen(STATE_FILE_HEADER) + strlen("format 2\n"); at < size - 21; at++) {
                text[at] ^= 0x20;
                put(text, size);
                CHECK_EQ_INT(read_back(&bad, &why), -EBADMSG);
                CHECK_EQ_INT(adopted, 0);
                CHECK(why);
                text[at] ^= 0x20;
        }
        put(text, size);
        CHECK_EQ_INT(read_back(&bad, &why), 0);
        CHECK_EQ_INT(adopted, 3);
        /* A NUL byte in it. */
        text[size - 3] = 0;
        put(text, size);
        CHECK_EQ_INT(read_back(&bad, &why), -EBADMSG);
        CHECK(why && strstr(why, "NUL"));
}

static void test_older_broker(void) {
        static const char old[] = STATE_FILE_HEADER "rec 1 alpha\nrec bad\nrec 3";
        const char *why;
        unsigned bad;

        put(old, strlen(old)); /* unframed, and its last line unended: each record on its own */
        CHECK_EQ_INT(read_back(&bad, &why), 0);
        CHECK_EQ_INT(adopted, 3);
        CHECK_EQ_INT(bad, 1);
}

int main(void) {
        int fd = mkstemp(path);

        CHECK(fd >= 0);
        close(fd);
        RUN(test_round_trip);
        RUN(test_cut_or_changed);
        RUN(test_older_broker);
        unlink(path);
        return 0;
}
