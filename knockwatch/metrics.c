/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * metrics.c — see metrics.h. Every family gets its "# HELP" and "# TYPE" lines; a
 * counter's name ends in _total; label values are outside text only in knockwatch_info
 * (the source, e.g. a file's path, and the table), and every label value is written
 * through escape_into() (printable ASCII, other bytes as \xNN) and then with '\' and '"'
 * escaped as the format wants, so no byte can end a label early or break a line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "metrics.h"
#include "string-util.h"

typedef struct Out {
        char *buf;
        size_t size, len;
        int error;
} Out;

static void out_printf(Out *o, const char *format, ...) _printf_(2, 3);
static void out_printf(Out *o, const char *format, ...) {
        va_list ap;
        int n;

        if (o->error < 0)
                return;
        va_start(ap, format);
        n = vsnprintf(o->buf + o->len, o->size - o->len, format, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= o->size - o->len) {
                o->error = -ENOBUFS;
                return;
        }
        o->len += (size_t) n;
}

/* A label value: escape_into() first (bounded, printable ASCII only), then the format's
 * own escapes for '\' and '"' (a newline cannot be left after escape_into). */
static void out_label_value(Out *o, const char *s) {
        char escaped[256];

        (void) escape_into(s, strlen(s), 200, 0, escaped, sizeof(escaped));
        for (const char *p = escaped; *p; p++)
                out_printf(o, "%s", *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : (char[]) { *p, 0 });
}

static void family(Out *o, const char *name, const char *type, const char *help) {
        out_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(Out *o, const char *name, uint64_t v) {
        out_printf(o, "%s %llu\n", name, (unsigned long long) v);
}

static void sample_label(Out *o, const char *name, const char *label, const char *value, uint64_t v) {
        out_printf(o, "%s{%s=\"", name, label);
        out_label_value(o, value);
        out_printf(o, "\"} %llu\n", (unsigned long long) v);
}

typedef struct Plain {
        const char *name, *type, *help;
        size_t offset;
} Plain;

#define COUNTER(n, field, h) { "knockwatch_" n, "counter", h, offsetof(DaemonStatus, field) }
#define GAUGE(n, field, h) { "knockwatch_" n, "gauge", h, offsetof(DaemonStatus, field) }

static const Plain plain_before[] = {
        COUNTER("lines_total", lines, "PORT_KNOCKING lines read from the kernel log."),
        COUNTER("knock_lines_total", knocks, "Lines read that were knocks."),
        COUNTER("not_knock_lines_total", not_knocks,
                "Well-formed lines that were not knocks (a SYN-ACK, an IP fragment, ...)."),
};

static const Plain plain_after[] = {
        COUNTER("records_lost_total", lost, "Kernel log records lost before knockwatch read them."),
        COUNTER("nft_errors_total", errors, "nftables operations that failed."),
        GAUGE("sources_in_progress", in_progress, "Sources part-way through a sequence."),
        GAUGE("sources_capacity", capacity,
              "Sources that can be tracked part-way through a sequence (--capacity)."),
        COUNTER("evictions_total", evictions,
                "Sources dropped part-way through a sequence to make room for another."),
        GAUGE("doors", doors, "Doors read from the ruleset."),
        COUNTER("hook_runs_total", hook_runs, "Grant and revoke hooks started."),
        COUNTER("hook_failures_total", hook_failures,
                "Hooks that could not start, or ended with a non-zero status or by a signal."),
        COUNTER("hook_timeouts_total", hook_timeouts, "Hooks killed at their time limit."),
        COUNTER("hook_drops_total", hook_drops, "Hooks not run because too many were running."),
};

/* Only with --fleet (knockwatch(8), FLEETS). */
static const Plain plain_fleet[] = {
        GAUGE("fleet_connected", fleet_connected, "1 while connected to the fleet's broker, else 0."),
        COUNTER("fleet_connects_total", fleet_connects, "Connections to the broker it accepted."),
        COUNTER("fleet_disconnects_total", fleet_disconnects, "Connections to the broker lost."),
        COUNTER("fleet_connect_failures_total", fleet_connect_failures,
                "Attempts to connect to the broker that failed."),
        COUNTER("fleet_published_total", fleet_published, "Grants, refreshes and revokes published."),
        COUNTER("fleet_acked_total", fleet_acked, "Published messages the broker acknowledged."),
        GAUGE("fleet_queued", fleet_queued, "Published messages not yet acknowledged."),
        COUNTER("fleet_dropped_total", fleet_dropped,
                "Messages not published: too many waited for the broker already."),
        COUNTER("fleet_refreshes_held_total", fleet_refreshes_held,
                "Refreshes not published: they moved the hosts' expiry on by less than a tenth of the timeout."),
        COUNTER("fleet_received_total", fleet_received, "Messages that arrived from the broker."),
        COUNTER("fleet_accepted_total", fleet_accepted, "Messages that arrived, verified and applied."),
        COUNTER("fleet_own_total", fleet_own, "This host's own messages back from the broker (ignored)."),
        COUNTER("fleet_subscribe_refusals_total", fleet_subscribe_refused,
                "Subscriptions the broker refused (its ACL): nothing is taken from the fleet then."),
};

static void plain(Out *o, const DaemonStatus *s, const Plain *p) {
        family(o, p->name, p->type, p->help);
        sample(o, p->name, *(const uint64_t *) (const void *) ((const char *) s + p->offset));
}

typedef struct PerDoor {
        const char *name, *type, *help;
        int counter;   /* DoorCounter, or -1 for live_grants */
} PerDoor;

static const PerDoor per_door[] = {
        { "knockwatch_knocks_total", "counter", "Knocks on one of the door's steps.", DOOR_COUNTER_KNOCKS },
        { "knockwatch_sequences_completed_total", "counter",
          "Opening and closing sequences of the door completed.", DOOR_COUNTER_SEQUENCES },
        { "knockwatch_grants_total", "counter", "New grants of the door.", DOOR_COUNTER_GRANTS },
        { "knockwatch_refreshes_total", "counter",
          "Grants of the door restarted by a repeated sequence.", DOOR_COUNTER_REFRESHES },
        { "knockwatch_revokes_total", "counter", "Grants of the door revoked by its closing sequence.",
          DOOR_COUNTER_REVOKES },
        { "knockwatch_expiries_total", "counter", "Grants of the door that expired.", DOOR_COUNTER_EXPIRIES },
        { "knockwatch_replays_total", "counter", "Windows of a rotating door completed too late "
          "(the first knock outside the window's steps), which opened nothing.", DOOR_COUNTER_REPLAYS },
        { "knockwatch_live_grants", "gauge", "Grants of the door live now.", -1 },
};

int metrics_format(const DaemonStatus *s, char *buf, size_t size) {
        Out o = { .buf = buf, .size = size };
        size_t n_door = MIN(s->n_door, (size_t) STATUS_DOORS_MAX);

        if (size == 0)
                return -ENOBUFS;
        buf[0] = 0;

        family(&o, "knockwatch_info", "gauge", "The daemon's version, log source and table (always 1).");
        out_printf(&o, "knockwatch_info{version=\"");
        out_label_value(&o, PACKAGE_VERSION);
        out_printf(&o, "\",source=\"");
        out_label_value(&o, s->source);
        out_printf(&o, "\",table=\"");
        out_label_value(&o, s->table);
        out_printf(&o, "\"} 1\n");
        family(&o, "knockwatch_start_time_seconds", "gauge", "When the daemon started, in seconds since the epoch.");
        out_printf(&o, "knockwatch_start_time_seconds %llu.%06llu\n",
                   (unsigned long long) (s->started_realtime / USEC_PER_SEC),
                   (unsigned long long) (s->started_realtime % USEC_PER_SEC));

        for (size_t i = 0; i < ELEMENTSOF(plain_before); i++)
                plain(&o, s, &plain_before[i]);
        family(&o, "knockwatch_rejected_lines_total", "counter",
               "PORT_KNOCKING lines rejected, by the class of the reason.");
        for (int r = 0; r < _REJECT_REASON_MAX; r++)
                sample_label(&o, "knockwatch_rejected_lines_total", "reason", reject_reason_to_string(r),
                             s->rejected_by[r]);

        for (size_t m = 0; n_door > 0 && m < ELEMENTSOF(per_door); m++) {
                family(&o, per_door[m].name, per_door[m].type, per_door[m].help);
                for (size_t i = 0; i < n_door; i++) {
                        const DoorStatus *d = &s->door[i];

                        sample_label(&o, per_door[m].name, "door", d->name,
                                     per_door[m].counter < 0 ? d->live_grants : d->counter[per_door[m].counter]);
                }
        }

        for (size_t i = 0; i < ELEMENTSOF(plain_after); i++)
                plain(&o, s, &plain_after[i]);

        if (s->fleet_broker[0]) {
                for (size_t i = 0; i < ELEMENTSOF(plain_fleet); i++)
                        plain(&o, s, &plain_fleet[i]);
                family(&o, "knockwatch_fleet_rejected_total", "counter",
                       "Messages from the broker refused, by reason.");
                for (int r = 0; r < _FLEET_REJECT_MAX; r++)
                        sample_label(&o, "knockwatch_fleet_rejected_total", "reason",
                                     fleet_reject_to_string((FleetReject) r), s->fleet_rejected[r]);
                sample_label(&o, "knockwatch_fleet_rejected_total", "reason", "other", s->fleet_rejected_other);
        }
        return o.error < 0 ? o.error : (int) o.len;
}

bool metrics_path_valid(const char *path) {
        const char *name;
        size_t n;

        if (!path || path[0] != '/' || strlen(path) >= 4096)
                return false;
        for (const char *p = path; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return false;
        name = strrchr(path, '/') + 1;
        n = strlen(name);
        return n > 0 && n <= 64 && name[0] != '.';
}
