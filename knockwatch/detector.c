/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * detector.c — per-source recognition of knock sequences (see detector.h for the rules
 * a knock follows; docs/ARCHITECTURE.md, "The detector", for why it is built this way
 * and what a flood of spoofed sources can and cannot do to it).
 *
 * Sequences: each door gives its opening and, if any, its closing sequence, each with a
 * 32-bit id; detector_set_doors() keeps the id of a sequence that is unchanged across a
 * reload (same door, kind, steps and window), so its progress survives.
 *
 * Progress: an Entry per (sequence id, family, address) in progress — the next expected
 * step and the event time of the first knock. Entries live in one allocation made by
 * detector_new() (the Detector, `capacity` entries, and the hash index's slots) and are
 * found through hashtab.h; those in use form an LRU list by 32-bit index (most recent
 * at the head), the others a free list. A new pair when all are in use evicts the least
 * recently used. detector_feed() allocates nothing.
 *
 * Time: a knock's time is taken as now when it is 0 (unknown) or later than now; a knock
 * earlier than the start of its progress counts as 0 µs after it.
 */
#include "detector-internal.h"
#include "errno-util.h"
#include "hashtab.h"
#include "string-util.h"
#include "time-util.h"

#define NIL UINT32_MAX

typedef struct Sequence {
        uint32_t id;
        unsigned door;                   /* index into the doors of detector_set_doors() */
        DetectorVerdict verdict;
        char name[DOOR_NAME_MAX + 1];    /* the door's, to match on reload */
        KnockStep steps[DOOR_STEPS_MAX];
        unsigned n_steps;
        usec_t window;
} Sequence;

typedef struct StepRef {
        uint32_t step;        /* step_key() */
        uint32_t seq;         /* index into sequences */
} StepRef;

static uint32_t step_key(const KnockStep *s) {
        return (uint32_t) s->proto << 16 | s->value;
}

typedef struct Entry {
        usec_t start;         /* event time of the first knock */
        uint32_t seq;         /* sequence id */
        uint32_t hash;        /* low 32 bits of the key's SipHash */
        uint32_t prev, next;  /* LRU list (in use) or free list (next only) */
        uint8_t addr[16];     /* IPv4: 4 bytes, then zeros */
        uint8_t family;
        uint8_t index;        /* next expected step, 1 … n_steps − 1 */
} Entry;

struct Detector {

        Sequence *sequences;
        size_t n_sequences;
        /* Which sequences have which step: (step, sequence) sorted, each pair once, so that
         * a knock looks only at the sequences it may advance, however many there are. */
        StepRef *by_step;
        size_t n_by_step;
        uint32_t next_id;

        Entry *entries;
        uint32_t capacity;
        uint32_t count;
        uint32_t lru_head, lru_tail;   /* most and least recently used */
        uint32_t free_head;

        Hashtab index;                 /* (id, family, address) → entry */

        size_t allocated;
        DetectorStats stats;
};

/* The key as hashed: id (little-endian), family, 16 address bytes. */
#define KEY_BYTES (4 + 1 + 16)

static uint32_t key_hash(const Detector *d, uint32_t seq, uint8_t family, const uint8_t addr[16]) {
        uint8_t k[KEY_BYTES] = {
                (uint8_t) seq, (uint8_t) (seq >> 8), (uint8_t) (seq >> 16), (uint8_t) (seq >> 24),
                family,
        };

        memcpy(k + 5, addr, 16);
        return hashtab_hash(&d->index, k, sizeof(k));
}

static bool entry_is(const Entry *e, uint32_t seq, uint8_t family, const uint8_t addr[16]) {
        return e->seq == seq && e->family == family && memcmp(e->addr, addr, 16) == 0;
}

typedef struct EntryKey {
        const Entry *entries;
        uint32_t seq;
        uint8_t family;
        const uint8_t *addr;
} EntryKey;

static bool entry_has_key(uint32_t idx, const void *userdata) {
        const EntryKey *k = userdata;

        return entry_is(&k->entries[idx], k->seq, k->family, k->addr);
}

/* The entry with this key, or NIL. */
static uint32_t table_find(const Detector *d, uint32_t seq, uint8_t family, const uint8_t addr[16],
                           uint32_t hash) {
        EntryKey k = { .entries = d->entries, .seq = seq, .family = family, .addr = addr };

        return hashtab_find(&d->index, hash, entry_has_key, &k); /* HASHTAB_NONE is NIL */
}

/* ---- LRU list ---- */

static void lru_unlink(Detector *d, uint32_t idx) {
        Entry *e = &d->entries[idx];

        if (e->prev != NIL)
                d->entries[e->prev].next = e->next;
        else
                d->lru_head = e->next;
        if (e->next != NIL)
                d->entries[e->next].prev = e->prev;
        else
                d->lru_tail = e->prev;
}

static void lru_push_head(Detector *d, uint32_t idx) {
        Entry *e = &d->entries[idx];

        e->prev = NIL;
        e->next = d->lru_head;
        if (d->lru_head != NIL)
                d->entries[d->lru_head].prev = idx;
        else
                d->lru_tail = idx;
        d->lru_head = idx;
}

static void touch(Detector *d, uint32_t idx) {
        if (d->lru_head == idx)
                return;
        lru_unlink(d, idx);
        lru_push_head(d, idx);
}

/* ---- entries ---- */

static void entry_remove(Detector *d, uint32_t idx) {
        hashtab_remove(&d->index, d->entries[idx].hash, idx);
        lru_unlink(d, idx);
        d->entries[idx].next = d->free_head;
        d->free_head = idx;
        d->count--;
}

static void entry_add(Detector *d, uint32_t seq, uint8_t family, const uint8_t addr[16],
                      uint32_t hash, usec_t start) {
        uint32_t idx;
        Entry *e;

        if (d->free_head == NIL) {
                entry_remove(d, d->lru_tail);
                d->stats.evictions++;
        }
        idx = d->free_head;
        e = &d->entries[idx];
        d->free_head = e->next;

        *e = (Entry) { .start = start, .seq = seq, .hash = hash, .family = family, .index = 1 };
        memcpy(e->addr, addr, 16);
        hashtab_insert(&d->index, hash, idx);
        lru_push_head(d, idx);
        d->count++;
}

/* ---- creation ---- */

static void free_list_init(Detector *d) {
        for (uint32_t i = 0; i < d->capacity; i++)
                d->entries[i].next = i + 1 < d->capacity ? i + 1 : NIL;
        d->free_head = 0;
        d->lru_head = d->lru_tail = NIL;
}

int detector_new_with_key(size_t capacity, const uint8_t key[static SIPHASH_KEY_SIZE], Detector **ret) {
        size_t n_slots, off_entries, off_slots, total;
        Detector *d;

        if (capacity < 1 || capacity > DETECTOR_CAPACITY_MAX)
                return -EINVAL;
        n_slots = hashtab_slots_for(capacity);

        off_entries = (sizeof(Detector) + _Alignof(Entry) - 1) / _Alignof(Entry) * _Alignof(Entry);
        off_slots = off_entries + capacity * sizeof(Entry);
        total = off_slots + n_slots * sizeof(HashSlot);

        d = calloc(1, total);
        if (!d)
                return -ENOMEM;
        d->entries = (Entry *) ((uint8_t *) d + off_entries);
        hashtab_init(&d->index, (HashSlot *) ((uint8_t *) d + off_slots), n_slots, key);
        d->capacity = (uint32_t) capacity;
        d->next_id = 1;
        d->allocated = total;
        free_list_init(d);
        *ret = d;
        return 0;
}

int detector_new(size_t capacity, Detector **ret) {
        uint8_t key[SIPHASH_KEY_SIZE];
        int r;

        if (capacity < 1 || capacity > DETECTOR_CAPACITY_MAX)
                return -EINVAL;
        r = hashtab_random_key(key);
        if (r < 0)
                return r;
        return detector_new_with_key(capacity, key, ret);
}

Detector *detector_free(Detector *d) {
        if (!d)
                return NULL;
        free(d->sequences);
        free(d->by_step);
        free(d);
        return NULL;
}

/* ---- doors ---- */

static bool sequence_same(const Sequence *a, const Sequence *b) {
        if (a->verdict != b->verdict || a->n_steps != b->n_steps || a->window != b->window ||
            !streq(a->name, b->name))
                return false;
        for (unsigned i = 0; i < a->n_steps; i++)
                if (!knock_step_equal(&a->steps[i], &b->steps[i]))
                        return false;
        return true;
}

/* What sequence_same() compares, hashed: old and new sequences are matched through it. */
static uint64_t sequence_fingerprint(const Detector *d, const Sequence *s) {
        uint8_t buf[DOOR_NAME_MAX + 1 + 1 + 8 + DOOR_STEPS_MAX * 3], *p = buf;
        size_t n = strnlen(s->name, DOOR_NAME_MAX);

        memcpy(p, s->name, n);
        p += n;
        *p++ = 0;
        *p++ = (uint8_t) s->verdict;
        memcpy(p, &s->window, sizeof(s->window));
        p += sizeof(s->window);
        for (unsigned i = 0; i < s->n_steps; i++) {
                *p++ = s->steps[i].proto;
                *p++ = (uint8_t) (s->steps[i].value >> 8);
                *p++ = (uint8_t) s->steps[i].value;
        }
        return siphash24(buf, (size_t) (p - buf), d->index.key);
}

static void sequence_init(Sequence *s, unsigned door, const Door *doors, DetectorVerdict verdict) {
        const DoorSpec *spec = &doors[door].spec;

        *s = (Sequence) {
                .door = door,
                .verdict = verdict,
                .n_steps = verdict == DETECTOR_OPEN ? spec->n_open : spec->n_close,
                .window = spec->window,
        };
        memcpy(s->name, spec->name, sizeof(s->name));
        s->name[DOOR_NAME_MAX] = 0;
        memcpy(s->steps, verdict == DETECTOR_OPEN ? spec->open : spec->close,
               s->n_steps * sizeof(KnockStep));
}

static int compare_u32(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

        return x < y ? -1 : x > y;
}

typedef struct Fingerprint {
        uint64_t hash;
        size_t index;
} Fingerprint;

static int compare_fingerprints(const void *a, const void *b) {
        const Fingerprint *x = a, *y = b;

        if (x->hash != y->hash)
                return x->hash < y->hash ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

static int compare_step_refs(const void *a, const void *b) {
        const StepRef *x = a, *y = b;

        if (x->step != y->step)
                return x->step < y->step ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The step index of sequences[0…n). */
static int step_index_build(const Sequence *seqs, size_t n, StepRef **ret, size_t *ret_n) {
        _cleanup_free_ StepRef *refs = NULL;
        size_t k = 0, m = 0;

        if (n == 0) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        refs = reallocarray(NULL, n * DOOR_STEPS_MAX, sizeof(StepRef));
        if (!refs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                for (unsigned j = 0; j < seqs[i].n_steps; j++)
                        refs[k++] = (StepRef) { step_key(&seqs[i].steps[j]), (uint32_t) i };
        qsort(refs, k, sizeof(StepRef), compare_step_refs);
        for (size_t i = 0; i < k; i++)
                if (m == 0 || refs[i].step != refs[m - 1].step || refs[i].seq != refs[m - 1].seq)
                        refs[m++] = refs[i];
        *ret = TAKE_PTR(refs);
        *ret_n = m;
        return 0;
}

int detector_set_doors(Detector *d, const Door *doors, size_t n_doors) {
        _cleanup_free_ Sequence *seqs = NULL;
        _cleanup_free_ uint32_t *kept = NULL;
        _cleanup_free_ bool *claimed = NULL;
        _cleanup_free_ Fingerprint *old = NULL;
        _cleanup_free_ StepRef *by_step = NULL;
        size_t n = 0, n_kept = 0, n_by_step = 0;
        bool restart_ids;
        int r;

        if (n_doors > DETECTOR_DOORS_MAX)
                return -E2BIG;
        for (size_t i = 0; i < n_doors; i++)
                if (doors[i].spec.n_open > DOOR_STEPS_MAX || doors[i].spec.n_close > DOOR_STEPS_MAX)
                        return -E2BIG;

        if (n_doors > 0) {
                seqs = calloc(2 * n_doors, sizeof(Sequence));
                kept = calloc(2 * n_doors, sizeof(uint32_t));
                claimed = calloc(d->n_sequences + 1, sizeof(bool));
                old = calloc(d->n_sequences + 1, sizeof(Fingerprint));
                if (!seqs || !kept || !claimed || !old)
                        return -ENOMEM;
        }

        /* A door that only names a set has no steps of its own: nothing to recognise. */
        for (size_t i = 0; i < n_doors; i++) {
                if (!doors[i].spec.has_sequence)
                        continue;
                if (doors[i].spec.n_open > 0)
                        sequence_init(&seqs[n++], (unsigned) i, doors, DETECTOR_OPEN);
                if (doors[i].spec.n_close > 0)
                        sequence_init(&seqs[n++], (unsigned) i, doors, DETECTOR_CLOSE);
        }
        r = step_index_build(seqs, n, &by_step, &n_by_step);
        if (r < 0)
                return r;

        /* Carry ids over: each new sequence takes the id of an unclaimed old one that is the
         * same, found by fingerprint (n log n, for the many windows of rotating doors). */
        restart_ids = d->next_id > UINT32_MAX - 2 * DETECTOR_DOORS_MAX;
        for (size_t j = 0; n > 0 && j < d->n_sequences; j++)
                old[j] = (Fingerprint) { sequence_fingerprint(d, &d->sequences[j]), j };
        if (n > 0)
                qsort(old, d->n_sequences, sizeof(Fingerprint), compare_fingerprints);
        for (size_t i = 0; i < n; i++) {
                Fingerprint key = { sequence_fingerprint(d, &seqs[i]), 0 };
                size_t lo = 0, hi = restart_ids ? 0 : d->n_sequences, j = SIZE_MAX;

                /* The first old fingerprint >= key, then along the equal ones. */
                while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;

                        if (compare_fingerprints(&old[mid], &key) < 0)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                for (; !restart_ids && lo < d->n_sequences && old[lo].hash == key.hash; lo++)
                        if (!claimed[old[lo].index] && sequence_same(&d->sequences[old[lo].index], &seqs[i])) {
                                j = old[lo].index;
                                break;
                        }
                if (j != SIZE_MAX) {
                        claimed[j] = true;
                        seqs[i].id = d->sequences[j].id;
                        kept[n_kept++] = seqs[i].id;
                } else
                        seqs[i].id = restart_ids ? (uint32_t) i + 1 : d->next_id++;
        }
        if (restart_ids)
                d->next_id = (uint32_t) n + 1;

        /* Drop the progress of every sequence that was not carried over. */
        if (n_kept > 0)
                qsort(kept, n_kept, sizeof(uint32_t), compare_u32);
        for (uint32_t idx = d->lru_head, next; idx != NIL; idx = next) {
                next = d->entries[idx].next;
                if (n_kept == 0 || !bsearch(&d->entries[idx].seq, kept, n_kept, sizeof(uint32_t),
                                            compare_u32))
                        entry_remove(d, idx);
        }

        free(d->sequences);
        d->sequences = TAKE_PTR(seqs);
        d->n_sequences = n;
        free(d->by_step);
        d->by_step = TAKE_PTR(by_step);
        d->n_by_step = n_by_step;
        return 0;
}

/* ---- knocks ---- */

static usec_t elapsed(usec_t from, usec_t to) {
        return to > from ? to - from : 0;
}

/*
 * Apply one knock at time t to one sequence that has its step. True if it completed.
 *   - no progress: the first step creates it (a one-step sequence completes at once,
 *     without being stored); any other step does nothing;
 *   - progress whose first knock is more than the window before t is dead: the first
 *     step restarts it, any other step removes it;
 *   - the expected step: the next index; after the last one the sequence completes and
 *     the progress is removed;
 *   - a step matched already, again: ignored, start kept — a retransmitted SYN (TCP
 *     sends one a second later while the socket waits, so A B A C is A B C);
 *   - any other step of the sequence: the first step restarts, anything else removes.
 * A pair is touched (moved to the head of the LRU list) when it is created, advanced,
 * restarted or sees a step it matched repeated.
 */
static bool advance(Detector *d, const Sequence *s, const KnockAddr *src, const KnockStep *step, usec_t t,
                    usec_t *ret_start) {
        bool is_first = knock_step_equal(step, &s->steps[0]);
        uint32_t hash, idx;
        Entry *e;

        hash = key_hash(d, s->id, src->family, src->bytes);
        idx = table_find(d, s->id, src->family, src->bytes, hash);
        if (idx == NIL) {
                if (!is_first)
                        return false;
                if (s->n_steps == 1) {
                        *ret_start = t;
                        return true;
                }
                entry_add(d, s->id, src->family, src->bytes, hash, t);
                return false;
        }
        e = &d->entries[idx];

        if (elapsed(e->start, t) <= s->window) {
                if (knock_step_equal(step, &s->steps[e->index])) {
                        if (e->index + 1U == s->n_steps) {
                                *ret_start = e->start;
                                entry_remove(d, idx);
                                return true;
                        }
                        e->index++;
                        touch(d, idx);
                        return false;
                }
                for (unsigned i = 0; i < e->index; i++)
                        if (knock_step_equal(step, &s->steps[i])) {
                                touch(d, idx);
                                return false;
                        }
        }
        /* A wrong step, or a run that outlived its window: start again or forget. */
        if (!is_first) {
                entry_remove(d, idx);
                return false;
        }
        e->index = 1;
        e->start = t;
        touch(d, idx);
        return false;
}

size_t detector_feed(Detector *d, const KnockEvent *e, usec_t now,
                     DetectorAction *ret_actions, size_t max) {
        KnockAddr src = { .family = e->src.family };
        usec_t t = e->time == 0 || e->time > now ? now : e->time;
        uint32_t key = step_key(&e->step);
        size_t n = 0, lo = 0, hi = d->n_by_step;

        d->stats.knocks++;
        if (src.family != AF_INET && src.family != AF_INET6)
                return 0;
        /* Only the address's own bytes count: an IPv4 source's tail is zero whatever came in. */
        memcpy(src.bytes, e->src.bytes, knock_addr_len(&src));

        /* The sequences that have this step, in sequence order (door order, open before
         * close): the first index entry with it, then along. */
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (d->by_step[mid].step < key)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        for (; lo < d->n_by_step && d->by_step[lo].step == key; lo++) {
                const Sequence *s = &d->sequences[d->by_step[lo].seq];
                usec_t start;

                if (!advance(d, s, &src, &e->step, t, &start))
                        continue;
                d->stats.completed++;
                if (n < max)
                        ret_actions[n++] = (DetectorAction) {
                                .door = s->door,
                                .verdict = s->verdict,
                                .src = src,
                                .start = start,
                        };
        }
        return n;
}

void detector_get_stats(const Detector *d, DetectorStats *ret) {
        *ret = d->stats;
        ret->in_progress = d->count;
        ret->capacity = d->capacity;
}

void detector_get_memory(const Detector *d, DetectorMemory *ret) {
        *ret = (DetectorMemory) {
                .entry_size = sizeof(Entry),
                .entries_bytes = (size_t) d->capacity * sizeof(Entry),
                .n_slots = (size_t) d->index.mask + 1,
                .table_bytes = ((size_t) d->index.mask + 1) * sizeof(HashSlot),
                .total_bytes = d->allocated,
        };
}

/* ---- invariants (tests and fuzzers only) ---- */

#ifdef DETECTOR_TESTING
#include <stdarg.h>
#include <stdio.h>

_printf_(3, 4)
static int broken(char *msg, size_t size, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(msg, size, format, ap);
        va_end(ap);
        return -EUCLEAN;
}

static const Sequence *sequence_by_id(const Detector *d, uint32_t id) {
        for (size_t i = 0; i < d->n_sequences; i++)
                if (d->sequences[i].id == id)
                        return &d->sequences[i];
        return NULL;
}

int detector_check_invariants(const Detector *d, char *msg, size_t size) {
        _cleanup_free_ uint8_t *state = calloc(d->capacity, 1); /* 1: in LRU, 2: free, |4: slotted */
        uint32_t n = 0, prev = NIL, used_slots = 0;

        if (!state)
                return -ENOMEM;
        if (d->count > d->capacity)
                return broken(msg, size, "count %u > capacity %u", d->count, d->capacity);

        for (uint32_t i = d->lru_head; i != NIL; prev = i, i = d->entries[i].next) {
                const Entry *e = &d->entries[i];
                const Sequence *s;

                if (i >= d->capacity || state[i] || ++n > d->count)
                        return broken(msg, size, "LRU list broken at entry %u", i);
                state[i] = 1;
                if (e->prev != prev)
                        return broken(msg, size, "entry %u: prev %u, expected %u", i, e->prev, prev);
                s = sequence_by_id(d, e->seq);
                if (!s)
                        return broken(msg, size, "entry %u: unknown sequence id %u", i, e->seq);
                if (e->index < 1 || e->index >= s->n_steps)
                        return broken(msg, size, "entry %u: index %u of %u steps", i, e->index, s->n_steps);
                if (e->family != AF_INET && e->family != AF_INET6)
                        return broken(msg, size, "entry %u: family %u", i, e->family);
                if (e->hash != key_hash(d, e->seq, e->family, e->addr))
                        return broken(msg, size, "entry %u: stale hash", i);
                if (table_find(d, e->seq, e->family, e->addr, e->hash) != i)
                        return broken(msg, size, "entry %u: lookup does not find it", i);
        }
        if (n != d->count || d->lru_tail != prev)
                return broken(msg, size, "LRU list has %u entries (count %u), tail %u (expected %u)",
                              n, d->count, d->lru_tail, prev);

        n = 0;
        for (uint32_t i = d->free_head; i != NIL; i = d->entries[i].next) {
                if (i >= d->capacity || state[i] || ++n > d->capacity - d->count)
                        return broken(msg, size, "free list broken at entry %u", i);
                state[i] = 2;
        }
        if (n != d->capacity - d->count)
                return broken(msg, size, "free list has %u entries, expected %u", n, d->capacity - d->count);

        for (uint32_t j = 0; j <= d->index.mask; j++) {
                const HashSlot *sl = &d->index.slots[j];
                uint32_t idx = sl->item - 1;

                if (sl->item == 0) {
                        if (sl->hash != 0)
                                return broken(msg, size, "empty slot %u has a hash", j);
                        continue;
                }
                used_slots++;
                if (idx >= d->capacity || (state[idx] & 3) != 1 || (state[idx] & 4))
                        return broken(msg, size, "slot %u: entry %u is not in use or slotted twice", j, idx);
                state[idx] |= 4;
                if (sl->hash != d->entries[idx].hash)
                        return broken(msg, size, "slot %u: hash differs from entry %u's", j, idx);
                /* No empty slot between the home slot and this one, else lookups stop short. */
                for (uint32_t k = sl->hash & d->index.mask; k != j; k = (k + 1) & d->index.mask)
                        if (d->index.slots[k].item == 0)
                                return broken(msg, size, "slot %u: empty slot %u inside its probe run",
                                              j, k);
        }
        if (used_slots != d->count)
                return broken(msg, size, "%u slots used, %u entries in use", used_slots, d->count);
        if (used_slots > d->index.mask / 2 + 1)
                return broken(msg, size, "load above 1/2: %u of %u slots", used_slots, d->index.mask + 1);
        return 0;
}
#endif
