/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-door-comment.c — libFuzzer target for door_comment_parse() and doors_build().
 *
 * The input, cut at DoorSetInfo's comment size and NUL-terminated, is parsed as a set
 * comment. Checked: the result is 1, 0 or -EINVAL; an error's column lies within the
 * comment (or just after it) and its message is non-empty printable ASCII (found text is
 * escaped); a parsed door formats to text that parses back to the same door. Then the
 * comment goes through doors_build() as an IPv4 set next to an IPv6 set naming the same
 * door, and every problem message must be free of control characters.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE
 *        -I knockwatch fuzz/fuzz-door-comment.c knockwatch/{door,knock,totp,hmac,util}.c -lgcrypt
 */
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>

#include "door.h"
#include "string-util.h"

static void fail(const char *what, const char *comment) {
        fprintf(stderr, "fuzz-door-comment: %s for \"%s\"\n", what, comment);
        abort();
}

static bool printable(const char *s, bool allow_utf8) {
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;

                if (c < 0x20 || c == 0x7f || (c >= 0x80 && !allow_utf8))
                        return false;
        }
        return true;
}

static bool spec_same(const DoorSpec *a, const DoorSpec *b) {
        if (!streq(a->name, b->name) || a->has_sequence != b->has_sequence || a->window != b->window ||
            a->n_open != b->n_open || a->n_close != b->n_close || a->is_totp != b->is_totp ||
            a->fleet != b->fleet || a->prefix != b->prefix)
                return false;
        if (a->is_totp && (!streq(a->totp_key, b->totp_key) || a->totp.proto != b->totp.proto ||
                           a->totp.lo != b->totp.lo || a->totp.hi != b->totp.hi ||
                           a->totp.count != b->totp.count || a->totp.step != b->totp.step))
                return false;
        for (unsigned i = 0; i < a->n_open; i++)
                if (!knock_step_equal(&a->open[i], &b->open[i]))
                        return false;
        for (unsigned i = 0; i < a->n_close; i++)
                if (!knock_step_equal(&a->close[i], &b->close[i]))
                        return false;
        return true;
}

static void check_roundtrip(const DoorSpec *spec, const char *comment) {
        char text[DOOR_COMMENT_MAX * 2], again[DOOR_COMMENT_MAX * 2 + 64];
        DoorSyntaxError error;
        DoorSpec back;

        if (door_spec_format(spec, text, sizeof(text)) < 0)
                fail("door_spec_format failed", comment);
        if (spec->has_sequence)
                snprintf(again, sizeof(again), "knockwatch %s: %s", spec->name, text);
        else {
                char prefix[8] = "";

                if (spec->prefix > 0)
                        snprintf(prefix, sizeof(prefix), " /%u", spec->prefix);
                snprintf(again, sizeof(again), "knockwatch %s%s%s", spec->name,
                         spec->fleet == DOOR_FLEET_TAKE ? " fleet" : "", prefix);
        }
        /* The canonical form is never longer than what was parsed. */
        if (strlen(again) > strlen(comment))
                fail("canonical form is longer", comment);
        if (door_comment_parse(again, &back, &error) != 1)
                fail("canonical form does not parse", again);
        if (!spec_same(&back, spec))
                fail("canonical form parses to another door", again);
}

static void on_problem(DoorSeverity severity, const char *set, const char *message, void *userdata) {
        if (!message[0] || !printable(message, true))
                fail("problem message not printable", message);
        ++*(unsigned *) userdata;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        DoorSetInfo sets[2] = {
                { .name = "fuzz4", .key_type = DOOR_KEY_TYPE_IPV4, .key_len = 4, .flags = NFT_SET_TIMEOUT, .timeout_ms = 1000,
                  .has_comment = true },
                { .key_type = DOOR_KEY_TYPE_IPV6, .key_len = 16, .flags = NFT_SET_TIMEOUT, .timeout_ms = 1000, .has_comment = true },
        };
        char *comment = sets[0].comment;
        DoorSyntaxError error = { .column = 0 };
        DoorSpec spec = {};
        Door *doors = NULL;
        size_t n_doors = 0;
        unsigned problems = 0;
        int r;

        size = MIN(size, sizeof(sets[0].comment) - 1);
        memcpy(comment, data, size);
        comment[size] = 0;

        r = door_comment_parse(comment, &spec, &error);
        if (r == 1)
                check_roundtrip(&spec, comment);
        else if (r == -EINVAL) {
                if (error.column < 1 || error.column > strlen(comment) + 1)
                        fail("column out of range", comment);
                if (!error.message[0] || !printable(error.message, false))
                        fail("message not printable", comment);
        } else if (r != 0)
                fail("unexpected return value", comment);

        snprintf(sets[1].name, sizeof(sets[1].name), "fuzz6");
        snprintf(sets[1].comment, sizeof(sets[1].comment), "knockwatch %s", r == 1 ? spec.name : "x");
        r = doors_build(sets, 2, &doors, &n_doors, on_problem, &problems);
        if (r < 0 || n_doors > 1 || (size_t) r > problems)
                fail("doors_build", comment);
        if (n_doors == 1 && (!streq(doors[0].set4, "fuzz4") || !streq(doors[0].set6, "fuzz6")))
                fail("door without its sets", comment);
        free(doors);
        return 0;
}
