/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kmsg-record.c — see kmsg-record.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "kmsg-record.h"
#include "parse-util.h"
#include "string-util.h"
#include "time-util.h"

/* Decimal at *p (parse_uint_prefix()): at least one digit, no sign, no leading zero, at
 * most max. Advances *p past it. */
static int parse_decimal(const char **p, const char *end, uint64_t max, uint64_t *ret) {
        int n = parse_uint_prefix(*p, (size_t) (end - *p), max, ret);

        if (n < 0)
                return -EBADMSG;
        *p += n;
        return 0;
}

static bool skip_char(const char **p, const char *end, char c) {
        if (*p >= end || **p != c)
                return false;
        (*p)++;
        return true;
}

int kmsg_record_parse(const char *buf, size_t n, KmsgRecord *ret) {
        const char *p = buf, *end = buf + n, *nl;
        uint64_t priority, seq, ts;

        if (parse_decimal(&p, end, KMSG_PRIORITY_MAX, &priority) < 0 || !skip_char(&p, end, ',') ||
            parse_decimal(&p, end, UINT64_MAX, &seq) < 0 || !skip_char(&p, end, ',') ||
            parse_decimal(&p, end, UINT64_MAX, &ts) < 0 || !skip_char(&p, end, ','))
                return -EBADMSG;

        /* FLAG: '-', 'c' (continuation) or whatever one character a kernel puts there. */
        if (p >= end || *p == ',' || *p == ';' || *p == '\n')
                return -EBADMSG;
        p++;

        /* Further header fields (",caller=T123") end at the ';', all on the first line. */
        if (p < end && *p == ',') {
                const char *semicolon = memchr(p, ';', (size_t) (end - p));

                nl = memchr(p, '\n', (size_t) (end - p));
                if (!semicolon || (nl && nl < semicolon))
                        return -EBADMSG;
                p = semicolon;
        }
        if (!skip_char(&p, end, ';'))
                return -EBADMSG;

        nl = memchr(p, '\n', (size_t) (end - p));
        if (!nl)
                return -EBADMSG;

        *ret = (KmsgRecord) {
                .priority = (unsigned) priority,
                .seq = seq,
                .timestamp = ts,
                .text = p,
                .text_len = (size_t) (nl - p),
        };
        return 0;
}

bool kmsg_seq_advance(KmsgSeq *q, uint64_t seq, uint64_t *ret_lost) {
        *ret_lost = 0;
        if (q->known && seq <= q->last)
                return false;
        if (q->known && seq - q->last > 1)
                *ret_lost = seq - q->last - 1;
        q->known = true;
        q->last = seq;
        return true;
}

static void clock_update(KmsgClock *c) {
        c->offset = c->previous_used ? MIN(c->window_min, c->previous_min) : c->window_min;
        c->known = true;
}

void kmsg_clock_seed(KmsgClock *c, int64_t offset, usec_t now) {
        *c = (KmsgClock) {
                .window_used = true,
                .window_start = now,
                .window_min = offset,
        };
        clock_update(c);
}

void kmsg_clock_sample(KmsgClock *c, uint64_t ts, usec_t read_time) {
        int64_t d;

        /* Neither clock gets anywhere near 2^63 µs; refuse rather than overflow. */
        if (ts > INT64_MAX || read_time > INT64_MAX)
                return;
        d = (int64_t) read_time - (int64_t) ts;

        if (!c->window_used || read_time < c->window_start ||
            read_time - c->window_start >= KMSG_CLOCK_WINDOW) {
                /* A new window. The old one still counts if it ended just now; after a
                 * quiet spell it would be stale by the drift since then, so it is dropped. */
                c->previous_used = c->window_used && read_time >= c->window_start &&
                                   read_time - c->window_start < 2 * KMSG_CLOCK_WINDOW;
                c->previous_min = c->window_min;
                c->window_used = true;
                c->window_start = read_time;
                c->window_min = d;
        } else if (d < c->window_min)
                c->window_min = d;
        clock_update(c);
}

usec_t kmsg_clock_map(const KmsgClock *c, uint64_t ts) {
        uint64_t back;

        if (c->offset >= 0) {
                uint64_t forward = (uint64_t) c->offset;

                /* UINT64_MAX is USEC_INFINITY; stay below it. */
                return ts >= UINT64_MAX - forward ? UINT64_MAX - 1 : ts + forward;
        }
        back = (uint64_t) -(c->offset + 1) + 1;
        return ts > back ? ts - back : 0;
}

bool kmsg_boot_id_valid(const char *s, size_t n) {
        if (n != KMSG_BOOT_ID_LEN)
                return false;
        for (size_t i = 0; i < n; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;

                if (dash ? s[i] != '-' : !(ascii_isdigit(s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        }
        return true;
}

size_t kmsg_position_format(const KmsgPosition *p, char buf[static KMSG_POSITION_STRLEN]) {
        int n = snprintf(buf, KMSG_POSITION_STRLEN, "boot_id=%s\nseq=%" PRIu64 "\noffset=%" PRId64 "\n",
                         p->boot_id, p->seq, p->offset);

        /* 8 + 36 + 5 + 20 + 8 + 20 + 3 newlines: always fits. */
        return n < 0 ? 0 : MIN((size_t) n, (size_t) KMSG_POSITION_STRLEN - 1);
}

/* "KEY=" at *p, then the rest of that line in [*ret_value, *ret_end). */
static int parse_line(const char **p, const char *end, const char *key,
                      const char **ret_value, const char **ret_end) {
        size_t k = strlen(key);
        const char *nl;

        if ((size_t) (end - *p) < k || memcmp(*p, key, k) != 0)
                return -EBADMSG;
        nl = memchr(*p + k, '\n', (size_t) (end - *p - (ptrdiff_t) k));
        if (!nl)
                return -EBADMSG;
        *ret_value = *p + k;
        *ret_end = nl;
        *p = nl + 1;
        return 0;
}

int kmsg_position_parse(const char *text, size_t n, KmsgPosition *ret) {
        const char *p = text, *end = text + n, *value, *value_end, *q;
        KmsgPosition pos = {};
        uint64_t u;
        bool negative;

        if (parse_line(&p, end, "boot_id=", &value, &value_end) < 0 ||
            !kmsg_boot_id_valid(value, (size_t) (value_end - value)))
                return -EBADMSG;
        memcpy(pos.boot_id, value, KMSG_BOOT_ID_LEN);

        if (parse_line(&p, end, "seq=", &value, &value_end) < 0)
                return -EBADMSG;
        q = value;
        if (parse_decimal(&q, value_end, UINT64_MAX, &pos.seq) < 0 || q != value_end)
                return -EBADMSG;

        if (parse_line(&p, end, "offset=", &value, &value_end) < 0)
                return -EBADMSG;
        negative = value < value_end && *value == '-';
        q = value + negative;
        if (parse_decimal(&q, value_end, INT64_MAX, &u) < 0 || q != value_end || (negative && u == 0))
                return -EBADMSG;
        pos.offset = negative ? -(int64_t) u : (int64_t) u;

        if (p != end)
                return -EBADMSG;
        *ret = pos;
        return 0;
}
