/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fleet-msg.c — the fleet message, its topic and the replay cache (see fleet-msg.h).
 */
#include <errno.h>
#include <stdio.h>
#include <sys/random.h>

#include "errno-util.h"
#include "fleet-msg.h"
#include "hashtab.h"

static const uint8_t magic[3] = { 'K', 'W', 'F' };

const char *fleet_event_to_string(FleetEvent e) {
        switch (e) {
        case FLEET_EVENT_GRANT:
                return "grant";
        case FLEET_EVENT_REFRESH:
                return "refresh";
        case FLEET_EVENT_REVOKE:
                return "revoke";
        }
        return "?";
}

static const struct {
        int error;
        const char *name;
} rejects[_FLEET_REJECT_MAX] = {
        [FLEET_REJECT_MALFORMED] = { EINVAL, "malformed" },
        [FLEET_REJECT_VERSION] = { EPROTONOSUPPORT, "version" },
        [FLEET_REJECT_BAD_MAC] = { EBADMSG, "bad-mac" },
        [FLEET_REJECT_WRONG_TOPIC] = { EXDEV, "wrong-topic" },
        [FLEET_REJECT_NOT_TAKEN] = { ENOENT, "not-taken" },
        [FLEET_REJECT_PREFIX] = { EADDRNOTAVAIL, "prefix" },
        [FLEET_REJECT_EXPIRED] = { ETIME, "expired" },
        [FLEET_REJECT_TOO_FAR] = { ERANGE, "too-far" },
        [FLEET_REJECT_REPLAYED] = { EALREADY, "replayed" },
        [FLEET_REJECT_CACHE_FULL] = { ENOSPC, "cache-full" },
};

FleetReject fleet_reject_from_errno(int error) {
        for (size_t i = 0; i < ELEMENTSOF(rejects); i++)
                if (-error == rejects[i].error)
                        return (FleetReject) i;
        return FLEET_REJECT_OTHER;
}

const char *fleet_reject_to_string(FleetReject r) {
        return r < _FLEET_REJECT_MAX ? rejects[r].name : "other";
}

bool fleet_name_valid(const char *s, size_t n) {
        if (!s || n == 0 || n > FLEET_NAME_MAX || s[0] < 'a' || s[0] > 'z')
                return false;
        for (size_t i = 1; i < n; i++) {
                char c = s[i];

                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
                        return false;
        }
        return true;
}

static bool name_ok(const char *s) {
        return s && fleet_name_valid(s, strnlen(s, FLEET_NAME_MAX + 1));
}

int fleet_topic_format(const char *fleet, const char *door, char buf[static FLEET_TOPIC_MAX]) {
        if (!name_ok(fleet) || !name_ok(door))
                return -EINVAL;
        (void) snprintf(buf, FLEET_TOPIC_MAX, FLEET_TOPIC_PREFIX "%s/%s", fleet, door);
        return 0;
}

int fleet_topic_filter(const char *fleet, char buf[static FLEET_TOPIC_MAX]) {
        if (!name_ok(fleet))
                return -EINVAL;
        (void) snprintf(buf, FLEET_TOPIC_MAX, FLEET_TOPIC_PREFIX "%s/+", fleet);
        return 0;
}

int fleet_topic_parse(const char *topic, size_t n, char ret_fleet[static FLEET_NAME_MAX + 1],
                      char ret_door[static FLEET_NAME_MAX + 1]) {
        const size_t p = STRLEN(FLEET_TOPIC_PREFIX);
        const char *slash;
        size_t nf, nd;

        if (!topic || n <= p || n >= FLEET_TOPIC_MAX || memcmp(topic, FLEET_TOPIC_PREFIX, p) != 0)
                return -EINVAL;
        slash = memchr(topic + p, '/', n - p);
        if (!slash)
                return -EINVAL;
        nf = (size_t) (slash - (topic + p));
        nd = n - p - nf - 1;
        if (!fleet_name_valid(topic + p, nf) || !fleet_name_valid(slash + 1, nd))
                return -EINVAL;
        memcpy(ret_fleet, topic + p, nf);
        ret_fleet[nf] = 0;
        memcpy(ret_door, slash + 1, nd);
        ret_door[nd] = 0;
        return 0;
}

int fleet_msg_random_nonce(uint8_t ret[static FLEET_NONCE_SIZE]) {
        size_t got = 0;

        while (got < FLEET_NONCE_SIZE) {
                ssize_t n = getrandom(ret + got, FLEET_NONCE_SIZE - got, 0);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? negative_errno() : -EIO;
                got += (size_t) n;
        }
        return 0;
}

bool fleet_prefix_valid(const KnockAddr *addr, unsigned prefix_len) {
        size_t len, full;

        if (!addr || (addr->family != AF_INET && addr->family != AF_INET6))
                return false;
        len = knock_addr_len(addr);
        if (prefix_len < 1 || prefix_len > len * 8)
                return false;
        /* An IPv4 address's unused tail is zero (knock.h). */
        for (size_t i = len; i < sizeof(addr->bytes); i++)
                if (addr->bytes[i] != 0)
                        return false;
        full = prefix_len / 8;
        if (prefix_len % 8 != 0) {
                uint8_t host = (uint8_t) (0xffu >> (prefix_len % 8));

                if (addr->bytes[full] & host)
                        return false;
                full++;
        }
        for (size_t i = full; i < len; i++)
                if (addr->bytes[i] != 0)
                        return false;
        return true;
}

static void put_be64(uint8_t *p, uint64_t v) {
        for (int i = 7; i >= 0; i--) {
                p[i] = (uint8_t) v;
                v >>= 8;
        }
}

static uint64_t get_be64(const uint8_t *p) {
        uint64_t v = 0;

        for (int i = 0; i < 8; i++)
                v = v << 8 | p[i];
        return v;
}

int fleet_msg_encode(const FleetMsg *m, const void *key, size_t key_len,
                     uint8_t buf[static FLEET_MSG_MAX], size_t *ret_len) {
        size_t nf, nd, na, pos;
        int r;

        if (!m || !key || key_len == 0 || !ret_len)
                return -EINVAL;
        if (m->event < FLEET_EVENT_GRANT || m->event > FLEET_EVENT_REVOKE || m->expiry_ms == 0 ||
            !fleet_prefix_valid(&m->addr, m->prefix_len) || !name_ok(m->fleet) || !name_ok(m->door))
                return -EINVAL;
        nf = strlen(m->fleet);
        nd = strlen(m->door);
        na = knock_addr_len(&m->addr);

        memcpy(buf, magic, sizeof(magic));
        buf[3] = FLEET_MSG_VERSION;
        buf[4] = (uint8_t) m->event;
        buf[5] = m->addr.family == AF_INET ? 4 : 6;
        buf[6] = m->prefix_len;
        put_be64(buf + 7, m->expiry_ms);
        memcpy(buf + 15, m->nonce, FLEET_NONCE_SIZE);
        pos = FLEET_MSG_HEADER;
        buf[pos++] = (uint8_t) nf;
        memcpy(buf + pos, m->fleet, nf);
        pos += nf;
        buf[pos++] = (uint8_t) nd;
        memcpy(buf + pos, m->door, nd);
        pos += nd;
        memcpy(buf + pos, m->addr.bytes, na);
        pos += na;
        r = hmac_sha256(key, key_len, buf, pos, buf + pos);
        if (r < 0)
                return r;
        *ret_len = pos + HMAC_SHA256_SIZE;
        return 0;
}

/* A name field at *pos: its length byte, then that many valid name characters. */
static int take_name(const uint8_t *p, size_t len, size_t *pos, char ret[static FLEET_NAME_MAX + 1]) {
        size_t n;

        if (*pos >= len)
                return -EINVAL;
        n = p[*pos];
        if (n < 1 || n > FLEET_NAME_MAX || len - *pos - 1 < n)
                return -EINVAL;
        if (!fleet_name_valid((const char *) p + *pos + 1, n))
                return -EINVAL;
        memcpy(ret, p + *pos + 1, n);
        ret[n] = 0;
        *pos += 1 + n;
        return 0;
}

int fleet_msg_decode(const void *buf, size_t len, const void *key, size_t key_len, FleetMsg *ret) {
        const uint8_t *p = buf;
        FleetMsg m = {};
        size_t pos, na;
        int r;

        if (!buf || !key || key_len == 0 || !ret)
                return -EINVAL;
        if (len < 4 || memcmp(p, magic, sizeof(magic)) != 0)
                return -EINVAL;
        /* A later version may be laid out otherwise: nothing past its number is read. */
        if (p[3] != FLEET_MSG_VERSION)
                return -EPROTONOSUPPORT;
        if (len < FLEET_MSG_MIN || len > FLEET_MSG_MAX)
                return -EINVAL;
        if (p[4] < FLEET_EVENT_GRANT || p[4] > FLEET_EVENT_REVOKE)
                return -EINVAL;
        m.event = (FleetEvent) p[4];
        if (p[5] == 4)
                m.addr.family = AF_INET;
        else if (p[5] == 6)
                m.addr.family = AF_INET6;
        else
                return -EINVAL;
        m.prefix_len = p[6];
        m.expiry_ms = get_be64(p + 7);
        if (m.expiry_ms == 0)
                return -EINVAL;
        memcpy(m.nonce, p + 15, FLEET_NONCE_SIZE);

        pos = FLEET_MSG_HEADER;
        if (take_name(p, len, &pos, m.fleet) < 0 || take_name(p, len, &pos, m.door) < 0)
                return -EINVAL;
        na = knock_addr_len(&m.addr);
        /* Exactly the address and the MAC are left: not a byte more or less. */
        if (len - pos != na + HMAC_SHA256_SIZE)
                return -EINVAL;
        memcpy(m.addr.bytes, p + pos, na);
        if (!fleet_prefix_valid(&m.addr, m.prefix_len))
                return -EINVAL;
        pos += na;

        r = hmac_sha256_verify(key, key_len, p, pos, p + pos, HMAC_SHA256_SIZE);
        if (r < 0)
                return r;
        *ret = m;
        return 0;
}

int fleet_msg_accept(const FleetMsg *m, const FleetCheck *check, FleetReplay *replay,
                     uint64_t *ret_left_ms) {
        uint64_t now, left;
        int r;

        if (!m || !check || !check->fleet || !check->door || !replay || !ret_left_ms || check->max_ms == 0)
                return -EINVAL;
        if (!streq(m->fleet, check->fleet) || !streq(m->door, check->door))
                return -EXDEV;
        now = fleet_replay_clock(replay, check->now_ms);
        if (m->expiry_ms <= now)
                return -ETIME;
        left = m->expiry_ms - now;
        if (left > check->max_ms && left - check->max_ms > check->skew_ms)
                return -ERANGE;
        r = fleet_replay_add(replay, m->nonce, m->expiry_ms, now);
        if (r < 0)
                return r;
        *ret_left_ms = MIN(left, check->max_ms);
        return 0;
}

int fleet_msg_verify(const void *buf, size_t len, const void *key, size_t key_len,
                     const FleetCheck *check, FleetReplay *replay, FleetMsg *ret,
                     uint64_t *ret_left_ms) {
        FleetMsg m;
        int r;

        r = fleet_msg_decode(buf, len, key, key_len, &m);
        if (r < 0)
                return r;
        r = fleet_msg_accept(&m, check, replay, ret_left_ms);
        if (r < 0)
                return r;
        if (ret)
                *ret = m;
        return 0;
}

/* ---- the replay cache ---- */

typedef struct ReplayEntry {
        uint8_t nonce[FLEET_NONCE_SIZE];
        uint64_t expiry_ms;
        uint32_t hash;
} ReplayEntry;

struct FleetReplay {
        size_t capacity;
        size_t n;
        uint64_t now_ms;         /* the latest clock given */
        uint64_t full;
        ReplayEntry *heap;       /* a min-heap by expiry_ms; capacity entries */
        Hashtab index;           /* nonce -> heap position */
        HashSlot *slots;
};

/* Where an entry stands while a sift moves others into its place: never a real position. */
#define PARKED(r) ((uint32_t) (r)->capacity)

int fleet_replay_new(size_t capacity, FleetReplay **ret) {
        _cleanup_(fleet_replay_freep) FleetReplay *r = NULL;
        uint8_t key[SIPHASH_KEY_SIZE];
        size_t n_slots;
        int e;

        if (capacity < 1 || capacity > FLEET_REPLAY_MAX || !ret)
                return -EINVAL;
        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->capacity = capacity;
        n_slots = hashtab_slots_for(capacity);
        r->heap = calloc(capacity, sizeof(ReplayEntry));
        r->slots = calloc(n_slots, sizeof(HashSlot));
        if (!r->heap || !r->slots)
                return -ENOMEM;
        e = hashtab_random_key(key);
        if (e < 0)
                return e;
        hashtab_init(&r->index, r->slots, n_slots, key);
        *ret = TAKE_PTR(r);
        return 0;
}

FleetReplay *fleet_replay_free(FleetReplay *r) {
        if (!r)
                return NULL;
        free(r->heap);
        free(r->slots);
        free(r);
        return NULL;
}

typedef struct NonceKey {
        const FleetReplay *r;
        const uint8_t *nonce;
} NonceKey;

static bool entry_is(uint32_t item, const void *userdata) {
        const NonceKey *k = userdata;

        return memcmp(k->r->heap[item].nonce, k->nonce, FLEET_NONCE_SIZE) == 0;
}

static uint32_t replay_find(const FleetReplay *r, const uint8_t *nonce, uint32_t hash) {
        NonceKey k = { r, nonce };

        return hashtab_find(&r->index, hash, entry_is, &k);
}

/* Put e at heap position pos (which is free) and tell the index. */
static void heap_place(FleetReplay *r, size_t pos, const ReplayEntry *e, uint32_t from) {
        r->heap[pos] = *e;
        hashtab_move(&r->index, e->hash, from, (uint32_t) pos);
}

static void sift_up(FleetReplay *r, size_t pos) {
        ReplayEntry e = r->heap[pos];

        hashtab_move(&r->index, e.hash, (uint32_t) pos, PARKED(r));
        while (pos > 0) {
                size_t parent = (pos - 1) / 2;

                if (r->heap[parent].expiry_ms <= e.expiry_ms)
                        break;
                heap_place(r, pos, &r->heap[parent], (uint32_t) parent);
                pos = parent;
        }
        heap_place(r, pos, &e, PARKED(r));
}

static void sift_down(FleetReplay *r, size_t pos) {
        ReplayEntry e = r->heap[pos];

        hashtab_move(&r->index, e.hash, (uint32_t) pos, PARKED(r));
        for (;;) {
                size_t c = 2 * pos + 1;

                if (c >= r->n)
                        break;
                if (c + 1 < r->n && r->heap[c + 1].expiry_ms < r->heap[c].expiry_ms)
                        c++;
                if (e.expiry_ms <= r->heap[c].expiry_ms)
                        break;
                heap_place(r, pos, &r->heap[c], (uint32_t) c);
                pos = c;
        }
        heap_place(r, pos, &e, PARKED(r));
}

static void heap_pop(FleetReplay *r) {
        hashtab_remove(&r->index, r->heap[0].hash, 0);
        r->n--;
        if (r->n == 0)
                return;
        r->heap[0] = r->heap[r->n];
        hashtab_move(&r->index, r->heap[0].hash, (uint32_t) r->n, 0);
        sift_down(r, 0);
}

uint64_t fleet_replay_clock(FleetReplay *r, uint64_t now_ms) {
        r->now_ms = MAX(r->now_ms, now_ms);
        while (r->n > 0 && r->heap[0].expiry_ms <= r->now_ms)
                heap_pop(r);
        return r->now_ms;
}

int fleet_replay_add(FleetReplay *r, const uint8_t nonce[static FLEET_NONCE_SIZE], uint64_t expiry_ms,
                     uint64_t now_ms) {
        uint32_t hash;
        uint64_t now = fleet_replay_clock(r, now_ms);

        if (expiry_ms <= now)
                return -ETIME;
        hash = hashtab_hash(&r->index, nonce, FLEET_NONCE_SIZE);
        if (replay_find(r, nonce, hash) != HASHTAB_NONE)
                return -EALREADY;
        if (r->n >= r->capacity) {
                r->full++;
                return -ENOSPC;
        }
        r->heap[r->n] = (ReplayEntry) { .expiry_ms = expiry_ms, .hash = hash };
        memcpy(r->heap[r->n].nonce, nonce, FLEET_NONCE_SIZE);
        hashtab_insert(&r->index, hash, (uint32_t) r->n);
        r->n++;
        sift_up(r, r->n - 1);
        return 0;
}

bool fleet_replay_has(const FleetReplay *r, const uint8_t nonce[static FLEET_NONCE_SIZE]) {
        return replay_find(r, nonce, hashtab_hash(&r->index, nonce, FLEET_NONCE_SIZE)) != HASHTAB_NONE;
}

void fleet_replay_get_stats(const FleetReplay *r, FleetReplayStats *ret) {
        *ret = (FleetReplayStats) {
                .size = r->n,
                .capacity = r->capacity,
                .full = r->full,
                .next_expiry_ms = r->n > 0 ? r->heap[0].expiry_ms : 0,
        };
}
