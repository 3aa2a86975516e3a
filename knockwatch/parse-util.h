/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * parse-util.h — the one strict decimal parser. Numbers from outside (log lines,
 * comments, kmsg records, state files, the command line) are read only through it.
 */
#pragma once

#include "macro.h"

/* Strict unsigned decimal: the n bytes at s are 1–20 digits, no sign, no space, no
 * leading zero (but "0"), at most max. Returns 0, -EINVAL (not such a number) or -ERANGE. */
int parse_uint(const char *s, size_t n, uint64_t max, uint64_t *ret);

/* The longest strict decimal at the start of s[0..n) (digits only, so it may be
 * followed by anything), parsed as parse_uint() does. Returns the number of bytes it
 * took (> 0), -EINVAL (no digit, or a leading zero before another digit) or -ERANGE. */
int parse_uint_prefix(const char *s, size_t n, uint64_t max, uint64_t *ret);
