/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-fleet-msg.c — the fleet message (fleet-msg.h): known vectors (made independently
 * with Python's hmac from the layout in the header), every kind of tampering, the topic,
 * the checks a receiver makes, and the replay cache against a brute-force model.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

#include "fleet-msg.h"
#include "tests.h"

static const uint8_t key[32] = {
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};

/* Vector 1: grant, default/ssh, 192.0.2.6/32, expiry 1767225600000 (2026-01-01T00:00:00Z). */
static const char vector1[] =
        "4b5746010104200000019b76daa80000112233445566778899aabbccddeeff0764656661756c7403737368"
        "c000020659d2629e23525ba7e43f4a67eabda13ec2c868ebd89d85cc4f156e6e770510c0";
/* Vector 2: revoke, prod-eu/web_1, 2001:db8:0:1::/64, expiry 1767225660500. */
static const char vector2[] =
        "4b5746010306400000019b76db9454000102030405060708090a0b0c0d0e0f0770726f642d6575057765625f31"
        "20010db80000000100000000000000009802d0ed5de1a810b8318ac0cb59fae0c16c0c45bb787b0e2a2cf3eeff90ace7";

static size_t unhex(const char *s, uint8_t *out) {
        size_t n = strlen(s) / 2;

        for (size_t i = 0; i < n; i++) {
                unsigned v;

                ASSERT_EQ(sscanf(s + 2 * i, "%2x", &v), 1);
                out[i] = (uint8_t) v;
        }
        return n;
}

static FleetMsg msg1(void) {
        FleetMsg m = {
                .event = FLEET_EVENT_GRANT,
                .addr = { .family = AF_INET, .bytes = { 192, 0, 2, 6 } },
                .prefix_len = 32,
                .expiry_ms = 1767225600000ULL,
                .nonce = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                           0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff },
        };
        strcpy(m.fleet, "default");
        strcpy(m.door, "ssh");
        return m;
}

static FleetMsg msg2(void) {
        FleetMsg m = {
                .event = FLEET_EVENT_REVOKE,
                .prefix_len = 64,
                .expiry_ms = 1767225660500ULL,
        };
        m.addr.family = AF_INET6;
        ASSERT_EQ(inet_pton(AF_INET6, "2001:db8:0:1::", m.addr.bytes), 1);
        for (unsigned i = 0; i < FLEET_NONCE_SIZE; i++)
                m.nonce[i] = (uint8_t) i;
        strcpy(m.fleet, "prod-eu");
        strcpy(m.door, "web_1");
        return m;
}

static bool msg_equal(const FleetMsg *a, const FleetMsg *b) {
        return a->event == b->event && knock_addr_equal(&a->addr, &b->addr) &&
               a->prefix_len == b->prefix_len && a->expiry_ms == b->expiry_ms &&
               memcmp(a->nonce, b->nonce, FLEET_NONCE_SIZE) == 0 && streq(a->fleet, b->fleet) &&
               streq(a->door, b->door);
}

/* Recompute the MAC of a message edited in place (len bytes). */
static void remac(uint8_t *buf, size_t len) {
        ASSERT_OK(hmac_sha256(key, sizeof(key), buf, len - HMAC_SHA256_SIZE, buf + len - HMAC_SHA256_SIZE));
}

TEST(vectors) {
        const char *hex[] = { vector1, vector2 };
        FleetMsg ms[] = { msg1(), msg2() };

        for (size_t i = 0; i < ELEMENTSOF(ms); i++) {
                uint8_t want[FLEET_MSG_MAX], got[FLEET_MSG_MAX];
                size_t n = unhex(hex[i], want), len = 0;
                FleetMsg back;

                ASSERT_OK(fleet_msg_encode(&ms[i], key, sizeof(key), got, &len));
                ASSERT_EQ(len, n);
                ASSERT_TRUE(memcmp(got, want, n) == 0);
                ASSERT_OK(fleet_msg_decode(want, n, key, sizeof(key), &back));
                ASSERT_TRUE(msg_equal(&back, &ms[i]));
        }
        ASSERT_EQ(FLEET_MSG_MIN, 71);
        ASSERT_EQ(FLEET_MSG_MAX, 145);
}

TEST(sizes) {
        FleetMsg m = msg1();
        uint8_t buf[FLEET_MSG_MAX];
        size_t len;

        strcpy(m.fleet, "a");
        strcpy(m.door, "b");
        ASSERT_OK(fleet_msg_encode(&m, key, sizeof(key), buf, &len));
        ASSERT_EQ(len, FLEET_MSG_MIN);

        m = msg2();
        memset(m.fleet, 'f', FLEET_NAME_MAX);
        m.fleet[FLEET_NAME_MAX] = 0;
        memset(m.door, 'd', FLEET_NAME_MAX);
        m.door[FLEET_NAME_MAX] = 0;
        ASSERT_OK(fleet_msg_encode(&m, key, sizeof(key), buf, &len));
        ASSERT_EQ(len, FLEET_MSG_MAX);
        ASSERT_OK(fleet_msg_decode(buf, len, key, sizeof(key), &m));
}

/* Every byte of both vectors changed (each of 8 bits, one at a time): never accepted.
 * A change of the nonce, the expiry or the MAC leaves the shape intact: -EBADMSG. */
TEST(every_bit_flipped) {
        const char *hex[] = { vector1, vector2 };

        for (size_t v = 0; v < ELEMENTSOF(hex); v++) {
                uint8_t buf[FLEET_MSG_MAX];
                size_t n = unhex(hex[v], buf);

                for (size_t i = 0; i < n; i++)
                        for (unsigned bit = 0; bit < 8; bit++) {
                                FleetMsg m;
                                int r;

                                buf[i] ^= (uint8_t) (1u << bit);
                                r = fleet_msg_decode(buf, n, key, sizeof(key), &m);
                                ASSERT_TRUE(r == -EINVAL || r == -EPROTONOSUPPORT || r == -EBADMSG);
                                if ((i >= 7 && i < FLEET_MSG_HEADER) || i >= n - HMAC_SHA256_SIZE)
                                        ASSERT_ERROR(r, EBADMSG);
                                if (i == 3)
                                        ASSERT_ERROR(r, EPROTONOSUPPORT);
                                buf[i] ^= (uint8_t) (1u << bit);
                        }
                ASSERT_OK(fleet_msg_decode(buf, n, key, sizeof(key), &(FleetMsg) {}));
        }
}

TEST(truncated_and_extended) {
        uint8_t buf[FLEET_MSG_MAX + 8];
        size_t n = unhex(vector2, buf);
        FleetMsg m;

        for (size_t len = 0; len < n; len++) {
                int r = fleet_msg_decode(buf, len, key, sizeof(key), &m);

                ASSERT_TRUE(r == -EINVAL);
        }
        /* One byte more (a message shorter than FLEET_MSG_MAX, so not "oversize"): malformed,
         * even with a MAC made over the longer text. */
        n = unhex(vector1, buf);
        buf[n] = 0;
        ASSERT_ERROR(fleet_msg_decode(buf, n + 1, key, sizeof(key), &m), EINVAL);
        remac(buf, n + 1);
        ASSERT_ERROR(fleet_msg_decode(buf, n + 1, key, sizeof(key), &m), EINVAL);
        /* Oversize. */
        memset(buf, 0, sizeof(buf));
        n = unhex(vector2, buf);
        ASSERT_ERROR(fleet_msg_decode(buf, FLEET_MSG_MAX + 1, key, sizeof(key), &m), EINVAL);
}

/* A field changed and the MAC made again with the key (what only the key's holder can
 * do): the strict parser still refuses every field out of range. */
TEST(fields_out_of_range) {
        static const struct {
                size_t offset;
                uint8_t value;
        } edits[] = {
                { 0, 'k' },       /* magic */
                { 4, 0 },         /* event */
                { 4, 4 },
                { 5, 0 },         /* family */
                { 5, 2 },
                { 5, 10 },
                { 6, 0 },         /* prefix length */
                { 6, 33 },
                { 6, 255 },
                { 6, 24 },        /* host bits of 192.0.2.6 past /24 */
                { 31, 0 },        /* fleet name length */
                { 31, 33 },
                { 31, 6 },        /* "defaul" then "t" read as the door's length */
                { 32, 'D' },      /* fleet name: upper case */
                { 32, '1' },      /* starts with a digit */
                { 33, '/' },
                { 33, '+' },
                { 33, '#' },
                { 33, 0 },
                { 39, 0 },        /* door name length */
                { 39, 4 },
                { 39, 2 },
                { 40, 'S' },
                { 41, ' ' },
        };

        for (size_t i = 0; i < ELEMENTSOF(edits); i++) {
                uint8_t buf[FLEET_MSG_MAX];
                size_t n = unhex(vector1, buf);
                FleetMsg m;

                buf[edits[i].offset] = edits[i].value;
                remac(buf, n);
                ASSERT_ERROR(fleet_msg_decode(buf, n, key, sizeof(key), &m), EINVAL);
        }
        /* Expiry 0. */
        {
                uint8_t buf[FLEET_MSG_MAX];
                size_t n = unhex(vector1, buf);

                memset(buf + 7, 0, 8);
                remac(buf, n);
                ASSERT_ERROR(fleet_msg_decode(buf, n, key, sizeof(key), &(FleetMsg) {}), EINVAL);
        }
        /* Another version is not parsed past its number. */
        {
                uint8_t buf[FLEET_MSG_MAX];
                size_t n = unhex(vector1, buf);

                buf[3] = 2;
                ASSERT_ERROR(fleet_msg_decode(buf, 4, key, sizeof(key), &(FleetMsg) {}), EPROTONOSUPPORT);
                ASSERT_ERROR(fleet_msg_decode(buf, n, key, sizeof(key), &(FleetMsg) {}), EPROTONOSUPPORT);
                buf[3] = 0;
                ASSERT_ERROR(fleet_msg_decode(buf, n, key, sizeof(key), &(FleetMsg) {}), EPROTONOSUPPORT);
        }
}

/* Fields reordered (names swapped, the address put before the names), with the MAC made
 * again: refused as malformed, or — names swapped, both valid — by the topic check. */
TEST(fields_reordered) {
        uint8_t buf[FLEET_MSG_MAX], re[FLEET_MSG_MAX];
        size_t n = unhex(vector1, buf), pos;
        FleetMsg m;
        uint64_t left;
        _cleanup_(fleet_replay_freep) FleetReplay *replay = NULL;

        ASSERT_OK(fleet_replay_new(16, &replay));
        /* Names swapped: "ssh" as the fleet, "default" as the door. */
        memcpy(re, buf, FLEET_MSG_HEADER);
        pos = FLEET_MSG_HEADER;
        re[pos++] = 3;
        memcpy(re + pos, "ssh", 3);
        pos += 3;
        re[pos++] = 7;
        memcpy(re + pos, "default", 7);
        pos += 7;
        memcpy(re + pos, buf + 43, 4);
        pos += 4 + HMAC_SHA256_SIZE;
        ASSERT_EQ(pos, n);
        ASSERT_ERROR(fleet_msg_decode(re, n, key, sizeof(key), &m), EBADMSG);
        remac(re, n);
        ASSERT_OK(fleet_msg_decode(re, n, key, sizeof(key), &m));
        ASSERT_ERROR(fleet_msg_accept(&m, &(FleetCheck) { .fleet = "default", .door = "ssh",
                                                         .now_ms = m.expiry_ms - 1000, .max_ms = 60000 },
                                      replay, &left), EXDEV);

        /* The address before the names. */
        memcpy(re, buf, FLEET_MSG_HEADER);
        memcpy(re + FLEET_MSG_HEADER, buf + 43, 4);
        memcpy(re + FLEET_MSG_HEADER + 4, buf + FLEET_MSG_HEADER, 12);
        memcpy(re + n - HMAC_SHA256_SIZE, buf + n - HMAC_SHA256_SIZE, HMAC_SHA256_SIZE);
        ASSERT_TRUE(fleet_msg_decode(re, n, key, sizeof(key), &m) < 0);
        remac(re, n);
        ASSERT_ERROR(fleet_msg_decode(re, n, key, sizeof(key), &m), EINVAL);

        /* Expiry and nonce swapped would not even be the same length; event and family swapped: */
        memcpy(re, buf, n);
        re[4] = buf[5];
        re[5] = buf[4];
        remac(re, n);
        ASSERT_ERROR(fleet_msg_decode(re, n, key, sizeof(key), &m), EINVAL);
}

TEST(wrong_key) {
        uint8_t buf[FLEET_MSG_MAX], other[32];
        size_t n = unhex(vector1, buf);

        memcpy(other, key, sizeof(other));
        other[31] ^= 1;
        ASSERT_ERROR(fleet_msg_decode(buf, n, other, sizeof(other), &(FleetMsg) {}), EBADMSG);
        /* A key that is a prefix of the right one. */
        ASSERT_ERROR(fleet_msg_decode(buf, n, key, sizeof(key) - 1, &(FleetMsg) {}), EBADMSG);
        ASSERT_ERROR(fleet_msg_decode(buf, n, key, 0, &(FleetMsg) {}), EINVAL);
}

TEST(encode_refuses) {
        uint8_t buf[FLEET_MSG_MAX];
        FleetMsg m;
        size_t len;

        m = msg1();
        m.prefix_len = 33;
        ASSERT_ERROR(fleet_msg_encode(&m, key, sizeof(key), buf, &len), EINVAL);
        m = msg1();
        m.prefix_len = 24;  /* 192.0.2.6 has host bits past /24 */
        ASSERT_ERROR(fleet_msg_encode(&m, key, sizeof(key), buf, &len), EINVAL);
        m.addr.bytes[3] = 0;
        ASSERT_OK(fleet_msg_encode(&m, key, sizeof(key), buf, &len));
        m = msg1();
        m.event = 0;
        ASSERT_ERROR(fleet_msg_encode(&m, key, sizeof(key), buf, &len), EINVAL);
        m = msg1();
        m.expiry_ms = 0;
        ASSERT_ERROR(fleet_msg_encode(&m, key, sizeof(key), buf, &len), EINVAL);
        m = msg1();
        strcpy(m.door, "a/b");
        ASSERT_ERROR(fleet_msg_encode(&m, key, sizeof(key), buf, &len), EINVAL);
        m = msg1();
        memset(m.fleet, 'f', sizeof(m.fleet));   /* no NUL within FLEET_NAME_MAX + 1 */
        ASSERT_ERROR(fleet_msg_encode(&m, key, sizeof(key), buf, &len), EINVAL);
        m = msg1();
        m.addr.family = AF_UNIX;
        ASSERT_ERROR(fleet_msg_encode(&m, key, sizeof(key), buf, &len), EINVAL);
        m = msg1();
        m.addr.bytes[4] = 1;  /* an IPv4 address's tail must be zero */
        ASSERT_ERROR(fleet_msg_encode(&m, key, sizeof(key), buf, &len), EINVAL);
}

TEST(prefixes) {
        KnockAddr a = { .family = AF_INET6 };

        ASSERT_EQ(inet_pton(AF_INET6, "2001:db8::", a.bytes), 1);
        ASSERT_TRUE(fleet_prefix_valid(&a, 32));
        ASSERT_TRUE(fleet_prefix_valid(&a, 64));
        ASSERT_TRUE(fleet_prefix_valid(&a, 128));
        ASSERT_FALSE(fleet_prefix_valid(&a, 0));
        ASSERT_FALSE(fleet_prefix_valid(&a, 129));
        ASSERT_FALSE(fleet_prefix_valid(&a, 16));   /* 0x0db8 past /16 */
        ASSERT_FALSE(fleet_prefix_valid(&a, 20));
        ASSERT_TRUE(fleet_prefix_valid(&a, 29));    /* 0x0db8 = 0000 1101 1011 1000: bits to 29 */
        ASSERT_FALSE(fleet_prefix_valid(&a, 28));
        a = (KnockAddr) { .family = AF_INET, .bytes = { 11, 0, 0, 0 } };
        ASSERT_TRUE(fleet_prefix_valid(&a, 8));
        ASSERT_FALSE(fleet_prefix_valid(&a, 7));
        ASSERT_FALSE(fleet_prefix_valid(&a, 33));
}

TEST(topics) {
        char fleet[FLEET_NAME_MAX + 1], door[FLEET_NAME_MAX + 1], t[FLEET_TOPIC_MAX];
        static const char *bad[] = {
                "", "knockwatch", "knockwatch/", "knockwatch/default", "knockwatch/default/",
                "knockwatch//ssh", "knockwatch/default/ssh/x", "knockwatch/default/+",
                "knockwatch/default/#", "knockwatch/+/ssh", "Knockwatch/default/ssh",
                "knockwatch/Default/ssh", "knockwatch/default/1ssh", "knockwatch/default/ss h",
                "knockwatch/default/ssh ", "/knockwatch/default/ssh",
                "knockwatch/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/ssh",
        };

        ASSERT_OK(fleet_topic_parse("knockwatch/default/ssh", 22, fleet, door));
        ASSERT_STREQ(fleet, "default");
        ASSERT_STREQ(door, "ssh");
        ASSERT_OK(fleet_topic_format("prod-eu", "web_1", t));
        ASSERT_STREQ(t, "knockwatch/prod-eu/web_1");
        ASSERT_OK(fleet_topic_filter("prod-eu", t));
        ASSERT_STREQ(t, "knockwatch/prod-eu/+");
        ASSERT_ERROR(fleet_topic_format("prod/eu", "web", t), EINVAL);
        ASSERT_ERROR(fleet_topic_format("prod", "+", t), EINVAL);
        ASSERT_ERROR(fleet_topic_filter("#", t), EINVAL);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_ERROR(fleet_topic_parse(bad[i], strlen(bad[i]), fleet, door), EINVAL);
        /* An embedded NUL: the length is what counts. */
        ASSERT_ERROR(fleet_topic_parse("knockwatch/default/ssh\0x", 24, fleet, door), EINVAL);
        /* The longest topic. */
        {
                char longest[FLEET_TOPIC_MAX];

                ASSERT_OK(fleet_topic_format("ffffffffffffffffffffffffffffffff",
                                             "dddddddddddddddddddddddddddddddd", longest));
                ASSERT_EQ(strlen(longest), FLEET_TOPIC_MAX - 1);
                ASSERT_OK(fleet_topic_parse(longest, strlen(longest), fleet, door));
        }
}

TEST(accept_checks) {
        _cleanup_(fleet_replay_freep) FleetReplay *replay = NULL;
        FleetMsg m = msg1();
        uint64_t e = m.expiry_ms, left = 0;
        FleetCheck c = { .fleet = "default", .door = "ssh", .now_ms = e - 60000, .max_ms = 60000, .skew_ms = 2000 };

        ASSERT_OK(fleet_replay_new(64, &replay));
        /* Exactly the set's timeout away. */
        ASSERT_OK(fleet_msg_accept(&m, &c, replay, &left));
        ASSERT_EQ(left, 60000);
        /* The same message again: a replay, however it arrives. */
        ASSERT_ERROR(fleet_msg_accept(&m, &c, replay, &left), EALREADY);
        c.now_ms += 30000;
        ASSERT_ERROR(fleet_msg_accept(&m, &c, replay, &left), EALREADY);

        /* Late delivery: the time left, never the door's whole timeout. */
        m.nonce[0]++;
        ASSERT_OK(fleet_msg_accept(&m, &c, replay, &left));
        ASSERT_EQ(left, 30000);

        /* Expiry edges: at now, expired; one millisecond later, 1 ms left. */
        m.nonce[0]++;
        c.now_ms = e;
        ASSERT_ERROR(fleet_msg_accept(&m, &c, replay, &left), ETIME);
        /* The cache's clock went to e: a smaller now does not bring the message back. */
        c.now_ms = e - 1;
        ASSERT_ERROR(fleet_msg_accept(&m, &c, replay, &left), ETIME);
        m.expiry_ms = e + 1;
        ASSERT_OK(fleet_msg_accept(&m, &c, replay, &left));
        ASSERT_EQ(left, 1);

        /* Too far: max + skew is taken (and cut to max), one more millisecond is not. */
        m.nonce[0]++;
        m.expiry_ms = e + 60000 + 2000;
        ASSERT_OK(fleet_msg_accept(&m, &c, replay, &left));
        ASSERT_EQ(left, 60000);
        m.nonce[0]++;
        m.expiry_ms = e + 60000 + 2001;
        ASSERT_ERROR(fleet_msg_accept(&m, &c, replay, &left), ERANGE);
        /* A refused message leaves no nonce behind: the same one, in range, is taken. */
        m.expiry_ms = e + 5000;
        ASSERT_OK(fleet_msg_accept(&m, &c, replay, &left));
        ASSERT_EQ(left, 5000);
        m.expiry_ms = UINT64_MAX;
        m.nonce[0]++;
        ASSERT_ERROR(fleet_msg_accept(&m, &c, replay, &left), ERANGE);

        /* The topic's fleet and door (a fresh cache: this one's clock stands past e). */
        replay = fleet_replay_free(replay);
        ASSERT_OK(fleet_replay_new(64, &replay));
        m = msg1();
        m.nonce[1] = 0x42;
        c = (FleetCheck) { .fleet = "default", .door = "web", .now_ms = e - 1000, .max_ms = 60000 };
        ASSERT_ERROR(fleet_msg_accept(&m, &c, replay, &left), EXDEV);
        c.door = "ssh";
        c.fleet = "other";
        ASSERT_ERROR(fleet_msg_accept(&m, &c, replay, &left), EXDEV);
        c.fleet = "default";
        ASSERT_OK(fleet_msg_accept(&m, &c, replay, &left));
        c.max_ms = 0;
        ASSERT_ERROR(fleet_msg_accept(&m, &c, replay, &left), EINVAL);
}

TEST(verify) {
        _cleanup_(fleet_replay_freep) FleetReplay *replay = NULL;
        uint8_t buf[FLEET_MSG_MAX];
        size_t n = unhex(vector1, buf);
        FleetCheck c = { .fleet = "default", .door = "ssh", .now_ms = 1767225600000ULL - 10000,
                         .max_ms = 60000, .skew_ms = 2000 };
        uint64_t left;
        FleetMsg m;

        ASSERT_OK(fleet_replay_new(4, &replay));
        ASSERT_OK(fleet_msg_verify(buf, n, key, sizeof(key), &c, replay, &m, &left));
        ASSERT_EQ(left, 10000);
        ASSERT_EQ(m.event, FLEET_EVENT_GRANT);
        ASSERT_ERROR(fleet_msg_verify(buf, n, key, sizeof(key), &c, replay, &m, &left), EALREADY);
        buf[n - 1] ^= 1;
        ASSERT_ERROR(fleet_msg_verify(buf, n, key, sizeof(key), &c, replay, &m, &left), EBADMSG);
}

TEST(reject_names) {
        ASSERT_EQ(fleet_reject_from_errno(-EINVAL), FLEET_REJECT_MALFORMED);
        ASSERT_EQ(fleet_reject_from_errno(-EBADMSG), FLEET_REJECT_BAD_MAC);
        ASSERT_EQ(fleet_reject_from_errno(-EALREADY), FLEET_REJECT_REPLAYED);
        ASSERT_EQ(fleet_reject_from_errno(-ETIME), FLEET_REJECT_EXPIRED);
        ASSERT_EQ(fleet_reject_from_errno(-ERANGE), FLEET_REJECT_TOO_FAR);
        ASSERT_EQ(fleet_reject_from_errno(-ENOSPC), FLEET_REJECT_CACHE_FULL);
        ASSERT_EQ(fleet_reject_from_errno(-EXDEV), FLEET_REJECT_WRONG_TOPIC);
        ASSERT_EQ(fleet_reject_from_errno(-ENOENT), FLEET_REJECT_NOT_TAKEN);
        ASSERT_EQ(fleet_reject_from_errno(-EADDRNOTAVAIL), FLEET_REJECT_PREFIX);
        ASSERT_EQ(fleet_reject_from_errno(-EPROTONOSUPPORT), FLEET_REJECT_VERSION);
        ASSERT_EQ(fleet_reject_from_errno(-ENOMEM), FLEET_REJECT_OTHER);
        ASSERT_STREQ(fleet_reject_to_string(FLEET_REJECT_BAD_MAC), "bad-mac");
        ASSERT_STREQ(fleet_reject_to_string(FLEET_REJECT_OTHER), "other");
        ASSERT_STREQ(fleet_event_to_string(FLEET_EVENT_REFRESH), "refresh");
        for (unsigned i = 0; i < _FLEET_REJECT_MAX; i++)
                ASSERT_TRUE(fleet_reject_to_string((FleetReject) i) != NULL);
}

TEST(replay_full) {
        _cleanup_(fleet_replay_freep) FleetReplay *r = NULL;
        uint8_t nonce[FLEET_NONCE_SIZE] = {};
        FleetReplayStats st;

        ASSERT_OK(fleet_replay_new(3, &r));
        for (unsigned i = 0; i < 3; i++) {
                nonce[0] = (uint8_t) i;
                ASSERT_OK(fleet_replay_add(r, nonce, 1000 + i * 100, 500));
        }
        nonce[0] = 9;
        /* Full of unexpired nonces: refused, and nothing forgotten. */
        ASSERT_ERROR(fleet_replay_add(r, nonce, 5000, 999), ENOSPC);
        for (unsigned i = 0; i < 3; i++) {
                nonce[0] = (uint8_t) i;
                ASSERT_TRUE(fleet_replay_has(r, nonce));
                ASSERT_ERROR(fleet_replay_add(r, nonce, 5000, 999), EALREADY);
        }
        fleet_replay_get_stats(r, &st);
        ASSERT_EQ(st.size, 3);
        ASSERT_EQ(st.full, 1);
        ASSERT_EQ(st.next_expiry_ms, 1000);
        /* The first expires at 1000: room for one. */
        nonce[0] = 9;
        ASSERT_OK(fleet_replay_add(r, nonce, 5000, 1000));
        nonce[0] = 0;
        ASSERT_FALSE(fleet_replay_has(r, nonce));
        ASSERT_ERROR(fleet_replay_add(r, nonce, 900, 1000), ETIME);
        /* The clock does not go back: at "500" again, the cache still stands at 1000. */
        ASSERT_EQ(fleet_replay_clock(r, 500), 1000);
        fleet_replay_get_stats(r, &st);
        ASSERT_EQ(st.size, 3);
        ASSERT_EQ(fleet_replay_clock(r, 100000), 100000);
        fleet_replay_get_stats(r, &st);
        ASSERT_EQ(st.size, 0);
        ASSERT_EQ(st.next_expiry_ms, 0);
        ASSERT_ERROR(fleet_replay_new(0, &r), EINVAL);
}

/* The heap and its index against a brute-force model: random nonces and expiries, the
 * clock moving on, duplicates, every nonce looked up after every step. */
TEST(replay_model) {
        enum { CAP = 150, N = 2000 };
        _cleanup_(fleet_replay_freep) FleetReplay *r = NULL;
        static uint8_t nonces[N][FLEET_NONCE_SIZE];
        static uint64_t expiry[N];
        static bool in[N];
        uint64_t now = 1000, state = 12345;
        size_t n_in = 0;

        ASSERT_OK(fleet_replay_new(CAP, &r));
        for (unsigned i = 0; i < N; i++) {
                int got;

                state = state * 6364136223846793005ULL + 1442695040888963407ULL;
                memcpy(nonces[i], &state, sizeof(state));
                memcpy(nonces[i] + 8, &i, sizeof(i));
                /* Some nonces repeat an earlier one. */
                if (i > 10 && (state >> 60) == 0)
                        memcpy(nonces[i], nonces[i - 7], FLEET_NONCE_SIZE);
                if ((state >> 20) % 5 == 0)
                        now += (state >> 40) % 50;
                expiry[i] = now + 1 + (state >> 33) % 2000;

                /* The model: forget what expired, then decide. */
                for (unsigned j = 0; j < i; j++)
                        if (in[j] && expiry[j] <= now) {
                                in[j] = false;
                                n_in--;
                        }
                {
                        int want = 0;

                        for (unsigned j = 0; j < i && want == 0; j++)
                                if (in[j] && memcmp(nonces[j], nonces[i], FLEET_NONCE_SIZE) == 0)
                                        want = -EALREADY;
                        if (want == 0 && n_in >= CAP)
                                want = -ENOSPC;
                        got = fleet_replay_add(r, nonces[i], expiry[i], now);
                        ASSERT_EQ(got, want);
                }
                if (got == 0) {
                        in[i] = true;
                        n_in++;
                }
                if (i % 101 == 0)
                        for (unsigned j = 0; j <= i; j++) {
                                bool present = false;

                                for (unsigned k = 0; k <= i && !present; k++)
                                        present = in[k] && memcmp(nonces[k], nonces[j], FLEET_NONCE_SIZE) == 0;
                                ASSERT_EQ(fleet_replay_has(r, nonces[j]), present);
                        }
        }
}

int main(void) {
        RUN(vectors);
        RUN(sizes);
        RUN(every_bit_flipped);
        RUN(truncated_and_extended);
        RUN(fields_out_of_range);
        RUN(fields_reordered);
        RUN(wrong_key);
        RUN(encode_refuses);
        RUN(prefixes);
        RUN(topics);
        RUN(accept_checks);
        RUN(verify);
        RUN(reject_names);
        RUN(replay_full);
        RUN(replay_model);
        return 0;
}
