/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * prom-parse.h — a strict checker of the Prometheus text exposition format (0.0.4), for
 * the tests of `knockwatch metrics` and --metrics-file (Debian's promtool comes with the
 * whole Prometheus server, so the tests carry their own checker and use promtool only
 * where it is installed already). Stricter than the format where knockwatch's output
 * must be: it accepts only what a careful exporter writes.
 *
 *   - every line ends in '\n' (the last one too); no '\r', no empty line, no comment
 *     other than "# HELP NAME TEXT" and "# TYPE NAME TYPE";
 *   - metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* not
 *     starting with "__", no label twice in a sample;
 *   - label values in double quotes with only \\, \" and \n escaped, HELP text with only
 *     \\ and \n, both valid UTF-8;
 *   - each family has exactly one HELP and one TYPE (counter or gauge: knockwatch has
 *     no histogram or summary), both before its samples, and its samples are together;
 *     a family's samples have the family's name; a counter's name ends in _total;
 *   - values are decimal numbers (or NaN, +Inf, -Inf; counters: finite and >= 0), an
 *     optional timestamp an integer; no series twice.
 *
 * prom_check() returns 0, or -EBADMSG with *ret_line and ret_error saying where and why.
 * prom_value() finds one sample's value in checked text.
 */
#pragma once

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "string-util.h"

#define PROM_FAMILIES_MAX 256
#define PROM_SERIES_MAX 4096
#define PROM_NAME_MAX 200

typedef struct PromFamily {
        char name[PROM_NAME_MAX + 1];
        char type[16];
        bool help, has_samples, closed;
} PromFamily;

typedef struct PromState {
        PromFamily families[PROM_FAMILIES_MAX];
        size_t n_families;
        PromFamily *current;             /* the family whose samples are coming */
        char *series[PROM_SERIES_MAX];   /* "name{sorted labels}" of every sample seen */
        size_t n_series;
        unsigned line;
        char error[256];
} PromState;

static inline bool prom_name_char(char c, bool first, bool colon) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':'))
                return true;
        return !first && c >= '0' && c <= '9';
}

/* The length of a name at s, 0 if none. */
static inline size_t prom_name(const char *s, bool colon) {
        size_t n = 0;

        while (prom_name_char(s[n], n == 0, colon))
                n++;
        return n <= PROM_NAME_MAX ? n : 0;
}

static inline bool prom_fail(PromState *st, const char *format, ...) _printf_(2, 3);
static inline bool prom_fail(PromState *st, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(st->error, sizeof(st->error), format, ap);
        va_end(ap);
        return false;
}

static inline size_t prom_utf8(const unsigned char *s) {
        unsigned char c = s[0], lo = 0x80, hi = 0xbf;
        size_t len;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                len = 2;
        else if (c >= 0xe0 && c <= 0xef)
                len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        else if (c >= 0xf0 && c <= 0xf4)
                len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        else
                return 0;
        if (s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < len; i++)
                if (s[i] < 0x80 || s[i] > 0xbf)
                        return 0;
        return len;
}

/* Text up to the end of the line (HELP) or to the closing quote (label value), with the
 * escapes allowed there. Returns its length in the input, or 0 after prom_fail(). */
static inline bool prom_text(PromState *st, const char *s, size_t *ret_len, bool quoted) {
        size_t i = 0;

        for (;;) {
                unsigned char c = (unsigned char) s[i];
                size_t len;

                if (quoted && c == '"')
                        break;
                if (!quoted && c == '\n')
                        break;
                if (c == '\n' || c == 0)
                        return prom_fail(st, "%s", quoted ? "label value not closed" : "line not ended");
                if (c < 0x20 || c == 0x7f)
                        return prom_fail(st, "%s", "control byte");
                if (c == '\\') {
                        char e = s[i + 1];
                        if (!(e == '\\' || e == 'n' || (quoted && e == '"')))
                                return prom_fail(st, "%s", "bad escape");
                        i += 2;
                        continue;
                }
                len = prom_utf8((const unsigned char *) s + i);
                if (len == 0)
                        return prom_fail(st, "%s", "invalid UTF-8");
                i += len;
        }
        *ret_len = i;
        return true;
}

static inline bool prom_value_syntax(const char *s, size_t n, double *ret) {
        char buf[64];
        char *end;
        size_t i = 0;

        if (n == 0 || n >= sizeof(buf))
                return false;
        memcpy(buf, s, n);
        buf[n] = 0;
        if (streq(buf, "NaN") || streq(buf, "+Inf") || streq(buf, "-Inf")) {
                *ret = strtod(buf, NULL);
                return true;
        }
        /* [-+]? digits [. digits] [e [-+]? digits] */
        if (buf[i] == '-' || buf[i] == '+')
                i++;
        if (!(buf[i] >= '0' && buf[i] <= '9'))
                return false;
        while (buf[i] >= '0' && buf[i] <= '9')
                i++;
        if (buf[i] == '.') {
                i++;
                if (!(buf[i] >= '0' && buf[i] <= '9'))
                        return false;
                while (buf[i] >= '0' && buf[i] <= '9')
                        i++;
        }
        if (buf[i] == 'e' || buf[i] == 'E') {
                i++;
                if (buf[i] == '-' || buf[i] == '+')
                        i++;
                if (!(buf[i] >= '0' && buf[i] <= '9'))
                        return false;
                while (buf[i] >= '0' && buf[i] <= '9')
                        i++;
        }
        if (buf[i] != 0)
                return false;
        *ret = strtod(buf, &end);
        return *end == 0;
}

static inline PromFamily *prom_family(PromState *st, const char *name, size_t n) {
        for (size_t i = 0; i < st->n_families; i++)
                if (strlen(st->families[i].name) == n && memcmp(st->families[i].name, name, n) == 0)
                        return &st->families[i];
        return NULL;
}

/* A family named by a HELP or TYPE line, or by a sample: it must be the current one or
 * a new one; a family that was left is never taken up again. */
static inline PromFamily *prom_enter(PromState *st, const char *name, size_t n, bool by_sample) {
        PromFamily *f = prom_family(st, name, n);

        if (f && f == st->current)
                return f;
        if (f)
                return prom_fail(st, "%s", "family taken up again after another"), NULL;
        if (by_sample)
                return prom_fail(st, "%s", "sample of a family without HELP and TYPE"), NULL;
        if (st->n_families >= PROM_FAMILIES_MAX)
                return prom_fail(st, "%s", "too many families"), NULL;
        if (st->current)
                st->current->closed = true;
        f = &st->families[st->n_families++];
        memset(f, 0, sizeof(*f));
        memcpy(f->name, name, n);
        st->current = f;
        return f;
}

static inline bool prom_comment(PromState *st, const char *p) {
        bool help;
        size_t n, len;
        PromFamily *f;

        if (strncmp(p, "# HELP ", 7) == 0)
                help = true;
        else if (strncmp(p, "# TYPE ", 7) == 0)
                help = false;
        else
                return prom_fail(st, "%s", "comment that is neither HELP nor TYPE");
        p += 7;
        n = prom_name(p, true);
        if (n == 0 || p[n] != ' ')
                return prom_fail(st, "%s", "bad metric name in HELP/TYPE");
        f = prom_enter(st, p, n, false);
        if (!f)
                return false;
        if (f->has_samples)
                return prom_fail(st, "%s", "HELP/TYPE after the family's samples");
        p += n + 1;
        if (help) {
                if (f->help)
                        return prom_fail(st, "%s", "second HELP");
                if (!prom_text(st, p, &len, false))
                        return false;
                if (len == 0)
                        return prom_fail(st, "%s", "empty HELP");
                f->help = true;
                return true;
        }
        if (f->type[0])
                return prom_fail(st, "%s", "second TYPE");
        len = strcspn(p, "\n");
        if (!((len == 7 && strncmp(p, "counter", 7) == 0) || (len == 5 && strncmp(p, "gauge", 5) == 0)))
                return prom_fail(st, "%s", "TYPE is not counter or gauge");
        memcpy(f->type, p, len);
        if (streq(f->type, "counter") && (strlen(f->name) < 6 || !streq(f->name + strlen(f->name) - 6, "_total")))
                return prom_fail(st, "counter %s does not end in _total", f->name);
        return true;
}

typedef struct PromLabel {
        char name[PROM_NAME_MAX + 1];
        char value[512];
} PromLabel;

static inline int prom_label_cmp(const void *a, const void *b) {
        return strcmp(((const PromLabel *) a)->name, ((const PromLabel *) b)->name);
}

static inline bool prom_sample(PromState *st, const char *p) {
        PromLabel labels[16];
        size_t n_labels = 0, n, len;
        char key[16 * (PROM_NAME_MAX + 512 + 4) + PROM_NAME_MAX + 2];
        PromFamily *f;
        double v;

        n = prom_name(p, true);
        if (n == 0)
                return prom_fail(st, "%s", "bad metric name");
        f = prom_enter(st, p, n, true);
        if (!f)
                return false;
        if (!f->help || !f->type[0])
                return prom_fail(st, "%s", "sample before its family's HELP and TYPE");
        (void) snprintf(key, sizeof(key), "%.*s{", (int) n, p);
        p += n;
        if (*p == '{') {
                p++;
                while (*p != '}') {
                        PromLabel *l;

                        if (n_labels >= 16)
                                return prom_fail(st, "%s", "too many labels");
                        l = &labels[n_labels++];
                        n = prom_name(p, false);
                        if (n == 0 || p[n] != '=' || p[n + 1] != '"')
                                return prom_fail(st, "%s", "bad label");
                        if (n >= 2 && p[0] == '_' && p[1] == '_')
                                return prom_fail(st, "%s", "reserved label name");
                        memcpy(l->name, p, n);
                        l->name[n] = 0;
                        p += n + 2;
                        if (!prom_text(st, p, &len, true))
                                return false;
                        if (len >= sizeof(l->value))
                                return prom_fail(st, "%s", "label value too long");
                        memcpy(l->value, p, len);
                        l->value[len] = 0;
                        p += len + 1;
                        for (size_t k = 0; k + 1 < n_labels; k++)
                                if (streq(labels[k].name, l->name))
                                        return prom_fail(st, "label %s twice", l->name);
                        if (*p == ',')
                                p++;
                        else if (*p != '}')
                                return prom_fail(st, "%s", "bad label list");
                }
                p++;
        }
        if (*p != ' ')
                return prom_fail(st, "%s", "no space before the value");
        p++;
        n = strcspn(p, " \n");
        if (!prom_value_syntax(p, n, &v))
                return prom_fail(st, "%s", "bad value");
        if (streq(f->type, "counter") && (isnan(v) || isinf(v) || v < 0))
                return prom_fail(st, "%s", "counter value not finite and >= 0");
        p += n;
        if (*p == ' ') {
                p++;
                n = strspn(p, "-0123456789");
                if (n == 0 || p[n] != '\n')
                        return prom_fail(st, "%s", "bad timestamp");
                p += n;
        }
        if (*p != '\n')
                return prom_fail(st, "%s", "junk after the value");

        qsort(labels, n_labels, sizeof(PromLabel), prom_label_cmp);
        for (size_t k = 0; k < n_labels; k++) {
                size_t l = strlen(key);
                (void) snprintf(key + l, sizeof(key) - l, "%s=\"%s\",", labels[k].name, labels[k].value);
        }
        for (size_t k = 0; k < st->n_series; k++)
                if (streq(st->series[k], key))
                        return prom_fail(st, "series %.200s twice", key);
        if (st->n_series >= PROM_SERIES_MAX)
                return prom_fail(st, "%s", "too many series");
        st->series[st->n_series] = strdup(key);
        if (!st->series[st->n_series])
                abort();
        st->n_series++;
        f->has_samples = true;
        return true;
}

static inline void prom_state_done(PromState *st) {
        for (size_t k = 0; k < st->n_series; k++)
                free(st->series[k]);
}

/* Check text (NUL-terminated). On failure, *ret_line (1-based) and ret_error (size bytes). */
static inline int prom_check(const char *text, unsigned *ret_line, char *ret_error, size_t size) {
        PromState *st = calloc(1, sizeof(PromState));
        const char *p = text;
        bool ok = true;

        if (!st)
                abort();
        if (!*p)
                ok = prom_fail(st, "%s", "empty");
        while (ok && *p) {
                const char *nl = strchr(p, '\n');

                st->line++;
                if (!nl)
                        ok = prom_fail(st, "%s", "last line does not end in a newline");
                else if (nl == p)
                        ok = prom_fail(st, "%s", "empty line");
                else if (memchr(p, '\r', (size_t) (nl - p)))
                        ok = prom_fail(st, "%s", "carriage return");
                else
                        ok = *p == '#' ? prom_comment(st, p) : prom_sample(st, p);
                if (ok)
                        p = nl + 1;
        }
        for (size_t i = 0; ok && i < st->n_families; i++)
                if (!st->families[i].has_samples) {
                        st->line = 0;
                        ok = prom_fail(st, "family %s has no sample", st->families[i].name);
                }
        if (ret_line)
                *ret_line = st->line;
        if (ret_error)
                (void) snprintf(ret_error, size, "%s", ok ? "" : st->error);
        prom_state_done(st);
        free(st);
        return ok ? 0 : -EBADMSG;
}

/* The value of the sample written exactly as "series value" (series as in the text, e.g.
 * knockwatch_grants_total{door="ssh"}) in checked text; -1 if there is none. */
static inline double prom_value(const char *text, const char *series) {
        size_t n = strlen(series);

        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (strncmp(p, series, n) == 0 && p[n] == ' ')
                        return strtod(p + n + 1, NULL);
        return -1;
}
