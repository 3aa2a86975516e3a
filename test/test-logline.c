/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-logline.c — the LOG-line parser against the corpus in test/corpus/ (real lines
 * from this kernel in every text form, and hostile ones; format in its README.md), and
 * properties over every corpus line: no truncation of a knock is a knock with another
 * value, none of a non-knock is a knock, a knock cut before its last required field is
 * rejected, a control byte anywhere is rejected, the length bounds hold exactly.
 */
#include <dirent.h>
#include <errno.h>

#include "fd-util.h"
#include "logline.h"
#include "string-util.h"
#include "tests.h"

#define CASE_MAX 4096

typedef struct Case {
        char file[64];
        unsigned lineno;
        LoglineForm form;
        char line[LOGLINE_LINE_MAX + 64];
        size_t len;
        int expect;               /* 1, 0 or -errno */
        KnockEvent event;         /* when expect == 1 */
        char reason[128];         /* "" when the corpus does not say */
} Case;

/* The corpus is read with the plain prefix and one secret accepted (hostile-prefix-*.txt
 * has lines with it, with others and with none). */
#define TEST_SECRET "KwTestSecret0123456789"
static LoglinePrefixes prefixes = { .plain = true };

static Case cases[CASE_MAX];
static size_t n_cases;

static const char *corpus_dir(void) {
        static char path[4096];
        const char *src = getenv("KW_SRCDIR");

        (void) snprintf(path, sizeof(path), "%s/test/corpus", src ?: ".");
        return path;
}

static int errno_from_name(const char *s) {
        static const struct {
                const char *name;
                int error;
        } names[] = {
                { "ENOMSG", ENOMSG }, { "EPERM", EPERM }, { "E2BIG", E2BIG }, { "EBADMSG", EBADMSG },
                { "EACCES", EACCES },
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(s, names[i].name))
                        return names[i].error;
        fprintf(stderr, "unknown errno name \"%s\"\n", s);
        abort();
}

/* "\xNN" and "\\" in corpus lines. */
static size_t unescape(const char *s, char *out, size_t size) {
        size_t n = 0;

        for (; *s; s++) {
                ASSERT_TRUE(n < size);
                if (s[0] == '\\' && s[1] == '\\') {
                        out[n++] = '\\';
                        s++;
                } else if (s[0] == '\\' && s[1] == 'x') {
                        unsigned v;

                        ASSERT_EQ(sscanf(s + 2, "%2x", &v), 1);
                        out[n++] = (char) v;
                        s += 3;
                } else
                        out[n++] = *s;
        }
        return n;
}

/* "knock SRC STEP", "ignore", "reject ERRNO", each optionally followed by " (REASON)". */
static void parse_expectation(Case *c, char *head) {
        char *paren = strstr(head, " (");
        char what[16], a[64], b[32];

        if (paren) {
                size_t l = strlen(paren);

                ASSERT_TRUE(paren[l - 1] == ')');
                paren[l - 1] = 0;
                (void) snprintf(c->reason, sizeof(c->reason), "%s", paren + 2);
                *paren = 0;
        }
        ASSERT_TRUE(sscanf(head, "%15s", what) == 1);
        if (streq(what, "knock")) {
                ASSERT_EQ(sscanf(head, "knock %63s %31s", a, b), 2);
                ASSERT_OK(knock_addr_parse(a, &c->event.src));
                ASSERT_OK(knock_step_parse(b, strlen(b), &c->event.step));
                c->expect = 1;
        } else if (streq(what, "ignore"))
                c->expect = 0;
        else if (streq(what, "reject")) {
                ASSERT_EQ(sscanf(head, "reject %31s", b), 1);
                c->expect = -errno_from_name(b);
        } else {
                fprintf(stderr, "bad expectation \"%s\"\n", head);
                abort();
        }
}

static LoglineForm form_of_file(const char *name) {
        if (strstr(name, "-kernel"))
                return LOGLINE_FORM_KERNEL;
        if (strstr(name, "-dmesg"))
                return LOGLINE_FORM_DMESG;
        if (strstr(name, "-syslog"))
                return LOGLINE_FORM_SYSLOG;
        fprintf(stderr, "corpus file %s: name says no form\n", name);
        abort();
}

static void load_file(const char *dir, const char *name) {
        _cleanup_fclose_ FILE *f = NULL;
        char path[4096], buf[8192];
        unsigned lineno = 0;

        (void) snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "re");
        ASSERT_TRUE(f);
        while (fgets(buf, sizeof(buf), f)) {
                size_t l = strlen(buf);
                char *sep;
                Case *c;

                lineno++;
                ASSERT_TRUE(l > 0 && buf[l - 1] == '\n');
                buf[--l] = 0;
                if (l == 0 || buf[0] == '#')
                        continue;
                sep = strstr(buf, " | ");
                ASSERT_TRUE(sep);
                *sep = 0;

                ASSERT_TRUE(n_cases < CASE_MAX);
                c = &cases[n_cases++];
                *c = (Case) { .lineno = lineno, .form = form_of_file(name) };
                (void) snprintf(c->file, sizeof(c->file), "%s", name);
                parse_expectation(c, buf);
                c->len = unescape(sep + 3, c->line, sizeof(c->line));
        }
}

static void load_corpus(void) {
        DIR *d = opendir(corpus_dir());
        struct dirent *de;
        size_t files = 0;

        ASSERT_TRUE(d);
        while ((de = readdir(d))) {
                size_t l = strlen(de->d_name);

                if (l > 4 && streq(de->d_name + l - 4, ".txt")) {
                        load_file(corpus_dir(), de->d_name);
                        files++;
                }
        }
        closedir(d);
        ASSERT_TRUE(files >= 8);
        ASSERT_TRUE(n_cases >= 300);
}

static const char *form_name(LoglineForm f) {
        return f == LOGLINE_FORM_KERNEL ? "kernel" : f == LOGLINE_FORM_DMESG ? "dmesg" :
               f == LOGLINE_FORM_SYSLOG ? "syslog" : "any";
}

static void check_case(const Case *c, LoglineForm form) {
        char a[KNOCK_ADDR_STRLEN], s[KNOCK_STEP_STRLEN];
        const char *reason = NULL;
        KnockEvent ev = {};
        int r;

        r = logline_parse(c->line, c->len, form, &prefixes, &ev, &reason);
        if (r != c->expect ||
            (r == 1 && (!knock_addr_equal(&ev.src, &c->event.src) ||
                        !knock_step_equal(&ev.step, &c->event.step) || ev.time != 0)) ||
            (r != 1 && (!reason || (c->reason[0] && !streq(reason, c->reason))))) {
                fprintf(stderr, "%s:%u (form %s): expected %d (%s), got %d", c->file, c->lineno,
                        form_name(form), c->expect, c->reason, r);
                if (r == 1)
                        fprintf(stderr, " %s %s", knock_addr_format(&ev.src, a),
                                knock_step_format(&ev.step, s));
                fprintf(stderr, " (%s)\n  %.*s\n", r == 1 ? "" : reason ?: "no reason",
                        (int) c->len, c->line);
                abort();
        }
}

TEST(corpus) {
        size_t knocks = 0, ignored = 0, rejected = 0;

        for (size_t i = 0; i < n_cases; i++) {
                check_case(&cases[i], cases[i].form);
                check_case(&cases[i], LOGLINE_FORM_ANY);
                knocks += cases[i].expect == 1;
                ignored += cases[i].expect == 0;
                rejected += cases[i].expect < 0;
        }
        printf("# %zu cases: %zu knocks, %zu ignored, %zu rejected\n", n_cases, knocks, ignored,
               rejected);
        ASSERT_TRUE(knocks >= 50 && ignored >= 50 && rejected >= 50);
}

/* The offset just past the last required field: a cut before it must be rejected. */
static size_t last_required_end(const Case *c) {
        static const char *const last[] = { " URGP=", " LEN=", " SEQ=" };
        const char *line = c->line, *end = line + c->len, *best = NULL;

        /* The L4 section only: after the (first) PROTO=, before any '[' */
        const char *proto = memmem(line, c->len, " PROTO=", 7);
        ASSERT_TRUE(proto);
        for (size_t i = 0; i < ELEMENTSOF(last); i++) {
                const char *p = memmem(proto, (size_t) (end - proto), last[i], strlen(last[i]));

                if (p && (!best || p > best))
                        best = p;
        }
        ASSERT_TRUE(best);
        best = memchr(best + 1, ' ', (size_t) (end - best - 1));
        ASSERT_TRUE(best);
        return (size_t) (best - line) + 1;
}

TEST(truncation) {
        size_t checked = 0;

        for (size_t i = 0; i < n_cases; i++) {
                const Case *c = &cases[i];
                size_t must_reject = c->expect == 1 ? last_required_end(c) : 0;

                for (size_t k = 0; k < c->len; k++) {
                        const char *reason = NULL;
                        KnockEvent ev;
                        int r;

                        r = logline_parse(c->line, k, c->form, &prefixes, &ev, &reason);
                        /* A rejected line may well start with a good one; a line that is
                         * ours must not turn into another knock, or into one at all. */
                        if ((r == 1 && c->expect == 0) ||
                            (r == 1 && c->expect == 1 &&
                             (!knock_addr_equal(&ev.src, &c->event.src) ||
                              !knock_step_equal(&ev.step, &c->event.step))) ||
                            (k < must_reject && r >= 0)) {
                                fprintf(stderr, "%s:%u cut at %zu/%zu: got %d (%s)\n  %.*s\n",
                                        c->file, c->lineno, k, c->len, r, r == 1 ? "knock" : reason,
                                        (int) k, c->line);
                                abort();
                        }
                        ASSERT_TRUE(r == 1 || reason);
                        checked++;
                }
        }
        printf("# %zu truncations checked\n", checked);
}

/* A control byte anywhere in a knock line: never a knock, and EBADMSG from the prefix on. */
TEST(control_bytes) {
        static const char bad[] = { 0x00, 0x01, '\t', '\n', '\r', 0x1b, 0x1f, 0x7f };

        for (size_t i = 0; i < n_cases; i++) {
                const Case *c = &cases[i];
                const char *prefix, *in;
                size_t from, header;

                if (c->expect != 1)
                        continue;
                prefix = memmem(c->line, c->len, LOGLINE_PREFIX, strlen(LOGLINE_PREFIX));
                ASSERT_TRUE(prefix);
                from = (size_t) (prefix - c->line);
                /* where the kernel's header starts, after the prefix and its secret */
                in = memmem(prefix, c->len - from, " IN=", 4);
                ASSERT_TRUE(in);
                header = (size_t) (in + 1 - c->line);
                for (size_t k = 0; k < c->len; k++)
                        for (size_t b = 0; b < ELEMENTSOF(bad); b++) {
                                char line[sizeof(c->line)];
                                const char *reason = NULL;
                                KnockEvent ev;
                                int r;

                                memcpy(line, c->line, c->len);
                                line[k] = bad[b];
                                r = logline_parse(line, c->len, c->form, &prefixes, &ev, &reason);
                                if (r >= 0 || (k >= from && r != -EBADMSG && r != -ENOMSG)) {
                                        fprintf(stderr, "%s:%u byte %zu = 0x%02x: got %d (%s)\n",
                                                c->file, c->lineno, k, (unsigned) (uint8_t) bad[b],
                                                r, reason);
                                        abort();
                                }
                                if (k >= header + 3)
                                        ASSERT_ERROR(r, EBADMSG);
                        }
        }
}

/* Pad a real knock line with tokens the parser ignores, to exactly n bytes. */
static size_t padded_knock(char *buf, size_t size, const char *head, size_t n) {
        static const char tail[] =
                "PORT_KNOCKING IN=kw0 OUT= MAC=aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:08:00 SRC=192.0.2.2 "
                "DST=192.0.2.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=3721 "
                "WINDOW=64240 RES=0x00 SYN URGP=0 ";
        size_t h = strlen(head), l = h + strlen(tail);

        ASSERT_TRUE(n >= l + 4 && n <= size);
        memcpy(buf, head, h);
        memcpy(buf + h, tail, strlen(tail));
        /* "X=aaa…a " until n */
        memcpy(buf + l, "X=", 2);
        memset(buf + l + 2, 'a', n - l - 3);
        buf[n - 1] = ' ';
        return n;
}

TEST(bounds) {
        static const char syslog_head[] = "2026-11-22T22:37:01.574865+00:00 vm kernel: [  350.725725] ";
        char buf[LOGLINE_LINE_MAX * 2];
        const char *reason = NULL;
        KnockEvent ev;
        size_t n;

        n = padded_knock(buf, sizeof(buf), "", LOGLINE_MESSAGE_MAX);
        ASSERT_EQ(logline_parse(buf, n, LOGLINE_FORM_KERNEL, &prefixes, &ev, &reason), 1);
        ASSERT_EQ(ev.step.value, 3721);
        n = padded_knock(buf, sizeof(buf), "", LOGLINE_MESSAGE_MAX + 1);
        ASSERT_ERROR(logline_parse(buf, n, LOGLINE_FORM_KERNEL, &prefixes, &ev, &reason), E2BIG);
        ASSERT_STREQ(reason, "message too long");

        /* syslog: the message bound and the line bound both apply */
        n = padded_knock(buf, sizeof(buf), syslog_head, strlen(syslog_head) + LOGLINE_MESSAGE_MAX);
        ASSERT_EQ(logline_parse(buf, n, LOGLINE_FORM_SYSLOG, &prefixes, &ev, &reason), 1);
        n = padded_knock(buf, sizeof(buf), syslog_head, strlen(syslog_head) + LOGLINE_MESSAGE_MAX + 1);
        ASSERT_ERROR(logline_parse(buf, n, LOGLINE_FORM_SYSLOG, &prefixes, &ev, &reason), E2BIG);

        /* a host name long enough to push a message within its bound over the line bound */
        {
                char head[512];
                size_t h;

                memcpy(head, "2026-11-22T22:37:01Z ", 21);
                memset(head + 21, 'h', 250);
                memcpy(head + 271, " kernel: ", 10);
                h = strlen(head);
                n = padded_knock(buf, sizeof(buf), head, LOGLINE_LINE_MAX);
                ASSERT_TRUE(n - h <= LOGLINE_MESSAGE_MAX);
                ASSERT_EQ(logline_parse(buf, n, LOGLINE_FORM_SYSLOG, &prefixes, &ev, &reason), 1);
                n = padded_knock(buf, sizeof(buf), head, LOGLINE_LINE_MAX + 1);
                ASSERT_ERROR(logline_parse(buf, n, LOGLINE_FORM_SYSLOG, &prefixes, &ev, &reason), E2BIG);
                ASSERT_STREQ(reason, "line too long");
        }

        /* what linebuf hands out for an over-long line: bound + 1 bytes */
        memset(buf, 'x', sizeof(buf));
        ASSERT_ERROR(logline_parse(buf, LOGLINE_LINE_MAX + 1, LOGLINE_FORM_ANY, &prefixes, &ev, &reason), E2BIG);
        ASSERT_ERROR(logline_parse(buf, sizeof(buf), LOGLINE_FORM_ANY, &prefixes, &ev, &reason), E2BIG);

        /* empty and tiny lines */
        ASSERT_ERROR(logline_parse("", 0, LOGLINE_FORM_ANY, &prefixes, &ev, &reason), ENOMSG);
        ASSERT_ERROR(logline_parse(NULL, 0, LOGLINE_FORM_KERNEL, &prefixes, &ev, &reason), ENOMSG);
        ASSERT_ERROR(logline_parse(NULL, 0, LOGLINE_FORM_SYSLOG, &prefixes, &ev, &reason), ENOMSG);
        ASSERT_ERROR(logline_parse(NULL, 0, LOGLINE_FORM_DMESG, &prefixes, &ev, &reason), ENOMSG);
        ASSERT_ERROR(logline_parse("[", 1, LOGLINE_FORM_ANY, &prefixes, &ev, &reason), ENOMSG);
}

/* ret_reason is optional; ret_event is written only for a knock. */
TEST(outputs) {
        static const char line[] =
                "PORT_KNOCKING IN=kw0 OUT= SRC=192.0.2.2 DST=192.0.2.1 LEN=60 PROTO=TCP SPT=1 "
                "DPT=3721 RES=0x00 ACK SYN URGP=0 ";
        KnockEvent ev, sentinel;
        const char *reason = NULL;

        memset(&ev, 0xaa, sizeof(ev));
        sentinel = ev;
        ASSERT_EQ(logline_parse(line, strlen(line), LOGLINE_FORM_KERNEL, &prefixes, &ev, NULL), 0);
        ASSERT_EQ(memcmp(&ev, &sentinel, sizeof(ev)), 0);
        ASSERT_EQ(logline_parse(line, strlen(line), LOGLINE_FORM_KERNEL, &prefixes, &ev, &reason), 0);
        ASSERT_STREQ(reason, "SYN with ACK");
        ASSERT_ERROR(logline_parse(line, 10, LOGLINE_FORM_KERNEL, &prefixes, &ev, NULL), ENOMSG);
        ASSERT_EQ(memcmp(&ev, &sentinel, sizeof(ev)), 0);
}

TEST(prefixes) {
        static const char line_fmt[] = "PORT_KNOCKING %sIN=kw0 OUT= SRC=192.0.2.2 DST=192.0.2.1 LEN=60 "
                                       "PROTO=TCP SPT=1 DPT=3721 RES=0x00 SYN URGP=0 ";
        LoglinePrefixes none = {}, secret_only = {};
        const char *secret, *reason;
        char line[512];
        KnockEvent ev;
        size_t len;

        /* What a log rule's prefix may be. */
        ASSERT_EQ(logline_prefix_classify("PORT_KNOCKING ", 14, &secret, &len), 1);
        ASSERT_EQ(logline_prefix_classify("PORT_KNOCKING " TEST_SECRET " ", 14 + 22 + 1, &secret, &len), 2);
        ASSERT_EQ(len, 22);
        ASSERT_TRUE(memcmp(secret, TEST_SECRET, 22) == 0);
        ASSERT_EQ(logline_prefix_classify("other ", 6, &secret, &len), 0);
        ASSERT_EQ(logline_prefix_classify("PORT_KNOCKING", 13, &secret, &len), 0);
        ASSERT_ERROR(logline_prefix_classify("PORT_KNOCKING short ", 20, &secret, &len), EINVAL);
        ASSERT_ERROR(logline_prefix_classify("PORT_KNOCKING " TEST_SECRET, 14 + 22, &secret, &len), EINVAL);
        ASSERT_ERROR(logline_prefix_classify("PORT_KNOCKING " TEST_SECRET " x ", 14 + 22 + 3, &secret, &len), EINVAL);
        ASSERT_ERROR(logline_prefix_classify("PORT_KNOCKING KwTestSecret0123456789! ", 38, &secret, &len), EINVAL);
        ASSERT_ERROR(logline_prefixes_add_secret(&secret_only, "0123456789abcde", 15), EINVAL);
        ASSERT_ERROR(logline_prefixes_add_secret(&secret_only, "0123456789abcde-", 16), EINVAL);
        ASSERT_EQ(logline_prefixes_add_secret(&secret_only, TEST_SECRET, 22), 1);
        ASSERT_EQ(logline_prefixes_add_secret(&secret_only, TEST_SECRET, 22), 0);

        /* The plain prefix: only where allowed. */
        len = (size_t) snprintf(line, sizeof(line), line_fmt, "");
        ASSERT_EQ(logline_parse(line, len, LOGLINE_FORM_KERNEL, &prefixes, &ev, &reason), 1);
        ASSERT_ERROR(logline_parse(line, len, LOGLINE_FORM_KERNEL, &secret_only, &ev, &reason), EACCES);
        ASSERT_ERROR(logline_parse(line, len, LOGLINE_FORM_KERNEL, &none, &ev, &reason), EACCES);
        /* Our secret: with it; another secret: refused; any secret: for reading logs. */
        len = (size_t) snprintf(line, sizeof(line), line_fmt, TEST_SECRET " ");
        ASSERT_EQ(logline_parse(line, len, LOGLINE_FORM_KERNEL, &secret_only, &ev, &reason), 1);
        ASSERT_EQ(ev.step.value, 3721);
        ASSERT_ERROR(logline_parse(line, len, LOGLINE_FORM_KERNEL, &none, &ev, &reason), EACCES);
        len = (size_t) snprintf(line, sizeof(line), line_fmt, "KwTestSecret0123456780 ");
        ASSERT_ERROR(logline_parse(line, len, LOGLINE_FORM_KERNEL, &secret_only, &ev, &reason), EACCES);
        ASSERT_EQ(logline_parse(line, len, LOGLINE_FORM_KERNEL, &logline_prefixes_any, &ev, &reason), 1);
        /* Not a knockwatch prefix at all: another rule's. */
        len = (size_t) snprintf(line, sizeof(line), line_fmt, "X ");
        ASSERT_ERROR(logline_parse(line, len, LOGLINE_FORM_KERNEL, &logline_prefixes_any, &ev, &reason), ENOMSG);
}

int main(void) {
        ASSERT_EQ(logline_prefixes_add_secret(&prefixes, TEST_SECRET, STRLEN(TEST_SECRET)), 1);
        load_corpus();
        RUN(corpus);
        RUN(truncation);
        RUN(control_bytes);
        RUN(bounds);
        RUN(outputs);
        RUN(prefixes);
        return 0;
}
