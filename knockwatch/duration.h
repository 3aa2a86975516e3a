/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * duration.h — durations as people and nft write them: "500ms", "10s", "1m30s", "2h".
 * Pure functions, no I/O.
 */
#pragma once

#include "macro.h"

/* Longest text duration_format() writes, with its NUL: "213503982334d14h25m51s615ms". */
#define DURATION_STRLEN 32

/* Parse the n bytes at s: one or more "<digits><unit>" parts, units d, h, m, s, ms, in
 * decreasing order, each unit at most once, no spaces ("1m30s", "90s", "250ms").
 * Result in milliseconds, between 1 and max_ms. Returns 0 or -EINVAL / -ERANGE. */
int duration_parse_ms(const char *s, size_t n, uint64_t max_ms, uint64_t *ret_ms);

/* "1m30s", "60s", "250ms", "0s"; the largest units that fit, zero parts left out. */
const char *duration_format_ms(uint64_t ms, char buf[static DURATION_STRLEN]);
