/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * linebuf.h — cut a byte stream into lines, bounded. Complete lines inside a chunk
 * are handed out in place (no copy); only a partial last line is kept, in a buffer
 * of fixed size. A line longer than the bound is handed out once, cut to bound + 1
 * bytes (so a length check rejects it), and the rest of it up to '\n' is dropped:
 * an over-long line is never split into two lines. No I/O.
 */
#pragma once

#include "macro.h"

typedef struct LineBuffer {
        char *buf;       /* bound + 1 bytes */
        size_t bound;    /* longest line handed out whole */
        size_t len;      /* bytes of the partial line held */
        bool skipping;   /* inside an over-long line that was already handed out */
} LineBuffer;

/* line is not NUL-terminated and excludes '\n'. A negative return stops the feed and is
 * returned by linebuf_feed(). */
typedef int (*linebuf_fn)(const char *line, size_t len, void *userdata);

int linebuf_init(LineBuffer *lb, size_t bound);
void linebuf_done(LineBuffer *lb);

/* Hand out every line completed by data. Returns 0 or the callback's negative value. */
int linebuf_feed(LineBuffer *lb, const char *data, size_t n, linebuf_fn fn, void *userdata);

/* At the end of input: hand out a last line that has no '\n' (if any). */
int linebuf_finish(LineBuffer *lb, linebuf_fn fn, void *userdata);

/* Forget the partial line (the file it came from was replaced). */
void linebuf_reset(LineBuffer *lb);
