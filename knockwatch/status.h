/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * status.h — the running daemon's counters, as `knockwatch status` and `knockwatch
 * metrics` show them. The daemon rewrites STATUS_FILE in its runtime directory
 * (atomically, at most once a second while something changes: the StatusWriter below),
 * and with --metrics-file the Prometheus text form of the same counters too; the CLI
 * reads the status file. A file rather than a socket: nothing to connect to, nothing
 * that listens.
 *
 * Format: "key=value" lines, one per counter (readers ignore keys they do not know),
 * then one line per door:
 *
 *   door=ssh knocks=9 sequences=3 grants=2 refreshes=1 revokes=0 expiries=1 live_grants=1
 *
 * A door line is the door's name ([a-z0-9_-], 1-32 bytes), then "key=number" fields,
 * each separated by one space, each known key at most once (unknown keys of the same
 * form are skipped, missing ones are 0); at most STATUS_DOORS_MAX door lines, no name
 * twice. Anything else in the file makes the reader reject it whole.
 */
#pragma once

#include "fleet-msg.h"

#include <systemd/sd-event.h>

#include "door.h"
#include "grants.h"
#include "macro.h"
#include "time-util.h"

#define STATUS_FILE "status"
#define RUNTIME_DIR_DEFAULT "/run/knockwatch"
/* Doors counted one by one (the totals count every door). */
#define STATUS_DOORS_MAX 64
/* The largest status file: the counters, long source and table names, and
 * STATUS_DOORS_MAX door lines with 20-digit counters fit with room to spare. */
#define STATUS_FILE_MAX (32 * 1024)

/*
 * Why a PORT_KNOCKING line was rejected, in a few classes (the metrics' "reason" label;
 * logline_parse()'s reasons are many and free text):
 *   malformed   a field missing, duplicated, misplaced or out of range, a bad address,
 *               a control byte (-EBADMSG)
 *   truncated   the line does not end as the kernel ends a LOG line (-EBADMSG, "truncated")
 *   too_long    longer than the kernel writes (-E2BIG)
 *   not_kernel  a syslog file line whose tag is not "kernel:": written from userspace (-EPERM)
 *   untrusted   not from the host's own log rules (no or a wrong prefix secret; -EACCES)
 *   other       anything else
 */
typedef enum RejectReason {
        REJECT_MALFORMED,
        REJECT_TRUNCATED,
        REJECT_TOO_LONG,
        REJECT_NOT_KERNEL,
        REJECT_UNTRUSTED,
        REJECT_OTHER,
        _REJECT_REASON_MAX,
} RejectReason;

const char *reject_reason_to_string(RejectReason r);
/* The class of a line logline_parse() refused: its result (< 0) and *ret_reason. */
RejectReason reject_reason_classify(int parse_result, const char *reason);

/* The counters kept per door. */
typedef enum DoorCounter {
        DOOR_COUNTER_KNOCKS,       /* knocks on one of the door's steps (a knock can count for
                                    * several doors) */
        DOOR_COUNTER_SEQUENCES,    /* sequences completed, opening and closing */
        DOOR_COUNTER_GRANTS,
        DOOR_COUNTER_REFRESHES,
        DOOR_COUNTER_REVOKES,      /* by the closing sequence */
        DOOR_COUNTER_EXPIRIES,
        DOOR_COUNTER_REPLAYS,      /* rotating doors: windows completed that opened nothing (used
                                    * already, or first knock outside the window's steps) */
        _DOOR_COUNTER_MAX,
} DoorCounter;

const char *door_counter_to_string(DoorCounter c);   /* "knocks", "sequences", ... */

typedef struct DoorStatus {
        char name[DOOR_NAME_MAX + 1];
        uint64_t counter[_DOOR_COUNTER_MAX];
        uint64_t live_grants;
} DoorStatus;

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
        uint64_t stale;              /* knocks of a backlog older than every window: not used */
        char problem[512];           /* what keeps knocks from being granted; "" if nothing */
        uint64_t rejected_by[_REJECT_REASON_MAX];   /* the classes of "rejected" */
        uint64_t hook_runs;          /* grant/revoke hooks started */
        uint64_t hook_failures;      /* ended with a non-zero status, by a signal, or not started */
        uint64_t hook_timeouts;      /* killed at their time limit */
        uint64_t hook_drops;         /* not run: too many hooks were running already */
        char fleet_broker[80];       /* the fleet's broker (fleet.h); "" without a fleet */
        char fleet_name[40];
        uint64_t fleet_connected;    /* 0 or 1 */
        uint64_t fleet_connects, fleet_disconnects, fleet_connect_failures;
        uint64_t fleet_published, fleet_acked, fleet_dropped, fleet_queued;
        uint64_t fleet_received, fleet_accepted, fleet_own, fleet_rejected_other;
        uint64_t fleet_subscribe_refused;
        uint64_t fleet_refreshes_held; /* refreshes not published: too soon after the last */
        uint64_t fleet_rejected[_FLEET_REJECT_MAX];
        DoorStatus door[STATUS_DOORS_MAX];
        size_t n_door;
} DaemonStatus;

/* After the doors were (re)read: count exactly these doors (the first STATUS_DOORS_MAX),
 * in this order, keeping the counters of those that were counted already. */
void status_set_doors(DaemonStatus *s, const Door *doors, size_t n);
DoorStatus *status_find_door(DaemonStatus *s, const char *name);   /* NULL: not counted */
const DoorStatus *status_get_door(const DaemonStatus *s, const char *name);
/* Count one event of a door by its name (nothing if the door is not counted). */
void status_count_door(DaemonStatus *s, const char *door, DoorCounter c);
/* Count a knock for every door whose opening or closing sequence has this step. doors
 * are those last given to status_set_doors(). */
void status_count_knock(DaemonStatus *s, const Door *doors, size_t n, const KnockStep *step);
/* Set each door's live_grants from the record. */
void status_count_live(DaemonStatus *s, const Grants *g);

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
 * before each write. The first write of the status file that fails stops the writing of
 * the status file; failed() is told once, with the error, so that the caller can log it.
 * A metrics file (status_writer_set_metrics_file()) is written with the same throttle,
 * after the status file, and a failure there stops nothing.
 */
#define STATUS_WRITE_INTERVAL USEC_PER_SEC
#define STATUS_WRITE_DELAY (100 * USEC_PER_MSEC)

typedef struct StatusWriter StatusWriter;

typedef struct StatusWriterOps {
        void (*fill)(DaemonStatus *s, void *userdata);
        void (*failed)(int error, const char *dir, void *userdata);
        /* Optional. Writing the metrics file failed (error < 0; the writer keeps trying
         * with each write), or works again after a failure (error 0). Told once per
         * change, so that the caller can log it. */
        void (*metrics_failed)(int error, const char *path, void *userdata);
} StatusWriterOps;

int status_writer_new(sd_event *event, const char *dir, const StatusWriterOps *ops, void *userdata,
                      StatusWriter **ret);
StatusWriter *status_writer_free(StatusWriter *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(StatusWriter *, status_writer_free);
/* With each write, also write the counters in the Prometheus text format (metrics.h) to
 * path: an absolute path in a directory that exists, whose file name is a plain name
 * (no leading '.'; at most 64 bytes). The file is replaced atomically (a temporary file
 * in the same directory, then rename), mode 0644, so that node_exporter's textfile
 * collector, running as another user, can read it. Returns 0, -EINVAL for such a path,
 * or -ENOMEM. */
int status_writer_set_metrics_file(StatusWriter *w, const char *path);
/* Something counted changed: write soon. */
void status_writer_changed(StatusWriter *w);
/* Write now (at start and stop). Returns 0 or -errno (also when disabled: -ESHUTDOWN). */
int status_writer_flush(StatusWriter *w);
