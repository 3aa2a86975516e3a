/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * totp.c — the derivation of rotating knock sequences and the rules of their windows
 * (see totp.h).
 *
 * Why these choices:
 *  - 28-bit chunks (7 hex digits) fit any integer arithmetic, in C as in a POSIX shell's
 *    $((…)) (at least 32-bit signed), so scripts/knock computes the same ports; the
 *    modulo bias of 2^28 over at most 65535 ports is below 0.03 %.
 *  - The door's name is in the message, so one key opening two doors gives two unrelated
 *    sequences; the version tag lets a later derivation coexist with this one.
 *  - Continuations (":1", ":2", …) keep the ports chosen so far; with at least 1,000
 *    ports and at most 8 steps a second message is needed about once in 1,500 windows
 *    and a third practically never. The loop is bounded all the same.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hmac.h"
#include "totp.h"

#define CHUNKS 9U            /* 9 × 7 of the 64 hex digits */
#define CHUNK_DIGITS 7U
#define ROUNDS_MAX 64U       /* the message, then ":1" … ":63" */

void totp_key_wipe(TotpKey *k) {
        if (k)
                explicit_bzero(k, sizeof(*k));
}

bool totp_name_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = strnlen(s, TOTP_NAME_MAX + 1);
        if (n == 0 || n > TOTP_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || ascii_isdigit(s[i]) || s[i] == '_' || s[i] == '-'))
                        return false;
        return true;
}

int totp_params_check(const TotpParams *p) {
        if (!p)
                return -EINVAL;
        if (p->proto != KNOCK_PROTO_TCP && p->proto != KNOCK_PROTO_UDP)
                return -EINVAL;
        if (p->lo < 1 || p->hi < p->lo || (unsigned) p->hi - p->lo + 1 < TOTP_RANGE_MIN)
                return -EINVAL;
        if (p->count < TOTP_COUNT_MIN || p->count > TOTP_COUNT_MAX)
                return -EINVAL;
        if (p->step < TOTP_STEP_MIN_SEC || p->step > TOTP_STEP_MAX_SEC)
                return -EINVAL;
        return 0;
}

/* Hex digit i (0…63) of the MAC written in hex, as a number. */
static unsigned nibble(const uint8_t mac[static HMAC_SHA256_SIZE], unsigned i) {
        return i % 2 == 0 ? mac[i / 2] >> 4 : mac[i / 2] & 0x0f;
}

int totp_ports(const void *key, size_t key_len, const char *door, uint64_t t,
               const TotpParams *p, uint16_t ret_ports[static TOTP_COUNT_MAX]) {
        uint16_t ports[TOTP_COUNT_MAX];
        unsigned n = 0, span;
        int r;

        if (!key || key_len == 0 || !totp_name_valid(door) || totp_params_check(p) < 0 || !ret_ports)
                return -EINVAL;
        span = (unsigned) p->hi - p->lo + 1;

        for (unsigned round = 0; round < ROUNDS_MAX; round++) {
                char message[STRLEN(TOTP_MESSAGE_PREFIX) + TOTP_NAME_MAX + 2 * 21 + 3];
                uint8_t mac[HMAC_SHA256_SIZE];
                int len;

                if (round == 0)
                        len = snprintf(message, sizeof(message), TOTP_MESSAGE_PREFIX "%s:%" PRIu64,
                                       door, t);
                else
                        len = snprintf(message, sizeof(message), TOTP_MESSAGE_PREFIX "%s:%" PRIu64 ":%u",
                                       door, t, round);
                if (len < 0 || (size_t) len >= sizeof(message))
                        return -EINVAL;
                r = hmac_sha256(key, key_len, message, (size_t) len, mac);
                if (r < 0)
                        return r;

                for (unsigned j = 0; j < CHUNKS && n < p->count; j++) {
                        uint32_t v = 0;
                        uint16_t port;
                        bool seen = false;

                        for (unsigned d = 0; d < CHUNK_DIGITS; d++)
                                v = v << 4 | nibble(mac, CHUNK_DIGITS * j + d);
                        port = (uint16_t) (p->lo + v % span);
                        for (unsigned k = 0; k < n; k++)
                                seen = seen || ports[k] == port;
                        if (!seen)
                                ports[n++] = port;
                }
                explicit_bzero(mac, sizeof(mac));
                if (n == p->count) {
                        memcpy(ret_ports, ports, n * sizeof(ports[0]));
                        return 0;
                }
        }
        return -ERANGE;
}

int totp_steps(const void *key, size_t key_len, const char *door, uint64_t t,
               const TotpParams *p, KnockStep ret_steps[static TOTP_COUNT_MAX]) {
        uint16_t ports[TOTP_COUNT_MAX];
        int r;

        r = totp_ports(key, key_len, door, t, p, ports);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < p->count; i++)
                ret_steps[i] = (KnockStep) { .proto = p->proto, .value = ports[i] };
        return 0;
}

usec_t totp_window_start(uint64_t t, uint32_t step) {
        return t == 0 ? 0 : (t - 1) * step * USEC_PER_SEC;
}

usec_t totp_window_end(uint64_t t, uint32_t step) {
        return (t + 2) * step * USEC_PER_SEC;
}

uint64_t totp_last_convert(uint64_t last, uint32_t from, uint32_t to) {
        uint64_t end;

        if (last == TOTP_NEVER || from == to || from == 0 || to == 0)
                return last;
        /* Window last stops counting at the end of its step last+1 (totp_window_end), in
         * seconds. Window t of `to` opens only for first knocks from the start of its step
         * t-1 on: t > ceil(end / to) puts that start at or after end. */
        if (last > UINT64_MAX / from - 2)
                return TOTP_NEVER - 1;
        end = (last + 2) * from;
        return end / to + (end % to != 0);
}

bool totp_accept(uint64_t t, usec_t first_knock, uint32_t step, uint64_t last_success) {
        uint64_t t0;

        if (step == 0)
                return false;
        if (last_success != TOTP_NEVER && t <= last_success)
                return false;
        t0 = totp_counter(first_knock, step);
        return t + 1 >= t0 && t <= t0 + 1;
}

int totp_windows_live(const char *door, const TotpParams *p, usec_t within,
                      const TotpKey *keys, size_t n_keys, const uint64_t *last_success,
                      usec_t now, TotpWindow *ret, size_t max) {
        size_t n = 0;
        uint64_t now_t;
        int r;

        if (!totp_name_valid(door) || totp_params_check(p) < 0 || (!keys && n_keys > 0) ||
            (!ret && max > 0) || within > (usec_t) p->step * USEC_PER_SEC)
                return -EINVAL;
        now_t = totp_counter(now, p->step);

        for (size_t k = 0; k < n_keys && n < max; k++)
                for (uint64_t t = now_t >= 2 ? now_t - 2 : 0; t <= now_t + 1 && n < max; t++) {
                        TotpWindow *w = &ret[n];

                        if (last_success && last_success[k] != TOTP_NEVER && t <= last_success[k])
                                continue;
                        *w = (TotpWindow) {
                                .key = k,
                                .t = t,
                                .n_steps = p->count,
                                .start = totp_window_start(t, p->step),
                                .end = totp_window_end(t, p->step),
                        };
                        w->log_until = w->end + within;
                        if (now < w->start || now >= w->log_until)
                                continue;
                        r = totp_steps(keys[k].key, keys[k].len, door, t, p, w->steps);
                        if (r < 0)
                                return r;
                        n++;
                }
        return (int) MIN(n, (size_t) INT32_MAX);
}

static int compare_ports(const void *a, const void *b) {
        const TotpPort *x = a, *y = b;

        if (x->proto != y->proto)
                return x->proto < y->proto ? -1 : 1;
        return x->port < y->port ? -1 : x->port > y->port;
}

size_t totp_ports_collect(const TotpWindow *windows, size_t n, TotpPort *ret, size_t max) {
        size_t m = 0, out = 0;

        if (!windows || !ret)
                return 0;
        for (size_t i = 0; i < n; i++)
                for (unsigned s = 0; s < windows[i].n_steps && s < TOTP_COUNT_MAX && m < max; s++)
                        ret[m++] = (TotpPort) { .proto = windows[i].steps[s].proto,
                                                .port = windows[i].steps[s].value,
                                                .until = windows[i].log_until };
        /* Sorted, duplicates are neighbours: keep one of each, with the latest expiry. */
        qsort(ret, m, sizeof(ret[0]), compare_ports);
        for (size_t i = 0; i < m; i++) {
                if (out > 0 && compare_ports(&ret[out - 1], &ret[i]) == 0) {
                        ret[out - 1].until = MAX(ret[out - 1].until, ret[i].until);
                        continue;
                }
                ret[out++] = ret[i];
        }
        return out;
}

usec_t totp_next_change(const TotpParams *p, usec_t within, usec_t now) {
        usec_t s = (usec_t) p->step * USEC_PER_SEC, begin = now / s * s;

        if (within > 0 && now < begin + within)
                return MIN(begin + within, begin + s);
        return begin + s;
}
