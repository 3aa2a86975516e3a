/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hashtab.h — the one hash index of the project: maps a key's hash to the index of an
 * item that the caller stores elsewhere (the detector's entries, the grants record).
 * Open addressing with linear probing over a power-of-two number of slots, at least
 * twice the most items it will hold (load <= 1/2), and deletion by backward shift, so
 * there are no tombstones and lookups stay as short as the load allows. A slot holds
 * the item index + 1 (0: empty) and the key's 32-bit hash, so most probes never touch
 * an item. Hashes are SipHash-2-4 under a 128-bit key the owner draws at random:
 * whoever chooses the keys (spoofed addresses) cannot aim them at one probe run.
 *
 * The index never allocates: hashtab_slots_for() says how many slots to give it, and
 * the caller owns the memory (the detector keeps everything in one allocation).
 * Pure; no I/O.
 */
#pragma once

#include "macro.h"
#include "siphash.h"

typedef struct HashSlot {
        uint32_t item;        /* item index + 1; 0: empty */
        uint32_t hash;
} HashSlot;

typedef struct Hashtab {
        HashSlot *slots;
        uint32_t mask;        /* number of slots − 1 */
        uint8_t key[SIPHASH_KEY_SIZE];
} Hashtab;

#define HASHTAB_ITEMS_MAX (1U << 24)
#define HASHTAB_NONE UINT32_MAX

/* A fresh random SipHash key from getrandom() (which blocks only until the kernel's pool
 * is first initialised, early at boot). Returns 0 or -errno. */
int hashtab_random_key(uint8_t ret[static SIPHASH_KEY_SIZE]);

/* Slots for up to max_items items (1 … HASHTAB_ITEMS_MAX): a power of two >= 2 * max_items. */
size_t hashtab_slots_for(size_t max_items);

/* slots: n_slots = hashtab_slots_for(…) zeroed slots, owned by the caller. */
void hashtab_init(Hashtab *h, HashSlot *slots, size_t n_slots, const uint8_t key[static SIPHASH_KEY_SIZE]);

/* The 32-bit hash of a key under h's SipHash key. */
static inline uint32_t hashtab_hash(const Hashtab *h, const void *key, size_t len) {
        return (uint32_t) siphash24(key, len, h->key);
}

/*
 * The item with this hash for which is(item, userdata) is true, or HASHTAB_NONE. Inline, so
 * that a static is() at the call site is inlined into the probe loop.
 */
static inline uint32_t hashtab_find(const Hashtab *h, uint32_t hash,
                                    bool (*is)(uint32_t item, const void *userdata),
                                    const void *userdata) {
        for (uint32_t i = hash & h->mask;; i = (i + 1) & h->mask) {
                const HashSlot *s = &h->slots[i];

                if (s->item == 0)
                        return HASHTAB_NONE;
                if (s->hash == hash && is(s->item - 1, userdata))
                        return s->item - 1;
        }
}

/* Add item under hash. The caller keeps the load within what the slots were sized for. */
void hashtab_insert(Hashtab *h, uint32_t hash, uint32_t item);
/* Remove item (which must be there under hash). */
void hashtab_remove(Hashtab *h, uint32_t hash, uint32_t item);
/* The item stored under hash as from now sits at index to (the caller moved it). */
void hashtab_move(Hashtab *h, uint32_t hash, uint32_t from, uint32_t to);
