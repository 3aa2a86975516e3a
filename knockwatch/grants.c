/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * grants.c — see grants.h. A dense array of grants plus an open-addressing index of
 * array positions (linear probing, backward-shift deletion, load factor <= 1/2).
 * Removal swaps the last grant into the hole and fixes its index slot.
 */
#include <errno.h>
#include <sys/random.h>

#include "grants.h"
#include "siphash.h"
#include "string-util.h"
#include "time-util.h"

#define SLOT_EMPTY UINT32_MAX

struct Grants {
        Grant *items;
        size_t n, max;
        uint32_t *slots;     /* positions into items, or SLOT_EMPTY */
        size_t n_slots;      /* power of two, >= 2 * max */
        uint8_t key[SIPHASH_KEY_SIZE];
};

/* SipHash of (door, family, address) under the record's random key, as the detector
 * does: a knocker who completes sequences from chosen addresses still cannot aim them
 * at one probe run. */
static uint64_t grant_hash(const Grants *g, const char *door, const KnockAddr *addr) {
        uint8_t buf[DOOR_NAME_MAX + 1 + 1 + 16];
        size_t n = strnlen(door, DOOR_NAME_MAX);

        memcpy(buf, door, n);
        buf[n++] = 0;
        buf[n++] = addr->family;
        memcpy(buf + n, addr->bytes, knock_addr_len(addr));
        return siphash24(buf, n + knock_addr_len(addr), g->key);
}

static bool grant_matches(const Grant *g, const char *door, const KnockAddr *addr) {
        return knock_addr_equal(&g->addr, addr) && streq(g->door, door);
}

int grants_new(size_t max, Grants **ret) {
        _cleanup_(grants_freep) Grants *g = NULL;
        size_t n_slots = 2;

        if (max == 0 || max > (1U << 24))
                return -EINVAL;
        while (n_slots < 2 * max)
                n_slots <<= 1;
        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->max = max;
        g->n_slots = n_slots;
        g->items = calloc(max, sizeof(Grant));
        g->slots = malloc(n_slots * sizeof(uint32_t));
        if (!g->items || !g->slots)
                return -ENOMEM;
        memset(g->slots, 0xff, n_slots * sizeof(uint32_t));
        if (getrandom(g->key, sizeof(g->key), 0) != (ssize_t) sizeof(g->key))
                return errno > 0 ? -errno : -EIO;
        *ret = TAKE_PTR(g);
        return 0;
}

Grants *grants_free(Grants *g) {
        if (!g)
                return NULL;
        free(g->items);
        free(g->slots);
        free(g);
        return NULL;
}

/* The slot holding the grant, or the empty slot where it would go. */
static size_t find_slot(const Grants *g, const char *door, const KnockAddr *addr) {
        size_t mask = g->n_slots - 1, i = grant_hash(g, door, addr) & mask;

        while (g->slots[i] != SLOT_EMPTY && !grant_matches(&g->items[g->slots[i]], door, addr))
                i = (i + 1) & mask;
        return i;
}

int grants_put(Grants *g, const char *door, const KnockAddr *addr, usec_t expires,
               uint64_t timeout_ms) {
        size_t i = find_slot(g, door, addr);
        Grant *item;

        if (strlen(door) > DOOR_NAME_MAX)
                return -EINVAL;
        if (g->slots[i] != SLOT_EMPTY) {
                item = &g->items[g->slots[i]];
                item->expires = expires;
                item->timeout_ms = timeout_ms;
                return 0;
        }
        if (g->n >= g->max)
                return -ENOSPC;
        item = &g->items[g->n];
        *item = (Grant) { .addr = *addr, .expires = expires, .timeout_ms = timeout_ms };
        strcpy(item->door, door);
        g->slots[i] = (uint32_t) g->n++;
        return 1;
}

const Grant *grants_get(const Grants *g, const char *door, const KnockAddr *addr) {
        size_t i = find_slot(g, door, addr);

        return g->slots[i] == SLOT_EMPTY ? NULL : &g->items[g->slots[i]];
}

/* Empty slot i, then move later entries of its probe run back so lookups still find them. */
static void slot_delete(Grants *g, size_t i) {
        size_t mask = g->n_slots - 1, j = i;

        g->slots[i] = SLOT_EMPTY;
        for (;;) {
                const Grant *item;
                size_t home;

                j = (j + 1) & mask;
                if (g->slots[j] == SLOT_EMPTY)
                        return;
                item = &g->items[g->slots[j]];
                home = grant_hash(g, item->door, &item->addr) & mask;
                /* Entry j may move to the hole i unless its home lies cyclically in (i, j]. */
                if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
                        g->slots[i] = g->slots[j];
                        g->slots[j] = SLOT_EMPTY;
                        i = j;
                }
        }
}

static void remove_at_slot(Grants *g, size_t slot) {
        uint32_t pos = g->slots[slot], last = (uint32_t) (g->n - 1);

        slot_delete(g, slot);
        if (pos != last) {
                /* Move the last grant into the hole and point its slot at the new place. */
                size_t s = find_slot(g, g->items[last].door, &g->items[last].addr);

                g->items[pos] = g->items[last];
                g->slots[s] = pos;
        }
        g->n--;
}

int grants_remove(Grants *g, const char *door, const KnockAddr *addr, Grant *ret_old) {
        size_t i = find_slot(g, door, addr);

        if (g->slots[i] == SLOT_EMPTY)
                return 0;
        if (ret_old)
                *ret_old = g->items[g->slots[i]];
        remove_at_slot(g, i);
        return 1;
}

size_t grants_expire(Grants *g, usec_t now, void (*fn)(const Grant *grant, void *userdata),
                     void *userdata) {
        size_t removed = 0;

        for (size_t pos = 0; pos < g->n;) {
                Grant old = g->items[pos];

                if (old.expires > now) {
                        pos++;
                        continue;
                }
                /* Removal moves the last grant into pos: look at pos again. */
                remove_at_slot(g, find_slot(g, old.door, &old.addr));
                if (fn)
                        fn(&old, userdata);
                removed++;
        }
        return removed;
}

usec_t grants_next_expiry(const Grants *g) {
        usec_t next = USEC_INFINITY;

        for (size_t i = 0; i < g->n; i++)
                next = MIN(next, g->items[i].expires);
        return next;
}

size_t grants_size(const Grants *g) {
        return g->n;
}

size_t grants_max(const Grants *g) {
        return g->max;
}

const Grant *grants_at(const Grants *g, size_t i) {
        return i < g->n ? &g->items[i] : NULL;
}

struct GrantsSync {
        Grants *seen;   /* what the kernel holds; expiry and timeout unused */
        size_t adopted;
};

int grants_sync_new(const Grants *g, GrantsSync **ret) {
        _cleanup_(grants_sync_freep) GrantsSync *s = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        r = grants_new(g->max, &s->seen);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

GrantsSync *grants_sync_free(GrantsSync *s) {
        if (!s)
                return NULL;
        grants_free(s->seen);
        free(s);
        return NULL;
}

void grants_sync_seen(GrantsSync *s, Grants *g, const char *door, const KnockAddr *addr,
                      uint64_t left_ms, usec_t now) {
        (void) grants_put(s->seen, door, addr, 0, 0);
        if (left_ms > 0 && !grants_get(g, door, addr) &&
            grants_put(g, door, addr, now + left_ms * USEC_PER_MSEC, left_ms) > 0)
                s->adopted++;
}

void grants_sync_finish(GrantsSync *s, Grants *g, GrantsSyncMode mode, usec_t now,
                        bool (*has_set)(const Grant *grant, void *userdata),
                        void (*restore)(const Grant *grant, uint64_t left_ms, void *userdata),
                        void *userdata, GrantsSyncResult *ret) {
        GrantsSyncResult result = { .adopted = s->adopted };

        for (size_t i = 0; i < g->n;) {
                const Grant *grant = &g->items[i];

                if (!has_set(grant, userdata)) {
                        /* Removal moves the last grant into i: look at i again. */
                        remove_at_slot(g, find_slot(g, grant->door, &grant->addr));
                        result.forgotten++;
                        continue;
                }
                if (mode == GRANTS_SYNC_RESTORE && !grants_get(s->seen, grant->door, &grant->addr) &&
                    grant->expires > now + USEC_PER_MSEC) {
                        restore(grant, (grant->expires - now) / USEC_PER_MSEC, userdata);
                        result.restored++;
                }
                i++;
        }
        if (ret)
                *ret = result;
}
