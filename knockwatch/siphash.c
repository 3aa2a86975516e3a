/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * siphash.c — SipHash-2-4, written from the description in the SipHash paper:
 * four 64-bit state words seeded from the key and the constant "somepseudorandomly
 * generatedbytes", two SipRounds per 8-byte little-endian message word, a last word
 * holding the remaining bytes with the length (mod 256) in its top byte, then 0xff
 * into v2 and four SipRounds. See siphash.h.
 */
#include "siphash.h"

static inline uint64_t rotl64(uint64_t x, unsigned b) {
        return (x << b) | (x >> (64 - b));
}

static inline uint64_t load_le64(const uint8_t *p, size_t n) {
        uint64_t v = 0;

        for (size_t i = 0; i < n; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

typedef struct SipState {
        uint64_t v0, v1, v2, v3;
} SipState;

static inline void sip_round(SipState *s) {
        s->v0 += s->v1;
        s->v1 = rotl64(s->v1, 13);
        s->v1 ^= s->v0;
        s->v0 = rotl64(s->v0, 32);
        s->v2 += s->v3;
        s->v3 = rotl64(s->v3, 16);
        s->v3 ^= s->v2;
        s->v0 += s->v3;
        s->v3 = rotl64(s->v3, 21);
        s->v3 ^= s->v0;
        s->v2 += s->v1;
        s->v1 = rotl64(s->v1, 17);
        s->v1 ^= s->v2;
        s->v2 = rotl64(s->v2, 32);
}

static inline void sip_compress(SipState *s, uint64_t m) {
        s->v3 ^= m;
        sip_round(s);
        sip_round(s);
        s->v0 ^= m;
}

uint64_t siphash24(const void *data, size_t len, const uint8_t key[static SIPHASH_KEY_SIZE]) {
        const uint8_t *p = data;
        uint64_t k0 = load_le64(key, 8), k1 = load_le64(key + 8, 8);
        SipState s = {
                .v0 = k0 ^ UINT64_C(0x736f6d6570736575),
                .v1 = k1 ^ UINT64_C(0x646f72616e646f6d),
                .v2 = k0 ^ UINT64_C(0x6c7967656e657261),
                .v3 = k1 ^ UINT64_C(0x7465646279746573),
        };
        size_t tail = len % 8;

        for (const uint8_t *end = p + (len - tail); p < end; p += 8)
                sip_compress(&s, load_le64(p, 8));

        sip_compress(&s, load_le64(p, tail) | (uint64_t) (len & 0xff) << 56);

        s.v2 ^= 0xff;
        for (unsigned i = 0; i < 4; i++)
                sip_round(&s);
        return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}
