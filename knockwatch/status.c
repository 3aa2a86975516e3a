/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * status.c — see status.h. One table of fields drives both the writer and the reader.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "knock.h"
#include "parse-util.h"
#include "state.h"
#include "status.h"

typedef struct Field {
        const char *key;
        size_t offset;
        size_t text_size;   /* 0: a uint64_t; else a char array of this size */
} Field;

#define U64(name) { #name, offsetof(DaemonStatus, name), 0 }
#define TEXT(name) { #name, offsetof(DaemonStatus, name), sizeof(((DaemonStatus *) 0)->name) }

static const Field fields[] = {
        U64(pid), U64(started_realtime), U64(updated_realtime), TEXT(source), TEXT(table),
        U64(doors), U64(lines), U64(knocks), U64(not_knocks), U64(rejected), U64(sequences),
        U64(grants), U64(refreshes), U64(revokes), U64(expiries), U64(errors), U64(lost),
        U64(live_grants), U64(in_progress), U64(capacity), U64(evictions),
};

int status_format(const DaemonStatus *s, char *buf, size_t size) {
        size_t len = 0;

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                const char *p = (const char *) s + fields[i].offset;
                int n;

                if (fields[i].text_size > 0)
                        n = snprintf(buf + len, size - len, "%s=%.*s\n", fields[i].key,
                                     (int) strcspn(p, "\n"), p);
                else
                        n = snprintf(buf + len, size - len, "%s=%llu\n", fields[i].key,
                                     (unsigned long long) *(const uint64_t *) (const void *) p);
                if (n < 0 || (size_t) n >= size - len)
                        return -ENOBUFS;
                len += (size_t) n;
        }
        return (int) len;
}

int status_parse(const char *text, DaemonStatus *ret) {
        DaemonStatus s = {};

        for (const char *line = text; *line;) {
                const char *nl = strchrnul(line, '\n'), *eq = memchr(line, '=', (size_t) (nl - line));

                if (!eq)
                        return -EBADMSG;
                for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                        char *p = (char *) &s + fields[i].offset;
                        size_t klen = (size_t) (eq - line), vlen = (size_t) (nl - eq - 1);

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

int status_write(const char *dir, const DaemonStatus *s) {
        char buf[STATE_FILE_MAX];
        int n;

        n = status_format(s, buf, sizeof(buf));
        if (n < 0)
                return n;
        return state_write(dir, STATUS_FILE, buf, (size_t) n);
}

int status_read(const char *dir, DaemonStatus *ret) {
        char buf[STATE_FILE_MAX];
        int r;

        r = state_read(dir, STATUS_FILE, buf, sizeof(buf));
        if (r < 0)
                return r;
        return status_parse(buf, ret);
}

struct StatusWriter {
        sd_event_source *timer;      /* one-shot, off while nothing is due */
        char *dir;
        StatusWriterOps ops;
        void *userdata;
        usec_t written;              /* CLOCK_MONOTONIC of the last write */
        bool disabled;
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
        if (!w->dir)
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

StatusWriter *status_writer_free(StatusWriter *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->timer);
        free(w->dir);
        free(w);
        return NULL;
}

void status_writer_changed(StatusWriter *w) {
        int enabled = SD_EVENT_OFF;
        usec_t due;

        if (!w || w->disabled)
                return;
        (void) sd_event_source_get_enabled(w->timer, &enabled);
        if (enabled != SD_EVENT_OFF)
                return; /* already due */
        due = MAX(now_usec(CLOCK_MONOTONIC) + STATUS_WRITE_DELAY, w->written + STATUS_WRITE_INTERVAL);
        (void) sd_event_source_set_time(w->timer, due);
        (void) sd_event_source_set_enabled(w->timer, SD_EVENT_ONESHOT);
}

int status_writer_flush(StatusWriter *w) {
        DaemonStatus s = {};
        int r;

        if (w->disabled)
                return -ESHUTDOWN;
        (void) sd_event_source_set_enabled(w->timer, SD_EVENT_OFF);
        w->ops.fill(&s, w->userdata);
        w->written = now_usec(CLOCK_MONOTONIC);
        r = status_write(w->dir, &s);
        if (r < 0) {
                w->disabled = true;
                if (w->ops.failed)
                        w->ops.failed(r, w->dir, w->userdata);
        }
        return r;
}
