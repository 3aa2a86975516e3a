/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * totp.h — rotating doors: the knock sequence of a door changes every step (30 s by
 * default), derived from a secret key per user. Pure functions (HMAC through hmac.h,
 * no I/O); time comes in as CLOCK_REALTIME microseconds.
 *
 * Derivation, the same in the daemon, the client (knockwatch totp/knock) and
 * scripts/knock:
 *   T = floor(unix_seconds / step)
 *   H = HMAC-SHA256(key, "knockwatch-totp-v1:" DOOR ":" T)   T in decimal; H as 64
 *       lower-case hex digits
 *   for j = 0…8: v = the number written by hex digits 7j…7j+6 of H (28 bits);
 *       port = LO + v mod (HI - LO + 1); a port chosen already is skipped
 *   the first COUNT ports, in that order, are the sequence. If nine chunks are not
 *   enough, the same goes on with the message suffixed ":1", then ":2", ….
 *
 * Checking (the daemon): around the current step T, the windows T-1, T and T+1 of every
 * key are live; a sequence counts for window t when its first knock fell in step t-1,
 * t or t+1, and a key never succeeds again for a window at or below its last success.
 * A window's ports must reach the kernel log from the start of step t-1 until the end
 * of step t+1 plus the door's window (a sequence begun just before that end may take
 * that long): totp_windows_live() lists exactly those windows, totp_ports_collect()
 * the ports to put in the ruleset's totp_ports set, each with its own expiry.
 */
#pragma once

#include "knock.h"
#include "time-util.h"

#define TOTP_COUNT_MIN 2U
#define TOTP_COUNT_MAX 8U
#define TOTP_RANGE_MIN 1000U          /* ports in LO-HI at least */
#define TOTP_STEP_DEFAULT_SEC 30U
#define TOTP_STEP_MIN_SEC 10U
#define TOTP_STEP_MAX_SEC 600U
#define TOTP_KEY_MIN 20U              /* bytes; 160 bits, as RFC 4226 recommends */
#define TOTP_KEY_MAX 64U
#define TOTP_NAME_MAX 32U             /* door, key and user names: [a-z0-9_-]{1,32} */
#define TOTP_MESSAGE_PREFIX "knockwatch-totp-v1:"
#define TOTP_NEVER UINT64_MAX         /* the last success of a key that never succeeded */

/* Windows live at one time, per key: t-2 (only during the first `within` of a step),
 * t-1, t and t+1. */
#define TOTP_WINDOWS_PER_KEY 4U

/* No padding inside (door.h's DoorSpec is compared and copied as bytes). */
typedef struct TotpParams {
        uint8_t proto;          /* KNOCK_PROTO_TCP or KNOCK_PROTO_UDP */
        uint8_t count;          /* steps: TOTP_COUNT_MIN … TOTP_COUNT_MAX */
        uint16_t lo, hi;        /* the range, both included: 1 <= lo, hi - lo + 1 >= TOTP_RANGE_MIN */
        uint16_t step;          /* seconds: TOTP_STEP_MIN_SEC … TOTP_STEP_MAX_SEC */
} TotpParams;

/* One key of a door: the door's own (user "") or one user's. */
typedef struct TotpKey {
        char user[TOTP_NAME_MAX + 1];   /* [a-z0-9_-]{1,32}, or "" for KEYDIR/KEYNAME.key */
        uint8_t key[TOTP_KEY_MAX];
        size_t len;                     /* TOTP_KEY_MIN … TOTP_KEY_MAX */
} TotpKey;

/* Wipe a key (explicit_bzero) so that it does not linger in freed memory. */
void totp_key_wipe(TotpKey *k);

/* Is s (NUL-terminated) a valid name: 1 … TOTP_NAME_MAX of a-z, 0-9, "_", "-"? */
bool totp_name_valid(const char *s);

/* 0 if p is within the bounds above, else -EINVAL. */
int totp_params_check(const TotpParams *p);

/* T for a CLOCK_REALTIME time (µs since the epoch). */
static inline uint64_t totp_counter(usec_t realtime, uint32_t step) {
        return realtime / USEC_PER_SEC / step;
}

/* The ports of window t of door (a door name, totp_name_valid()) under key. Writes
 * p->count ports. Returns 0, or -EINVAL (bad argument), -ERANGE (no sequence after
 * many continuations: cannot happen with a valid range), or an -errno of hmac.h. */
int totp_ports(const void *key, size_t key_len, const char *door, uint64_t t,
               const TotpParams *p, uint16_t ret_ports[static TOTP_COUNT_MAX]);

/* The same as knock steps ("tcp:P1 tcp:P2 …"), for the client and the detector. */
int totp_steps(const void *key, size_t key_len, const char *door, uint64_t t,
               const TotpParams *p, KnockStep ret_steps[static TOTP_COUNT_MAX]);

/* Realtime µs at which window t starts being live (start of step t-1) and at which a
 * first knock stops counting for it (end of step t+1). */
usec_t totp_window_start(uint64_t t, uint32_t step);
usec_t totp_window_end(uint64_t t, uint32_t step);

/*
 * May a sequence of window t, completed in time, open the door? first_knock is the
 * realtime µs of its first knock (the kernel's timestamp); last_success the key's last
 * successful window (TOTP_NEVER if none). True when the first knock fell in step t-1,
 * t or t+1 and t > last_success.
 */
bool totp_accept(uint64_t t, usec_t first_knock, uint32_t step, uint64_t last_success);

/* A key's last success at step `from` as a window of step `to` (the door's step was
 * changed): the window of `to` after which every window's first knock comes after the old
 * window stopped counting. The same step, or TOTP_NEVER, is returned as it is; a value
 * too large to convert saturates to TOTP_NEVER - 1 (no window opens). */
uint64_t totp_last_convert(uint64_t last, uint32_t from, uint32_t to);

typedef struct TotpWindow {
        size_t key;             /* index into the keys given to totp_windows_live() */
        uint64_t t;
        KnockStep steps[TOTP_COUNT_MAX];
        unsigned n_steps;       /* the door's count */
        usec_t start;           /* totp_window_start(t) */
        usec_t end;             /* totp_window_end(t): a first knock from here on is too late */
        usec_t log_until;       /* end + within: until when its ports must be logged */
} TotpWindow;

/*
 * The windows of door that matter at realtime now: those with start <= now < log_until
 * and t above the key's last success (last_success: NULL, or one per key, TOTP_NEVER for
 * none). At most TOTP_WINDOWS_PER_KEY per key, written in key order, then by t; within
 * must not exceed the step (door.c refuses such a door). Returns how many were written
 * (if max is too small, the first max), or -EINVAL / an -errno of hmac.h.
 */
int totp_windows_live(const char *door, const TotpParams *p, usec_t within,
                      const TotpKey *keys, size_t n_keys, const uint64_t *last_success,
                      usec_t now, TotpWindow *ret, size_t max);

/* The set of the daemon's table that it keeps filled with the live windows' ports, for the
 * ruleset's log rule ("meta l4proto . th dport @totp_ports log …"). */
#define TOTP_PORTS_SET "totp_ports"

/* A port for the ruleset's totp_ports set (type inet_proto . inet_service). */
typedef struct TotpPort {
        uint8_t proto;          /* KnockProto */
        uint16_t port;
        usec_t until;           /* realtime µs: the element's expiry */
} TotpPort;

/* The distinct ports of the windows, each with the latest log_until of the windows it
 * belongs to, sorted by proto then port. ret is also the work space: with max at least
 * n * TOTP_COUNT_MAX every port is there (a smaller max drops the last windows' ports).
 * Returns the number of distinct ports written. O(m log m). */
size_t totp_ports_collect(const TotpWindow *windows, size_t n, TotpPort *ret, size_t max);

/* When the set of live windows changes next after now (realtime µs): the next step
 * boundary, or the end of the first `within` of this step, whichever comes first. */
usec_t totp_next_change(const TotpParams *p, usec_t within, usec_t now);
