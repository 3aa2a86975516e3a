/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * status.c — see status.h. One table of fields drives both the writer and the reader
 * of the counters; the door lines have their own strict reader.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "knock.h"
#include "metrics.h"
#include "parse-util.h"
#include "state.h"
#include "status.h"
#include "string-util.h"

static const char *const reject_reasons[_REJECT_REASON_MAX] = {
        [REJECT_MALFORMED] = "malformed",
        [REJECT_TRUNCATED] = "truncated",
        [REJECT_TOO_LONG] = "too_long",
        [REJECT_NOT_KERNEL] = "not_kernel",
        [REJECT_UNTRUSTED] = "untrusted",
        [REJECT_OTHER] = "other",
};

const char *reject_reason_to_string(RejectReason r) {
        return r >= 0 && r < _REJECT_REASON_MAX ? reject_reasons[r] : "other";
}

RejectReason reject_reason_classify(int parse_result, const char *reason) {
        switch (parse_result) {
        case -EBADMSG:
                return reason && strstr(reason, "truncated") ? REJECT_TRUNCATED : REJECT_MALFORMED;
        case -E2BIG:
                return REJECT_TOO_LONG;
        case -EPERM:
                return REJECT_NOT_KERNEL;
        case -EACCES:
                return REJECT_UNTRUSTED;
        default:
                return REJECT_OTHER;
        }
}

static const char *const door_counters[_DOOR_COUNTER_MAX] = {
        [DOOR_COUNTER_KNOCKS] = "knocks",
        [DOOR_COUNTER_SEQUENCES] = "sequences",
        [DOOR_COUNTER_GRANTS] = "grants",
        [DOOR_COUNTER_REFRESHES] = "refreshes",
        [DOOR_COUNTER_REVOKES] = "revokes",
        [DOOR_COUNTER_EXPIRIES] = "expiries",
        [DOOR_COUNTER_REPLAYS] = "replays",
};

const char *door_counter_to_string(DoorCounter c) {
        return c >= 0 && c < _DOOR_COUNTER_MAX ? door_counters[c] : NULL;
}

/* ---- per-door counters ----------------------------------------------------------- */

void status_set_doors(DaemonStatus *s, const Door *doors, size_t n) {
        DoorStatus old[STATUS_DOORS_MAX];
        size_t n_old = s->n_door;

        memcpy(old, s->door, n_old * sizeof(DoorStatus));
        s->n_door = 0;
        for (size_t i = 0; i < n && s->n_door < STATUS_DOORS_MAX; i++) {
                DoorStatus *d = &s->door[s->n_door++];

                *d = (DoorStatus) {};
                (void) snprintf(d->name, sizeof(d->name), "%s", doors[i].spec.name);
                for (size_t k = 0; k < n_old; k++)
                        if (streq(old[k].name, d->name)) {
                                *d = old[k];
                                break;
                        }
        }
}

DoorStatus *status_find_door(DaemonStatus *s, const char *name) {
        for (size_t i = 0; i < s->n_door; i++)
                if (streq(s->door[i].name, name))
                        return &s->door[i];
        return NULL;
}

const DoorStatus *status_get_door(const DaemonStatus *s, const char *name) {
        return status_find_door((DaemonStatus *) s, name);
}

void status_count_door(DaemonStatus *s, const char *door, DoorCounter c) {
        DoorStatus *d = status_find_door(s, door);

        if (d && c >= 0 && c < _DOOR_COUNTER_MAX)
                d->counter[c]++;
}

static bool steps_have(const KnockStep *steps, unsigned n, const KnockStep *step) {
        for (unsigned i = 0; i < n; i++)
                if (knock_step_equal(&steps[i], step))
                        return true;
        return false;
}

void status_count_knock(DaemonStatus *s, const Door *doors, size_t n, const KnockStep *step) {
        for (size_t i = 0; i < n; i++) {
                const DoorSpec *spec = &doors[i].spec;
                DoorStatus *d;

                /* A rotating door's knocks are any of its range (its live windows' ports) */
                bool totp = spec->is_totp && step->proto == spec->totp.proto && step->value >= spec->totp.lo &&
                            step->value <= spec->totp.hi;

                if (!totp && !steps_have(spec->open, spec->n_open, step) &&
                    !steps_have(spec->close, spec->n_close, step))
                        continue;
                /* status_set_doors() keeps the doors' order: look at the same index first */
                d = i < s->n_door && streq(s->door[i].name, spec->name) ? &s->door[i]
                                                                       : status_find_door(s, spec->name);
                if (d)
                        d->counter[DOOR_COUNTER_KNOCKS]++;
        }
}

void status_count_live(DaemonStatus *s, const Grants *g) {
        size_t n = grants_size(g);
        const char *last = NULL;
        DoorStatus *d = NULL;

        for (size_t i = 0; i < s->n_door; i++)
                s->door[i].live_grants = 0;
        for (size_t i = 0; i < n; i++) {
                const Grant *grant = grants_at(g, i);

                if (!last || !streq(last, grant->door)) {
                        d = status_find_door(s, grant->door);
                        last = grant->door;
                }
                if (d)
                        d->live_grants++;
        }
}

/* ---- the text form ------------------------------------------------------------------ */

typedef struct Field {
        const char *key;
        size_t offset;
        size_t text_size;   /* 0: a uint64_t; else a char array of this size */
} Field;

#define U64(name) { #name, offsetof(DaemonStatus, name), 0 }
#define TEXT(name) { #name, offsetof(DaemonStatus, name), sizeof(((DaemonStatus *) 0)->name) }
#define FLEET_REJECTED(r, name) { "fleet_rejected_" name, offsetof(DaemonStatus, fleet_rejected) + (r) * sizeof(uint64_t), 0 }
#define REJECTED(r, name) { "rejected_" name, offsetof(DaemonStatus, rejected_by) + (r) * sizeof(uint64_t), 0 }

static const Field fields[] = {
        U64(pid), U64(started_realtime), U64(updated_realtime), TEXT(source), TEXT(table),
        U64(doors), U64(lines), U64(knocks), U64(not_knocks), U64(rejected), U64(sequences),
        U64(grants), U64(refreshes), U64(revokes), U64(expiries), U64(errors), U64(lost),
        U64(live_grants), U64(in_progress), U64(capacity), U64(evictions), U64(stale),
        TEXT(problem),
        REJECTED(REJECT_MALFORMED, "malformed"), REJECTED(REJECT_TRUNCATED, "truncated"),
        REJECTED(REJECT_TOO_LONG, "too_long"), REJECTED(REJECT_NOT_KERNEL, "not_kernel"),
        REJECTED(REJECT_UNTRUSTED, "untrusted"), REJECTED(REJECT_OTHER, "other"),
        U64(hook_runs), U64(hook_failures), U64(hook_timeouts), U64(hook_drops),
        TEXT(fleet_broker), TEXT(fleet_name), U64(fleet_connected), U64(fleet_connects),
        U64(fleet_disconnects), U64(fleet_connect_failures), U64(fleet_published), U64(fleet_acked),
        U64(fleet_dropped), U64(fleet_queued), U64(fleet_received), U64(fleet_accepted), U64(fleet_own),
        U64(fleet_rejected_other),
        FLEET_REJECTED(FLEET_REJECT_MALFORMED, "malformed"), FLEET_REJECTED(FLEET_REJECT_VERSION, "version"),
        FLEET_REJECTED(FLEET_REJECT_BAD_MAC, "bad_mac"), FLEET_REJECTED(FLEET_REJECT_WRONG_TOPIC, "wrong_topic"),
        FLEET_REJECTED(FLEET_REJECT_NOT_TAKEN, "not_taken"), FLEET_REJECTED(FLEET_REJECT_PREFIX, "prefix"),
        FLEET_REJECTED(FLEET_REJECT_EXPIRED, "expired"), FLEET_REJECTED(FLEET_REJECT_TOO_FAR, "too_far"),
        FLEET_REJECTED(FLEET_REJECT_REPLAYED, "replayed"), FLEET_REJECTED(FLEET_REJECT_CACHE_FULL, "cache_full"),
        U64(fleet_subscribe_refused), U64(fleet_refreshes_held),
};

#define DOOR_KEY "door"

static int append(char *buf, size_t size, size_t *len, const char *format, ...) _printf_(4, 5);
static int append(char *buf, size_t size, size_t *len, const char *format, ...) {
        va_list ap;
        int n;

        va_start(ap, format);
        n = vsnprintf(buf + *len, size - *len, format, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= size - *len)
                return -ENOBUFS;
        *len += (size_t) n;
        return 0;
}

int status_format(const DaemonStatus *s, char *buf, size_t size) {
        size_t len = 0;
        int r;

        if (size == 0)
                return -ENOBUFS;
        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                const char *p = (const char *) s + fields[i].offset;

                if (fields[i].text_size > 0)
                        r = append(buf, size, &len, "%s=%.*s\n", fields[i].key, (int) strcspn(p, "\n"), p);
                else
                        r = append(buf, size, &len, "%s=%llu\n", fields[i].key,
                                   (unsigned long long) *(const uint64_t *) (const void *) p);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < MIN(s->n_door, (size_t) STATUS_DOORS_MAX); i++) {
                const DoorStatus *d = &s->door[i];

                r = append(buf, size, &len, DOOR_KEY "=%s", d->name);
                for (size_t c = 0; r >= 0 && c < _DOOR_COUNTER_MAX; c++)
                        r = append(buf, size, &len, " %s=%llu", door_counters[c],
                                   (unsigned long long) d->counter[c]);
                if (r >= 0)
                        r = append(buf, size, &len, " live_grants=%llu\n", (unsigned long long) d->live_grants);
                if (r < 0)
                        return r;
        }
        return (int) len;
}

static bool door_name_valid(const char *s, size_t n) {
        if (n == 0 || n > DOOR_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || ascii_isdigit(s[i]) || s[i] == '_' || s[i] == '-'))
                        return false;
        return true;
}

static bool counter_key_valid(const char *s, size_t n) {
        if (n == 0 || n > 32)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
                        return false;
        return true;
}

/* "NAME key=N key=N ..." (the value of a door line), strictly. */
static int parse_door_line(const char *p, const char *end, DaemonStatus *s) {
        const char *sp = memchr(p, ' ', (size_t) (end - p));
        const char *name_end = sp ? sp : end;
        bool seen[_DOOR_COUNTER_MAX + 1] = {};
        DoorStatus d = {};

        if (!door_name_valid(p, (size_t) (name_end - p)) || s->n_door >= STATUS_DOORS_MAX)
                return -EBADMSG;
        memcpy(d.name, p, (size_t) (name_end - p));
        for (size_t i = 0; i < s->n_door; i++)
                if (streq(s->door[i].name, d.name))
                        return -EBADMSG;

        for (p = name_end; p < end;) {
                const char *token, *token_end, *eq;
                uint64_t v;
                size_t klen, c;

                if (*p != ' ')
                        return -EBADMSG;
                token = p + 1;
                token_end = memchr(token, ' ', (size_t) (end - token));
                if (!token_end)
                        token_end = end;
                eq = memchr(token, '=', (size_t) (token_end - token));
                if (!eq)
                        return -EBADMSG;
                klen = (size_t) (eq - token);
                if (!counter_key_valid(token, klen) ||
                    parse_uint(eq + 1, (size_t) (token_end - eq - 1), UINT64_MAX, &v) < 0)
                        return -EBADMSG;
                for (c = 0; c <= _DOOR_COUNTER_MAX; c++) {
                        const char *key = c < _DOOR_COUNTER_MAX ? door_counters[c] : "live_grants";

                        if (strlen(key) == klen && memcmp(key, token, klen) == 0)
                                break;
                }
                if (c <= _DOOR_COUNTER_MAX) {
                        if (seen[c])
                                return -EBADMSG;
                        seen[c] = true;
                        if (c < _DOOR_COUNTER_MAX)
                                d.counter[c] = v;
                        else
                                d.live_grants = v;
                }
                p = token_end;
        }
        s->door[s->n_door++] = d;
        return 0;
}

int status_parse(const char *text, DaemonStatus *ret) {
        DaemonStatus s = {};

        for (const char *line = text; *line;) {
                const char *nl = strchrnul(line, '\n'), *eq = memchr(line, '=', (size_t) (nl - line));
                size_t klen;

                if (!eq)
                        return -EBADMSG;
                klen = (size_t) (eq - line);
                if (klen == STRLEN(DOOR_KEY) && memcmp(line, DOOR_KEY, klen) == 0) {
                        if (parse_door_line(eq + 1, nl, &s) < 0)
                                return -EBADMSG;
                        line = *nl ? nl + 1 : nl;
                        continue;
                }
                for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                        char *p = (char *) &s + fields[i].offset;
                        size_t vlen = (size_t) (nl - eq - 1);

                        if (strlen(fields[i].key) != klen || memcmp(fields[i].key, line, klen) != 0)
                                continue;
                        if (fields[i].text_size > 0) {
                                vlen = MIN(vlen, fields[i].text_size - 1);
                                memcpy(p, eq + 1, vlen);
                                p[vlen] = 0;
                        } else if (parse_uint(eq + 1, vlen, UINT64_MAX, (uint64_t *) (void *) p) < 0)
                                return -EBADMSG;
                }
                line = *nl ? nl + 1 : nl;
        }
        *ret = s;
        return 0;
}

static int status_write_buf(const char *dir, const DaemonStatus *s, char *buf, size_t size) {
        int n;

        n = status_format(s, buf, size);
        if (n < 0)
                return n;
        return state_write_full(dir, STATUS_FILE, buf, (size_t) n, 0600, 0);
}

int status_write(const char *dir, const DaemonStatus *s) {
        _cleanup_free_ char *buf = malloc(STATUS_FILE_MAX);

        if (!buf)
                return -ENOMEM;
        return status_write_buf(dir, s, buf, STATUS_FILE_MAX);
}

int status_read(const char *dir, DaemonStatus *ret) {
        _cleanup_free_ char *buf = malloc(STATUS_FILE_MAX);
        int r;

        if (!buf)
                return -ENOMEM;
        r = state_read(dir, STATUS_FILE, buf, STATUS_FILE_MAX);
        if (r < 0)
                return r;
        if (memchr(buf, 0, (size_t) r))
                return -EBADMSG;
        return status_parse(buf, ret);
}

struct StatusWriter {
        sd_event_source *timer;      /* one-shot, off while nothing is due */
        char *dir;
        StatusWriterOps ops;
        void *userdata;
        usec_t written;              /* CLOCK_MONOTONIC of the last write */
        bool disabled;
        DaemonStatus status;         /* filled right before each write */
        char *buf;                   /* STATUS_FILE_MAX, then METRICS_FILE_MAX if metrics */
        char *metrics_dir;           /* NULL: no metrics file */
        char *metrics_name;
        char *metrics_path;
        bool metrics_failing;
};

static int on_status_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) status_writer_flush(userdata);
        return 0;
}

int status_writer_new(sd_event *event, const char *dir, const StatusWriterOps *ops, void *userdata,
                      StatusWriter **ret) {
        _cleanup_(status_writer_freep) StatusWriter *w = NULL;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->ops = *ops;
        w->userdata = userdata;
        w->dir = strdup(dir);
        w->buf = malloc(STATUS_FILE_MAX);
        if (!w->dir || !w->buf)
                return -ENOMEM;
        r = sd_event_add_time(event, &w->timer, CLOCK_MONOTONIC, USEC_INFINITY,
                              100 * USEC_PER_MSEC, on_status_timer, w);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(w->timer, SD_EVENT_OFF);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}

int status_writer_set_metrics_file(StatusWriter *w, const char *path) {
        const char *slash;
        char *buf;

        if (!metrics_path_valid(path))
                return -EINVAL;
        slash = strrchr(path, '/');
        free(w->metrics_dir);
        free(w->metrics_name);
        free(w->metrics_path);
        w->metrics_dir = slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
        w->metrics_name = strdup(slash + 1);
        w->metrics_path = strdup(path);
        buf = realloc(w->buf, MAX(STATUS_FILE_MAX, METRICS_FILE_MAX));
        if (buf)
                w->buf = buf;
        if (!w->metrics_dir || !w->metrics_name || !w->metrics_path || !buf) {
                w->metrics_dir = mfree(w->metrics_dir);
                return -ENOMEM;
        }
        return 0;
}

StatusWriter *status_writer_free(StatusWriter *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->timer);
        free(w->dir);
        free(w->buf);
        free(w->metrics_dir);
        free(w->metrics_name);
        free(w->metrics_path);
        free(w);
        return NULL;
}

void status_writer_changed(StatusWriter *w) {
        int enabled = SD_EVENT_OFF;
        usec_t due;

        if (!w || (w->disabled && !w->metrics_dir))
                return;
        (void) sd_event_source_get_enabled(w->timer, &enabled);
        if (enabled != SD_EVENT_OFF)
                return; /* already due */
        due = MAX(now_usec(CLOCK_MONOTONIC) + STATUS_WRITE_DELAY, w->written + STATUS_WRITE_INTERVAL);
        (void) sd_event_source_set_time(w->timer, due);
        (void) sd_event_source_set_enabled(w->timer, SD_EVENT_ONESHOT);
}

static void write_metrics(StatusWriter *w) {
        int r;

        r = metrics_format(&w->status, w->buf, METRICS_FILE_MAX);
        if (r >= 0)
                r = state_write_full(w->metrics_dir, w->metrics_name, w->buf, (size_t) r, 0644,
                                     STATE_WRITE_NO_MKDIR | STATE_WRITE_NO_SYNC);
        if ((r < 0) != w->metrics_failing) {
                w->metrics_failing = r < 0;
                if (w->ops.metrics_failed)
                        w->ops.metrics_failed(MIN(r, 0), w->metrics_path, w->userdata);
        }
}

int status_writer_flush(StatusWriter *w) {
        int r = -ESHUTDOWN;

        if (w->disabled && !w->metrics_dir)
                return -ESHUTDOWN;
        (void) sd_event_source_set_enabled(w->timer, SD_EVENT_OFF);
        w->status = (DaemonStatus) {};
        w->ops.fill(&w->status, w->userdata);
        w->written = now_usec(CLOCK_MONOTONIC);
        if (!w->disabled) {
                r = status_write_buf(w->dir, &w->status, w->buf, STATUS_FILE_MAX);
                if (r < 0) {
                        w->disabled = true;
                        if (w->ops.failed)
                                w->ops.failed(r, w->dir, w->userdata);
                }
        }
        if (w->metrics_dir)
                write_metrics(w);
        return r;
}
