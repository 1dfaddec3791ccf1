/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A minimal harness: a failed check prints where and why and exits non-zero. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                             \
        do {                                                                    \
                if (!(cond)) {                                                  \
                        fprintf(stderr, "%s:%d: check failed: %s\n",            \
                                __FILE__, __LINE__, #cond);                     \
                        exit(EXIT_FAILURE);                                     \
                }                                                               \
        } while (0)

#define CHECK_EQ_INT(a, b)                                                      \
        do {                                                                    \
                long long _a = (a), _b = (b);                                   \
                if (_a != _b) {                                                 \
                        fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", \
                                __FILE__, __LINE__, #a, _a, #b, _b);            \
                        exit(EXIT_FAILURE);                                     \
                }                                                               \
        } while (0)

#define CHECK_EQ_STR(a, b)                                                      \
        do {                                                                    \
                const char *_a = (a), *_b = (b);                                \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                        \
                        fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", \
                                __FILE__, __LINE__, #a, _a ? _a : "(null)",     \
                                _b ? _b : "(null)");                            \
                        exit(EXIT_FAILURE);                                     \
                }                                                               \
        } while (0)

#define RUN(test)                                                               \
        do {                                                                    \
                test();                                                         \
                printf("ok %s\n", #test);                                       \
        } while (0)
