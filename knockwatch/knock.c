/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * knock.c — parsing and formatting of knock steps and addresses (see knock.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "knock.h"
#include "parse-util.h"

int knock_step_parse(const char *s, size_t n, KnockStep *ret) {
        static const struct {
                const char *name;
                size_t len;
                KnockProto proto;
                unsigned min, max;
        } protos[] = {
                { "tcp:", 4, KNOCK_PROTO_TCP, 1, 65535 },
                { "udp:", 4, KNOCK_PROTO_UDP, 1, 65535 },
                { "ping:", 5, KNOCK_PROTO_PING, 0, KNOCK_PING_MAX },
        };

        for (size_t i = 0; i < ELEMENTSOF(protos); i++) {
                uint64_t v;

                if (n <= protos[i].len || memcmp(s, protos[i].name, protos[i].len) != 0)
                        continue;
                if (parse_uint(s + protos[i].len, n - protos[i].len, protos[i].max, &v) < 0 ||
                    v < protos[i].min)
                        return -EINVAL;
                *ret = (KnockStep) { .proto = protos[i].proto, .value = (uint16_t) v };
                return 0;
        }
        return -EINVAL;
}

const char *knock_step_format(const KnockStep *step, char buf[static KNOCK_STEP_STRLEN]) {
        const char *name = step->proto == KNOCK_PROTO_TCP ? "tcp" :
                           step->proto == KNOCK_PROTO_UDP ? "udp" :
                           step->proto == KNOCK_PROTO_PING ? "ping" : "?";

        (void) snprintf(buf, KNOCK_STEP_STRLEN, "%s:%u", name, (unsigned) step->value);
        return buf;
}

int knock_addr_parse(const char *s, KnockAddr *ret) {
        KnockAddr a = {};

        if (strchr(s, ':')) {
                if (inet_pton(AF_INET6, s, a.bytes) != 1)
                        return -EINVAL;
                a.family = AF_INET6;
        } else {
                if (inet_pton(AF_INET, s, a.bytes) != 1)
                        return -EINVAL;
                a.family = AF_INET;
        }
        *ret = a;
        return 0;
}

int knock_addr_parse_n(const char *s, size_t n, KnockAddr *ret) {
        char buf[KNOCK_ADDR_STRLEN];

        if (n == 0 || n >= sizeof(buf) || memchr(s, 0, n))
                return -EINVAL;
        memcpy(buf, s, n);
        buf[n] = 0;
        return knock_addr_parse(buf, ret);
}

void knock_addr_mask(KnockAddr *a, unsigned prefix) {
        unsigned bits = knock_addr_bits(a);

        if (prefix >= bits)
                return;
        for (unsigned i = prefix / 8; i < bits / 8; i++)
                a->bytes[i] = i == prefix / 8 ? (uint8_t) (a->bytes[i] & (0xff00 >> (prefix % 8))) : 0;
}

const char *knock_prefix_format(const KnockAddr *a, unsigned prefix, char buf[static KNOCK_PREFIX_STRLEN]) {
        char addr[KNOCK_ADDR_STRLEN];

        (void) knock_addr_format(a, addr);
        if (prefix == 0 || prefix >= knock_addr_bits(a))
                (void) snprintf(buf, KNOCK_PREFIX_STRLEN, "%s", addr);
        else
                (void) snprintf(buf, KNOCK_PREFIX_STRLEN, "%s/%u", addr, prefix);
        return buf;
}

int knock_prefix_parse(const char *s, KnockAddr *ret, unsigned *ret_prefix) {
        const char *slash = strchr(s, '/');
        KnockAddr a, masked;
        uint64_t prefix;
        int r;

        if (!slash) {
                r = knock_addr_parse(s, &a);
                if (r < 0)
                        return r;
                *ret = a;
                *ret_prefix = knock_addr_bits(&a);
                return 0;
        }
        r = knock_addr_parse_n(s, (size_t) (slash - s), &a);
        if (r < 0)
                return r;
        if (parse_uint(slash + 1, strlen(slash + 1), knock_addr_bits(&a), &prefix) < 0 || prefix == 0)
                return -EINVAL;
        masked = a;
        knock_addr_mask(&masked, (unsigned) prefix);
        *ret = a;
        *ret_prefix = (unsigned) prefix;
        return knock_addr_equal(&a, &masked) ? 0 : -EADDRNOTAVAIL;
}

const char *knock_addr_format(const KnockAddr *a, char buf[static KNOCK_ADDR_STRLEN]) {
        if (!inet_ntop(a->family, a->bytes, buf, KNOCK_ADDR_STRLEN))
                (void) snprintf(buf, KNOCK_ADDR_STRLEN, "(invalid address)");
        return buf;
}
