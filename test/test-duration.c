/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-duration.c — durations parse strictly and format as nft writes them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"
#include "tests.h"

static int parse(const char *s, uint64_t *ret) {
        return duration_parse_ms(s, strlen(s), 7ULL * 86400000ULL, ret);
}

TEST(parse_valid) {
        uint64_t ms;

        ASSERT_OK(parse("60s", &ms));
        ASSERT_EQ(ms, 60000);
        ASSERT_OK(parse("1m30s", &ms));
        ASSERT_EQ(ms, 90000);
        ASSERT_OK(parse("250ms", &ms));
        ASSERT_EQ(ms, 250);
        ASSERT_OK(parse("1h", &ms));
        ASSERT_EQ(ms, 3600000);
        ASSERT_OK(parse("1d2h3m4s5ms", &ms));
        ASSERT_EQ(ms, 93784005);
        ASSERT_OK(parse("10m", &ms));
        ASSERT_EQ(ms, 600000);
}

TEST(parse_invalid) {
        static const char *bad[] = { "", "s", "60", "60x", "1s1s", "30s1m", "1 s", "-1s", "+1s", "1.5s", "ms", "1sm" };
        uint64_t ms;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (parse(bad[i], &ms) != -EINVAL) {
                        fprintf(stderr, "accepted \"%s\"\n", bad[i]);
                        abort();
                }
        ASSERT_ERROR(parse("0s", &ms), ERANGE);
        ASSERT_ERROR(parse("8d", &ms), ERANGE);
        ASSERT_ERROR(parse("99999999999999999999s", &ms), ERANGE);
        ASSERT_ERROR(parse("9999999999999s", &ms), ERANGE);
}

TEST(format) {
        char buf[DURATION_STRLEN];

        ASSERT_STREQ(duration_format_ms(0, buf), "0s");
        ASSERT_STREQ(duration_format_ms(60000, buf), "1m");
        ASSERT_STREQ(duration_format_ms(90000, buf), "1m30s");
        ASSERT_STREQ(duration_format_ms(59999, buf), "59s999ms");
        ASSERT_STREQ(duration_format_ms(3600000 + 5000, buf), "1h5s");
        ASSERT_STREQ(duration_format_ms(UINT64_MAX, buf), "213503982334d14h25m51s615ms");
}

int main(void) {
        RUN(parse_valid);
        RUN(parse_invalid);
        RUN(format);
        return 0;
}
