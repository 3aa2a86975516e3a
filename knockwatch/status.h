/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * status.h — the running daemon's counters, as `knockwatch status` shows them.
 * The daemon rewrites STATUS_FILE in its runtime directory (atomically, at most once
 * a second while something changes); the CLI reads it. A file rather than a socket:
 * nothing to connect to, nothing that listens. Format: "key=value" lines.
 */
#pragma once

#include "macro.h"

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
