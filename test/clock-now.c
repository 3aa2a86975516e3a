/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clock-now — print CLOCK_MONOTONIC in microseconds, the clock of SourceLine.time, so
 * a shell test can bracket an event: "clock-now; send a packet; clock-now".
 */
#include <stdio.h>

#include "macro.h"
#include "time-util.h"

int main(void) {
        printf("%llu\n", (unsigned long long) now_usec(CLOCK_MONOTONIC));
        return 0;
}
