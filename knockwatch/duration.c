/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * duration.c — see duration.h.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"

static const struct {
        const char *name;
        size_t len;
        uint64_t ms;
} units[] = {
        /* longest match first where one name is a prefix of another ("ms" before "m") */
        { "d", 1, 86400000ULL },
        { "h", 1, 3600000ULL },
        { "ms", 2, 1ULL },
        { "m", 1, 60000ULL },
        { "s", 1, 1000ULL },
};

/* Units in the order they must appear: d h m s ms. */
static unsigned unit_rank(uint64_t ms) {
        return ms == 86400000ULL ? 0 : ms == 3600000ULL ? 1 : ms == 60000ULL ? 2 : ms == 1000ULL ? 3 : 4;
}

int duration_parse_ms(const char *s, size_t n, uint64_t max_ms, uint64_t *ret_ms) {
        const char *p = s, *end = s + n;
        uint64_t total = 0;
        int last_rank = -1;

        if (n == 0)
                return -EINVAL;
        while (p < end) {
                uint64_t v = 0;
                size_t digits = 0, i;

                for (; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
                        if (v > (UINT64_MAX - 9) / 10)
                                return -ERANGE;
                        v = v * 10 + (uint64_t) (*p - '0');
                }
                if (digits == 0 || digits > 12)
                        return digits == 0 ? -EINVAL : -ERANGE;
                for (i = 0; i < ELEMENTSOF(units); i++)
                        if ((size_t) (end - p) >= units[i].len &&
                            memcmp(p, units[i].name, units[i].len) == 0)
                                break;
                if (i == ELEMENTSOF(units))
                        return -EINVAL;
                if ((int) unit_rank(units[i].ms) <= last_rank)
                        return -EINVAL; /* "30s1m", "1s1s" */
                last_rank = (int) unit_rank(units[i].ms);
                if (v > UINT64_MAX / units[i].ms || total + v * units[i].ms < total)
                        return -ERANGE;
                total += v * units[i].ms;
                p += units[i].len;
        }
        if (total == 0 || total > max_ms)
                return -ERANGE;
        *ret_ms = total;
        return 0;
}

const char *duration_format_ms(uint64_t ms, char buf[static DURATION_STRLEN]) {
        static const struct {
                const char *suffix;
                uint64_t ms;
        } parts[] = {
                { "d", 86400000ULL }, { "h", 3600000ULL }, { "m", 60000ULL }, { "s", 1000ULL }, { "ms", 1ULL },
        };
        size_t len = 0;

        if (ms == 0) {
                (void) snprintf(buf, DURATION_STRLEN, "0s");
                return buf;
        }
        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                uint64_t v = ms / parts[i].ms;

                if (v == 0)
                        continue;
                ms -= v * parts[i].ms;
                len += (size_t) snprintf(buf + len, DURATION_STRLEN - len, "%llu%s",
                                         (unsigned long long) v, parts[i].suffix);
        }
        return buf;
}
