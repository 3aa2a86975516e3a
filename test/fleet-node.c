/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fleet-node — fleet.c on an sd-event loop without the daemon, for the tests and the
 * benchmark (test/test-fleet-node.sh, bench/bench-fleet.sh).
 *
 *   fleet-node listen  COMMON --door=DOOR:MAX_MS... [--run-for=SEC]
 *       take DOOR's grants (addresses of both families, at most MAX_MS); print one line
 *       per event — "grant EVENT DOOR ADDR/LEN left=MS", "rejected REASON TOPIC",
 *       "state up|down ERRNO MESSAGE" — each followed by a "stats …" line with every
 *       counter. Runs until SIGTERM or --run-for.
 *   fleet-node publish COMMON --door=DOOR --addr=ADDR[/LEN] [--event=grant|refresh|revoke]
 *                      (--ttl=MS | --expiry=MS) [--count=N] [--early] [--timeout=SEC]
 *       publish N messages (each with its own nonce) once connected — or at once with
 *       --early, before the broker answers, so that libmosquitto keeps them — and wait for
 *       every PUBACK. Exit 0 when all are acknowledged, 1 on --timeout (default 10 s).
 *   fleet-node encode  --key=FILE --fleet=NAME --door=DOOR --addr=ADDR[/LEN] [--event=…]
 *                      (--ttl=MS | --expiry=MS) --out=FILE
 *       write one message to FILE (for mosquitto_pub -f: replays, a flipped byte, …).
 *
 *   COMMON: --url=mqtts://… [--fleet=NAME] --ca=F --cert=F --cert-key=F --key=F
 *           [--client-id=ID] [--backoff-max-ms=MS] [--connect-timeout-ms=MS]
 *
 * Output is line-buffered; every line starts with a word a test can grep for.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "fleet.h"
#include "keyfile.h"
#include "parse-util.h"
#include "string-util.h"

#define DOORS_MAX 16

typedef struct Node {
        sd_event *event;
        Fleet *fleet;
        bool publish;
        struct {
                char name[FLEET_NAME_MAX + 1];
                uint64_t max_ms;
        } doors[DOORS_MAX];
        size_t n_doors;

        FleetEvent ev;
        const char *door;
        KnockAddr addr;
        unsigned prefix_len;
        uint64_t ttl_ms, expiry_ms;
        unsigned count;
        bool early, sent;
        int status;
} Node;

static void print_stats(const Node *n) {
        FleetStats s;

        fleet_get_stats(n->fleet, &s);
        printf("stats connected=%d connects=%llu disconnects=%llu failures=%llu published=%llu acked=%llu "
               "dropped=%llu queued=%zu received=%llu accepted=%llu subscribe_refused=%llu", s.connected,
               (unsigned long long) s.connects, (unsigned long long) s.disconnects,
               (unsigned long long) s.connect_failures, (unsigned long long) s.published,
               (unsigned long long) s.acked, (unsigned long long) s.dropped, s.queued,
               (unsigned long long) s.received, (unsigned long long) s.accepted,
               (unsigned long long) s.subscribe_refused);
        for (unsigned i = 0; i < _FLEET_REJECT_MAX; i++)
                printf(" %s=%llu", fleet_reject_to_string((FleetReject) i), (unsigned long long) s.rejected[i]);
        printf(" other=%llu own=%llu replay=%zu/%zu\n", (unsigned long long) s.rejected_other, (unsigned long long) s.own, s.replay_size,
               s.replay_capacity);
}

static int on_limit(const char *door, int family, uint64_t *ret_max_ms, unsigned *ret_prefix_len, void *userdata) {
        Node *n = userdata;

        for (size_t i = 0; i < n->n_doors; i++)
                if (streq(n->doors[i].name, door)) {
                        *ret_max_ms = n->doors[i].max_ms;
                        *ret_prefix_len = family == AF_INET ? 32 : 128;   /* addresses only */
                        return 0;
                }
        return -ENOENT;
}

static void on_grant(const FleetGrant *g, void *userdata) {
        char a[KNOCK_ADDR_STRLEN];

        printf("grant %s %s %s/%u left=%llu expiry=%llu\n", fleet_event_to_string(g->event), g->door,
               knock_addr_format(&g->addr, a), g->prefix_len, (unsigned long long) g->time_left_ms,
               (unsigned long long) g->expiry_ms);
        print_stats(userdata);
}

static void on_rejected(FleetReject reason, int error, const char *topic, void *userdata) {
        printf("rejected %s %s\n", fleet_reject_to_string(reason), topic);
        print_stats(userdata);
}

static uint64_t expiry_of(const Node *n) {
        return n->expiry_ms ? n->expiry_ms : now_usec(CLOCK_REALTIME) / USEC_PER_MSEC + n->ttl_ms;
}

static void publish_all(Node *n) {
        for (unsigned i = 0; i < n->count; i++) {
                int r = fleet_publish(n->fleet, n->ev, n->door, &n->addr, n->prefix_len, expiry_of(n));

                if (r < 0) {
                        printf("publish-failed %s\n", strerror(-r));
                        n->status = 1;
                        (void) sd_event_exit(n->event, 1);
                        return;
                }
        }
        n->sent = true;
        printf("published %u\n", n->count);
}

static void on_state(const FleetState *s, void *userdata) {
        Node *n = userdata;

        printf("state %s %d %s (failures=%u, retry in %llu ms)\n", s->connected ? "up" : "down", s->error,
               s->message, s->failures, (unsigned long long) (s->retry_in / USEC_PER_MSEC));
        print_stats(n);
        if (n->publish && s->connected && !n->sent)
                publish_all(n);
}

/* In publish mode: every 50 ms, are all acknowledged? */
static int on_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        Node *n = userdata;
        FleetStats st;

        fleet_get_stats(n->fleet, &st);
        if (n->sent && st.acked >= n->count) {
                printf("acked %llu\n", (unsigned long long) st.acked);
                print_stats(n);
                (void) sd_event_exit(n->event, 0);
                return 0;
        }
        (void) sd_event_source_set_time(s, usec + 50 * USEC_PER_MSEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        Node *n = userdata;

        if (n->publish) {
                printf("timeout: not every message was acknowledged\n");
                print_stats(n);
                return sd_event_exit(n->event, 1);
        }
        return sd_event_exit(n->event, 0);
}

static int parse_event(const char *s, FleetEvent *ret) {
        if (streq(s, "grant"))
                *ret = FLEET_EVENT_GRANT;
        else if (streq(s, "refresh"))
                *ret = FLEET_EVENT_REFRESH;
        else if (streq(s, "revoke"))
                *ret = FLEET_EVENT_REVOKE;
        else
                return -EINVAL;
        return 0;
}

static uint64_t number(const char *s, const char *what) {
        uint64_t v;

        if (parse_uint(s, strlen(s), UINT64_MAX, &v) < 0) {
                fprintf(stderr, "fleet-node: %s: not a number: %s\n", what, s);
                exit(2);
        }
        return v;
}

static int do_encode(const char *key_path, const char *fleet, const Node *n, const char *out) {
        _cleanup_free_ char *error = NULL;
        uint8_t buf[FLEET_MSG_MAX];
        TotpKey key = {};
        FleetMsg m = { .event = n->ev, .addr = n->addr, .prefix_len = (uint8_t) n->prefix_len,
                       .expiry_ms = expiry_of(n) };
        size_t len;
        FILE *f;
        int r;

        r = key_file_load(key_path, KEY_TRUST_USER, &key, &error);
        if (r < 0) {
                fprintf(stderr, "fleet-node: %s\n", error ?: strerror(-r));
                return 1;
        }
        snprintf(m.fleet, sizeof(m.fleet), "%s", fleet);
        snprintf(m.door, sizeof(m.door), "%s", n->door);
        if (fleet_msg_random_nonce(m.nonce) < 0 || fleet_msg_encode(&m, key.key, key.len, buf, &len) < 0) {
                fprintf(stderr, "fleet-node: cannot encode the message\n");
                return 1;
        }
        totp_key_wipe(&key);
        f = fopen(out, "we");
        if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
                fprintf(stderr, "fleet-node: cannot write %s: %m\n", out);
                return 1;
        }
        printf("encoded %zu bytes\n", len);
        return 0;
}

int main(int argc, char *argv[]) {
        enum { O_URL = 256, O_FLEET, O_CA, O_CERT, O_CERT_KEY, O_KEY, O_CLIENT_ID, O_DOOR, O_ADDR, O_EVENT,
               O_TTL, O_EXPIRY, O_COUNT, O_EARLY, O_TIMEOUT, O_RUN_FOR, O_OUT, O_BACKOFF_MAX, O_CONNECT_TIMEOUT };
        static const struct option options[] = {
                { "url", required_argument, NULL, O_URL },
                { "fleet", required_argument, NULL, O_FLEET },
                { "ca", required_argument, NULL, O_CA },
                { "cert", required_argument, NULL, O_CERT },
                { "cert-key", required_argument, NULL, O_CERT_KEY },
                { "key", required_argument, NULL, O_KEY },
                { "client-id", required_argument, NULL, O_CLIENT_ID },
                { "door", required_argument, NULL, O_DOOR },
                { "addr", required_argument, NULL, O_ADDR },
                { "event", required_argument, NULL, O_EVENT },
                { "ttl", required_argument, NULL, O_TTL },
                { "expiry", required_argument, NULL, O_EXPIRY },
                { "count", required_argument, NULL, O_COUNT },
                { "early", no_argument, NULL, O_EARLY },
                { "timeout", required_argument, NULL, O_TIMEOUT },
                { "run-for", required_argument, NULL, O_RUN_FOR },
                { "out", required_argument, NULL, O_OUT },
                { "backoff-max-ms", required_argument, NULL, O_BACKOFF_MAX },
                { "connect-timeout-ms", required_argument, NULL, O_CONNECT_TIMEOUT },
                {}
        };
        _cleanup_free_ char *error = NULL;
        FleetConfig config = { .backoff_min = 200 * USEC_PER_MSEC, .backoff_max = 2 * USEC_PER_SEC };
        Node n = { .ev = FLEET_EVENT_GRANT, .count = 1, .ttl_ms = 60000 };
        const char *mode, *out = NULL;
        uint64_t timeout_s = 10, run_for_s = 0;
        sd_event_source *poll = NULL, *deadline = NULL;
        int c, r;

        if (argc < 2) {
                fprintf(stderr, "usage: fleet-node listen|publish|encode OPTIONS (see the source)\n");
                return 2;
        }
        mode = argv[1];
        optind = 2;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case O_URL: config.url = optarg; break;
                case O_FLEET: config.name = optarg; break;
                case O_CA: config.ca_file = optarg; break;
                case O_CERT: config.cert_file = optarg; break;
                case O_CERT_KEY: config.cert_key_file = optarg; break;
                case O_KEY: config.key_file = optarg; break;
                case O_CLIENT_ID: config.client_id = optarg; break;
                case O_DOOR: {
                        const char *colon = strchr(optarg, ':');

                        if (streq(mode, "listen")) {
                                if (!colon || n.n_doors >= DOORS_MAX || (size_t) (colon - optarg) > FLEET_NAME_MAX) {
                                        fprintf(stderr, "fleet-node: --door=DOOR:MAX_MS\n");
                                        return 2;
                                }
                                memcpy(n.doors[n.n_doors].name, optarg, (size_t) (colon - optarg));
                                n.doors[n.n_doors].max_ms = number(colon + 1, "--door");
                                n.n_doors++;
                        } else
                                n.door = optarg;
                        break;
                }
                case O_ADDR:
                        if (knock_prefix_parse(optarg, &n.addr, &n.prefix_len) < 0) {
                                fprintf(stderr, "fleet-node: --addr: not ADDR[/LEN]: %s\n", optarg);
                                return 2;
                        }
                        break;
                case O_EVENT:
                        if (parse_event(optarg, &n.ev) < 0) {
                                fprintf(stderr, "fleet-node: --event: grant, refresh or revoke\n");
                                return 2;
                        }
                        break;
                case O_TTL: n.ttl_ms = number(optarg, "--ttl"); break;
                case O_EXPIRY: n.expiry_ms = number(optarg, "--expiry"); break;
                case O_COUNT: n.count = (unsigned) number(optarg, "--count"); break;
                case O_EARLY: n.early = true; break;
                case O_TIMEOUT: timeout_s = number(optarg, "--timeout"); break;
                case O_RUN_FOR: run_for_s = number(optarg, "--run-for"); break;
                case O_OUT: out = optarg; break;
                case O_BACKOFF_MAX: config.backoff_max = number(optarg, "--backoff-max-ms") * USEC_PER_MSEC; break;
                case O_CONNECT_TIMEOUT:
                        config.connect_timeout = number(optarg, "--connect-timeout-ms") * USEC_PER_MSEC;
                        break;
                default:
                        return 2;
                }
        setvbuf(stdout, NULL, _IOLBF, 0);

        if (streq(mode, "encode")) {
                if (!config.key_file || !n.door || !n.addr.family || !out) {
                        fprintf(stderr, "fleet-node encode: --key, --door, --addr and --out are needed\n");
                        return 2;
                }
                return do_encode(config.key_file, config.name ?: FLEET_NAME_DEFAULT, &n, out);
        }
        if (streq(mode, "listen")) {
                config.subscribe = true;
        } else if (streq(mode, "publish")) {
                n.publish = true;
                if (!n.door || !n.addr.family) {
                        fprintf(stderr, "fleet-node publish: --door and --addr are needed\n");
                        return 2;
                }
        } else {
                fprintf(stderr, "fleet-node: unknown mode %s\n", mode);
                return 2;
        }

        r = sd_event_default(&n.event);
        if (r >= 0)
                r = sd_event_add_signal(n.event, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(n.event, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK, NULL, NULL);
        if (r < 0) {
                fprintf(stderr, "fleet-node: event loop: %s\n", strerror(-r));
                return 1;
        }
        r = fleet_new(n.event, &config, &(FleetHandlers) { .limit = on_limit, .grant = on_grant,
                                                           .rejected = on_rejected, .state = on_state },
                      &n, &n.fleet, &error);
        if (r < 0) {
                printf("error %s\n", error ?: strerror(-r));
                return 1;
        }
        if (n.publish) {
                (void) sd_event_add_time_relative(n.event, &poll, CLOCK_MONOTONIC, 50 * USEC_PER_MSEC, 0,
                                                  on_poll, &n);
                (void) sd_event_add_time_relative(n.event, &deadline, CLOCK_MONOTONIC, timeout_s * USEC_PER_SEC,
                                                  0, on_deadline, &n);
                if (n.early)
                        publish_all(&n);
        } else if (run_for_s > 0)
                (void) sd_event_add_time_relative(n.event, &deadline, CLOCK_MONOTONIC, run_for_s * USEC_PER_SEC,
                                                  0, on_deadline, &n);
        r = sd_event_loop(n.event);
        print_stats(&n);
        sd_event_source_unref(poll);
        sd_event_source_unref(deadline);
        n.fleet = fleet_free(n.fleet);
        sd_event_unref(n.event);
        return r < 0 ? 1 : r ? r : n.status;
}
