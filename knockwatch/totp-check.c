/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * totp-check.c — see totp-check.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>

#include "fd-util.h"
#include "keyfile.h"
#include "string-util.h"
#include "time-util.h"
#include "totp-check.h"

/* A line of /proc/net/tcp6 is about 150 characters; anything longer is not one. */
#define PROC_LINE_MAX 512
/* The listening ports named one by one in a message; the rest are counted. */
#define PORTS_NAMED_MAX 8

/* The bound local ports of one /proc/net file: TCP sockets in LISTEN (state 0A), every UDP
 * socket. Marks bound[port]. A file that cannot be read (no IPv6) marks nothing. */
static void proc_net_ports(const char *path, bool tcp, bool bound[static 65536]) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char line[PROC_LINE_MAX];
        bool header = true;

        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                unsigned port, state;

                if (!strchr(line, '\n')) {
                        int c;

                        /* Not a line of the format: skip the rest of it. */
                        while ((c = fgetc(f)) != EOF && c != '\n')
                                ;
                        continue;
                }
                if (header) {
                        header = false;
                        continue;
                }
                /* "  sl: LOCAL_ADDR:PORT REM_ADDR:PORT ST ..." in hex */
                if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", &port, &state) != 2 ||
                    port == 0 || port > 65535)
                        continue;
                if (!tcp || state == 0x0A)
                        bound[port] = true;
        }
}

static bool clock_unsynchronised(void) {
        struct timex tx = {};
        int state = adjtimex(&tx);

        return state == TIME_ERROR || (state >= 0 && (tx.status & STA_UNSYNC));
}

/* The ports of door's windows live at realtime now (all keys, none used up). */
static size_t live_ports(const Door *door, const TotpKey *keys, size_t n_keys, usec_t now, TotpPort **ret) {
        _cleanup_free_ TotpWindow *windows = NULL;
        _cleanup_free_ TotpPort *ports = NULL;
        size_t max = n_keys * TOTP_WINDOWS_PER_KEY;
        int m;

        *ret = NULL;
        windows = calloc(max + 1, sizeof(TotpWindow));
        ports = calloc(max * TOTP_COUNT_MAX + 1, sizeof(TotpPort));
        if (!windows || !ports)
                return 0;
        m = totp_windows_live(door->spec.name, &door->spec.totp, door->spec.window, keys, n_keys, NULL, now,
                              windows, max);
        if (m <= 0)
                return 0;
        size_t n = totp_ports_collect(windows, (size_t) m, ports, max * TOTP_COUNT_MAX);
        *ret = TAKE_PTR(ports);
        return n;
}

static bool ports_have(const TotpPort *ports, size_t n, uint8_t proto, unsigned port) {
        for (size_t i = 0; i < n; i++)
                if (ports[i].proto == proto && ports[i].port == port)
                        return true;
        return false;
}

/* Sockets bound to ports of door's range (bound: of its protocol). */
static void check_bound(const Door *door, const bool bound[static 65536], const TotpPort *live, size_t n_live,
                        door_problem_fn report, void *userdata) {
        const TotpParams *p = &door->spec.totp;
        const char *proto = p->proto == KNOCK_PROTO_UDP ? "udp" : "tcp";
        char named[PORTS_NAMED_MAX * 8] = "";
        size_t len = 0, count = 0;

        for (unsigned port = p->lo; port <= p->hi; port++) {
                if (!bound[port])
                        continue;
                if (ports_have(live, n_live, p->proto, port))
                        door_report(report, userdata, DOOR_WARNING,
                            "door \"%s\": %s:%u, a port of a window live "
                            "now, is %s on this host: while the window is live, the ruleset drops new "
                            "connections to it", door->spec.name, proto, port,
                            p->proto == KNOCK_PROTO_UDP ? "a bound UDP socket" : "a listening socket");
                if (count++ < PORTS_NAMED_MAX && len < sizeof(named))
                        len += (size_t) snprintf(named + len, sizeof(named) - len, "%s%u", len ? ", " : "", port);
        }
        if (count > 0)
                door_report(report, userdata, DOOR_WARNING,
                    "door \"%s\": %zu %s port(s) of its range %u-%u %s "
                    "in use on this host (%s%s); each is in a live window now and then, and then new "
                    "connections to it are dropped: choose a range without them", door->spec.name, count,
                    proto, p->lo, p->hi, count > 1 ? "are" : "is", named, count > PORTS_NAMED_MAX ? ", …" : "");
}

void totp_check_host(const Door *doors, size_t n, const char *key_dir, const char *credentials_dir,
                     door_problem_fn report, void *userdata) {
        _cleanup_free_ bool *tcp = NULL, *udp = NULL;
        usec_t now = now_usec(CLOCK_REALTIME);
        bool any = false;

        for (size_t i = 0; i < n && !any; i++)
                any = doors[i].spec.has_sequence && doors[i].spec.is_totp;
        if (!any)
                return;

        if (clock_unsynchronised())
                door_report(report, userdata, DOOR_WARNING,
                    "the system clock is not synchronised (adjtimex() "
                    "reports STA_UNSYNC): a rotating door's windows are steps of the wall clock, which "
                    "the clients count too; run an NTP client (systemd-timesyncd, chrony)");

        tcp = calloc(65536, sizeof(bool));
        udp = calloc(65536, sizeof(bool));
        if (tcp && udp) {
                proc_net_ports("/proc/net/tcp", true, tcp);
                proc_net_ports("/proc/net/tcp6", true, tcp);
                proc_net_ports("/proc/net/udp", false, udp);
                proc_net_ports("/proc/net/udp6", false, udp);
        }

        for (size_t i = 0; i < n; i++) {
                const Door *door = &doors[i];
                _cleanup_free_ char *error = NULL;
                _cleanup_free_ TotpPort *live = NULL;
                TotpKey *keys = NULL;
                size_t n_keys = 0, n_live;
                int r;

                if (!door->spec.has_sequence || !door->spec.is_totp)
                        continue;
                r = totp_keys_load(door->spec.totp_key, key_dir, credentials_dir, &keys, &n_keys, NULL, &error);
                if (r < 0) {
                        door_report(report, userdata, DOOR_ERROR,
                            "door \"%s\": %s; it opens for nobody until its "
                            "keys can be read", door->spec.name, error ?: strerror(-r));
                        continue;
                }
                n_live = live_ports(door, keys, n_keys, now, &live);
                keys = totp_keys_free(keys, n_keys);
                if (tcp && udp)
                        check_bound(door, door->spec.totp.proto == KNOCK_PROTO_UDP ? udp : tcp, live, n_live,
                                    report, userdata);
        }
}

void totp_describe_keys(const Door *door, const char *key_dir, const char *credentials_dir, char *buf,
                        size_t size) {
        _cleanup_free_ char *error = NULL;
        const char *source = NULL;
        TotpKey *keys = NULL;
        size_t n = 0, len;
        int r;

        r = totp_keys_load(door->spec.totp_key, key_dir, credentials_dir, &keys, &n, &source, &error);
        if (r < 0) {
                (void) snprintf(buf, size, "no keys: %s", error ?: strerror(-r));
                return;
        }
        len = (size_t) snprintf(buf, size, "%zu key(s) from the %s (%s):", n, source,
                                streq(source, "credentials") ? (credentials_dir ?: "") : (key_dir ?: KEY_DIR_DEFAULT));
        for (size_t i = 0; i < n && len < size; i++)
                len += (size_t) snprintf(buf + len, size - len, "%s %s", i > 0 ? "," : "",
                                         keys[i].user[0] ? keys[i].user : "the door's own");
        (void) totp_keys_free(keys, n);
}
