/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-hashtab.c — the hash index against a plain array model: inserts, removals and
 * moves in long clusters (hashes chosen to collide and to wrap around the end), every
 * item findable after every step, no slot left pointing at a removed item. */
#include <stdio.h>

#include "hashtab.h"
#include "tests.h"

#define N 64

typedef struct Model {
        bool present[N];
        uint32_t hash[N];
} Model;

static bool is_item(uint32_t item, const void *userdata) {
        return item == *(const uint32_t *) userdata;
}

static void check(const Hashtab *h, const Model *m) {
        unsigned used = 0;

        for (uint32_t i = 0; i < N; i++) {
                uint32_t found = hashtab_find(h, m->hash[i], is_item, &i);

                ASSERT_EQ(found, m->present[i] ? i : HASHTAB_NONE);
                used += m->present[i];
        }
        for (uint32_t j = 0; j <= h->mask; j++)
                if (h->slots[j].item != 0) {
                        ASSERT_TRUE(h->slots[j].item - 1 < N);
                        ASSERT_TRUE(m->present[h->slots[j].item - 1]);
                        used--;
                }
        ASSERT_EQ(used, 0);
}

TEST(model) {
        uint8_t key[SIPHASH_KEY_SIZE] = {};
        HashSlot slots[256] = {};
        uint32_t state = 12345;
        Hashtab h;
        Model m = {};

        ASSERT_EQ(hashtab_slots_for(N), 128);
        ASSERT_EQ(hashtab_slots_for(1), 2);
        hashtab_init(&h, slots, hashtab_slots_for(N), key);
        for (uint32_t i = 0; i < N; i++)
                /* three clusters, one of them across the end of the table */
                m.hash[i] = (i % 3 == 0) ? 5 : (i % 3 == 1) ? 126 : 0x10000 * i + 127;

        for (unsigned step = 0; step < 20000; step++) {
                uint32_t i, j;

                state = state * 1103515245 + 12345;
                i = (state >> 8) % N;
                j = (state >> 20) % N;
                if (!m.present[i]) {
                        hashtab_insert(&h, m.hash[i], i);
                        m.present[i] = true;
                } else if (!m.present[j] && m.hash[i] == m.hash[j] && (state & 1)) {
                        hashtab_move(&h, m.hash[i], i, j);
                        m.present[i] = false;
                        m.present[j] = true;
                } else {
                        hashtab_remove(&h, m.hash[i], i);
                        m.present[i] = false;
                }
                check(&h, &m);
        }
}

TEST(hash_keyed) {
        uint8_t k1[SIPHASH_KEY_SIZE] = { 1 }, k2[SIPHASH_KEY_SIZE] = { 2 };
        HashSlot s1[2], s2[2];
        Hashtab a, b;

        hashtab_init(&a, s1, 2, k1);
        hashtab_init(&b, s2, 2, k2);
        ASSERT_TRUE(hashtab_hash(&a, "192.0.2.1", 9) != hashtab_hash(&b, "192.0.2.1", 9));
        ASSERT_EQ(hashtab_hash(&a, "x", 1), hashtab_hash(&a, "x", 1));
}

int main(void) {
        RUN(model);
        RUN(hash_keyed);
        return 0;
}
