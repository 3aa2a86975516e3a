/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tests.h — the assertions of the C unit tests. A failed assertion prints the file,
 * line, expression and values, and aborts (meson counts the test as failed).
 */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ASSERT_TRUE(expr)                                                               \
        do {                                                                            \
                if (!(expr)) {                                                          \
                        fprintf(stderr, "%s:%d: assertion failed: %s\n",                \
                                __FILE__, __LINE__, #expr);                             \
                        abort();                                                        \
                }                                                                       \
        } while (0)

#define ASSERT_FALSE(expr) ASSERT_TRUE(!(expr))

#define ASSERT_EQ(a, b)                                                                 \
        do {                                                                            \
                long long _a_ = (long long) (a), _b_ = (long long) (b);                 \
                if (_a_ != _b_) {                                                       \
                        fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n",       \
                                __FILE__, __LINE__, #a, #b, _a_, _b_);                  \
                        abort();                                                        \
                }                                                                       \
        } while (0)

#define ASSERT_STREQ(a, b)                                                              \
        do {                                                                            \
                const char *_a_ = (a), *_b_ = (b);                                      \
                if (!_a_ || !_b_ || strcmp(_a_, _b_) != 0) {                            \
                        fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n",   \
                                __FILE__, __LINE__, #a, #b,                             \
                                _a_ ? _a_ : "(null)", _b_ ? _b_ : "(null)");            \
                        abort();                                                        \
                }                                                                       \
        } while (0)

/* The string a contains b. */
#define ASSERT_CONTAINS(a, b)                                                           \
        do {                                                                            \
                const char *_a_ = (a), *_b_ = (b);                                      \
                if (!_a_ || !strstr(_a_, _b_)) {                                        \
                        fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n",      \
                                __FILE__, __LINE__, _a_ ? _a_ : "(null)", _b_);         \
                        abort();                                                        \
                }                                                                       \
        } while (0)

/* r >= 0 (success in the -errno convention). */
#define ASSERT_OK(r)                                                                    \
        do {                                                                            \
                long long _r_ = (long long) (r);                                        \
                if (_r_ < 0) {                                                          \
                        fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__,   \
                                #r, strerror((int) -_r_));                              \
                        abort();                                                        \
                }                                                                       \
        } while (0)

/* r == -e exactly. */
#define ASSERT_ERROR(r, e)                                                              \
        do {                                                                            \
                long long _r_ = (long long) (r);                                        \
                if (_r_ != -(long long) (e)) {                                          \
                        fprintf(stderr, "%s:%d: %s: expected -%s, got %lld (%s)\n",     \
                                __FILE__, __LINE__, #r, #e, _r_,                        \
                                _r_ < 0 ? strerror((int) -_r_) : "not an error");       \
                        abort();                                                        \
                }                                                                       \
        } while (0)

#define TEST(name) static void test_##name(void)
#define RUN(name)                                                                       \
        do {                                                                            \
                test_##name();                                                          \
                printf("ok - %s\n", #name);                                             \
        } while (0)
