/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "common/bdf.h"
#include "test.h"

static void test_parse_full(void) {
        Bdf b;

        CHECK_EQ_INT(bdf_parse("0000:00:03.0", &b), 0);
        CHECK_EQ_INT(b.domain, 0);
        CHECK_EQ_INT(b.bus, 0);
        CHECK_EQ_INT(b.slot, 3);
        CHECK_EQ_INT(b.function, 0);

        CHECK_EQ_INT(bdf_parse("ABCD:Ef:1f.7", &b), 0);
        CHECK_EQ_INT(b.domain, 0xabcd);
        CHECK_EQ_INT(b.bus, 0xef);
        CHECK_EQ_INT(b.slot, 0x1f);
        CHECK_EQ_INT(b.function, 7);
}

static void test_parse_short(void) {
        char buf[BDF_STRLEN + 1];

        CHECK_EQ_INT(bdf_normalize("02:01.0", buf), 0);
        CHECK_EQ_STR(buf, "0000:02:01.0");
        CHECK_EQ_INT(bdf_normalize("0000:0A:1B.3", buf), 0);
        CHECK_EQ_STR(buf, "0000:0a:1b.3");
}

static void test_parse_rejects(void) {
        static const char *const bad[] = {
                "", "0", "0000:00:03", "0000:00:03.", "0000:00:03.8", "0000:00:20.0",
                "0000:00:03.0 ", " 0000:00:03.0", "0000-00:03.0", "0000:00-03.0",
                "0000:00:03-0", "000g:00:03.0", "00000:00:03.0", "0000:000:03.0",
                "0000:00:03.00", "../../../etc", "0000:00:03.0\n", "+000:00:03.0",
        };
        Bdf b = { .domain = 0x1234 };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (bdf_parse(bad[i], &b) != -EINVAL) {
                        fprintf(stderr, "accepted \"%s\"\n", bad[i]);
                        exit(EXIT_FAILURE);
                }
        }
        CHECK_EQ_INT(bdf_parse(NULL, &b), -EINVAL);
        /* ret_ untouched on failure */
        CHECK_EQ_INT(b.domain, 0x1234);
}

static void test_roundtrip(void) {
        char buf[BDF_STRLEN + 1];
        Bdf a = { 0x10, 0x20, 0x1e, 5 }, b;

        CHECK_EQ_STR(bdf_format(&a, buf), "0010:20:1e.5");
        CHECK_EQ_INT(bdf_parse(buf, &b), 0);
        CHECK(bdf_equal(&a, &b));
        b.function = 4;
        CHECK(!bdf_equal(&a, &b));
}

/* bdf_format() writes by hand what "%04x:%02x:%02x.%x" would: compare over every bus, slot and function. */
static void test_format_matches_printf(void) {
        static const uint16_t domains[] = { 0, 1, 0x10, 0xabcd, 0xffff };
        char buf[BDF_STRLEN + 1], want[BDF_STRLEN + 1];

        for (size_t d = 0; d < sizeof(domains) / sizeof(domains[0]); d++)
                for (unsigned bus = 0; bus <= 0xff; bus++)
                        for (unsigned slot = 0; slot <= 0x1f; slot++)
                                for (unsigned fn = 0; fn <= 7; fn++) {
                                        Bdf b = { domains[d], (uint8_t) bus, (uint8_t) slot, (uint8_t) fn };

                                        snprintf(want, sizeof(want), "%04x:%02x:%02x.%x", domains[d], bus, slot, fn);
                                        CHECK_EQ_STR(bdf_format(&b, buf), want);
                                }
}

int main(void) {
        RUN(test_parse_full);
        RUN(test_parse_short);
        RUN(test_parse_rejects);
        RUN(test_roundtrip);
        RUN(test_format_matches_printf);
        return 0;
}
