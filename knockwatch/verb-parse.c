/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * verb-parse.c — `knockwatch parse [-v] [FILE]`: run the LOG-line parser over a file or
 * standard input and print "SRC STEP" for every knock, so an admin can check what
 * knockwatch would make of a log (and tests can feed it lines). Lines in any of the
 * three text forms are accepted (LOGLINE_FORM_ANY). With -v, every other line gets
 * "LINENO: REASON" on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>

#include "fd-util.h"
#include "linebuf.h"
#include "log.h"
#include "logline.h"
#include "string-util.h"
#include "verbs.h"

typedef struct ParseContext {
        bool verbose;
        uint64_t lineno;
} ParseContext;

static int on_line(const char *line, size_t len, void *userdata) {
        ParseContext *c = userdata;
        const char *reason = NULL;
        KnockEvent ev;
        int r;

        c->lineno++;
        r = logline_parse(line, len, LOGLINE_FORM_ANY, &logline_prefixes_any, &ev, &reason);
        if (r > 0) {
                char addr[KNOCK_ADDR_STRLEN], step[KNOCK_STEP_STRLEN];

                printf("%s %s\n", knock_addr_format(&ev.src, addr), knock_step_format(&ev.step, step));
        } else if (c->verbose)
                fprintf(stderr, "%" PRIu64 ": %s\n", c->lineno, reason ?: "not a knock");
        return 0;
}

static void help(void) {
        printf("Usage: knockwatch parse [-v] [FILE]\n"
               "\n"
               "Read kernel LOG lines (as /dev/kmsg or the journal hold them, as dmesg prints\n"
               "them, or as a syslog file stores them) from FILE or standard input and print\n"
               "\"SRC STEP\" for every knock, e.g. \"192.0.2.2 tcp:3721\".\n"
               "\n"
               "  -v, --verbose  for every other line, print \"LINENO: REASON\" on stderr\n"
               "  -h, --help     show this help\n"
               "\n"
               "Exit status: 0 when the input was read, 1 if it could not be, 2 on bad usage.\n");
}

static int parse_fd(int fd, const char *name, ParseContext *c) {
        _cleanup_free_ char *buf = NULL;
        const size_t size = 1U << 20;
        LineBuffer lb;
        int r;

        buf = malloc(size);
        if (!buf)
                return log_oom();
        r = linebuf_init(&lb, LOGLINE_LINE_MAX);
        if (r < 0)
                return log_oom();

        for (;;) {
                ssize_t n = read(fd, buf, size);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = log_error_errno(errno, "%s: read failed: %m", name);
                        break;
                }
                if (n == 0) {
                        (void) linebuf_finish(&lb, on_line, c);
                        r = 0;
                        break;
                }
                (void) linebuf_feed(&lb, buf, (size_t) n, on_line, c);
        }
        linebuf_done(&lb);
        return r;
}

int verb_parse(int argc, char *argv[]) {
        static const struct option options[] = {
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        _cleanup_close_ int fd = -EBADF;
        ParseContext c = {};
        const char *name;
        int opt, r;

        optind = 0; /* glibc: start afresh, whoever used getopt before */
        opterr = 0;
        while ((opt = getopt_long(argc, argv, "+vh", options, NULL)) >= 0)
                switch (opt) {
                case 'v':
                        c.verbose = true;
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        if (optopt)
                                log_error("parse: unknown option '-%c'; see 'knockwatch parse --help'.",
                                          optopt);
                        else
                                log_error("parse: unknown option '%s'; see 'knockwatch parse --help'.",
                                          argv[optind - 1]);
                        return EXIT_USAGE;
                }

        if (argc - optind > 1) {
                log_error("parse: takes at most one FILE; see 'knockwatch parse --help'.");
                return EXIT_USAGE;
        }

        if (optind < argc && !streq(argv[optind], "-")) {
                name = argv[optind];
                fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0) {
                        log_error_errno(errno, "%s: cannot open: %m", name);
                        return EXIT_FAILURE;
                }
        } else
                name = "standard input";

        r = parse_fd(fd >= 0 ? fd : STDIN_FILENO, name, &c);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                log_error_errno(errno ?: EIO, "writing to standard output failed: %m");
                return EXIT_FAILURE;
        }
        return r < 0 ? EXIT_FAILURE : 0;
}
