/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-status-json.c — the JSON writer of `knockwatch status --json`: exact output of
 * objects, arrays, numbers and pretty printing; every control byte, quote and backslash
 * escaped; valid UTF-8 kept, invalid bytes replaced; misuse refused; and random bytes
 * always give a string that a strict checker (below) accepts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tests.h"

static char out[1 << 16];

/* Run fn against a writer on a memory buffer; returns json_finish()'s result and leaves
 * the text (without the final newline) in out. */
static int render(void (*fn)(JsonWriter *w, void *userdata), void *userdata, JsonFlags flags) {
        FILE *f = fmemopen(out, sizeof(out), "w");
        JsonWriter w;
        size_t len;
        int r;

        ASSERT_TRUE(f);
        json_init(&w, f, flags);
        fn(&w, userdata);
        r = json_finish(&w);
        ASSERT_TRUE(fclose(f) == 0);
        len = strlen(out);
        if (len > 0 && out[len - 1] == '\n')
                out[len - 1] = 0;
        return r;
}

typedef struct Bytes {
        const char *s;
        size_t n;
} Bytes;

static void write_bytes(JsonWriter *w, void *userdata) {
        const Bytes *b = userdata;
        json_string_n(w, b->s, b->n);
}

static const char *string_of(const char *s, size_t n) {
        Bytes b = { s, n };
        ASSERT_OK(render(write_bytes, &b, 0));
        return out;
}

/* ---- a strict checker of one JSON string literal ---------------------------------- */

static size_t utf8_len(const unsigned char *s, size_t n) {
        /* independent of json.c: decode and check the code point's range */
        uint32_t cp;
        size_t len;

        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xe0) == 0xc0)
                len = 2, cp = s[0] & 0x1f;
        else if ((s[0] & 0xf0) == 0xe0)
                len = 3, cp = s[0] & 0x0f;
        else if ((s[0] & 0xf8) == 0xf0)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

static bool valid_string_literal(const char *text) {
        const unsigned char *p = (const unsigned char *) text;
        size_t n = strlen(text), i = 1;

        if (n < 2 || p[0] != '"' || p[n - 1] != '"')
                return false;
        while (i < n - 1) {
                if (p[i] < 0x20 || p[i] == 0x7f || p[i] == '"')
                        return false;
                if (p[i] == '\\') {
                        if (i + 1 >= n - 1)
                                return false;
                        if (strchr("\"\\/bfnrt", p[i + 1]) && p[i + 1]) {
                                i += 2;
                                continue;
                        }
                        if (p[i + 1] != 'u' || i + 6 > n - 1)
                                return false;
                        for (size_t k = 2; k < 6; k++)
                                if (!strchr("0123456789abcdefABCDEF", p[i + k]) || !p[i + k])
                                        return false;
                        i += 6;
                        continue;
                }
                size_t len = utf8_len(p + i, n - 1 - i);
                if (len == 0)
                        return false;
                i += len;
        }
        return true;
}

/* ---- tests ------------------------------------------------------------------------- */

TEST(plain_and_escaped) {
        ASSERT_STREQ(string_of("ssh", 3), "\"ssh\"");
        ASSERT_STREQ(string_of("", 0), "\"\"");
        ASSERT_STREQ(string_of("a\"b\\c/d", 7), "\"a\\\"b\\\\c/d\"");
        ASSERT_STREQ(string_of("l1\nl2\r\t", 7), "\"l1\\nl2\\r\\t\"");
        ASSERT_STREQ(string_of("nul\0x", 5), "\"nul\\u0000x\"");
        ASSERT_STREQ(string_of("\x1b[31m\x7f", 6), "\"\\u001b[31m\\u007f\"");
}

TEST(every_control_byte) {
        for (unsigned c = 0; c < 0x20; c++) {
                char in[3] = { 'x', (char) c, 'y' };
                char want[16];
                const char *esc = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;

                if (esc)
                        snprintf(want, sizeof(want), "\"x%sy\"", esc);
                else
                        snprintf(want, sizeof(want), "\"x\\u%04xy\"", c);
                ASSERT_STREQ(string_of(in, 3), want);
        }
}

TEST(utf8) {
        /* valid sequences of each length pass as they are */
        ASSERT_STREQ(string_of("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
        ASSERT_STREQ(string_of("\xef\xbf\xbd", 3), "\"\xef\xbf\xbd\"");
        ASSERT_STREQ(string_of("\xf4\x8f\xbf\xbf", 4), "\"\xf4\x8f\xbf\xbf\"");   /* U+10FFFF */
        /* invalid bytes: each becomes U+FFFD, what follows is kept */
        ASSERT_STREQ(string_of("a\xff" "b", 3), "\"a\\ufffdb\"");
        ASSERT_STREQ(string_of("\xc0\x80", 2), "\"\\ufffd\\ufffd\"");              /* overlong NUL */
        ASSERT_STREQ(string_of("\xe0\x80\xaf", 3), "\"\\ufffd\\ufffd\\ufffd\"");   /* overlong '/' */
        ASSERT_STREQ(string_of("\xed\xa0\x80", 3), "\"\\ufffd\\ufffd\\ufffd\"");   /* surrogate */
        ASSERT_STREQ(string_of("\xf4\x90\x80\x80", 4), "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* > U+10FFFF */
        ASSERT_STREQ(string_of("\xe2\x82", 2), "\"\\ufffd\\ufffd\"");              /* cut short */
        ASSERT_STREQ(string_of("\xe2\x82x", 3), "\"\\ufffd\\ufffdx\"");
        ASSERT_STREQ(string_of("\x80", 1), "\"\\ufffd\"");                          /* lone continuation */
        ASSERT_STREQ(string_of("\xf8\x88\x80\x80\x80", 5),
                     "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
        /* valid JSON but not JavaScript: escaped */
        ASSERT_STREQ(string_of("\xe2\x80\xa8\xe2\x80\xa9", 6), "\"\\u2028\\u2029\"");
}

TEST(random_bytes_always_valid) {
        char in[64];

        srand(7);
        for (unsigned round = 0; round < 20000; round++) {
                size_t n = (size_t) rand() % sizeof(in);

                for (size_t i = 0; i < n; i++) {
                        /* biased towards the interesting bytes */
                        static const unsigned char pick[] = { 0, '"', '\\', '\n', 0x1f, 0x7f, 0x80,
                                                              0xbf, 0xc2, 0xe0, 0xed, 0xf0, 0xf4, 0xff };
                        in[i] = (char) (rand() % 3 == 0 ? pick[rand() % sizeof(pick)] : rand() % 256);
                }
                const char *s = string_of(in, n);
                if (!valid_string_literal(s)) {
                        fprintf(stderr, "invalid literal for round %u: %s\n", round, s);
                        abort();
                }
        }
        /* and the checker itself refuses what it must */
        ASSERT_FALSE(valid_string_literal("\"a\x01\""));
        ASSERT_FALSE(valid_string_literal("\"\xff\""));
        ASSERT_FALSE(valid_string_literal("\"\\x41\""));
        ASSERT_FALSE(valid_string_literal("\"a\"b\""));
        ASSERT_TRUE(valid_string_literal("\"\\u00e9\xc3\xa9\""));
}

TEST(long_string_cut) {
        static char big[JSON_STRING_MAX + 100];

        memset(big, 'a', sizeof(big));
        ASSERT_EQ(strlen(string_of(big, sizeof(big))), JSON_STRING_MAX + 2);
}

static void document(JsonWriter *w, void *userdata) {
        json_object_begin(w);
        json_field_uint(w, "version", 1);
        json_field_string(w, "name", "s\"sh");
        json_field_string(w, "none", NULL);
        json_key(w, "n");
        json_int(w, -5);
        json_field_bool(w, "ok", true);
        json_key(w, "big");
        json_uint(w, UINT64_MAX);
        json_key(w, "list");
        json_array_begin(w);
        json_uint(w, 1);
        json_object_begin(w);
        json_object_end(w);
        json_array_begin(w);
        json_array_end(w);
        json_bool(w, false);
        json_array_end(w);
        json_object_end(w);
}

TEST(document_compact) {
        ASSERT_OK(render(document, NULL, 0));
        ASSERT_STREQ(out, "{\"version\":1,\"name\":\"s\\\"sh\",\"none\":null,\"n\":-5,\"ok\":true,"
                          "\"big\":18446744073709551615,\"list\":[1,{},[],false]}");
}

TEST(document_pretty) {
        ASSERT_OK(render(document, NULL, JSON_PRETTY));
        ASSERT_STREQ(out, "{\n"
                          "  \"version\": 1,\n"
                          "  \"name\": \"s\\\"sh\",\n"
                          "  \"none\": null,\n"
                          "  \"n\": -5,\n"
                          "  \"ok\": true,\n"
                          "  \"big\": 18446744073709551615,\n"
                          "  \"list\": [\n"
                          "    1,\n"
                          "    {},\n"
                          "    [],\n"
                          "    false\n"
                          "  ]\n"
                          "}");
}

static void value_without_key(JsonWriter *w, void *userdata) {
        json_object_begin(w);
        json_uint(w, 1);
        json_object_end(w);
}

static void key_in_array(JsonWriter *w, void *userdata) {
        json_array_begin(w);
        json_key(w, "k");
        json_uint(w, 1);
        json_array_end(w);
}

static void key_without_value(JsonWriter *w, void *userdata) {
        json_object_begin(w);
        json_key(w, "k");
        json_object_end(w);
}

static void unbalanced(JsonWriter *w, void *userdata) {
        json_object_begin(w);
        json_array_end(w);
}

static void unclosed(JsonWriter *w, void *userdata) {
        json_array_begin(w);
}

static void two_values(JsonWriter *w, void *userdata) {
        json_uint(w, 1);
        json_uint(w, 2);
}

static void too_deep(JsonWriter *w, void *userdata) {
        for (unsigned i = 0; i <= JSON_DEPTH_MAX; i++)
                json_array_begin(w);
        for (unsigned i = 0; i <= JSON_DEPTH_MAX; i++)
                json_array_end(w);
}

static void deep_enough(JsonWriter *w, void *userdata) {
        for (unsigned i = 0; i < JSON_DEPTH_MAX; i++)
                json_array_begin(w);
        for (unsigned i = 0; i < JSON_DEPTH_MAX; i++)
                json_array_end(w);
}

TEST(misuse_refused) {
        ASSERT_ERROR(render(value_without_key, NULL, 0), EINVAL);
        ASSERT_ERROR(render(key_in_array, NULL, 0), EINVAL);
        ASSERT_ERROR(render(key_without_value, NULL, 0), EINVAL);
        ASSERT_ERROR(render(unbalanced, NULL, 0), EINVAL);
        ASSERT_ERROR(render(unclosed, NULL, 0), EINVAL);
        ASSERT_ERROR(render(two_values, NULL, 0), EINVAL);
        ASSERT_ERROR(render(too_deep, NULL, 0), EINVAL);
        ASSERT_OK(render(deep_enough, NULL, 0));
}

static void big_document(JsonWriter *w, void *userdata) {
        json_array_begin(w);
        for (unsigned i = 0; i < 100000; i++)
                json_uint(w, i);
        json_array_end(w);
}

TEST(write_error) {
        /* a document larger than the memory buffer: the FILE fails, and finish says so */
        ASSERT_ERROR(render(big_document, NULL, 0), EIO);
}

int main(void) {
        RUN(plain_and_escaped);
        RUN(every_control_byte);
        RUN(utf8);
        RUN(random_bytes_always_valid);
        RUN(long_string_cut);
        RUN(document_compact);
        RUN(document_pretty);
        RUN(misuse_refused);
        RUN(write_error);
        return 0;
}
