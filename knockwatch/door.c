/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * door.c — parsing of door comments and assembly of the doors of a table (see door.h).
 *
 * Whose comment is it: a comment is ours when its first word is exactly "knockwatch"
 * (a word being a run of letters, digits, "_" and "-"), so "knockwatch ssh",
 * "knockwatch:" and a bare "knockwatch" are ours — and the last two are errors — while
 * "knockwatchX", "knockwatch-old" or "allowed hosts" belong to someone else. A comment
 * whose first word is "knockwatch" after leading blanks is ours too and an error, so
 * that a stray space never silently disables a door.
 *
 * Errors carry the 1-based column of the offending token and a message naming what was
 * expected and what was found; found text is quoted, at most 24 characters of it, with
 * anything but printable ASCII escaped as \xNN (comments come from the kernel, and the
 * messages end up in logs and terminals).
 *
 * A comment longer than DOOR_COMMENT_MAX is rejected: nft never writes one, and
 * DoorSetInfo keeps only the first bytes of a longer one, so it may have been cut in the
 * middle of a step ("tcp:3721" read as "tcp:37").
 */
#include <errno.h>
#include <limits.h>
#include <linux/netfilter/nf_tables.h>
#include <stdarg.h>
#include <stdio.h>

#include "door.h"
#include "parse-util.h"
#include "string-util.h"
#include "time-util.h"

#define QUOTE_MAX 24          /* characters of found text quoted in a message */
#define QUOTE_BUF (2 + 40 + STRLEN("...") + 1)
#define PROBLEM_MAX 2048      /* one message of doors_build(); bounded set names */

/* ---- comment parser ---- */

typedef struct Cursor {
        const char *s;
        size_t len;
        size_t pos;
        DoorSyntaxError *error;
} Cursor;

static bool is_word_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
}

static bool is_name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* s[0..n) quoted for a message: at most QUOTE_MAX characters, escaped (string-util.h). */
static const char *quote(const char *s, size_t n, char buf[static QUOTE_BUF]) {
        return escape_into(s, n, QUOTE_MAX, ESCAPE_QUOTE, buf, QUOTE_BUF);
}

/* Length of the token at pos: up to the next space or the end. */
static size_t token_len(const Cursor *c, size_t pos) {
        size_t i = pos;

        while (i < c->len && c->s[i] != ' ')
                i++;
        return i - pos;
}

static bool token_is(const Cursor *c, size_t pos, const char *word) {
        size_t n = token_len(c, pos);

        return n == strlen(word) && memcmp(c->s + pos, word, n) == 0;
}

/* What stands at pos, for "got …": the quoted token, or the end. */
static const char *found(const Cursor *c, size_t pos, char buf[static QUOTE_BUF]) {
        if (pos >= c->len)
                return "the end of the comment";
        return quote(c->s + pos, MAX(token_len(c, pos), (size_t) 1), buf);
}

_printf_(3, 4)
static int fail(Cursor *c, size_t pos, const char *format, ...) {
        va_list ap;

        c->error->column = (unsigned) pos + 1;
        va_start(ap, format);
        (void) vsnprintf(c->error->message, sizeof(c->error->message), format, ap);
        va_end(ap);
        return -EINVAL;
}

/* Exactly one space, then something. what names the something. */
static int expect_space(Cursor *c, const char *what) {
        char q[QUOTE_BUF];

        if (c->pos >= c->len || c->s[c->pos] != ' ')
                return fail(c, c->pos, "expected a space and %s, got %s", what, found(c, c->pos, q));
        c->pos++;
        if (c->pos >= c->len)
                return fail(c, c->pos, "expected %s, got the end of the comment", what);
        if (c->s[c->pos] == ' ')
                return fail(c, c->pos, "expected one space before %s, got several", what);
        return 0;
}

static int parse_name(Cursor *c, DoorSpec *spec) {
        size_t start = c->pos, n = 0;
        char q[QUOTE_BUF];

        while (start + n < c->len && c->s[start + n] != ' ' && c->s[start + n] != ':')
                n++;
        if (n == 0)
                return fail(c, start, "expected a door name, got %s", found(c, start, q));
        if (n > DOOR_NAME_MAX)
                return fail(c, start, "door name %s is longer than %u characters",
                            quote(c->s + start, n, q), DOOR_NAME_MAX);
        if (c->s[start] < 'a' || c->s[start] > 'z')
                return fail(c, start, "expected a door name starting with a letter a-z, got %s",
                            quote(c->s + start, n, q));
        for (size_t i = 1; i < n; i++)
                if (!is_name_char(c->s[start + i]))
                        return fail(c, start,
                                    "door name may contain only a-z, 0-9, \"_\" and \"-\", got %s",
                                    quote(c->s + start, n, q));

        memcpy(spec->name, c->s + start, n);
        spec->name[n] = 0;
        c->pos += n;
        return 0;
}

/* A list of steps; the opening list ends before the word "within", the closing one at the
 * end of the comment. */
static int parse_steps(Cursor *c, KnockStep *steps, unsigned *ret_n, bool closing) {
        unsigned n = 0;
        char q[QUOTE_BUF];

        for (;;) {
                size_t len = token_len(c, c->pos);
                KnockStep step = {}; /* its padding byte too: doors compare as bytes */

                if (!closing && n > 0 && token_is(c, c->pos, "within"))
                        break;
                if (closing && n > 0 && token_is(c, c->pos, "fleet"))
                        break;
                if (knock_step_parse(c->s + c->pos, len, &step) < 0) {
                        if (!closing && n > 0 && !memchr(c->s + c->pos, ':', len))
                                return fail(c, c->pos, "expected \"within\", got %s",
                                            found(c, c->pos, q));
                        return fail(c, c->pos, "expected a step like tcp:3721, got %s",
                                    found(c, c->pos, q));
                }
                if (n >= DOOR_STEPS_MAX)
                        return fail(c, c->pos, "too many steps: at most %u, got %s as step %u",
                                    DOOR_STEPS_MAX, found(c, c->pos, q), n + 1);
                steps[n++] = step;
                c->pos += len;

                if (c->pos >= c->len) {
                        if (closing)
                                break;
                        return fail(c, c->pos, "expected \"within\" and a window after the steps, "
                                    "got the end of the comment");
                }
                if (expect_space(c, closing ? "a step" : "a step or \"within\"") < 0)
                        return -EINVAL;
        }
        *ret_n = n;
        return 0;
}

/* The token at t (len bytes) as N(ms|s|m): decimal without sign or leading zero. Returns 0
 * and the value in µs (maybe 0), -EINVAL if it has not that shape, -ERANGE for more than
 * 10 digits (which, times the largest unit, would no longer fit in 64 bits). */
static int scan_duration(const char *t, size_t len, usec_t *ret) {
        static const struct {
                const char *suffix;
                usec_t unit;
        } units[] = {
                { "ms", USEC_PER_MSEC },
                { "s", USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC },
        };
        size_t digits = 0;
        uint64_t v = 0;

        while (digits < len && t[digits] >= '0' && t[digits] <= '9')
                digits++;
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                if (len - digits != strlen(units[i].suffix) ||
                    memcmp(t + digits, units[i].suffix, len - digits) != 0)
                        continue;
                if (digits == 0 || (t[0] == '0' && digits > 1))
                        break;
                if (digits > 10)
                        return -ERANGE;
                for (size_t j = 0; j < digits; j++)
                        v = v * 10 + (uint64_t) (t[j] - '0');
                *ret = v * units[i].unit;
                return 0;
        }
        return -EINVAL;
}

/* The duration at c->pos (scan_duration()): 0 and *ret; a token that is none fails with
 * "expected EXPECTED, got …"; 1 for one too large to scan (the caller says its range). */
static int duration_token(Cursor *c, const char *expected, usec_t *ret) {
        char q[QUOTE_BUF];
        int r;

        *ret = 0;
        r = scan_duration(c->s + c->pos, token_len(c, c->pos), ret);
        if (r == -EINVAL)
                return fail(c, c->pos, "expected %s, got %s", expected, found(c, c->pos, q));
        return r < 0;
}

/* N(ms|s|m), 1 ms … DOOR_WINDOW_MAX. */
static int parse_window(Cursor *c, usec_t *ret) {
        size_t len = token_len(c, c->pos);
        char q[QUOTE_BUF];
        usec_t v;
        int r;

        r = duration_token(c, "a window like 10s (a number and ms, s or m)", &v);
        if (r < 0)
                return r;
        if (r > 0 || v < USEC_PER_MSEC || v > DOOR_WINDOW_MAX)
                return fail(c, c->pos, "window %s must be between 1ms and %llum", quote(c->s + c->pos, len, q),
                            (unsigned long long) (DOOR_WINDOW_MAX / (60 * USEC_PER_SEC)));
        c->pos += len;
        *ret = v;
        return 0;
}

/* "step" DURATION of a totp door: whole seconds, TOTP_STEP_MIN_SEC … TOTP_STEP_MAX_SEC. */
static int parse_totp_step(Cursor *c, uint16_t *ret) {
        size_t len = token_len(c, c->pos);
        char q[QUOTE_BUF];
        usec_t v;
        int r;

        r = duration_token(c, "a step like 30s (a number and s or m)", &v);
        if (r < 0)
                return r;
        if (r > 0 || v % USEC_PER_SEC != 0 || v < TOTP_STEP_MIN_SEC * USEC_PER_SEC ||
            v > TOTP_STEP_MAX_SEC * USEC_PER_SEC)
                return fail(c, c->pos, "step %s must be whole seconds between %us and %um",
                            quote(c->s + c->pos, len, q), TOTP_STEP_MIN_SEC, TOTP_STEP_MAX_SEC / 60);
        c->pos += len;
        *ret = (uint16_t) (v / USEC_PER_SEC);
        return 0;
}

/* "key=" KEYNAME: 1 … TOTP_NAME_MAX of a-z, 0-9, "_" and "-" (a name, never a path). */
static int parse_totp_key(Cursor *c, char key[static TOTP_NAME_MAX + 1]) {
        size_t len = token_len(c, c->pos), start = c->pos + STRLEN("key="), n;
        char q[QUOTE_BUF];

        if (len < STRLEN("key=") || memcmp(c->s + c->pos, "key=", STRLEN("key=")) != 0)
                return fail(c, c->pos, "expected key=NAME after \"totp\", got %s", found(c, c->pos, q));
        n = len - STRLEN("key=");
        if (n == 0)
                return fail(c, start, "expected a key name after \"key=\"");
        if (n > TOTP_NAME_MAX)
                return fail(c, start, "key name %s is longer than %u characters",
                            quote(c->s + start, n, q), TOTP_NAME_MAX);
        for (size_t i = 0; i < n; i++)
                if (!is_name_char(c->s[start + i]))
                        return fail(c, start, "key name may contain only a-z, 0-9, \"_\" and \"-\", "
                                    "got %s", quote(c->s + start, n, q));
        memcpy(key, c->s + start, n);
        key[n] = 0;
        c->pos += len;
        return 0;
}

/* PROTO ":" LO "-" HI with PROTO tcp or udp and at least TOTP_RANGE_MIN ports. */
static int parse_totp_range(Cursor *c, TotpParams *p) {
        size_t len = token_len(c, c->pos), i;
        const char *t = c->s + c->pos;
        char q[QUOTE_BUF];
        uint64_t lo, hi;
        int r;

        if (len > 4 && memcmp(t, "tcp:", 4) == 0)
                p->proto = KNOCK_PROTO_TCP;
        else if (len > 4 && memcmp(t, "udp:", 4) == 0)
                p->proto = KNOCK_PROTO_UDP;
        else
                return fail(c, c->pos, "expected a port range like tcp:20000-59999 (tcp or udp), got %s",
                            found(c, c->pos, q));
        i = 4;
        r = parse_uint_prefix(t + i, len - i, UINT16_MAX, &lo);
        if (r < 0 || lo < 1 || i + (size_t) r >= len || t[i + (size_t) r] != '-')
                return fail(c, c->pos, "expected a port range like tcp:20000-59999 (ports 1-65535), "
                            "got %s", found(c, c->pos, q));
        i += (size_t) r + 1;
        if (parse_uint(t + i, len - i, UINT16_MAX, &hi) < 0 || hi < 1)
                return fail(c, c->pos, "expected a port range like tcp:20000-59999 (ports 1-65535), "
                            "got %s", found(c, c->pos, q));
        if (hi < lo || hi - lo + 1 < TOTP_RANGE_MIN)
                return fail(c, c->pos, "port range %s holds %s ports; a totp door needs at least %u",
                            quote(t, len, q), hi < lo ? "no" : "too few", TOTP_RANGE_MIN);
        p->lo = (uint16_t) lo;
        p->hi = (uint16_t) hi;
        c->pos += len;
        return 0;
}

/* "totp" SP "key=" KEYNAME SP COUNT SP RANGE [ SP "step" SP DURATION ], up to just
 * before " within" (c->pos is at "totp"). */
static int parse_totp(Cursor *c, DoorSpec *spec) {
        TotpParams *p = &spec->totp;
        size_t len;
        char q[QUOTE_BUF];
        uint64_t count;
        int r;

        spec->is_totp = true;
        p->step = TOTP_STEP_DEFAULT_SEC;
        c->pos += STRLEN("totp");
        r = expect_space(c, "key=NAME");
        if (r < 0)
                return r;
        r = parse_totp_key(c, spec->totp_key);
        if (r < 0)
                return r;

        r = expect_space(c, "a step count");
        if (r < 0)
                return r;
        len = token_len(c, c->pos);
        if (parse_uint(c->s + c->pos, len, TOTP_COUNT_MAX, &count) < 0 || count < TOTP_COUNT_MIN)
                return fail(c, c->pos, "expected a step count from %u to %u, got %s", TOTP_COUNT_MIN,
                            TOTP_COUNT_MAX, found(c, c->pos, q));
        p->count = (uint8_t) count;
        c->pos += len;

        r = expect_space(c, "a port range like tcp:20000-59999");
        if (r < 0)
                return r;
        r = parse_totp_range(c, p);
        if (r < 0)
                return r;

        if (c->pos >= c->len)
                return fail(c, c->pos, "expected \"within\" and a window after the port range, "
                            "got the end of the comment");
        r = expect_space(c, "\"step\" or \"within\"");
        if (r < 0)
                return r;
        if (token_is(c, c->pos, "step")) {
                c->pos += STRLEN("step");
                r = expect_space(c, "a step like 30s");
                if (r < 0)
                        return r;
                r = parse_totp_step(c, &p->step);
                if (r < 0)
                        return r;
                if (c->pos >= c->len)
                        return fail(c, c->pos, "expected \"within\" and a window after the step, "
                                    "got the end of the comment");
                r = expect_space(c, "\"within\"");
                if (r < 0)
                        return r;
        }
        if (!token_is(c, c->pos, "within"))
                return fail(c, c->pos, "expected \"within\", got %s", found(c, c->pos, q));
        return 0;
}

/* The word "fleet" at c->pos, which must end the comment. */
static int parse_fleet(Cursor *c, DoorSpec *spec, DoorFleet fleet) {
        char q[QUOTE_BUF];

        c->pos += STRLEN("fleet");
        if (c->pos < c->len)
                return fail(c, c->pos, "expected the end of the comment after \"fleet\", got %s",
                            found(c, c->pos, q));
        spec->fleet = fleet;
        return 0;
}

/* A trailing " /N" (the set's grants cover the source's /N): taken off the end of the
 * comment before the rest is parsed. Whether N fits the set's family is check_set()'s. */
static int parse_prefix(Cursor *c, DoorSpec *spec) {
        char q[QUOTE_BUF];
        size_t at = c->len;
        uint64_t n;

        while (at > 0 && c->s[at - 1] != ' ')
                at--;
        if (at == 0 || at >= c->len || c->s[at] != '/')
                return 0;
        if (parse_uint(c->s + at + 1, c->len - at - 1, 128, &n) < 0 || n == 0)
                return fail(c, at, "expected a prefix length from /1 to /128 at the end, got %s",
                            quote(c->s + at, c->len - at, q));
        spec->prefix = (uint16_t) n;
        c->len = at - 1;
        return 0;
}

/* The grammar after the leading "knockwatch" (c->pos is just past it). */
static int parse_door(Cursor *c, DoorSpec *spec) {
        char q[QUOTE_BUF];
        size_t window_pos;
        int r;

        r = expect_space(c, "a door name");
        if (r < 0)
                return r;
        r = parse_name(c, spec);
        if (r < 0)
                return r;
        if (c->pos >= c->len)
                return 0; /* "knockwatch NAME": attached to a door declared elsewhere */
        if (c->s[c->pos] == ' ' && token_is(c, c->pos + 1, "fleet")) {
                /* "knockwatch NAME fleet": the door's grants come from the fleet. */
                c->pos++;
                return parse_fleet(c, spec, DOOR_FLEET_TAKE);
        }
        if (c->s[c->pos] != ':')
                return fail(c, c->pos, "expected \":\" and the steps after the door name, "
                            "\" fleet\" or the end, got %s", found(c, c->pos, q));
        c->pos++;
        spec->has_sequence = true;

        r = expect_space(c, "a step like tcp:3721");
        if (r < 0)
                return r;
        if (token_is(c, c->pos, "totp"))
                r = parse_totp(c, spec);
        else
                r = parse_steps(c, spec->open, &spec->n_open, false);
        if (r < 0)
                return r;
        c->pos += STRLEN("within");
        r = expect_space(c, "a window like 10s");
        if (r < 0)
                return r;
        window_pos = c->pos;
        r = parse_window(c, &spec->window);
        if (r < 0)
                return r;
        /* Windows of a totp door are judged by the step of their first knock; one longer
         * than a step would keep ever more windows live. */
        if (spec->is_totp && spec->window > (usec_t) spec->totp.step * USEC_PER_SEC)
                return fail(c, window_pos, "window %s is longer than the step (%us) of a totp door",
                            quote(c->s + window_pos, c->pos - window_pos, q), spec->totp.step);
        if (c->pos >= c->len)
                return 0;

        r = expect_space(c, "\"close\" or \"fleet\"");
        if (r < 0)
                return r;
        if (token_is(c, c->pos, "fleet"))
                return parse_fleet(c, spec, DOOR_FLEET_PUBLISH);
        if (!token_is(c, c->pos, "close"))
                return fail(c, c->pos, "expected \"close\", \"fleet\" or the end of the comment, "
                            "got %s", found(c, c->pos, q));
        c->pos += STRLEN("close");
        r = expect_space(c, "a step like tcp:3721");
        if (r < 0)
                return r;
        r = parse_steps(c, spec->close, &spec->n_close, true);
        if (r < 0 || c->pos >= c->len)
                return r;
        return parse_fleet(c, spec, DOOR_FLEET_PUBLISH);  /* parse_steps() stopped at "fleet" */
}

/* Like door_comment_parse(), but fills *spec as it goes, so that on an error spec->name
 * tells which door the broken comment meant (empty if the name itself was bad). */
static int parse_comment(const char *comment, DoorSpec *spec, DoorSyntaxError *error) {
        Cursor c = { .s = comment, .len = strlen(comment), .error = error };
        size_t lead = strspn(comment, " \t");

        *spec = (DoorSpec) {};
        if (!startswith(comment + lead, "knockwatch") || is_word_char(comment[lead + STRLEN("knockwatch")]))
                return 0;
        if (lead > 0)
                return fail(&c, 0, "expected \"knockwatch\" at the start of the comment, got %s",
                            comment[0] == ' ' ? "a space" : "a tab");
        if (c.len > DOOR_COMMENT_MAX)
                return fail(&c, DOOR_COMMENT_MAX, "comment is longer than %u characters",
                            DOOR_COMMENT_MAX);

        c.pos = STRLEN("knockwatch");
        if (parse_prefix(&c, spec) < 0 || parse_door(&c, spec) < 0)
                return -EINVAL;
        return 1;
}

int door_comment_parse(const char *comment, DoorSpec *ret, DoorSyntaxError *ret_error) {
        DoorSyntaxError error = {};
        DoorSpec spec;
        int r;

        r = parse_comment(comment, &spec, &error);
        if (r < 0) {
                *ret_error = error;
                return r;
        }
        if (r > 0)
                *ret = spec;
        return r;
}

/* ---- formatting ---- */

static void format_window(usec_t w, char *buf, size_t size) {
        if (w > 0 && w % (60 * USEC_PER_SEC) == 0)
                (void) snprintf(buf, size, "%llum", (unsigned long long) (w / (60 * USEC_PER_SEC)));
        else if (w > 0 && w % USEC_PER_SEC == 0)
                (void) snprintf(buf, size, "%llus", (unsigned long long) (w / USEC_PER_SEC));
        else
                (void) snprintf(buf, size, "%llums", (unsigned long long) (w / USEC_PER_MSEC));
}

/* Append to buf; once something did not fit, *len is size or more. */
_printf_(4, 5)
static void append(char *buf, size_t size, size_t *len, const char *format, ...) {
        va_list ap;
        int n;

        if (*len >= size)
                return;
        va_start(ap, format);
        n = vsnprintf(buf + *len, size - *len, format, ap);
        va_end(ap);
        *len = n < 0 ? size : *len + (size_t) n;
}

static void append_steps(char *buf, size_t size, size_t *len, const KnockStep *steps, unsigned n) {
        char s[KNOCK_STEP_STRLEN];

        for (unsigned i = 0; i < n; i++)
                append(buf, size, len, "%s%s", i > 0 ? " " : "", knock_step_format(&steps[i], s));
}

int door_spec_format(const DoorSpec *spec, char *buf, size_t size) {
        char w[32];
        size_t len = 0;

        if (size == 0)
                return -ENOBUFS;
        buf[0] = 0;
        if (!spec->has_sequence)
                return 0;
        format_window(spec->window, w, sizeof(w));
        if (spec->is_totp) {
                const TotpParams *p = &spec->totp;
                char st[32];

                append(buf, size, &len, "totp key=%s %u %s:%u-%u", spec->totp_key, p->count,
                       p->proto == KNOCK_PROTO_UDP ? "udp" : "tcp", p->lo, p->hi);
                if (p->step != TOTP_STEP_DEFAULT_SEC) {
                        format_window((usec_t) p->step * USEC_PER_SEC, st, sizeof(st));
                        append(buf, size, &len, " step %s", st);
                }
        } else
                append_steps(buf, size, &len, spec->open, spec->n_open);
        append(buf, size, &len, " within %s", w);
        if (spec->n_close > 0) {
                append(buf, size, &len, " close ");
                append_steps(buf, size, &len, spec->close, spec->n_close);
        }
        if (spec->fleet == DOOR_FLEET_PUBLISH)
                append(buf, size, &len, " fleet");
        if (spec->prefix > 0)
                append(buf, size, &len, " /%u", spec->prefix);
        return len < size ? 0 : -ENOBUFS;
}

int door_comment_name(const char *comment, char ret[static DOOR_NAME_MAX + 1]) {
        DoorSyntaxError error;
        DoorSpec spec;

        /* parse_comment() fills in the name before it meets an error. */
        if (parse_comment(comment, &spec, &error) == 0)
                return 0;
        if (!spec.name[0])
                return -EINVAL;
        memcpy(ret, spec.name, DOOR_NAME_MAX + 1);
        return 1;
}

size_t door_sets_named(const DoorSetInfo *sets, size_t n_sets, const char *name,
                       const DoorSetInfo **ret, size_t max) {
        size_t n = 0;

        for (size_t i = 0; i < n_sets; i++) {
                char comment[sizeof(sets[i].comment) + 1], door[DOOR_NAME_MAX + 1];

                if (!sets[i].has_comment)
                        continue;
                memcpy(comment, sets[i].comment, sizeof(sets[i].comment));
                comment[sizeof(sets[i].comment)] = 0;
                if (door_comment_name(comment, door) <= 0 || !streq(door, name))
                        continue;
                if (n < max)
                        ret[n] = &sets[i];
                n++;
        }
        return n;
}

const Door *doors_find(const Door *doors, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(doors[i].spec.name, name))
                        return &doors[i];
        return NULL;
}

/* ---- doors of a table ---- */

typedef struct SetEntry {
        const DoorSetInfo *info;
        size_t index;           /* position in the input, to keep reports in input order */
        char name[DOOR_SET_NAME_MAX];        /* the set's name, surely NUL-terminated */
        char set[DOOR_SET_NAME_MAX * 4 + 3]; /* the same, quoted for messages */
        DoorSpec spec;
        bool parsed;            /* the comment is valid (spec is complete) */
        bool usable;            /* parsed, and the set itself can take grants */
} SetEntry;

typedef struct Reporter {
        door_problem_fn fn;
        void *userdata;
        unsigned errors;
} Reporter;

_printf_(4, 5)
static void problem(Reporter *rep, DoorSeverity severity, const SetEntry *e, const char *format, ...) {
        char message[PROBLEM_MAX];
        va_list ap;

        if (severity == DOOR_ERROR)
                rep->errors++;
        if (!rep->fn)
                return;
        va_start(ap, format);
        (void) vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);
        rep->fn(severity, e ? e->name : NULL, message, rep->userdata);
}

/* A problem of the set that makes it unusable for its door. */
#define unusable(rep, e, ...)                                   \
        do {                                                    \
                problem((rep), DOOR_ERROR, (e), __VA_ARGS__);   \
                (e)->usable = false;                            \
        } while (0)

static bool steps_equal(const KnockStep *a, unsigned na, const KnockStep *b, unsigned nb) {
        if (na != nb)
                return false;
        for (unsigned i = 0; i < na; i++)
                if (!knock_step_equal(&a[i], &b[i]))
                        return false;
        return true;
}

static bool totp_equal(const DoorSpec *a, const DoorSpec *b) {
        const TotpParams *x = &a->totp, *y = &b->totp;

        if (a->is_totp != b->is_totp)
                return false;
        return !a->is_totp ||
               (streq(a->totp_key, b->totp_key) && x->proto == y->proto && x->lo == y->lo &&
                x->hi == y->hi && x->count == y->count && x->step == y->step);
}

static bool spec_equal(const DoorSpec *a, const DoorSpec *b) {
        return a->window == b->window && a->fleet == b->fleet && totp_equal(a, b) &&
               steps_equal(a->open, a->n_open, b->open, b->n_open) &&
               steps_equal(a->close, a->n_close, b->close, b->n_close);
}

/* An ipv4_addr or ipv6_addr set: by its key's datatype, not only its length (a 4-byte
 * key may be a mark or a port pair, a 16-byte one a concatenation). */
static bool set_key_is_address(const DoorSetInfo *info) {
        return (info->key_len == 4 && info->key_type == DOOR_KEY_TYPE_IPV4) ||
               (info->key_len == 16 && info->key_type == DOOR_KEY_TYPE_IPV6);
}

/* Parse a set's comment and check the set; problems of the set alone are reported here. */
static void check_set(Reporter *rep, SetEntry *e) {
        const DoorSetInfo *info = e->info;
        char comment[sizeof(info->comment) + 1];
        DoorSyntaxError error = {};
        int r;

        /* The comment is meant to be NUL-terminated; do not trust that. */
        memcpy(comment, info->comment, sizeof(info->comment));
        comment[sizeof(info->comment)] = 0;

        r = parse_comment(comment, &e->spec, &error);
        if (r == 0)
                return;
        if (r < 0) {
                problem(rep, DOOR_ERROR, e, "set %s: comment column %u: %s", e->set, error.column,
                        error.message);
                return;
        }
        e->parsed = e->usable = true;

        if (strnlen(info->name, sizeof(info->name)) >= sizeof(info->name))
                unusable(rep, e, "set %s: its name is longer than %zu characters",
                         e->set, sizeof(info->name) - 1);
        if (!set_key_is_address(info))
                unusable(rep, e, "set %s: its key is not an address (type %u, %u bytes); a door "
                         "set needs \"type ipv4_addr\" or \"type ipv6_addr\"", e->set,
                         info->key_type, info->key_len);
        if (!(info->flags & NFT_SET_TIMEOUT))
                unusable(rep, e, "set %s: has no \"flags timeout\"; add flags timeout so "
                         "grants expire", e->set);
        /* One address added to an interval set becomes a range reaching to the end of the
         * address space (192.0.2.9-255.255.255.255): one knock would open it to millions. */
        if (info->flags & NFT_SET_INTERVAL)
                unusable(rep, e, "set %s: has \"flags interval\", so a granted address "
                         "would open a whole range; remove flags interval", e->set);
        if (info->flags & (NFT_SET_MAP | NFT_SET_OBJECT))
                unusable(rep, e, "set %s: is a map; a door needs a plain set of "
                         "addresses", e->set);
        if (info->flags & NFT_SET_CONSTANT)
                unusable(rep, e, "set %s: has \"flags constant\", so nothing can be "
                         "added to it; remove flags constant", e->set);
        if (info->timeout_ms == 0)
                unusable(rep, e, "set %s: door \"%s\" has no default timeout; add e.g. "
                         "\"timeout 60s\" to the set", e->set, e->spec.name);
        if (e->spec.prefix > 0 && set_key_is_address(info)) {
                bool v4 = info->key_len == 4;
                unsigned bits = v4 ? 32 : 128, min = v4 ? DOOR_PREFIX4_MIN : DOOR_PREFIX6_MIN;

                if (e->spec.prefix > bits)
                        unusable(rep, e, "set %s: /%u is longer than an %s address (%u bits)", e->set,
                                 e->spec.prefix, v4 ? "IPv4" : "IPv6", bits);
                else if (e->spec.prefix < min)
                        unusable(rep, e, "set %s: /%u would open door \"%s\" to 2^%u addresses with "
                                 "one knock; the shortest prefix knockwatch grants is /%u", e->set,
                                 e->spec.prefix, e->spec.name, bits - e->spec.prefix, min);
                else if (e->spec.prefix < (v4 ? DOOR_PREFIX4_WARN : DOOR_PREFIX6_WARN))
                        problem(rep, DOOR_WARNING, e, "set %s: /%u opens door \"%s\" to 2^%u addresses "
                                "with each knock", e->set, e->spec.prefix, e->spec.name,
                                bits - e->spec.prefix);
        }
}

static int compare_entries(const void *a, const void *b) {
        const SetEntry *x = a, *y = b;
        int c = strcmp(x->spec.name, y->spec.name);

        if (c != 0)
                return c;
        return x->index < y->index ? -1 : x->index > y->index;
}

/* An immediate repeat: the SYN's own retransmission would count as the second step. */
static bool check_repeats(Reporter *rep, const SetEntry *decl, const KnockStep *steps, unsigned n,
                          const char *which) {
        char s[KNOCK_STEP_STRLEN];

        for (unsigned i = 1; i < n; i++)
                if (knock_step_equal(&steps[i - 1], &steps[i])) {
                        problem(rep, DOOR_ERROR, decl, "door \"%s\": %s follows itself in the %s "
                                "sequence (steps %u and %u); TCP retransmits a SYN by itself, so the "
                                "second adds nothing — put another step between",
                                decl->spec.name, knock_step_format(&steps[i], s), which, i, i + 1);
                        return false;
                }
        return true;
}

/* Ports strictly rising or falling, all of one protocol: what a sequential scan sends.
 * Only the opening sequence matters: a closing sequence only revokes the knocker's own
 * grant, so a scan completing it harms nobody else. */
static void check_monotonic(Reporter *rep, const SetEntry *decl) {
        const KnockStep *st = decl->spec.open;
        unsigned n = decl->spec.n_open;
        bool rising = true, falling = true;
        char list[DOOR_STEPS_MAX * KNOCK_STEP_STRLEN];
        size_t len = 0;

        if (n < 2 || st[0].proto == KNOCK_PROTO_PING)
                return;
        for (unsigned i = 1; i < n; i++) {
                if (st[i].proto != st[0].proto)
                        return;
                rising = rising && st[i].value > st[i - 1].value;
                falling = falling && st[i].value < st[i - 1].value;
        }
        if (!rising && !falling)
                return;
        append_steps(list, sizeof(list), &len, st, n);
        problem(rep, DOOR_WARNING, decl, "door \"%s\": %s %s strictly; a port scan walks it — mix "
                "the order", decl->spec.name, list, rising ? "rises" : "falls");
}

static void check_ping_ipv4(Reporter *rep, const SetEntry *decl) {
        const DoorSpec *spec = &decl->spec;
        char s[KNOCK_STEP_STRLEN];

        for (unsigned i = 0; i < spec->n_open + spec->n_close; i++) {
                const KnockStep *st = i < spec->n_open ? &spec->open[i] : &spec->close[i - spec->n_open];

                if (st->proto == KNOCK_PROTO_PING && st->value > KNOCK_PING_MAX_IPV4) {
                        problem(rep, DOOR_WARNING, decl, "door \"%s\": %s is larger than an IPv4 "
                                "echo request can carry (%u bytes), so IPv4 clients can never "
                                "complete it — use a smaller size", spec->name,
                                knock_step_format(st, s), KNOCK_PING_MAX_IPV4);
                        return;
                }
        }
}

/* A totp door's closing sequence is static: whoever saw it once can send it again, from
 * the user's address too (spoofed), and close that user's grant early. A closing step
 * inside the rotating range may also be one of a window's ports. */
static void check_totp(Reporter *rep, const SetEntry *decl) {
        const DoorSpec *spec = &decl->spec;
        const TotpParams *p = &spec->totp;
        char s[KNOCK_STEP_STRLEN];

        if (spec->n_close == 0)
                return;
        problem(rep, DOOR_WARNING, decl, "door \"%s\": its closing sequence is static, so whoever "
                "saw it can replay it (spoofing a user's address) to close that user's grant early",
                spec->name);
        for (unsigned i = 0; i < spec->n_close; i++)
                if (spec->close[i].proto == p->proto && spec->close[i].value >= p->lo &&
                    spec->close[i].value <= p->hi) {
                        problem(rep, DOOR_WARNING, decl, "door \"%s\": closing step %s lies in the "
                                "range of its rotating ports (%s:%u-%u), where a window's knocks may "
                                "hit it — pick a port outside", spec->name,
                                knock_step_format(&spec->close[i], s),
                                p->proto == KNOCK_PROTO_UDP ? "udp" : "tcp", p->lo, p->hi);
                        return;
                }
}

/* The checks of one declared sequence; returns false if it is unusable. */
static bool check_sequence(Reporter *rep, const SetEntry *decl, bool has_ipv4) {
        const DoorSpec *spec = &decl->spec;
        char s[KNOCK_STEP_STRLEN];
        bool ok;

        if (spec->is_totp)
                check_totp(rep, decl);
        ok = check_repeats(rep, decl, spec->open, spec->n_open, "opening");
        ok = check_repeats(rep, decl, spec->close, spec->n_close, "closing") && ok;

        if (spec->n_open == 1)
                problem(rep, DOOR_WARNING, decl, "door \"%s\": a single step (%s) opens it, so does "
                        "any scan that sends it — use three or more steps", spec->name,
                        knock_step_format(&spec->open[0], s));
        check_monotonic(rep, decl);
        if (spec->n_close > 0 && steps_equal(spec->open, spec->n_open, spec->close, spec->n_close))
                problem(rep, DOOR_WARNING, decl, "door \"%s\": the closing sequence is the opening "
                        "one, so every run opens and closes at once — change one of them", spec->name);
        if (has_ipv4)
                check_ping_ipv4(rep, decl);
        return ok;
}

/* At most one set of each family per door. Returns false on a second one. */
static bool check_families(Reporter *rep, SetEntry *group, size_t n, const char *door,
                           const SetEntry **ret_v4, const SetEntry **ret_v6) {
        const SetEntry *v4 = NULL, *v6 = NULL;
        bool ok = true;

        for (size_t i = 0; i < n; i++) {
                const SetEntry *e = &group[i], **slot;

                if (!e->parsed || !set_key_is_address(e->info))
                        continue;
                slot = e->info->key_len == 4 ? &v4 : &v6;
                if (*slot) {
                        problem(rep, DOOR_ERROR, e, "sets %s and %s are both %s sets of door \"%s\"; "
                                "a door takes at most one IPv4 and one IPv6 set", (*slot)->set, e->set,
                                e->info->key_len == 4 ? "IPv4" : "IPv6", door);
                        ok = false;
                } else
                        *slot = e;
        }
        *ret_v4 = v4;
        *ret_v6 = v6;
        return ok;
}

/* All sets of one door (group[0…n), sorted by input order). Returns true and fills *ret if
 * the door has no error. */
static bool build_door(Reporter *rep, SetEntry *group, size_t n, Door *ret) {
        const SetEntry *decl = NULL, *take = NULL, *plain = NULL, *v4, *v6;
        const char *name = group[0].spec.name;
        bool ok = true, broken_comment = false;

        for (size_t i = 0; i < n; i++) {
                SetEntry *e = &group[i];

                if (!e->parsed) {
                        broken_comment = true;
                        continue;
                }
                ok = ok && e->usable;
                if (e->spec.fleet == DOOR_FLEET_TAKE && !take)
                        take = e;
                if (!e->spec.has_sequence) {
                        if (e->spec.fleet != DOOR_FLEET_TAKE && !plain)
                                plain = e;
                        continue;
                }
                if (!decl)
                        decl = e;
                else if (!spec_equal(&decl->spec, &e->spec)) {
                        problem(rep, DOOR_ERROR, e, "sets %s and %s both declare door \"%s\" with "
                                "different sequences", decl->set, e->set, name);
                        ok = false;
                }
        }
        ok = check_families(rep, group, n, name, &v4, &v6) && ok;

        /* Taken from the fleet: no sequence here, and every set says so. */
        if (take && decl) {
                problem(rep, DOOR_ERROR, take, "set %s takes door \"%s\" from the fleet, but set %s "
                        "declares its sequence here; a door is knocked here or taken from the fleet, "
                        "not both — give one of them another name", take->set, name, decl->set);
                return false;
        }
        if (take && plain) {
                problem(rep, DOOR_ERROR, plain, "set %s names door \"%s\" without \"fleet\", but set "
                        "%s takes it from the fleet; write \"knockwatch %s fleet\" in both", plain->set,
                        name, take->set, name);
                return false;
        }
        if (take) {
                if (!ok || broken_comment)
                        return false;
                decl = take;
        } else if (!decl) {
                /* A broken declaration was reported already; do not blame the others for it. */
                if (!broken_comment)
                        for (size_t i = 0; i < n; i++)
                                problem(rep, DOOR_ERROR, &group[i], "set %s: names door \"%s\" but "
                                        "no set declares its sequence", group[i].set, name);
                return false;
        }
        if (!take)
                ok = check_sequence(rep, decl, v4 != NULL) && ok;
        if (!ok || broken_comment)
                return false;

        /* spec.prefix stays the declaring comment's (door_spec_format() shows it); what a
         * grant covers is each set's own: prefix4, prefix6. */
        *ret = (Door) { .spec = decl->spec, .prefix4 = 32, .prefix6 = 128 };
        if (v4) {
                strcpy(ret->set4, v4->name);
                ret->timeout4_ms = v4->info->timeout_ms;
                ret->handle4 = v4->info->handle;
                if (v4->spec.prefix > 0)
                        ret->prefix4 = v4->spec.prefix;
        }
        if (v6) {
                strcpy(ret->set6, v6->name);
                ret->timeout6_ms = v6->info->timeout_ms;
                ret->handle6 = v6->info->handle;
                if (v6->spec.prefix > 0)
                        ret->prefix6 = v6->spec.prefix;
        }
        return true;
}

int doors_build(const DoorSetInfo *sets, size_t n_sets, Door **ret_doors, size_t *ret_n,
                door_problem_fn report, void *userdata) {
        _cleanup_free_ SetEntry *entries = NULL;
        _cleanup_free_ Door *doors = NULL;
        Reporter rep = { .fn = report, .userdata = userdata };
        size_t n_entries = 0, n_doors = 0;

        if (n_sets > 0) {
                entries = calloc(n_sets, sizeof(SetEntry));
                if (!entries)
                        return -ENOMEM;
        }

        for (size_t i = 0; i < n_sets; i++) {
                SetEntry *e = &entries[n_entries];

                if (!sets[i].has_comment)
                        continue;
                *e = (SetEntry) { .info = &sets[i], .index = i };
                memcpy(e->name, sets[i].name, sizeof(e->name) - 1);
                /* Set names are short identifiers in nft; quoted whole, escaped. */
                escape_into(e->name, strlen(e->name), SIZE_MAX, ESCAPE_QUOTE, e->set, sizeof(e->set));
                check_set(&rep, e);
                /* Keep what belongs to a door: a valid comment, or a broken one whose door
                 * name could be read (that door is then not built). */
                if (e->parsed || e->spec.name[0])
                        n_entries++;
        }

        if (n_entries > 0) {
                qsort(entries, n_entries, sizeof(SetEntry), compare_entries);
                doors = calloc(n_entries, sizeof(Door));
                if (!doors)
                        return -ENOMEM;
        }
        for (size_t i = 0, j; i < n_entries; i = j) {
                for (j = i + 1; j < n_entries && streq(entries[j].spec.name, entries[i].spec.name); j++)
                        ;
                if (build_door(&rep, entries + i, j - i, &doors[n_doors]))
                        n_doors++;
        }

        if (n_doors == 0) {
                free(doors);
                doors = NULL;
        }
        *ret_doors = TAKE_PTR(doors);
        *ret_n = n_doors;
        return (int) MIN(rep.errors, (unsigned) INT_MAX);
}

void door_report(door_problem_fn report, void *userdata, DoorSeverity severity, const char *format, ...) {
        char message[DOOR_MESSAGE_MAX];
        va_list ap;

        if (!report)
                return;
        va_start(ap, format);
        (void) vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);
        report(severity, NULL, message, userdata);
}
