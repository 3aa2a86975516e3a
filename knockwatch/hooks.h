/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hooks.h — grant and revoke hooks: --exec-on-grant=PROGRAM and --exec-on-revoke=PROGRAM
 * run PROGRAM when the daemon has granted, refreshed or revoked (closing sequence,
 * expiry) a source's access. The hook learns what happened from its environment only:
 *
 *   KNOCKWATCH_EVENT         grant | refresh | revoke
 *   KNOCKWATCH_SOURCE        the client's address, canonical form
 *   KNOCKWATCH_DOOR          the door's name
 *   KNOCKWATCH_SET           the nftables set, "inet knockwatch ssh4" (bytes outside
 *                            printable ASCII written as \xNN)
 *   KNOCKWATCH_TIMEOUT_SEC   how long the grant lasts (grant, refresh); 0 for revoke
 *   KNOCKWATCH_REASON        sequence | closing-sequence | expired
 *   PATH                     HOOK_PATH
 *
 * (the names and values of the audit records, audit.h). Nothing else: no other
 * variable of the daemon's environment, and argv is the program alone, so no text from
 * a log line ever reaches a command line.
 *
 * How a hook runs: posix_spawn() (vfork semantics: the daemon does not wait for the
 * child beyond its exec), no shell, as the daemon's user, in a process group of its own,
 * stdin /dev/null, stdout and stderr the daemon's (the journal under systemd), every
 * other file descriptor closed, every signal at its default and unblocked, without the
 * daemon's capabilities (hooks_new() clears the process's ambient set). At most
 * max_running hooks run at once; an event beyond that is dropped and counted, never
 * queued. A hook still running at its time limit gets SIGTERM (its whole process
 * group), and SIGKILL kill_grace later. Exits are watched with sd-event child sources
 * (which need SIGCHLD blocked: hooks_new() blocks it in the calling thread; call it
 * before any thread starts). The daemon never waits for a hook: a grant is committed
 * before its hook starts.
 *
 * The module does not log: everything that happens to a hook (its end, a failure to
 * start, drops) is handed to the report function, which the daemon logs.
 */
#pragma once

#include <sys/types.h>
#include <systemd/sd-event.h>

#include "door.h"
#include "knock.h"
#include "time-util.h"

#define HOOKS_RUNNING_MAX 4
#define HOOK_TIME_LIMIT (10 * USEC_PER_SEC)
#define HOOK_KILL_GRACE (2 * USEC_PER_SEC)
#define HOOK_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* Drops are reported at most this often (the counter counts every one). */
#define HOOK_DROP_REPORT_INTERVAL (60 * USEC_PER_SEC)

typedef enum HookEvent {
        HOOK_EVENT_GRANT,      /* runs the grant program */
        HOOK_EVENT_REFRESH,    /* runs the grant program */
        HOOK_EVENT_REVOKE,     /* runs the revoke program */
        _HOOK_EVENT_MAX,
} HookEvent;

const char *hook_event_to_string(HookEvent e);   /* "grant", "refresh", "revoke" */

typedef struct HookContext {
        HookEvent event;
        KnockAddr source;
        unsigned prefix;          /* the set's prefix length: "2001:db8::/64" (0, 32, 128: the address) */
        const char *door;
        const char *set;          /* the set's label, "inet knockwatch ssh4" */
        uint64_t timeout_ms;      /* grant and refresh */
        const char *reason;       /* "sequence", "closing-sequence", "expired" */
} HookContext;

typedef struct HooksConfig {
        const char *on_grant;     /* absolute path, or NULL */
        const char *on_revoke;
        unsigned max_running;     /* 0: HOOKS_RUNNING_MAX */
        usec_t time_limit;        /* 0: HOOK_TIME_LIMIT */
        usec_t kill_grace;        /* 0: HOOK_KILL_GRACE */
} HooksConfig;

typedef enum HookOutcome {
        HOOK_SUCCEEDED,           /* exit status 0 */
        HOOK_FAILED,              /* exit status in .status */
        HOOK_KILLED,              /* by signal .status, not at its time limit */
        HOOK_TIMED_OUT,           /* killed at its time limit (.status: the signal) */
        HOOK_SPAWN_FAILED,        /* could not start: .error */
        HOOK_DROPPED,             /* .dropped events not run since the last such report */
} HookOutcome;

typedef struct HookReport {
        HookOutcome outcome;
        HookEvent event;
        const char *program;
        char source[KNOCK_PREFIX_STRLEN];
        char door[DOOR_NAME_MAX + 1];
        pid_t pid;                /* 0 if it did not start */
        int status;
        int error;
        uint64_t dropped;
        usec_t runtime;           /* from start to exit */
} HookReport;

typedef void (*hook_report_fn)(const HookReport *report, void *userdata);

typedef struct HooksStats {
        uint64_t runs;            /* started */
        uint64_t failures;        /* FAILED, KILLED, TIMED_OUT (also counted below), SPAWN_FAILED */
        uint64_t timeouts;
        uint64_t drops;
        unsigned running;
} HooksStats;

typedef struct Hooks Hooks;

/* Check a hook program as the daemon will run it: an absolute path, naming a regular
 * file the daemon's user may execute, that neither group nor others may write. option
 * names it in the message ("--exec-on-grant"). Returns 0, or -errno with *ret_error
 * saying what is wrong, naming the option and the path. */
int hook_program_check(const char *option, const char *path, char **ret_error);

/* Both programs are checked (hook_program_check()); either may be NULL. Blocks SIGCHLD
 * and clears the ambient capability set. */
int hooks_new(sd_event *event, const HooksConfig *config, hook_report_fn report, void *userdata,
              Hooks **ret, char **ret_error);
/* Kills (SIGKILL, whole process group) and reaps the hooks still running. */
Hooks *hooks_free(Hooks *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(Hooks *, hooks_free);

/* Start the event's program, if one is configured, without waiting for it. Returns 1 if
 * it started, 0 if there is no program for the event (or h is NULL), -EBUSY if it was
 * dropped (too many running), or -errno if it could not start; every outcome but 0 is
 * also reported. ctx's strings are copied. */
int hooks_run(Hooks *h, const HookContext *ctx);

void hooks_get_stats(const Hooks *h, HooksStats *ret);   /* h may be NULL: all 0 */

/* A report as one log line ("Hook \"/usr/local/bin/notify\" (grant of ssh to 192.0.2.7)
 * failed with exit status 3."), and the syslog priority to log it at (LOG_DEBUG for a
 * success). Returns buf. */
const char *hook_report_describe(const HookReport *r, char *buf, size_t size, int *ret_priority);
