/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * inet-csum.h — what the packet crafters of the tests and benchmarks (test/forge-syn.c,
 * bench/flood-syn.c) share: big-endian stores and the Internet checksum (RFC 1071).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

static inline void put16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) (v >> 8);
        p[1] = (uint8_t) v;
}

static inline void put32(uint8_t *p, uint32_t v) {
        put16(p, (uint16_t) (v >> 16));
        put16(p + 2, (uint16_t) v);
}

/* Add the 16-bit words of n bytes at p to sum; over several pieces, each of even length
 * but the last. */
static inline uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n) {
        for (size_t i = 0; i + 1 < n; i += 2)
                sum += (uint32_t) (p[i] << 8 | p[i + 1]);
        if (n & 1)
                sum += (uint32_t) (p[n - 1] << 8);
        return sum;
}

/* Folded and complemented: the checksum to store. */
static inline uint16_t csum_fold(uint32_t sum) {
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t) ~sum;
}
