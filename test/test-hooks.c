/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-hooks.c — grant and revoke hooks on a real sd-event loop with real children:
 *   - the hook's environment is exactly the KNOCKWATCH_* fields and PATH (outside text
 *     escaped), argv is the program alone, stdin is /dev/null, no other descriptor is
 *     open, no signal is blocked or ignored, and it leads its own process group, even
 *     though the test itself blocks and ignores signals and holds an inheritable fd;
 *     and the daemon's ambient capabilities (CAP_NET_ADMIN under the unit) do not pass
 *     on to it;
 *   - a hook that hangs (and ignores SIGTERM, and leaves a child behind) is killed with
 *     its whole group at its limit, while the loop goes on: timers fire and other hooks
 *     run and end before it;
 *   - at most max_running run at once; the rest are dropped, counted, and reported
 *     rate-limited, the quiet ones as soon as a hook can run again;
 *   - exit statuses, signals and a program gone since the start are reported;
 *   - a program that is not absolute, missing, not a regular file, not executable or
 *     writable by others is refused at the start with a message naming the option and
 *     the path.
 * Prints one benchmark line: what hooks_run() costs the loop (posix_spawn).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include "hooks.h"
#include "string-util.h"
#include "tests.h"

static char dir[64];
static char probe[4096];   /* the built hook-probe */

#define REPORTS_MAX 64

typedef struct Run {
        sd_event *event;
        HookReport reports[REPORTS_MAX];
        char programs[REPORTS_MAX][256];
        size_t n_reports;
        unsigned ticks;
        unsigned ticks_at_report[REPORTS_MAX];
        bool timed_out;
} Run;

static void on_report(const HookReport *r, void *userdata) {
        Run *run = userdata;

        ASSERT_TRUE(run->n_reports < REPORTS_MAX);
        run->reports[run->n_reports] = *r;
        snprintf(run->programs[run->n_reports], sizeof(run->programs[0]), "%s", r->program ?: "");
        run->reports[run->n_reports].program = run->programs[run->n_reports];
        run->ticks_at_report[run->n_reports] = run->ticks;
        run->n_reports++;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        ((Run *) userdata)->timed_out = true;
        return 0;
}

/* Run the loop until n reports have come (a generous deadline fails the test). */
static void wait_reports(Run *run, size_t n) {
        _cleanup_(sd_event_source_unrefp) sd_event_source *deadline = NULL;

        ASSERT_OK(sd_event_add_time_relative(run->event, &deadline, CLOCK_MONOTONIC, 20 * USEC_PER_SEC, 0,
                                             on_deadline, run));
        while (run->n_reports < n && !run->timed_out)
                ASSERT_OK(sd_event_run(run->event, UINT64_MAX));
        if (run->timed_out) {
                fprintf(stderr, "only %zu of %zu reports came\n", run->n_reports, n);
                abort();
        }
}

static void write_script(const char *name, mode_t mode, const char *body, char *ret_path, size_t size) {
        FILE *f;

        snprintf(ret_path, size, "%s/%s", dir, name);
        f = fopen(ret_path, "we");
        ASSERT_TRUE(f);
        fprintf(f, "#!/bin/sh\n%s\n", body);
        ASSERT_TRUE(fclose(f) == 0);
        ASSERT_OK(chmod(ret_path, mode));
}

/* A symlink to hook-probe; it writes to PATH.out. */
static void make_probe(const char *name, char *ret_path, size_t size) {
        snprintf(ret_path, size, "%s/%s", dir, name);
        ASSERT_OK(symlink(probe, ret_path));
}

static char *read_out(const char *program) {
        static char buf[16384];
        char path[4200];
        FILE *f;
        size_t n;

        snprintf(path, sizeof(path), "%s.out", program);
        f = fopen(path, "re");
        ASSERT_TRUE(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = 0;
        fclose(f);
        return buf;
}

static size_t count_lines_starting(const char *text, const char *prefix) {
        size_t n = 0, l = strlen(prefix);

        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (strncmp(p, prefix, l) == 0)
                        n++;
        return n;
}

/* Put cap into this process's ambient set, as the unit's AmbientCapabilities= does;
 * false if that cannot be done here (not root). */
static bool raise_ambient(int cap) {
        struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[2] = {};

        if (syscall(SYS_capget, &header, data) < 0)
                return false;
        data[cap / 32].inheritable |= 1U << (cap % 32);
        if (syscall(SYS_capset, &header, data) < 0)
                return false;
        return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) == 0;
}

static HookContext context(HookEvent event, const char *addr, const char *set, const char *reason) {
        HookContext c = {
                .event = event,
                .door = "ssh",
                .set = set,
                .timeout_ms = 60500,
                .reason = reason,
        };

        ASSERT_OK(knock_addr_parse(addr, &c.source));
        return c;
}

TEST(environment_and_process) {
        char grant[4096], revoke[4096], want[4600];
        _cleanup_(hooks_freep) Hooks *h = NULL;
        Run run = {};
        HookContext c;
        HooksStats st;
        const char *out;
        sigset_t block;
        usec_t t0, spawn_cost;
        int leak;

        make_probe("probe-grant", grant, sizeof(grant));
        make_probe("probe-revoke", revoke, sizeof(revoke));
        bool ambient = raise_ambient(CAP_NET_ADMIN);
        if (!ambient)
                printf("note: cannot raise an ambient capability here (not root): not checking that hooks drop it\n");
        else
                ASSERT_EQ(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_ADMIN, 0, 0), 1);
        ASSERT_OK(sd_event_new(&run.event));
        ASSERT_OK(hooks_new(run.event, &(HooksConfig) { .on_grant = grant, .on_revoke = revoke },
                            on_report, &run, &h, NULL));

        /* What the daemon's process has that a hook must not get: an inheritable fd,
         * blocked and ignored signals, variables of its own. */
        leak = open("/dev/null", O_RDONLY);
        ASSERT_TRUE(leak > 2);
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGHUP);
        ASSERT_OK(sigprocmask(SIG_BLOCK, &block, NULL));
        signal(SIGPIPE, SIG_IGN);
        setenv("KW_SECRET_OF_THE_DAEMON", "x", 1);

        c = context(HOOK_EVENT_GRANT, "2001:db8::1a:2", "inet knockwatch ssh6", "sequence");
        t0 = now_usec(CLOCK_MONOTONIC);
        ASSERT_EQ(hooks_run(h, &c), 1);
        spawn_cost = now_usec(CLOCK_MONOTONIC) - t0;
        printf("benchmark: hooks_run (posix_spawn of a hook) took %llu us in the loop\n",
               (unsigned long long) spawn_cost);
        wait_reports(&run, 1);
        ASSERT_EQ(run.reports[0].outcome, HOOK_SUCCEEDED);
        ASSERT_EQ(run.reports[0].event, HOOK_EVENT_GRANT);
        ASSERT_STREQ(run.reports[0].program, grant);
        ASSERT_STREQ(run.reports[0].source, "2001:db8::1a:2");
        ASSERT_STREQ(run.reports[0].door, "ssh");
        ASSERT_TRUE(run.reports[0].pid > 0);

        out = read_out(grant);
        ASSERT_CONTAINS(out, "argc=1\n");
        snprintf(want, sizeof(want), "argv0=%s\n", grant);
        ASSERT_CONTAINS(out, want);
        /* exactly these seven variables */
        ASSERT_EQ(count_lines_starting(out, "env="), 7);
        ASSERT_CONTAINS(out, "env=KNOCKWATCH_EVENT=grant\n");
        ASSERT_CONTAINS(out, "env=KNOCKWATCH_SOURCE=2001:db8::1a:2\n");
        ASSERT_CONTAINS(out, "env=KNOCKWATCH_DOOR=ssh\n");
        ASSERT_CONTAINS(out, "env=KNOCKWATCH_SET=inet knockwatch ssh6\n");
        ASSERT_CONTAINS(out, "env=KNOCKWATCH_TIMEOUT_SEC=60\n");
        ASSERT_CONTAINS(out, "env=KNOCKWATCH_REASON=sequence\n");
        ASSERT_CONTAINS(out, "env=PATH=" HOOK_PATH "\n");
        /* stdin /dev/null, stdout and stderr the daemon's, nothing else */
        ASSERT_CONTAINS(out, "fd0=/dev/null\n");
        ASSERT_EQ(count_lines_starting(out, "fd"), 3);
        ASSERT_EQ(count_lines_starting(out, "fd1="), 1);
        ASSERT_EQ(count_lines_starting(out, "fd2="), 1);
        ASSERT_CONTAINS(out, "pgid_is_pid=1\n");
        ASSERT_CONTAINS(out, "SigBlk=0000000000000000\n");
        ASSERT_CONTAINS(out, "CapAmb=0000000000000000\n");
        ASSERT_EQ(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_ADMIN, 0, 0), 0);
        /* Nothing ignored either, but for glibc's two internal signals (32 and 33): its
         * posix_spawn() ignores them in the child while it shares the parent's memory,
         * and cannot be told otherwise; a program installs its own handlers for them. */
        const char *ign = strstr(out, "SigIgn=");
        ASSERT_TRUE(ign);
        ASSERT_EQ(strtoull(ign + 7, NULL, 16) & ~0x180000000ULL, 0);

        /* a revoke: the other program; outside text in the set's name escaped; no timeout */
        c = context(HOOK_EVENT_REVOKE, "192.0.2.7", "inet knockwatch s\nx\"y\xff$(id)", "expired");
        ASSERT_EQ(hooks_run(h, &c), 1);
        wait_reports(&run, 2);
        ASSERT_EQ(run.reports[1].outcome, HOOK_SUCCEEDED);
        ASSERT_STREQ(run.reports[1].program, revoke);
        out = read_out(revoke);
        ASSERT_EQ(count_lines_starting(out, "env="), 7);
        ASSERT_CONTAINS(out, "env=KNOCKWATCH_EVENT=revoke\n");
        ASSERT_CONTAINS(out, "env=KNOCKWATCH_SOURCE=192.0.2.7\n");
        ASSERT_CONTAINS(out, "env=KNOCKWATCH_SET=inet knockwatch s\\x0ax\"y\\xff$(id)\n");
        ASSERT_CONTAINS(out, "env=KNOCKWATCH_TIMEOUT_SEC=0\n");
        ASSERT_CONTAINS(out, "env=KNOCKWATCH_REASON=expired\n");

        /* a refresh runs the grant program */
        c = context(HOOK_EVENT_REFRESH, "192.0.2.8", "inet knockwatch ssh4", "sequence");
        ASSERT_EQ(hooks_run(h, &c), 1);
        wait_reports(&run, 3);
        ASSERT_STREQ(run.reports[2].program, grant);
        out = read_out(grant);
        ASSERT_CONTAINS(out, "env=KNOCKWATCH_EVENT=refresh\n");
        ASSERT_CONTAINS(out, "env=KNOCKWATCH_SOURCE=192.0.2.8\n");

        hooks_get_stats(h, &st);
        ASSERT_EQ(st.runs, 3);
        ASSERT_EQ(st.failures, 0);
        ASSERT_EQ(st.running, 0);

        ASSERT_OK(sigprocmask(SIG_UNBLOCK, &block, NULL));
        signal(SIGPIPE, SIG_DFL);
        unsetenv("KW_SECRET_OF_THE_DAEMON");
        close(leak);
        h = hooks_free(h);
        sd_event_unref(run.event);
}

TEST(no_program_for_the_event) {
        char grant[4096];
        _cleanup_(hooks_freep) Hooks *h = NULL;
        sd_event *e;
        HookContext c = context(HOOK_EVENT_REVOKE, "192.0.2.9", "inet knockwatch ssh4", "closing-sequence");

        make_probe("probe-only-grant", grant, sizeof(grant));
        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(hooks_new(e, &(HooksConfig) { .on_grant = grant }, NULL, NULL, &h, NULL));
        ASSERT_EQ(hooks_run(h, &c), 0);
        h = hooks_free(h);
        sd_event_unref(e);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Run *run = userdata;

        run->ticks++;
        (void) sd_event_source_set_time_relative(s, 50 * USEC_PER_MSEC);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

/* Is PID gone (or a zombie nobody reaped: dead all the same)? */
static bool process_gone(pid_t pid) {
        char path[64], stat[512];
        FILE *f;
        bool gone = true;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return true;
        if (fgets(stat, sizeof(stat), f)) {
                const char *paren = strrchr(stat, ')');
                gone = paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
        }
        fclose(f);
        return gone;
}

static pid_t read_pid(const char *path) {
        FILE *f = fopen(path, "re");
        int pid = 0;

        ASSERT_TRUE(f);
        ASSERT_EQ(fscanf(f, "%d", &pid), 1);
        fclose(f);
        return (pid_t) pid;
}

TEST(hang_killed_at_limit_loop_goes_on) {
        char stubborn[4096], polite[4096], fast[4096], body[16384], child_file[4096];
        _cleanup_(hooks_freep) Hooks *h = NULL;
        _cleanup_(sd_event_source_unrefp) sd_event_source *tick = NULL;
        Run run = {};
        HookContext c = context(HOOK_EVENT_GRANT, "192.0.2.10", "inet knockwatch ssh4", "sequence");
        const usec_t limit = 600 * USEC_PER_MSEC;
        HooksStats st;
        pid_t grandchild;
        int i_stubborn = -1, i_polite = -1, i_fast = -1;

        /* ignores SIGTERM (so does its child, which it leaves behind), tells its child's PID */
        snprintf(child_file, sizeof(child_file), "%s/grandchild", dir);
        snprintf(body, sizeof(body), "trap '' TERM\nsleep 1000 &\necho $! > %s.tmp\nmv %s.tmp %s\nwait\nsleep 1000",
                 child_file, child_file, child_file);
        write_script("stubborn", 0755, body, stubborn, sizeof(stubborn));
        write_script("polite", 0755, "exec sleep 1000", polite, sizeof(polite));
        make_probe("probe-fast", fast, sizeof(fast));

        ASSERT_OK(sd_event_new(&run.event));
        ASSERT_OK(hooks_new(run.event, &(HooksConfig) { .on_grant = stubborn, .on_revoke = polite,
                                                        .time_limit = limit, .kill_grace = 300 * USEC_PER_MSEC },
                            on_report, &run, &h, NULL));
        ASSERT_OK(sd_event_add_time_relative(run.event, &tick, CLOCK_MONOTONIC, 50 * USEC_PER_MSEC, 0, on_tick, &run));

        ASSERT_EQ(hooks_run(h, &c), 1);
        c.event = HOOK_EVENT_REVOKE;
        ASSERT_EQ(hooks_run(h, &c), 1);
        hooks_get_stats(h, &st);
        ASSERT_EQ(st.running, 2);

        /* While those two hang, the loop keeps going: a third hook, with another program,
         * runs and ends long before they are killed. */
        h = hooks_free(h);
        ASSERT_EQ(run.n_reports, 0);  /* freeing kills without a report */
        ASSERT_OK(hooks_new(run.event, &(HooksConfig) { .on_grant = stubborn, .on_revoke = fast,
                                                        .time_limit = limit, .kill_grace = 300 * USEC_PER_MSEC },
                            on_report, &run, &h, NULL));
        (void) unlink(child_file);
        c.event = HOOK_EVENT_GRANT;
        ASSERT_EQ(hooks_run(h, &c), 1);
        c.event = HOOK_EVENT_REVOKE;
        ASSERT_EQ(hooks_run(h, &c), 1);
        wait_reports(&run, 2);
        for (size_t i = 0; i < run.n_reports; i++) {
                if (streq(run.reports[i].program, stubborn))
                        i_stubborn = (int) i;
                if (streq(run.reports[i].program, fast))
                        i_fast = (int) i;
        }
        ASSERT_EQ(i_fast, 0);                       /* the fast one ended first */
        ASSERT_EQ(run.reports[i_fast].outcome, HOOK_SUCCEEDED);
        ASSERT_EQ(i_stubborn, 1);
        ASSERT_EQ(run.reports[i_stubborn].outcome, HOOK_TIMED_OUT);
        ASSERT_EQ(run.reports[i_stubborn].status, SIGKILL);   /* SIGTERM was ignored */
        ASSERT_TRUE(run.reports[i_stubborn].runtime >= limit);
        ASSERT_TRUE(run.ticks_at_report[i_stubborn] > run.ticks_at_report[i_fast]);
        ASSERT_TRUE(run.ticks_at_report[i_stubborn] >= 3);    /* timers fired all along */
        /* its child, left behind in its group, died with it */
        grandchild = read_pid(child_file);
        for (unsigned k = 0; k < 100 && !process_gone(grandchild); k++)
                usleep(50 * 1000);
        ASSERT_TRUE(process_gone(grandchild));

        /* one that obeys SIGTERM ends by it */
        h = hooks_free(h);
        ASSERT_OK(hooks_new(run.event, &(HooksConfig) { .on_grant = polite, .time_limit = limit },
                            on_report, &run, &h, NULL));
        c.event = HOOK_EVENT_GRANT;
        ASSERT_EQ(hooks_run(h, &c), 1);
        wait_reports(&run, 3);
        i_polite = 2;
        ASSERT_EQ(run.reports[i_polite].outcome, HOOK_TIMED_OUT);
        ASSERT_EQ(run.reports[i_polite].status, SIGTERM);
        hooks_get_stats(h, &st);
        ASSERT_EQ(st.timeouts, 1);
        ASSERT_EQ(st.failures, 1);
        ASSERT_EQ(st.running, 0);
        h = hooks_free(h);
        tick = sd_event_source_disable_unref(tick);
        sd_event_unref(run.event);
}

TEST(concurrency_bound) {
        char hang[4096], fast[4096], pid_file[4096], body[16384];
        _cleanup_(hooks_freep) Hooks *h = NULL;
        Run run = {};
        HookContext c = context(HOOK_EVENT_GRANT, "192.0.2.11", "inet knockwatch ssh4", "sequence");
        HooksStats st;
        pid_t pid;

        /* each run says its PID (written whole, then renamed) */
        snprintf(pid_file, sizeof(pid_file), "%s/hang.pid", dir);
        snprintf(body, sizeof(body), "echo $$ > %s.$$\nmv %s.$$ %s\nexec sleep 1000", pid_file, pid_file, pid_file);
        write_script("hang", 0755, body, hang, sizeof(hang));
        make_probe("probe-after", fast, sizeof(fast));

        ASSERT_OK(sd_event_new(&run.event));
        ASSERT_OK(hooks_new(run.event, &(HooksConfig) { .on_grant = hang, .on_revoke = fast, .max_running = 2,
                                                        .time_limit = 800 * USEC_PER_MSEC },
                            on_report, &run, &h, NULL));
        ASSERT_EQ(hooks_run(h, &c), 1);
        ASSERT_EQ(hooks_run(h, &c), 1);
        /* the third is dropped and reported; more drops within the interval are counted quietly */
        ASSERT_ERROR(hooks_run(h, &c), EBUSY);
        ASSERT_EQ(run.n_reports, 1);
        ASSERT_EQ(run.reports[0].outcome, HOOK_DROPPED);
        ASSERT_EQ(run.reports[0].dropped, 1);
        ASSERT_STREQ(run.reports[0].source, "192.0.2.11");
        char line[1024];
        int priority;
        ASSERT_CONTAINS(hook_report_describe(&run.reports[0], line, sizeof(line), &priority),
                        "for 1 event(s) (the last: grant of ssh to 192.0.2.11): too many hooks");
        c.event = HOOK_EVENT_REVOKE;   /* the bound is for all hooks together */
        ASSERT_ERROR(hooks_run(h, &c), EBUSY);
        ASSERT_ERROR(hooks_run(h, &c), EBUSY);
        ASSERT_EQ(run.n_reports, 1);
        hooks_get_stats(h, &st);
        ASSERT_EQ(st.running, 2);
        ASSERT_EQ(st.runs, 2);
        ASSERT_EQ(st.drops, 3);

        /* once the two are killed at their limit, a hook runs again, and the quiet drops
         * are reported first */
        wait_reports(&run, 3);
        ASSERT_EQ(run.reports[1].outcome, HOOK_TIMED_OUT);
        ASSERT_EQ(run.reports[2].outcome, HOOK_TIMED_OUT);
        ASSERT_EQ(hooks_run(h, &c), 1);
        ASSERT_EQ(run.n_reports, 4);
        ASSERT_EQ(run.reports[3].outcome, HOOK_DROPPED);
        ASSERT_EQ(run.reports[3].dropped, 2);
        wait_reports(&run, 5);
        ASSERT_EQ(run.reports[4].outcome, HOOK_SUCCEEDED);
        ASSERT_STREQ(run.reports[4].program, fast);
        hooks_get_stats(h, &st);
        ASSERT_EQ(st.drops, 3);
        ASSERT_EQ(st.runs, 3);

        /* freeing the hooks kills and reaps what still runs */
        (void) unlink(pid_file);
        c.event = HOOK_EVENT_GRANT;
        ASSERT_EQ(hooks_run(h, &c), 1);
        for (unsigned k = 0; k < 200 && access(pid_file, F_OK) < 0; k++)
                usleep(25 * 1000);
        pid = read_pid(pid_file);
        ASSERT_TRUE(!process_gone(pid));
        h = hooks_free(h);
        ASSERT_TRUE(kill(pid, 0) < 0 && errno == ESRCH);   /* killed and reaped, no zombie */
        sd_event_unref(run.event);
}

TEST(outcomes_reported) {
        char fails[4096], selfkill[4096], gone[4096];
        _cleanup_(hooks_freep) Hooks *h = NULL;
        Run run = {};
        HookContext c = context(HOOK_EVENT_GRANT, "192.0.2.12", "inet knockwatch ssh4", "sequence");
        HooksStats st;

        write_script("fails", 0755, "exit 3", fails, sizeof(fails));
        write_script("selfkill", 0755, "kill -USR1 $$", selfkill, sizeof(selfkill));
        write_script("gone", 0755, "exit 0", gone, sizeof(gone));

        ASSERT_OK(sd_event_new(&run.event));
        ASSERT_OK(hooks_new(run.event, &(HooksConfig) { .on_grant = fails, .on_revoke = selfkill },
                            on_report, &run, &h, NULL));
        ASSERT_EQ(hooks_run(h, &c), 1);
        wait_reports(&run, 1);
        ASSERT_EQ(run.reports[0].outcome, HOOK_FAILED);
        ASSERT_EQ(run.reports[0].status, 3);
        c.event = HOOK_EVENT_REVOKE;
        ASSERT_EQ(hooks_run(h, &c), 1);
        wait_reports(&run, 2);
        ASSERT_EQ(run.reports[1].outcome, HOOK_KILLED);
        ASSERT_EQ(run.reports[1].status, SIGUSR1);

        /* what the daemon logs of them */
        char line[1024], want[4200];
        int priority;
        snprintf(want, sizeof(want), "Hook \"%s\" (grant of ssh to 192.0.2.12) failed with exit status 3.", fails);
        ASSERT_STREQ(hook_report_describe(&run.reports[0], line, sizeof(line), &priority), want);
        ASSERT_EQ(priority, LOG_WARNING);
        snprintf(want, sizeof(want), "Hook \"%s\" (revoke of ssh from 192.0.2.12) was killed by signal SIGUSR1.",
                 selfkill);
        ASSERT_STREQ(hook_report_describe(&run.reports[1], line, sizeof(line), &priority), want);
        h = hooks_free(h);

        /* checked at the start, removed since: it cannot start, which is reported */
        ASSERT_OK(hooks_new(run.event, &(HooksConfig) { .on_grant = gone }, on_report, &run, &h, NULL));
        ASSERT_OK(unlink(gone));
        c.event = HOOK_EVENT_GRANT;
        ASSERT_ERROR(hooks_run(h, &c), ENOENT);
        ASSERT_EQ(run.n_reports, 3);
        ASSERT_EQ(run.reports[2].outcome, HOOK_SPAWN_FAILED);
        ASSERT_EQ(run.reports[2].error, -ENOENT);
        hooks_get_stats(h, &st);
        ASSERT_EQ(st.failures, 1);
        ASSERT_EQ(st.running, 0);
        h = hooks_free(h);
        sd_event_unref(run.event);
}

static void expect_refused(const char *grant, const char *revoke, int error, const char *text1, const char *text2) {
        _cleanup_free_ char *message = NULL;
        Hooks *h = NULL;
        sd_event *e;

        ASSERT_OK(sd_event_new(&e));
        ASSERT_ERROR(hooks_new(e, &(HooksConfig) { .on_grant = grant, .on_revoke = revoke }, NULL, NULL, &h, &message),
                     error);
        ASSERT_TRUE(h == NULL);
        ASSERT_CONTAINS(message, text1);
        ASSERT_CONTAINS(message, text2);
        sd_event_unref(e);
}

TEST(refused_at_start) {
        char noexec[4096], writable[4096], good[4096], quoted[4200];

        write_script("noexec", 0644, "exit 0", noexec, sizeof(noexec));
        write_script("writable", 0775, "exit 0", writable, sizeof(writable));
        write_script("good", 0755, "exit 0", good, sizeof(good));

        expect_refused("bin/true", NULL, EINVAL, "--exec-on-grant=\"bin/true\"", "not an absolute path");
        expect_refused(NULL, "true", EINVAL, "--exec-on-revoke=\"true\"", "not an absolute path");
        expect_refused("/nonexistent/hook", NULL, ENOENT, "--exec-on-grant=\"/nonexistent/hook\"",
                       "No such file or directory");
        expect_refused(dir, NULL, EINVAL, dir, "not a regular file");
        snprintf(quoted, sizeof(quoted), "--exec-on-grant=\"%s\"", noexec);
        expect_refused(noexec, NULL, EACCES, quoted, "not executable");
        snprintf(quoted, sizeof(quoted), "--exec-on-revoke=\"%s\"", writable);
        expect_refused(good, writable, EPERM, quoted, "group or others may write it");
        expect_refused("/tmp/a\nb", NULL, ENOENT, "--exec-on-grant=\"/tmp/a\\x0ab\"", "No such file");
        expect_refused("", NULL, EINVAL, "--exec-on-grant", "absolute path");

        /* and the check alone agrees */
        ASSERT_OK(hook_program_check("--exec-on-grant", good, NULL));
}

int main(void) {
        const char *build = getenv("KW_BUILDDIR");

        snprintf(probe, sizeof(probe), "%s/test/hook-probe", build ?: "build");
        if (access(probe, X_OK) < 0) {
                fprintf(stderr, "no hook-probe at %s (build first, or set KW_BUILDDIR)\n", probe);
                return 1;
        }
        snprintf(dir, sizeof(dir), "/tmp/kw-test-hooks.XXXXXX");
        ASSERT_TRUE(mkdtemp(dir));
        ASSERT_OK(chmod(dir, 0755));

        RUN(environment_and_process);
        RUN(no_program_for_the_event);
        RUN(hang_killed_at_limit_loop_goes_on);
        RUN(concurrency_bound);
        RUN(outcomes_reported);
        RUN(refused_at_start);

        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        return system(cmd) == 0 ? 0 : 1;
}
