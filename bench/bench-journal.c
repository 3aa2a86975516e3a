/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-journal — how fast the journal source reads. From a journal directory made by
 * bench/prepare-journal.sh (a million kernel LOG entries of this boot) it measures
 * entries/s delivered through source_open(SOURCE_JOURNAL) + source_attach() on an
 * sd-event loop — with max_age 0 and a state directory whose cursor points at the
 * first entry, so the real resume path runs and every other entry is delivered — until
 * the source has drained the journal. For comparison it also times a bare sd-journal
 * loop (same matches, next() + MESSAGE) over the same entries, and how long a 10 ms timer
 * on the same loop had to wait at most while the backlog was drained (the source works
 * in turns of at most 10,000 entries).
 *
 *   bench-journal DIR [RUNS]         (RUNS of the source, default 3; the median counts)
 *
 * Prints the machine (CPU model, cores, kernel) and the figures. Target: >= 500,000/s.
 */
#include <errno.h>
#include <ftw.h>
#include <sys/utsname.h>
#include <systemd/sd-id128.h>
#include <systemd/sd-journal.h>

#include "fd-util.h"
#include "source.h"
#include "state.h"
#include "string-util.h"
#include "time-util.h"

#define TARGET_PER_SEC 500000.0

typedef struct Run {
        uint64_t lines;
        uint64_t expected;
        uint64_t bytes;
        sd_event *event;
        usec_t max_stall;        /* longest a due timer waited while the source drained */
} Run;

#define TICK_USEC (10 * USEC_PER_MSEC)

static void print_machine(void) {
        _cleanup_fclose_ FILE *f = NULL;
        char line[512], model[256] = "unknown";
        struct utsname u;

        f = fopen("/proc/cpuinfo", "re");
        while (f && fgets(line, sizeof(line), f)) {
                const char *colon = strchr(line, ':');

                if (startswith(line, "model name") && colon) {
                        snprintf(model, sizeof(model), "%s", colon + 2);
                        model[strcspn(model, "\n")] = '\0';
                        break;
                }
        }
        if (uname(&u) < 0)
                snprintf(u.release, sizeof(u.release), "unknown");
        printf("machine: %s, %ld cores, kernel %s\n", model, sysconf(_SC_NPROCESSORS_ONLN), u.release);
}

static int add_matches(sd_journal *j) {
        int r;

        r = sd_journal_add_match(j, "_TRANSPORT=kernel", 0);
        if (r >= 0)
                r = sd_journal_add_match(j, "SYSLOG_FACILITY=0", 0);
        return r;
}

/* The bare loop, doing what the source does per entry (boot check, MESSAGE) without the
 * event loop: count this boot's matching entries and hand back the cursor of the first. */
static int bare_loop(const char *dir, uint64_t *ret_count, double *ret_seconds, double *ret_cpu,
                     char **ret_first) {
        _cleanup_free_ char *first = NULL;
        sd_journal *j = NULL;
        uint64_t n = 0, bytes = 0;
        sd_id128_t boot_id;
        usec_t t0, c0;
        int r;

        r = sd_id128_get_boot(&boot_id);
        if (r < 0)
                return r;
        r = sd_journal_open_directory(&j, dir, 0);
        if (r < 0)
                return r;
        r = add_matches(j);
        if (r >= 0)
                r = sd_journal_set_data_threshold(j, 4096);
        if (r >= 0)
                r = sd_journal_seek_head(j);
        t0 = now_usec(CLOCK_MONOTONIC);
        c0 = now_usec(CLOCK_PROCESS_CPUTIME_ID);
        while (r >= 0 && (r = sd_journal_next(j)) > 0) {
                const void *data;
                sd_id128_t boot;
                uint64_t t;
                size_t len;

                if (sd_journal_get_monotonic_usec(j, &t, &boot) < 0 || !sd_id128_equal(boot, boot_id))
                        continue;
                if (n == 0 && (r = sd_journal_get_cursor(j, &first)) < 0)
                        break;
                if (sd_journal_get_data(j, "MESSAGE", &data, &len) >= 0)
                        bytes += len;
                n++;
        }
        *ret_cpu = (double) (now_usec(CLOCK_PROCESS_CPUTIME_ID) - c0) / USEC_PER_SEC;
        *ret_seconds = (double) (now_usec(CLOCK_MONOTONIC) - t0) / USEC_PER_SEC;
        sd_journal_close(j);
        if (r < 0)
                return r;
        if (n < 2 || bytes == 0)
                return -ENODATA;
        *ret_count = n;
        *ret_first = TAKE_PTR(first);
        return 0;
}

static int on_line(Source *s, const SourceLine *line, void *userdata) {
        Run *run = userdata;

        run->lines++;
        run->bytes += line->len;
        return 0;
}

static void on_batch_end(Source *s, void *userdata) {
        Run *run = userdata;

        if (run->lines >= run->expected)
                (void) sd_event_exit(run->event, 0);
}

static void on_notice(Source *s, int error, bool fatal, const char *message, void *userdata) {
        Run *run = userdata;

        fprintf(stderr, "bench-journal: notice: %s (%s)\n", message, strerror(error < 0 ? -error : 0));
        if (fatal)
                (void) sd_event_exit(run->event, 1);
}

static int on_deadline(sd_event_source *es, uint64_t usec, void *userdata) {
        Run *run = userdata;

        fprintf(stderr, "bench-journal: gave up after 300 s\n");
        return sd_event_exit(run->event, 1);
}

/* A 10 ms timer: how long other event sources wait while a backlog is drained. */
static int on_tick(sd_event_source *es, uint64_t usec, void *userdata) {
        Run *run = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        run->max_stall = MAX(run->max_stall, now - usec);
        (void) sd_event_source_set_time(es, now + TICK_USEC);
        return sd_event_source_set_enabled(es, SD_EVENT_ON);
}

/* One pass through the source, resuming from the first entry's cursor. */
static int source_pass(const char *dir, const char *state_dir, uint64_t expected, double *ret_seconds,
                       double *ret_cpu, usec_t *ret_stall) {
        _cleanup_(source_freep) Source *s = NULL;
        _cleanup_free_ char *error = NULL;
        SourceOptions opts = {
                .state_dir = state_dir,
                .journal_dir = dir,
                .max_age = 0,
        };
        Run run = { .expected = expected };
        usec_t t0, t1, c0, c1;
        int r;

        r = source_open(SOURCE_JOURNAL, NULL, &opts, &s, &error);
        if (r < 0) {
                fprintf(stderr, "bench-journal: %s\n", error ?: strerror(-r));
                return r;
        }
        if (!strstr(source_describe(s), "resumed from cursor")) {
                fprintf(stderr, "bench-journal: source did not resume: %s\n", source_describe(s));
                return -ESRCH;
        }
        r = sd_event_new(&run.event);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(run.event, NULL, CLOCK_MONOTONIC, 300 * USEC_PER_SEC, 0,
                                       on_deadline, &run);
        if (r >= 0)
                r = sd_event_add_time_relative(run.event, NULL, CLOCK_MONOTONIC, TICK_USEC, 1,
                                               on_tick, &run);
        if (r >= 0)
                r = source_attach(s, run.event, &(SourceHandlers) {
                        .line = on_line,
                        .batch_end = on_batch_end,
                        .notice = on_notice,
                }, &run);
        t0 = now_usec(CLOCK_MONOTONIC);
        c0 = now_usec(CLOCK_PROCESS_CPUTIME_ID);
        if (r >= 0)
                r = sd_event_loop(run.event);
        c1 = now_usec(CLOCK_PROCESS_CPUTIME_ID);
        t1 = now_usec(CLOCK_MONOTONIC);
        s = source_free(s);
        sd_event_unref(run.event);
        if (r != 0)
                return r < 0 ? r : -EIO;
        if (run.lines != expected) {
                fprintf(stderr, "bench-journal: delivered %llu lines, expected %llu\n",
                        (unsigned long long) run.lines, (unsigned long long) expected);
                return -EBADMSG;
        }
        *ret_seconds = (double) (t1 - t0) / USEC_PER_SEC;
        *ret_cpu = (double) (c1 - c0) / USEC_PER_SEC;
        *ret_stall = run.max_stall;
        return 0;
}

static int compare_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void print_load(const char *when) {
        _cleanup_fclose_ FILE *f = NULL;
        char line[128];

        f = fopen("/proc/loadavg", "re");
        if (f && fgets(line, sizeof(line), f))
                printf("load average %s: %s", when, line);
}

int main(int argc, char *argv[]) {
        _cleanup_free_ char *first = NULL;
        char state_dir[] = "/tmp/bench-journal.XXXXXX";
        double bare_seconds, bare_cpu, seconds[9], cpu[9], median, median_cpu;
        uint64_t count;
        usec_t stall;
        int runs = 3, r;

        if (argc < 2 || argc > 3 || (argc == 3 && ((runs = atoi(argv[2])) < 1 || runs > 9))) {
                fprintf(stderr, "usage: bench-journal DIR [RUNS 1-9]  (make DIR with bench/prepare-journal.sh)\n");
                return 64;
        }
        print_machine();
        print_load("before");

        /* The first pass pulls the files into the page cache; the second is the baseline. */
        r = bare_loop(argv[1], &count, &bare_seconds, &bare_cpu, &first);
        if (r >= 0) {
                printf("journal: %s, %llu kernel entries of this boot\n", argv[1], (unsigned long long) count);
                printf("bare sd-journal loop, first pass (page cache may be cold): %.0f entries/s (%.3f s)\n",
                       count / bare_seconds, bare_seconds);
                first = mfree(first);
                r = bare_loop(argv[1], &count, &bare_seconds, &bare_cpu, &first);
        }
        if (r == -ENODATA) {
                fprintf(stderr, "bench-journal: %s holds no kernel entries of this boot: run bench/prepare-journal.sh again\n", argv[1]);
                return 1;
        }
        if (r < 0) {
                fprintf(stderr, "bench-journal: reading %s: %s\n", argv[1], strerror(-r));
                return 1;
        }
        printf("bare sd-journal loop (next, boot check, MESSAGE): %.0f entries/s (%.3f s; %.0f per CPU second)\n",
               count / bare_seconds, bare_seconds, count / bare_cpu);

        if (!mkdtemp(state_dir)) {
                perror("bench-journal: mkdtemp");
                return 1;
        }
        for (int i = 0; i < runs && r >= 0; i++) {
                char line[STATE_FILE_MAX];
                int len = snprintf(line, sizeof(line), "%s\n", first);

                r = state_write(state_dir, "journal.cursor", line, (size_t) len);
                if (r >= 0)
                        r = source_pass(argv[1], state_dir, count - 1, &seconds[i], &cpu[i], &stall);
                if (r >= 0)
                        printf("journal source, run %d: %.0f entries/s (%llu lines in %.3f s; %.0f per CPU second; "
                               "a due timer waited at most %.1f ms)\n",
                               i + 1, (count - 1) / seconds[i], (unsigned long long) count - 1, seconds[i],
                               (count - 1) / cpu[i], (double) stall / USEC_PER_MSEC);
        }
        (void) nftw(state_dir, remove_entry, 4, FTW_DEPTH | FTW_PHYS);
        if (r < 0) {
                fprintf(stderr, "bench-journal: %s\n", strerror(-r));
                return 1;
        }
        print_load("after");
        qsort(seconds, (size_t) runs, sizeof(seconds[0]), compare_double);
        qsort(cpu, (size_t) runs, sizeof(cpu[0]), compare_double);
        median = (count - 1) / seconds[runs / 2];
        median_cpu = (count - 1) / cpu[runs / 2];
        printf("result: %.0f entries/s through the journal source (median of %d; %.0f per CPU second), "
               "target %.0f: %s\n", median, runs, median_cpu, TARGET_PER_SEC,
               median >= TARGET_PER_SEC ? "met" : "NOT met");
        return 0;
}
