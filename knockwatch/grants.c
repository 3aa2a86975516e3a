/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * grants.c — see grants.h. A dense array of grants plus a hash index (hashtab.h) of
 * their positions; removal swaps the last grant into the hole and repoints its slot.
 */
#include <errno.h>

#include "grants.h"
#include "hashtab.h"
#include "string-util.h"
#include "time-util.h"

struct Grants {
        Grant *items;
        size_t n, max;
        Hashtab index;       /* (door, family, address) → position in items */
        HashSlot *slots;
};

/* SipHash of (door, family, address) under the record's random key, as the detector
 * does: a knocker who completes sequences from chosen addresses still cannot aim them
 * at one probe run. */
static uint32_t grant_hash(const Grants *g, const char *door, const KnockAddr *addr) {
        uint8_t buf[DOOR_NAME_MAX + 1 + 1 + 16];
        size_t n = strnlen(door, DOOR_NAME_MAX);

        memcpy(buf, door, n);
        buf[n++] = 0;
        buf[n++] = addr->family;
        memcpy(buf + n, addr->bytes, knock_addr_len(addr));
        return hashtab_hash(&g->index, buf, n + knock_addr_len(addr));
}

typedef struct GrantKey {
        const Grant *items;
        const char *door;
        const KnockAddr *addr;
} GrantKey;

static bool grant_has_key(uint32_t pos, const void *userdata) {
        const GrantKey *k = userdata;
        const Grant *item = &k->items[pos];

        return knock_addr_equal(&item->addr, k->addr) && streq(item->door, k->door);
}

/* The position of the grant, or HASHTAB_NONE. */
static uint32_t find(const Grants *g, const char *door, const KnockAddr *addr, uint32_t hash) {
        GrantKey k = { .items = g->items, .door = door, .addr = addr };

        return hashtab_find(&g->index, hash, grant_has_key, &k);
}

int grants_new(size_t max, Grants **ret) {
        _cleanup_(grants_freep) Grants *g = NULL;
        uint8_t key[SIPHASH_KEY_SIZE];
        size_t n_slots;
        int r;

        if (max == 0 || max > MIN(GRANTS_MAX, HASHTAB_ITEMS_MAX))
                return -EINVAL;
        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->max = max;
        n_slots = hashtab_slots_for(max);
        g->items = calloc(max, sizeof(Grant));
        g->slots = calloc(n_slots, sizeof(HashSlot));
        if (!g->items || !g->slots)
                return -ENOMEM;
        r = hashtab_random_key(key);
        if (r < 0)
                return r;
        hashtab_init(&g->index, g->slots, n_slots, key);
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

int grants_put(Grants *g, const char *door, const KnockAddr *addr, usec_t expires,
               uint64_t timeout_ms, GrantSetId set) {
        uint32_t hash, pos;
        Grant *item;

        if (strlen(door) > DOOR_NAME_MAX)
                return -EINVAL;
        hash = grant_hash(g, door, addr);
        pos = find(g, door, addr, hash);
        if (pos != HASHTAB_NONE) {
                item = &g->items[pos];
                item->expires = expires;
                item->timeout_ms = timeout_ms;
                item->set = set;
                return 0;
        }
        if (g->n >= g->max)
                return -ENOSPC;
        item = &g->items[g->n];
        *item = (Grant) {
                .addr = *addr,
                .expires = expires,
                .timeout_ms = timeout_ms,
                .set = set,
        };
        strcpy(item->door, door);
        hashtab_insert(&g->index, hash, (uint32_t) g->n++);
        return 1;
}

const Grant *grants_get(const Grants *g, const char *door, const KnockAddr *addr) {
        uint32_t pos = find(g, door, addr, grant_hash(g, door, addr));

        return pos == HASHTAB_NONE ? NULL : &g->items[pos];
}

int grants_set_published(Grants *g, const char *door, const KnockAddr *addr, usec_t until) {
        uint32_t pos = find(g, door, addr, grant_hash(g, door, addr));

        if (pos == HASHTAB_NONE)
                return 0;
        g->items[pos].published = until;
        return 1;
}

/* Remove the grant at pos: the last grant moves into its place. */
static void remove_at(Grants *g, uint32_t pos) {
        uint32_t last = (uint32_t) (g->n - 1);

        hashtab_remove(&g->index, grant_hash(g, g->items[pos].door, &g->items[pos].addr), pos);
        if (pos != last) {
                hashtab_move(&g->index, grant_hash(g, g->items[last].door, &g->items[last].addr),
                             last, pos);
                g->items[pos] = g->items[last];
        }
        g->n--;
}

int grants_remove(Grants *g, const char *door, const KnockAddr *addr, Grant *ret_old) {
        uint32_t pos = find(g, door, addr, grant_hash(g, door, addr));

        if (pos == HASHTAB_NONE)
                return 0;
        if (ret_old)
                *ret_old = g->items[pos];
        remove_at(g, pos);
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
                remove_at(g, (uint32_t) pos);
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
                      uint64_t left_ms, GrantSetId set, usec_t now) {
        uint32_t pos;

        (void) grants_put(s->seen, door, addr, 0, 0, (GrantSetId) {});
        pos = find(g, door, addr, grant_hash(g, door, addr));
        if (pos != HASHTAB_NONE)
                g->items[pos].set = set;
        else if (left_ms > 0 &&
                 grants_put(g, door, addr, now + left_ms * USEC_PER_MSEC, left_ms, set) > 0)
                s->adopted++;
}

void grants_sync_finish(GrantsSync *s, Grants *g, usec_t now,
                        GrantSetState (*state)(const Grant *grant, void *userdata),
                        void (*restore)(const Grant *grant, uint64_t left_ms, void *userdata),
                        void *userdata, GrantsSyncResult *ret) {
        GrantsSyncResult result = { .adopted = s->adopted };

        for (size_t i = 0; i < g->n;) {
                const Grant *grant = &g->items[i];
                GrantSetState st = state(grant, userdata);

                if (st == GRANT_SET_GONE ||
                    (st == GRANT_SET_SAME && !grants_get(s->seen, grant->door, &grant->addr) &&
                     grant->expires > now + GRANTS_EXPIRY_SLACK)) {
                        /* Removal moves the last grant into i: look at i again. */
                        if (st == GRANT_SET_GONE)
                                result.forgotten++;
                        else
                                result.dropped++;
                        remove_at(g, (uint32_t) i);
                        continue;
                }
                if (st == GRANT_SET_RENEWED && !grants_get(s->seen, grant->door, &grant->addr) &&
                    grant->expires > now + USEC_PER_MSEC) {
                        restore(grant, (grant->expires - now) / USEC_PER_MSEC, userdata);
                        result.restored++;
                }
                i++;
        }
        if (ret)
                *ret = result;
}
