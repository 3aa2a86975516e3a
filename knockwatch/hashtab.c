/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hashtab.c — see hashtab.h.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "errno-util.h"
#include "hashtab.h"

int hashtab_random_key(uint8_t ret[static SIPHASH_KEY_SIZE]) {
        ssize_t n;

        do
                n = getrandom(ret, SIPHASH_KEY_SIZE, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        return n == SIPHASH_KEY_SIZE ? 0 : -EIO;
}

size_t hashtab_slots_for(size_t max_items) {
        size_t n = 2;

        while (n < 2 * max_items)
                n <<= 1;
        return n;
}

void hashtab_init(Hashtab *h, HashSlot *slots, size_t n_slots, const uint8_t key[static SIPHASH_KEY_SIZE]) {
        *h = (Hashtab) { .slots = slots, .mask = (uint32_t) (n_slots - 1) };
        memcpy(h->key, key, SIPHASH_KEY_SIZE);
}

void hashtab_insert(Hashtab *h, uint32_t hash, uint32_t item) {
        uint32_t i;

        for (i = hash & h->mask; h->slots[i].item != 0; i = (i + 1) & h->mask)
                ;
        h->slots[i] = (HashSlot) { .item = item + 1, .hash = hash };
}

static uint32_t slot_of(const Hashtab *h, uint32_t hash, uint32_t item) {
        uint32_t i = hash & h->mask;

        while (h->slots[i].item != item + 1)
                i = (i + 1) & h->mask;
        return i;
}

/* Empty the item's slot, then close the hole: each following slot of the run moves back
 * into it unless its home lies cyclically in (hole, j] — lookups from there would stop
 * at the hole. */
void hashtab_remove(Hashtab *h, uint32_t hash, uint32_t item) {
        uint32_t hole = slot_of(h, hash, item), j;

        for (j = (hole + 1) & h->mask; h->slots[j].item != 0; j = (j + 1) & h->mask) {
                uint32_t home = h->slots[j].hash & h->mask;

                if (((j - home) & h->mask) >= ((j - hole) & h->mask)) {
                        h->slots[hole] = h->slots[j];
                        hole = j;
                }
        }
        h->slots[hole] = (HashSlot) {};
}

void hashtab_move(Hashtab *h, uint32_t hash, uint32_t from, uint32_t to) {
        h->slots[slot_of(h, hash, from)].item = to + 1;
}
