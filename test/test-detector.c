/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-detector.c — the detector's rules (detector.h, detector.c's header): order, window,
 * repeats, resets, several doors and sources, address families, closing sequences, knocks
 * read late, LRU eviction and its flood guarantee, reloads that keep or drop progress, and
 * the stats. Built with DETECTOR_TESTING: every knock is followed by a full check of the
 * table's invariants (probe runs after backward-shift deletion, LRU and free lists).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "detector-internal.h"
#include "door.h"
#include "tests.h"
#include "time-util.h"

#define S USEC_PER_SEC
#define MS USEC_PER_MSEC
#define T0 (1000 * S)

static const uint8_t test_key[SIPHASH_KEY_SIZE] = "knockwatch-test";

static Door door(const char *comment) {
        DoorSyntaxError error = {};
        Door d = {};

        if (door_comment_parse(comment, &d.spec, &error) != 1) {
                fprintf(stderr, "\"%s\": column %u: %s\n", comment, error.column, error.message);
                abort();
        }
        return d;
}

static Detector *new_detector(size_t capacity, const Door *doors, size_t n) {
        Detector *d;

        ASSERT_OK(detector_new_with_key(capacity, test_key, &d));
        ASSERT_OK(detector_set_doors(d, doors, n));
        return d;
}

static void check(const Detector *d) {
        char msg[256];

        if (detector_check_invariants(d, msg, sizeof(msg)) < 0) {
                fprintf(stderr, "invariant broken: %s\n", msg);
                abort();
        }
}

static KnockAddr addr(const char *s) {
        KnockAddr a;

        ASSERT_OK(knock_addr_parse(s, &a));
        return a;
}

static KnockStep step(const char *s) {
        KnockStep st;

        ASSERT_OK(knock_step_parse(s, strlen(s), &st));
        return st;
}

/* Knock at time t, with the detector's clock at now. */
static size_t knock_at(Detector *d, const char *src, const char *st, usec_t t, usec_t now,
                       DetectorAction *actions, size_t max) {
        KnockEvent e = { .src = addr(src), .step = step(st), .time = t };
        size_t n = detector_feed(d, &e, now, actions, max);

        check(d);
        return n;
}

/* Knock at t, seen at once. Returns the number of actions; the first is in *ret. */
static size_t knock(Detector *d, const char *src, const char *st, usec_t t, DetectorAction *ret) {
        DetectorAction a[8], dummy;
        size_t n = knock_at(d, src, st, t, t, a, ELEMENTSOF(a));

        if (n > 0)
                *(ret ? ret : &dummy) = a[0];
        return n;
}

static void is_action(const DetectorAction *a, unsigned door_index, DetectorVerdict v, const char *src) {
        KnockAddr want = addr(src);

        ASSERT_EQ(a->door, door_index);
        ASSERT_EQ(a->verdict, v);
        ASSERT_TRUE(knock_addr_equal(&a->src, &want));
        ASSERT_EQ(memcmp(a->src.bytes, want.bytes, 16), 0);
}

static size_t in_progress(const Detector *d) {
        DetectorStats st;

        detector_get_stats(d, &st);
        return st.in_progress;
}

#define SSH "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 10s"

TEST(in_order) {
        Door doors[] = { door(SSH) };
        _cleanup_(detector_freep) Detector *d = new_detector(16, doors, 1);
        DetectorAction a;

        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0, &a), 0);
        ASSERT_EQ(in_progress(d), 1);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:4728", T0 + 500 * MS, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:6742", T0 + 1 * S, &a), 1);
        is_action(&a, 0, DETECTOR_OPEN, "192.0.2.2");
        /* Completion removes the pair: the next run starts from scratch. */
        ASSERT_EQ(in_progress(d), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:6742", T0 + 2 * S, &a), 0);
        ASSERT_EQ(in_progress(d), 0);
}

TEST(out_of_order) {
        static const char *orders[][3] = {
                { "tcp:3721", "tcp:6742", "tcp:4728" },
                { "tcp:4728", "tcp:3721", "tcp:6742" },
                { "tcp:6742", "tcp:4728", "tcp:3721" },
                { "tcp:4728", "tcp:6742", "tcp:3721" },
        };
        Door doors[] = { door(SSH) };

        for (size_t i = 0; i < ELEMENTSOF(orders); i++) {
                _cleanup_(detector_freep) Detector *d = new_detector(16, doors, 1);

                for (size_t j = 0; j < 3; j++)
                        ASSERT_EQ(knock(d, "192.0.2.2", orders[i][j], T0 + j * S, NULL), 0);
        }
}

TEST(window) {
        Door doors[] = { door(SSH) };
        _cleanup_(detector_freep) Detector *d = new_detector(16, doors, 1);
        DetectorAction a;

        /* Last knock 1 ms too late. */
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:4728", T0 + 5 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:6742", T0 + 10 * S + 1 * MS, &a), 0);
        ASSERT_EQ(in_progress(d), 0);

        /* A new run after that works, and exactly the window is in time. */
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0 + 20 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:4728", T0 + 21 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:6742", T0 + 30 * S, &a), 1);
        is_action(&a, 0, DETECTOR_OPEN, "192.0.2.2");

        /* A run that outlived its window restarts on the first step. */
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0 + 40 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:4728", T0 + 41 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0 + 55 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:4728", T0 + 56 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:6742", T0 + 57 * S, &a), 1);
}

TEST(repeat_ignored) {
        Door doors[] = { door(SSH) };
        _cleanup_(detector_freep) Detector *d = new_detector(16, doors, 1);
        DetectorAction a;

        /* Retransmitted SYNs, one second later each. */
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0 + 1 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:4728", T0 + 2 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:4728", T0 + 3 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:6742", T0 + 4 * S, &a), 1);

        /* Any step matched already, again (the old telnet client: A B A C, as a SYN of A is
         * retransmitted while B's is sent): ignored, the order still counts. */
        ASSERT_EQ(knock(d, "192.0.2.3", "tcp:3721", T0, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.3", "tcp:4728", T0 + 500 * MS, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.3", "tcp:3721", T0 + 1 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.3", "tcp:6742", T0 + 1 * S + 10 * MS, &a), 1);
        ASSERT_EQ(knock(d, "192.0.2.4", "tcp:3721", T0, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.4", "tcp:4728", T0 + 500 * MS, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.4", "tcp:3721", T0 + 1 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.4", "tcp:4728", T0 + 1 * S + 500 * MS, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.4", "tcp:3721", T0 + 2 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.4", "tcp:6742", T0 + 2 * S, &a), 1);
        /* … but a step not matched yet, out of order, still resets: A C B C. */
        ASSERT_EQ(knock(d, "192.0.2.5", "tcp:3721", T0, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.5", "tcp:6742", T0 + 100 * MS, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.5", "tcp:4728", T0 + 200 * MS, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.5", "tcp:6742", T0 + 300 * MS, &a), 0);

        /* The repeated first step keeps the start time: 10.5 s after the first knock is late. */
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0 + 10 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0 + 19 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:4728", T0 + 19 * S + 500 * MS, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:6742", T0 + 20 * S + 500 * MS, &a), 0);
}

TEST(wrong_step_resets) {
        Door doors[] = { door(SSH) };
        _cleanup_(detector_freep) Detector *d = new_detector(16, doors, 1);
        DetectorAction a;

        /* A, C (wrong), B, C: the reset forgets A. */
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:6742", T0 + 1 * S, &a), 0);
        ASSERT_EQ(in_progress(d), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:4728", T0 + 2 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:6742", T0 + 3 * S, &a), 0);

        /* A, B, A: the second A is a repeat of a step matched already, so the window still
         * counts from the first A (a run started again within it is the same run). */
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0 + 10 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:4728", T0 + 11 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0 + 15 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:4728", T0 + 16 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:6742", T0 + 21 * S, &a), 0); /* 11 s after the first A */
        /* Once the window has passed, the first step starts a new run. */
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0 + 25 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:4728", T0 + 26 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:6742", T0 + 34 * S, &a), 1); /* 9 s after it */

        /* A knock on a port that is no step of the door leaves the progress alone. */
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0 + 40 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:22", T0 + 41 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "udp:4728", T0 + 41 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:4728", T0 + 42 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "ping:3721", T0 + 42 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:6742", T0 + 43 * S, &a), 1);
}

TEST(other_door_does_not_reset) {
        Door doors[] = {
                door(SSH),
                door("knockwatch web: udp:7000 udp:9000 udp:8000 within 10s"),
        };
        _cleanup_(detector_freep) Detector *d = new_detector(16, doors, 2);
        DetectorAction a;

        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "udp:7000", T0 + 1 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:4728", T0 + 2 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "udp:9000", T0 + 3 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:6742", T0 + 4 * S, &a), 1);
        is_action(&a, 0, DETECTOR_OPEN, "192.0.2.2");
        ASSERT_EQ(knock(d, "192.0.2.2", "udp:8000", T0 + 5 * S, &a), 1);
        is_action(&a, 1, DETECTOR_OPEN, "192.0.2.2");
}

TEST(doors_sharing_steps) {
        Door doors[] = {
                door("knockwatch one: tcp:1 tcp:2 tcp:3 within 10s"),
                door("knockwatch two: tcp:1 tcp:2 tcp:4 within 10s"),
                door("knockwatch three: tcp:2 tcp:3 within 10s"),
                door("knockwatch four: tcp:2 tcp:1 tcp:3 within 10s"),
        };
        _cleanup_(detector_freep) Detector *d = new_detector(16, doors, 4);
        DetectorAction a[8];
        DetectorStats st;

        /* tcp:3 completes "one" and "three" at once, in door order; it is no step of "two",
         * whose progress stays; for "four" (2 1 3) the 2 started, the 3 was a wrong step. */
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:1", T0, T0, a, 8), 0);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:2", T0 + S, T0 + S, a, 8), 0);
        ASSERT_EQ(in_progress(d), 4);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:3", T0 + 2 * S, T0 + 2 * S, a, 8), 2);
        is_action(&a[0], 0, DETECTOR_OPEN, "192.0.2.2");
        is_action(&a[1], 2, DETECTOR_OPEN, "192.0.2.2");
        ASSERT_EQ(in_progress(d), 1);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:4", T0 + 3 * S, T0 + 3 * S, a, 8), 1);
        is_action(&a[0], 1, DETECTOR_OPEN, "192.0.2.2");

        /* With room for one action only, one is written; both count as completed. */
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:1", T0 + 4 * S, T0 + 4 * S, a, 1), 0);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:2", T0 + 5 * S, T0 + 5 * S, a, 1), 0);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:3", T0 + 6 * S, T0 + 6 * S, a, 1), 1);
        is_action(&a[0], 0, DETECTOR_OPEN, "192.0.2.2");
        detector_get_stats(d, &st);
        ASSERT_EQ(st.completed, 5);
}

TEST(sources_interleaved) {
        Door doors[] = { door(SSH) };
        _cleanup_(detector_freep) Detector *d = new_detector(16, doors, 1);
        DetectorAction a;

        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.3", "tcp:3721", T0 + 100 * MS, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.3", "tcp:4728", T0 + 200 * MS, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:4728", T0 + 300 * MS, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.3", "tcp:6742", T0 + 400 * MS, &a), 1);
        is_action(&a, 0, DETECTOR_OPEN, "192.0.2.3");
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:6742", T0 + 500 * MS, &a), 1);
        is_action(&a, 0, DETECTOR_OPEN, "192.0.2.2");

        /* One source's wrong step does not reset another's progress. */
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0 + 1 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.3", "tcp:6742", T0 + 1 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:4728", T0 + 2 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:6742", T0 + 2 * S, &a), 1);
}

TEST(families_distinct) {
        Door doors[] = { door(SSH) };
        _cleanup_(detector_freep) Detector *d = new_detector(16, doors, 1);
        KnockEvent e = { .src = addr("192.0.2.1"), .step = step("tcp:3721"), .time = T0 };
        DetectorAction a;

        /* 192.0.2.1 is c0 00 02 01; so are the first bytes of c000:201:: */
        ASSERT_EQ(knock(d, "192.0.2.1", "tcp:3721", T0, &a), 0);
        ASSERT_EQ(knock(d, "c000:201::", "tcp:4728", T0 + 1 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.1", "tcp:6742", T0 + 2 * S, &a), 0);
        ASSERT_EQ(in_progress(d), 0);

        ASSERT_EQ(knock(d, "c000:201::", "tcp:3721", T0 + 3 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.1", "tcp:3721", T0 + 3 * S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.1", "tcp:4728", T0 + 4 * S, &a), 0);
        ASSERT_EQ(knock(d, "c000:201::", "tcp:4728", T0 + 4 * S, &a), 0);
        ASSERT_EQ(knock(d, "c000:201::", "tcp:6742", T0 + 5 * S, &a), 1);
        is_action(&a, 0, DETECTOR_OPEN, "c000:201::");
        ASSERT_EQ(knock(d, "192.0.2.1", "tcp:6742", T0 + 5 * S, &a), 1);
        is_action(&a, 0, DETECTOR_OPEN, "192.0.2.1");

        /* An IPv4 source is its four bytes: junk after them does not make another source,
         * and the action carries the clean address. */
        memset(e.src.bytes + 4, 0xee, 12);
        ASSERT_EQ(detector_feed(d, &e, T0 + 6 * S, &a, 1), 0);
        ASSERT_EQ(knock(d, "192.0.2.1", "tcp:4728", T0 + 6 * S, &a), 0);
        e.step = step("tcp:6742");
        ASSERT_EQ(detector_feed(d, &e, T0 + 6 * S, &a, 1), 1);
        is_action(&a, 0, DETECTOR_OPEN, "192.0.2.1");

        /* An address of no known family is no source at all. */
        e.src.family = AF_UNIX;
        e.step = step("tcp:3721");
        ASSERT_EQ(detector_feed(d, &e, T0 + 7 * S, &a, 1), 0);
        ASSERT_EQ(in_progress(d), 0);
}

TEST(close_sequence) {
        Door doors[] = {
                door("knockwatch ssh: tcp:1 tcp:2 tcp:3 within 10s close tcp:3 tcp:2 tcp:1"),
                door("knockwatch same: udp:1 udp:2 within 10s close udp:1 udp:2"),
        };
        _cleanup_(detector_freep) Detector *d = new_detector(16, doors, 2);
        DetectorAction a[4];

        ASSERT_EQ(knock_at(d, "2001:db8::7", "tcp:1", T0, T0, a, 4), 0);
        ASSERT_EQ(knock_at(d, "2001:db8::7", "tcp:2", T0 + S, T0 + S, a, 4), 0);
        ASSERT_EQ(knock_at(d, "2001:db8::7", "tcp:3", T0 + 2 * S, T0 + 2 * S, a, 4), 1);
        is_action(&a[0], 0, DETECTOR_OPEN, "2001:db8::7");
        /* The closing sequence's first step was tcp:3: it started there too. */
        ASSERT_EQ(in_progress(d), 1);
        ASSERT_EQ(knock_at(d, "2001:db8::7", "tcp:2", T0 + 3 * S, T0 + 3 * S, a, 4), 0);
        ASSERT_EQ(knock_at(d, "2001:db8::7", "tcp:1", T0 + 4 * S, T0 + 4 * S, a, 4), 1);
        is_action(&a[0], 0, DETECTOR_CLOSE, "2001:db8::7");

        /* Open and close tracked separately: a closing run does not disturb an opening one. */
        ASSERT_EQ(knock_at(d, "2001:db8::8", "tcp:3", T0, T0, a, 4), 0);
        ASSERT_EQ(knock_at(d, "2001:db8::8", "tcp:2", T0, T0, a, 4), 0);
        ASSERT_EQ(knock_at(d, "2001:db8::8", "tcp:1", T0, T0, a, 4), 1);
        is_action(&a[0], 0, DETECTOR_CLOSE, "2001:db8::8");

        /* Closing equal to opening: both complete on the same knock, open first. */
        ASSERT_EQ(knock_at(d, "192.0.2.9", "udp:1", T0, T0, a, 4), 0);
        ASSERT_EQ(knock_at(d, "192.0.2.9", "udp:2", T0, T0, a, 4), 2);
        is_action(&a[0], 1, DETECTOR_OPEN, "192.0.2.9");
        is_action(&a[1], 1, DETECTOR_CLOSE, "192.0.2.9");
}

TEST(stale_and_skew) {
        Door doors[] = { door(SSH) };
        _cleanup_(detector_freep) Detector *d = new_detector(16, doors, 1);
        DetectorAction a[2];
        DetectorStats st;

        /* A good run read 20 s late (journald lagging on a busy machine): timed by its own
         * events, it completes. (After a restart the sources hand over no backlog older than
         * the longest window, so a replay cannot get here.) */
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:3721", T0, T0 + 20 * S, a, 2), 0);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:4728", T0 + 1 * S, T0 + 20 * S, a, 2), 0);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:6742", T0 + 2 * S, T0 + 20 * S, a, 2), 1);
        ASSERT_EQ(in_progress(d), 0);

        /* Old beginning, fresh end: nothing either. */
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:3721", T0 + 30 * S, T0 + 41 * S, a, 2), 0);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:4728", T0 + 40 * S, T0 + 41 * S, a, 2), 0);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:6742", T0 + 41 * S, T0 + 41 * S, a, 2), 0);

        /* Read late but within the window: counts, timed by the event. */
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:3721", T0 + 50 * S, T0 + 59 * S, a, 2), 0);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:4728", T0 + 51 * S, T0 + 59 * S, a, 2), 0);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:6742", T0 + 52 * S, T0 + 59 * S, a, 2), 1);

        /* A time ahead of now (clock skew) is taken as now, an unknown time (0) too. */
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:3721", T0 + 200 * S, T0 + 100 * S, a, 2), 0);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:4728", 0, T0 + 105 * S, a, 2), 0);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:6742", T0 + 110 * S, T0 + 110 * S, a, 2), 1);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:3721", T0 + 200 * S, T0 + 100 * S, a, 2), 0);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:4728", 0, T0 + 105 * S, a, 2), 0);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:6742", T0 + 110 * S + 1, T0 + 110 * S + 1, a, 2), 0);

        /* A knock on no door's step is nothing, however old. */
        detector_get_stats(d, &st);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:22", T0, T0 + 500 * S, a, 2), 0);
        ASSERT_EQ(in_progress(d), 0);
}

TEST(one_step_door) {
        Door doors[] = { door("knockwatch one: ping:64 within 1s") };
        _cleanup_(detector_freep) Detector *d = new_detector(1, doors, 1);
        DetectorAction a;

        ASSERT_EQ(knock(d, "192.0.2.2", "ping:64", T0, &a), 1);
        is_action(&a, 0, DETECTOR_OPEN, "192.0.2.2");
        ASSERT_EQ(in_progress(d), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "ping:64", T0, &a), 1);
}

static void addr_n(unsigned i, char buf[static KNOCK_ADDR_STRLEN]) {
        snprintf(buf, KNOCK_ADDR_STRLEN, "10.%u.%u.%u", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
}

TEST(eviction) {
        static const char *srcs[] = { "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5" };
        Door doors[] = { door(SSH) };
        _cleanup_(detector_freep) Detector *d = new_detector(4, doors, 1);
        DetectorAction a;
        DetectorStats st;

        for (size_t i = 0; i < ELEMENTSOF(srcs); i++)
                ASSERT_EQ(knock(d, srcs[i], "tcp:3721", T0 + i * MS, &a), 0);
        detector_get_stats(d, &st);
        ASSERT_EQ(st.in_progress, 4);
        ASSERT_EQ(st.capacity, 4);
        ASSERT_EQ(st.evictions, 1);

        for (size_t i = 1; i < ELEMENTSOF(srcs); i++) {
                ASSERT_EQ(knock(d, srcs[i], "tcp:4728", T0 + S + i * MS, &a), 0);
                ASSERT_EQ(knock(d, srcs[i], "tcp:6742", T0 + 2 * S + i * MS, &a), 1);
                is_action(&a, 0, DETECTOR_OPEN, srcs[i]);
        }
        /* The least recent one is the one lost. */
        ASSERT_EQ(knock(d, srcs[0], "tcp:4728", T0 + 3 * S, &a), 0);
        ASSERT_EQ(knock(d, srcs[0], "tcp:6742", T0 + 3 * S, &a), 0);

        /* Recency, not age: touching the oldest pair saves it; the next oldest goes. */
        for (size_t i = 0; i < 4; i++)
                ASSERT_EQ(knock(d, srcs[i], "tcp:3721", T0 + 4 * S + i * MS, &a), 0);
        ASSERT_EQ(knock(d, srcs[0], "tcp:4728", T0 + 5 * S, &a), 0);
        ASSERT_EQ(knock(d, srcs[4], "tcp:3721", T0 + 5 * S, &a), 0);
        ASSERT_EQ(knock(d, srcs[0], "tcp:6742", T0 + 6 * S, &a), 1);
        ASSERT_EQ(knock(d, srcs[1], "tcp:4728", T0 + 6 * S, &a), 0);
        ASSERT_EQ(knock(d, srcs[1], "tcp:6742", T0 + 6 * S, &a), 0);
}

/* The legitimate source knocks its three steps; between two of its knocks, `flood`
 * spoofed sources each knock the first step (creating a pair each). */
static size_t flood_run(size_t capacity, size_t flood, unsigned *next_spoof) {
        Door doors[] = { door(SSH) };
        _cleanup_(detector_freep) Detector *d = new_detector(capacity, doors, 1);
        static const char *steps[] = { "tcp:3721", "tcp:4728", "tcp:6742" };
        DetectorAction a;
        size_t opened = 0;
        usec_t t = T0;

        for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
                opened += knock(d, "2001:db8::2", steps[i], t, &a);
                for (size_t j = 0; i < 2 && j < flood; j++) {
                        char buf[KNOCK_ADDR_STRLEN];
                        KnockEvent e = { .step = step("tcp:3721"), .time = t };

                        addr_n((*next_spoof)++, buf);
                        e.src = addr(buf);
                        t += 1;
                        ASSERT_EQ(detector_feed(d, &e, t, &a, 1), 0);
                }
                check(d);
        }
        return opened;
}

TEST(flood) {
        unsigned spoof = 0;

        /* A pair survives as long as fewer than capacity other pairs were touched since its
         * last knock: capacity − 1 between knocks is fine, capacity is one too many. */
        ASSERT_EQ(flood_run(64, 63, &spoof), 1);
        ASSERT_EQ(flood_run(64, 64, &spoof), 0);
        ASSERT_EQ(flood_run(1024, 1023, &spoof), 1);
        ASSERT_EQ(flood_run(1024, 1024, &spoof), 0);
}

TEST(flood_many) {
        Door doors[] = { door(SSH) };
        _cleanup_(detector_freep) Detector *d = new_detector(4096, doors, 1);
        static const char *steps[] = { "tcp:3721", "tcp:4728", "tcp:6742" };
        size_t opened = 0, legit = 0;
        DetectorAction a;
        DetectorStats st;
        usec_t t = T0;

        /* 200 000 spoofed sources (≫ capacity) knocking the first step, 2000 per 10 ms;
         * a legitimate source knocks once every 10 ms and completes every run. */
        for (unsigned i = 0; i < 200000; i++) {
                char buf[KNOCK_ADDR_STRLEN];
                KnockEvent e = { .step = step(i % 3 == 0 ? "tcp:3721" : "tcp:4728") };

                addr_n(i, buf);
                e.src = addr(buf);
                e.time = t += 5;
                (void) detector_feed(d, &e, t, &a, 1);
                if (i % 2000 == 1999) {
                        opened += knock(d, "192.0.2.77", steps[legit % 3], t, &a);
                        legit++;
                }
        }
        check(d);
        ASSERT_EQ(legit, 100);
        ASSERT_EQ(opened, 33);
        detector_get_stats(d, &st);
        ASSERT_EQ(st.in_progress, 4096);
        ASSERT_TRUE(st.evictions > 60000);
}

TEST(set_doors_keeps_and_drops) {
        Door before[] = {
                door(SSH),
                door("knockwatch web: udp:7000 udp:9000 udp:8000 within 10s"),
                door("knockwatch slow: tcp:1 tcp:3 tcp:2 within 10s"),
                door("knockwatch both: tcp:11 tcp:13 tcp:12 within 10s close tcp:21 tcp:23 tcp:22"),
                door("knockwatch gone: tcp:31 tcp:33 tcp:32 within 10s"),
        };
        Door after[] = {
                door("knockwatch aaa: tcp:41 tcp:43 tcp:42 within 10s"),
                door("knockwatch both: tcp:11 tcp:13 tcp:12 within 10s close tcp:21 tcp:23 tcp:24"),
                door("knockwatch slow: tcp:1 tcp:3 tcp:2 within 11s"),
                door(SSH),
                door("knockwatch webx: udp:7000 udp:9000 udp:8000 within 10s"),
        };
        _cleanup_(detector_freep) Detector *d = new_detector(64, before, ELEMENTSOF(before));
        DetectorAction a;

        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:4728", T0, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "udp:7000", T0, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "udp:9000", T0, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:1", T0, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3", T0, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:11", T0, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:13", T0, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:21", T0, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:23", T0, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:31", T0, &a), 0);
        ASSERT_EQ(in_progress(d), 6);

        ASSERT_OK(detector_set_doors(d, after, ELEMENTSOF(after)));
        check(d);
        /* Kept: ssh (now door 3) and the opening sequence of "both" (its close changed). */
        ASSERT_EQ(in_progress(d), 2);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:6742", T0 + S, &a), 1);
        is_action(&a, 3, DETECTOR_OPEN, "192.0.2.2");
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:12", T0 + S, &a), 1);
        is_action(&a, 1, DETECTOR_OPEN, "192.0.2.2");
        /* Dropped: a renamed door, a changed window, a changed closing sequence. */
        ASSERT_EQ(knock(d, "192.0.2.2", "udp:8000", T0 + S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:2", T0 + S, &a), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:24", T0 + S, &a), 0);
        ASSERT_EQ(in_progress(d), 0);

        /* Reloading the same doors keeps everything; no doors drops everything. */
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0 + 2 * S, &a), 0);
        ASSERT_OK(detector_set_doors(d, after, ELEMENTSOF(after)));
        ASSERT_EQ(in_progress(d), 1);
        ASSERT_OK(detector_set_doors(d, NULL, 0));
        check(d);
        ASSERT_EQ(in_progress(d), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0 + 3 * S, &a), 0);
        ASSERT_EQ(in_progress(d), 0);
}

TEST(set_doors_duplicates_and_limits) {
        Door doors[] = { door(SSH), door(SSH), door("knockwatch ssh") };
        _cleanup_(detector_freep) Detector *d = new_detector(64, doors, 1);
        _cleanup_free_ Door *many = calloc(DETECTOR_DOORS_MAX + 1, sizeof(Door));
        DetectorAction a[4];

        /* Two doors of one name and sequence (doors_build never returns that): only one
         * inherits the progress, and each runs on its own. A door with no steps is inert. */
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:3721", T0, NULL), 0);
        ASSERT_EQ(knock(d, "192.0.2.2", "tcp:4728", T0, NULL), 0);
        ASSERT_OK(detector_set_doors(d, doors, 3));
        check(d);
        ASSERT_EQ(in_progress(d), 1);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:6742", T0, T0, a, 4), 1);
        is_action(&a[0], 0, DETECTOR_OPEN, "192.0.2.2");
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:3721", T0, T0, a, 4), 0);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:4728", T0, T0, a, 4), 0);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:6742", T0, T0, a, 4), 2);
        is_action(&a[0], 0, DETECTOR_OPEN, "192.0.2.2");
        is_action(&a[1], 1, DETECTOR_OPEN, "192.0.2.2");

        ASSERT_TRUE(many);
        for (size_t i = 0; i < DETECTOR_DOORS_MAX + 1; i++)
                many[i] = doors[0];
        ASSERT_ERROR(detector_set_doors(d, many, DETECTOR_DOORS_MAX + 1), E2BIG);
        /* Many doors with the same steps: each knock advances all of them (the index has
         * every pair), and a reload of the same doors keeps every one's progress. */
        ASSERT_OK(detector_set_doors(d, many, 4096));
        ASSERT_EQ(knock_at(d, "192.0.2.77", "tcp:3721", T0, T0, a, 4), 0);
        ASSERT_OK(detector_set_doors(d, many, 4096));
        ASSERT_EQ(in_progress(d), 64); /* the table holds 64, all kept across the reload */
        ASSERT_OK(detector_set_doors(d, many, DETECTOR_DOORS_MAX));
        many[0].spec.n_open = DOOR_STEPS_MAX + 1;
        ASSERT_ERROR(detector_set_doors(d, many, 1), E2BIG);
}

TEST(stats) {
        Door doors[] = { door(SSH) };
        _cleanup_(detector_freep) Detector *d = new_detector(2, doors, 1);
        DetectorAction a[2];
        DetectorStats st;

        ASSERT_EQ(knock_at(d, "192.0.2.1", "tcp:3721", T0, T0, a, 2), 0);
        ASSERT_EQ(knock_at(d, "192.0.2.2", "tcp:3721", T0, T0, a, 2), 0);
        ASSERT_EQ(knock_at(d, "192.0.2.3", "tcp:3721", T0, T0, a, 2), 0);    /* evicts .1 */
        ASSERT_EQ(knock_at(d, "192.0.2.3", "tcp:4728", T0, T0, a, 2), 0);
        ASSERT_EQ(knock_at(d, "192.0.2.3", "tcp:6742", T0, T0, a, 2), 1);
        ASSERT_EQ(knock_at(d, "192.0.2.4", "tcp:3721", T0, T0 + 11 * S, a, 2), 0); /* read late */
        ASSERT_EQ(knock_at(d, "192.0.2.4", "tcp:80", T0, T0, a, 2), 0);
        detector_get_stats(d, &st);
        ASSERT_EQ(st.knocks, 7);
        ASSERT_EQ(st.completed, 1);
        ASSERT_EQ(st.evictions, 1);
        ASSERT_EQ(st.in_progress, 2);
        ASSERT_EQ(st.capacity, 2);
}

TEST(new_and_memory) {
        Detector *d = (Detector *) 1;
        DetectorMemory m;

        ASSERT_ERROR(detector_new(0, &d), EINVAL);
        ASSERT_ERROR(detector_new(DETECTOR_CAPACITY_MAX + 1, &d), EINVAL);
        ASSERT_TRUE(d == (Detector *) 1);
        ASSERT_OK(detector_new(DETECTOR_CAPACITY_DEFAULT, &d));
        detector_get_memory(d, &m);
        ASSERT_EQ(m.n_slots, 2 * DETECTOR_CAPACITY_DEFAULT);
        ASSERT_EQ(m.entries_bytes, DETECTOR_CAPACITY_DEFAULT * m.entry_size);
        ASSERT_TRUE(m.total_bytes >= m.entries_bytes + m.table_bytes);
        ASSERT_TRUE(m.total_bytes < m.entries_bytes + m.table_bytes + 4096);
        check(d);
        ASSERT_TRUE(detector_free(d) == NULL);

        ASSERT_OK(detector_new_with_key(3, test_key, &d));
        detector_get_memory(d, &m);
        ASSERT_EQ(m.n_slots, 8);
        detector_free(d);
        ASSERT_TRUE(detector_free(NULL) == NULL);
}

/* Many random knocks on a small table with colliding probe runs: every insertion, eviction
 * and backward-shift deletion is followed by the full invariant check. */
TEST(random_churn) {
        Door doors[] = {
                door("knockwatch a: tcp:1 tcp:2 tcp:3 within 100ms close tcp:3 tcp:1"),
                door("knockwatch b: tcp:2 tcp:1 tcp:4 tcp:2 within 50ms"),
                door("knockwatch c: tcp:4 within 1s"),
        };
        _cleanup_(detector_freep) Detector *d = new_detector(8, doors, 3);
        static const char *steps[] = { "tcp:1", "tcp:2", "tcp:3", "tcp:4", "tcp:5" };
        uint64_t x = 88172645463325252ULL;
        usec_t now = T0;
        DetectorAction a[8];
        DetectorStats st;

        for (unsigned i = 0; i < 100000; i++) {
                char buf[KNOCK_ADDR_STRLEN];

                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                now += x % 5000;
                if (x % 7 == 0)
                        snprintf(buf, sizeof(buf), "2001:db8::%x", (unsigned) (x >> 8) % 24);
                else
                        addr_n((unsigned) (x >> 8) % 24, buf);
                (void) knock_at(d, buf, steps[(x >> 16) % 5], now - (x >> 24) % 20000, now, a, 8);
                if (i % 10000 == 0) {
                        ASSERT_OK(detector_set_doors(d, doors, 3 - (i / 10000) % 2));
                        check(d);
                }
        }
        detector_get_stats(d, &st);
        ASSERT_TRUE(st.completed > 100);
        ASSERT_TRUE(st.evictions > 100);
}

int main(void) {
        RUN(in_order);
        RUN(out_of_order);
        RUN(window);
        RUN(repeat_ignored);
        RUN(wrong_step_resets);
        RUN(other_door_does_not_reset);
        RUN(doors_sharing_steps);
        RUN(sources_interleaved);
        RUN(families_distinct);
        RUN(close_sequence);
        RUN(stale_and_skew);
        RUN(one_step_door);
        RUN(eviction);
        RUN(flood);
        RUN(flood_many);
        RUN(set_doors_keeps_and_drops);
        RUN(set_doors_duplicates_and_limits);
        RUN(stats);
        RUN(new_and_memory);
        RUN(random_churn);
        return 0;
}
