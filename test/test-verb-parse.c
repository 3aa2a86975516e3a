/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-verb-parse.c — `knockwatch parse`: verb_parse() called directly on temporary
 * files and on standard input, with stdout and stderr captured, asserting the exact
 * output and exit status.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logline.h"
#include "tests.h"
#include "verbs.h"

#define SYN4 "PORT_KNOCKING IN=kw0 OUT= MAC=aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:08:00 SRC=192.0.2.2 " \
             "DST=192.0.2.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40001 DPT=3721 " \
             "WINDOW=64240 RES=0x00 SYN URGP=0 "
#define PING6 "[  350.791290] PORT_KNOCKING IN=kw0 OUT= SRC=2001:0db8:0000:0000:0000:0000:0000:0002 " \
              "DST=2001:0db8:0000:0000:0000:0000:0000:0001 LEN=98 TC=0 HOPLIMIT=64 FLOWLBL=0 " \
              "PROTO=ICMPv6 TYPE=128 CODE=0 ID=5 SEQ=2 "
#define UDP4_SYSLOG "2026-11-22T22:37:02.574865+00:00 vm kernel: [  350.740854] PORT_KNOCKING IN=kw0 " \
                    "OUT= SRC=192.0.2.2 DST=192.0.2.1 LEN=38 TOS=0x00 PREC=0x00 TTL=64 ID=1 " \
                    "PROTO=UDP SPT=40005 DPT=4728 LEN=18 "
#define SYNACK4 "PORT_KNOCKING IN=kw0 OUT= SRC=192.0.2.3 DST=192.0.2.1 LEN=40 PROTO=TCP SPT=1 " \
                "DPT=3721 RES=0x00 ACK SYN URGP=0 "
#define SSHD "Nov 22 22:37:26 vm sshd[12]: " SYN4

typedef struct Run {
        int status;
        char out[1 << 16];
        char err[1 << 16];
} Run;

static char tmpdir[] = "/tmp/test-verb-parse.XXXXXX";

static void write_file(const char *path, const char *data, size_t n) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, data, n), (ssize_t) n);
        ASSERT_OK(close(fd));
}

static void slurp(int fd, char *buf, size_t size) {
        ssize_t n;

        ASSERT_TRUE(lseek(fd, 0, SEEK_SET) == 0);
        n = read(fd, buf, size - 1);
        ASSERT_TRUE(n >= 0);
        buf[n] = 0;
}

/* Run verb_parse(argv) with stdin from `input` (if not NULL) and stdout/stderr captured. */
static void run(Run *r, const char *input, size_t input_len, char **argv) {
        int argc = 0, in = -1, out, err, saved_in, saved_out, saved_err;
        char path[256];

        while (argv[argc])
                argc++;
        out = open(tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        err = open(tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        ASSERT_TRUE(out >= 0 && err >= 0);
        if (input) {
                (void) snprintf(path, sizeof(path), "%s/stdin", tmpdir);
                write_file(path, input, input_len);
                in = open(path, O_RDONLY | O_CLOEXEC);
                ASSERT_TRUE(in >= 0);
        }

        fflush(stdout);
        fflush(stderr);
        saved_in = dup(STDIN_FILENO);
        saved_out = dup(STDOUT_FILENO);
        saved_err = dup(STDERR_FILENO);
        ASSERT_TRUE(saved_in >= 0 && saved_out >= 0 && saved_err >= 0);
        if (in >= 0)
                ASSERT_TRUE(dup2(in, STDIN_FILENO) >= 0);
        ASSERT_TRUE(dup2(out, STDOUT_FILENO) >= 0);
        ASSERT_TRUE(dup2(err, STDERR_FILENO) >= 0);

        r->status = verb_parse(argc, argv);

        fflush(stdout);
        fflush(stderr);
        ASSERT_TRUE(dup2(saved_in, STDIN_FILENO) >= 0);
        ASSERT_TRUE(dup2(saved_out, STDOUT_FILENO) >= 0);
        ASSERT_TRUE(dup2(saved_err, STDERR_FILENO) >= 0);
        close(saved_in);
        close(saved_out);
        close(saved_err);
        if (in >= 0)
                close(in);

        slurp(out, r->out, sizeof(r->out));
        slurp(err, r->err, sizeof(r->err));
        close(out);
        close(err);
}

static const char mixed[] =
        SYN4 "\n"
        "random text\n"
        PING6 "\n"
        UDP4_SYSLOG "\n"
        SYNACK4 "\n"
        SSHD "\n"
        "\n"
        SYN4; /* the last line has no '\n' */

TEST(file) {
        char path[256];
        Run r;

        (void) snprintf(path, sizeof(path), "%s/log", tmpdir);
        write_file(path, mixed, strlen(mixed));
        run(&r, NULL, 0, (char *[]) { (char *) "parse", path, NULL });
        ASSERT_EQ(r.status, 0);
        ASSERT_STREQ(r.out,
                     "192.0.2.2 tcp:3721\n"
                     "2001:db8::2 ping:50\n"
                     "192.0.2.2 udp:4728\n"
                     "192.0.2.2 tcp:3721\n");
        ASSERT_STREQ(r.err, "");
}

TEST(verbose_stdin) {
        Run r;

        run(&r, mixed, strlen(mixed), (char *[]) { (char *) "parse", (char *) "-v", NULL });
        ASSERT_EQ(r.status, 0);
        ASSERT_STREQ(r.out,
                     "192.0.2.2 tcp:3721\n"
                     "2001:db8::2 ping:50\n"
                     "192.0.2.2 udp:4728\n"
                     "192.0.2.2 tcp:3721\n");
        ASSERT_STREQ(r.err,
                     "2: no PORT_KNOCKING prefix\n"
                     "5: SYN with ACK\n"
                     "6: syslog tag is not kernel:\n"
                     "7: no PORT_KNOCKING prefix\n");

        /* "-" is standard input too, and --verbose the long form */
        run(&r, SYNACK4 "\n", strlen(SYNACK4) + 1,
            (char *[]) { (char *) "parse", (char *) "--verbose", (char *) "-", NULL });
        ASSERT_EQ(r.status, 0);
        ASSERT_STREQ(r.out, "");
        ASSERT_STREQ(r.err, "1: SYN with ACK\n");
}

/* An over-long line is one line: reported once, and the line after it keeps its number. */
TEST(long_lines) {
        size_t n = LOGLINE_LINE_MAX * 3;
        char *input = malloc(n + 2 * sizeof(SYN4) + 4), *p = input;
        Run r;

        ASSERT_TRUE(input);
        p = mempcpy(p, SYN4, strlen(SYN4));
        *p++ = '\n';
        memset(p, 'x', n);
        p += n;
        *p++ = '\n';
        p = mempcpy(p, SYN4, strlen(SYN4));
        *p++ = '\n';
        run(&r, input, (size_t) (p - input), (char *[]) { (char *) "parse", (char *) "-v", NULL });
        ASSERT_EQ(r.status, 0);
        ASSERT_STREQ(r.out, "192.0.2.2 tcp:3721\n192.0.2.2 tcp:3721\n");
        ASSERT_STREQ(r.err, "2: line too long\n");
        free(input);
}

TEST(errors) {
        char missing[256];
        Run r;

        (void) snprintf(missing, sizeof(missing), "%s/does-not-exist", tmpdir);
        run(&r, NULL, 0, (char *[]) { (char *) "parse", missing, NULL });
        ASSERT_EQ(r.status, 1);
        ASSERT_STREQ(r.out, "");
        ASSERT_CONTAINS(r.err, missing);
        ASSERT_CONTAINS(r.err, "No such file or directory");

        /* a directory opens but cannot be read */
        run(&r, NULL, 0, (char *[]) { (char *) "parse", tmpdir, NULL });
        ASSERT_EQ(r.status, 1);
        ASSERT_CONTAINS(r.err, tmpdir);
        ASSERT_CONTAINS(r.err, "Is a directory");

        run(&r, NULL, 0, (char *[]) { (char *) "parse", (char *) "--bogus", NULL });
        ASSERT_EQ(r.status, EXIT_USAGE);
        ASSERT_STREQ(r.out, "");
        ASSERT_CONTAINS(r.err, "--bogus");
        ASSERT_EQ(strchr(r.err, '\n') - r.err + 1, (long) strlen(r.err)); /* one line */

        run(&r, NULL, 0, (char *[]) { (char *) "parse", (char *) "-x", NULL });
        ASSERT_EQ(r.status, EXIT_USAGE);
        ASSERT_CONTAINS(r.err, "'-x'");

        run(&r, NULL, 0, (char *[]) { (char *) "parse", (char *) "a", (char *) "b", NULL });
        ASSERT_EQ(r.status, EXIT_USAGE);
        ASSERT_CONTAINS(r.err, "at most one FILE");
}

TEST(help) {
        Run r;

        run(&r, NULL, 0, (char *[]) { (char *) "parse", (char *) "--help", NULL });
        ASSERT_EQ(r.status, 0);
        ASSERT_CONTAINS(r.out, "knockwatch parse [-v] [FILE]");
        ASSERT_CONTAINS(r.out, "--verbose");
        ASSERT_STREQ(r.err, "");
        run(&r, NULL, 0, (char *[]) { (char *) "parse", (char *) "-h", NULL });
        ASSERT_EQ(r.status, 0);
        ASSERT_CONTAINS(r.out, "SRC STEP");
}

int main(void) {
        char path[256];

        ASSERT_TRUE(mkdtemp(tmpdir));
        RUN(file);
        RUN(verbose_stdin);
        RUN(long_lines);
        RUN(errors);
        RUN(help);
        (void) snprintf(path, sizeof(path), "%s/log", tmpdir);
        ASSERT_OK(unlink(path));
        (void) snprintf(path, sizeof(path), "%s/stdin", tmpdir);
        ASSERT_OK(unlink(path));
        ASSERT_OK(rmdir(tmpdir));
        return 0;
}
