/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fleet.c — libmosquitto in the sd-event loop (see fleet.h).
 *
 * States: IDLE (no socket; the retry timer is armed), CONNECTING (a socket, the TCP
 * connect, the TLS handshake and CONNECT/CONNACK under way; the misc timer checks the
 * connect timeout every second) and CONNECTED (CONNACK accepted).
 *
 * libmosquitto's callbacks (connect, disconnect, message, publish) run inside
 * mosquitto_loop_read()/_write()/_misc(); they only record what happened or hand a
 * message on, and the state changes once the loop call has returned. The library closes
 * its socket itself on most errors (calling on_disconnect, or not — a failed TLS
 * handshake closes it silently), so after each call the socket is compared with the one
 * watched. To give a connection up, the socket is shut down (not closed: libmosquitto
 * owns the descriptor, and closes it at the next attempt or in mosquitto_destroy()),
 * and its I/O source is removed in the same turn, before any other descriptor can be
 * opened under its number.
 *
 * During the TLS handshake libmosquitto continues it only from mosquitto_loop_read(),
 * also when the socket became writable (its own select() loop does the same), so while
 * CONNECTING every readiness goes to mosquitto_loop_read() first. A socket with
 * EPOLLERR or EPOLLHUP that libmosquitto keeps after reading is given up: its handshake
 * code takes some socket errors for "try again", which would wake the loop forever.
 *
 * SIGPIPE: through OpenSSL's socket BIO, libmosquitto writes with write(), not
 * send(MSG_NOSIGNAL); a broker that went away would kill the process. fleet_new()
 * ignores SIGPIPE if its disposition is still the default.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include "errno-util.h"
#include "fd-util.h"
#include "fleet.h"
#include "keyfile.h"
#include "parse-util.h"
#include "string-util.h"

#define CERT_FILE_MAX (64U * 1024U)   /* what the client id derivation reads of a certificate */
#define LOG_TEXT_MAX 200U

/* sd_id128_get_machine_app_specific()'s application id for the client id. */
#define FLEET_APP_ID SD_ID128_MAKE(9e, d9, 14, b0, 4d, b7, 4b, 14, be, 48, f5, 98, fa, 2a, 60, c1)

typedef enum FleetConn {
        CONN_IDLE,
        CONN_CONNECTING,
        CONN_CONNECTED,
} FleetConn;

struct Fleet {
        sd_event *event;
        struct mosquitto *mosq;
        bool lib_initialised;
        FleetHandlers handlers;
        void *userdata;

        char name[FLEET_NAME_MAX + 1];
        char host[INET6_ADDRSTRLEN];
        uint16_t port;
        char url[FLEET_URL_MAX];
        char client_id[FLEET_CLIENT_ID_MAX + 1];
        char filter[FLEET_TOPIC_MAX];
        TotpKey key;
        bool subscribe;
        uint64_t skew_ms;
        unsigned keepalive;
        usec_t backoff_min, backoff_max, connect_timeout;
        size_t queue_max;
        FleetReplay *replay;

        sd_event_source *io;
        sd_event_source *misc_timer;
        sd_event_source *retry_timer;
        int fd;                       /* the socket io watches; -1 */
        FleetConn conn;
        usec_t connect_deadline;
        unsigned failures;

        /* Set by libmosquitto's callbacks, read when its call returned. */
        bool lost;
        int lost_rc;
        int connack_rc;               /* -1: none refused */
        char last_log[LOG_TEXT_MAX];  /* libmosquitto's last error line (escaped) */

        FleetStats stats;
};

/* ---- the URL --------------------------------------------------------------------- */

int fleet_url_parse(const char *url, KnockAddr *ret_addr, char ret_host[static INET6_ADDRSTRLEN],
                    uint16_t *ret_port) {
        const char *p, *end, *host;
        char buf[INET6_ADDRSTRLEN];
        size_t n, len;
        KnockAddr addr = {};
        uint64_t port = FLEET_PORT_DEFAULT;

        if (!url)
                return -EINVAL;
        len = strnlen(url, FLEET_URL_MAX);
        if (len >= FLEET_URL_MAX)
                return -EINVAL;
        p = startswith(url, "mqtts://");
        if (!p)
                return -EINVAL;
        end = url + len;
        if (*p == '[') {
                const char *close = memchr(p, ']', (size_t) (end - p));

                if (!close)
                        return -EINVAL;
                host = p + 1;
                n = (size_t) (close - host);
                p = close + 1;
                addr.family = AF_INET6;
        } else {
                host = p;
                while (p < end && *p != ':')
                        p++;
                n = (size_t) (p - host);
                addr.family = AF_INET;
        }
        if (n == 0 || n >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, host, n);
        buf[n] = 0;
        if (inet_pton(addr.family, buf, addr.bytes) != 1)
                return -EINVAL;
        if (p < end) {
                if (*p != ':' || parse_uint(p + 1, (size_t) (end - p - 1), UINT16_MAX, &port) < 0 || port == 0)
                        return -EINVAL;
        }
        if (ret_addr)
                *ret_addr = addr;
        memcpy(ret_host, buf, n + 1);
        if (ret_port)
                *ret_port = (uint16_t) port;
        return 0;
}

/* ---- errors ---------------------------------------------------------------------- */

static int mosq_errno(int rc, int saved_errno) {
        switch (rc) {
        case MOSQ_ERR_SUCCESS:
                return 0;
        case MOSQ_ERR_NOMEM:
                return -ENOMEM;
        case MOSQ_ERR_INVAL:
                return -EINVAL;
        case MOSQ_ERR_NO_CONN:
                return -ENOTCONN;
        case MOSQ_ERR_CONN_REFUSED:
                return -ECONNREFUSED;
        case MOSQ_ERR_CONN_LOST:
                return -ECONNRESET;
        case MOSQ_ERR_TLS:
        case MOSQ_ERR_TLS_HANDSHAKE:
        case MOSQ_ERR_PROTOCOL:
                return -EPROTO;
        case MOSQ_ERR_KEEPALIVE:
                return -ETIMEDOUT;
        case MOSQ_ERR_PAYLOAD_SIZE:
        case MOSQ_ERR_OVERSIZE_PACKET:
                return -EMSGSIZE;
        case MOSQ_ERR_ERRNO:
                return saved_errno > 0 ? -saved_errno : -EIO;
        default:
                return -EIO;
        }
}

/* ---- the connection -------------------------------------------------------------- */

static void arm(sd_event_source *s, usec_t when) {
        (void) sd_event_source_set_time(s, when);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static usec_t backoff(const Fleet *f) {
        usec_t d = f->backoff_min;
        uint32_t rnd = 0;

        for (unsigned i = 1; i < f->failures && d < f->backoff_max; i++)
                d *= 2;
        d = MIN(d, f->backoff_max);
        /* Jitter: somewhere in [d/2, d], so that hosts that lost the broker together do not
         * all come back in the same instant. */
        if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t) sizeof(rnd))
                rnd = (uint32_t) now_usec(CLOCK_MONOTONIC);
        return d / 2 + (d / 2) * (rnd % 1024) / 1023;
}

static void update_events(Fleet *f) {
        if (!f->io)
                return;
        (void) sd_event_source_set_io_events(f->io, EPOLLIN | (mosquitto_want_write(f->mosq) ? EPOLLOUT : 0));
}

/* Stop watching the socket; shut it down if libmosquitto still has it open. */
static void teardown(Fleet *f) {
        f->io = sd_event_source_disable_unref(f->io);
        (void) sd_event_source_set_enabled(f->misc_timer, SD_EVENT_OFF);
        if (f->fd >= 0 && mosquitto_socket(f->mosq) == f->fd)
                (void) shutdown(f->fd, SHUT_RDWR);
        f->fd = -1;
}

static void tell_state(Fleet *f, int error, const char *message) {
        FleetState s = {
                .connected = f->conn == CONN_CONNECTED,
                .error = error,
                .message = message,
                .failures = f->failures,
        };

        if (!s.connected && sd_event_source_get_enabled(f->retry_timer, NULL) > 0) {
                usec_t when = 0, now = now_usec(CLOCK_MONOTONIC);

                (void) sd_event_source_get_time(f->retry_timer, &when);
                s.retry_in = when > now ? when - now : 0;
        }
        if (f->handlers.state)
                f->handlers.state(&s, f->userdata);
}

/* The connection ended or an attempt failed: schedule the next attempt and say so. */
static void connection_down(Fleet *f, int error, const char *what) {
        char message[LOG_TEXT_MAX * 2];
        bool was_connected = f->conn == CONN_CONNECTED;

        teardown(f);
        f->conn = CONN_IDLE;
        if (was_connected) {
                f->stats.disconnects++;
                f->failures = 0;
        } else {
                f->stats.connect_failures++;
                f->failures++;
        }
        arm(f->retry_timer, now_usec(CLOCK_MONOTONIC) + backoff(f));
        (void) snprintf(message, sizeof(message), "%s%s%s", what, f->last_log[0] ? ": " : "", f->last_log);
        f->last_log[0] = 0;
        tell_state(f, error < 0 ? error : -ECONNRESET, message);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static void attempt(Fleet *f) {
        char what[LOG_TEXT_MAX];
        int rc, saved, r;

        f->lost = false;
        f->connack_rc = -1;
        f->last_log[0] = 0;
        rc = mosquitto_connect_async(f->mosq, f->host, f->port, (int) f->keepalive);
        saved = errno;
        if (rc != MOSQ_ERR_SUCCESS) {
                r = mosq_errno(rc, saved);
                (void) snprintf(what, sizeof(what), "cannot connect to %s: %s", f->url,
                                rc == MOSQ_ERR_ERRNO ? strerror(-r) : mosquitto_strerror(rc));
                connection_down(f, r, what);
                return;
        }
        f->fd = mosquitto_socket(f->mosq);
        if (f->fd < 0) {
                connection_down(f, -ENOTCONN, "libmosquitto has no socket after connecting");
                return;
        }
        f->conn = CONN_CONNECTING;
        f->connect_deadline = now_usec(CLOCK_MONOTONIC) + f->connect_timeout;
        r = sd_event_add_io(f->event, &f->io, f->fd, EPOLLIN, on_io, f);
        if (r < 0) {
                connection_down(f, r, "cannot watch the broker's socket");
                return;
        }
        arm(f->misc_timer, now_usec(CLOCK_MONOTONIC) + USEC_PER_SEC);
        update_events(f);
}

/* After a libmosquitto call: did the connection end? revents: what woke us (0: a timer). */
static void after_call(Fleet *f, int rc, int saved_errno, uint32_t revents) {
        char what[LOG_TEXT_MAX];
        int r;

        if (f->conn == CONN_IDLE)
                return;
        if (f->connack_rc > 0) {
                (void) snprintf(what, sizeof(what), "the broker %s refused the connection: %s", f->url,
                                mosquitto_connack_string(f->connack_rc));
                connection_down(f, -ECONNREFUSED, what);
                return;
        }
        if (rc != MOSQ_ERR_SUCCESS || f->lost || mosquitto_socket(f->mosq) != f->fd) {
                int code = rc != MOSQ_ERR_SUCCESS ? rc : f->lost ? f->lost_rc : MOSQ_ERR_CONN_LOST;

                r = mosq_errno(code, saved_errno);
                if (code == MOSQ_ERR_SUCCESS)
                        r = -ECONNRESET;
                (void) snprintf(what, sizeof(what), "%s %s: %s",
                                f->conn == CONN_CONNECTED ? "lost the connection to" : "could not connect to",
                                f->url, code == MOSQ_ERR_ERRNO ? strerror(-r) : mosquitto_strerror(code));
                connection_down(f, r, what);
                return;
        }
        if (revents & (EPOLLERR | EPOLLHUP)) {
                int error = 0;
                socklen_t len = sizeof(error);

                if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0 || error == 0)
                        error = ECONNRESET;
                (void) snprintf(what, sizeof(what), "%s %s: %s",
                                f->conn == CONN_CONNECTED ? "lost the connection to" : "could not connect to",
                                f->url, strerror(error));
                connection_down(f, -error, what);
                return;
        }
        update_events(f);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Fleet *f = userdata;
        int rc = MOSQ_ERR_SUCCESS, saved = 0;

        if ((revents & (EPOLLIN | EPOLLERR | EPOLLHUP)) || f->conn == CONN_CONNECTING) {
                /* It reads on while TLS holds data, but stops at a stale EAGAIN. */
                errno = 0;
                rc = mosquitto_loop_read(f->mosq, 1);
                saved = errno;
        }
        if (rc == MOSQ_ERR_SUCCESS && !f->lost && (revents & EPOLLOUT) && mosquitto_socket(f->mosq) == f->fd) {
                rc = mosquitto_loop_write(f->mosq, 1);
                saved = errno;
        }
        after_call(f, rc, saved, revents);
        return 0;
}

static int on_misc_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Fleet *f = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        char what[LOG_TEXT_MAX];
        int rc, saved;

        if (f->conn == CONN_IDLE)
                return 0;
        if (f->conn == CONN_CONNECTING && now >= f->connect_deadline) {
                (void) snprintf(what, sizeof(what), "no answer from %s within %llu s", f->url,
                                (unsigned long long) (f->connect_timeout / USEC_PER_SEC));
                connection_down(f, -ETIMEDOUT, what);
                return 0;
        }
        rc = mosquitto_loop_misc(f->mosq);
        saved = errno;
        after_call(f, rc, saved, 0);
        if (f->conn != CONN_IDLE)
                arm(f->misc_timer, now + (f->conn == CONN_CONNECTED ?
                                          MAX((usec_t) f->keepalive * USEC_PER_SEC / 5, USEC_PER_SEC) :
                                          USEC_PER_SEC));
        return 0;
}

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        attempt(userdata);
        return 0;
}

/* ---- libmosquitto's callbacks ------------------------------------------------------ */

/* Each keeps errno as it found it: mosquitto_loop_read() stops reading when errno is
 * EAGAIN after a packet, and a callback's own calls (nft_commit()'s receive, say) can leave
 * that behind, stranding packets that TLS holds already decrypted. */

static void cb_connect(struct mosquitto *mosq, void *userdata, int rc) {
        PROTECT_ERRNO;
        Fleet *f = userdata;
        char message[512];

        if (rc != 0) {
                f->connack_rc = rc;
                return;
        }
        f->conn = CONN_CONNECTED;
        f->stats.connects++;
        f->failures = 0;
        {
                /* The session may be the broker's from an earlier run (clean_session false),
                 * with the subscription it had then: say what holds now, either way. */
                int r = f->subscribe ? mosquitto_subscribe(mosq, NULL, f->filter, 1)
                                     : mosquitto_unsubscribe(mosq, NULL, f->filter);

                if (r != MOSQ_ERR_SUCCESS) {
                        /* Without the subscription the connection is of no use: start again. */
                        f->lost = true;
                        f->lost_rc = r;
                        return;
                }
        }
        (void) snprintf(message, sizeof(message), "connected to %s as %s%s%s", f->url, f->client_id,
                        f->subscribe ? ", subscribed to " : "", f->subscribe ? f->filter : "");
        tell_state(f, 0, message);
}

static void cb_disconnect(struct mosquitto *mosq, void *userdata, int rc) {
        PROTECT_ERRNO;
        Fleet *f = userdata;

        f->lost = true;
        f->lost_rc = rc == MOSQ_ERR_SUCCESS ? MOSQ_ERR_CONN_LOST : rc;
}

static void cb_publish(struct mosquitto *mosq, void *userdata, int mid) {
        PROTECT_ERRNO;
        Fleet *f = userdata;

        f->stats.acked++;
        if (f->stats.queued > 0)
                f->stats.queued--;
}

/* The broker's answer to our subscription: 0x80 (MQTT 3.1.1) is a refusal, its ACL's. */
static void cb_subscribe(struct mosquitto *mosq, void *userdata, int mid, int qos_count, const int *granted_qos) {
        PROTECT_ERRNO;
        Fleet *f = userdata;
        char message[512];

        if (qos_count >= 1 && granted_qos && granted_qos[0] >= 0 && granted_qos[0] <= 2)
                return;
        f->stats.subscribe_refused++;
        (void) snprintf(message, sizeof(message), "%s refused the subscription to %s (its ACL must let "
                        "this host's certificate read it); nothing is taken from the fleet", f->url, f->filter);
        tell_state(f, -EACCES, message);
}

static void cb_log(struct mosquitto *mosq, void *userdata, int level, const char *text) {
        PROTECT_ERRNO;
        Fleet *f = userdata;

        if (!(level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) || !text)
                return;
        (void) escape_into(text, strnlen(text, 4096), LOG_TEXT_MAX / 2, 0, f->last_log, sizeof(f->last_log));
}

static void reject(Fleet *f, int error, const char *topic, size_t topic_len) {
        FleetReject reason = fleet_reject_from_errno(error);
        char shown[FLEET_TOPIC_MAX * 4 + 8];

        if (reason < _FLEET_REJECT_MAX)
                f->stats.rejected[reason]++;
        else
                f->stats.rejected_other++;
        if (!f->handlers.rejected)
                return;
        (void) escape_into(topic ?: "", topic ? topic_len : 0, FLEET_TOPIC_MAX, ESCAPE_QUOTE, shown, sizeof(shown));
        f->handlers.rejected(reason, error, shown, f->userdata);
}

/* Check one message; 0 and *ret filled if it is to be granted, else the -errno of its refusal. */
static int check_message(Fleet *f, const struct mosquitto_message *m, size_t topic_len,
                         char door[static FLEET_NAME_MAX + 1], FleetGrant *ret) {
        char fleet[FLEET_NAME_MAX + 1];
        uint64_t max_ms = 0, left = 0;
        unsigned prefix_len = 0;
        FleetMsg msg;
        int r;

        if (!f->subscribe)
                return -ENOENT;  /* a subscription the broker still had */
        if (!m->topic || topic_len >= FLEET_TOPIC_MAX || m->payloadlen < 0 ||
            (size_t) m->payloadlen > FLEET_MSG_MAX || !m->payload)
                return -EINVAL;
        r = fleet_topic_parse(m->topic, topic_len, fleet, door);
        if (r < 0)
                return r;
        if (!streq(fleet, f->name))
                return -EXDEV;
        r = fleet_msg_decode(m->payload, (size_t) m->payloadlen, f->key.key, f->key.len, &msg);
        if (r < 0)
                return r;
        /* Signed for another door than its topic's: wrong-topic, whatever this host takes. */
        if (!streq(msg.fleet, fleet) || !streq(msg.door, door))
                return -EXDEV;
        r = f->handlers.limit(door, msg.addr.family, &max_ms, &prefix_len, f->userdata);
        if (r == -EEXIST)
                return r;  /* our own door's message, back from the broker */
        if (r < 0 || max_ms == 0)
                return -ENOENT;
        /* Before the replay cache: a message refused here takes no place in it. */
        if (msg.prefix_len < prefix_len)
                return -EADDRNOTAVAIL;
        r = fleet_msg_accept(&msg, &(FleetCheck) { .fleet = f->name, .door = door,
                                                   .now_ms = now_usec(CLOCK_REALTIME) / USEC_PER_MSEC,
                                                   .max_ms = max_ms, .skew_ms = f->skew_ms },
                             f->replay, &left);
        if (r < 0)
                return r;
        *ret = (FleetGrant) { .event = msg.event, .door = door, .addr = msg.addr, .prefix_len = msg.prefix_len,
                              .time_left_ms = left, .expiry_ms = msg.expiry_ms };
        return 0;
}

static void cb_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *m) {
        PROTECT_ERRNO;
        Fleet *f = userdata;
        char door[FLEET_NAME_MAX + 1];
        size_t topic_len = m->topic ? strnlen(m->topic, FLEET_TOPIC_MAX) : 0;
        FleetGrant g;
        int r;

        f->stats.received++;
        r = check_message(f, m, topic_len, door, &g);
        if (r == -EEXIST) {
                f->stats.own++;
                return;
        }
        if (r < 0) {
                reject(f, r, m->topic, topic_len);
                return;
        }
        f->stats.accepted++;
        f->handlers.grant(&g, f->userdata);
}

/* ---- set-up ------------------------------------------------------------------------ */

/* The file of option, or else the credential name; -ENOENT if neither. */
static int file_of(const char *option, const char *credentials_dir, const char *credential,
                   const char *what, const char *flag, char **ret, bool *ret_credential, char **ret_error) {
        char *p;

        if (option && option[0]) {
                p = strdup(option);
                if (!p)
                        return -ENOMEM;
                *ret = p;
                *ret_credential = false;
                return 0;
        }
        if (credentials_dir && credentials_dir[0]) {
                if (asprintf(&p, "%s/%s", credentials_dir, credential) < 0)
                        return -ENOMEM;
                if (access(p, F_OK) == 0) {
                        *ret = p;
                        *ret_credential = true;
                        return 0;
                }
                free(p);
        }
        return set_error(ret_error, -ENOENT, "no %s for the fleet: give %s=FILE or the credential %s "
                         "(LoadCredential=%s:FILE)", what, flag, credential, credential);
}

static int readable(const char *path, const char *what, char **ret_error) {
        if (access(path, R_OK) < 0)
                return set_error(ret_error, negative_errno(), "cannot read the fleet's %s %s: %m", what, path);
        return 0;
}

/* "knockwatch-" and 32 hex digits (fleet.h). */
static int derive_client_id(const char *fleet, const char *cert_path, char ret[static FLEET_CLIENT_ID_MAX + 1]) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint8_t mac[HMAC_SHA256_SIZE];
        size_t nf = strlen(fleet), len;
        sd_id128_t id;
        char host[256] = {};
        const void *key;
        size_t key_len;
        ssize_t n;
        int r;

        data = malloc(nf + 1 + CERT_FILE_MAX);
        if (!data)
                return -ENOMEM;
        memcpy(data, fleet, nf + 1);
        len = nf + 1;
        fd = open(cert_path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        while (len < nf + 1 + CERT_FILE_MAX) {
                n = read(fd, data + len, nf + 1 + CERT_FILE_MAX - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        r = sd_id128_get_machine_app_specific(FLEET_APP_ID, &id);
        if (r >= 0) {
                key = id.bytes;
                key_len = sizeof(id.bytes);
        } else {
                /* No machine id (a bare container): the host name stands in. */
                if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
                        strcpy(host, "localhost");
                key = host;
                key_len = strlen(host);
        }
        r = hmac_sha256(key, key_len, data, len, mac);
        explicit_bzero(&id, sizeof(id));
        if (r < 0)
                return r;
        strcpy(ret, "knockwatch-");
        for (size_t i = 0; i < 16; i++)
                (void) snprintf(ret + STRLEN("knockwatch-") + 2 * i, 3, "%02x", mac[i]);
        return 0;
}

static bool client_id_valid(const char *s) {
        size_t n = strnlen(s, FLEET_CLIENT_ID_MAX + 1);

        if (n == 0 || n > FLEET_CLIENT_ID_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
                        return false;
        return true;
}

int fleet_new(sd_event *event, const FleetConfig *config, const FleetHandlers *handlers,
              void *userdata, Fleet **ret, char **ret_error) {
        _cleanup_(fleet_freep) Fleet *f = NULL;
        _cleanup_free_ char *ca = NULL, *cert = NULL, *cert_key = NULL, *key_path = NULL, *error = NULL;
        const char *name;
        bool credential;
        struct sigaction sa;
        int r;

        if (!event || !config || !handlers || !ret)
                return -EINVAL;
        name = config->name ?: FLEET_NAME_DEFAULT;
        if (!fleet_name_valid(name, strnlen(name, FLEET_NAME_MAX + 1)))
                return set_error(ret_error, -EINVAL, "fleet name \"%.*s\" is not valid: 1 to %u of a-z, "
                                 "0-9, \"_\" and \"-\", starting with a letter", (int) FLEET_NAME_MAX, name,
                                 FLEET_NAME_MAX);
        if (config->subscribe && (!handlers->limit || !handlers->grant))
                return -EINVAL;

        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->fd = -1;
        f->connack_rc = -1;
        f->event = sd_event_ref(event);
        f->handlers = *handlers;
        f->userdata = userdata;
        strcpy(f->name, name);
        f->subscribe = config->subscribe;
        f->skew_ms = config->skew_ms ?: FLEET_SKEW_DEFAULT_MS;
        f->keepalive = config->keepalive_sec ?: FLEET_KEEPALIVE_DEFAULT_SEC;
        f->backoff_min = config->backoff_min ?: FLEET_BACKOFF_MIN_DEFAULT;
        f->backoff_max = MAX(config->backoff_max ?: FLEET_BACKOFF_MAX_DEFAULT, f->backoff_min);
        f->connect_timeout = config->connect_timeout ?: FLEET_CONNECT_TIMEOUT_DEFAULT;
        f->queue_max = config->queue_max ?: FLEET_QUEUE_DEFAULT;
        if (f->keepalive < 5 || f->keepalive > UINT16_MAX)
                return set_error(ret_error, -EINVAL, "fleet keepalive %u s is out of range (5 to 65535)",
                                 f->keepalive);

        if (fleet_url_parse(config->url, NULL, f->host, &f->port) < 0)
                return set_error(ret_error, -EINVAL, "--fleet=%.*s: expected mqtts://ADDRESS[:PORT], the "
                                 "broker's IPv4 address or its IPv6 address in brackets (no name: "
                                 "IPAddressAllow= of the unit needs the address anyway)",
                                 (int) FLEET_URL_MAX, config->url ?: "");
        (void) snprintf(f->url, sizeof(f->url), strchr(f->host, ':') ? "mqtts://[%s]:%u" : "mqtts://%s:%u",
                        f->host, f->port);

        r = file_of(config->ca_file, config->credentials_dir, FLEET_CREDENTIAL_CA, "CA certificate",
                    "--fleet-ca", &ca, &credential, ret_error);
        if (r >= 0)
                r = file_of(config->cert_file, config->credentials_dir, FLEET_CREDENTIAL_CERT,
                            "client certificate", "--fleet-cert", &cert, &credential, ret_error);
        if (r >= 0)
                r = file_of(config->cert_key_file, config->credentials_dir, FLEET_CREDENTIAL_CERT_KEY,
                            "client certificate key", "--fleet-cert-key", &cert_key, &credential, ret_error);
        if (r >= 0)
                r = file_of(config->key_file, config->credentials_dir, FLEET_CREDENTIAL_KEY, "key",
                            "--fleet-key", &key_path, &credential, ret_error);
        if (r < 0)
                return r;
        if ((r = readable(ca, "CA certificate", ret_error)) < 0 ||
            (r = readable(cert, "client certificate", ret_error)) < 0 ||
            (r = readable(cert_key, "client certificate key", ret_error)) < 0)
                return r;
        r = key_file_load(key_path, credential ? KEY_TRUST_CREDENTIAL : KEY_TRUST_ROOT, &f->key, &error);
        if (r < 0)
                return set_error(ret_error, r, "the fleet key: %s", error ?: strerror(-r));

        if (config->client_id) {
                if (!client_id_valid(config->client_id))
                        return set_error(ret_error, -EINVAL, "fleet client id is not valid (1 to %u of "
                                         "A-Z, a-z, 0-9, \"-\", \"_\", \".\")", FLEET_CLIENT_ID_MAX);
                strcpy(f->client_id, config->client_id);
        } else {
                r = derive_client_id(f->name, cert, f->client_id);
                if (r < 0)
                        return set_error(ret_error, r, "cannot derive the fleet client id from %s: %s",
                                         cert, strerror(-r));
        }
        r = fleet_topic_filter(f->name, f->filter);
        if (r < 0)
                return r;
        r = fleet_replay_new(config->replay_capacity ?: FLEET_REPLAY_DEFAULT, &f->replay);
        if (r < 0)
                return set_error(ret_error, r, "cannot allocate the fleet's replay cache: %s", strerror(-r));

        if (mosquitto_lib_init() != MOSQ_ERR_SUCCESS)
                return set_error(ret_error, -EIO, "libmosquitto failed to initialise");
        f->lib_initialised = true;
        f->mosq = mosquitto_new(f->client_id, false, f);
        if (!f->mosq)
                return set_error(ret_error, negative_errno(), "cannot create the MQTT client: %m");
        (void) mosquitto_int_option(f->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
        r = mosquitto_tls_set(f->mosq, ca, NULL, cert, cert_key, NULL);
        if (r != MOSQ_ERR_SUCCESS)
                return set_error(ret_error, mosq_errno(r, errno), "cannot use the fleet's TLS files (%s, %s, "
                                 "%s): %s", ca, cert, cert_key, mosquitto_strerror(r));
        r = mosquitto_tls_opts_set(f->mosq, 1 /* SSL_VERIFY_PEER */, NULL, NULL);
        if (r != MOSQ_ERR_SUCCESS)
                return set_error(ret_error, mosq_errno(r, errno), "cannot set TLS options: %s",
                                 mosquitto_strerror(r));
        mosquitto_connect_callback_set(f->mosq, cb_connect);
        mosquitto_disconnect_callback_set(f->mosq, cb_disconnect);
        mosquitto_message_callback_set(f->mosq, cb_message);
        mosquitto_publish_callback_set(f->mosq, cb_publish);
        mosquitto_subscribe_callback_set(f->mosq, cb_subscribe);
        mosquitto_log_callback_set(f->mosq, cb_log);

        r = sd_event_add_time(event, &f->retry_timer, CLOCK_MONOTONIC, 0, 0, on_retry_timer, f);
        if (r >= 0)
                r = sd_event_add_time(event, &f->misc_timer, CLOCK_MONOTONIC, USEC_INFINITY, 100 * USEC_PER_MSEC,
                                      on_misc_timer, f);
        if (r >= 0)
                r = sd_event_source_set_enabled(f->misc_timer, SD_EVENT_OFF);
        if (r < 0)
                return set_error(ret_error, r, "cannot set up the fleet's timers: %s", strerror(-r));
        /* The retry timer fires at once: the first attempt is made from the loop. */
        (void) sd_event_source_set_enabled(f->retry_timer, SD_EVENT_ONESHOT);

        if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
                (void) signal(SIGPIPE, SIG_IGN);

        (void) snprintf(f->stats.broker, sizeof(f->stats.broker), "%s", f->url);
        (void) snprintf(f->stats.fleet, sizeof(f->stats.fleet), "%s", f->name);
        (void) snprintf(f->stats.client_id, sizeof(f->stats.client_id), "%s", f->client_id);
        *ret = TAKE_PTR(f);
        return 0;
}

Fleet *fleet_free(Fleet *f) {
        if (!f)
                return NULL;
        f->io = sd_event_source_disable_unref(f->io);
        f->misc_timer = sd_event_source_disable_unref(f->misc_timer);
        f->retry_timer = sd_event_source_disable_unref(f->retry_timer);
        if (f->mosq) {
                if (f->conn == CONN_CONNECTED) {
                        /* A DISCONNECT, written now if the socket takes it; not waited for. */
                        (void) mosquitto_disconnect(f->mosq);
                        (void) mosquitto_loop_write(f->mosq, 1);
                }
                mosquitto_destroy(f->mosq);
        }
        if (f->lib_initialised)
                (void) mosquitto_lib_cleanup();
        fleet_replay_free(f->replay);
        totp_key_wipe(&f->key);
        sd_event_unref(f->event);
        free(f);
        return NULL;
}

int fleet_publish(Fleet *f, FleetEvent event, const char *door, const KnockAddr *addr,
                  unsigned prefix_len, uint64_t expiry_ms) {
        uint8_t buf[FLEET_MSG_MAX];
        char topic[FLEET_TOPIC_MAX];
        FleetMsg m = {
                .event = event,
                .prefix_len = (uint8_t) prefix_len,
                .expiry_ms = expiry_ms,
        };
        size_t len;
        int r, rc, saved;

        if (!f || !door || !addr || prefix_len > 128)
                return -EINVAL;
        if (f->stats.queued >= f->queue_max) {
                f->stats.dropped++;
                return -ENOBUFS;
        }
        m.addr = *addr;
        if (strnlen(door, FLEET_NAME_MAX + 1) > FLEET_NAME_MAX)
                return -EINVAL;
        strcpy(m.door, door);
        strcpy(m.fleet, f->name);
        r = fleet_topic_format(f->name, door, topic);
        if (r < 0)
                return r;
        r = fleet_msg_random_nonce(m.nonce);
        if (r < 0)
                return r;
        r = fleet_msg_encode(&m, f->key.key, f->key.len, buf, &len);
        if (r < 0)
                return r;
        rc = mosquitto_publish(f->mosq, NULL, topic, (int) len, buf, 1, false);
        saved = errno;
        /* Only these leave the message out. Otherwise (not connected, a connection that
         * failed while sending) libmosquitto keeps the QoS 1 message and sends it again on
         * reconnecting. */
        if (rc == MOSQ_ERR_NOMEM || rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_PAYLOAD_SIZE ||
            rc == MOSQ_ERR_OVERSIZE_PACKET || rc == MOSQ_ERR_QOS_NOT_SUPPORTED) {
                f->stats.dropped++;
                return mosq_errno(rc, saved);
        }
        f->stats.published++;
        f->stats.queued++;
        update_events(f);
        return 0;
}

int fleet_set_taking(Fleet *f, bool taking) {
        int r;

        if (!f)
                return -EINVAL;
        if (taking && (!f->handlers.limit || !f->handlers.grant))
                return -EINVAL;
        if (f->subscribe == taking)
                return 0;
        f->subscribe = taking;
        if (f->conn != CONN_CONNECTED)
                return 0;  /* said on connecting */
        r = taking ? mosquitto_subscribe(f->mosq, NULL, f->filter, 1) : mosquitto_unsubscribe(f->mosq, NULL, f->filter);
        update_events(f);
        return mosq_errno(r, errno);
}

void fleet_get_stats(const Fleet *f, FleetStats *ret) {
        FleetReplayStats rs;

        *ret = f->stats;
        ret->connected = f->conn == CONN_CONNECTED;
        fleet_replay_get_stats(f->replay, &rs);
        ret->replay_size = rs.size;
        ret->replay_capacity = rs.capacity;
}
