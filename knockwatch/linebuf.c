/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * linebuf.c — see linebuf.h.
 */

#include <errno.h>
#include <string.h>

#include "linebuf.h"

int linebuf_init(LineBuffer *lb, size_t bound) {
        *lb = (LineBuffer) { .bound = bound };
        lb->buf = malloc(bound + 1);
        return lb->buf ? 0 : -ENOMEM;
}

void linebuf_done(LineBuffer *lb) {
        free(lb->buf);
        *lb = (LineBuffer) {};
}

void linebuf_reset(LineBuffer *lb) {
        lb->len = 0;
        lb->skipping = false;
}

/* Append the first bytes of a line to the held part, up to bound + 1 bytes. */
static void hold(LineBuffer *lb, const char *p, size_t n) {
        size_t room = lb->bound + 1 - lb->len;
        size_t k = MIN(n, room);

        memcpy(lb->buf + lb->len, p, k);
        lb->len += k;
}

int linebuf_feed(LineBuffer *lb, const char *data, size_t n, linebuf_fn fn, void *userdata) {
        const char *p = data, *end = data + n;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t k = (size_t) ((nl ? nl : end) - p);
                int r = 0;

                if (lb->skipping) {
                        /* The rest of a line already handed out as over-long. */
                } else if (lb->len == 0 && nl && k <= lb->bound) {
                        r = fn(p, k, userdata); /* the common case: whole line in place */
                } else {
                        hold(lb, p, k);
                        if (lb->len > lb->bound) {
                                r = fn(lb->buf, lb->len, userdata);
                                lb->len = 0;
                                lb->skipping = true;
                        } else if (nl) {
                                r = fn(lb->buf, lb->len, userdata);
                                lb->len = 0;
                        }
                }
                if (nl)
                        lb->skipping = false;
                if (r < 0)
                        return r;
                if (!nl)
                        break;
                p = nl + 1;
        }
        return 0;
}

int linebuf_finish(LineBuffer *lb, linebuf_fn fn, void *userdata) {
        int r = 0;

        if (lb->len > 0 && !lb->skipping)
                r = fn(lb->buf, lb->len, userdata);
        linebuf_reset(lb);
        return r;
}
