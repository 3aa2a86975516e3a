/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * json.c — see json.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "json.h"

void json_init(JsonWriter *w, FILE *f, JsonFlags flags) {
        *w = (JsonWriter) { .f = f, .flags = flags };
}

static void put(JsonWriter *w, const char *s, size_t n) {
        if (w->error == 0 && n > 0 && fwrite(s, 1, n, w->f) != n)
                w->error = -EIO;
}

static void puts_(JsonWriter *w, const char *s) {
        put(w, s, strlen(s));
}

static void newline_indent(JsonWriter *w) {
        static const char spaces[] = "                                ";

        if (!(w->flags & JSON_PRETTY))
                return;
        put(w, "\n", 1);
        for (unsigned i = 0; i < w->depth; i++)
                put(w, spaces, 2);
}

/* Before any value (or key): the comma and indentation it needs; false if it may not
 * come here. */
static bool begin_item(JsonWriter *w, bool is_key) {
        if (w->error < 0)
                return false;
        if (w->done) {
                w->error = -EINVAL;
                return false;
        }
        if (w->depth == 0)
                return !is_key || (w->error = -EINVAL, false);

        bool object = w->in_object[w->depth - 1];

        if (w->after_key) {
                /* the value of a key: no comma, no newline */
                if (is_key) {
                        w->error = -EINVAL;
                        return false;
                }
                w->after_key = false;
                return true;
        }
        if (object != is_key) {
                /* a value in an object needs a key; a key in an array is wrong */
                w->error = -EINVAL;
                return false;
        }
        if (w->has_items[w->depth - 1])
                put(w, ",", 1);
        w->has_items[w->depth - 1] = true;
        newline_indent(w);
        return true;
}

static void end_value(JsonWriter *w) {
        if (w->depth == 0)
                w->done = true;
}

static void open_(JsonWriter *w, bool object) {
        if (!begin_item(w, false))
                return;
        if (w->depth >= JSON_DEPTH_MAX) {
                w->error = -EINVAL;
                return;
        }
        put(w, object ? "{" : "[", 1);
        w->in_object[w->depth] = object;
        w->has_items[w->depth] = false;
        w->depth++;
}

static void close_(JsonWriter *w, bool object) {
        if (w->error < 0)
                return;
        if (w->depth == 0 || w->in_object[w->depth - 1] != object || w->after_key) {
                w->error = -EINVAL;
                return;
        }
        w->depth--;
        if (w->has_items[w->depth])
                newline_indent(w);
        put(w, object ? "}" : "]", 1);
        end_value(w);
}

void json_object_begin(JsonWriter *w) {
        open_(w, true);
}

void json_object_end(JsonWriter *w) {
        close_(w, true);
}

void json_array_begin(JsonWriter *w) {
        open_(w, false);
}

void json_array_end(JsonWriter *w) {
        close_(w, false);
}

/* The length of the valid UTF-8 sequence at s[0..n) (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0 if s does not start with one. */
static size_t utf8_sequence(const unsigned char *s, size_t n) {
        unsigned char c = s[0], lo = 0x80, hi = 0xbf;
        size_t len;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                len = 2;
        else if (c >= 0xe0 && c <= 0xef) {
                len = 3;
                if (c == 0xe0)
                        lo = 0xa0;   /* overlong */
                else if (c == 0xed)
                        hi = 0x9f;   /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
                len = 4;
                if (c == 0xf0)
                        lo = 0x90;   /* overlong */
                else if (c == 0xf4)
                        hi = 0x8f;   /* above U+10FFFF */
        } else
                return 0;
        if (n < len || s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < len; i++)
                if (s[i] < 0x80 || s[i] > 0xbf)
                        return 0;
        return len;
}

static void put_string(JsonWriter *w, const char *s, size_t n) {
        const unsigned char *p = (const unsigned char *) s;
        size_t run = 0; /* bytes at p[i - run .. i) to copy as they are */
        size_t i = 0;

        n = MIN(n, (size_t) JSON_STRING_MAX);
        put(w, "\"", 1);
        while (i < n) {
                unsigned char c = p[i];
                const char *escape = NULL;
                char buf[8];
                size_t len = 1;

                if (c == '"')
                        escape = "\\\"";
                else if (c == '\\')
                        escape = "\\\\";
                else if (c == '\n')
                        escape = "\\n";
                else if (c == '\t')
                        escape = "\\t";
                else if (c == '\r')
                        escape = "\\r";
                else if (c < 0x20 || c == 0x7f) {
                        (void) snprintf(buf, sizeof(buf), "\\u%04x", c);
                        escape = buf;
                } else if (c >= 0x80) {
                        len = utf8_sequence(p + i, n - i);
                        if (len == 0) {
                                escape = "\\ufffd";
                                len = 1;
                        } else if (len == 3 && c == 0xe2 && p[i + 1] == 0x80 &&
                                   (p[i + 2] == 0xa8 || p[i + 2] == 0xa9))
                                /* U+2028, U+2029: valid JSON, but not valid JavaScript */
                                escape = p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
                }
                if (escape) {
                        put(w, (const char *) p + i - run, run);
                        run = 0;
                        puts_(w, escape);
                } else
                        run += len;
                i += len;
        }
        put(w, (const char *) p + i - run, run);
        put(w, "\"", 1);
}

void json_key(JsonWriter *w, const char *key) {
        if (!begin_item(w, true))
                return;
        put_string(w, key, strlen(key));
        put(w, (w->flags & JSON_PRETTY) ? ": " : ":", (w->flags & JSON_PRETTY) ? 2 : 1);
        w->after_key = true;
}

void json_string_n(JsonWriter *w, const char *s, size_t n) {
        if (!begin_item(w, false))
                return;
        put_string(w, s, n);
        end_value(w);
}

void json_string(JsonWriter *w, const char *s) {
        if (!s)
                json_null(w);
        else
                json_string_n(w, s, strlen(s));
}

static void put_literal(JsonWriter *w, const char *text) {
        if (!begin_item(w, false))
                return;
        puts_(w, text);
        end_value(w);
}

void json_uint(JsonWriter *w, uint64_t v) {
        char buf[24];

        (void) snprintf(buf, sizeof(buf), "%" PRIu64, v);
        put_literal(w, buf);
}

void json_int(JsonWriter *w, int64_t v) {
        char buf[24];

        (void) snprintf(buf, sizeof(buf), "%" PRId64, v);
        put_literal(w, buf);
}

void json_bool(JsonWriter *w, bool v) {
        put_literal(w, v ? "true" : "false");
}

void json_null(JsonWriter *w) {
        put_literal(w, "null");
}

void json_field_string(JsonWriter *w, const char *key, const char *s) {
        json_key(w, key);
        json_string(w, s);
}

void json_field_uint(JsonWriter *w, const char *key, uint64_t v) {
        json_key(w, key);
        json_uint(w, v);
}

void json_field_bool(JsonWriter *w, const char *key, bool v) {
        json_key(w, key);
        json_bool(w, v);
}

int json_finish(JsonWriter *w) {
        if (w->error == 0 && !w->done)
                w->error = -EINVAL;
        put(w, "\n", 1);
        if (w->error == 0 && fflush(w->f) != 0)
                w->error = -EIO;
        return w->error;
}
