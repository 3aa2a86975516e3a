/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fleet-msg.h — the message a fleet carries over MQTT (issue 12): one grant, refresh or
 * revoke of one door for one address or prefix, authenticated with HMAC-SHA256 under the
 * fleet key; its topic; and the replay cache a receiver checks nonces against.
 *
 * The message (version 1), binary, every integer big-endian, nothing optional:
 *
 *   offset  size  field
 *   0       3     magic "KWF"
 *   3       1     version: 1
 *   4       1     event: 1 grant, 2 refresh, 3 revoke
 *   5       1     family: 4 (IPv4) or 6 (IPv6)
 *   6       1     prefix length: 1…32 (IPv4), 1…128 (IPv6); an exact address is /32, /128
 *   7       8     expiry: milliseconds since the Unix epoch (CLOCK_REALTIME), > 0
 *   15      16    nonce: random (getrandom), never used twice
 *   31      1     F: length of the fleet name, 1…FLEET_NAME_MAX
 *   32      F     the fleet name (fleet_name_valid())
 *   32+F    1     D: length of the door name, 1…FLEET_NAME_MAX
 *   33+F    D     the door name (fleet_name_valid())
 *   33+F+D  4|16  the address, network order; the bits past the prefix are zero
 *   …       32    HMAC-SHA256(fleet key, every byte before it)
 *
 * 71 … 145 bytes (FLEET_MSG_MIN … FLEET_MSG_MAX). The length must be exactly what the
 * fields say: a byte more or less, an unknown event, family or version, a prefix out of
 * range, host bits set, an invalid name — each is malformed, never repaired.
 *
 * The topic is "knockwatch/FLEET/DOOR". The fleet and the door are inside the MAC, and a
 * receiver takes a message only if they equal the topic it came on and its own fleet:
 * a message for door X (or fleet Y) published again on another topic is refused.
 *
 * Time: the expiry is absolute. A receiver grants for the time left, expiry − now, so a
 * late delivery shortens a grant and never lengthens it. It refuses a message whose
 * expiry is past, or further away than its own set's timeout allows (max_ms, plus a
 * small allowance skew_ms for clocks that differ; the time granted is then cut to
 * max_ms, never more).
 *
 * The replay cache holds the nonce and expiry of every message taken, in a table of
 * fixed capacity (a binary heap by expiry, indexed by hashtab.h under a random SipHash
 * key). A nonce leaves it when its expiry has passed — by then the message is refused
 * as expired anyway. When the table is full of unexpired nonces, new messages are
 * refused (-ENOSPC, counted) rather than an unexpired nonce forgotten: forgetting one
 * would let its message be replayed. Only messages with a valid MAC reach the cache, so
 * only the holder of the fleet key can fill it. The cache's clock never goes back: it
 * takes the latest "now" it was given, so a realtime clock stepped backwards cannot make
 * an expired (and forgotten) nonce's message valid again; it makes fresh messages look
 * older for a while (fail closed).
 *
 * Pure: no I/O but getrandom() for nonces and the cache's SipHash key; no logging.
 */
#pragma once

#include "hmac.h"
#include "knock.h"

#define FLEET_MSG_VERSION 1
#define FLEET_NAME_MAX 32U              /* fleet and door names: [a-z][a-z0-9_-]{0,31} */
#define FLEET_NONCE_SIZE 16U
#define FLEET_MSG_HEADER 31U            /* magic … nonce */
#define FLEET_MSG_MIN (FLEET_MSG_HEADER + 1 + 1 + 1 + 1 + 4 + HMAC_SHA256_SIZE)
#define FLEET_MSG_MAX (FLEET_MSG_HEADER + 1 + FLEET_NAME_MAX + 1 + FLEET_NAME_MAX + 16 + HMAC_SHA256_SIZE)
#define FLEET_TOPIC_PREFIX "knockwatch/"
/* "knockwatch/" FLEET "/" DOOR, and the NUL */
#define FLEET_TOPIC_MAX (STRLEN(FLEET_TOPIC_PREFIX) + FLEET_NAME_MAX + 1 + FLEET_NAME_MAX + 1)
#define FLEET_NAME_DEFAULT "default"
#define FLEET_REPLAY_DEFAULT 16384U     /* nonces the cache holds by default */
#define FLEET_REPLAY_MAX (1U << 22)

typedef enum FleetEvent {
        FLEET_EVENT_GRANT = 1,
        FLEET_EVENT_REFRESH = 2,
        FLEET_EVENT_REVOKE = 3,
} FleetEvent;

/* "grant", "refresh", "revoke", or "?" */
const char *fleet_event_to_string(FleetEvent e);

typedef struct FleetMsg {
        FleetEvent event;
        KnockAddr addr;                     /* the address or the prefix (host bits zero) */
        uint8_t prefix_len;                 /* 1 … 32 or 128 */
        uint64_t expiry_ms;                 /* CLOCK_REALTIME ms since the epoch */
        uint8_t nonce[FLEET_NONCE_SIZE];
        char fleet[FLEET_NAME_MAX + 1];
        char door[FLEET_NAME_MAX + 1];
} FleetMsg;

/* Why a message was refused. Each has its own -errno (fleet_reject_from_errno()). */
typedef enum FleetReject {
        FLEET_REJECT_MALFORMED,   /* -EINVAL: not a message of this format (also the topic) */
        FLEET_REJECT_VERSION,     /* -EPROTONOSUPPORT: another version */
        FLEET_REJECT_BAD_MAC,     /* -EBADMSG: not made with our fleet key */
        FLEET_REJECT_WRONG_TOPIC, /* -EXDEV: its fleet or door is not the topic's, or not our fleet */
        FLEET_REJECT_NOT_TAKEN,   /* -ENOENT: a door (or family) this host does not take from the fleet */
        FLEET_REJECT_PREFIX,      /* -EADDRNOTAVAIL: a prefix where this host takes only addresses */
        FLEET_REJECT_EXPIRED,     /* -ETIME: its expiry has passed */
        FLEET_REJECT_TOO_FAR,     /* -ERANGE: its expiry is further away than the local set's timeout */
        FLEET_REJECT_REPLAYED,    /* -EALREADY: its nonce was taken before */
        FLEET_REJECT_CACHE_FULL,  /* -ENOSPC: the replay cache is full of unexpired nonces */
        _FLEET_REJECT_MAX,
        FLEET_REJECT_OTHER = _FLEET_REJECT_MAX, /* any other -errno (not counted by reason) */
} FleetReject;

/* The reason for an -errno of this module; FLEET_REJECT_OTHER for any other. */
FleetReject fleet_reject_from_errno(int error);
/* "malformed", "version", "bad-mac", "wrong-topic", "not-taken", "prefix", "expired",
 * "too-far", "replayed", "cache-full", or "other": the words of logs and status. */
const char *fleet_reject_to_string(FleetReject r);

/* Are the n bytes at s a fleet or door name: 1 … FLEET_NAME_MAX of a-z, 0-9, "_", "-",
 * starting with a letter (the door grammar's names, which are safe in a topic)? */
bool fleet_name_valid(const char *s, size_t n);

/* "knockwatch/FLEET/DOOR" into buf (FLEET_TOPIC_MAX bytes). Returns 0 or -EINVAL (a name
 * not fleet_name_valid()). */
int fleet_topic_format(const char *fleet, const char *door, char buf[static FLEET_TOPIC_MAX]);
/* "knockwatch/FLEET/+": what a host subscribes to. Returns 0 or -EINVAL. */
int fleet_topic_filter(const char *fleet, char buf[static FLEET_TOPIC_MAX]);
/* Split exactly the n bytes at topic as "knockwatch/FLEET/DOOR", both names valid.
 * Returns 0, or -EINVAL. */
int fleet_topic_parse(const char *topic, size_t n, char ret_fleet[static FLEET_NAME_MAX + 1],
                      char ret_door[static FLEET_NAME_MAX + 1]);

/* A random nonce from getrandom(). Returns 0 or -errno. */
int fleet_msg_random_nonce(uint8_t ret[static FLEET_NONCE_SIZE]);

/* Is addr/prefix_len well-formed: family AF_INET or AF_INET6, 1 <= prefix_len <= 32 or
 * 128, no bit set past the prefix (an IPv4 address's bytes 4…15 zero too)? */
bool fleet_prefix_valid(const KnockAddr *addr, unsigned prefix_len);

/* Encode m (every field as above; names valid) with its MAC under key (key_len >= 1) into
 * buf. Returns 0 and *ret_len (FLEET_MSG_MIN … FLEET_MSG_MAX), -EINVAL (a field out of
 * range), or an -errno of hmac.h. */
int fleet_msg_encode(const FleetMsg *m, const void *key, size_t key_len,
                     uint8_t buf[static FLEET_MSG_MAX], size_t *ret_len);

/* Parse exactly len bytes at buf and check the MAC under key. Structure first
 * (-EINVAL malformed, -EPROTONOSUPPORT another version), then the MAC (-EBADMSG); nothing
 * of a message is believed before its MAC is. Returns 0 and *ret, or -errno. */
int fleet_msg_decode(const void *buf, size_t len, const void *key, size_t key_len, FleetMsg *ret);

/* What a receiver checks a decoded message against. */
typedef struct FleetCheck {
        const char *fleet;        /* our fleet, which is the topic's (fleet_topic_parse()) */
        const char *door;         /* the topic's door */
        uint64_t now_ms;          /* CLOCK_REALTIME ms now */
        uint64_t max_ms;          /* the local set's timeout: the longest grant we give (> 0) */
        uint64_t skew_ms;         /* allowance for clocks that differ (see above) */
} FleetCheck;

typedef struct FleetReplay FleetReplay;

/*
 * Check a decoded message (fleet_msg_decode()) in this order: its fleet and door are the
 * topic's (-EXDEV); its expiry is in the future (-ETIME) by the cache's clock, and at most
 * max_ms + skew_ms away (-ERANGE); its nonce is new (-EALREADY) and the cache has room
 * (-ENOSPC). Only then is the nonce added to replay. Returns 0 and *ret_left_ms: the time
 * left, expiry − now, at most max_ms, at least 1.
 */
int fleet_msg_accept(const FleetMsg *m, const FleetCheck *check, FleetReplay *replay,
                     uint64_t *ret_left_ms);

/* fleet_msg_decode() and then fleet_msg_accept(). */
int fleet_msg_verify(const void *buf, size_t len, const void *key, size_t key_len,
                     const FleetCheck *check, FleetReplay *replay, FleetMsg *ret,
                     uint64_t *ret_left_ms);

/* A replay cache for up to capacity nonces (1 … FLEET_REPLAY_MAX). Returns 0, -EINVAL,
 * -ENOMEM, or the -errno of getrandom(). */
int fleet_replay_new(size_t capacity, FleetReplay **ret);
FleetReplay *fleet_replay_free(FleetReplay *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(FleetReplay *, fleet_replay_free);

/* The cache's clock: max(now_ms, the latest now it was given). Also forgets every nonce
 * whose expiry is at or before it. */
uint64_t fleet_replay_clock(FleetReplay *r, uint64_t now_ms);

/* Add nonce, valid until expiry_ms, at now_ms (fleet_replay_clock() is applied). Returns 0,
 * -EALREADY (it is there), -ENOSPC (full: nothing was forgotten), or -ETIME (expiry_ms is
 * not after the cache's clock: nothing to remember). */
int fleet_replay_add(FleetReplay *r, const uint8_t nonce[static FLEET_NONCE_SIZE], uint64_t expiry_ms,
                     uint64_t now_ms);

/* Is nonce in the cache (whatever its expiry)? */
bool fleet_replay_has(const FleetReplay *r, const uint8_t nonce[static FLEET_NONCE_SIZE]);

typedef struct FleetReplayStats {
        size_t size;              /* nonces held */
        size_t capacity;
        uint64_t full;            /* nonces refused because the cache was full */
        uint64_t next_expiry_ms;  /* the earliest expiry held; 0 if empty */
} FleetReplayStats;

void fleet_replay_get_stats(const FleetReplay *r, FleetReplayStats *ret);
