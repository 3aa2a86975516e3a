/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * knock.h — the vocabulary every module shares: a knock step ("tcp:3721",
 * "udp:4728", "ping:123"), a source address (IPv4 or IPv6) and a knock event
 * (who knocked, which step, when). Pure data and pure functions; no I/O.
 */
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include "macro.h"
#include "string-util.h"
#include "time-util.h"

typedef enum KnockProto {
        KNOCK_PROTO_TCP = 1,  /* value: destination port, 1…65535 */
        KNOCK_PROTO_UDP = 2,  /* value: destination port, 1…65535 */
        KNOCK_PROTO_PING = 3, /* value: ICMP/ICMPv6 echo payload size, 0…KNOCK_PING_MAX */
} KnockProto;

/* Largest echo payload: 65535 - 40 (IPv6 header) + 40 (LEN counts it) - 48. IPv4 allows
 * at most 65507; a door may name a larger size, but then only IPv6 clients can send it. */
#define KNOCK_PING_MAX 65527U
#define KNOCK_PING_MAX_IPV4 65507U

typedef struct KnockStep {
        uint8_t proto;  /* KnockProto */
        uint16_t value;
} KnockStep;

/* "ping:65535" plus NUL */
#define KNOCK_STEP_STRLEN 11

static inline bool knock_step_equal(const KnockStep *a, const KnockStep *b) {
        return a->proto == b->proto && a->value == b->value;
}

/* Parse exactly the n bytes at s as "tcp:PORT", "udp:PORT" or "ping:SIZE". Lower case only,
 * decimal without sign or leading zeros, value in range. Returns 0, or -EINVAL. */
int knock_step_parse(const char *s, size_t n, KnockStep *ret);

/* Writes "tcp:3721" into buf (KNOCK_STEP_STRLEN bytes) and returns buf. */
const char *knock_step_format(const KnockStep *step, char buf[static KNOCK_STEP_STRLEN]);

typedef struct KnockAddr {
        uint8_t family;     /* AF_INET or AF_INET6 */
        uint8_t bytes[16];  /* network order; IPv4 uses the first 4, the rest is zero */
} KnockAddr;

#define KNOCK_ADDR_STRLEN INET6_ADDRSTRLEN

static inline size_t knock_addr_len(const KnockAddr *a) {
        return a->family == AF_INET ? 4 : 16;
}

static inline bool knock_addr_equal(const KnockAddr *a, const KnockAddr *b) {
        return a->family == b->family && memcmp(a->bytes, b->bytes, knock_addr_len(a)) == 0;
}

/* Parse a NUL-terminated IPv4 or IPv6 address (inet_pton forms, so the fully expanded IPv6
 * form the kernel prints is accepted). Returns 0, or -EINVAL. */
int knock_addr_parse(const char *s, KnockAddr *ret);

/* Parse exactly n bytes (not NUL-terminated); n is bounded by KNOCK_ADDR_STRLEN - 1. */
int knock_addr_parse_n(const char *s, size_t n, KnockAddr *ret);

/* Canonical text form (inet_ntop): "192.0.2.2", "2001:db8::2". Returns buf. */
const char *knock_addr_format(const KnockAddr *a, char buf[static KNOCK_ADDR_STRLEN]);

/* Prefixes: an address with all bits after the first `prefix` zero. A grant to a set with a
 * prefix length covers the source's prefix (door.h). */
#define KNOCK_PREFIX_STRLEN (INET6_ADDRSTRLEN + 4)

/* The number of bits of a's family: 32 or 128. */
static inline unsigned knock_addr_bits(const KnockAddr *a) {
        return a->family == AF_INET ? 32 : 128;
}

/* Clear the bits of a after the first prefix (prefix >= the family's bits: nothing). */
void knock_addr_mask(KnockAddr *a, unsigned prefix);

/* "2001:db8::/64", or just the address when prefix covers all of it (or is 0). Returns buf. */
const char *knock_prefix_format(const KnockAddr *a, unsigned prefix, char buf[static KNOCK_PREFIX_STRLEN]);

/* Parse "ADDRESS" (*ret_prefix the family's bits) or "ADDRESS/LEN" (LEN 1 to the family's
 * bits, decimal without leading zeros). An address with bits set after LEN is -EADDRNOTAVAIL,
 * with *ret and *ret_prefix filled in (to say which prefix was meant rather than guess it);
 * anything else malformed -EINVAL. */
int knock_prefix_parse(const char *s, KnockAddr *ret, unsigned *ret_prefix);

typedef struct KnockEvent {
        KnockAddr src;
        KnockStep step;
        usec_t time;    /* CLOCK_MONOTONIC µs when the packet was logged; 0 = not known */
} KnockEvent;
