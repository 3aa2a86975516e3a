/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hooks.c — see hooks.h.
 *
 * One slot per hook that may run at once. A slot holds the child's sd-event child
 * source (WEXITED, "process owned": freeing it kills and reaps the child) and a one-shot
 * timer: at the time limit it sends SIGTERM to the hook's process group and re-arms
 * itself for the grace period, then sends SIGKILL. The child callback runs while the
 * hook's process is still an unreaped zombie (sd-event reaps it after the callback), so
 * its PID — which is also its process group's ID — cannot have been reused by then:
 * signalling the group from the timer or the callback can only reach the hook's own
 * processes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "errno-util.h"
#include "hooks.h"
#include "string-util.h"

/* An environment variable's value from outside text: escaped and bounded. */
#define HOOK_VALUE_MAX 512

typedef struct HookRun {
        Hooks *hooks;
        bool in_use;
        bool terminated;           /* SIGTERM sent at the time limit */
        pid_t pid;
        HookEvent event;
        const char *program;
        char source[KNOCK_PREFIX_STRLEN];
        char door[DOOR_NAME_MAX + 1];
        usec_t started;
        sd_event_source *child;
        sd_event_source *timer;
} HookRun;

struct Hooks {
        sd_event *event;
        char *grant_program;
        char *revoke_program;
        unsigned max_running;
        usec_t time_limit;
        usec_t kill_grace;
        hook_report_fn report;
        void *userdata;
        HookRun *runs;             /* max_running slots */
        HooksStats stats;
        uint64_t dropped_unreported;
        usec_t drop_reported;      /* CLOCK_MONOTONIC of the last drop report; 0: never */
};

static const char *const hook_events[_HOOK_EVENT_MAX] = {
        [HOOK_EVENT_GRANT] = "grant",
        [HOOK_EVENT_REFRESH] = "refresh",
        [HOOK_EVENT_REVOKE] = "revoke",
};

const char *hook_event_to_string(HookEvent e) {
        return e >= 0 && e < _HOOK_EVENT_MAX ? hook_events[e] : NULL;
}

int hook_program_check(const char *option, const char *path, char **ret_error) {
        char shown[300];
        struct stat st;

        if (!path || !path[0])
                return set_error(ret_error, -EINVAL, "%s needs a program's absolute path.", option);
        (void) escape_into(path, strlen(path), 256, ESCAPE_QUOTE, shown, sizeof(shown));
        if (path[0] != '/')
                return set_error(ret_error, -EINVAL, "%s=%s: not an absolute path; hooks run without "
                                 "a shell and without a search path.", option, shown);
        if (stat(path, &st) < 0) {
                int r = negative_errno();
                return set_error(ret_error, r, "%s=%s: cannot use it: %s.", option, shown, strerror(-r));
        }
        if (!S_ISREG(st.st_mode))
                return set_error(ret_error, -EINVAL, "%s=%s: not a regular file.", option, shown);
        if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0) {
                int r = negative_errno();
                return set_error(ret_error, r, "%s=%s: not executable by this user (uid %u): %s.",
                                 option, shown, (unsigned) geteuid(), strerror(-r));
        }
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return set_error(ret_error, -EPERM, "%s=%s: group or others may write it, so they "
                                 "could run anything as knockwatch; make it 0755 or stricter.",
                                 option, shown);
        return 0;
}

int hooks_new(sd_event *event, const HooksConfig *config, hook_report_fn report, void *userdata,
              Hooks **ret, char **ret_error) {
        _cleanup_(hooks_freep) Hooks *h = NULL;
        sigset_t mask;
        int r;

        if (config->on_grant) {
                r = hook_program_check("--exec-on-grant", config->on_grant, ret_error);
                if (r < 0)
                        return r;
        }
        if (config->on_revoke) {
                r = hook_program_check("--exec-on-revoke", config->on_revoke, ret_error);
                if (r < 0)
                        return r;
        }

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->event = sd_event_ref(event);
        h->report = report;
        h->userdata = userdata;
        h->max_running = config->max_running ?: HOOKS_RUNNING_MAX;
        h->time_limit = config->time_limit ?: HOOK_TIME_LIMIT;
        h->kill_grace = config->kill_grace ?: HOOK_KILL_GRACE;
        h->grant_program = config->on_grant ? strdup(config->on_grant) : NULL;
        h->revoke_program = config->on_revoke ? strdup(config->on_revoke) : NULL;
        h->runs = calloc(h->max_running, sizeof(HookRun));
        if ((config->on_grant && !h->grant_program) || (config->on_revoke && !h->revoke_program) || !h->runs)
                return -ENOMEM;

        /* A hook gets none of the daemon's capabilities: the unit's AmbientCapabilities=
         * would otherwise pass CAP_NET_ADMIN on through execve(). The ambient set matters
         * only for programs the daemon starts; its own capabilities stay. (A daemon that
         * runs as root starts root hooks all the same.) */
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return set_error(ret_error, negative_errno(),
                                 "Cannot drop the ambient capabilities before running hooks: %m");

        /* sd_event_add_child() wants SIGCHLD blocked; the hooks unblock it (spawn attrs). */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        r = pthread_sigmask(SIG_BLOCK, &mask, NULL);
        if (r != 0)
                return -r;

        *ret = TAKE_PTR(h);
        return 0;
}

static void run_release(HookRun *run) {
        run->child = sd_event_source_disable_unref(run->child);
        run->timer = sd_event_source_disable_unref(run->timer);
        run->in_use = false;
        run->hooks->stats.running--;
}

Hooks *hooks_free(Hooks *h) {
        if (!h)
                return NULL;
        for (unsigned i = 0; h->runs && i < h->max_running; i++) {
                HookRun *run = &h->runs[i];

                if (!run->in_use)
                        continue;
                /* The group first; freeing the owned child source then kills and reaps the
                 * hook itself. */
                (void) kill(-run->pid, SIGKILL);
                run_release(run);
        }
        free(h->runs);
        free(h->grant_program);
        free(h->revoke_program);
        sd_event_unref(h->event);
        free(h);
        return NULL;
}

static void report(Hooks *h, const HookReport *r) {
        if (h->report)
                h->report(r, h->userdata);
}

static HookReport report_of(const HookRun *run, HookOutcome outcome) {
        HookReport r = {
                .outcome = outcome,
                .event = run->event,
                .program = run->program,
                .pid = run->pid,
        };

        memcpy(r.source, run->source, sizeof(r.source));
        memcpy(r.door, run->door, sizeof(r.door));
        return r;
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata) {
        HookRun *run = userdata;
        Hooks *h = run->hooks;
        HookReport r;

        if (si->si_code == CLD_EXITED)
                r = report_of(run, run->terminated ? HOOK_TIMED_OUT
                                   : si->si_status == 0 ? HOOK_SUCCEEDED : HOOK_FAILED);
        else
                r = report_of(run, run->terminated ? HOOK_TIMED_OUT : HOOK_KILLED);
        r.status = si->si_status;
        r.runtime = now_usec(CLOCK_MONOTONIC) - run->started;

        if (run->terminated)
                /* what the hook left behind in its group goes too (the leader is still
                 * an unreaped zombie: its group ID is its own) */
                (void) kill(-run->pid, SIGKILL);
        if (r.outcome != HOOK_SUCCEEDED)
                h->stats.failures++;
        if (r.outcome == HOOK_TIMED_OUT)
                h->stats.timeouts++;
        run_release(run);
        report(h, &r);
        return 0;
}

static int on_time_limit(sd_event_source *s, uint64_t usec, void *userdata) {
        HookRun *run = userdata;

        if (!run->terminated) {
                run->terminated = true;
                (void) kill(-run->pid, SIGTERM);
                (void) sd_event_source_set_time_relative(s, run->hooks->kill_grace);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        } else
                (void) kill(-run->pid, SIGKILL);
        return 0;
}

/* Report the drops not reported yet. */
static void report_drops(Hooks *h, const HookContext *ctx, const char *program, usec_t now) {
        HookReport r = {
                .outcome = HOOK_DROPPED,
                .event = ctx->event,
                .program = program,
                .dropped = h->dropped_unreported,
        };

        (void) knock_prefix_format(&ctx->source, ctx->prefix, r.source);
        (void) snprintf(r.door, sizeof(r.door), "%s", ctx->door ?: "");
        h->dropped_unreported = 0;
        h->drop_reported = now;
        report(h, &r);
}

static void note_drop(Hooks *h, const HookContext *ctx, const char *program) {
        usec_t now = now_usec(CLOCK_MONOTONIC);

        h->stats.drops++;
        h->dropped_unreported++;
        if (h->drop_reported == 0 || now - h->drop_reported >= HOOK_DROP_REPORT_INTERVAL)
                report_drops(h, ctx, program, now);
}

/* "NAME=" + value, escaped and bounded, into buf. */
static char *env_entry(char *buf, size_t size, const char *name, const char *value) {
        char escaped[HOOK_VALUE_MAX];

        (void) escape_into(value ?: "", strlen(value ?: ""), HOOK_VALUE_MAX - 8, 0, escaped, sizeof(escaped));
        (void) snprintf(buf, size, "%s=%s", name, escaped);
        return buf;
}

static int spawn_hook(const char *program, const HookContext *ctx, pid_t *ret_pid) {
#define ENTRY_MAX (HOOK_VALUE_MAX + 32)
        char event[ENTRY_MAX], source[ENTRY_MAX], door[ENTRY_MAX], set[ENTRY_MAX], timeout[64],
                reason[ENTRY_MAX], addr[KNOCK_PREFIX_STRLEN];
        char *const argv[] = { (char *) program, NULL };
        char *const envp[] = {
                env_entry(event, sizeof(event), "KNOCKWATCH_EVENT", hook_event_to_string(ctx->event)),
                env_entry(source, sizeof(source), "KNOCKWATCH_SOURCE", knock_prefix_format(&ctx->source, ctx->prefix, addr)),
                env_entry(door, sizeof(door), "KNOCKWATCH_DOOR", ctx->door),
                env_entry(set, sizeof(set), "KNOCKWATCH_SET", ctx->set),
                timeout,
                env_entry(reason, sizeof(reason), "KNOCKWATCH_REASON", ctx->reason),
                (char *) "PATH=" HOOK_PATH,
                NULL,
        };
        posix_spawn_file_actions_t actions;
        posix_spawnattr_t attr;
        sigset_t none, all;
        int r;

        (void) snprintf(timeout, sizeof(timeout), "KNOCKWATCH_TIMEOUT_SEC=%llu",
                        ctx->event == HOOK_EVENT_REVOKE ? 0ULL : (unsigned long long) (ctx->timeout_ms / 1000));

        sigemptyset(&none);
        sigfillset(&all);
        sigdelset(&all, SIGKILL);
        sigdelset(&all, SIGSTOP);

        r = posix_spawn_file_actions_init(&actions);
        if (r != 0)
                return -r;
        r = posix_spawnattr_init(&attr);
        if (r != 0) {
                posix_spawn_file_actions_destroy(&actions);
                return -r;
        }
        /* stdin from /dev/null, stdout and stderr as the daemon's, nothing else open */
        r = posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
        /* its own process group (to be killed as a whole); no signal blocked, none ignored */
        if (r == 0)
                r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                    POSIX_SPAWN_SETSIGDEF);
        if (r == 0)
                r = posix_spawnattr_setpgroup(&attr, 0);
        if (r == 0)
                r = posix_spawnattr_setsigmask(&attr, &none);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(&attr, &all);
        if (r == 0)
                r = posix_spawn(ret_pid, program, &actions, &attr, argv, envp);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&actions);
        return -r;
}

int hooks_run(Hooks *h, const HookContext *ctx) {
        const char *program = !h ? NULL : ctx->event == HOOK_EVENT_REVOKE ? h->revoke_program : h->grant_program;
        HookRun *run = NULL;
        pid_t pid;
        int r;

        if (!program)
                return 0;
        for (unsigned i = 0; i < h->max_running && !run; i++)
                if (!h->runs[i].in_use)
                        run = &h->runs[i];
        if (!run) {
                note_drop(h, ctx, program);
                return -EBUSY;
        }
        if (h->dropped_unreported > 0)
                /* drops that the rate limit kept quiet: say so now that hooks run again */
                report_drops(h, ctx, program, now_usec(CLOCK_MONOTONIC));

        *run = (HookRun) {
                .hooks = h,
                .event = ctx->event,
                .program = program,
                .started = now_usec(CLOCK_MONOTONIC),
        };
        (void) knock_prefix_format(&ctx->source, ctx->prefix, run->source);
        (void) snprintf(run->door, sizeof(run->door), "%s", ctx->door ?: "");

        r = spawn_hook(program, ctx, &pid);
        if (r < 0) {
                HookReport rep = report_of(run, HOOK_SPAWN_FAILED);

                rep.error = r;
                h->stats.failures++;
                report(h, &rep);
                return r;
        }
        run->pid = pid;
        run->in_use = true;
        h->stats.runs++;
        h->stats.running++;

        r = sd_event_add_child(h->event, &run->child, pid, WEXITED, on_child, run);
        if (r >= 0)
                r = sd_event_source_set_child_process_own(run->child, true);
        if (r >= 0)
                r = sd_event_add_time_relative(h->event, &run->timer, CLOCK_MONOTONIC, h->time_limit,
                                               10 * USEC_PER_MSEC, on_time_limit, run);
        if (r < 0) {
                /* Cannot watch it: do not let it run unwatched. */
                HookReport rep = report_of(run, HOOK_SPAWN_FAILED);

                (void) kill(-pid, SIGKILL);
                run_release(run);
                (void) waitpid(pid, NULL, 0);   /* unless the owned child source reaped it */
                rep.error = r;
                h->stats.failures++;
                report(h, &rep);
                return r;
        }
        return 1;
}

void hooks_get_stats(const Hooks *h, HooksStats *ret) {
        *ret = h ? h->stats : (HooksStats) {};
}

const char *hook_report_describe(const HookReport *r, char *buf, size_t size, int *ret_priority) {
        char program[300], what[128];
        const char *event = hook_event_to_string(r->event) ?: "?";
        const char *signal_name;

        (void) escape_into(r->program ?: "", strlen(r->program ?: ""), 256, ESCAPE_QUOTE, program, sizeof(program));
        /* "grant of ssh to 192.0.2.7", "revoke of ssh from 192.0.2.7" */
        (void) snprintf(what, sizeof(what), "%s of %s %s %s", event, r->door,
                        r->event == HOOK_EVENT_REVOKE ? "from" : "to", r->source);
        signal_name = sigabbrev_np(r->status);

        switch (r->outcome) {
        case HOOK_SUCCEEDED:
                *ret_priority = LOG_DEBUG;
                (void) snprintf(buf, size, "Hook %s (%s) succeeded in %llu ms.", program, what,
                                (unsigned long long) (r->runtime / USEC_PER_MSEC));
                break;
        case HOOK_FAILED:
                *ret_priority = LOG_WARNING;
                (void) snprintf(buf, size, "Hook %s (%s) failed with exit status %d.", program, what, r->status);
                break;
        case HOOK_KILLED:
                *ret_priority = LOG_WARNING;
                (void) snprintf(buf, size, "Hook %s (%s) was killed by signal SIG%s.", program, what,
                                signal_name ?: "?");
                break;
        case HOOK_TIMED_OUT:
                *ret_priority = LOG_WARNING;
                (void) snprintf(buf, size, "Hook %s (%s) ran past its time limit and was stopped "
                                "(SIG%s after %llu ms).", program, what, signal_name ?: "?",
                                (unsigned long long) (r->runtime / USEC_PER_MSEC));
                break;
        case HOOK_SPAWN_FAILED:
                *ret_priority = LOG_ERR;
                (void) snprintf(buf, size, "Could not start hook %s (%s): %s.", program, what,
                                strerror(r->error < 0 ? -r->error : r->error));
                break;
        case HOOK_DROPPED:
        default:
                *ret_priority = LOG_WARNING;
                (void) snprintf(buf, size, "Did not run hook %s for %llu event(s) (the last: %s): "
                                "too many hooks were running already.", program,
                                (unsigned long long) r->dropped, what);
                break;
        }
        return buf;
}
