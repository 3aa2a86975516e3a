/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-knock.c — knock steps and addresses: parsing is strict, formatting canonical. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "knock.h"
#include "parse-util.h"
#include "tests.h"

static int step(const char *s, KnockStep *ret) {
        return knock_step_parse(s, strlen(s), ret);
}

TEST(step_valid) {
        char buf[KNOCK_STEP_STRLEN];
        KnockStep st;

        ASSERT_OK(step("tcp:3721", &st));
        ASSERT_EQ(st.proto, KNOCK_PROTO_TCP);
        ASSERT_EQ(st.value, 3721);
        ASSERT_STREQ(knock_step_format(&st, buf), "tcp:3721");

        ASSERT_OK(step("udp:65535", &st));
        ASSERT_EQ(st.proto, KNOCK_PROTO_UDP);
        ASSERT_STREQ(knock_step_format(&st, buf), "udp:65535");

        ASSERT_OK(step("ping:0", &st));
        ASSERT_EQ(st.proto, KNOCK_PROTO_PING);
        ASSERT_EQ(st.value, 0);
        ASSERT_OK(step("ping:65527", &st));
        ASSERT_STREQ(knock_step_format(&st, buf), "ping:65527");
}

TEST(step_invalid) {
        static const char *bad[] = {
                "", "tcp", "tcp:", "tcp:0", "tcp:65536", "tcp:03721", "tcp:+1", "tcp:-1",
                "tcp: 1", "tcp:1 ", "TCP:22", "icmp:1", "ping:65528", "ping:", "udp:1a",
                "tcp:999999", "tcp:3721x", ":22", "tcp;22",
        };
        KnockStep st;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                if (step(bad[i], &st) != -EINVAL) {
                        fprintf(stderr, "accepted \"%s\"\n", bad[i]);
                        abort();
                }
        }
        /* Only n bytes count: "tcp:37" out of "tcp:3721". */
        ASSERT_OK(knock_step_parse("tcp:3721", 6, &st));
        ASSERT_EQ(st.value, 37);
}

TEST(addr) {
        char buf[KNOCK_ADDR_STRLEN];
        KnockAddr a, b;

        ASSERT_OK(knock_addr_parse("192.0.2.2", &a));
        ASSERT_EQ(a.family, AF_INET);
        ASSERT_EQ(knock_addr_len(&a), 4);
        ASSERT_STREQ(knock_addr_format(&a, buf), "192.0.2.2");

        ASSERT_OK(knock_addr_parse("2001:0db8:0000:0000:0000:0000:0000:0002", &b));
        ASSERT_EQ(b.family, AF_INET6);
        ASSERT_STREQ(knock_addr_format(&b, buf), "2001:db8::2");
        ASSERT_FALSE(knock_addr_equal(&a, &b));

        ASSERT_OK(knock_addr_parse_n("192.0.2.2 trailing", 9, &b));
        ASSERT_TRUE(knock_addr_equal(&a, &b));

        ASSERT_ERROR(knock_addr_parse("192.0.2.256", &a), EINVAL);
        ASSERT_ERROR(knock_addr_parse("192.0.2", &a), EINVAL);
        ASSERT_ERROR(knock_addr_parse("", &a), EINVAL);
        ASSERT_ERROR(knock_addr_parse("2001:db8:::1", &a), EINVAL);
        ASSERT_ERROR(knock_addr_parse_n("192.0.2.2", 0, &a), EINVAL);
        ASSERT_ERROR(knock_addr_parse_n("1\0002", 3, &a), EINVAL);
        ASSERT_ERROR(knock_addr_parse_n("1111111111111111111111111111111111111111111111111", 49, &a), EINVAL);
}

TEST(prefix) {
        char buf[KNOCK_PREFIX_STRLEN];
        unsigned n;
        KnockAddr a, b;

        /* Masking: whole bytes, a partial byte, nothing at the full length. */
        ASSERT_OK(knock_addr_parse("2001:db8:1:2:3:4:5:6", &a));
        knock_addr_mask(&a, 64);
        ASSERT_STREQ(knock_prefix_format(&a, 64, buf), "2001:db8:1:2::/64");
        ASSERT_OK(knock_addr_parse("2001:db8:1:2:3:4:5:6", &a));
        knock_addr_mask(&a, 60);
        ASSERT_STREQ(knock_prefix_format(&a, 60, buf), "2001:db8:1::/60");
        ASSERT_OK(knock_addr_parse("198.51.100.77", &a));
        knock_addr_mask(&a, 30);
        ASSERT_STREQ(knock_prefix_format(&a, 30, buf), "198.51.100.76/30");
        knock_addr_mask(&a, 32);
        ASSERT_STREQ(knock_prefix_format(&a, 32, buf), "198.51.100.76");
        ASSERT_STREQ(knock_prefix_format(&a, 0, buf), "198.51.100.76");
        knock_addr_mask(&a, 1);
        ASSERT_STREQ(knock_addr_format(&a, buf), "128.0.0.0");

        /* Parsing: an address alone is its full length; host bits set are refused. */
        ASSERT_OK(knock_prefix_parse("2001:db8::/64", &a, &n));
        ASSERT_EQ(n, 64);
        ASSERT_OK(knock_addr_parse("2001:db8::", &b));
        ASSERT_TRUE(knock_addr_equal(&a, &b));
        ASSERT_OK(knock_prefix_parse("192.0.2.7", &a, &n));
        ASSERT_EQ(n, 32);
        ASSERT_OK(knock_prefix_parse("192.0.2.0/24", &a, &n));
        ASSERT_EQ(n, 24);
        ASSERT_OK(knock_prefix_parse("192.0.2.7/32", &a, &n));
        ASSERT_ERROR(knock_prefix_parse("2001:db8::5/64", &a, &n), EADDRNOTAVAIL);
        ASSERT_EQ(n, 64);
        knock_addr_mask(&a, n);
        ASSERT_STREQ(knock_prefix_format(&a, n, buf), "2001:db8::/64");
        ASSERT_ERROR(knock_prefix_parse("192.0.2.7/24", &a, &n), EADDRNOTAVAIL);
        ASSERT_ERROR(knock_prefix_parse("192.0.2.0/33", &a, &n), EINVAL);
        ASSERT_ERROR(knock_prefix_parse("192.0.2.0/0", &a, &n), EINVAL);
        ASSERT_ERROR(knock_prefix_parse("192.0.2.0/024", &a, &n), EINVAL);
        ASSERT_ERROR(knock_prefix_parse("192.0.2.0/", &a, &n), EINVAL);
        ASSERT_ERROR(knock_prefix_parse("/24", &a, &n), EINVAL);
        ASSERT_ERROR(knock_prefix_parse("2001:db8::/129", &a, &n), EINVAL);
        ASSERT_ERROR(knock_prefix_parse("2001:db8::/64/64", &a, &n), EINVAL);
}

TEST(uint) {
        uint64_t v;

        ASSERT_OK(parse_uint("0", 1, 10, &v));
        ASSERT_EQ(v, 0);
        ASSERT_OK(parse_uint("18446744073709551615", 20, UINT64_MAX, &v));
        ASSERT_TRUE(v == UINT64_MAX);
        ASSERT_OK(parse_uint("123x", 3, 200, &v));
        ASSERT_EQ(v, 123);
        ASSERT_ERROR(parse_uint("18446744073709551616", 20, UINT64_MAX, &v), ERANGE);
        ASSERT_ERROR(parse_uint("201", 3, 200, &v), ERANGE);
        ASSERT_ERROR(parse_uint("", 0, 10, &v), EINVAL);
        ASSERT_ERROR(parse_uint("01", 2, 10, &v), EINVAL);
        ASSERT_ERROR(parse_uint("+1", 2, 10, &v), EINVAL);
        ASSERT_ERROR(parse_uint(" 1", 2, 10, &v), EINVAL);
        ASSERT_ERROR(parse_uint("1 ", 2, 10, &v), EINVAL);
        ASSERT_ERROR(parse_uint("123456789012345678901", 21, UINT64_MAX, &v), EINVAL);
}

int main(void) {
        RUN(prefix);
        RUN(uint);
        RUN(step_valid);
        RUN(step_invalid);
        RUN(addr);
        return 0;
}
