/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-linebuf.c — lines are cut at '\n', partial lines kept, over-long lines handed
 * out once and cut, never split into two lines. */
#include <errno.h>
#include <string.h>

#include "linebuf.h"
#include "tests.h"

typedef struct Seen {
        char lines[16][64];
        size_t len[16];
        size_t n;
} Seen;

static int collect(const char *line, size_t len, void *userdata) {
        Seen *s = userdata;

        ASSERT_TRUE(s->n < ELEMENTSOF(s->lines));
        memcpy(s->lines[s->n], line, MIN(len, sizeof(s->lines[0]) - 1));
        s->lines[s->n][MIN(len, sizeof(s->lines[0]) - 1)] = 0;
        s->len[s->n++] = len;
        return 0;
}

static int stop_at_second(const char *line, size_t len, void *userdata) {
        return ++*(int *) userdata == 2 ? -ECANCELED : 0;
}

TEST(whole_and_partial) {
        LineBuffer lb;
        Seen s = {};

        ASSERT_OK(linebuf_init(&lb, 8));
        ASSERT_OK(linebuf_feed(&lb, "one\ntwo\nthr", 11, collect, &s));
        ASSERT_EQ(s.n, 2);
        ASSERT_STREQ(s.lines[0], "one");
        ASSERT_STREQ(s.lines[1], "two");
        ASSERT_OK(linebuf_feed(&lb, "ee\n\nfour", 8, collect, &s));
        ASSERT_EQ(s.n, 4);
        ASSERT_STREQ(s.lines[2], "three");
        ASSERT_EQ(s.len[3], 0);
        ASSERT_OK(linebuf_finish(&lb, collect, &s));
        ASSERT_EQ(s.n, 5);
        ASSERT_STREQ(s.lines[4], "four");
        ASSERT_OK(linebuf_finish(&lb, collect, &s)); /* nothing left */
        ASSERT_EQ(s.n, 5);
        linebuf_done(&lb);
}

TEST(overlong) {
        LineBuffer lb;
        Seen s = {};

        ASSERT_OK(linebuf_init(&lb, 4));
        /* exactly the bound: whole */
        ASSERT_OK(linebuf_feed(&lb, "abcd\n", 5, collect, &s));
        ASSERT_EQ(s.n, 1);
        ASSERT_EQ(s.len[0], 4);
        /* one over, in one chunk: handed out once with bound + 1 bytes */
        ASSERT_OK(linebuf_feed(&lb, "abcdefghij\nok\n", 14, collect, &s));
        ASSERT_EQ(s.n, 3);
        ASSERT_EQ(s.len[1], 5);
        ASSERT_STREQ(s.lines[1], "abcde");
        ASSERT_STREQ(s.lines[2], "ok");
        /* over-long across chunks: still once, and the tail is not a line of its own */
        ASSERT_OK(linebuf_feed(&lb, "xy", 2, collect, &s));
        ASSERT_OK(linebuf_feed(&lb, "zzzzzz", 6, collect, &s));
        ASSERT_EQ(s.n, 4);
        ASSERT_STREQ(s.lines[3], "xyzzz");
        ASSERT_OK(linebuf_feed(&lb, "zzz\nend\n", 8, collect, &s));
        ASSERT_EQ(s.n, 5);
        ASSERT_STREQ(s.lines[4], "end");
        /* an over-long unterminated tail is not handed out again at the end */
        ASSERT_OK(linebuf_feed(&lb, "123456789", 9, collect, &s));
        ASSERT_EQ(s.n, 6);
        ASSERT_OK(linebuf_finish(&lb, collect, &s));
        ASSERT_EQ(s.n, 6);
        linebuf_done(&lb);
}

TEST(stop) {
        LineBuffer lb;
        int count = 0;

        ASSERT_OK(linebuf_init(&lb, 16));
        ASSERT_ERROR(linebuf_feed(&lb, "a\nb\nc\n", 6, stop_at_second, &count), ECANCELED);
        ASSERT_EQ(count, 2);
        linebuf_done(&lb);
}

int main(void) {
        RUN(whole_and_partial);
        RUN(overlong);
        RUN(stop);
        return 0;
}
