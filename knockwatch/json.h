/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * json.h — a small streaming JSON writer for output meant for programs
 * (`knockwatch status --json`). Values go straight to a FILE: no tree, no allocation.
 *
 * Strings from outside (set names, a file source's path, a set comment) never break the
 * output: '"', '\\' and every control byte (0x00–0x1f, 0x7f) are escaped, valid UTF-8
 * passes through, and each byte that is not part of a valid UTF-8 sequence (overlong
 * forms, surrogates and code points above U+10FFFF included) is written as U+FFFD.
 * A string is cut at JSON_STRING_MAX input bytes.
 *
 * Misuse (a value in an object without its key, a key in an array, closing what is not
 * open, more than JSON_DEPTH_MAX levels) makes the writer refuse everything after it;
 * json_finish() then says -EINVAL. A write error of the FILE is -EIO.
 *
 *   JsonWriter w;
 *   json_init(&w, stdout, 0);
 *   json_object_begin(&w);
 *   json_field_uint(&w, "version", 1);
 *   json_key(&w, "doors");
 *   json_array_begin(&w); ... json_array_end(&w);
 *   json_object_end(&w);
 *   r = json_finish(&w);
 */
#pragma once

#include <stdio.h>

#include "macro.h"

#define JSON_DEPTH_MAX 16
#define JSON_STRING_MAX 4096

typedef enum JsonFlags {
        JSON_PRETTY = 1 << 0,    /* newlines and two-space indentation */
} JsonFlags;

typedef struct JsonWriter {
        FILE *f;
        JsonFlags flags;
        unsigned depth;
        bool in_object[JSON_DEPTH_MAX];  /* per level: object (true) or array */
        bool has_items[JSON_DEPTH_MAX];  /* per level: a comma is due before the next item */
        bool after_key;                  /* a key was written, its value is due */
        bool done;                       /* the top-level value is complete */
        int error;                       /* sticky: 0, -EINVAL (misuse) or -EIO */
} JsonWriter;

void json_init(JsonWriter *w, FILE *f, JsonFlags flags);

void json_object_begin(JsonWriter *w);
void json_object_end(JsonWriter *w);
void json_array_begin(JsonWriter *w);
void json_array_end(JsonWriter *w);
/* The key of the next value in an object. */
void json_key(JsonWriter *w, const char *key);

void json_string(JsonWriter *w, const char *s);               /* NULL writes null */
void json_string_n(JsonWriter *w, const char *s, size_t n);   /* any bytes, NUL included */
void json_uint(JsonWriter *w, uint64_t v);
void json_int(JsonWriter *w, int64_t v);
void json_bool(JsonWriter *w, bool v);
void json_null(JsonWriter *w);

/* Key and value in one call. */
void json_field_string(JsonWriter *w, const char *key, const char *s);
void json_field_uint(JsonWriter *w, const char *key, uint64_t v);
void json_field_bool(JsonWriter *w, const char *key, bool v);

/* After the top-level value: a final newline, and flush. Returns 0, -EINVAL if the
 * writer was misused or the value is not complete, or -EIO. */
int json_finish(JsonWriter *w);
