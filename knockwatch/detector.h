/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * detector.h — per-source recognition of knock sequences. No I/O; time comes in.
 *
 * For every (sequence, source) pair in progress the detector keeps the index of the
 * next expected step and the time of the first knock. Each door contributes its
 * opening sequence and, if it has one, its closing sequence. Rules for a knock on a
 * step of a sequence (knocks on steps the sequence does not contain leave it alone):
 *   - the expected step: progress; the last one completes the sequence if the first
 *     knock was no longer than window ago, measured between the knocks' own times (the
 *     kernel's), however late they are read;
 *   - a step matched already, again: ignored (TCP retransmits a SYN after 1 s, so
 *     A B A C counts as A B C);
 *   - any other step of the sequence: the progress is reset (and the knock counts as a
 *     new start if it is the first step).
 * How old a knock may be when it is read is the sources' business: after a restart they
 * hand over no backlog older than the longest window (source.h).
 * Memory is one table allocated up front: at most `capacity` pairs in progress, the
 * least recently used evicted first. The table is keyed with a random SipHash key,
 * so spoofed sources cannot aim at one hash chain.
 */
#pragma once

#include "door.h"
#include "knock.h"
#include "time-util.h"

#define DETECTOR_CAPACITY_DEFAULT 65536U
#define DETECTOR_CAPACITY_MAX (1U << 24)
#define DETECTOR_DOORS_MAX 65536U

typedef struct Detector Detector;

typedef enum DetectorVerdict {
        DETECTOR_OPEN,   /* the opening sequence completed: grant */
        DETECTOR_CLOSE,  /* the closing sequence completed: revoke */
} DetectorVerdict;

typedef struct DetectorAction {
        unsigned door;   /* index into the doors given to detector_set_doors() */
        DetectorVerdict verdict;
        KnockAddr src;
        usec_t start;    /* the event time of the sequence's first knock */
} DetectorAction;

typedef struct DetectorStats {
        uint64_t knocks;      /* events fed */
        uint64_t completed;   /* sequences completed (open and close) */
        uint64_t evictions;   /* progress dropped because the table was full */
        size_t in_progress;   /* pairs in the table now */
        size_t capacity;
} DetectorStats;

/* capacity: 1 … DETECTOR_CAPACITY_MAX. Returns 0 or -EINVAL / -ENOMEM (or the -errno of
 * getrandom(), which draws the hash key). */
int detector_new(size_t capacity, Detector **ret);
Detector *detector_free(Detector *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Detector *, detector_free);

/* Replace the doors (the detector copies what it needs). A door gives its opening sequence
 * if it has steps (n_open > 0) and its closing sequence if it has one; a rotating door's
 * live windows come as doors of their own (the daemon makes them). Progress of a sequence
 * is kept when a door of the same name has the same sequence and window, and dropped
 * otherwise. Returns 0 or -ENOMEM / -E2BIG (more than DETECTOR_DOORS_MAX doors, or more
 * than DOOR_STEPS_MAX steps). */
int detector_set_doors(Detector *d, const Door *doors, size_t n_doors);

/* Feed one knock (e->time should be set; 0 is taken as now). Writes up to max actions and
 * returns how many it wrote (a knock may complete sequences of several doors; more than max is
 * not possible when max >= 2 * number of doors, else the rest are lost). */
size_t detector_feed(Detector *d, const KnockEvent *e, usec_t now,
                     DetectorAction *ret_actions, size_t max);

void detector_get_stats(const Detector *d, DetectorStats *ret);
