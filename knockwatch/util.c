/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * util.c — the few out-of-line helpers of alloc-util.h, errno-util.h, parse-util.h,
 * string-util.h and time-util.h.
 */
#include <stdarg.h>
#include <stdio.h>

#include "alloc-util.h"
#include "errno-util.h"
#include "parse-util.h"
#include "string-util.h"
#include "time-util.h"

int set_error(char **ret_error, int error, const char *format, ...) {
        va_list ap;

        if (ret_error) {
                va_start(ap, format);
                if (vasprintf(ret_error, format, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return error;
}

int array_reserve(void **items, size_t n, size_t *allocated, size_t size, size_t max) {
        size_t a;
        void *p;

        if (n < *allocated)
                return 0;
        if (n >= max)
                return -E2BIG;
        a = MIN(MAX(*allocated * 2, (size_t) 8), max);
        p = reallocarray(*items, a, size);
        if (!p)
                return -ENOMEM;
        *items = p;
        *allocated = a;
        return 0;
}

int parse_uint_prefix(const char *s, size_t n, uint64_t max, uint64_t *ret) {
        size_t digits = 0;
        int r;

        while (digits < n && digits <= 20 && ascii_isdigit(s[digits]))
                digits++;
        r = parse_uint(s, digits, max, ret);
        return r < 0 ? r : (int) digits;
}

char *escape_into(const char *s, size_t n, size_t max, EscapeFlags flags, char *buf, size_t size) {
        bool quote = flags & ESCAPE_QUOTE;
        size_t o = 0, i;

        if (size == 0)
                return buf;
        /* Room kept at the end: the closing quote, "..." and the NUL. */
        size_t tail = (quote ? 1 : 0) + STRLEN("...") + 1;

        if (size < tail + (quote ? 1 : 0)) {
                buf[0] = 0;
                return buf;
        }
        if (quote)
                buf[o++] = '"';
        for (i = 0; i < MIN(n, max); i++) {
                unsigned char c = (unsigned char) s[i];

                /* the widest escape is four bytes */
                if (o + 4 + tail > size)
                        break;
                if (c == '\\' || (quote && c == '"')) {
                        buf[o++] = '\\';
                        buf[o++] = (char) c;
                } else if (c >= 0x20 && c < 0x7f)
                        buf[o++] = (char) c;
                else
                        o += (size_t) snprintf(buf + o, 5, "\\x%02x", c);
        }
        if (quote)
                buf[o++] = '"';
        if (i < n) {
                memcpy(buf + o, "...", 3);
                o += 3;
        }
        buf[o] = 0;
        return buf;
}

int sleep_until(usec_t deadline) {
        struct timespec ts = {
                .tv_sec = (time_t) (deadline / USEC_PER_SEC),
                .tv_nsec = (long) (deadline % USEC_PER_SEC) * 1000,
        };
        int r;

        /* clock_nanosleep() returns the error number itself, not -1 and errno. */
        while ((r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL)) == EINTR)
                ;
        return -r;
}

int sleep_usec(usec_t usec) {
        return sleep_until(now_usec(CLOCK_MONOTONIC) + usec);
}
