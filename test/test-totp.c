/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-totp.c — HMAC-SHA256 (RFC 4231 vectors), base32 (RFC 4648 vectors, every kind of
 * malformed input), the TOTP derivation (the vectors published in knockwatch.nft(5),
 * which test/test-totp-cli.sh recomputes with Python's hmac and with scripts/knock's
 * openssl), its edge cases (a range of exactly 1,000 ports, the ":1" continuation,
 * COUNT 8), the acceptance rule (T-1 … T+1, never at or below the last success), the
 * live windows and the ports they put in totp_ports.
 */
#include <errno.h>
#include <stdio.h>

#include "hmac.h"
#include "keyfile.h"
#include "tests.h"
#include "totp.h"

static const char key1[] = "12345678901234567890";     /* 20 bytes, as RFC 6238's SHA-1 key */

static void hex(const uint8_t *p, size_t n, char *buf) {
        for (size_t i = 0; i < n; i++)
                sprintf(buf + 2 * i, "%02x", p[i]);
}

TEST(hmac_rfc4231) {
        uint8_t key[20], mac[HMAC_SHA256_SIZE];
        char text[2 * HMAC_SHA256_SIZE + 1];

        memset(key, 0x0b, sizeof(key));
        ASSERT_OK(hmac_sha256(key, sizeof(key), "Hi There", 8, mac));
        hex(mac, sizeof(mac), text);
        ASSERT_STREQ(text, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
        ASSERT_OK(hmac_sha256_verify(key, sizeof(key), "Hi There", 8, mac, sizeof(mac)));

        ASSERT_OK(hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac));
        hex(mac, sizeof(mac), text);
        ASSERT_STREQ(text, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

        /* A tag off by one bit, a short tag (never compared as a prefix), another key. */
        ASSERT_OK(hmac_sha256_verify("Jefe", 4, "what do ya want for nothing?", 28, mac, sizeof(mac)));
        mac[31] ^= 1;
        ASSERT_ERROR(hmac_sha256_verify("Jefe", 4, "what do ya want for nothing?", 28, mac, sizeof(mac)), EBADMSG);
        mac[31] ^= 1;
        ASSERT_ERROR(hmac_sha256_verify("Jefe", 4, "what do ya want for nothing?", 28, mac, 16), EBADMSG);
        ASSERT_ERROR(hmac_sha256_verify("Jeff", 4, "what do ya want for nothing?", 28, mac, sizeof(mac)), EBADMSG);

        /* No key, or data missing: refused. An empty message is fine. */
        ASSERT_ERROR(hmac_sha256("", 0, "x", 1, mac), EINVAL);
        ASSERT_ERROR(hmac_sha256("k", 1, NULL, 1, mac), EINVAL);
        ASSERT_OK(hmac_sha256("k", 1, NULL, 0, mac));
        ASSERT_OK(hmac_init());
}

static void decode_ok(const char *in, const char *want, size_t want_len) {
        uint8_t buf[64];
        size_t len = 99;

        if (base32_decode(in, strlen(in), buf, sizeof(buf), &len) < 0) {
                fprintf(stderr, "base32 \"%s\": refused\n", in);
                abort();
        }
        ASSERT_EQ(len, want_len);
        ASSERT_EQ(memcmp(buf, want, want_len), 0);
}

static void decode_bad(const char *in, int error) {
        uint8_t buf[64];
        size_t len = 99;
        int r = base32_decode(in, strlen(in), buf, sizeof(buf), &len);

        if (r != -error) {
                fprintf(stderr, "base32 \"%s\": got %d, expected -%d\n", in, r, error);
                abort();
        }
        ASSERT_EQ(len, 99);
}

TEST(base32) {
        /* RFC 4648, section 10, padded and not, either case. */
        static const struct {
                const char *plain, *coded;
        } v[] = {
                { "", "" },
                { "f", "MY======" },
                { "fo", "MZXQ====" },
                { "foo", "MZXW6===" },
                { "foob", "MZXW6YQ=" },
                { "fooba", "MZXW6YTB" },
                { "foobar", "MZXW6YTBOI======" },
        };
        char buf[BASE32_LEN(64) + 1], lower[64], bare[64];

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                size_t n = strlen(v[i].coded);

                decode_ok(v[i].coded, v[i].plain, strlen(v[i].plain));
                for (size_t j = 0; j <= n; j++)
                        lower[j] = (char) (v[i].coded[j] >= 'A' && v[i].coded[j] <= 'Z' ?
                                           v[i].coded[j] + 32 : v[i].coded[j]);
                decode_ok(lower, v[i].plain, strlen(v[i].plain));
                snprintf(bare, sizeof(bare), "%.*s", (int) strcspn(v[i].coded, "="), v[i].coded);
                decode_ok(bare, v[i].plain, strlen(v[i].plain));
                ASSERT_STREQ(base32_encode(v[i].plain, strlen(v[i].plain), buf, sizeof(buf)), v[i].coded);
        }
        ASSERT_STREQ(base32_encode(key1, 20, buf, sizeof(buf)), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        decode_ok("gezdgnbvgy3tqojqGEZDGNBVGY3TQOJQ", key1, 20);

        /* Not base32: a wrong alphabet, spaces, padding in the middle, too much or too
         * little padding, lengths that end no quantum, bits left over. */
        decode_bad("MZXW6YT0", EINVAL);       /* 0, 1, 8, 9 are not in the alphabet */
        decode_bad("MZXW6YT1", EINVAL);
        decode_bad("MZXW6YT8", EINVAL);
        decode_bad("MZXW 6YTB", EINVAL);
        decode_bad("MZXW6YTB\n", EINVAL);
        decode_bad("MZ=W6YTB", EINVAL);
        decode_bad("MY=====", EINVAL);
        decode_bad("MY=======", EINVAL);
        decode_bad("MY=", EINVAL);
        decode_bad("M", EINVAL);
        decode_bad("MZX", EINVAL);
        decode_bad("MZXW6Y", EINVAL);
        decode_bad("========", EINVAL);
        decode_bad("MZXW6YTB========", EINVAL);
        decode_bad("MZ======", EINVAL);       /* "f" is MY: Z leaves a bit set */
        decode_bad("MZXR====", EINVAL);
        decode_bad("\xc3\x84" "BCDEFG", EINVAL);
        /* Bounded: more than fits. */
        {
                uint8_t small[4];
                size_t len = 99;

                ASSERT_ERROR(base32_decode("MZXW6YTB", 8, small, sizeof(small), &len), ENOBUFS);
                ASSERT_OK(base32_decode("MZXW6YQ=", 8, small, sizeof(small), &len));
                ASSERT_EQ(len, 4);
        }
        /* Too small an output buffer for encoding: an empty string, never an overflow. */
        ASSERT_STREQ(base32_encode("foo", 3, buf, 8), "");
}

static const TotpParams ssh_params = {
        .proto = KNOCK_PROTO_TCP, .count = 4, .lo = 20000, .hi = 59999, .step = 30,
};

static void ports_are(const char *key, size_t key_len, const char *door, uint64_t t,
                      const TotpParams *p, const uint16_t *want) {
        uint16_t ports[TOTP_COUNT_MAX];

        ASSERT_OK(totp_ports(key, key_len, door, t, p, ports));
        for (unsigned i = 0; i < p->count; i++)
                if (ports[i] != want[i]) {
                        fprintf(stderr, "door %s T=%llu: port %u is %u, expected %u\n", door,
                                (unsigned long long) t, i + 1, ports[i], want[i]);
                        abort();
                }
}

/* The vectors of knockwatch.nft(5), TOTP VECTORS. */
TEST(vectors) {
        static const uint8_t key2[32] = {
                0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
        };
        static const struct {
                uint64_t unix_time, t;
                uint16_t ports[4];
        } ssh[] = {
                { 59, 1, { 43570, 49017, 58203, 53621 } },
                { 1111111109, 37037036, { 44859, 50870, 57780, 26636 } },
                { 1234567890, 41152263, { 29748, 22546, 36787, 28162 } },
                { 2000000000, 66666666, { 55693, 58622, 39874, 35412 } },
        };
        TotpParams p;

        for (size_t i = 0; i < ELEMENTSOF(ssh); i++) {
                ASSERT_EQ(totp_counter(ssh[i].unix_time * USEC_PER_SEC, 30), ssh[i].t);
                ports_are(key1, 20, "ssh", ssh[i].t, &ssh_params, ssh[i].ports);
        }

        /* COUNT 8 over exactly 1,000 ports, where the nine chunks give seven distinct
         * ports and the eighth comes from "knockwatch-totp-v1:ssh:930:1". */
        p = (TotpParams) { .proto = KNOCK_PROTO_TCP, .count = 8, .lo = 1000, .hi = 1999, .step = 30 };
        ports_are(key1, 20, "ssh", 930, &p,
                  (const uint16_t[]) { 1147, 1000, 1322, 1935, 1642, 1354, 1822, 1163 });
        /* The first seven are those of the chunks alone: ask for seven. */
        p.count = 7;
        ports_are(key1, 20, "ssh", 930, &p, (const uint16_t[]) { 1147, 1000, 1322, 1935, 1642, 1354, 1822 });

        /* A 32-byte key, UDP, a 60 s step, COUNT 6. */
        p = (TotpParams) { .proto = KNOCK_PROTO_UDP, .count = 6, .lo = 40000, .hi = 49999, .step = 60 };
        ASSERT_EQ(totp_counter(1700000000 * USEC_PER_SEC, 60), 28333333);
        ports_are((const char *) key2, 32, "vpn", 28333333, &p,
                  (const uint16_t[]) { 46134, 41379, 42322, 48065, 43863, 43480 });

        /* T = 0 and the lowest possible range. */
        p = (TotpParams) { .proto = KNOCK_PROTO_TCP, .count = 2, .lo = 1, .hi = 1000, .step = 10 };
        ports_are(key1, 20, "a", 0, &p, (const uint16_t[]) { 196, 404 });
}

TEST(derivation_properties) {
        KnockStep steps[TOTP_COUNT_MAX];
        uint16_t a[TOTP_COUNT_MAX], b[TOTP_COUNT_MAX];
        TotpParams p;
        unsigned continued = 0;

        /* Every port in range and distinct, for many windows of a small range with COUNT 8. */
        p = (TotpParams) { .proto = KNOCK_PROTO_UDP, .count = 8, .lo = 64536, .hi = 65535, .step = 10 };
        for (uint64_t t = 0; t < 3000; t++) {
                ASSERT_OK(totp_ports(key1, 20, "edge", t, &p, a));
                for (unsigned i = 0; i < 8; i++) {
                        ASSERT_TRUE(a[i] >= 64536);
                        for (unsigned j = 0; j < i; j++)
                                ASSERT_TRUE(a[i] != a[j]);
                }
        }
        /* Steps carry the protocol. */
        ASSERT_OK(totp_steps(key1, 20, "edge", 7, &p, steps));
        ASSERT_OK(totp_ports(key1, 20, "edge", 7, &p, a));
        for (unsigned i = 0; i < 8; i++) {
                ASSERT_EQ(steps[i].proto, KNOCK_PROTO_UDP);
                ASSERT_EQ(steps[i].value, a[i]);
        }

        /* The door, the window and the key each change the sequence; COUNT does not change
         * the ports it keeps (a prefix). */
        ASSERT_OK(totp_ports(key1, 20, "ssh", 5, &ssh_params, a));
        ASSERT_OK(totp_ports(key1, 20, "ssh2", 5, &ssh_params, b));
        ASSERT_TRUE(memcmp(a, b, 8) != 0);
        ASSERT_OK(totp_ports(key1, 20, "ssh", 6, &ssh_params, b));
        ASSERT_TRUE(memcmp(a, b, 8) != 0);
        ASSERT_OK(totp_ports("12345678901234567891", 20, "ssh", 5, &ssh_params, b));
        ASSERT_TRUE(memcmp(a, b, 8) != 0);
        p = ssh_params;
        p.count = 2;
        ASSERT_OK(totp_ports(key1, 20, "ssh", 5, &p, b));
        ASSERT_EQ(memcmp(a, b, 2 * sizeof(uint16_t)), 0);

        /* Continuations are rare (about one window in 1,500 with 1,000 ports and COUNT 8)
         * and always complete. */
        p = (TotpParams) { .proto = KNOCK_PROTO_TCP, .count = 8, .lo = 1000, .hi = 1999, .step = 30 };
        for (uint64_t t = 0; t < 20000; t++) {
                uint16_t seven[TOTP_COUNT_MAX];
                TotpParams q = p;

                ASSERT_OK(totp_ports(key1, 20, "ssh", t, &p, a));
                q.count = 7;
                ASSERT_OK(totp_ports(key1, 20, "ssh", t, &q, seven));
                ASSERT_EQ(memcmp(a, seven, 7 * sizeof(uint16_t)), 0);
                continued += t == 930;
        }
        ASSERT_EQ(continued, 1);

        /* Refused: bad door names, keys and parameters. */
        ASSERT_ERROR(totp_ports(key1, 20, "", 1, &ssh_params, a), EINVAL);
        ASSERT_ERROR(totp_ports(key1, 20, "SSH", 1, &ssh_params, a), EINVAL);
        ASSERT_ERROR(totp_ports(key1, 20, "a/b", 1, &ssh_params, a), EINVAL);
        ASSERT_ERROR(totp_ports(key1, 20, "abcdefghijklmnopqrstuvwxyz0123456", 1, &ssh_params, a), EINVAL);
        ASSERT_OK(totp_ports(key1, 20, "abcdefghijklmnopqrstuvwxyz012345", 1, &ssh_params, a));
        ASSERT_ERROR(totp_ports(key1, 0, "ssh", 1, &ssh_params, a), EINVAL);
        p = ssh_params;
        p.count = 9;
        ASSERT_ERROR(totp_ports(key1, 20, "ssh", 1, &p, a), EINVAL);
        p.count = 1;
        ASSERT_ERROR(totp_params_check(&p), EINVAL);
        p = ssh_params;
        p.hi = (uint16_t) (p.lo + 998);
        ASSERT_ERROR(totp_params_check(&p), EINVAL);
        p.hi++;
        ASSERT_OK(totp_params_check(&p));
        p.lo = 0;
        ASSERT_ERROR(totp_params_check(&p), EINVAL);
        p = ssh_params;
        p.proto = KNOCK_PROTO_PING;
        ASSERT_ERROR(totp_params_check(&p), EINVAL);
        p = ssh_params;
        p.step = 9;
        ASSERT_ERROR(totp_params_check(&p), EINVAL);
        p.step = 601;
        ASSERT_ERROR(totp_params_check(&p), EINVAL);
}

TEST(names) {
        ASSERT_TRUE(totp_name_valid("ssh"));
        ASSERT_TRUE(totp_name_valid("0"));
        ASSERT_TRUE(totp_name_valid("-"));
        ASSERT_TRUE(totp_name_valid("a_b-c9"));
        ASSERT_TRUE(totp_name_valid("abcdefghijklmnopqrstuvwxyz012345"));
        ASSERT_FALSE(totp_name_valid("abcdefghijklmnopqrstuvwxyz0123456"));
        ASSERT_FALSE(totp_name_valid(""));
        ASSERT_FALSE(totp_name_valid(NULL));
        ASSERT_FALSE(totp_name_valid("Alice"));
        ASSERT_FALSE(totp_name_valid("a.b"));
        ASSERT_FALSE(totp_name_valid(".."));
        ASSERT_FALSE(totp_name_valid("a/b"));
        ASSERT_FALSE(totp_name_valid("a b"));
}

#define S(x) ((usec_t) (x) * USEC_PER_SEC)

TEST(accept) {
        /* Step 30: T of a first knock at 1000 s is 33. Windows 32, 33 and 34 count. */
        ASSERT_FALSE(totp_accept(31, S(1000), 30, TOTP_NEVER));
        ASSERT_TRUE(totp_accept(32, S(1000), 30, TOTP_NEVER));
        ASSERT_TRUE(totp_accept(33, S(1000), 30, TOTP_NEVER));
        ASSERT_TRUE(totp_accept(34, S(1000), 30, TOTP_NEVER));
        ASSERT_FALSE(totp_accept(35, S(1000), 30, TOTP_NEVER));
        /* Step boundaries: 989.999999 s is still step 32, 990 s is step 33. */
        ASSERT_TRUE(totp_accept(31, S(990) - 1, 30, TOTP_NEVER));
        ASSERT_FALSE(totp_accept(31, S(990), 30, TOTP_NEVER));
        ASSERT_FALSE(totp_accept(35, S(1020) - 1, 30, TOTP_NEVER));
        ASSERT_TRUE(totp_accept(35, S(1020), 30, TOTP_NEVER));
        /* Never at or below the last success; above it, yes. */
        ASSERT_FALSE(totp_accept(33, S(1000), 30, 33));
        ASSERT_FALSE(totp_accept(32, S(1000), 30, 33));
        ASSERT_TRUE(totp_accept(34, S(1000), 30, 33));
        ASSERT_FALSE(totp_accept(34, S(1000), 30, 34));
        ASSERT_FALSE(totp_accept(34, S(1000), 30, 1000));
        ASSERT_TRUE(totp_accept(33, S(1000), 30, 0));
        /* The first windows of the epoch. */
        ASSERT_TRUE(totp_accept(0, 0, 30, TOTP_NEVER));
        ASSERT_TRUE(totp_accept(1, 0, 30, TOTP_NEVER));
        ASSERT_FALSE(totp_accept(2, 0, 30, TOTP_NEVER));
        ASSERT_FALSE(totp_accept(0, 0, 30, 0));
        ASSERT_FALSE(totp_accept(1, S(1), 0, TOTP_NEVER));

        ASSERT_EQ(totp_window_start(33, 30), S(960));
        ASSERT_EQ(totp_window_end(33, 30), S(1050));
        ASSERT_EQ(totp_window_start(0, 30), 0);
}

TEST(last_convert) {
        uint64_t now_t30 = 1764650000 / 30, last;

        ASSERT_EQ(totp_last_convert(100, 30, 30), 100);
        ASSERT_EQ(totp_last_convert(TOTP_NEVER, 30, 60), TOTP_NEVER);
        /* Window 100 of step 30 counts first knocks until 102 * 30 = 3060 s. At step 60,
         * window 52 starts (step 51) at 3060 s: the first to open; window 51 (3000 s) not. */
        ASSERT_EQ(totp_last_convert(100, 30, 60), 51);
        ASSERT_TRUE(totp_accept(52, S(3060), 60, 51));
        ASSERT_FALSE(totp_accept(51, S(3059), 60, 51));
        /* Shorter: at step 10, window 307 starts at 3060 s. Not a multiple: rounded up. */
        ASSERT_EQ(totp_last_convert(100, 30, 10), 306);
        ASSERT_EQ(totp_last_convert(100, 30, 70), 44);   /* 3060 / 70 = 43.7 */
        ASSERT_FALSE(totp_accept(44, S(3059), 70, 44));
        ASSERT_TRUE(totp_accept(45, S(3080), 70, 44));
        /* The step lengthened from 30 s to 60 s a moment after a success: a window a few
         * minutes later opens (a bare T of step 30 would have shut the door for decades). */
        last = totp_last_convert(now_t30, 30, 60);
        ASSERT_TRUE(totp_accept(last + 1, S((last + 1) * 60), 60, last));
        ASSERT_TRUE(last + 1 < (now_t30 * 30 + 300) / 60);
        /* Too large to convert: no window ever. */
        ASSERT_EQ(totp_last_convert(UINT64_MAX - 5, 600, 10), TOTP_NEVER - 1);
        ASSERT_EQ(totp_last_convert(UINT64_MAX / 600 - 3, 600, 600 - 1), (UINT64_MAX / 600 - 1) * 600 / 599 + 1);
}

TEST(windows_live) {
        TotpKey keys[2] = {
                { .user = "", .len = 20 },
                { .user = "alice", .len = 20 },
        };
        TotpWindow w[2 * TOTP_WINDOWS_PER_KEY];
        TotpPort ports[2 * TOTP_WINDOWS_PER_KEY * TOTP_COUNT_MAX];
        uint64_t last[2] = { TOTP_NEVER, TOTP_NEVER };
        usec_t within = S(10);
        size_t n_ports;
        int n;

        memcpy(keys[0].key, key1, 20);
        memcpy(keys[1].key, "abcdefghijabcdefghij", 20);

        /* At 1000 s (step 33, 10 s in): windows 32, 33, 34 of each key. */
        n = totp_windows_live("ssh", &ssh_params, within, keys, 2, NULL, S(1000), w, ELEMENTSOF(w));
        ASSERT_EQ(n, 6);
        for (int i = 0; i < 6; i++) {
                uint16_t ports4[TOTP_COUNT_MAX];

                ASSERT_EQ(w[i].key, (size_t) i / 3);
                ASSERT_EQ(w[i].t, 32 + (uint64_t) i % 3);
                ASSERT_EQ(w[i].n_steps, 4);
                ASSERT_EQ(w[i].start, totp_window_start(w[i].t, 30));
                ASSERT_EQ(w[i].end, totp_window_end(w[i].t, 30));
                ASSERT_EQ(w[i].log_until, w[i].end + within);
                ASSERT_OK(totp_ports(keys[w[i].key].key, 20, "ssh", w[i].t, &ssh_params, ports4));
                for (unsigned s = 0; s < 4; s++) {
                        ASSERT_EQ(w[i].steps[s].proto, KNOCK_PROTO_TCP);
                        ASSERT_EQ(w[i].steps[s].value, ports4[s]);
                }
        }
        /* At 992 s (step 33, 2 s in): window 31 too, since a sequence begun in step 32
         * may still be under way for up to 10 s. At 1000 s it is gone. */
        n = totp_windows_live("ssh", &ssh_params, within, keys, 2, NULL, S(992), w, ELEMENTSOF(w));
        ASSERT_EQ(n, 8);
        ASSERT_EQ(w[0].t, 31);
        ASSERT_EQ(w[3].t, 34);
        ASSERT_EQ(w[4].t, 31);
        n = totp_windows_live("ssh", &ssh_params, within, keys, 2, NULL, S(1000) - 1, w, ELEMENTSOF(w));
        ASSERT_EQ(n, 8);
        n = totp_windows_live("ssh", &ssh_params, within, keys, 2, NULL, S(1000), w, ELEMENTSOF(w));
        ASSERT_EQ(n, 6);
        /* Window 35 comes at 1020 s (start of step 34). */
        n = totp_windows_live("ssh", &ssh_params, within, keys, 1, NULL, S(1020) - 1, w, ELEMENTSOF(w));
        ASSERT_EQ(n, 3);
        ASSERT_EQ(w[2].t, 34);
        n = totp_windows_live("ssh", &ssh_params, within, keys, 1, NULL, S(1020), w, ELEMENTSOF(w));
        ASSERT_EQ(n, 4);
        ASSERT_EQ(w[3].t, 35);

        /* A used window and those below it are not live. */
        last[1] = 33;
        n = totp_windows_live("ssh", &ssh_params, within, keys, 2, last, S(1000), w, ELEMENTSOF(w));
        ASSERT_EQ(n, 4);
        ASSERT_EQ(w[3].key, 1);
        ASSERT_EQ(w[3].t, 34);
        /* Bounded by max. */
        n = totp_windows_live("ssh", &ssh_params, within, keys, 2, NULL, S(1000), w, 2);
        ASSERT_EQ(n, 2);
        /* The beginning of time. */
        n = totp_windows_live("ssh", &ssh_params, within, keys, 1, NULL, 0, w, ELEMENTSOF(w));
        ASSERT_EQ(n, 2);
        ASSERT_EQ(w[0].t, 0);
        ASSERT_EQ(w[1].t, 1);
        /* A window longer than the step is refused (door.c never lets one through). */
        ASSERT_ERROR(totp_windows_live("ssh", &ssh_params, S(31), keys, 1, NULL, S(1000), w, 4), EINVAL);
        ASSERT_ERROR(totp_windows_live("SSH", &ssh_params, within, keys, 1, NULL, S(1000), w, 4), EINVAL);

        /* totp_ports: the distinct ports of the windows, sorted, each with its latest end. */
        n = totp_windows_live("ssh", &ssh_params, within, keys, 2, NULL, S(992), w, ELEMENTSOF(w));
        ASSERT_EQ(n, 8);
        w[1].steps[0] = w[6].steps[3];       /* make one port shared by two windows */
        n_ports = totp_ports_collect(w, (size_t) n, ports, ELEMENTSOF(ports));
        ASSERT_TRUE(n_ports >= 2 && n_ports <= 31);
        for (size_t i = 0; i < n_ports; i++) {
                usec_t until = 0;
                bool found = false;

                if (i > 0)
                        ASSERT_TRUE(ports[i - 1].port < ports[i].port);
                ASSERT_EQ(ports[i].proto, KNOCK_PROTO_TCP);
                for (int k = 0; k < n; k++)
                        for (unsigned s = 0; s < 4; s++)
                                if (w[k].steps[s].value == ports[i].port) {
                                        until = MAX(until, w[k].log_until);
                                        found = true;
                                }
                ASSERT_TRUE(found);
                ASSERT_EQ(ports[i].until, until);
        }
        for (int k = 0; k < n; k++)
                for (unsigned s = 0; s < 4; s++) {
                        bool found = false;

                        for (size_t i = 0; i < n_ports; i++)
                                found = found || ports[i].port == w[k].steps[s].value;
                        ASSERT_TRUE(found);
                }
        /* The shared port lasts as long as its later window. */
        for (size_t i = 0; i < n_ports; i++)
                if (ports[i].port == w[6].steps[3].value)
                        ASSERT_EQ(ports[i].until, MAX(w[1].log_until, w[6].log_until));
}

TEST(next_change) {
        usec_t within = S(10);

        /* Within the first 10 s of a step: when window t-2 ends; later: the next step. */
        ASSERT_EQ(totp_next_change(&ssh_params, within, S(990)), S(1000));
        ASSERT_EQ(totp_next_change(&ssh_params, within, S(999)), S(1000));
        ASSERT_EQ(totp_next_change(&ssh_params, within, S(1000)), S(1020));
        ASSERT_EQ(totp_next_change(&ssh_params, within, S(1019)), S(1020));
        ASSERT_EQ(totp_next_change(&ssh_params, 0, S(990)), S(1020));
        ASSERT_EQ(totp_next_change(&ssh_params, S(30), S(990)), S(1020));
}

TEST(key_wipe) {
        TotpKey k = { .user = "alice", .len = 20 };

        memcpy(k.key, key1, 20);
        totp_key_wipe(&k);
        for (size_t i = 0; i < sizeof(k.key); i++)
                ASSERT_EQ(k.key[i], 0);
        ASSERT_EQ(k.len, 0);
        ASSERT_STREQ(k.user, "");
        totp_key_wipe(NULL);
}

int main(void) {
        RUN(hmac_rfc4231);
        RUN(base32);
        RUN(vectors);
        RUN(derivation_properties);
        RUN(names);
        RUN(accept);
        RUN(last_convert);
        RUN(windows_live);
        RUN(next_change);
        RUN(key_wipe);
        return 0;
}
