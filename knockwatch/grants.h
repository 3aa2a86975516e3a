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

typedef struct Grant {
        KnockAddr addr;
        char door[DOOR_NAME_MAX + 1];
        usec_t expires;          /* CLOCK_MONOTONIC */
        uint64_t timeout_ms;     /* as granted */
} Grant;

typedef struct Grants Grants;

int grants_new(size_t max, Grants **ret);
Grants *grants_free(Grants *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(Grants *, grants_free);

/* Record a grant, or update the one of that door and source. Returns 1 if it is new, 0 if
 * it replaced one, -ENOSPC when the record is full (nothing changed). */
int grants_put(Grants *g, const char *door, const KnockAddr *addr, usec_t expires,
               uint64_t timeout_ms);

/* Forget a grant; fills *ret_old (if not NULL) with what it was. Returns 1, or 0 if unknown. */
int grants_remove(Grants *g, const char *door, const KnockAddr *addr, Grant *ret_old);

const Grant *grants_get(const Grants *g, const char *door, const KnockAddr *addr);

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
