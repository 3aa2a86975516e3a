/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * grants.h — the daemon's record of the grants it knows to be live: which source
 * holds which door until when. The kernel set is the authority on membership and
 * expires elements itself; this record exists because the kernel says nothing when
 * an element expires (the audit trail logs it from here) and forgets everything when
 * a ruleset reload flushes the table (the daemon puts live grants back from here).
 * Bounded: at most `max` grants, one allocation up front. No I/O (the hash key comes
 * from getrandom() when the record is made).
 */
#pragma once

#include "door.h"
#include "knock.h"
#include "time-util.h"

/* Which set a grant went into, as the kernel tells sets apart: a table created anew gets a
 * new handle, and the handles of its sets start again from 1. prefix is what the set's
 * grants covered then (door.h: 32, 128 or the set's "/N"), so that a set created anew
 * with another prefix is not given back elements of the old one. */
typedef struct GrantSetId {
        uint64_t table, set;
        unsigned prefix;
} GrantSetId;

static inline bool grant_set_id_equal(GrantSetId a, GrantSetId b) {
        return a.table == b.table && a.set == b.set && a.prefix == b.prefix;
}

typedef struct Grant {
        KnockAddr addr;
        char door[DOOR_NAME_MAX + 1];
        usec_t expires;          /* CLOCK_MONOTONIC */
        uint64_t timeout_ms;     /* as granted */
        GrantSetId set;          /* the set it went into */
        usec_t published;        /* CLOCK_MONOTONIC: the expiry last told the fleet; 0: none */
} Grant;

typedef struct Grants Grants;

#define GRANTS_MAX_DEFAULT 65536U
#define GRANTS_MAX (1U << 24)

int grants_new(size_t max, Grants **ret);
Grants *grants_free(Grants *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(Grants *, grants_free);

/* Record a grant, or update the one of that door and source. Returns 1 if it is new, 0 if
 * it replaced one, -ENOSPC when the record is full (nothing changed). */
int grants_put(Grants *g, const char *door, const KnockAddr *addr, usec_t expires,
               uint64_t timeout_ms, GrantSetId set);

/* Forget a grant; fills *ret_old (if not NULL) with what it was. Returns 1, or 0 if unknown. */
int grants_remove(Grants *g, const char *door, const KnockAddr *addr, Grant *ret_old);

const Grant *grants_get(const Grants *g, const char *door, const KnockAddr *addr);

/* Note that the fleet was told the grant lasts until `until` (kept across grants_put()).
 * Returns 1, or 0 if the grant is unknown. */
int grants_set_published(Grants *g, const char *door, const KnockAddr *addr, usec_t until);

/* Remove every grant with expires <= now, calling fn for each before it goes. Returns how
 * many. */
size_t grants_expire(Grants *g, usec_t now, void (*fn)(const Grant *grant, void *userdata),
                     void *userdata);

/* The earliest expiry, or USEC_INFINITY when there is no grant. O(n). */
usec_t grants_next_expiry(const Grants *g);

/* Dense iteration: grants_at(g, i) for i < grants_size(g); the order changes on removal. */
size_t grants_size(const Grants *g);
size_t grants_max(const Grants *g);
const Grant *grants_at(const Grants *g, size_t i);

/*
 * Bringing the record and the kernel's sets together (after a start, a ruleset reload, or
 * lost notifications): the caller lists every element of every door set and reports each
 * with grants_sync_seen(), then calls grants_sync_finish(). The kernel is the authority on
 * what a set holds; the record only knows what the kernel lost when the set itself was
 * created anew (a reload that flushed the table: see GrantSetId). Policy:
 *   - an element the record does not know (granted before the daemon started, by hand, or
 *     while notifications were lost) is recorded with the time the kernel says it has left,
 *     so its expiry is logged (adopted); an element without a timeout is left alone;
 *   - a grant whose door (or the door's set of its address family) is gone is forgotten;
 *   - a grant the kernel does not hold, in a set created anew: handed to restore() with
 *     the time it has left, to be put back (restored);
 *   - a grant the kernel does not hold, in the very set it went into: someone removed it
 *     (nft delete element, knockwatch revoke while notifications were lost), so it is
 *     forgotten (dropped) — unless it is about to expire anyway (within
 *     GRANTS_EXPIRY_SLACK), when the expiry is left to be logged as such.
 */
#define GRANTS_EXPIRY_SLACK USEC_PER_SEC

typedef enum GrantSetState {
        GRANT_SET_GONE,     /* no set of the grant's door and family any more */
        GRANT_SET_SAME,     /* the set the grant went into */
        GRANT_SET_RENEWED,  /* a set of that name created anew since */
} GrantSetState;

typedef struct GrantsSync GrantsSync;

typedef struct GrantsSyncResult {
        size_t adopted, restored, forgotten, dropped;
} GrantsSyncResult;

int grants_sync_new(const Grants *g, GrantsSync **ret);
GrantsSync *grants_sync_free(GrantsSync *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(GrantsSync *, grants_sync_free);

/* One element of door's set, with left_ms left (0: it has no timeout). A grant the record
 * knows takes the set's id. */
void grants_sync_seen(GrantsSync *s, Grants *g, const char *door, const KnockAddr *addr,
                      uint64_t left_ms, GrantSetId set, usec_t now);

void grants_sync_finish(GrantsSync *s, Grants *g, usec_t now,
                        GrantSetState (*state)(const Grant *grant, void *userdata),
                        void (*restore)(const Grant *grant, uint64_t left_ms, void *userdata),
                        void *userdata, GrantsSyncResult *ret);
