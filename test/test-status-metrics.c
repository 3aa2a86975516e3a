/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-status-metrics.c — the Prometheus text of the counters: it passes the strict
 * checker of prom-parse.h (and the checker refuses what it must, so that passing means
 * something); every number lands in its series; outside text in a label (a file
 * source's path with quotes, backslashes, a newline, invalid UTF-8) stays inside its
 * quotes; the most doors fit. And the StatusWriter on a real sd-event loop writes the
 * metrics file next to the status file, mode 0644, one write for a burst of changes,
 * and reports a metrics file it cannot write once, and once more when it can again.
 * Every family written is named in knockwatch(8). */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "metrics.h"
#include "prom-parse.h"
#include "state.h"
#include "status.h"
#include "tests.h"

static char text[METRICS_FILE_MAX];

static void assert_valid(const char *t) {
        char error[256];
        unsigned line;

        if (prom_check(t, &line, error, sizeof(error)) < 0) {
                fprintf(stderr, "line %u: %s\n%s", line, error, t);
                abort();
        }
}

static void sample_status(DaemonStatus *s) {
        *s = (DaemonStatus) {
                .pid = 1, .started_realtime = 1700000000123456, .doors = 2, .lines = 11, .knocks = 7,
                .not_knocks = 3, .rejected = 1, .lost = 5, .errors = 2, .in_progress = 4,
                .capacity = 4096, .evictions = 9, .hook_runs = 6, .hook_failures = 1,
                .hook_timeouts = 1, .hook_drops = 2,
        };
        s->rejected_by[REJECT_TRUNCATED] = 1;
        snprintf(s->source, sizeof(s->source), "kmsg");
        snprintf(s->table, sizeof(s->table), "inet knockwatch");
        s->n_door = 2;
        snprintf(s->door[0].name, sizeof(s->door[0].name), "ssh");
        snprintf(s->door[1].name, sizeof(s->door[1].name), "web-2");
        for (int c = 0; c < _DOOR_COUNTER_MAX; c++) {
                s->door[0].counter[c] = 10 + (uint64_t) c;
                s->door[1].counter[c] = 20 + (uint64_t) c;
        }
        s->door[0].live_grants = 3;
}

#define ASSERT_VALUE(series, v) ASSERT_EQ((long long) prom_value(text, series), v)

TEST(format) {
        DaemonStatus s;
        int n;

        sample_status(&s);
        n = metrics_format(&s, text, sizeof(text));
        ASSERT_TRUE(n > 0 && (size_t) n == strlen(text));
        assert_valid(text);
        ASSERT_VALUE("knockwatch_lines_total", 11);
        ASSERT_VALUE("knockwatch_knock_lines_total", 7);
        ASSERT_VALUE("knockwatch_not_knock_lines_total", 3);
        ASSERT_VALUE("knockwatch_rejected_lines_total{reason=\"truncated\"}", 1);
        ASSERT_VALUE("knockwatch_rejected_lines_total{reason=\"malformed\"}", 0);
        ASSERT_VALUE("knockwatch_rejected_lines_total{reason=\"not_kernel\"}", 0);
        ASSERT_VALUE("knockwatch_records_lost_total", 5);
        ASSERT_VALUE("knockwatch_knocks_total{door=\"ssh\"}", 10);
        ASSERT_VALUE("knockwatch_sequences_completed_total{door=\"ssh\"}", 11);
        ASSERT_VALUE("knockwatch_grants_total{door=\"ssh\"}", 12);
        ASSERT_VALUE("knockwatch_refreshes_total{door=\"ssh\"}", 13);
        ASSERT_VALUE("knockwatch_revokes_total{door=\"ssh\"}", 14);
        ASSERT_VALUE("knockwatch_expiries_total{door=\"ssh\"}", 15);
        ASSERT_VALUE("knockwatch_knocks_total{door=\"web-2\"}", 20);
        ASSERT_VALUE("knockwatch_expiries_total{door=\"web-2\"}", 25);
        ASSERT_VALUE("knockwatch_live_grants{door=\"ssh\"}", 3);
        ASSERT_VALUE("knockwatch_live_grants{door=\"web-2\"}", 0);
        ASSERT_VALUE("knockwatch_nft_errors_total", 2);
        ASSERT_VALUE("knockwatch_sources_in_progress", 4);
        ASSERT_VALUE("knockwatch_sources_capacity", 4096);
        ASSERT_VALUE("knockwatch_evictions_total", 9);
        ASSERT_VALUE("knockwatch_doors", 2);
        ASSERT_VALUE("knockwatch_hook_runs_total", 6);
        ASSERT_VALUE("knockwatch_hook_failures_total", 1);
        ASSERT_VALUE("knockwatch_hook_timeouts_total", 1);
        ASSERT_VALUE("knockwatch_hook_drops_total", 2);
        ASSERT_CONTAINS(text, "\nknockwatch_start_time_seconds 1700000000.123456\n");
        ASSERT_CONTAINS(text, "knockwatch_info{version=\"");
        ASSERT_CONTAINS(text, "\",source=\"kmsg\",table=\"inet knockwatch\"} 1\n");
        ASSERT_CONTAINS(text, "# TYPE knockwatch_grants_total counter\n");
        ASSERT_CONTAINS(text, "# TYPE knockwatch_live_grants gauge\n");
        ASSERT_CONTAINS(text, "# HELP knockwatch_grants_total ");
}

TEST(fleet) {
        DaemonStatus s;

        sample_status(&s);
        ASSERT_TRUE(metrics_format(&s, text, sizeof(text)) > 0);
        ASSERT_TRUE(strstr(text, "knockwatch_fleet") == NULL);   /* no --fleet, no fleet metrics */

        snprintf(s.fleet_broker, sizeof(s.fleet_broker), "mqtts://192.0.2.10:8883");
        snprintf(s.fleet_name, sizeof(s.fleet_name), "default");
        s.fleet_connected = 1;
        s.fleet_connects = 2;
        s.fleet_disconnects = 1;
        s.fleet_connect_failures = 3;
        s.fleet_published = 40;
        s.fleet_acked = 38;
        s.fleet_queued = 2;
        s.fleet_dropped = 4;
        s.fleet_received = 17;
        s.fleet_accepted = 12;
        s.fleet_own = 5;
        s.fleet_rejected[FLEET_REJECT_BAD_MAC] = 6;
        s.fleet_rejected[FLEET_REJECT_PREFIX] = 7;
        s.fleet_rejected_other = 8;
        ASSERT_TRUE(metrics_format(&s, text, sizeof(text)) > 0);
        assert_valid(text);
        ASSERT_VALUE("knockwatch_fleet_connected", 1);
        ASSERT_VALUE("knockwatch_fleet_connects_total", 2);
        ASSERT_VALUE("knockwatch_fleet_disconnects_total", 1);
        ASSERT_VALUE("knockwatch_fleet_connect_failures_total", 3);
        ASSERT_VALUE("knockwatch_fleet_published_total", 40);
        ASSERT_VALUE("knockwatch_fleet_acked_total", 38);
        ASSERT_VALUE("knockwatch_fleet_queued", 2);
        ASSERT_VALUE("knockwatch_fleet_dropped_total", 4);
        ASSERT_VALUE("knockwatch_fleet_received_total", 17);
        ASSERT_VALUE("knockwatch_fleet_accepted_total", 12);
        ASSERT_VALUE("knockwatch_fleet_own_total", 5);
        ASSERT_VALUE("knockwatch_fleet_rejected_total{reason=\"bad-mac\"}", 6);
        ASSERT_VALUE("knockwatch_fleet_rejected_total{reason=\"prefix\"}", 7);
        ASSERT_VALUE("knockwatch_fleet_rejected_total{reason=\"replayed\"}", 0);
        ASSERT_VALUE("knockwatch_fleet_rejected_total{reason=\"other\"}", 8);
        ASSERT_CONTAINS(text, "# TYPE knockwatch_fleet_queued gauge\n");
        ASSERT_CONTAINS(text, "# TYPE knockwatch_fleet_rejected_total counter\n");
}

/* Every family the daemon writes, the fleet's included, is named in knockwatch(8). */
TEST(documented) {
        _cleanup_free_ char *man = NULL;
        char path[4096];
        const char *srcdir = getenv("KW_SRCDIR");
        DaemonStatus s;
        FILE *f;
        size_t n = 0;

        if (!srcdir) {
                printf("skipped: documented: KW_SRCDIR is not set (run under meson test)\n");
                return;
        }
        snprintf(path, sizeof(path), "%s/man/knockwatch.8", srcdir);
        f = fopen(path, "re");
        ASSERT_TRUE(f != NULL);
        man = malloc(1 << 20);
        ASSERT_TRUE(man != NULL);
        n = fread(man, 1, (1 << 20) - 1, f);
        fclose(f);
        man[n] = 0;

        sample_status(&s);
        snprintf(s.fleet_broker, sizeof(s.fleet_broker), "mqtts://192.0.2.10:8883");
        ASSERT_TRUE(metrics_format(&s, text, sizeof(text)) > 0);
        for (const char *p = text; (p = strstr(p, "# TYPE ")); ) {
                char name[128];
                size_t len;

                p += STRLEN("# TYPE ");
                len = strcspn(p, " ");
                ASSERT_TRUE(len < sizeof(name));
                memcpy(name, p, len);
                name[len] = 0;
                if (!strstr(man, name)) {
                        fprintf(stderr, "%s: metric %s is not in knockwatch(8)\n", path, name);
                        abort();
                }
        }
}

TEST(outside_text_in_labels) {
        DaemonStatus s;

        sample_status(&s);
        snprintf(s.source, sizeof(s.source), "file /tmp/a\"b\\c\nd\xff} 1\nfake_total 9");
        snprintf(s.table, sizeof(s.table), "inet \x01\x7f\xc3\xa9");
        ASSERT_TRUE(metrics_format(&s, text, sizeof(text)) > 0);
        assert_valid(text);
        ASSERT_CONTAINS(text, "source=\"file /tmp/a\\\"b\\\\\\\\c\\\\x0ad\\\\xff} 1\\\\x0afake_total 9\"");
        ASSERT_CONTAINS(text, "table=\"inet \\\\x01\\\\x7f\\\\xc3\\\\xa9\"");
        ASSERT_TRUE(strstr(text, "\nfake_total") == NULL);
        /* a very long source is cut, still inside its quotes */
        memset(s.source, '"', sizeof(s.source) - 1);
        ASSERT_TRUE(metrics_format(&s, text, sizeof(text)) > 0);
        assert_valid(text);
}

TEST(no_doors_and_most_doors) {
        DaemonStatus s;

        sample_status(&s);
        s.n_door = 0;
        ASSERT_TRUE(metrics_format(&s, text, sizeof(text)) > 0);
        assert_valid(text);
        ASSERT_TRUE(strstr(text, "knockwatch_grants_total") == NULL);

        s.n_door = STATUS_DOORS_MAX;
        for (size_t i = 0; i < s.n_door; i++) {
                snprintf(s.door[i].name, sizeof(s.door[i].name), "d%031zu", i);
                for (int c = 0; c < _DOOR_COUNTER_MAX; c++)
                        s.door[i].counter[c] = UINT64_MAX;
                s.door[i].live_grants = UINT64_MAX;
        }
        memset(s.source, 'x', sizeof(s.source) - 1);
        memset(s.fleet_broker, 'x', sizeof(s.fleet_broker) - 1);   /* the fleet's metrics too */
        for (int r = 0; r < _FLEET_REJECT_MAX; r++)
                s.fleet_rejected[r] = UINT64_MAX;
        ASSERT_TRUE(metrics_format(&s, text, sizeof(text)) > 0);
        assert_valid(text);
        ASSERT_ERROR(metrics_format(&s, text, 2000), ENOBUFS);
}

TEST(checker_refuses) {
        static const char head[] = "# HELP a_total A.\n# TYPE a_total counter\n";
        static const char *const bad[] = {
                "",
                "a_total 1\n",                                                  /* no HELP/TYPE */
                "# HELP a_total A.\n# TYPE a_total counter\na_total 1",          /* no final newline */
                "# HELP a A.\n# TYPE a counter\na 1\n",                          /* counter without _total */
                "# HELP a_total A.\n# TYPE a_total histogram\na_total 1\n",
                "# HELP a_total A.\n# TYPE a_total counter\n\na_total 1\n",      /* empty line */
                "# HELP a_total A.\n# TYPE a_total counter\n# note\na_total 1\n",
                "# HELP a_total A.\n# HELP a_total B.\n# TYPE a_total counter\na_total 1\n",
                "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n# HELP a_total A.\n",
                "# HELP a_total A.\n# TYPE a_total counter\n",                    /* no sample */
                "# HELP a_total \\x\n# TYPE a_total counter\na_total 1\n",       /* bad escape in HELP */
                "# HELP a_total A.\n# TYPE a_total counter\na_total -1\n",
                "# HELP a_total A.\n# TYPE a_total counter\na_total NaN\n",
                "# HELP a_total A.\n# TYPE a_total counter\na_total 1x\n",
                "# HELP a_total A.\n# TYPE a_total counter\na_total 1.\n",
                "# HELP a_total A.\n# TYPE a_total counter\na_total  1\n",
                "# HELP a_total A.\n# TYPE a_total counter\na_total 1 \n",
                "# HELP a_total A.\n# TYPE a_total counter\na_total 1\r\n",
                "# HELP a_total A.\n# TYPE a_total counter\na_total{d=\"x\"} 1\na_total{d=\"x\"} 2\n",
                "# HELP a_total A.\n# TYPE a_total counter\na_total{d=\"x\",d=\"y\"} 1\n",
                "# HELP a_total A.\n# TYPE a_total counter\na_total{d=\"x\\q\"} 1\n",
                "# HELP a_total A.\n# TYPE a_total counter\na_total{d=\"x\ny\"} 1\n",
                "# HELP a_total A.\n# TYPE a_total counter\na_total{d=\"x\xff\"} 1\n",
                "# HELP a_total A.\n# TYPE a_total counter\na_total{d=\"x\x01\"} 1\n",
                "# HELP a_total A.\n# TYPE a_total counter\na_total{d=x} 1\n",
                "# HELP a_total A.\n# TYPE a_total counter\na_total{__d=\"x\"} 1\n",
                "# HELP a_total A.\n# TYPE a_total counter\na_total{1d=\"x\"} 1\n",
                "# HELP a_total A.\n# TYPE a_total counter\na_total{d=\"x\"\n",
                "# HELP a_total A.\n# TYPE a_total counter\nb_total 1\n",           /* sample of another name */
                "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n"
                "# HELP b B.\n# TYPE b gauge\nb 1\na_total 2\n",                   /* family taken up again */
                "# HELP 1a_total A.\n# TYPE 1a_total counter\n1a_total 1\n",
        };
        char t[512];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (prom_check(bad[i], NULL, NULL, 0) != -EBADMSG) {
                        fprintf(stderr, "accepted:\n%s", bad[i]);
                        abort();
                }
        /* and what is right passes */
        snprintf(t, sizeof(t), "%sa_total 1\na_total{d=\"x\\\\ \\\" \\n \xc3\xa9\"} 2.5e3 1700000000\n"
                 "# HELP g G \\\\ \\n.\n# TYPE g gauge\ng -Inf\ng{x=\"\"} NaN\n", head);
        assert_valid(t);
}

TEST(metrics_path) {
        ASSERT_TRUE(metrics_path_valid("/var/lib/prometheus/node-exporter/knockwatch.prom"));
        ASSERT_TRUE(metrics_path_valid("/knockwatch.prom"));
        ASSERT_FALSE(metrics_path_valid("knockwatch.prom"));
        ASSERT_FALSE(metrics_path_valid("/var/lib/"));
        ASSERT_FALSE(metrics_path_valid("/var/lib/.hidden.prom"));
        ASSERT_FALSE(metrics_path_valid("/var/lib/a\nb.prom"));
        ASSERT_FALSE(metrics_path_valid(NULL));
        ASSERT_FALSE(metrics_path_valid("/x/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

/* ---- the writer on a real event loop -------------------------------------------------- */

typedef struct Run {
        sd_event *event;
        bool written, timed_out;
        unsigned fills, status_failures, metrics_reports;
        int last_metrics_error;
        uint64_t lines;
} Run;

static void fill(DaemonStatus *s, void *userdata) {
        Run *run = userdata;

        run->fills++;
        sample_status(s);
        s->lines = run->lines;
        run->written = true;
}

static void failed(int error, const char *d, void *userdata) {
        ((Run *) userdata)->status_failures++;
}

static void metrics_failed(int error, const char *path, void *userdata) {
        Run *run = userdata;

        run->metrics_reports++;
        run->last_metrics_error = error;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        ((Run *) userdata)->timed_out = true;
        return 0;
}

/* Run the loop until the writer writes (fill() says so); a generous deadline. */
static void run_until_written(Run *run) {
        _cleanup_(sd_event_source_unrefp) sd_event_source *deadline = NULL;

        ASSERT_OK(sd_event_add_time_relative(run->event, &deadline, CLOCK_MONOTONIC, 10 * USEC_PER_SEC, 0,
                                             on_deadline, run));
        run->written = false;
        while (!run->written && !run->timed_out)
                ASSERT_OK(sd_event_run(run->event, UINT64_MAX));
        ASSERT_FALSE(run->timed_out);
}

static char *read_file(const char *path) {
        static char buf[METRICS_FILE_MAX];
        FILE *f = fopen(path, "re");
        size_t n;

        ASSERT_TRUE(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = 0;
        fclose(f);
        return buf;
}

TEST(writer_writes_metrics_file) {
        char dir[64], metrics_dir[96], path[128];
        _cleanup_(status_writer_freep) StatusWriter *w = NULL;
        Run run = {};
        struct stat st;
        DaemonStatus back;
        mode_t old = umask(077);

        snprintf(dir, sizeof(dir), "/tmp/kw-test-metrics.XXXXXX");
        ASSERT_TRUE(mkdtemp(dir));
        snprintf(metrics_dir, sizeof(metrics_dir), "%s/textfile", dir);
        snprintf(path, sizeof(path), "%s/knockwatch.prom", metrics_dir);
        ASSERT_OK(sd_event_new(&run.event));
        ASSERT_OK(status_writer_new(run.event, dir, &(StatusWriterOps) {
                .fill = fill, .failed = failed, .metrics_failed = metrics_failed }, &run, &w));
        ASSERT_ERROR(status_writer_set_metrics_file(w, "relative.prom"), EINVAL);
        ASSERT_OK(status_writer_set_metrics_file(w, path));

        /* the directory is missing: reported once, the status file is written all the same */
        run.lines = 1;
        ASSERT_OK(status_writer_flush(w));
        ASSERT_EQ(run.metrics_reports, 1);
        ASSERT_EQ(run.last_metrics_error, -ENOENT);
        ASSERT_OK(status_read(dir, &back));
        ASSERT_EQ(back.lines, 1);
        ASSERT_TRUE(stat(metrics_dir, &st) < 0);   /* not made by knockwatch */
        status_writer_changed(w);
        run_until_written(&run);
        ASSERT_EQ(run.metrics_reports, 1);         /* still failing: not told again */

        /* the directory appears: the next write works, and says so once */
        ASSERT_OK(mkdir(metrics_dir, 0755));
        run.lines = 2;
        status_writer_changed(w);
        status_writer_changed(w);
        status_writer_changed(w);
        unsigned fills = run.fills;
        run_until_written(&run);
        ASSERT_EQ(run.fills, fills + 1);           /* a burst of changes is one write */
        ASSERT_EQ(run.metrics_reports, 2);
        ASSERT_EQ(run.last_metrics_error, 0);
        ASSERT_OK(stat(path, &st));
        ASSERT_EQ(st.st_mode & 07777, 0644);       /* node_exporter, another user, reads it */
        assert_valid(read_file(path));
        ASSERT_EQ((long long) prom_value(read_file(path), "knockwatch_lines_total"), 2);
        ASSERT_OK(status_read(dir, &back));
        ASSERT_EQ(back.lines, 2);
        ASSERT_EQ(run.status_failures, 0);

        /* no temporary file left behind next to it */
        ASSERT_OK(unlink(path));
        ASSERT_OK(rmdir(metrics_dir));
        snprintf(path, sizeof(path), "%s/" STATUS_FILE, dir);
        ASSERT_OK(unlink(path));
        ASSERT_OK(rmdir(dir));
        umask(old);
        sd_event_unref(run.event);
}

int main(void) {
        RUN(format);
        RUN(fleet);
        RUN(documented);
        RUN(outside_text_in_labels);
        RUN(no_doors_and_most_doors);
        RUN(checker_refuses);
        RUN(metrics_path);
        RUN(writer_writes_metrics_file);
        return 0;
}
