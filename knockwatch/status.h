/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * status.h — the running daemon's counters, as `knockwatch status` shows them.
 * The daemon rewrites STATUS_FILE in its runtime directory (atomically, at most once
 * a second while something changes: the StatusWriter below); the CLI reads it. A file
 * rather than a socket: nothing to connect to, nothing that listens. Format:
 * "key=value" lines.
 */
#pragma once

#include <systemd/sd-event.h>

#include "macro.h"
#include "time-util.h"

#define STATUS_FILE "status"
#define RUNTIME_DIR_DEFAULT "/run/knockwatch"

typedef struct DaemonStatus {
        uint64_t pid;
        uint64_t started_realtime;   /* µs since the epoch */
        uint64_t updated_realtime;
        char source[256];            /* source_describe() */
        char table[300];             /* "inet knockwatch" */
        uint64_t doors;
        uint64_t lines;              /* PORT_KNOCKING lines read */
        uint64_t knocks;             /* of which knocks */
        uint64_t not_knocks;         /* well-formed but not knocks (SYN-ACK, …) */
        uint64_t rejected;           /* malformed, truncated, forged tag, over-long */
        uint64_t sequences;          /* sequences completed (opening and closing) */
        uint64_t grants;             /* new grants committed */
        uint64_t refreshes;
        uint64_t revokes;            /* by closing sequence */
        uint64_t expiries;
        uint64_t errors;             /* nft operations that failed */
        uint64_t lost;               /* kernel log records lost before knockwatch read them */
        uint64_t live_grants;
        uint64_t in_progress;        /* sources part-way through a sequence */
        uint64_t capacity;
        uint64_t evictions;
} DaemonStatus;

/* Text form; returns the length written (< size) or -ENOBUFS. */
int status_format(const DaemonStatus *s, char *buf, size_t size);
/* Parse the text form; unknown keys are ignored, malformed lines rejected (-EBADMSG). */
int status_parse(const char *text, DaemonStatus *ret);

int status_write(const char *dir, const DaemonStatus *s);
int status_read(const char *dir, DaemonStatus *ret);

/*
 * The writer's throttle: after a change the file is written STATUS_WRITE_DELAY later (so
 * a burst is one write), and at most once per STATUS_WRITE_INTERVAL; nothing is written
 * while nothing changes (the timer is one-shot). fill() is asked for the counters right
 * before each write. The first write that fails disables the writer; failed() is told
 * once, with the error, so that the caller can log it.
 */
#define STATUS_WRITE_INTERVAL USEC_PER_SEC
#define STATUS_WRITE_DELAY (100 * USEC_PER_MSEC)

typedef struct StatusWriter StatusWriter;

typedef struct StatusWriterOps {
        void (*fill)(DaemonStatus *s, void *userdata);
        void (*failed)(int error, const char *dir, void *userdata);
} StatusWriterOps;

int status_writer_new(sd_event *event, const char *dir, const StatusWriterOps *ops, void *userdata,
                      StatusWriter **ret);
StatusWriter *status_writer_free(StatusWriter *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(StatusWriter *, status_writer_free);
/* Something counted changed: write soon. */
void status_writer_changed(StatusWriter *w);
/* Write now (at start and stop). Returns 0 or -errno (also when disabled: -ESHUTDOWN). */
int status_writer_flush(StatusWriter *w);
