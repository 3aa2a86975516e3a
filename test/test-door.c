/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-door.c — door comments: every valid shape parses to the right spec, every kind of
 * mistake gives its exact message and column; doors_build: every rule of door.h, with the
 * exact problem messages, and only error-free doors returned, sorted by name.
 */
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>

#include "door.h"
#include "string-util.h"
#include "tests.h"
#include "time-util.h"

/* ---- door_comment_parse ---- */

static DoorSpec parse_ok(const char *comment) {
        DoorSyntaxError error = {};
        DoorSpec spec;
        int r;

        r = door_comment_parse(comment, &spec, &error);
        if (r != 1) {
                fprintf(stderr, "\"%s\": expected a door, got %d (column %u: %s)\n", comment, r,
                        error.column, error.message);
                abort();
        }
        return spec;
}

static void step_is(const KnockStep *st, KnockProto proto, unsigned value) {
        ASSERT_EQ(st->proto, proto);
        ASSERT_EQ(st->value, value);
}

/* The comment is ours and malformed: exactly this column and message. */
static void parse_fails(const char *comment, unsigned column, const char *message) {
        DoorSyntaxError error = {};
        DoorSpec spec = { .n_open = 99 };
        int r;

        r = door_comment_parse(comment, &spec, &error);
        if (r != -EINVAL || error.column != column || !streq(error.message, message)) {
                fprintf(stderr, "\"%s\": got %d, column %u: %s\n  expected column %u: %s\n",
                        comment, r, error.column, error.message, column, message);
                abort();
        }
        ASSERT_EQ(spec.n_open, 99); /* untouched */
}

/* 1-based column of the first occurrence of what in s. */
static unsigned col(const char *s, const char *what) {
        const char *p = strstr(s, what);

        ASSERT_TRUE(p);
        return (unsigned) (p - s) + 1;
}

TEST(parse_full) {
        DoorSpec spec = parse_ok("knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 10s");

        ASSERT_STREQ(spec.name, "ssh");
        ASSERT_TRUE(spec.has_sequence);
        ASSERT_EQ(spec.n_open, 3);
        step_is(&spec.open[0], KNOCK_PROTO_TCP, 3721);
        step_is(&spec.open[1], KNOCK_PROTO_TCP, 4728);
        step_is(&spec.open[2], KNOCK_PROTO_TCP, 6742);
        ASSERT_EQ(spec.n_close, 0);
        ASSERT_EQ(spec.window, 10 * USEC_PER_SEC);
}

TEST(parse_shapes) {
        DoorSpec spec;

        spec = parse_ok("knockwatch ssh");
        ASSERT_STREQ(spec.name, "ssh");
        ASSERT_FALSE(spec.has_sequence);
        ASSERT_EQ(spec.n_open, 0);

        spec = parse_ok("knockwatch web_2-b: udp:1 ping:0 tcp:65535 ping:65527 within 250ms");
        ASSERT_STREQ(spec.name, "web_2-b");
        ASSERT_EQ(spec.n_open, 4);
        step_is(&spec.open[0], KNOCK_PROTO_UDP, 1);
        step_is(&spec.open[1], KNOCK_PROTO_PING, 0);
        step_is(&spec.open[2], KNOCK_PROTO_TCP, 65535);
        step_is(&spec.open[3], KNOCK_PROTO_PING, 65527);
        ASSERT_EQ(spec.window, 250 * USEC_PER_MSEC);

        spec = parse_ok("knockwatch x: tcp:1 within 1ms");
        ASSERT_EQ(spec.window, 1 * USEC_PER_MSEC);
        spec = parse_ok("knockwatch x: tcp:1 within 60m");
        ASSERT_EQ(spec.window, DOOR_WINDOW_MAX);
        spec = parse_ok("knockwatch x: tcp:1 within 3600s");
        ASSERT_EQ(spec.window, DOOR_WINDOW_MAX);
        spec = parse_ok("knockwatch x: tcp:1 within 3600000ms");
        ASSERT_EQ(spec.window, DOOR_WINDOW_MAX);
        spec = parse_ok("knockwatch x: tcp:1 within 2m");
        ASSERT_EQ(spec.window, 120 * USEC_PER_SEC);

        /* 32-character name */
        spec = parse_ok("knockwatch abcdefghijklmnopqrstuvwxyz012345");
        ASSERT_STREQ(spec.name, "abcdefghijklmnopqrstuvwxyz012345");
}

TEST(parse_close) {
        DoorSpec spec = parse_ok("knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 10s "
                                 "close udp:6742 ping:99");

        ASSERT_EQ(spec.n_open, 3);
        ASSERT_EQ(spec.n_close, 2);
        step_is(&spec.close[0], KNOCK_PROTO_UDP, 6742);
        step_is(&spec.close[1], KNOCK_PROTO_PING, 99);
        ASSERT_EQ(spec.window, 10 * USEC_PER_SEC);
}

TEST(parse_max_steps_and_length) {
        /* 16 steps, exactly DOOR_COMMENT_MAX characters. */
        const char *c = "knockwatch m: tcp:1 tcp:2 tcp:3 tcp:4 tcp:5 tcp:6 tcp:7 tcp:8 tcp:9 "
                        "tcp:10 tcp:11 tcp:12 tcp:13 tcp:14 tcp:15 tcp:16 within 100s";
        char longer[DOOR_COMMENT_MAX + 2];
        DoorSpec spec;

        ASSERT_EQ(strlen(c), DOOR_COMMENT_MAX);
        spec = parse_ok(c);
        ASSERT_EQ(spec.n_open, DOOR_STEPS_MAX);
        step_is(&spec.open[15], KNOCK_PROTO_TCP, 16);
        ASSERT_EQ(spec.window, 100 * USEC_PER_SEC);

        /* The longest closing sequence that fits in 128 characters. */
        spec = parse_ok("knockwatch m: tcp:1 within 1s close tcp:1 tcp:2 tcp:3 tcp:4 tcp:5 tcp:6 "
                        "tcp:7 tcp:8 tcp:9 udp:1 udp:2 udp:3 udp:4 udp:5 udp:6");
        ASSERT_EQ(spec.n_close, 15);
        step_is(&spec.close[14], KNOCK_PROTO_UDP, 6);

        /* One more character is one too many: checked before anything else, since a comment
         * cut short could still parse. */
        snprintf(longer, sizeof(longer), "%s0", c);
        parse_fails(longer, 129, "comment is longer than 128 characters");

        /* 17 steps fit in 128 characters when they are short. */
        c = "knockwatch m: tcp:1 tcp:2 tcp:3 tcp:4 tcp:5 tcp:6 tcp:7 tcp:8 tcp:9 "
            "udp:1 udp:2 udp:3 udp:4 udp:5 udp:6 udp:7 udp:8 within 1s";
        ASSERT_TRUE(strlen(c) <= DOOR_COMMENT_MAX);
        parse_fails(c, 111, "too many steps: at most 16, got \"udp:8\" as step 17");
}

TEST(not_ours) {
        static const char *others[] = {
                "", "allowed hosts", "knockwatchX ssh: tcp:1 within 1s", "knockwatch_old ssh",
                "knockwatch-2 ssh", "Knockwatch ssh", "KNOCKWATCH ssh", "ssh knockwatch",
                "xknockwatch ssh",
        };
        DoorSyntaxError error = { .column = 77 };
        DoorSpec spec = { .n_open = 77 };

        for (size_t i = 0; i < ELEMENTSOF(others); i++) {
                ASSERT_EQ(door_comment_parse(others[i], &spec, &error), 0);
                ASSERT_EQ(spec.n_open, 77);
                ASSERT_EQ(error.column, 77);
        }
}

TEST(errors_start) {
        parse_fails("knockwatch", 11, "expected a space and a door name, got the end of the comment");
        parse_fails("knockwatch ", 12, "expected a door name, got the end of the comment");
        parse_fails("knockwatch:ssh", 11, "expected a space and a door name, got \":ssh\"");
        parse_fails("knockwatch.ssh", 11, "expected a space and a door name, got \".ssh\"");
        parse_fails("knockwatch\tssh", 11, "expected a space and a door name, got \"\\x09ssh\"");
        parse_fails("knockwatch  ssh", 12, "expected one space before a door name, got several");
        parse_fails(" knockwatch ssh", 1, "expected \"knockwatch\" at the start of the comment, "
                    "got a space");
        parse_fails("\tknockwatch ssh", 1, "expected \"knockwatch\" at the start of the comment, "
                    "got a tab");
}

TEST(errors_name) {
        parse_fails("knockwatch 1ssh", 12, "expected a door name starting with a letter a-z, got \"1ssh\"");
        parse_fails("knockwatch Ssh", 12, "expected a door name starting with a letter a-z, got \"Ssh\"");
        parse_fails("knockwatch sSh: tcp:1 within 1s", 12,
                    "door name may contain only a-z, 0-9, \"_\" and \"-\", got \"sSh\"");
        parse_fails("knockwatch s.h", 12, "door name may contain only a-z, 0-9, \"_\" and \"-\", "
                    "got \"s.h\"");
        parse_fails("knockwatch abcdefghijklmnopqrstuvwxyz0123456", 12,
                    "door name \"abcdefghijklmnopqrstuvwx\"... is longer than 32 characters");
        parse_fails("knockwatch :", 12, "expected a door name, got \":\"");
        parse_fails("knockwatch ssh tcp:1", 15, "expected \":\" and the steps after the door name, "
                    "\" fleet\" or the end, got \" \"");
        parse_fails("knockwatch ssh ", 15, "expected \":\" and the steps after the door name, "
                    "\" fleet\" or the end, got \" \"");
        /* Quoting: escapes, and at most 24 characters of the found text. */
        parse_fails("knockwatch s\"h\\", 12, "door name may contain only a-z, 0-9, \"_\" and \"-\", "
                    "got \"s\\\"h\\\\\"");
        parse_fails("knockwatch s\xc3\xa9", 12, "door name may contain only a-z, 0-9, \"_\" and \"-\", "
                    "got \"s\\xc3\\xa9\"");
}

TEST(errors_steps) {
        const char *c;

        parse_fails("knockwatch ssh:", 16, "expected a space and a step like tcp:3721, got the end "
                    "of the comment");
        parse_fails("knockwatch ssh:tcp:1 within 1s", 16, "expected a space and a step like "
                    "tcp:3721, got \"tcp:1\"");
        parse_fails("knockwatch ssh: ", 17, "expected a step like tcp:3721, got the end of the comment");

        c = "knockwatch ssh: tcp:3721 tcp:0 tcp:6742 within 10s";
        parse_fails(c, 26, "expected a step like tcp:3721, got \"tcp:0\"");
        c = "knockwatch ssh: within 10s";
        parse_fails(c, 17, "expected a step like tcp:3721, got \"within\"");
        c = "knockwatch ssh: TCP:22 within 10s";
        parse_fails(c, 17, "expected a step like tcp:3721, got \"TCP:22\"");
        c = "knockwatch ssh: tcp:22, tcp:23 within 10s";
        parse_fails(c, 17, "expected a step like tcp:3721, got \"tcp:22,\"");
        c = "knockwatch ssh: tcp:3721 icmp:8 within 10s";
        parse_fails(c, col(c, "icmp"), "expected a step like tcp:3721, got \"icmp:8\"");
        c = "knockwatch ssh: tcp:3721 ping:65528 within 10s";
        parse_fails(c, col(c, "ping"), "expected a step like tcp:3721, got \"ping:65528\"");
        c = "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 in 10s";
        parse_fails(c, 44, "expected \"within\", got \"in\"");
        c = "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742";
        parse_fails(c, 43, "expected \"within\" and a window after the steps, got the end of the comment");
        c = "knockwatch ssh: tcp:3721  tcp:4728 within 1s";
        parse_fails(c, 26, "expected one space before a step or \"within\", got several");
        c = "knockwatch ssh: tcp:3721 tcp:4728 ";
        parse_fails(c, 35, "expected a step or \"within\", got the end of the comment");
        c = "knockwatch ssh: tcp:1234567890123456789012345678901234567890 within 1s";
        parse_fails(c, 17, "expected a step like tcp:3721, got \"tcp:12345678901234567890\"...");
}

TEST(errors_window) {
        const char *c;

        c = "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 0s";
        parse_fails(c, 51, "window \"0s\" must be between 1ms and 60m");
        c = "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 0ms";
        parse_fails(c, 51, "window \"0ms\" must be between 1ms and 60m");
        c = "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 61m";
        parse_fails(c, 51, "window \"61m\" must be between 1ms and 60m");
        c = "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 3601s";
        parse_fails(c, 51, "window \"3601s\" must be between 1ms and 60m");
        c = "knockwatch ssh: tcp:3721 within 99999999999999999999999m";
        parse_fails(c, col(c, "999"), "window \"99999999999999999999999m\" must be between 1ms and 60m");
        c = "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 10";
        parse_fails(c, 51, "expected a window like 10s (a number and ms, s or m), got \"10\"");
        c = "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 1h";
        parse_fails(c, 51, "expected a window like 10s (a number and ms, s or m), got \"1h\"");
        c = "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 10S";
        parse_fails(c, 51, "expected a window like 10s (a number and ms, s or m), got \"10S\"");
        c = "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 010s";
        parse_fails(c, 51, "expected a window like 10s (a number and ms, s or m), got \"010s\"");
        c = "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within s";
        parse_fails(c, 51, "expected a window like 10s (a number and ms, s or m), got \"s\"");
        c = "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within -1s";
        parse_fails(c, 51, "expected a window like 10s (a number and ms, s or m), got \"-1s\"");
        c = "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within";
        parse_fails(c, 50, "expected a space and a window like 10s, got the end of the comment");
        c = "knockwatch ssh: tcp:3721 within ";
        parse_fails(c, 33, "expected a window like 10s, got the end of the comment");
}

TEST(errors_close) {
        const char *c;

        c = "knockwatch ssh: tcp:3721 tcp:4728 within 10s shut tcp:1";
        parse_fails(c, 46, "expected \"close\", \"fleet\" or the end of the comment, got \"shut\"");
        c = "knockwatch ssh: tcp:3721 tcp:4728 within 10s ";
        parse_fails(c, 46, "expected \"close\" or \"fleet\", got the end of the comment");
        c = "knockwatch ssh: tcp:3721 tcp:4728 within 10s close";
        parse_fails(c, 51, "expected a space and a step like tcp:3721, got the end of the comment");
        c = "knockwatch ssh: tcp:3721 tcp:4728 within 10s close within";
        parse_fails(c, 52, "expected a step like tcp:3721, got \"within\"");
        c = "knockwatch ssh: tcp:3721 tcp:4728 within 10s close tcp:1 udp:0";
        parse_fails(c, 58, "expected a step like tcp:3721, got \"udp:0\"");
        c = "knockwatch ssh: tcp:3721 tcp:4728 within 10s close tcp:1 ";
        parse_fails(c, 58, "expected a step, got the end of the comment");
}

TEST(format) {
        static const char *shapes[] = {
                "tcp:3721 tcp:4728 tcp:6742 within 10s",
                "udp:1 ping:0 within 250ms",
                "tcp:1 within 60m",
                "tcp:1 within 2m",
                "tcp:1 within 1ms",
                "tcp:1 within 1500ms",
                "tcp:3721 tcp:4728 within 10s close udp:1 ping:65527",
        };
        char comment[DOOR_COMMENT_MAX * 2], buf[256];
        DoorSpec spec;

        for (size_t i = 0; i < ELEMENTSOF(shapes); i++) {
                snprintf(comment, sizeof(comment), "knockwatch d: %s", shapes[i]);
                spec = parse_ok(comment);
                ASSERT_OK(door_spec_format(&spec, buf, sizeof(buf)));
                ASSERT_STREQ(buf, shapes[i]);
        }
        /* 90s is not a whole number of minutes */
        spec = parse_ok("knockwatch d: tcp:1 within 90s");
        ASSERT_OK(door_spec_format(&spec, buf, sizeof(buf)));
        ASSERT_STREQ(buf, "tcp:1 within 90s");

        spec = parse_ok("knockwatch d");
        ASSERT_OK(door_spec_format(&spec, buf, sizeof(buf)));
        ASSERT_STREQ(buf, "");

        spec = parse_ok("knockwatch d: tcp:3721 within 10s");
        ASSERT_ERROR(door_spec_format(&spec, buf, 10), ENOBUFS);
        ASSERT_STREQ(buf, "tcp:3721 ");
        ASSERT_ERROR(door_spec_format(&spec, buf, strlen("tcp:3721 within 10s")), ENOBUFS);
        ASSERT_OK(door_spec_format(&spec, buf, strlen("tcp:3721 within 10s") + 1));
}

/* ---- doors_build ---- */

typedef struct Problems {
        char text[32][1024];   /* "E set: message" or "W set: message" */
        size_t n;
} Problems;

static void collect(DoorSeverity severity, const char *set, const char *message, void *userdata) {
        Problems *p = userdata;

        ASSERT_TRUE(p->n < ELEMENTSOF(p->text));
        snprintf(p->text[p->n++], sizeof(p->text[0]), "%c %s| %s",
                 severity == DOOR_ERROR ? 'E' : 'W', set ? set : "(table)", message);
}

static DoorSetInfo set_info(const char *name, uint32_t key_len, const char *comment) {
        DoorSetInfo s = {
                .key_type = key_len == 4 ? DOOR_KEY_TYPE_IPV4 : key_len == 16 ? DOOR_KEY_TYPE_IPV6 : 0,
                .key_len = key_len,
                .flags = NFT_SET_TIMEOUT,
                .timeout_ms = 60000,
                .has_comment = comment != NULL,
        };

        snprintf(s.name, sizeof(s.name), "%s", name);
        if (comment)
                snprintf(s.comment, sizeof(s.comment), "%s", comment);
        return s;
}

typedef struct Built {
        Door *doors;
        size_t n;
        int errors;
        Problems problems;
} Built;

static void built_done(Built *b) {
        free(b->doors);
}

static void build(const DoorSetInfo *sets, size_t n, Built *ret) {
        *ret = (Built) {};
        ret->errors = doors_build(sets, n, &ret->doors, &ret->n, collect, &ret->problems);
        ASSERT_OK(ret->errors);
        for (size_t i = 0; i < ret->problems.n; i++)
                printf("#   %s\n", ret->problems.text[i]);
}

static void has_problem(const Built *b, const char *text) {
        for (size_t i = 0; i < b->problems.n; i++)
                if (streq(b->problems.text[i], text))
                        return;
        fprintf(stderr, "missing problem: %s\n", text);
        abort();
}

TEST(build_pair) {
        DoorSetInfo sets[] = {
                set_info("filter", 4, "allowed hosts"),
                set_info("ssh6", 16, "knockwatch ssh"),
                set_info("plain", 4, NULL),
                set_info("ssh4", 4, "knockwatch ssh: tcp:3721 tcp:6742 tcp:4728 within 10s"),
        };
        Built b;

        sets[1].timeout_ms = 30000;
        build(sets, ELEMENTSOF(sets), &b);
        ASSERT_EQ(b.errors, 0);
        ASSERT_EQ(b.problems.n, 0);
        ASSERT_EQ(b.n, 1);
        ASSERT_STREQ(b.doors[0].spec.name, "ssh");
        ASSERT_EQ(b.doors[0].spec.n_open, 3);
        ASSERT_STREQ(b.doors[0].set4, "ssh4");
        ASSERT_EQ(b.doors[0].timeout4_ms, 60000);
        ASSERT_STREQ(b.doors[0].set6, "ssh6");
        ASSERT_EQ(b.doors[0].timeout6_ms, 30000);
        ASSERT_TRUE(doors_find(b.doors, b.n, "ssh") == &b.doors[0]);
        ASSERT_TRUE(doors_find(b.doors, b.n, "ssx") == NULL);
        built_done(&b);

        /* Nothing ours at all. */
        build(sets, 1, &b);
        ASSERT_EQ(b.errors, 0);
        ASSERT_EQ(b.n, 0);
        ASSERT_TRUE(b.doors == NULL);
        build(NULL, 0, &b);
        ASSERT_EQ(b.n, 0);
}

TEST(build_sorted_v4_only_v6_only) {
        DoorSetInfo sets[] = {
                set_info("zz6", 16, "knockwatch zulu: tcp:7 tcp:3 tcp:9 within 5s"),
                set_info("aa4", 4, "knockwatch alpha: udp:7 udp:3 udp:9 within 5s"),
                set_info("mm4", 4, "knockwatch mike: ping:7 ping:3 ping:9 within 5s"),
        };
        Built b;

        build(sets, ELEMENTSOF(sets), &b);
        ASSERT_EQ(b.errors, 0);
        ASSERT_EQ(b.problems.n, 0);
        ASSERT_EQ(b.n, 3);
        ASSERT_STREQ(b.doors[0].spec.name, "alpha");
        ASSERT_STREQ(b.doors[0].set4, "aa4");
        ASSERT_STREQ(b.doors[0].set6, "");
        ASSERT_STREQ(b.doors[1].spec.name, "mike");
        ASSERT_STREQ(b.doors[2].spec.name, "zulu");
        ASSERT_STREQ(b.doors[2].set4, "");
        ASSERT_STREQ(b.doors[2].set6, "zz6");
        ASSERT_TRUE(doors_find(b.doors, b.n, "mike") == &b.doors[1]);
        built_done(&b);
}

TEST(build_set_errors) {
        DoorSetInfo sets[] = {
                set_info("ssh4", 4, "knockwatch ssh: tcp:3721 tcp:6742 tcp:4728 within 10s"),
                set_info("web4", 4, "knockwatch web: tcp:80 tcp:8 tcp:800 within 10s"),
                set_info("mac", 6, "knockwatch mac: tcp:80 tcp:8 tcp:800 within 10s"),
                set_info("ok4", 4, "knockwatch ok: tcp:80 tcp:8 tcp:800 within 10s"),
                set_info("bad4", 4, "knockwatch bad: tcp:3721 tcp:0 within 10s"),
                set_info("bad6", 16, "knockwatch bad"),
                set_info("mark", 4, "knockwatch mark: tcp:80 tcp:8 tcp:800 within 10s"),
        };
        Built b;

        sets[0].flags = 0;
        sets[1].timeout_ms = 0;
        sets[6].key_type = 19; /* a 4-byte key that is no address: type mark */
        build(sets, ELEMENTSOF(sets), &b);
        has_problem(&b, "E ssh4| set \"ssh4\": has no \"flags timeout\"; add flags timeout so grants "
                    "expire");
        has_problem(&b, "E web4| set \"web4\": door \"web\" has no default timeout; add e.g. "
                    "\"timeout 60s\" to the set");
        has_problem(&b, "E mac| set \"mac\": its key is not an address (type 0, 6 bytes); a door set "
                    "needs \"type ipv4_addr\" or \"type ipv6_addr\"");
        has_problem(&b, "E mark| set \"mark\": its key is not an address (type 19, 4 bytes); a door set "
                    "needs \"type ipv4_addr\" or \"type ipv6_addr\"");
        has_problem(&b, "E bad4| set \"bad4\": comment column 26: expected a step like tcp:3721, "
                    "got \"tcp:0\"");
        /* The v6 set of the broken door is not blamed for the broken declaration. */
        ASSERT_EQ(b.problems.n, 5);
        ASSERT_EQ(b.errors, 5);
        ASSERT_EQ(b.n, 1);
        ASSERT_STREQ(b.doors[0].spec.name, "ok");
        built_done(&b);
}

/* Sets a single address must never go into: an interval set turns it into a range up to
 * the end of the address space, a map wants data with it, a constant set refuses it. */
TEST(build_set_kinds_refused) {
        DoorSetInfo sets[] = {
                set_info("range4", 4, "knockwatch range: tcp:3721 tcp:6742 tcp:4728 within 10s"),
                set_info("map4", 4, "knockwatch map: tcp:3721 tcp:6742 tcp:4728 within 10s"),
                set_info("const4", 4, "knockwatch const: tcp:3721 tcp:6742 tcp:4728 within 10s"),
                set_info("ok4", 4, "knockwatch ok: tcp:80 tcp:8 tcp:800 within 10s"),
        };
        Built b;

        sets[0].flags |= NFT_SET_INTERVAL;
        sets[1].flags |= NFT_SET_MAP;
        sets[2].flags |= NFT_SET_CONSTANT;
        build(sets, ELEMENTSOF(sets), &b);
        has_problem(&b, "E range4| set \"range4\": has \"flags interval\", so a granted address would "
                    "open a whole range; remove flags interval");
        has_problem(&b, "E map4| set \"map4\": is a map; a door needs a plain set of addresses");
        has_problem(&b, "E const4| set \"const4\": has \"flags constant\", so nothing can be added "
                    "to it; remove flags constant");
        ASSERT_EQ(b.errors, 3);
        ASSERT_EQ(b.n, 1);
        ASSERT_STREQ(b.doors[0].spec.name, "ok");
        built_done(&b);
}

TEST(build_undeclared_and_conflicts) {
        DoorSetInfo sets[] = {
                set_info("ssh6", 16, "knockwatch sshx"),
                set_info("a4", 4, "knockwatch dup: tcp:3721 tcp:6742 tcp:4728 within 10s"),
                set_info("b4", 4, "knockwatch dup: tcp:3721 tcp:6742 tcp:4729 within 10s"),
                set_info("same4", 4, "knockwatch same: tcp:3721 tcp:6742 tcp:4728 within 10s"),
                set_info("same6", 16, "knockwatch same: tcp:3721 tcp:6742 tcp:4728 within 10s"),
                set_info("two4a", 4, "knockwatch two: tcp:3721 tcp:6742 tcp:4728 within 10s"),
                set_info("two4b", 4, "knockwatch two"),
                set_info("win4", 4, "knockwatch win: tcp:3721 tcp:6742 tcp:4728 within 10s"),
                set_info("win6", 16, "knockwatch win: tcp:3721 tcp:6742 tcp:4728 within 11s"),
        };
        Built b;

        build(sets, ELEMENTSOF(sets), &b);
        has_problem(&b, "E ssh6| set \"ssh6\": names door \"sshx\" but no set declares its sequence");
        has_problem(&b, "E b4| sets \"a4\" and \"b4\" both declare door \"dup\" with different sequences");
        has_problem(&b, "E b4| sets \"a4\" and \"b4\" are both IPv4 sets of door \"dup\"; a door takes "
                    "at most one IPv4 and one IPv6 set");
        has_problem(&b, "E two4b| sets \"two4a\" and \"two4b\" are both IPv4 sets of door \"two\"; a "
                    "door takes at most one IPv4 and one IPv6 set");
        has_problem(&b, "E win6| sets \"win4\" and \"win6\" both declare door \"win\" with different "
                    "sequences");
        ASSERT_EQ(b.errors, 5);
        ASSERT_EQ(b.problems.n, 5);
        /* A v4 and a v6 set declaring the same sequence is fine. */
        ASSERT_EQ(b.n, 1);
        ASSERT_STREQ(b.doors[0].spec.name, "same");
        ASSERT_STREQ(b.doors[0].set4, "same4");
        ASSERT_STREQ(b.doors[0].set6, "same6");
        built_done(&b);
}

TEST(build_sequence_rules) {
        DoorSetInfo sets[] = {
                set_info("rep4", 4, "knockwatch rep: tcp:3721 tcp:4728 tcp:4728 tcp:6742 within 10s"),
                set_info("crep4", 4, "knockwatch crep: tcp:3721 tcp:6742 tcp:4728 within 10s "
                         "close udp:1 udp:1"),
                set_info("up4", 4, "knockwatch up: tcp:1000 tcp:2000 tcp:3000 within 10s"),
                set_info("down6", 16, "knockwatch down: udp:3000 udp:2000 within 10s"),
                set_info("one4", 4, "knockwatch one: tcp:3721 within 10s"),
                set_info("same4", 4, "knockwatch same: tcp:3721 tcp:6742 tcp:4728 within 10s "
                         "close tcp:3721 tcp:6742 tcp:4728"),
                set_info("big4", 4, "knockwatch big: ping:65508 tcp:6742 tcp:4728 within 10s"),
                set_info("big6", 16, "knockwatch big6: ping:65527 tcp:6742 tcp:4728 within 10s"),
                set_info("bigc4", 4, "knockwatch bigc: tcp:2 tcp:6742 tcp:4728 within 10s close "
                         "ping:65508"),
                set_info("mixed4", 4, "knockwatch mixed: tcp:1000 udp:2000 tcp:3000 within 10s"),
                set_info("pings4", 4, "knockwatch pings: ping:1 ping:2 ping:3 within 10s"),
                set_info("aba4", 4, "knockwatch aba: tcp:1 tcp:2 tcp:1 within 10s close tcp:2 tcp:1"),
        };
        Built b;

        build(sets, ELEMENTSOF(sets), &b);
        has_problem(&b, "E rep4| door \"rep\": tcp:4728 follows itself in the opening sequence "
                    "(steps 2 and 3); TCP retransmits a SYN by itself, so the second adds "
                    "nothing — put another step between");
        has_problem(&b, "E crep4| door \"crep\": udp:1 follows itself in the closing sequence "
                    "(steps 1 and 2); TCP retransmits a SYN by itself, so the second adds "
                    "nothing — put another step between");
        has_problem(&b, "W up4| door \"up\": tcp:1000 tcp:2000 tcp:3000 rises strictly; a port scan "
                    "walks it — mix the order");
        has_problem(&b, "W down6| door \"down\": udp:3000 udp:2000 falls strictly; a port scan walks "
                    "it — mix the order");
        has_problem(&b, "W one4| door \"one\": a single step (tcp:3721) opens it, so does any scan "
                    "that sends it — use three or more steps");
        has_problem(&b, "W same4| door \"same\": the closing sequence is the opening one, so every run "
                    "opens and closes at once — change one of them");
        has_problem(&b, "W big4| door \"big\": ping:65508 is larger than an IPv4 echo request can "
                    "carry (65507 bytes), so IPv4 clients can never complete it — use a smaller size");
        has_problem(&b, "W bigc4| door \"bigc\": ping:65508 is larger than an IPv4 echo request can "
                    "carry (65507 bytes), so IPv4 clients can never complete it — use a smaller size");
        /* big6 (IPv6 only), mixed protocols, pings and tcp:1 tcp:2 tcp:1: nothing to say */
        ASSERT_EQ(b.errors, 2);
        ASSERT_EQ(b.problems.n, 8);
        /* Doors with warnings only are used; doors with errors are not. */
        ASSERT_EQ(b.n, 10);
        ASSERT_TRUE(doors_find(b.doors, b.n, "rep") == NULL);
        ASSERT_TRUE(doors_find(b.doors, b.n, "crep") == NULL);
        ASSERT_TRUE(doors_find(b.doors, b.n, "up"));
        ASSERT_TRUE(doors_find(b.doors, b.n, "big6"));
        for (size_t i = 1; i < b.n; i++)
                ASSERT_TRUE(strcmp(b.doors[i - 1].spec.name, b.doors[i].spec.name) < 0);
        built_done(&b);
}

TEST(build_deterministic_and_hostile) {
        DoorSetInfo sets[] = {
                set_info("b", 4, "knockwatch b: tcp:3 tcp:1 tcp:2 within 1s"),
                set_info("a", 4, "knockwatch a: tcp:3 tcp:1 tcp:2 within 1s"),
                set_info("x\x01y", 4, "knockwatch: oops"),
                set_info("c", 4, NULL),
        };
        Built b1, b2;

        /* A comment filling its whole buffer with no NUL, a name likewise. */
        memset(sets[3].comment, 'k', sizeof(sets[3].comment));
        memcpy(sets[3].comment, "knockwatch c", 12);
        sets[3].has_comment = true;
        memset(sets[3].name, 'n', sizeof(sets[3].name));

        build(sets, ELEMENTSOF(sets), &b1);
        build(sets, ELEMENTSOF(sets), &b2);
        ASSERT_EQ(b1.n, 2);
        ASSERT_EQ(b1.errors, 2);
        ASSERT_EQ(b1.problems.n, b2.problems.n);
        for (size_t i = 0; i < b1.problems.n; i++)
                ASSERT_STREQ(b1.problems.text[i], b2.problems.text[i]);
        ASSERT_EQ(memcmp(b1.doors, b2.doors, b1.n * sizeof(Door)), 0);
        ASSERT_CONTAINS(b1.problems.text[0], "set \"x\\x01y\": comment column 11: expected a space and "
                        "a door name, got \":\"");
        ASSERT_CONTAINS(b1.problems.text[1], "comment column 129: comment is longer than 128 characters");
        built_done(&b1);
        built_done(&b2);
}

TEST(build_set_name_unterminated) {
        DoorSetInfo sets[] = {
                set_info("x", 4, "knockwatch long: tcp:3 tcp:1 tcp:2 within 1s"),
        };
        char want[1024];
        Built b;

        memset(sets[0].name, 'n', sizeof(sets[0].name));
        build(sets, ELEMENTSOF(sets), &b);
        ASSERT_EQ(b.errors, 1);
        ASSERT_EQ(b.n, 0);
        /* The name handed to the callback and quoted is cut to 255 characters. */
        snprintf(want, sizeof(want), "E %.255s| set \"%.255s\": its name is longer than 255 characters",
                 sets[0].name, sets[0].name);
        has_problem(&b, want);
        built_done(&b);
}

TEST(build_null_report) {
        DoorSetInfo sets[] = {
                set_info("ssh6", 16, "knockwatch sshx"),
        };
        Door *doors = (Door *) 1;
        size_t n = 7;

        ASSERT_EQ(doors_build(sets, ELEMENTSOF(sets), &doors, &n, NULL, NULL), 1);
        ASSERT_EQ(n, 0);
        ASSERT_TRUE(doors == NULL);
}

/* ---- totp doors ---- */

TEST(parse_totp) {
        DoorSpec spec = parse_ok("knockwatch ssh: totp key=ssh 4 tcp:20000-59999 within 10s");

        ASSERT_STREQ(spec.name, "ssh");
        ASSERT_TRUE(spec.has_sequence);
        ASSERT_TRUE(spec.is_totp);
        ASSERT_STREQ(spec.totp_key, "ssh");
        ASSERT_EQ(spec.totp.count, 4);
        ASSERT_EQ(spec.totp.proto, KNOCK_PROTO_TCP);
        ASSERT_EQ(spec.totp.lo, 20000);
        ASSERT_EQ(spec.totp.hi, 59999);
        ASSERT_EQ(spec.totp.step, 30);
        ASSERT_EQ(spec.n_open, 0);
        ASSERT_EQ(spec.n_close, 0);
        ASSERT_EQ(spec.window, 10 * USEC_PER_SEC);
        ASSERT_OK(totp_params_check(&spec.totp));

        spec = parse_ok("knockwatch vpn: totp key=ops_team-2 8 udp:1000-1999 step 10m within 10m "
                        "close tcp:9 udp:7");
        ASSERT_STREQ(spec.totp_key, "ops_team-2");
        ASSERT_EQ(spec.totp.count, 8);
        ASSERT_EQ(spec.totp.proto, KNOCK_PROTO_UDP);
        ASSERT_EQ(spec.totp.lo, 1000);
        ASSERT_EQ(spec.totp.hi, 1999);
        ASSERT_EQ(spec.totp.step, 600);
        ASSERT_EQ(spec.window, 600 * USEC_PER_SEC);
        ASSERT_EQ(spec.n_close, 2);
        step_is(&spec.close[0], KNOCK_PROTO_TCP, 9);
        step_is(&spec.close[1], KNOCK_PROTO_UDP, 7);

        /* Bounds that hold: 2 and 8 steps, exactly 1,000 ports, 1-65535, a 10 s step in ms,
         * a window as long as the step, a key name of 32 characters and of digits only. */
        spec = parse_ok("knockwatch a: totp key=0 2 tcp:1-1000 step 10000ms within 10s");
        ASSERT_EQ(spec.totp.count, 2);
        ASSERT_EQ(spec.totp.lo, 1);
        ASSERT_EQ(spec.totp.hi, 1000);
        ASSERT_EQ(spec.totp.step, 10);
        spec = parse_ok("knockwatch a: totp key=k 8 tcp:64536-65535 step 90s within 90s");
        ASSERT_EQ(spec.totp.hi, 65535);
        ASSERT_EQ(spec.totp.step, 90);
        spec = parse_ok("knockwatch a: totp key=abcdefghijklmnopqrstuvwxyz012345 3 tcp:1-65535 within 1ms");
        ASSERT_STREQ(spec.totp_key, "abcdefghijklmnopqrstuvwxyz012345");

        /* The word "totp" is no step of a static door, as before. */
        parse_fails("knockwatch ssh: tcp:1 totp within 10s", col("knockwatch ssh: tcp:1 totp", "totp"),
                    "expected \"within\", got \"totp\"");
}

TEST(errors_totp) {
        static const struct {
                const char *rest;     /* after "knockwatch ssh: " */
                const char *at;       /* the column is where this first occurs in rest */
                const char *message;
        } cases[] = {
                { "totp", "", "expected a space and key=NAME, got the end of the comment" },
                { "totp ssh 4 tcp:20000-59999 within 10s", "ssh",
                  "expected key=NAME after \"totp\", got \"ssh\"" },
                { "totp key= 4 tcp:20000-59999 within 10s", " 4",
                  "expected a key name after \"key=\"" },
                { "totp key=../etc/passwd 4 tcp:20000-59999 within 10s", "../",
                  "key name may contain only a-z, 0-9, \"_\" and \"-\", got \"../etc/passwd\"" },
                { "totp key=Ssh 4 tcp:20000-59999 within 10s", "Ssh",
                  "key name may contain only a-z, 0-9, \"_\" and \"-\", got \"Ssh\"" },
                { "totp key=abcdefghijklmnopqrstuvwxyz0123456 4 tcp:20000-59999 within 10s", "abc",
                  "key name \"abcdefghijklmnopqrstuvwx\"... is longer than 32 characters" },
                { "totp  key=ssh 4 tcp:20000-59999 within 10s", " key",
                  "expected one space before key=NAME, got several" },
                { "totp key=ssh", "", "expected a space and a step count, got the end of the comment" },
                { "totp key=ssh 1 tcp:20000-59999 within 10s", "1 ",
                  "expected a step count from 2 to 8, got \"1\"" },
                { "totp key=ssh 9 tcp:20000-59999 within 10s", "9 ",
                  "expected a step count from 2 to 8, got \"9\"" },
                { "totp key=ssh 04 tcp:20000-59999 within 10s", "04",
                  "expected a step count from 2 to 8, got \"04\"" },
                { "totp key=ssh four tcp:20000-59999 within 10s", "four",
                  "expected a step count from 2 to 8, got \"four\"" },
                { "totp key=ssh 4 ping:1-5000 within 10s", "ping",
                  "expected a port range like tcp:20000-59999 (tcp or udp), got \"ping:1-5000\"" },
                { "totp key=ssh 4 tcp: within 10s", "tcp",
                  "expected a port range like tcp:20000-59999 (tcp or udp), got \"tcp:\"" },
                { "totp key=ssh 4 tcp:0-59999 within 10s", "tcp",
                  "expected a port range like tcp:20000-59999 (ports 1-65535), got \"tcp:0-59999\"" },
                { "totp key=ssh 4 tcp:20000-65536 within 10s", "tcp",
                  "expected a port range like tcp:20000-59999 (ports 1-65535), got \"tcp:20000-65536\"" },
                { "totp key=ssh 4 tcp:20000 within 10s", "tcp",
                  "expected a port range like tcp:20000-59999 (ports 1-65535), got \"tcp:20000\"" },
                { "totp key=ssh 4 tcp:20000- within 10s", "tcp",
                  "expected a port range like tcp:20000-59999 (ports 1-65535), got \"tcp:20000-\"" },
                { "totp key=ssh 4 tcp:020000-59999 within 10s", "tcp",
                  "expected a port range like tcp:20000-59999 (ports 1-65535), got \"tcp:020000-59999\"" },
                { "totp key=ssh 4 tcp:20000-+59999 within 10s", "tcp",
                  "expected a port range like tcp:20000-59999 (ports 1-65535), got \"tcp:20000-+59999\"" },
                { "totp key=ssh 4 tcp:59999-20000 within 10s", "tcp",
                  "port range \"tcp:59999-20000\" holds no ports; a totp door needs at least 1000" },
                { "totp key=ssh 4 tcp:20000-20998 within 10s", "tcp",
                  "port range \"tcp:20000-20998\" holds too few ports; a totp door needs at least 1000" },
                { "totp key=ssh 4 tcp:20000-59999", "",
                  "expected \"within\" and a window after the port range, got the end of the comment" },
                { "totp key=ssh 4 tcp:20000-59999 inside 10s", "inside",
                  "expected \"within\", got \"inside\"" },
                { "totp key=ssh 4 tcp:20000-59999 step", "",
                  "expected a space and a step like 30s, got the end of the comment" },
                { "totp key=ssh 4 tcp:20000-59999 step 30s", "",
                  "expected \"within\" and a window after the step, got the end of the comment" },
                { "totp key=ssh 4 tcp:20000-59999 step 30 within 10s", "30",
                  "expected a step like 30s (a number and s or m), got \"30\"" },
                { "totp key=ssh 4 tcp:20000-59999 step 5s within 1s", "5s",
                  "step \"5s\" must be whole seconds between 10s and 10m" },
                { "totp key=ssh 4 tcp:20000-59999 step 11m within 1s", "11m",
                  "step \"11m\" must be whole seconds between 10s and 10m" },
                { "totp key=ssh 4 tcp:20000-59999 step 10500ms within 1s", "10500ms",
                  "step \"10500ms\" must be whole seconds between 10s and 10m" },
                { "totp key=ssh 4 tcp:20000-59999 step 99999999999s within 1s", "99999999999s",
                  "step \"99999999999s\" must be whole seconds between 10s and 10m" },
                { "totp key=ssh 4 tcp:20000-59999 step 30s step 30s within 10s", "step 30s within",
                  "expected \"within\", got \"step\"" },
                { "totp key=ssh 4 tcp:20000-59999 within 31s", "31s",
                  "window \"31s\" is longer than the step (30s) of a totp door" },
                { "totp key=ssh 4 tcp:20000-59999 step 1m within 61s", "61s",
                  "window \"61s\" is longer than the step (60s) of a totp door" },
                { "totp key=ssh 4 tcp:20000-59999 within 10s close", "",
                  "expected a space and a step like tcp:3721, got the end of the comment" },
                { "totp key=ssh 4 tcp:20000-59999 within 10s tcp:1", "tcp:1",
                  "expected \"close\", \"fleet\" or the end of the comment, got \"tcp:1\"" },
        };
        char comment[256];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *rest = cases[i].rest;
                unsigned column;

                snprintf(comment, sizeof(comment), "knockwatch ssh: %s", rest);
                /* "" means the end of the comment */
                column = cases[i].at[0] ? col(comment + STRLEN("knockwatch ssh: "), cases[i].at) +
                                          (unsigned) STRLEN("knockwatch ssh: ")
                                        : (unsigned) strlen(comment) + 1;
                parse_fails(comment, column, cases[i].message);
        }
}

TEST(format_totp) {
        static const struct {
                const char *in, *out;
        } shapes[] = {
                { "totp key=ssh 4 tcp:20000-59999 within 10s", NULL },
                { "totp key=ssh 4 tcp:20000-59999 step 30s within 10s", "totp key=ssh 4 tcp:20000-59999 within 10s" },
                { "totp key=ssh 4 tcp:20000-59999 step 60s within 10s", "totp key=ssh 4 tcp:20000-59999 step 1m within 10s" },
                { "totp key=a_b-c 8 udp:1000-1999 step 90s within 1500ms close tcp:9 udp:7", NULL },
                { "totp key=k 2 tcp:1-65535 step 10000ms within 10s", "totp key=k 2 tcp:1-65535 step 10s within 10s" },
        };
        char comment[DOOR_COMMENT_MAX * 2], buf[256], again[sizeof(buf) + 16];
        DoorSpec spec, back;

        for (size_t i = 0; i < ELEMENTSOF(shapes); i++) {
                snprintf(comment, sizeof(comment), "knockwatch d: %s", shapes[i].in);
                spec = parse_ok(comment);
                ASSERT_OK(door_spec_format(&spec, buf, sizeof(buf)));
                ASSERT_STREQ(buf, shapes[i].out ? shapes[i].out : shapes[i].in);
                /* The canonical form reads back as the same door, byte for byte. */
                snprintf(again, sizeof(again), "knockwatch d: %s", buf);
                back = parse_ok(again);
                ASSERT_EQ(memcmp(&spec, &back, sizeof(spec)), 0);
        }
        /* The longest totp comment still fits nft's 128 characters. */
        spec = parse_ok("knockwatch abcdefghijklmnopqrstuvwxyz012345: totp key=abcdefghijklmnopqrstuvwxyz012345 "
                        "8 tcp:10000-65535 step 10m within 10m");
        ASSERT_EQ(spec.totp.step, 600);
}

TEST(build_totp) {
        DoorSetInfo sets[] = {
                set_info("ssh4", 4, "knockwatch ssh: totp key=ssh 4 tcp:20000-59999 within 10s"),
                set_info("ssh6", 16, "knockwatch ssh"),
                set_info("c4", 4, "knockwatch c: totp key=c 3 udp:40000-49999 within 10s close tcp:9 tcp:8"),
                set_info("cin4", 4, "knockwatch cin: totp key=c 3 udp:40000-49999 within 10s "
                         "close tcp:45000 udp:45000 tcp:7"),
                set_info("d4", 4, "knockwatch d: totp key=d 4 tcp:20000-59999 within 10s"),
                set_info("d6", 16, "knockwatch d: totp key=other 4 tcp:20000-59999 within 10s"),
                set_info("e4", 4, "knockwatch e: tcp:3721 tcp:4728 tcp:6742 within 10s"),
                set_info("e6", 16, "knockwatch e: totp key=e 4 tcp:20000-59999 within 10s"),
                set_info("f4", 4, "knockwatch f: totp key=f 4 tcp:20000-59999 step 1m within 10s"),
                set_info("f6", 16, "knockwatch f: totp key=f 4 tcp:20000-59999 step 60s within 10s"),
        };
        const Door *d;
        Built b;

        build(sets, ELEMENTSOF(sets), &b);
        has_problem(&b, "W c4| door \"c\": its closing sequence is static, so whoever saw it can "
                    "replay it (spoofing a user's address) to close that user's grant early");
        has_problem(&b, "W cin4| door \"cin\": its closing sequence is static, so whoever saw it can "
                    "replay it (spoofing a user's address) to close that user's grant early");
        has_problem(&b, "W cin4| door \"cin\": closing step udp:45000 lies in the range of its "
                    "rotating ports (udp:40000-49999), where a window's knocks may hit it — pick a "
                    "port outside");
        has_problem(&b, "E d6| sets \"d4\" and \"d6\" both declare door \"d\" with different sequences");
        has_problem(&b, "E e6| sets \"e4\" and \"e6\" both declare door \"e\" with different sequences");
        has_problem(&b, "W e4| door \"e\": tcp:3721 tcp:4728 tcp:6742 rises strictly; a port scan "
                    "walks it — mix the order");
        ASSERT_EQ(b.errors, 2);
        ASSERT_EQ(b.problems.n, 6);
        ASSERT_EQ(b.n, 4);

        d = doors_find(b.doors, b.n, "ssh");
        ASSERT_TRUE(d);
        ASSERT_TRUE(d->spec.is_totp);
        ASSERT_STREQ(d->spec.totp_key, "ssh");
        ASSERT_STREQ(d->set4, "ssh4");
        ASSERT_STREQ(d->set6, "ssh6");
        /* The same door written two ways by two sets is one door. */
        d = doors_find(b.doors, b.n, "f");
        ASSERT_TRUE(d);
        ASSERT_EQ(d->spec.totp.step, 60);
        ASSERT_STREQ(d->set6, "f6");
        ASSERT_TRUE(doors_find(b.doors, b.n, "d") == NULL);
        built_done(&b);
}

/* ---- fleets (issue 12) ---- */

TEST(parse_fleet) {
        DoorSpec spec;
        char buf[256];

        spec = parse_ok("knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 10s fleet");
        ASSERT_EQ(spec.fleet, DOOR_FLEET_PUBLISH);
        ASSERT_TRUE(spec.has_sequence);
        ASSERT_EQ(spec.n_open, 3);
        ASSERT_OK(door_spec_format(&spec, buf, sizeof(buf)));
        ASSERT_STREQ(buf, "tcp:3721 tcp:4728 tcp:6742 within 10s fleet");

        spec = parse_ok("knockwatch ssh: tcp:3721 tcp:4728 within 10s close tcp:1 tcp:2 fleet");
        ASSERT_EQ(spec.fleet, DOOR_FLEET_PUBLISH);
        ASSERT_EQ(spec.n_close, 2);
        ASSERT_OK(door_spec_format(&spec, buf, sizeof(buf)));
        ASSERT_STREQ(buf, "tcp:3721 tcp:4728 within 10s close tcp:1 tcp:2 fleet");

        spec = parse_ok("knockwatch ssh: totp key=ssh 4 tcp:20000-59999 within 10s fleet");
        ASSERT_EQ(spec.fleet, DOOR_FLEET_PUBLISH);
        ASSERT_TRUE(spec.is_totp);

        spec = parse_ok("knockwatch ssh fleet");
        ASSERT_EQ(spec.fleet, DOOR_FLEET_TAKE);
        ASSERT_FALSE(spec.has_sequence);
        ASSERT_STREQ(spec.name, "ssh");
        ASSERT_OK(door_spec_format(&spec, buf, sizeof(buf)));
        ASSERT_STREQ(buf, "");

        spec = parse_ok("knockwatch ssh: tcp:3721 tcp:4728 within 10s");
        ASSERT_EQ(spec.fleet, DOOR_FLEET_NONE);
        /* A door named "fleet" is still a name. */
        spec = parse_ok("knockwatch fleet fleet");
        ASSERT_STREQ(spec.name, "fleet");
        ASSERT_EQ(spec.fleet, DOOR_FLEET_TAKE);
}

TEST(errors_fleet) {
        const char *c;

        c = "knockwatch ssh fleet x";
        parse_fails(c, 21, "expected the end of the comment after \"fleet\", got \" \"");
        c = "knockwatch ssh fleet ";
        parse_fails(c, 21, "expected the end of the comment after \"fleet\", got \" \"");
        c = "knockwatch ssh fleets";
        parse_fails(c, 15, "expected \":\" and the steps after the door name, \" fleet\" or the end, "
                    "got \" \"");
        c = "knockwatch ssh  fleet";
        parse_fails(c, 15, "expected \":\" and the steps after the door name, \" fleet\" or the end, "
                    "got \" \"");
        c = "knockwatch ssh: tcp:3721 tcp:4728 within 10s fleet close tcp:1";
        parse_fails(c, col(c, " close"), "expected the end of the comment after \"fleet\", got \" \"");
        c = "knockwatch ssh: tcp:3721 tcp:4728 within 10s fleet fleet";
        parse_fails(c, col(c, " fleet fleet") + 6, "expected the end of the comment after \"fleet\", got \" \"");
        c = "knockwatch ssh: tcp:3721 tcp:4728 within 10s close fleet";
        parse_fails(c, col(c, "fleet"), "expected a step like tcp:3721, got \"fleet\"");
        c = "knockwatch ssh: tcp:3721 tcp:4728 within 10s close tcp:1 fleet tcp:2";
        parse_fails(c, col(c, " tcp:2"), "expected the end of the comment after \"fleet\", got \" \"");
        c = "knockwatch ssh: tcp:3721 fleet within 10s";
        parse_fails(c, col(c, "fleet"), "expected \"within\", got \"fleet\"");
        c = "knockwatch ssh: tcp:3721 tcp:4728 within 10s FLEET";
        parse_fails(c, col(c, "FLEET"), "expected \"close\", \"fleet\" or the end of the comment, "
                    "got \"FLEET\"");
}

TEST(build_fleet) {
        Built b;

        /* A host: both sets take door ssh from the fleet; no sequence, no log rule needed. */
        {
                DoorSetInfo sets[] = {
                        set_info("ssh4", 4, "knockwatch ssh fleet"),
                        set_info("ssh6", 16, "knockwatch ssh fleet"),
                        set_info("web4", 4, "knockwatch web: tcp:1 tcp:3 tcp:2 within 5s"),
                };

                sets[1].timeout_ms = 120000;
                build(sets, ELEMENTSOF(sets), &b);
                ASSERT_EQ(b.errors, 0);
                ASSERT_EQ(b.n, 2);
                ASSERT_STREQ(b.doors[0].spec.name, "ssh");
                ASSERT_EQ(b.doors[0].spec.fleet, DOOR_FLEET_TAKE);
                ASSERT_FALSE(b.doors[0].spec.has_sequence);
                ASSERT_STREQ(b.doors[0].set4, "ssh4");
                ASSERT_STREQ(b.doors[0].set6, "ssh6");
                ASSERT_EQ(b.doors[0].timeout4_ms, 60000);
                ASSERT_EQ(b.doors[0].timeout6_ms, 120000);
                ASSERT_EQ(b.doors[1].spec.fleet, DOOR_FLEET_NONE);
                built_done(&b);
        }
        /* A gateway: the declaration publishes, the attached v6 set is part of it. */
        {
                DoorSetInfo sets[] = {
                        set_info("ssh4", 4, "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 10s fleet"),
                        set_info("ssh6", 16, "knockwatch ssh"),
                };

                build(sets, ELEMENTSOF(sets), &b);
                ASSERT_EQ(b.errors, 0);
                ASSERT_EQ(b.n, 1);
                ASSERT_EQ(b.doors[0].spec.fleet, DOOR_FLEET_PUBLISH);
                ASSERT_STREQ(b.doors[0].set6, "ssh6");
                built_done(&b);
        }
        /* Knocked here and taken from the fleet: refused. */
        {
                DoorSetInfo sets[] = {
                        set_info("ssh4", 4, "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 10s"),
                        set_info("ssh6", 16, "knockwatch ssh fleet"),
                };

                build(sets, ELEMENTSOF(sets), &b);
                ASSERT_EQ(b.n, 0);
                has_problem(&b, "E ssh6| set \"ssh6\" takes door \"ssh\" from the fleet, but set \"ssh4\" "
                            "declares its sequence here; a door is knocked here or taken from the fleet, "
                            "not both — give one of them another name");
                built_done(&b);
        }
        /* A plain attachment beside a fleet set: refused, with what to write. */
        {
                DoorSetInfo sets[] = {
                        set_info("ssh4", 4, "knockwatch ssh fleet"),
                        set_info("ssh6", 16, "knockwatch ssh"),
                };

                build(sets, ELEMENTSOF(sets), &b);
                ASSERT_EQ(b.n, 0);
                has_problem(&b, "E ssh6| set \"ssh6\" names door \"ssh\" without \"fleet\", but set "
                            "\"ssh4\" takes it from the fleet; write \"knockwatch ssh fleet\" in both");
                built_done(&b);
        }
        /* Two declarations, one publishing and one not: different. */
        {
                DoorSetInfo sets[] = {
                        set_info("ssh4", 4, "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 10s fleet"),
                        set_info("ssh6", 16, "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 10s"),
                };

                build(sets, ELEMENTSOF(sets), &b);
                ASSERT_EQ(b.n, 0);
                has_problem(&b, "E ssh6| sets \"ssh4\" and \"ssh6\" both declare door \"ssh\" with "
                            "different sequences");
                built_done(&b);
        }
        /* A fleet set must still be a usable set (timeout, flags). */
        {
                DoorSetInfo sets[] = {
                        set_info("ssh4", 4, "knockwatch ssh fleet"),
                };

                sets[0].flags = 0;
                build(sets, ELEMENTSOF(sets), &b);
                ASSERT_EQ(b.n, 0);
                has_problem(&b, "E ssh4| set \"ssh4\": has no \"flags timeout\"; add flags timeout so grants "
                            "expire");
                built_done(&b);
        }
}

TEST(parse_prefix) {
        DoorSpec s;
        char buf[256];

        s = parse_ok("knockwatch ssh /64");
        ASSERT_STREQ(s.name, "ssh");
        ASSERT_FALSE(s.has_sequence);
        ASSERT_EQ(s.prefix, 64);
        s = parse_ok("knockwatch ssh: tcp:3721 tcp:6742 tcp:4728 within 10s /24");
        ASSERT_TRUE(s.has_sequence);
        ASSERT_EQ(s.n_open, 3);
        ASSERT_EQ(s.prefix, 24);
        ASSERT_OK(door_spec_format(&s, buf, sizeof(buf)));
        ASSERT_STREQ(buf, "tcp:3721 tcp:6742 tcp:4728 within 10s /24");
        s = parse_ok("knockwatch ssh: tcp:1 tcp:3 tcp:2 within 5s close tcp:9 tcp:8 fleet /56");
        ASSERT_EQ(s.n_close, 2);
        ASSERT_EQ(s.fleet, DOOR_FLEET_PUBLISH);
        ASSERT_EQ(s.prefix, 56);
        s = parse_ok("knockwatch ssh fleet /48");
        ASSERT_EQ(s.fleet, DOOR_FLEET_TAKE);
        ASSERT_EQ(s.prefix, 48);
        s = parse_ok("knockwatch ssh: tcp:1 tcp:3 tcp:2 within 5s");
        ASSERT_EQ(s.prefix, 0);

        parse_fails("knockwatch ssh /0", 16, "expected a prefix length from /1 to /128 at the end, got \"/0\"");
        parse_fails("knockwatch ssh /129", 16, "expected a prefix length from /1 to /128 at the end, got \"/129\"");
        parse_fails("knockwatch ssh /064", 16, "expected a prefix length from /1 to /128 at the end, got \"/064\"");
        parse_fails("knockwatch ssh /6x", 16, "expected a prefix length from /1 to /128 at the end, got \"/6x\"");
        parse_fails("knockwatch ssh /", 16, "expected a prefix length from /1 to /128 at the end, got \"/\"");
        /* Only at the end, once. */
        ASSERT_EQ(door_comment_parse("knockwatch ssh /64 /64", &s, &(DoorSyntaxError) {}), -EINVAL);
        ASSERT_EQ(door_comment_parse("knockwatch ssh /64 fleet", &s, &(DoorSyntaxError) {}), -EINVAL);
}

TEST(build_prefix) {
        Built b;

        {
                DoorSetInfo sets[] = {
                        set_info("ssh4", 4, "knockwatch ssh: tcp:3721 tcp:6742 tcp:4728 within 10s /24"),
                        set_info("ssh6", 16, "knockwatch ssh /64"),
                };

                build(sets, ELEMENTSOF(sets), &b);
                ASSERT_EQ(b.errors, 0);
                ASSERT_EQ(b.problems.n, 0);
                ASSERT_EQ(b.n, 1);
                ASSERT_EQ(b.doors[0].prefix4, 24);
                ASSERT_EQ(b.doors[0].prefix6, 64);
                built_done(&b);
        }
        {
                DoorSetInfo sets[] = {
                        set_info("ssh4", 4, "knockwatch ssh: tcp:3721 tcp:6742 tcp:4728 within 10s"),
                        set_info("ssh6", 16, "knockwatch ssh"),
                };

                build(sets, ELEMENTSOF(sets), &b);
                ASSERT_EQ(b.n, 1);
                ASSERT_EQ(b.doors[0].prefix4, 32);
                ASSERT_EQ(b.doors[0].prefix6, 128);
                built_done(&b);
        }
        {
                DoorSetInfo sets[] = {
                        set_info("ssh4", 4, "knockwatch ssh: tcp:3721 tcp:6742 tcp:4728 within 10s /64"),
                        set_info("ssh6", 16, "knockwatch ssh /8"),
                        set_info("web4", 4, "knockwatch web: tcp:1 tcp:3 tcp:2 within 5s /16"),
                        set_info("web6", 16, "knockwatch web /40"),
                };

                build(sets, ELEMENTSOF(sets), &b);
                ASSERT_EQ(b.errors, 2);
                has_problem(&b, "E ssh4| set \"ssh4\": /64 is longer than an IPv4 address (32 bits)");
                has_problem(&b, "E ssh6| set \"ssh6\": /8 would open door \"ssh\" to 2^120 addresses with one "
                            "knock; the shortest prefix knockwatch grants is /16");
                has_problem(&b, "W web4| set \"web4\": /16 opens door \"web\" to 2^16 addresses with each knock");
                has_problem(&b, "W web6| set \"web6\": /40 opens door \"web\" to 2^88 addresses with each knock");
                ASSERT_EQ(b.n, 1);
                ASSERT_STREQ(b.doors[0].spec.name, "web");
                ASSERT_EQ(b.doors[0].prefix4, 16);
                built_done(&b);
        }
}

int main(void) {
        RUN(parse_full);
        RUN(parse_shapes);
        RUN(parse_close);
        RUN(parse_max_steps_and_length);
        RUN(not_ours);
        RUN(errors_start);
        RUN(errors_name);
        RUN(errors_steps);
        RUN(errors_window);
        RUN(errors_close);
        RUN(format);
        RUN(build_pair);
        RUN(build_sorted_v4_only_v6_only);
        RUN(build_set_errors);
        RUN(build_set_kinds_refused);
        RUN(build_undeclared_and_conflicts);
        RUN(build_sequence_rules);
        RUN(build_deterministic_and_hostile);
        RUN(build_set_name_unterminated);
        RUN(build_null_report);
        RUN(parse_totp);
        RUN(errors_totp);
        RUN(format_totp);
        RUN(build_totp);
        RUN(parse_fleet);
        RUN(errors_fleet);
        RUN(build_fleet);
        RUN(parse_prefix);
        RUN(build_prefix);
        return 0;
}
