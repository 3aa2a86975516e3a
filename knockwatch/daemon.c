/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon.c — see daemon.h.
 *
 * One sd-event loop, nothing that polls: the source's fd, the nftables notification
 * socket and signals wake it; two one-shot timers exist only while there is work for
 * them (the next grant expiry to log, the next status-file write).
 *
 * A loop turn: the source hands over every line that is waiting; each is parsed and
 * fed to the detector; completed sequences queue nft operations; at the end of the
 * turn the batch is committed and every result is logged, audited and recorded.
 *
 * Ruleset changes: notifications for our table mark it dirty; at the end of the
 * transaction (NEWGEN) the doors are read again, and every grant still live that the
 * kernel lost (a reload that flushed the table) is put back with the time it has left.
 * A vanished table closes every door until it is back; the daemon keeps running.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "audit.h"
#include "daemon.h"
#include "detector.h"
#include "door.h"
#include "duration.h"
#include "fleet.h"
#include "grants.h"
#include "hooks.h"
#include "log.h"
#include "logline.h"
#include "logrules.h"
#include "ruleset.h"
#include "status.h"
#include "sysctl-util.h"
#include "string-util.h"
#include "time-util.h"
#include "totp-state.h"

/* How often at most a summary of rejected lines is logged (each one is, at debug level). */
#define REJECT_WARN_INTERVAL (60 * USEC_PER_SEC)
/* Grant expiries closer together than this are logged by one timer wake-up. */
#define EXPIRY_ACCURACY (250 * USEC_PER_MSEC)
/* How often at most net.netfilter.nf_log_all_netns is read again while lines arrive. */
#define NETNS_CHECK_INTERVAL USEC_PER_SEC
/* How often at most a refused window of a rotating door is logged above debug level. */
#define REPLAY_WARN_INTERVAL (60 * USEC_PER_SEC)
/* The live windows change on step boundaries; their ports are in totp_ports a step early.
 * The wake-up is on the monotonic clock, at most WINDOWS_CHECK_MAX away, and the realtime
 * clock is read then: a clock set back or forward is followed within that time. After a
 * failure (no memory, totp_ports refusing its ports) the windows are tried again after
 * WINDOWS_RETRY. */
#define WINDOWS_ACCURACY (10 * USEC_PER_MSEC)
#define WINDOWS_CHECK_MAX (5 * USEC_PER_SEC)
#define WINDOWS_RETRY USEC_PER_SEC

typedef enum OpKind {
        OP_GRANT,      /* a sequence completed */
        OP_RESTORE,    /* put back after a reload, with the time left */
        OP_REVOKE,     /* a closing sequence completed */
        OP_TOTP_PORT,  /* a port of a live window of a rotating door, into totp_ports */
        OP_TOTP_PORT_REMOVE, /* … out of it: no live window needs it any more */
} OpKind;

typedef struct PendingOp {
        OpKind kind;
        char door[DOOR_NAME_MAX + 1];
        char set[DOOR_SET_NAME_MAX];
        KnockAddr addr;      /* masked to prefix: what the set's element is */
        unsigned prefix;     /* the set's prefix length (32, 128, or its "/N") */
        KnockStep step;      /* OP_TOTP_PORT*: the port, instead of addr */
        const char *reason;  /* for the audit record: "sequence", "totp" (static) */
        uint64_t timeout_ms;
        GrantSetId set_id;   /* of the set, as the doors were read */
        usec_t read_time;    /* when the line that completed it was read; 0 if none */
        usec_t event_time;   /* when the kernel logged the last knock; 0 if none */
        bool from_fleet;     /* a verified fleet message (fleet.h), never published again */
} PendingOp;

typedef struct Daemon {
        DaemonOptions options;
        char table_label[DOOR_SET_NAME_MAX + 8];

        sd_event *event;
        Nft *nft;
        NftMonitor *monitor;
        sd_event_source *monitor_source;
        Source *source;
        Detector *detector;
        Grants *grants;
        sd_event_source *expiry_timer;
        usec_t expiry_armed;           /* when expiry_timer fires; USEC_INFINITY if off */
        StatusWriter *status_writer;
        Hooks *hooks;                  /* NULL without --exec-on-grant/--exec-on-revoke */
        Fleet *fleet;                  /* NULL without --fleet */
        usec_t fleet_reject_warned;
        uint64_t fleet_rejected_unwarned;
        uint64_t fleet_refreshes_held;  /* refreshes not published: too soon after the last */

        Door *doors;
        size_t n_doors;
        TotpState *totp;               /* the rotating doors' keys and last successes */
        TotpRef *refs;                 /* what each door of the detector stands for: the
                                        * doors, then the live windows of rotating doors */
        size_t n_refs;
        DetectorAction *actions;       /* room for 2 per door of the detector */
        size_t n_actions;
        sd_event_source *windows_timer; /* CLOCK_MONOTONIC: the next look at the live windows */
        usec_t windows_at;             /* CLOCK_REALTIME when they were worked out; 0: redo them */
        usec_t windows_next;           /* … and when they change next (USEC_INFINITY: never) */
        bool ports_error_logged;       /* until an add to totp_ports works again */
        TotpPort *ports_logged;        /* what totp_ports was last given, sorted, with expiries */
        size_t n_ports_logged;
        bool ports_failed;             /* an add to totp_ports failed: give all of them again */
        bool ports_unusable;           /* … because it is missing or of another type: not before
                                        * the ruleset changes */
        bool windows_cut_warned;
        bool windows_used;             /* a window was used up: work them out after this line */
        usec_t replay_warned;
        bool table_missing;
        bool ruleset_dirty;
        uint64_t table_handle;         /* the table's, as last read (a new table, a new one) */
        NftRules rules;                /* the table's log rules and guards, as last read */
        LogTrust trust;                /* which prefixes count; whether the log may grant */
        bool trust_known;
        int log_all_netns;             /* the sysctl as last read: 0 or 1 (also for errors) */
        usec_t netns_checked;          /* CLOCK_MONOTONIC of the last read */
        bool netns_error_logged;
        bool trust_problem_logged;

        PendingOp pending[NFT_BATCH_MAX];
        size_t n_pending;

        DaemonStatus status;           /* the counters; status_fill() adds the rest */
        bool grants_full_warned;
        usec_t reject_warned;
        uint64_t rejected_unwarned;
        const char *last_reject_reason;
} Daemon;

static void daemon_fleet_doors(Daemon *d);

static void daemon_free(Daemon *d) {
        d->fleet = fleet_free(d->fleet);
        sd_event_source_disable_unref(d->monitor_source);
        sd_event_source_disable_unref(d->expiry_timer);
        sd_event_source_disable_unref(d->windows_timer);
        /* The source first: freeing it saves its position, which may report a failure
         * through on_source_notice(), which tells the status writer. */
        source_free(d->source);
        d->source = NULL;
        status_writer_free(d->status_writer);
        hooks_free(d->hooks);
        nft_monitor_free(d->monitor);
        nft_free(d->nft);
        detector_free(d->detector);
        grants_free(d->grants);
        free(d->doors);
        free(d->actions);
        free(d->refs);
        free(d->ports_logged);
        totp_state_free(d->totp);
        nft_rules_done(&d->rules);
        sd_event_unref(d->event);
}

static void set_label(const Daemon *d, const char *set, char *buf, size_t size) {
        (void) snprintf(buf, size, "%s %s", d->table_label, set);
}

/* ---- status file ---------------------------------------------------------------- */

/* The counters as the status file shows them (StatusWriterOps.fill). */
static void status_fill(DaemonStatus *ret, void *userdata) {
        Daemon *d = userdata;
        DetectorStats ds;
        SourceStats ss = {};
        HooksStats hs;

        detector_get_stats(d->detector, &ds);
        if (d->source) {
                source_get_stats(d->source, &ss);
                (void) snprintf(d->status.source, sizeof(d->status.source), "%s",
                                source_describe(d->source));
        }
        d->status.updated_realtime = now_usec(CLOCK_REALTIME);
        d->status.doors = d->n_doors;
        d->status.lost = ss.lost;
        d->status.stale = ss.stale;
        d->status.live_grants = grants_size(d->grants);
        d->status.in_progress = ds.in_progress;
        d->status.capacity = ds.capacity;
        d->status.evictions = ds.evictions;
        status_count_live(&d->status, d->grants);
        hooks_get_stats(d->hooks, &hs);
        d->status.hook_runs = hs.runs;
        d->status.hook_failures = hs.failures;
        d->status.hook_timeouts = hs.timeouts;
        d->status.hook_drops = hs.drops;
        if (d->fleet) {
                FleetStats fs;

                fleet_get_stats(d->fleet, &fs);
                (void) snprintf(d->status.fleet_broker, sizeof(d->status.fleet_broker), "%s", fs.broker);
                (void) snprintf(d->status.fleet_name, sizeof(d->status.fleet_name), "%s", fs.fleet);
                d->status.fleet_connected = fs.connected;
                d->status.fleet_connects = fs.connects;
                d->status.fleet_disconnects = fs.disconnects;
                d->status.fleet_connect_failures = fs.connect_failures;
                d->status.fleet_published = fs.published;
                d->status.fleet_acked = fs.acked;
                d->status.fleet_dropped = fs.dropped;
                d->status.fleet_queued = fs.queued;
                d->status.fleet_received = fs.received;
                d->status.fleet_accepted = fs.accepted;
                d->status.fleet_own = fs.own;
                d->status.fleet_subscribe_refused = fs.subscribe_refused;
                d->status.fleet_refreshes_held = d->fleet_refreshes_held;
                d->status.fleet_rejected_other = fs.rejected_other;
                memcpy(d->status.fleet_rejected, fs.rejected, sizeof(fs.rejected));
        }
        *ret = d->status;
}

static void status_failed(int error, const char *dir, void *userdata) {
        log_warning_errno(error, "Cannot write the status file in %s, `knockwatch status` "
                          "will show no counters: %m", dir);
}

static void metrics_failed(int error, const char *path, void *userdata) {
        if (error < 0)
                log_warning_errno(error, "Cannot write the metrics file %s (trying again with each "
                                  "change): %m", path);
        else
                log_notice("Writing the metrics file %s again.", path);
}

/* Something counted changed: the writer writes the file soon, throttled. */
static void status_changed(Daemon *d) {
        status_writer_changed(d->status_writer);
}

/* ---- hooks ------------------------------------------------------------------------ */

static void on_hook_report(const HookReport *r, void *userdata) {
        char text[1024];
        int level;

        (void) hook_report_describe(r, text, sizeof(text), &level);
        log_full(level, "%s", text);
        status_changed(userdata);
}

/* After the change is committed and audited; never waits for the hook. */
static void run_hook(Daemon *d, HookEvent event, const KnockAddr *addr, unsigned prefix, const char *door,
                     const char *label, uint64_t timeout_ms, const char *reason) {
        (void) hooks_run(d->hooks, &(HookContext) { .event = event, .source = *addr, .prefix = prefix,
                                                    .door = door, .set = label, .timeout_ms = timeout_ms,
                                                    .reason = reason });
}

/* ---- grant expiry ----------------------------------------------------------------- */

static void expiry_arm(Daemon *d, usec_t when) {
        if (when >= d->expiry_armed)
                return;
        d->expiry_armed = when;
        (void) sd_event_source_set_time(d->expiry_timer, when);
        (void) sd_event_source_set_enabled(d->expiry_timer, SD_EVENT_ONESHOT);
}

static void on_grant_expired(const Grant *grant, void *userdata) {
        Daemon *d = userdata;
        const Door *door = doors_find(d->doors, d->n_doors, grant->door);
        const char *set = !door ? "?" : grant->addr.family == AF_INET ? door->set4 : door->set6;
        unsigned prefix = grant->set.prefix;   /* what was granted, whatever the set says now */
        char label[DOOR_SET_NAME_MAX * 3];

        set_label(d, set, label, sizeof(label));
        audit_log(AUDIT_REVOKE, &grant->addr, prefix, grant->door, label, 0, "expired");
        d->status.expiries++;
        status_count_door(&d->status, grant->door, DOOR_COUNTER_EXPIRIES);
        run_hook(d, HOOK_EVENT_REVOKE, &grant->addr, prefix, grant->door, label, 0, "expired");
}

static int on_expiry_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Daemon *d = userdata;

        d->expiry_armed = USEC_INFINITY;
        if (grants_expire(d->grants, now_usec(CLOCK_MONOTONIC), on_grant_expired, d) > 0)
                status_changed(d);
        expiry_arm(d, grants_next_expiry(d->grants));
        return 0;
}

/* The door's set for an address family ("" if it has none), with its id and timeout. */
static const char *door_set_of(const Daemon *d, const Door *door, int family, GrantSetId *ret_id,
                               uint64_t *ret_timeout_ms) {
        bool v4 = family == AF_INET;

        if (ret_id)
                *ret_id = (GrantSetId) { d->table_handle, v4 ? door->handle4 : door->handle6,
                                         v4 ? door->prefix4 : door->prefix6 };
        if (ret_timeout_ms)
                *ret_timeout_ms = v4 ? door->timeout4_ms : door->timeout6_ms;
        return v4 ? door->set4 : door->set6;
}

static void grant_record(Daemon *d, const char *door, const KnockAddr *addr, uint64_t timeout_ms,
                         GrantSetId set_id, int *ret_new) {
        usec_t expires = now_usec(CLOCK_MONOTONIC) + timeout_ms * USEC_PER_MSEC;
        int r;

        r = grants_put(d->grants, door, addr, expires, timeout_ms, set_id);
        if (r == -ENOSPC && !d->grants_full_warned) {
                log_warning("The record of live grants is full (%zu); the expiry of further "
                            "grants will not be logged.", grants_max(d->grants));
                d->grants_full_warned = true;
        }
        if (r >= 0)
                expiry_arm(d, expires);
        if (ret_new)
                *ret_new = r;
}

/* ---- the fleet (fleet.h) ----------------------------------------------------------- */

/* After a committed grant, refresh or revoke of a door of ours that publishes: tell the
 * fleet, with the absolute expiry the set's timeout gives (a revoke: when the revoked grant
 * would have ended). Never a longer grant's time (knockwatch grant --timeout=1h stays on
 * this host, and the hosts would refuse it as too far). Each message takes a place in
 * every host's replay cache until it expires, so a sequence knocked again and again is
 * told the fleet only when it moves the hosts' expiry on by a tenth of the timeout. */
static void fleet_tell(Daemon *d, const PendingOp *op, FleetEvent event) {
        usec_t now = now_usec(CLOCK_MONOTONIC), until;
        const Door *door;
        const Grant *g;
        uint64_t ms = 0;
        int r;

        if (!d->fleet || op->from_fleet)
                return;
        door = doors_find(d->doors, d->n_doors, op->door);
        if (!door || door->spec.fleet != DOOR_FLEET_PUBLISH ||
            !door_set_of(d, door, op->addr.family, NULL, &ms)[0] || ms == 0)
                return;
        until = now + ms * USEC_PER_MSEC;
        g = grants_get(d->grants, op->door, &op->addr);
        if (event == FLEET_EVENT_REFRESH && g && g->published > now &&
            until < g->published + ms * USEC_PER_MSEC / 10) {
                d->fleet_refreshes_held++;
                return;
        }
        r = fleet_publish(d->fleet, event, op->door, &op->addr, op->prefix,
                          now_usec(CLOCK_REALTIME) / USEC_PER_MSEC + ms);
        if (r < 0) {
                log_warning_errno(r, "Fleet: cannot publish the %s of %s: %m", fleet_event_to_string(event), op->door);
                return;
        }
        if (event != FLEET_EVENT_REVOKE)
                (void) grants_set_published(d->grants, op->door, &op->addr, until);
}

/* ---- the nft batch ---------------------------------------------------------------- */

static const char *errno_hint(int error) {
        switch (-error) {
        case ENOENT:
                return " (the set is gone; is the ruleset loaded?)";
        case EINVAL:
                return " (the set must be ipv4_addr/ipv6_addr with \"flags timeout\")";
        case ENFILE:
                return " (the set is full; raise its \"size\")";
        case EPERM:
                return " (knockwatch needs CAP_NET_ADMIN)";
        case EBUSY:
                return " (the set is constant)";
        default:
                return "";
        }
}

static void windows_arm(Daemon *d, usec_t delay) {
        (void) sd_event_source_set_time_relative(d->windows_timer, delay);
        (void) sd_event_source_set_enabled(d->windows_timer, SD_EVENT_ONESHOT);
}

/* The result of an add to totp_ports: an error means a rotating door's knocks on that port
 * are not logged, so they cannot open it. A removal that fails leaves the port logged until
 * it expires, which opens nothing: said at debug level only (gone already is no error). */
static void on_port_result(Daemon *d, const PendingOp *op, const char *label, int error) {
        char step[KNOCK_STEP_STRLEN];

        if (op->kind == OP_TOTP_PORT_REMOVE) {
                if (error < 0 && error != -ENOENT)
                        log_debug_errno(error, "Could not remove %s from set %s: %m",
                                        knock_step_format(&op->step, step), label);
                return;
        }
        if (error >= 0) {
                if (d->ports_error_logged)
                        log_notice("Adding ports to set %s works again.", label);
                d->ports_error_logged = false;
                return;
        }
        d->status.errors++;
        /* Each port would fail alike, at each change: said once, until it works again. */
        if (!d->ports_error_logged) {
                d->ports_error_logged = true;
                log_error_errno(error, "Could not add %s to set %s: %m%s; the rotating doors' knocks "
                                "on it are not logged and cannot open them.",
                                knock_step_format(&op->step, step), label,
                                error == -ENOENT ? " (the table needs \"set " TOTP_PORTS_SET " { type "
                                "inet_proto . inet_service; flags timeout; }\")" :
                                error == -EINVAL ? " (it must be \"type inet_proto . inet_service; "
                                "flags timeout\")" : errno_hint(error));
        }
        /* Given again, all of them: soon, as a window may be live already — or, when the set
         * is missing or not of its type, once the ruleset changes (a retry every second would
         * fail alike, for every port of every key). */
        d->ports_failed = true;
        if (error == -ENOENT || error == -EINVAL)
                d->ports_unusable = true;
        else
                windows_arm(d, WINDOWS_RETRY);
}

static void on_commit_result(uintptr_t cookie, int error, void *userdata) {
        Daemon *d = userdata;
        PendingOp *op = &d->pending[cookie];
        char addr[KNOCK_PREFIX_STRLEN], label[DOOR_SET_NAME_MAX * 3];
        usec_t now = now_usec(CLOCK_MONOTONIC);
        int is_new = 0;

        set_label(d, op->set, label, sizeof(label));
        status_changed(d);

        if (op->kind == OP_TOTP_PORT || op->kind == OP_TOTP_PORT_REMOVE) {
                on_port_result(d, op, label, error);
                return;
        }
        (void) knock_prefix_format(&op->addr, op->prefix, addr);
        if (error < 0) {
                if (op->kind == OP_REVOKE && error == -ENOENT) {
                        log_info("%s completed the closing sequence of %s, but held no grant.",
                                 addr, op->door);
                        (void) grants_remove(d->grants, op->door, &op->addr, NULL);
                        return;
                }
                d->status.errors++;
                log_error_errno(error, "Could not %s %s %s set %s: %m%s",
                                op->kind == OP_REVOKE ? "remove" : "add", addr,
                                op->kind == OP_REVOKE ? "from" : "to", label,
                                errno_hint(error));
                return;
        }

        switch (op->kind) {
        case OP_GRANT:
        case OP_RESTORE:
                grant_record(d, op->door, &op->addr, op->timeout_ms, op->set_id, &is_new);
                if (op->kind == OP_RESTORE)
                        audit_log(AUDIT_GRANT, &op->addr, op->prefix, op->door, label, op->timeout_ms,
                                  "restored");
                else if (is_new == 0) {
                        d->status.refreshes++;
                        status_count_door(&d->status, op->door, DOOR_COUNTER_REFRESHES);
                        audit_log(AUDIT_REFRESH, &op->addr, op->prefix, op->door, label, op->timeout_ms,
                                  op->reason);
                        run_hook(d, HOOK_EVENT_REFRESH, &op->addr, op->prefix, op->door, label,
                                 op->timeout_ms, op->reason);
                        fleet_tell(d, op, FLEET_EVENT_REFRESH);
                } else {
                        d->status.grants++;
                        status_count_door(&d->status, op->door, DOOR_COUNTER_GRANTS);
                        audit_log(AUDIT_GRANT, &op->addr, op->prefix, op->door, label, op->timeout_ms,
                                  op->reason);
                        run_hook(d, HOOK_EVENT_GRANT, &op->addr, op->prefix, op->door, label,
                                 op->timeout_ms, op->reason);
                        fleet_tell(d, op, FLEET_EVENT_GRANT);
                }
                break;
        case OP_TOTP_PORT:
        case OP_TOTP_PORT_REMOVE:
                break;
        case OP_REVOKE:
                (void) grants_remove(d->grants, op->door, &op->addr, NULL);
                d->status.revokes++;
                status_count_door(&d->status, op->door, DOOR_COUNTER_REVOKES);
                audit_log(AUDIT_REVOKE, &op->addr, op->prefix, op->door, label, 0,
                          op->from_fleet ? "fleet" : "closing-sequence");
                run_hook(d, HOOK_EVENT_REVOKE, &op->addr, op->prefix, op->door, label, 0,
                         op->from_fleet ? "fleet" : "closing-sequence");
                fleet_tell(d, op, FLEET_EVENT_REVOKE);
                break;
        }
        if (op->from_fleet)
                log_debug("fleet latency: %s %s: committed at %llu", addr, op->door, (unsigned long long) now);
        /* For bench/bench-latency: all times CLOCK_MONOTONIC. */
        if (op->read_time > 0)
                log_debug("latency: %s %s: logged at %llu, read at %llu, committed at %llu: "
                          "%llu us from read to commit", addr, op->door,
                          (unsigned long long) op->event_time, (unsigned long long) op->read_time,
                          (unsigned long long) now, (unsigned long long) (now - op->read_time));
}

static void daemon_commit(Daemon *d) {
        bool from_log = false;
        int r;

        if (d->n_pending == 0)
                return;
        /* The position that covers the lines behind these changes is saved before they are
         * made: a crash in between then loses them (the knock is to be made again) rather
         * than makes them twice after the restart. */
        for (size_t i = 0; i < d->n_pending && !from_log; i++)
                from_log = d->pending[i].kind == OP_GRANT || d->pending[i].kind == OP_REVOKE;
        if (from_log && d->source)
                (void) source_save_position(d->source);
        r = nft_commit(d->nft, on_commit_result, d);
        if (r < 0)
                log_error_errno(r, "Sending the nftables batch failed: %m");
        d->n_pending = 0;
}

/* Queue op (kind, door, set, addr, timeout_ms, set_id and the times filled in). */
static int daemon_queue(Daemon *d, const PendingOp *op) {
        int r;

        if (d->n_pending >= NFT_BATCH_MAX)
                daemon_commit(d);
        if (op->kind == OP_REVOKE)
                r = nft_queue_delete(d->nft, &d->options.table, op->set, &op->addr, d->n_pending);
        else if (op->kind == OP_TOTP_PORT || op->kind == OP_TOTP_PORT_REMOVE) {
                uint8_t key[NFT_KEY_MAX];
                size_t len = nft_concat_key_proto_port(op->step.proto == KNOCK_PROTO_UDP ? IPPROTO_UDP :
                                                       IPPROTO_TCP, op->step.value, key);

                r = op->kind == OP_TOTP_PORT_REMOVE ?
                        nft_queue_delete_key(d->nft, &d->options.table, op->set, key, len, d->n_pending) :
                        nft_queue_add_key(d->nft, &d->options.table, op->set, key, len, op->timeout_ms,
                                          d->n_pending);
        } else
                r = nft_queue_add(d->nft, &d->options.table, op->set, &op->addr, op->timeout_ms, d->n_pending);
        if (r < 0)
                return log_error_errno(r, "Cannot queue an nftables operation on set %s: %m", op->set);
        d->pending[d->n_pending++] = *op;
        return 0;
}

/* An operation on the door's set of addr's family; false if the door has no such set. */
static bool pending_op_init(const Daemon *d, PendingOp *op, OpKind kind, const Door *door,
                            const KnockAddr *addr) {
        uint64_t timeout_ms;
        GrantSetId id;
        const char *set = door_set_of(d, door, addr->family, &id, &timeout_ms);

        *op = (PendingOp) {
                .kind = kind,
                .addr = *addr,
                .prefix = addr->family == AF_INET ? door->prefix4 : door->prefix6,
                .reason = "sequence",
                .set_id = id,
                .timeout_ms = kind == OP_REVOKE ? 0 : timeout_ms,
        };
        /* A set with a prefix length holds the source's prefix. */
        knock_addr_mask(&op->addr, op->prefix);
        (void) snprintf(op->door, sizeof(op->door), "%s", door->spec.name);
        (void) snprintf(op->set, sizeof(op->set), "%s", set);
        return set[0] != 0;
}

/* ---- which lines count ------------------------------------------------------------ */

/* Read net.netfilter.nf_log_all_netns (as this process, in the host's namespace, sees it).
 * An error counts as 1. Returns true if the value changed. */
static bool daemon_read_netns(Daemon *d) {
        int r = sysctl_read_nf_log_all_netns(), value = r == 0 ? 0 : 1;

        if (r < 0 && !d->netns_error_logged) {
                /* It exists only in the host's network namespace: elsewhere (a container) the
                 * log holds whatever every namespace's rules write. */
                log_full_errno(r == -ENOENT ? LOG_DEBUG : LOG_WARNING, r,
                               "Cannot read %s: %m; taking it as 1 (lines from other network "
                               "namespaces may reach the kernel log).", SYSCTL_NF_LOG_ALL_NETNS);
                d->netns_error_logged = true;
        }
        if (value == d->log_all_netns)
                return false;
        d->log_all_netns = value;
        return true;
}

/* Work out again which prefixes count, from the table's log rules and the sysctl, and say
 * what changed: the prefixes at info level, a log that may grant nothing at error level. */
static void daemon_update_trust(Daemon *d, const char *why) {
        char text[1024];
        const char *problem;
        LogTrust t;

        log_trust_compute(&d->rules, d->log_all_netns, &t);
        if (memcmp(&t.prefixes, &d->trust.prefixes, sizeof(t.prefixes)) != 0 || !d->trust_known)
                log_info("Taking knocks from log lines with %u secret prefix(es)%s (%s; "
                         "net.netfilter.nf_log_all_netns=%d).", t.prefixes.n_secrets,
                         t.prefixes.plain ? " and the plain \"PORT_KNOCKING \" prefix" : "", why,
                         t.log_all_netns);
        if (t.secrets_overflow)
                log_warning("Table %s has log rules with more than %u different secrets; knockwatch "
                            "takes the first %u.", d->table_label, LOGLINE_SECRETS_MAX, LOGLINE_SECRETS_MAX);
        problem = log_trust_problem(&t, d->table_label, text, sizeof(text));
        if (problem && (!d->trust_problem_logged || log_trust_grants(&d->trust)))
                log_error("%s.", problem);
        else if (!problem && d->trust_problem_logged)
                log_notice("Knocks from the log are granted again (%s).", why);
        d->trust_problem_logged = problem != NULL;
        (void) snprintf(d->status.problem, sizeof(d->status.problem), "%s", problem ?: "");
        d->trust = t;
        d->trust_known = true;
        status_changed(d);
}

/* While lines arrive, the sysctl is read again at most once a second (no timer when idle). */
static void daemon_recheck_netns(Daemon *d, usec_t now) {
        if (d->netns_checked != 0 && now - d->netns_checked < NETNS_CHECK_INTERVAL)
                return;
        d->netns_checked = now;
        if (daemon_read_netns(d))
                daemon_update_trust(d, "net.netfilter.nf_log_all_netns changed");
}

/* ---- knocks ------------------------------------------------------------------------ */

/* A live window of a rotating door completed: may it open the door? Only if its first knock
 * fell within its steps, the key never succeeded at or above it, and that success is saved
 * (totp-state.h). A refusal is a replay, a late knock or a second source in the same window. */
static bool daemon_accept_window(Daemon *d, const Door *door, const TotpRef *ref, const DetectorAction *a) {
        _cleanup_free_ char *error = NULL;
        usec_t now_mono = now_usec(CLOCK_MONOTONIC), now_real = now_usec(CLOCK_REALTIME);
        const char *user = totp_state_user(d->totp, ref);
        char addr[KNOCK_ADDR_STRLEN], who[TOTP_NAME_MAX + 16];
        /* The first knock's kernel time, on the clock the windows are counted in. */
        usec_t first = a->start <= now_mono ? now_real - MIN(now_real, now_mono - a->start) : now_real;
        int r;

        (void) knock_addr_format(&a->src, addr);
        (void) snprintf(who, sizeof(who), user[0] ? " (user %s)" : "", user);
        r = totp_state_accept(d->totp, ref, first, &error);
        if (r > 0) {
                log_info("%s completed window %llu of door %s%s.", addr, (unsigned long long) ref->t,
                         door->spec.name, who);
                return true;
        }
        if (r < 0) {
                d->status.errors++;
                log_error_errno(r, "%s completed window %llu of door %s%s, but it is not granted: %s",
                                addr, (unsigned long long) ref->t, door->spec.name, who, error ?: "");
                return false;
        }
        status_count_door(&d->status, door->spec.name, DOOR_COUNTER_REPLAYS);
        /* Anyone who saw a sequence can send it again, from many addresses: bounded. */
        log_full(d->replay_warned != 0 && now_mono - d->replay_warned < REPLAY_WARN_INTERVAL ? LOG_DEBUG :
                 LOG_NOTICE, "%s completed window %llu of door %s%s, which opens no more (used "
                 "already, or its first knock was outside the window's steps): refused.", addr,
                 (unsigned long long) ref->t, door->spec.name, who);
        if (d->replay_warned == 0 || now_mono - d->replay_warned >= REPLAY_WARN_INTERVAL)
                d->replay_warned = now_mono;
        return false;
}

static void on_detector_action(Daemon *d, const DetectorAction *a, const KnockEvent *event,
                               usec_t read_time) {
        const TotpRef *ref = a->door < d->n_refs ? &d->refs[a->door] : NULL;
        const Door *door;
        char addr[KNOCK_ADDR_STRLEN];
        const Grant *g;
        PendingOp op;

        if (!ref || ref->door >= d->n_doors)
                return;
        door = &d->doors[ref->door];
        d->status.sequences++;
        status_count_door(&d->status, door->spec.name, DOOR_COUNTER_SEQUENCES);
        if (ref->window && a->verdict != DETECTOR_OPEN)
                return;
        if (!pending_op_init(d, &op, a->verdict == DETECTOR_OPEN ? OP_GRANT : OP_REVOKE, door, &a->src)) {
                log_warning("%s completed the %s sequence of door %s, which has no IPv%c set; "
                            "nothing changed.", knock_addr_format(&a->src, addr),
                            a->verdict == DETECTOR_OPEN ? "opening" : "closing",
                            door->spec.name, a->src.family == AF_INET ? '4' : '6');
                return;
        }
        /* The set is there: only now may a window be used up. */
        if (ref->window) {
                if (!daemon_accept_window(d, door, ref, a))
                        return;
                d->windows_used = true;
        }
        op.event_time = event->time;
        op.read_time = read_time;
        if (ref->window)
                op.reason = "totp";
        /* A refresh never shortens a grant: a longer one (knockwatch grant --timeout=1h) keeps
         * the time it has left. */
        g = op.kind == OP_GRANT ? grants_get(d->grants, door->spec.name, &op.addr) : NULL;
        if (g) {
                usec_t now = now_usec(CLOCK_MONOTONIC);

                if (g->expires > now && (g->expires - now) / USEC_PER_MSEC > op.timeout_ms)
                        op.timeout_ms = (g->expires - now) / USEC_PER_MSEC;
        }
        (void) daemon_queue(d, &op);
}

/* Log text from the wire only escaped and bounded. */
static const char *escape_line(const char *text, size_t len, char *buf, size_t size) {
        return escape_into(text, len, SIZE_MAX, 0, buf, size);
}

static void note_rejected(Daemon *d, const SourceLine *line, const char *reason) {
        usec_t now = line->read_time;
        char text[512];

        d->status.rejected++;
        d->rejected_unwarned++;
        d->last_reject_reason = reason;
        log_debug("Rejected line (%s): %s", reason, escape_line(line->text, line->len, text, sizeof(text)));
        if (d->reject_warned != 0 && now - d->reject_warned < REJECT_WARN_INTERVAL)
                return;
        log_warning("Rejected %llu PORT_KNOCKING line(s) that were not well-formed knocks "
                    "(last: %s).", (unsigned long long) d->rejected_unwarned, reason);
        d->reject_warned = now;
        d->rejected_unwarned = 0;
}

static int daemon_update_windows(Daemon *d, bool all_ports);

static int on_source_line(Source *s, const SourceLine *line, void *userdata) {
        Daemon *d = userdata;
        const char *reason = NULL;
        char addr[KNOCK_ADDR_STRLEN], step[KNOCK_STEP_STRLEN];
        KnockEvent event;
        size_t n;
        int r;

        daemon_recheck_netns(d, line->read_time);
        r = logline_parse(line->text, line->len, line->form, &d->trust.prefixes, &event, &reason);
        if (r == -ENOMSG)
                return 0; /* not a PORT_KNOCKING line at all */
        if (line->replayed) {
                /* Handled before the restart: rebuild the progress it made, act on nothing. */
                if (r > 0) {
                        event.time = line->time;
                        (void) detector_feed(d->detector, &event, now_usec(CLOCK_MONOTONIC),
                                             d->actions, d->n_actions);
                        log_debug("Replayed knock %s %s (handled before the restart)",
                                  knock_addr_format(&event.src, addr), knock_step_format(&event.step, step));
                }
                return 0;
        }
        d->status.lines++;
        status_changed(d);
        if (r < 0) {
                d->status.rejected_by[reject_reason_classify(r, reason)]++;
                note_rejected(d, line, reason);
                return 0;
        }
        if (r == 0) {
                char text[512];

                d->status.not_knocks++;
                log_debug("Not a knock (%s): %s", reason, escape_line(line->text, line->len, text, sizeof(text)));
                return 0;
        }
        d->status.knocks++;
        status_count_knock(&d->status, d->doors, d->n_doors, &event.step);
        event.time = line->time;
        log_debug("Knock %s %s", knock_addr_format(&event.src, addr), knock_step_format(&event.step, step));

        n = detector_feed(d->detector, &event, now_usec(CLOCK_MONOTONIC), d->actions, d->n_actions);
        for (size_t i = 0; i < n; i++)
                on_detector_action(d, &d->actions[i], &event, line->read_time);
        /* Not inside the loop: this replaces d->actions and d->refs. The used window leaves
         * the detector, and its ports totp_ports, before the next line. */
        if (d->windows_used) {
                d->windows_used = false;
                (void) daemon_update_windows(d, false);
        }
        return 0;
}

static void on_source_batch_end(Source *s, void *userdata) {
        daemon_commit(userdata);
}

static void on_source_notice(Source *s, int error, bool fatal, const char *message, void *userdata) {
        Daemon *d = userdata;

        if (!fatal) {
                if (error < 0)
                        log_warning_errno(error, "Source %s: %s: %m", source_describe(s), message);
                else
                        log_notice("Source %s: %s", source_describe(s), message);
                status_changed(d);
                return;
        }
        daemon_commit(d);
        if (error < 0) {
                log_error_errno(error, "Source %s failed: %s: %m", source_describe(s), message);
                (void) sd_event_exit(d->event, EXIT_FAILURE);
        } else {
                log_info("Source %s: %s.", source_describe(s), message);
                (void) sd_event_exit(d->event, EXIT_SUCCESS);
        }
}

/* ---- doors and the ruleset ----------------------------------------------------------- */

static void on_door_problem(DoorSeverity severity, const char *set, const char *message, void *userdata) {
        Daemon *d = userdata;

        if (severity == DOOR_ERROR)
                log_error("Table %s: %s%s", d->table_label, message,
                          " (this door stays closed until the ruleset is fixed)");
        else
                log_warning("Table %s: %s", d->table_label, message);
}

static usec_t doors_max_window(const Door *doors, size_t n) {
        usec_t w = 0;

        for (size_t i = 0; i < n; i++)
                w = MAX(w, doors[i].spec.window);
        return w;
}

/* ---- rotating doors ---------------------------------------------------------------- */

/* Port p in list (sorted by protocol, then port, as totp_state_ports() gives them), or NULL. */
static const TotpPort *port_find(const TotpPort *list, size_t n, const TotpPort *p) {
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const TotpPort *q = &list[mid];

                if (q->proto == p->proto && q->port == p->port)
                        return q;
                if (q->proto < p->proto || (q->proto == p->proto && q->port < p->port))
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

/* When was totp_ports last given port p until (0: not given)? */
static usec_t port_logged_until(const Daemon *d, const TotpPort *p) {
        const TotpPort *q = port_find(d->ports_logged, d->n_ports_logged, p);

        return q ? q->until : 0;
}

/* Queue the ports of the live windows into totp_ports, each expiring when no window needs
 * it any more: all of them, or only those new or needed for longer than they were given.
 * A port given before that no live window needs now (its window was used, or the clock
 * was set back) is taken out at once, unless it is about to expire anyway: a sequence
 * seen once is then not even logged when it is sent again. */
static void daemon_queue_ports(Daemon *d, usec_t now, bool all) {
        _cleanup_free_ TotpPort *copy = NULL;
        size_t n;
        const TotpPort *ports = totp_state_ports(d->totp, &n);

        if (all)
                d->ports_unusable = false;
        if (d->ports_unusable)
                return;  /* ports_failed stays: all of them once the ruleset changes */
        if (all || d->ports_failed)
                d->n_ports_logged = 0;
        d->ports_failed = false;
        for (size_t i = 0; i < d->n_ports_logged; i++) {
                const TotpPort *q = &d->ports_logged[i];
                PendingOp op = { .kind = OP_TOTP_PORT_REMOVE, .step = { q->proto, q->port } };

                if (q->until <= now + USEC_PER_SEC || port_find(ports, n, q))
                        continue;
                (void) snprintf(op.set, sizeof(op.set), "%s", TOTP_PORTS_SET);
                (void) daemon_queue(d, &op);
        }
        for (size_t i = 0; i < n; i++) {
                const TotpPort *p = &ports[i];
                PendingOp op = { .kind = OP_TOTP_PORT, .step = { p->proto, p->port } };

                if (p->until <= now || port_logged_until(d, p) >= p->until)
                        continue;
                op.timeout_ms = (p->until - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC;
                (void) snprintf(op.set, sizeof(op.set), "%s", TOTP_PORTS_SET);
                if (daemon_queue(d, &op) < 0)
                        d->ports_failed = true;
        }
        if (n > 0 && !(copy = reallocarray(NULL, n, sizeof(TotpPort)))) {
                d->ports_failed = true;
                n = 0;
        }
        if (n > 0)
                memcpy(copy, ports, n * sizeof(TotpPort));
        free(d->ports_logged);
        d->ports_logged = TAKE_PTR(copy);
        d->n_ports_logged = n;
}

/* Give the detector the doors and the windows of the rotating doors live now, keep
 * totp_ports filled with their ports, and wake up for the next change. The caller
 * commits. */
static int daemon_update_windows(Daemon *d, bool all_ports) {
        _cleanup_free_ Door *doors = NULL;
        _cleanup_free_ TotpRef *refs = NULL;
        usec_t now = now_usec(CLOCK_REALTIME);
        DetectorAction *actions = NULL;
        size_t n = 0;
        int r;

        r = totp_state_detector_doors(d->totp, d->doors, d->n_doors, now, &doors, &refs, &n);
        if (r == -E2BIG && !d->windows_cut_warned) {
                log_warning("The rotating doors have more live windows than knockwatch follows at once "
                            "(%u); the keys of the users sorted last are not recognised.",
                            (unsigned) DETECTOR_DOORS_MAX);
                d->windows_cut_warned = true;
        } else if (r < 0 && r != -E2BIG) {
                log_error_errno(r, "Cannot work out the windows of the rotating doors: %m");
                goto fail;
        }
        actions = reallocarray(NULL, 2 * n + 2, sizeof(DetectorAction));
        if (!actions) {
                r = log_oom();
                goto fail;
        }
        r = detector_set_doors(d->detector, doors, n);
        if (r < 0) {
                free(actions);
                log_error_errno(r, "Cannot give the detector its %zu door(s): %m", n);
                goto fail;
        }
        free(d->refs);
        d->refs = TAKE_PTR(refs);
        d->n_refs = n;
        free(d->actions);
        d->actions = actions;
        d->n_actions = 2 * n + 2;
        daemon_queue_ports(d, now, all_ports);

        d->windows_at = now;
        d->windows_next = totp_state_next_change(d->totp);
        if (d->ports_failed && !d->ports_unusable)
                windows_arm(d, WINDOWS_RETRY);
        else if (d->windows_next == USEC_INFINITY)
                (void) sd_event_source_set_enabled(d->windows_timer, SD_EVENT_OFF);
        else
                windows_arm(d, MIN(d->windows_next > now ? d->windows_next - now : 0, WINDOWS_CHECK_MAX));
        return 0;

fail:
        /* The detector's doors may be the old ones, whose indices mean nothing in d->doors
         * now: nothing opens until the windows can be worked out again, soon. */
        (void) detector_set_doors(d->detector, NULL, 0);
        d->n_refs = 0;
        d->windows_at = 0;
        windows_arm(d, WINDOWS_RETRY);
        return r;
}

static int on_windows_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Daemon *d = userdata;
        usec_t now = now_usec(CLOCK_REALTIME);

        if (d->n_doors == 0)
                return 0;
        /* Nothing changed yet, and the clock was not set back: look again later. */
        if (d->windows_at != 0 && (!d->ports_failed || d->ports_unusable) && now >= d->windows_at &&
            now < d->windows_next) {
                windows_arm(d, MIN(d->windows_next - now, WINDOWS_CHECK_MAX));
                return 0;
        }
        (void) daemon_update_windows(d, false);
        daemon_commit(d);
        status_changed(d);
        return 0;
}

/* ---- doors and the ruleset, continued ------------------------------------------------- */

/* Read the doors of the table. Returns 0, -ENOENT if the table is missing, or -errno. */
static int daemon_load_doors(Daemon *d) {
        _cleanup_free_ DoorSetInfo *sets = NULL;
        _cleanup_free_ Door *doors = NULL;
        _cleanup_(nft_rules_done) NftRules rules = {};
        size_t n_sets = 0, n_doors = 0;
        uint64_t table_handle;
        LogTrust trust;
        int r;

        r = nft_get_table_handle(d->nft, &d->options.table, &table_handle);
        if (r < 0)
                return r;
        r = nft_get_sets(d->nft, &d->options.table, &sets, &n_sets);
        if (r < 0)
                return r;
        r = nft_get_rules(d->nft, &d->options.table, &rules);
        if (r < 0)
                return r;
        r = doors_build(sets, n_sets, &doors, &n_doors, on_door_problem, d);
        if (r < 0)
                return r;
        /* The rotating doors' keys are read again with the doors (a new user: SIGHUP). */
        d->windows_cut_warned = false;
        r = totp_state_load(d->totp, doors, n_doors, d->options.key_dir, getenv("CREDENTIALS_DIRECTORY"),
                            d->options.state_dir, on_door_problem, d);
        if (r < 0)
                return r;
        free(d->doors);
        d->doors = TAKE_PTR(doors);
        d->n_doors = n_doors;
        d->table_handle = table_handle;
        status_set_doors(&d->status, d->doors, d->n_doors);
        /* A new table has an empty totp_ports. */
        r = daemon_update_windows(d, true);
        if (r < 0)
                return r;
        nft_rules_done(&d->rules);
        d->rules = rules;
        rules = (NftRules) {};

        /* A door step that no log rule logs never opens: say so with every reload. */
        log_trust_compute(&d->rules, d->log_all_netns, &trust);
        (void) logrules_check(&d->rules, &trust, d->doors, d->n_doors, on_door_problem, d);
        daemon_update_trust(d, "the table's log rules");
        return 0;
}

static void daemon_close_doors(Daemon *d) {
        (void) detector_set_doors(d->detector, NULL, 0);
        d->n_refs = 0;
        (void) sd_event_source_set_enabled(d->windows_timer, SD_EVENT_OFF);
        free(d->doors);
        d->doors = NULL;
        d->n_doors = 0;
        status_set_doors(&d->status, NULL, 0);
}

static GrantSetState grant_set_state(const Grant *grant, void *userdata) {
        Daemon *d = userdata;
        const Door *door = doors_find(d->doors, d->n_doors, grant->door);
        GrantSetId id;

        if (!door || !door_set_of(d, door, grant->addr.family, &id, NULL)[0])
                return GRANT_SET_GONE;
        /* A set that now grants another prefix: what was granted is not what it would hold
         * (put back, a /28 would become the /24 around it). Forgotten, not restored. */
        if (id.prefix != grant->set.prefix)
                return GRANT_SET_GONE;
        return grant_set_id_equal(id, grant->set) ? GRANT_SET_SAME : GRANT_SET_RENEWED;
}

static void grant_restore(const Grant *grant, uint64_t left_ms, void *userdata) {
        Daemon *d = userdata;
        const Door *door = doors_find(d->doors, d->n_doors, grant->door);
        PendingOp op;

        if (!door || !pending_op_init(d, &op, OP_RESTORE, door, &grant->addr))
                return;
        op.timeout_ms = left_ms;
        (void) daemon_queue(d, &op);
}

/* Bring the grants record and the kernel's sets together (grants.h says how). */
static int daemon_sync_grants(Daemon *d) {
        _cleanup_(grants_sync_freep) GrantsSync *sync = NULL;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        GrantsSyncResult result;
        int r;

        r = grants_sync_new(d->grants, &sync);
        if (r < 0)
                return r;

        for (size_t i = 0; i < d->n_doors; i++) {
                const Door *door = &d->doors[i];

                for (int family = AF_INET; family; family = family == AF_INET ? AF_INET6 : 0) {
                        _cleanup_free_ NftElement *elements = NULL;
                        GrantSetId id;
                        const char *set = door_set_of(d, door, family, &id, NULL);
                        size_t n = 0;

                        if (!set[0])
                                continue;
                        r = nft_get_elements(d->nft, &d->options.table, set, &elements, &n);
                        if (r < 0) {
                                log_warning_errno(r, "Cannot list set %s %s: %m", d->table_label, set);
                                continue;
                        }
                        for (size_t e = 0; e < n; e++)
                                grants_sync_seen(sync, d->grants, door->spec.name, &elements[e].addr,
                                                 elements[e].expires_ms ?: elements[e].timeout_ms, id, now);
                }
        }

        grants_sync_finish(sync, d->grants, now, grant_set_state, grant_restore, d, &result);
        if (result.forgotten > 0)
                log_notice("Forgot %zu grant(s) that no door's set takes any more (the door or its set "
                           "is gone, or the set grants another prefix now).", result.forgotten);
        if (result.dropped > 0)
                log_notice("%zu grant(s) are no longer in their sets (removed outside knockwatch); "
                           "forgotten.", result.dropped);
        if (result.restored > 0)
                log_info("Putting back %zu live grant(s) that a ruleset reload removed.", result.restored);
        expiry_arm(d, grants_next_expiry(d->grants));
        daemon_commit(d);
        return 0;
}

/* What the doors protected, for a message: "door ssh (tcp port 22), door web (its ports)". */
static void protected_ports(const Daemon *d, char *buf, size_t size) {
        size_t len = 0;

        buf[0] = 0;
        for (size_t i = 0; i < d->n_doors && len < size; i++) {
                char ports[256];

                len += (size_t) snprintf(buf + len, size - len, "%sdoor %s (%s)", i > 0 ? ", " : "",
                                         d->doors[i].spec.name,
                                         logrules_protected(&d->rules, &d->doors[i], ports, sizeof(ports)));
        }
}

/* The table is gone: put it back from the ruleset file, and read the doors of what was put
 * back. Returns 0, or -ENOENT with the reason logged at error level. */
static int daemon_restore_table(Daemon *d, const char *why, const char *protected) {
        _cleanup_free_ char *error = NULL;
        int r;

        if (!d->options.ruleset || !d->options.ruleset[0]) {
                log_error("Table %s is gone (%s): %s %s not protected by it until it is back. Load it "
                          "again (nft -f FILE), or run knockwatch with --ruleset=FILE to have it put "
                          "back at once.", d->table_label, why, protected[0] ? protected : "its doors",
                          protected[0] ? "are" : "are");
                return -ENOENT;
        }
        r = ruleset_load_file(d->options.ruleset, &error);
        if (r < 0) {
                log_error_errno(r, "Table %s is gone (%s) and cannot be put back: %s. %s %s not "
                                "protected by it until it is back.", d->table_label, why,
                                error ?: strerror(-r), protected[0] ? protected : "Its doors",
                                "are");
                return -ENOENT;
        }
        r = daemon_load_doors(d);
        if (r < 0) {
                log_error_errno(r, "Table %s was put back from %s, but cannot be read: %m. %s are not "
                                "protected by it.", d->table_label, d->options.ruleset,
                                protected[0] ? protected : "Its doors");
                return -ENOENT;
        }
        log_notice("Table %s was gone (%s); put it back from %s.", d->table_label, why, d->options.ruleset);
        return 0;
}

static void daemon_reload(Daemon *d, const char *why) {
        char protected[1024];
        int r;

        d->ruleset_dirty = false;
        protected_ports(d, protected, sizeof(protected));
        r = daemon_load_doors(d);
        if (r == -ENOENT)
                r = daemon_restore_table(d, why, protected);
        if (r == -ENOENT) {
                d->table_missing = true;
                daemon_close_doors(d);
                status_changed(d);
                return;
        }
        if (r < 0) {
                log_error_errno(r, "Cannot read the doors of table %s: %m", d->table_label);
                return;
        }
        if (d->table_missing)
                log_notice("Table %s is back.", d->table_label);
        d->table_missing = false;
        log_info("Doors reloaded (%s): %zu door(s) in table %s.", why, d->n_doors, d->table_label);
        daemon_fleet_doors(d);
        if (d->n_doors == 0)
                log_warning("Table %s has no usable door; knocks open nothing.", d->table_label);
        (void) daemon_sync_grants(d);
        status_changed(d);
}

static const Door *door_of_set(const Daemon *d, const char *set, int family) {
        for (size_t i = 0; i < d->n_doors; i++) {
                const char *s = family == AF_INET ? d->doors[i].set4 : d->doors[i].set6;
                if (s[0] && streq(s, set))
                        return &d->doors[i];
        }
        return NULL;
}

static void on_nft_event(const NftEvent *event, void *userdata) {
        Daemon *d = userdata;
        const Door *door;

        switch (event->kind) {
        case NFT_EVENT_RULESET:
        case NFT_EVENT_TABLE_DELETED:
                d->ruleset_dirty = true;
                break;
        case NFT_EVENT_GENERATION:
                if (d->ruleset_dirty)
                        daemon_reload(d, "the ruleset changed");
                break;
        case NFT_EVENT_LOST:
                log_warning("Missed nftables notifications; reading table %s again.", d->table_label);
                daemon_reload(d, "notifications were lost");
                break;
        case NFT_EVENT_ELEMENT_ADDED:
                /* Granted by someone else (knockwatch grant, nft add element): follow it so
                 * its expiry is logged and a reload puts it back. */
                door = door_of_set(d, event->set, event->addr.family);
                if (door) {
                        uint64_t left = event->expires_ms ? event->expires_ms : event->timeout_ms;

                        if (left > 0) {
                                GrantSetId id;

                                (void) door_set_of(d, door, event->addr.family, &id, NULL);
                                grant_record(d, door->spec.name, &event->addr, left, id, NULL);
                        }
                        status_changed(d);
                }
                break;
        case NFT_EVENT_ELEMENT_DELETED:
                door = door_of_set(d, event->set, event->addr.family);
                if (door && grants_remove(d->grants, door->spec.name, &event->addr, NULL) > 0)
                        status_changed(d);
                break;
        }
}

static int on_monitor_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Daemon *d = userdata;
        int r;

        r = nft_monitor_process(d->monitor, on_nft_event, d);
        if (r < 0)
                log_warning_errno(r, "Reading nftables notifications failed: %m");
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;

        (void) sd_notify(false, "RELOADING=1");
        daemon_reload(d, "SIGHUP");
        (void) sd_notify(false, "READY=1");
        return 0;
}

/* ---- fleet messages ---------------------------------------------------------------- */

static int on_fleet_limit(const char *name, int family, uint64_t *ret_max_ms, unsigned *ret_prefix_len,
                          void *userdata) {
        Daemon *d = userdata;
        const Door *door = doors_find(d->doors, d->n_doors, name);

        if (door && door->spec.fleet == DOOR_FLEET_PUBLISH)
                return -EEXIST;
        if (!door || door->spec.fleet != DOOR_FLEET_TAKE || !door_set_of(d, door, family, NULL, ret_max_ms)[0])
                return -ENOENT;
        *ret_prefix_len = family == AF_INET ? door->prefix4 : door->prefix6;
        return 0;
}

static void on_fleet_grant(const FleetGrant *g, void *userdata) {
        Daemon *d = userdata;
        const Door *door = doors_find(d->doors, d->n_doors, g->door);
        PendingOp op;

        if (!door || !pending_op_init(d, &op, g->event == FLEET_EVENT_REVOKE ? OP_REVOKE : OP_GRANT, door, &g->addr))
                return;
        /* (A prefix wider than the set's was refused by fleet.c, through on_fleet_limit(); a
         * narrower one, an address, was masked to the set's prefix just now.) */
        op.from_fleet = true;
        op.reason = "fleet";
        if (op.kind == OP_GRANT) {
                const Grant *cur = grants_get(d->grants, door->spec.name, &op.addr);
                usec_t now = now_usec(CLOCK_MONOTONIC);

                op.timeout_ms = g->time_left_ms;
                /* Never shorter than what the address holds already. */
                if (cur && cur->expires > now && (cur->expires - now) / USEC_PER_MSEC > op.timeout_ms)
                        op.timeout_ms = (cur->expires - now) / USEC_PER_MSEC;
        }
        if (daemon_queue(d, &op) >= 0)
                daemon_commit(d);
}

static void on_fleet_rejected(FleetReject reason, int error, const char *topic, void *userdata) {
        Daemon *d = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        status_changed(d);
        d->fleet_rejected_unwarned++;
        if (d->fleet_reject_warned == 0 || now - d->fleet_reject_warned >= REJECT_WARN_INTERVAL) {
                log_warning("Fleet: refused a message on %s: %s (%llu refused since the last warning).", topic,
                            fleet_reject_to_string(reason), (unsigned long long) d->fleet_rejected_unwarned);
                d->fleet_reject_warned = now;
                d->fleet_rejected_unwarned = 0;
        } else
                log_debug("Fleet: refused a message on %s: %s.", topic, fleet_reject_to_string(reason));
}

static void on_fleet_state(const FleetState *s, void *userdata) {
        Daemon *d = userdata;

        status_changed(d);
        if (s->connected)
                log_full(s->error < 0 ? LOG_ERR : LOG_NOTICE, "Fleet: %s.", s->message);
        else
                log_full(s->failures <= 1 ? LOG_WARNING : LOG_DEBUG, "Fleet: %s; trying again in %llu ms.",
                         s->message, (unsigned long long) (s->retry_in / USEC_PER_MSEC));
}

/* Subscribed while a door is taken from the fleet. */
static void daemon_fleet_doors(Daemon *d) {
        bool taking = false;
        int r;

        if (!d->fleet)
                return;
        for (size_t i = 0; i < d->n_doors; i++)
                taking = taking || d->doors[i].spec.fleet == DOOR_FLEET_TAKE;
        r = fleet_set_taking(d->fleet, taking);
        if (r < 0)
                log_warning_errno(r, "Fleet: cannot %s: %m", taking ? "subscribe" : "unsubscribe");
}

static int daemon_setup_fleet(Daemon *d) {
        _cleanup_free_ char *error = NULL;
        const DaemonOptions *o = &d->options;
        int r;

        if (!o->fleet_url)
                return 0;
        r = fleet_new(d->event, &(FleetConfig) {
                        .url = o->fleet_url, .name = o->fleet_name, .ca_file = o->fleet_ca,
                        .cert_file = o->fleet_cert, .cert_key_file = o->fleet_cert_key, .key_file = o->fleet_key,
                        .credentials_dir = getenv("CREDENTIALS_DIRECTORY"),
                      }, &(FleetHandlers) { .limit = on_fleet_limit, .grant = on_fleet_grant,
                                            .rejected = on_fleet_rejected, .state = on_fleet_state },
                      d, &d->fleet, &error);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the fleet: %s", error ?: strerror(-r));
        daemon_fleet_doors(d);
        return 0;
}

/* ---- start-up ------------------------------------------------------------------------- */

static int daemon_setup_event(Daemon *d) {
        int r;

        r = sd_event_default(&d->event);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");
        /* SIGTERM and SIGINT end the loop with status 0 (no handler: sd-event exits). */
        r = sd_event_add_signal(d->event, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(d->event, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(d->event, NULL, SIGHUP | SD_EVENT_SIGNAL_PROCMASK, on_sighup, d);
        if (r >= 0)
                r = sd_event_set_watchdog(d->event, true);
        if (r >= 0)
                r = sd_event_add_time(d->event, &d->expiry_timer, CLOCK_MONOTONIC, USEC_INFINITY,
                                      EXPIRY_ACCURACY, on_expiry_timer, d);
        if (r >= 0)
                r = sd_event_source_set_enabled(d->expiry_timer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time(d->event, &d->windows_timer, CLOCK_MONOTONIC, USEC_INFINITY,
                                      WINDOWS_ACCURACY, on_windows_timer, d);
        if (r >= 0)
                r = sd_event_source_set_enabled(d->windows_timer, SD_EVENT_OFF);
        if (r >= 0)
                r = status_writer_new(d->event, d->options.runtime_dir,
                                      &(StatusWriterOps) { .fill = status_fill, .failed = status_failed,
                                                           .metrics_failed = metrics_failed },
                                      d, &d->status_writer);
        if (r >= 0 && d->options.metrics_file)
                r = status_writer_set_metrics_file(d->status_writer, d->options.metrics_file);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the event loop: %m");
        if (d->options.exec_on_grant || d->options.exec_on_revoke) {
                _cleanup_free_ char *error = NULL;

                r = hooks_new(d->event, &(HooksConfig) { .on_grant = d->options.exec_on_grant,
                                                         .on_revoke = d->options.exec_on_revoke },
                              on_hook_report, d, &d->hooks, &error);
                if (r < 0 && error)
                        return log_error_errno(r, "%s", error);
                if (r < 0)
                        return log_error_errno(r, "Cannot set up the hooks: %m");
        }
        d->expiry_armed = USEC_INFINITY;
        return 0;
}

static int daemon_setup_nft(Daemon *d) {
        int r;

        r = nft_open(&d->nft);
        if (r < 0)
                return log_error_errno(r, "Cannot open a netfilter netlink socket: %m");

        (void) daemon_read_netns(d);
        d->netns_checked = now_usec(CLOCK_MONOTONIC);
        r = daemon_load_doors(d);
        if (r == -ENOENT && d->options.ruleset && d->options.ruleset[0]) {
                _cleanup_free_ char *error = NULL;

                /* Not there yet: put it there, as the host's own firewall reload would have. */
                r = ruleset_load_file(d->options.ruleset, &error);
                if (r < 0)
                        return log_error_errno(r, "Table %s does not exist, and loading it failed: %s",
                                               d->table_label, error ?: strerror(-r));
                log_info("Table %s did not exist; loaded it from %s.", d->table_label, d->options.ruleset);
                r = daemon_load_doors(d);
        }
        if (r == -EPERM || r == -EACCES)
                return log_error_errno(r, "Cannot read nftables table %s: %m; knockwatch needs "
                                       "CAP_NET_ADMIN (run it as root or with "
                                       "AmbientCapabilities=CAP_NET_ADMIN).", d->table_label);
        if (r == -ENOENT)
                return log_error_errno(r, "Table %s does not exist; load the ruleset first "
                                       "(nft -f /etc/knockwatch/knockwatch.nft), give it with "
                                       "--ruleset=FILE, or name another table with --table.",
                                       d->table_label);
        if (r < 0)
                return log_error_errno(r, "Cannot read the doors of table %s: %m", d->table_label);
        if (d->n_doors == 0)
                return log_error_errno(ENOENT, "Table %s has no usable door; `knockwatch check` "
                                       "explains why.", d->table_label);

        r = nft_monitor_open(&d->options.table, nft_portid(d->nft), &d->monitor);
        if (r < 0)
                return log_error_errno(r, "Cannot subscribe to nftables notifications: %m");
        r = sd_event_add_io(d->event, &d->monitor_source, nft_monitor_fd(d->monitor), EPOLLIN,
                            on_monitor_io, d);
        if (r < 0)
                return log_error_errno(r, "Cannot watch nftables notifications: %m");
        return daemon_sync_grants(d);
}

static int daemon_setup_source(Daemon *d) {
        _cleanup_free_ char *error = NULL;
        SourceOptions so = {
                .state_dir = d->options.state_dir,
                .journal_dir = d->options.journal_dir,
                .max_age = doors_max_window(d->doors, d->n_doors),
        };
        int r;

        r = source_open(d->options.source_kind, d->options.source_path, &so, &d->source, &error);
        if (r < 0) {
                if (error)
                        return log_error_errno(r, "%s", error);
                return log_error_errno(r, "Cannot open the log source: %m");
        }
        r = source_attach(d->source, d->event, &(SourceHandlers) {
                .line = on_source_line,
                .batch_end = on_source_batch_end,
                .notice = on_source_notice,
        }, d);
        if (r < 0)
                return log_error_errno(r, "Cannot start reading %s: %m", source_describe(d->source));
        return 0;
}

int daemon_run(const DaemonOptions *options) {
        _cleanup_(daemon_free) Daemon d = { .options = *options, .log_all_netns = -1 };
        int r;

        (void) nft_table_format(&d.options.table, d.table_label, sizeof(d.table_label));
        d.status = (DaemonStatus) {
                .pid = (uint64_t) getpid(),
                .started_realtime = now_usec(CLOCK_REALTIME),
        };
        (void) snprintf(d.status.table, sizeof(d.status.table), "%s", d.table_label);

        r = detector_new(options->capacity, &d.detector);
        if (r < 0)
                return log_error_errno(r, "Cannot allocate the detector for %zu sources: %m",
                                       options->capacity), EXIT_FAILURE;
        r = grants_new(options->max_grants, &d.grants);
        if (r < 0)
                return log_error_errno(r, "Cannot allocate the record of %zu grants: %m",
                                       options->max_grants), EXIT_FAILURE;
        r = totp_state_new(&d.totp);
        if (r < 0)
                return log_oom(), EXIT_FAILURE;
        if (daemon_setup_event(&d) < 0 || daemon_setup_nft(&d) < 0 || daemon_setup_fleet(&d) < 0 ||
            daemon_setup_source(&d) < 0)
                return EXIT_FAILURE;

        (void) status_writer_flush(d.status_writer);
        log_info("ready: watching %zu door(s) of table %s through %s.", d.n_doors, d.table_label,
                 source_describe(d.source));
        (void) sd_notifyf(false, "READY=1\nSTATUS=Watching %zu door(s) through %s",
                          d.n_doors, source_describe(d.source));

        r = sd_event_loop(d.event);

        (void) sd_notify(false, "STOPPING=1");
        /* What the source holds already is read before its position is saved: knocks logged
         * just before the stop are then resumed from, not skipped (journald tells its readers
         * about new entries only every quarter of a second). */
        if (d.source && !source_ended(d.source))
                (void) source_flush(d.source);
        daemon_commit(&d);
        (void) source_save_position(d.source);
        (void) status_writer_flush(d.status_writer);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m"), EXIT_FAILURE;
        log_info("Stopped.");
        return r;
}
