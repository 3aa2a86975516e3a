/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * string-util.h — string predicates, and the one escaper for text from outside
 * (log lines, set comments) that is about to reach a log or a terminal.
 */
#pragma once

#include <string.h>

#include "macro.h"

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

/* Returns the rest of s after prefix, or NULL if s does not start with prefix. */
static inline const char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

static inline bool ascii_isdigit(char c) {
        return c >= '0' && c <= '9';
}

typedef enum EscapeFlags {
        ESCAPE_QUOTE = 1 << 0,   /* wrap in double quotes, escape " as \" */
} EscapeFlags;

/*
 * Copy at most max bytes of s[0..n) into buf (size bytes) with everything but printable
 * ASCII written as \xNN and a backslash as \\ (with ESCAPE_QUOTE: in double quotes, '"'
 * as \"). If not all of s fits (or n > max), the output ends in "..." after the closing
 * quote. Always NUL-terminated when size > 0. Returns buf.
 */
char *escape_into(const char *s, size_t n, size_t max, EscapeFlags flags, char *buf, size_t size);
