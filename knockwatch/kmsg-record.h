/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kmsg-record.h — the pure parts of the kmsg source (source-kmsg.c), split out so
 * they are unit-tested without /dev/kmsg: the record header parser, the sequence
 * number accounting, the printk clock to CLOCK_MONOTONIC estimate, and the text of
 * the saved position. No I/O, no allocation. Internal to the sources.
 */
#pragma once

#include "macro.h"
#include "time-util.h"

/* One read() of /dev/kmsg returns one record and needs a buffer that holds it whole. */
#define KMSG_RECORD_MAX 8192

/* The kernel's priority is facility << 3 | level with an 8-bit facility. */
#define KMSG_PRIORITY_MAX 2047U

typedef struct KmsgRecord {
        unsigned priority;      /* facility << 3 | level */
        uint64_t seq;
        uint64_t timestamp;     /* µs on the kernel's printk clock (local_clock) */
        const char *text;       /* the first line of the message, not NUL-terminated */
        size_t text_len;
} KmsgRecord;

static inline unsigned kmsg_record_facility(const KmsgRecord *r) {
        return r->priority >> 3;
}

/* Parse a record "PRI,SEQ,TS_USEC,FLAG[,MORE…];TEXT\n[ KEY=value\n…]" (buf holds the
 * n bytes one read() returned). Numbers are decimal without sign or leading zeros and
 * in range; FLAG is one character; the ';' and the '\n' ending TEXT are required.
 * Continuation lines after TEXT are ignored. Returns 0 or -EBADMSG. */
int kmsg_record_parse(const char *buf, size_t n, KmsgRecord *ret);

/* Sequence numbers: which records are new, and how many were lost in between. */
typedef struct KmsgSeq {
        bool known;
        uint64_t last;          /* the newest sequence number handled */
} KmsgSeq;

/* Account for a record with sequence number seq. Returns true if it is new (then
 * *ret_lost is the number of records missing between the last one and it, and it
 * becomes the last), false if it was handled before (seq <= last: the backlog after a
 * resume), with *ret_lost = 0. */
bool kmsg_seq_advance(KmsgSeq *q, uint64_t seq, uint64_t *ret_lost);

/*
 * The printk clock to CLOCK_MONOTONIC. offset = CLOCK_MONOTONIC − TS is not constant
 * (the clocks drift apart by a few ppm), so it is estimated from the records
 * themselves: read_time − TS is the true offset plus the delay between logging and
 * reading, which is ≥ 0, so the smallest value seen is the best estimate. The minimum
 * is taken over the current window of KMSG_CLOCK_WINDOW and the one before it, so the
 * estimate follows drift and old samples age out.
 */
#define KMSG_CLOCK_WINDOW (60 * USEC_PER_SEC)

typedef struct KmsgClock {
        bool known;             /* offset is valid */
        int64_t offset;         /* µs, the estimate */
        bool window_used, previous_used;
        usec_t window_start;
        int64_t window_min, previous_min;
} KmsgClock;

/* Start from a saved offset (taken as the previous window's minimum, valid at now). */
void kmsg_clock_seed(KmsgClock *c, int64_t offset, usec_t now);
/* One record, timestamp ts, read at read_time (CLOCK_MONOTONIC). */
void kmsg_clock_sample(KmsgClock *c, uint64_t ts, usec_t read_time);
/* ts on CLOCK_MONOTONIC (the clock must be known); never below 0. A record sampled
 * before mapping maps to at most its read_time. */
usec_t kmsg_clock_map(const KmsgClock *c, uint64_t ts);

/* The saved position: "boot_id=…\nseq=N\noffset=N\n". */
#define KMSG_BOOT_ID_LEN 36
typedef struct KmsgPosition {
        char boot_id[KMSG_BOOT_ID_LEN + 1];
        uint64_t seq;
        int64_t offset;
} KmsgPosition;

#define KMSG_POSITION_STRLEN 128

/* A boot id as /proc/sys/kernel/random/boot_id prints it (lower-case UUID). */
bool kmsg_boot_id_valid(const char *s, size_t n);
/* Writes the text into buf (KMSG_POSITION_STRLEN bytes); returns its length. */
size_t kmsg_position_format(const KmsgPosition *p, char buf[static KMSG_POSITION_STRLEN]);
/* Exactly the three lines above, in that order. Returns 0 or -EBADMSG. */
int kmsg_position_parse(const char *text, size_t n, KmsgPosition *ret);
