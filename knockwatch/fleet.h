/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fleet.h — a fleet over MQTT (issue 12): grants of a door published on one host (the
 * gateway where the knock lands) and applied on many, through one mosquitto broker.
 *
 * libmosquitto runs inside the caller's sd-event loop, with no thread of its own: its
 * socket is an sd-event I/O source (EPOLLIN, and EPOLLOUT while mosquitto_want_write()),
 * mosquitto_loop_read()/_write() run when it is ready, and mosquitto_loop_misc() (the
 * MQTT keepalive) from a timer that exists only while there is a connection (every
 * second while connecting, every keepalive/5 once connected). Connecting never blocks:
 * the broker is a numeric address (no name to resolve: the unit's IPAddressAllow= names
 * the same address), the TCP connect is non-blocking (mosquitto_connect_async(), which
 * takes EINPROGRESS), and the TLS handshake goes on from the same I/O source. An attempt
 * that has no CONNACK after connect_timeout is given up. After a failure or a lost
 * connection the next attempt waits an exponential backoff (backoff_min doubling up to
 * backoff_max, each drawn at random in [d/2, d]); a broker that is down delays nothing
 * local, it only costs a timer.
 *
 * The connection: MQTT 3.1.1 over TLS with a client certificate (mosquitto_tls_set(): the
 * CA that signed the broker's certificate — whose subjectAltName must hold the broker's
 * IP address —, our certificate and its key), QoS 1, a persistent session
 * (clean_session false) under a stable client id: "knockwatch-" and 32 hex digits of
 * HMAC-SHA256(the machine id as this application sees it, sd_id128_get_machine_app_specific(),
 * over the fleet name and the client certificate file). It stays the same across
 * restarts, and differs between hosts and between the knockwatch of several network
 * namespaces of one machine when their certificates differ (a new certificate starts a
 * new session). client_id overrides it.
 *
 * A host that takes doors from the fleet (subscribe, fleet_set_taking()) subscribes to
 * "knockwatch/FLEET/+" at QoS 1 (and one that takes none unsubscribes on connecting, since
 * the broker keeps a persistent session's subscriptions); the broker queues for it what comes while it is away, and each message is
 * checked when it arrives (fleet-msg.h): the topic, the MAC under the fleet key, the door
 * (limit() says whether this host takes it, and the local set's timeout), the expiry and
 * the nonce. What was queued past its expiry is refused as expired, and a late message
 * grants only the time left. Only verified messages reach grant(); each refusal is
 * counted by reason and told to rejected().
 *
 * fleet_publish() sends on "knockwatch/FLEET/DOOR" at QoS 1. While the broker is away,
 * libmosquitto keeps the message and sends it on reconnecting (the receivers drop it if
 * it has expired by then); at most queue_max messages wait for their PUBACK — past
 * that, publishing is refused and counted as dropped.
 *
 * Lengths from the network are bounded before use: topics to FLEET_TOPIC_MAX, payloads
 * to FLEET_MSG_MAX. (libmosquitto itself still reads a packet of any size the broker
 * sends, up to MQTT's 256 MiB: the broker's max_packet_size bounds that — FLEET.md.)
 *
 * The files: each path in FleetConfig may be NULL, and is then the credential
 * $CREDENTIALS_DIRECTORY/knockwatch.fleet-ca, …fleet-cert, …fleet-cert-key, …fleet-key
 * (systemd's LoadCredential=). The fleet key is a key file (keyfile.h: base32,
 * TOTP_KEY_MIN … TOTP_KEY_MAX bytes) checked as KEY_TRUST_CREDENTIAL when it is a
 * credential and KEY_TRUST_ROOT otherwise, as the TOTP door keys are.
 *
 * Library-like: no logging; errors are -errno with a message, events go to the handlers.
 */
#pragma once

#include <systemd/sd-event.h>

#include "fleet-msg.h"
#include "time-util.h"

#define FLEET_PORT_DEFAULT 8883
#define FLEET_CREDENTIAL_CA "knockwatch.fleet-ca"
#define FLEET_CREDENTIAL_CERT "knockwatch.fleet-cert"
#define FLEET_CREDENTIAL_CERT_KEY "knockwatch.fleet-cert-key"
#define FLEET_CREDENTIAL_KEY "knockwatch.fleet-key"
#define FLEET_KEEPALIVE_DEFAULT_SEC 30U
#define FLEET_BACKOFF_MIN_DEFAULT (500 * USEC_PER_MSEC)
#define FLEET_BACKOFF_MAX_DEFAULT (60 * USEC_PER_SEC)
#define FLEET_CONNECT_TIMEOUT_DEFAULT (10 * USEC_PER_SEC)
#define FLEET_SKEW_DEFAULT_MS 2000U
#define FLEET_QUEUE_DEFAULT 1024U
#define FLEET_CLIENT_ID_MAX 64U
#define FLEET_URL_MAX 80U             /* "mqtts://[" IPv6 "]:65535" fits */

typedef struct FleetConfig {
        const char *url;              /* mqtts://ADDRESS[:PORT]: IPv4, or IPv6 in brackets */
        const char *name;             /* the fleet (fleet_name_valid()); NULL: "default" */
        const char *ca_file;          /* NULL: the credential FLEET_CREDENTIAL_CA, and so on */
        const char *cert_file;
        const char *cert_key_file;
        const char *key_file;         /* the fleet key (HMAC) */
        const char *credentials_dir;  /* $CREDENTIALS_DIRECTORY; NULL or "": none */
        const char *client_id;        /* NULL: derived (above) */
        bool subscribe;               /* take doors from the fleet at start (fleet_set_taking()) */
        size_t replay_capacity;       /* 0: FLEET_REPLAY_DEFAULT */
        uint64_t skew_ms;             /* 0: FLEET_SKEW_DEFAULT_MS */
        unsigned keepalive_sec;       /* 0: FLEET_KEEPALIVE_DEFAULT_SEC (5 … 65535) */
        usec_t backoff_min;           /* 0: defaults */
        usec_t backoff_max;
        usec_t connect_timeout;
        size_t queue_max;             /* 0: FLEET_QUEUE_DEFAULT */
} FleetConfig;

/* A verified message (grant(): only those). */
typedef struct FleetGrant {
        FleetEvent event;
        const char *door;             /* valid name; the topic's and the message's */
        KnockAddr addr;
        unsigned prefix_len;          /* at least the prefix limit() gave */
        uint64_t time_left_ms;        /* expiry − now, at most the limit: what to grant */
        uint64_t expiry_ms;           /* CLOCK_REALTIME ms */
} FleetGrant;

/* The connection changed (state()). */
typedef struct FleetState {
        bool connected;
        int error;                    /* < 0 when an attempt failed or the connection was lost */
        const char *message;          /* what happened, escaped, e.g. "TLS: certificate verify failed" */
        unsigned failures;            /* attempts failed in a row (0 once connected) */
        usec_t retry_in;              /* not connected: the next attempt in this long */
} FleetState;

typedef struct FleetHandlers {
        /* Does this host take door's grants from the fleet for addresses of family, how long
         * at most (the set's timeout, ms > 0), and what prefix does its set grant (32 or 128,
         * or the set's /N: a wider prefix would be cut to a part of it, and is refused as
         * "prefix"; a narrower one, an address, is widened to it as a local knock would be)?
         * 0; -ENOENT (no such door taken from the fleet, or it has no set of that family:
         * refused, "not-taken"); or -EEXIST (a door this host publishes itself: its own
         * message back from the broker, ignored and counted as "own", not as a refusal). */
        int (*limit)(const char *door, int family, uint64_t *ret_max_ms, unsigned *ret_prefix_len,
                     void *userdata);
        void (*grant)(const FleetGrant *g, void *userdata);
        /* A message refused: the reason, its -errno, the topic (escaped, bounded). */
        void (*rejected)(FleetReject reason, int error, const char *topic, void *userdata);
        void (*state)(const FleetState *s, void *userdata);
} FleetHandlers;

typedef struct FleetStats {
        bool connected;
        uint64_t connects;            /* CONNACKs accepted */
        uint64_t disconnects;         /* connections lost after a CONNACK */
        uint64_t connect_failures;    /* attempts that never got one */
        uint64_t published;           /* handed to libmosquitto */
        uint64_t acked;               /* PUBACKs */
        uint64_t dropped;             /* not published: queue_max unacknowledged already */
        uint64_t received;            /* messages that arrived */
        uint64_t accepted;            /* verified and given to grant() */
        uint64_t own;                 /* our own doors' messages back (limit() said -EEXIST) */
        uint64_t subscribe_refused;   /* SUBACKs refusing the subscription (the broker's ACL) */
        uint64_t rejected[_FLEET_REJECT_MAX];
        uint64_t rejected_other;      /* any other failure (out of memory, libgcrypt) */
        size_t queued;                /* published, not yet acknowledged */
        size_t replay_size;
        size_t replay_capacity;
        char broker[FLEET_URL_MAX];   /* "mqtts://198.51.100.1:8883" */
        char fleet[FLEET_NAME_MAX + 1];
        char client_id[FLEET_CLIENT_ID_MAX + 1];
} FleetStats;

typedef struct Fleet Fleet;

/* Parse url strictly: "mqtts://" ADDRESS [":" PORT], ADDRESS a dotted IPv4 address or an
 * IPv6 address in brackets, PORT 1 … 65535 (default FLEET_PORT_DEFAULT), nothing else (no
 * user, path or name). ret_host gets the address without brackets (INET6_ADDRSTRLEN).
 * Returns 0 or -EINVAL. */
int fleet_url_parse(const char *url, KnockAddr *ret_addr, char ret_host[static INET6_ADDRSTRLEN],
                    uint16_t *ret_port);

/*
 * Set up the fleet on event: check the config, load the fleet key, set TLS up, and attempt
 * the first connection from the loop (never from here). Returns 0 and *ret, or -errno with
 * *ret_error saying what is wrong (the URL, a missing file, a key file refused, …).
 */
int fleet_new(sd_event *event, const FleetConfig *config, const FleetHandlers *handlers,
              void *userdata, Fleet **ret, char **ret_error);

/* Disconnect (a DISCONNECT is not waited for) and free. Returns NULL. */
Fleet *fleet_free(Fleet *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(Fleet *, fleet_free);

/*
 * Publish event for door (valid name) and addr/prefix_len (fleet_prefix_valid()), valid
 * until expiry_ms (CLOCK_REALTIME ms: for a grant or refresh, when it ends; for a revoke,
 * when the grant it revokes would have ended). A fresh nonce each time. Returns 0 (sent,
 * or kept until the broker is back), -ENOBUFS (queue_max waiting: dropped), -EINVAL, or
 * another -errno.
 */
int fleet_publish(Fleet *f, FleetEvent event, const char *door, const KnockAddr *addr,
                  unsigned prefix_len, uint64_t expiry_ms);

/* Take doors from the fleet, or no longer: subscribe to "knockwatch/FLEET/+", or
 * unsubscribe (now if connected, else on connecting). The daemon calls it after reading its
 * doors: subscribed while at least one door is taken from the fleet ("knockwatch NAME
 * fleet"), so that a gateway that only publishes gets none of its own messages back.
 * Returns 0, -EINVAL (taking without limit() and grant()), or an -errno of libmosquitto. */
int fleet_set_taking(Fleet *f, bool taking);

void fleet_get_stats(const Fleet *f, FleetStats *ret);
