/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * source-dump — open one knockwatch source and print what it delivers, for the source
 * tests. Usage:
 *
 *   source-dump SPEC [--state-dir DIR] [--journal-dir DIR] [--max-age-ms N] [--grep TEXT]
 *
 * SPEC is what --source takes (kmsg, journal, file:PATH, -, auto). Prints
 *   "ready <description>"                     once attached
 *   "line <form> <time_us> <read_us> <text>"  per delivered line (only lines containing
 *                                             TEXT when --grep is given); "replay" instead
 *                                             of "line" for lines handed over again after a
 *                                             resume (see source.h)
 *   "batch"                                   after each drain (not with --grep)
 *   "notice <errno> <fatal> <message>"        per notice
 * and flushes stdout after each. Exits 0 on SIGTERM/SIGINT (saving the position) or when
 * the source ends; 1 when opening fails (the reason on stderr).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "source.h"
#include "time-util.h"

static const char *grep_text;

static int on_line(Source *s, const SourceLine *line, void *userdata) {
        if (grep_text && !memmem(line->text, line->len, grep_text, strlen(grep_text)))
                return 0;
        printf("%s %d %llu %llu %.*s\n", line->replayed ? "replay" : "line", (int) line->form,
               (unsigned long long) line->time,
               (unsigned long long) line->read_time, (int) line->len, line->text);
        fflush(stdout);
        return 0;
}

static void on_batch_end(Source *s, void *userdata) {
        if (grep_text)
                return;
        printf("batch\n");
        fflush(stdout);
}

static void on_notice(Source *s, int error, bool fatal, const char *message, void *userdata) {
        sd_event *e = userdata;

        printf("notice %d %d %s\n", error, fatal, message);
        fflush(stdout);
        if (fatal)
                (void) sd_event_exit(e, error < 0 ? 1 : 0);
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "state-dir", required_argument, NULL, 's' },
                { "journal-dir", required_argument, NULL, 'j' },
                { "max-age-ms", required_argument, NULL, 'a' },
                { "grep", required_argument, NULL, 'g' },
                {}
        };
        SourceOptions opts = {};
        _cleanup_(source_freep) Source *s = NULL;
        _cleanup_free_ char *error = NULL;
        sd_event *e = NULL;
        const char *path;
        SourceKind kind;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        opts.state_dir = optarg;
                        break;
                case 'j':
                        opts.journal_dir = optarg;
                        break;
                case 'a':
                        opts.max_age = strtoull(optarg, NULL, 10) * USEC_PER_MSEC;
                        break;
                case 'g':
                        grep_text = optarg;
                        break;
                default:
                        return 64;
                }
        if (optind + 1 != argc || source_spec_parse(argv[optind], &kind, &path) < 0) {
                fprintf(stderr, "usage: source-dump SPEC [--state-dir DIR] [--journal-dir DIR] [--max-age-ms N] [--grep TEXT]\n");
                return 64;
        }

        r = source_open(kind, path, &opts, &s, &error);
        if (r < 0) {
                fprintf(stderr, "source-dump: %s: %s\n", argv[optind], error ? error : strerror(-r));
                return 1;
        }
        r = sd_event_default(&e);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK, NULL, NULL);
        if (r >= 0)
                r = source_attach(s, e, &(SourceHandlers) {
                        .line = on_line,
                        .batch_end = on_batch_end,
                        .notice = on_notice,
                }, e);
        if (r < 0) {
                fprintf(stderr, "source-dump: attach: %s\n", strerror(-r));
                return 1;
        }
        printf("ready %s\n", source_describe(s));
        fflush(stdout);
        r = sd_event_loop(e);
        (void) source_save_position(s);
        s = source_free(s);
        sd_event_unref(e);
        return r < 0 ? 1 : r;
}
