/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * detector-internal.h — what the detector's tests, fuzzer and benchmark may see beyond
 * detector.h: creation with a given hash key (so runs are reproducible), the memory the
 * table takes, and, in builds with DETECTOR_TESTING defined, a check of every internal
 * invariant. Not for the daemon.
 */
#pragma once

#include "detector.h"
#include "siphash.h"

/* detector_new() with the SipHash key given instead of drawn from getrandom(). */
int detector_new_with_key(size_t capacity, const uint8_t key[static SIPHASH_KEY_SIZE], Detector **ret);

typedef struct DetectorMemory {
        size_t entry_size;      /* bytes per pair in progress */
        size_t entries_bytes;   /* capacity × entry_size */
        size_t n_slots;         /* hash table slots (a power of two, >= 2 × capacity) */
        size_t table_bytes;     /* n_slots × slot size */
        size_t total_bytes;     /* the one allocation, all included */
} DetectorMemory;

void detector_get_memory(const Detector *d, DetectorMemory *ret);

#ifdef DETECTOR_TESTING
/* Walks the whole structure: LRU and free lists, every slot, every probe run, every key's
 * hash and lookup. Returns 0, or -EUCLEAN with what is wrong in msg. O(capacity). */
int detector_check_invariants(const Detector *d, char *msg, size_t size);
#endif
