/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * time-util.h — the one time type of the project: usec_t, microseconds on
 * CLOCK_MONOTONIC unless a name says otherwise (…_realtime).
 */
#pragma once

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

typedef uint64_t usec_t;
#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define MSEC_PER_SEC 1000ULL

static inline usec_t timespec_to_usec(const struct timespec *ts) {
        return (usec_t) ts->tv_sec * USEC_PER_SEC + (usec_t) ts->tv_nsec / 1000;
}

static inline usec_t now_usec(clockid_t clock) {
        struct timespec ts;

        if (clock_gettime(clock, &ts) < 0)
                abort(); /* cannot happen for the clocks we use */
        return timespec_to_usec(&ts);
}

/* Sleep for usec on CLOCK_MONOTONIC, through signals. Returns 0 or -errno. */
int sleep_usec(usec_t usec);
/* Sleep until the CLOCK_MONOTONIC time deadline (now or past: no sleep). */
int sleep_until(usec_t deadline);
