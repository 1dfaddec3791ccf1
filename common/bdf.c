/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "common/bdf.h"

#include <errno.h>
#include <string.h>

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Exactly @n hex digits at @s, then @sep (0: end of string). */
static int hex_field(const char *s, size_t n, char sep, unsigned *ret) {
        unsigned v = 0;

        for (size_t i = 0; i < n; i++) {
                int d = hex_digit(s[i]);
                if (d < 0)
                        return -EINVAL;
                v = v * 16 + (unsigned) d;
        }
        if (s[n] != sep)
                return -EINVAL;
        *ret = v;
        return 0;
}

int bdf_parse(const char *s, Bdf *ret) {
        unsigned domain = 0, bus, slot, function;
        size_t len;

        if (!s)
                return -EINVAL;
        len = strlen(s);
        if (len == BDF_STRLEN) {
                if (hex_field(s, 4, ':', &domain) < 0)
                        return -EINVAL;
                s += 5;
        } else if (len != BDF_STRLEN - 5)
                return -EINVAL;

        if (hex_field(s, 2, ':', &bus) < 0 ||
            hex_field(s + 3, 2, '.', &slot) < 0 ||
            hex_field(s + 6, 1, 0, &function) < 0)
                return -EINVAL;
        if (slot > 0x1f || function > 7)
                return -EINVAL;

        *ret = (Bdf) { .domain = domain, .bus = bus, .slot = slot, .function = function };
        return 0;
}

/* @n hex digits of @v at @s, most significant first. */
static char *put_hex(char *s, unsigned v, unsigned n) {
        static const char digits[] = "0123456789abcdef";

        for (unsigned i = n; i > 0; i--)
                s[i - 1] = digits[v & 0xfu], v >>= 4;
        return s + n;
}

/* By hand, not snprintf: it runs for every device of every request, and printf costs 20 times as much. */
char *bdf_format(const Bdf *bdf, char buf[static BDF_STRLEN + 1]) {
        char *s = buf;

        s = put_hex(s, bdf->domain, 4);
        *s++ = ':';
        s = put_hex(s, bdf->bus, 2);
        *s++ = ':';
        s = put_hex(s, bdf->slot & 0x1fu, 2);
        *s++ = '.';
        s = put_hex(s, bdf->function & 7u, 1);
        *s = 0;
        return buf;
}

int bdf_normalize(const char *s, char buf[static BDF_STRLEN + 1]) {
        Bdf bdf;
        int r;

        r = bdf_parse(s, &bdf);
        if (r < 0)
                return r;
        bdf_format(&bdf, buf);
        return 0;
}

bool bdf_equal(const Bdf *a, const Bdf *b) {
        return a->domain == b->domain && a->bus == b->bus &&
               a->slot == b->slot && a->function == b->function;
}
