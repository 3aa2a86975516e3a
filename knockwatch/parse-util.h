/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * parse-util.h — the one strict decimal parser. Numbers from outside (log lines,
 * comments, kmsg records, state files, the command line) are read only through it.
 */
#pragma once

#include <errno.h>

#include "macro.h"
#include "string-util.h"

/* Strict unsigned decimal: the n bytes at s are 1–20 digits, no sign, no space, no
 * leading zero (but "0"), at most max. Returns 0, -EINVAL (not such a number) or -ERANGE. */
static inline int parse_uint(const char *s, size_t n, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        /* Inline: the parser calls it for every number of every line. */
        if (n == 0 || n > 20 || (s[0] == '0' && n > 1))
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (!ascii_isdigit(s[i]))
                        return -EINVAL;
                /* Only a 20-digit number can overflow; the checks cost a flag test. */
                if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (unsigned) (s[i] - '0'), &v))
                        return -ERANGE;
        }
        if (v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

/* The longest strict decimal at the start of s[0..n) (digits only, so it may be
 * followed by anything), parsed as parse_uint() does. Returns the number of bytes it
 * took (> 0), -EINVAL (no digit, or a leading zero before another digit) or -ERANGE. */
int parse_uint_prefix(const char *s, size_t n, uint64_t max, uint64_t *ret);
