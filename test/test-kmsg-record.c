/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-kmsg-record.c — the pure parts of the kmsg source: the record header parser
 * (strict: every malformed shape refused), sequence-gap accounting (overruns and the
 * backlog after a resume), the printk clock estimate, and the saved position text. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kmsg-record.h"
#include "tests.h"
#include "time-util.h"

static int parse(const char *s, KmsgRecord *ret) {
        return kmsg_record_parse(s, strlen(s), ret);
}

static bool text_is(const KmsgRecord *r, const char *s) {
        return r->text_len == strlen(s) && memcmp(r->text, s, r->text_len) == 0;
}

TEST(record_valid) {
        KmsgRecord r;

        ASSERT_OK(parse("4,346,335831233,-;PORT_KNOCKING IN=tg-vs OUT= \n", &r));
        ASSERT_EQ(r.priority, 4);
        ASSERT_EQ(kmsg_record_facility(&r), 0);
        ASSERT_EQ(r.seq, 346);
        ASSERT_EQ(r.timestamp, 335831233);
        ASSERT_TRUE(text_is(&r, "PORT_KNOCKING IN=tg-vs OUT= "));

        /* Userspace writes: facility 1 (user) and more. */
        ASSERT_OK(parse("12,1,2,-;PORT_KNOCKING forged\n", &r));
        ASSERT_EQ(kmsg_record_facility(&r), 1);
        ASSERT_OK(parse("2047,1,2,-;x\n", &r));
        ASSERT_EQ(kmsg_record_facility(&r), 255);

        /* More header fields (CONFIG_PRINTK_CALLER), continuation flag, dictionary lines. */
        ASSERT_OK(parse("6,7,8,c,caller=T123;hello\n SUBSYSTEM=net\n DEVICE=n2\n", &r));
        ASSERT_EQ(r.priority, 6);
        ASSERT_TRUE(text_is(&r, "hello"));
        ASSERT_OK(parse("0,0,0,-;\n", &r)); /* empty text, zeros */
        ASSERT_EQ(r.text_len, 0);
        ASSERT_OK(parse("0,18446744073709551615,18446744073709551615,-;x\n", &r));
        ASSERT_EQ(r.seq, UINT64_MAX);
        ASSERT_TRUE(r.timestamp == UINT64_MAX);

        /* A ';' inside the text is text; only the first line counts. */
        ASSERT_OK(parse("4,1,1,-;a;b\\x0ac\nd\n", &r));
        ASSERT_TRUE(text_is(&r, "a;b\\x0ac"));
}

TEST(record_malformed) {
        static const char *const bad[] = {
                "",
                "\n",
                "4",
                "4,",
                "4,1",
                "4,1,",
                "4,1,2",
                "4,1,2,",
                "4,1,2,-",                  /* no ';' */
                "4,1,2,-;",                 /* no '\n' after the text */
                "4,1,2,-;PORT_KNOCKING x",  /* text cut off */
                "4,1,2;x\n",                /* flag missing */
                "4,1,2,;x\n",
                "4,1,2,--;x\n",             /* two-character flag */
                "4,1,-;x\n",                /* a field missing */
                ",1,2,-;x\n",
                "4,,2,-;x\n",
                "4,1,,-;x\n",
                "-4,1,2,-;x\n",             /* signs */
                "+4,1,2,-;x\n",
                "4,+1,2,-;x\n",
                " 4,1,2,-;x\n",             /* spaces */
                "4, 1,2,-;x\n",
                "04,1,2,-;x\n",             /* leading zeros */
                "4,01,2,-;x\n",
                "4,1,00,-;x\n",
                "2048,1,2,-;x\n",           /* priority out of range */
                "99999999999999999999999,1,2,-;x\n",
                "4,18446744073709551616,2,-;x\n",  /* 2^64 */
                "4,1,18446744073709551616,-;x\n",
                "4,1,999999999999999999999999999,-;x\n",
                "4x,1,2,-;x\n",             /* junk in numbers */
                "4,1a,2,-;x\n",
                "4,1,2a,-;x\n",
                "4,1,2,-,caller=T1\n;x\n",  /* ';' only on a later line */
                "4,1,2,-,caller=T1",        /* extra fields, no ';' */
                "PORT_KNOCKING IN=x\n",     /* no header at all */
                "<4>PORT_KNOCKING IN=x\n",
        };
        KmsgRecord r = { .seq = 4242 };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                if (parse(bad[i], &r) != -EBADMSG) {
                        fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
                        ASSERT_TRUE(false);
                }
        }
        ASSERT_EQ(r.seq, 4242); /* untouched on failure */

        /* Length is honoured: a NUL or the end of the buffer stops the parse. */
        ASSERT_EQ(kmsg_record_parse("4,1,2,-;x\n", 9, &r), -EBADMSG);
        ASSERT_OK(kmsg_record_parse("4,1,2,-;x\n", 10, &r));
        ASSERT_EQ(kmsg_record_parse("4,1\0002,-;x\n", 11, &r), -EBADMSG);
}

TEST(seq_gaps) {
        KmsgSeq q = {};
        uint64_t lost = 99;

        /* The first record seen (from the tail): nothing known, nothing lost. */
        ASSERT_TRUE(kmsg_seq_advance(&q, 100, &lost));
        ASSERT_EQ(lost, 0);
        ASSERT_TRUE(kmsg_seq_advance(&q, 101, &lost));
        ASSERT_EQ(lost, 0);
        /* An overrun: the next read returned seq 113, 11 records are gone. */
        ASSERT_TRUE(kmsg_seq_advance(&q, 113, &lost));
        ASSERT_EQ(lost, 11);
        ASSERT_EQ(q.last, 113);
        /* Old or repeated records are not new and lose nothing. */
        ASSERT_FALSE(kmsg_seq_advance(&q, 113, &lost));
        ASSERT_EQ(lost, 0);
        ASSERT_FALSE(kmsg_seq_advance(&q, 5, &lost));
        ASSERT_EQ(q.last, 113);

        /* A resume after seq 50, the ring still holding 40…: 40…50 skipped, 51 new. */
        q = (KmsgSeq) { .known = true, .last = 50 };
        for (uint64_t s = 40; s <= 50; s++)
                ASSERT_FALSE(kmsg_seq_advance(&q, s, &lost));
        ASSERT_TRUE(kmsg_seq_advance(&q, 51, &lost));
        ASSERT_EQ(lost, 0);

        /* A resume after seq 50 when the oldest record left is 60: 9 lost. */
        q = (KmsgSeq) { .known = true, .last = 50 };
        ASSERT_TRUE(kmsg_seq_advance(&q, 60, &lost));
        ASSERT_EQ(lost, 9);

        /* At the top of the range. */
        q = (KmsgSeq) { .known = true, .last = 0 };
        ASSERT_TRUE(kmsg_seq_advance(&q, UINT64_MAX, &lost));
        ASSERT_TRUE(lost == UINT64_MAX - 1);
}

TEST(clock_minimum_and_drift) {
        const usec_t t0 = 1000 * USEC_PER_SEC;
        KmsgClock c = {};

        /* offset = mono − ts. True offset −1200 µs (printk clock ahead); reads come
         * 3000, 500 and 8000 µs after the event: the estimate is the smallest. */
        kmsg_clock_sample(&c, t0 + 1200, t0 + 3000);
        ASSERT_TRUE(c.known);
        ASSERT_EQ(c.offset, 1800);
        /* Mapped records sampled first never land after their read time. */
        ASSERT_EQ(kmsg_clock_map(&c, t0 + 1200), t0 + 3000);
        kmsg_clock_sample(&c, t0 + 10 * USEC_PER_SEC + 1200, t0 + 10 * USEC_PER_SEC + 500);
        ASSERT_EQ(c.offset, -700);
        kmsg_clock_sample(&c, t0 + 20 * USEC_PER_SEC + 1200, t0 + 20 * USEC_PER_SEC + 8000);
        ASSERT_EQ(c.offset, -700);
        ASSERT_EQ(kmsg_clock_map(&c, t0 + 30 * USEC_PER_SEC + 1200), t0 + 30 * USEC_PER_SEC + 500);

        /* 70 s later the printk clock has gained 200 µs more: a new window starts, the
         * previous one (which just ended) still counts, so the estimate does not jump. */
        kmsg_clock_sample(&c, t0 + 70 * USEC_PER_SEC + 1400, t0 + 70 * USEC_PER_SEC + 5000);
        ASSERT_EQ(c.offset, -700);
        kmsg_clock_sample(&c, t0 + 80 * USEC_PER_SEC + 1400, t0 + 80 * USEC_PER_SEC + 100);
        ASSERT_EQ(c.offset, -1300);
        /* After two more windows only new samples count: the estimate followed the drift
         * in both directions. */
        kmsg_clock_sample(&c, t0 + 140 * USEC_PER_SEC + 1000, t0 + 140 * USEC_PER_SEC + 300);
        ASSERT_EQ(c.offset, -1300); /* previous window (70 s…) still counts */
        kmsg_clock_sample(&c, t0 + 200 * USEC_PER_SEC + 1000, t0 + 200 * USEC_PER_SEC + 400);
        ASSERT_EQ(c.offset, -700);  /* that was the min of the 140 s window */

        /* After a long quiet spell the old window is dropped, not kept as "previous". */
        kmsg_clock_sample(&c, t0 + 3600 * USEC_PER_SEC, t0 + 3600 * USEC_PER_SEC + 2500);
        ASSERT_EQ(c.offset, 2500);
}

TEST(clock_seed_and_limits) {
        const usec_t now = 500 * USEC_PER_SEC;
        KmsgClock c = {};

        /* A saved offset times the backlog; a worse live sample does not replace it. */
        kmsg_clock_seed(&c, -1500, now);
        ASSERT_TRUE(c.known);
        ASSERT_EQ(kmsg_clock_map(&c, 100 * USEC_PER_SEC), 100 * USEC_PER_SEC - 1500);
        kmsg_clock_sample(&c, now, now + 4000);
        ASSERT_EQ(c.offset, -1500);
        /* A better one does. */
        kmsg_clock_sample(&c, now + USEC_PER_SEC, now + USEC_PER_SEC - 1600);
        ASSERT_EQ(c.offset, -1600);

        /* Mapping saturates instead of wrapping. */
        kmsg_clock_seed(&c, -5000, now);
        ASSERT_EQ(kmsg_clock_map(&c, 1000), 0);
        kmsg_clock_seed(&c, INT64_MIN, now);
        ASSERT_EQ(kmsg_clock_map(&c, UINT64_MAX), UINT64_MAX - ((uint64_t) INT64_MAX + 1));
        kmsg_clock_seed(&c, 5000, now);
        ASSERT_TRUE(kmsg_clock_map(&c, UINT64_MAX - 10) == UINT64_MAX - 1);
        /* Absurd timestamps are not sampled. */
        kmsg_clock_sample(&c, UINT64_MAX, now);
        ASSERT_EQ(c.offset, 5000);
}

TEST(position_text) {
        const char *id = "634b2239-c4f3-4645-94dd-0af177ea968d";
        char buf[KMSG_POSITION_STRLEN];
        KmsgPosition p = { .seq = 12345, .offset = -1188 }, q;
        size_t n;

        memcpy(p.boot_id, id, KMSG_BOOT_ID_LEN + 1);
        n = kmsg_position_format(&p, buf);
        ASSERT_STREQ(buf, "boot_id=634b2239-c4f3-4645-94dd-0af177ea968d\nseq=12345\noffset=-1188\n");
        ASSERT_EQ(n, strlen(buf));
        ASSERT_OK(kmsg_position_parse(buf, n, &q));
        ASSERT_STREQ(q.boot_id, id);
        ASSERT_EQ(q.seq, 12345);
        ASSERT_EQ(q.offset, -1188);

        /* The extremes round-trip. */
        p.seq = UINT64_MAX;
        p.offset = INT64_MAX;
        n = kmsg_position_format(&p, buf);
        ASSERT_OK(kmsg_position_parse(buf, n, &q));
        ASSERT_TRUE(q.seq == UINT64_MAX);
        ASSERT_TRUE(q.offset == INT64_MAX);
        p.offset = -INT64_MAX;
        n = kmsg_position_format(&p, buf);
        ASSERT_OK(kmsg_position_parse(buf, n, &q));
        ASSERT_TRUE(q.offset == -INT64_MAX);
}

TEST(position_malformed) {
        static const char *const bad[] = {
                "",
                "boot_id=634b2239-c4f3-4645-94dd-0af177ea968d\nseq=1\n",              /* no offset */
                "boot_id=634b2239-c4f3-4645-94dd-0af177ea968d\nseq=1\noffset=0",      /* no '\n' */
                "boot_id=634b2239-c4f3-4645-94dd-0af177ea968d\nseq=1\noffset=0\nx\n", /* trailing */
                "seq=1\nboot_id=634b2239-c4f3-4645-94dd-0af177ea968d\noffset=0\n",    /* order */
                "boot_id=634B2239-C4F3-4645-94DD-0AF177EA968D\nseq=1\noffset=0\n",    /* case */
                "boot_id=634b2239c4f3-4645-94dd-0af177ea968d0\nseq=1\noffset=0\n",
                "boot_id=634b2239-c4f3-4645-94dd-0af177ea968\nseq=1\noffset=0\n",     /* short */
                "boot_id=634b2239-c4f3-4645-94dd-0af177ea968d\nseq=\noffset=0\n",
                "boot_id=634b2239-c4f3-4645-94dd-0af177ea968d\nseq=-1\noffset=0\n",
                "boot_id=634b2239-c4f3-4645-94dd-0af177ea968d\nseq=1 \noffset=0\n",
                "boot_id=634b2239-c4f3-4645-94dd-0af177ea968d\nseq=18446744073709551616\noffset=0\n",
                "boot_id=634b2239-c4f3-4645-94dd-0af177ea968d\nseq=1\noffset=-0\n",
                "boot_id=634b2239-c4f3-4645-94dd-0af177ea968d\nseq=1\noffset=-\n",
                "boot_id=634b2239-c4f3-4645-94dd-0af177ea968d\nseq=1\noffset=9223372036854775808\n",
                "boot_id=634b2239-c4f3-4645-94dd-0af177ea968d\nseq=1\noffset=-9223372036854775808\n",
        };
        KmsgPosition q = { .seq = 7 };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                if (kmsg_position_parse(bad[i], strlen(bad[i]), &q) != -EBADMSG) {
                        fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
                        ASSERT_TRUE(false);
                }
        }
        ASSERT_EQ(q.seq, 7);
}

int main(void) {
        RUN(record_valid);
        RUN(record_malformed);
        RUN(seq_gaps);
        RUN(clock_minimum_and_drift);
        RUN(clock_seed_and_limits);
        RUN(position_text);
        RUN(position_malformed);
        return 0;
}
