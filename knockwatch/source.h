/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * source.h — where kernel LOG lines come from. Every source hands the same kind of
 * SourceLine to the daemon on an sd-event loop; none parses a LOG line itself.
 *
 *   kmsg       /dev/kmsg; records of facility 0 (kernel) only; time = the record's
 *              timestamp; resumes after a restart by sequence number and boot id.
 *   journal    sd-journal, entries with _TRANSPORT=kernel and SYSLOG_FACILITY=0 only;
 *              time = the entry's monotonic timestamp (same boot) ; resumes by cursor.
 *   file:PATH  a syslog text file followed by name (rename rotation, copytruncate,
 *              partial last lines); refuses a file that group or others can write.
 *   stdin      "-": lines from standard input (tests, replay).
 *
 * Lines are delivered in order, already cut at '\n', at most LOGLINE_LINE_MAX bytes
 * (a longer line is delivered truncated to its first LOGLINE_LINE_MAX + 1 bytes so the
 * parser rejects it as too long; it is never split into two lines). After each drain
 * of the underlying fd the batch callback runs: the daemon commits its nft batch there.
 *
 * Resuming after a restart, kmsg and journal first hand over again the lines they had
 * handled before it that are still younger than max_age, marked replayed: the daemon
 * feeds them to the detector only to rebuild the sequences in progress (a sequence split
 * by the restart still completes), and acts on none of them (a sequence completed before
 * the restart is not granted again).
 */
#pragma once

#include <systemd/sd-event.h>

#include "logline.h"
#include "macro.h"
#include "time-util.h"

typedef enum SourceKind {
        SOURCE_AUTO,     /* kmsg if it can be opened for reading, else journal */
        SOURCE_KMSG,
        SOURCE_JOURNAL,
        SOURCE_FILE,
        SOURCE_STDIN,
} SourceKind;

typedef struct SourceOptions {
        /* Directory for the resume position ("kmsg.position", "journal.cursor");
         * NULL: start at the tail and remember nothing. */
        const char *state_dir;
        /* journal only: read this directory instead of the system journal (tests). */
        const char *journal_dir;
        /* How far back a resumed source needs to look: lines older than this are not
         * delivered (the longest door window). 0: deliver everything after the position. */
        usec_t max_age;
} SourceOptions;

typedef struct SourceLine {
        const char *text;        /* not NUL-terminated */
        size_t len;
        LoglineForm form;        /* KERNEL for kmsg/journal, SYSLOG for file, ANY for stdin */
        usec_t time;             /* CLOCK_MONOTONIC µs of the kernel event, or of the read */
        usec_t read_time;        /* CLOCK_MONOTONIC µs when knockwatch read it (latency) */
        bool replayed;           /* handled before a restart: rebuilds progress only */
} SourceLine;

typedef struct Source Source;

typedef struct SourceHandlers {
        /* One candidate line. A negative return is logged by the caller, the source goes on. */
        int (*line)(Source *s, const SourceLine *line, void *userdata);
        /* After a drain: nothing more is waiting right now. May be NULL. */
        void (*batch_end)(Source *s, void *userdata);
        /* The source met something the admin should know (records lost, file rotated,
         * journal reopened …), or stopped for good (fatal: the daemon exits; error 0 means
         * the input simply ended, as stdin does, error < 0 that the source failed). */
        void (*notice)(Source *s, int error, bool fatal, const char *message, void *userdata);
} SourceHandlers;

/* "auto", "kmsg", "journal", "file:/var/log/kern.log", "-". *ret_path is set for file.
 * Returns 0 or -EINVAL. */
int source_spec_parse(const char *spec, SourceKind *ret_kind, const char **ret_path);

/* Open the source (the file check, the journal filter and the resume position happen
 * here, so errors surface before the daemon says READY). For SOURCE_AUTO, *ret is the
 * chosen source and source_describe() says which and why.
 * Errors: -EACCES/-EPERM (cannot read; the message names the file and the capability or
 * group needed, via ret_error), -EBADF-style errors for an unsafe file … ret_error, if not
 * NULL, receives a malloc'ed one-line explanation on failure. */
int source_open(SourceKind kind, const char *path, const SourceOptions *options,
                Source **ret, char **ret_error);

/* Start delivering lines on the event loop. */
int source_attach(Source *s, sd_event *event, const SourceHandlers *handlers, void *userdata);

/* Persist the position of the last line handled now (also done by the source itself,
 * throttled, and when it is freed). */
int source_save_position(Source *s);

/* Read and hand over what is waiting now, all of it, without waiting for more (before a
 * stop, so that the saved position covers what was logged). Returns 0 or -errno. */
int source_flush(Source *s);

/* The source stopped for good (end of input, or a fatal error). */
bool source_ended(const Source *s);

SourceKind source_kind(const Source *s);
/* e.g. "kmsg (/dev/kmsg is readable)", "journal (/dev/kmsg: Permission denied)",
 * "file /var/log/kern.log". */
const char *source_describe(const Source *s);

typedef struct SourceStats {
        uint64_t lines;          /* lines delivered */
        uint64_t lost;           /* records known lost (kmsg overrun, journal gaps) */
        uint64_t skipped;        /* records refused for provenance (userspace facility, …) */
        uint64_t stale;          /* knock lines of a resumed backlog older than max_age */
} SourceStats;
void source_get_stats(const Source *s, SourceStats *ret);

Source *source_free(Source *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Source *, source_free);
