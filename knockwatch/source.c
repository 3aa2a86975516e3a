/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * source.c — the generic part of the sources: spec parsing, choosing kmsg or the
 * journal for "auto", and the plumbing every kind shares (see source-internal.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>

#include "source-internal.h"
#include "string-util.h"
#include "time-util.h"

int source_spec_parse(const char *spec, SourceKind *ret_kind, const char **ret_path) {
        const char *path;

        *ret_path = NULL;
        if (streq(spec, "auto"))
                *ret_kind = SOURCE_AUTO;
        else if (streq(spec, "kmsg"))
                *ret_kind = SOURCE_KMSG;
        else if (streq(spec, "journal"))
                *ret_kind = SOURCE_JOURNAL;
        else if (streq(spec, "-"))
                *ret_kind = SOURCE_STDIN;
        else if ((path = startswith(spec, "file:")) && path[0] == '/') {
                *ret_kind = SOURCE_FILE;
                *ret_path = path;
        } else
                return -EINVAL;
        return 0;
}

static const SourceVTable *vtable_for(SourceKind kind) {
        switch (kind) {
        case SOURCE_KMSG:
                return &source_kmsg_vtable;
        case SOURCE_JOURNAL:
                return &source_journal_vtable;
        case SOURCE_FILE:
                return &source_file_vtable;
        case SOURCE_STDIN:
                return &source_stdin_vtable;
        default:
                return NULL;
        }
}

static int source_new(SourceKind kind, const SourceOptions *options, Source **ret) {
        _cleanup_(source_freep) Source *s = NULL;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->kind = kind;
        s->vtable = vtable_for(kind);
        if (!s->vtable)
                return -EINVAL;
        s->max_age = options ? options->max_age : 0;
        if (options && options->state_dir && !(s->state_dir = strdup(options->state_dir)))
                return -ENOMEM;
        if (options && options->journal_dir && !(s->journal_dir = strdup(options->journal_dir)))
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}

static int source_open_kind(SourceKind kind, const char *path, const SourceOptions *options,
                            Source **ret, char **ret_error) {
        _cleanup_(source_freep) Source *s = NULL;
        int r;

        r = source_new(kind, options, &s);
        if (r < 0)
                return r;
        r = s->vtable->open(s, path, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int source_open(SourceKind kind, const char *path, const SourceOptions *options,
                Source **ret, char **ret_error) {
        _cleanup_free_ char *kmsg_error = NULL;
        int r, k;

        if (ret_error)
                *ret_error = NULL;
        if (kind != SOURCE_AUTO)
                return source_open_kind(kind, path, options, ret, ret_error);

        /* auto: /dev/kmsg delivers a line 3–8 ms after the packet, the journal about 0.4 s
         * later (journald batches its change notifications), so prefer kmsg. */
        r = source_open_kind(SOURCE_KMSG, NULL, options, ret, &kmsg_error);
        if (r >= 0)
                /* Keep what the kind said (e.g. where it resumed) and add why it was chosen. */
                return source_set_description(*ret, "%s; chosen as /dev/kmsg is readable and the "
                                              "fastest source", source_describe(*ret));
        k = r;
        r = source_open_kind(SOURCE_JOURNAL, NULL, options, ret, ret_error);
        if (r < 0)
                return r;
        return source_set_description(*ret, "%s; chosen as /dev/kmsg cannot be read: %s",
                                      source_describe(*ret), kmsg_error ? kmsg_error : strerror(-k));
}

int source_attach(Source *s, sd_event *event, const SourceHandlers *handlers, void *userdata) {
        s->event = sd_event_ref(event);
        s->handlers = *handlers;
        s->userdata = userdata;
        return s->vtable->attach(s);
}

int source_save_position(Source *s) {
        s->last_save = now_usec(CLOCK_MONOTONIC);
        return s->vtable->save_position ? s->vtable->save_position(s) : 0;
}

#define SOURCE_SAVE_INTERVAL USEC_PER_SEC

static int on_save_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        (void) source_save_position(userdata);
        return 0;
}

void source_save_soon(Source *s) {
        usec_t due = s->last_save + SOURCE_SAVE_INTERVAL;
        int enabled = SD_EVENT_OFF, r;

        if (!s->state_dir || !s->vtable->save_position)
                return;
        if (s->last_save == 0 || now_usec(CLOCK_MONOTONIC) >= due) {
                (void) source_save_position(s);
                return;
        }
        if (s->save_timer) {
                if (sd_event_source_get_enabled(s->save_timer, &enabled) >= 0 && enabled != SD_EVENT_OFF)
                        return; /* already due */
                r = sd_event_source_set_time(s->save_timer, due);
                if (r >= 0)
                        r = sd_event_source_set_enabled(s->save_timer, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time(s->event, &s->save_timer, CLOCK_MONOTONIC, due, 0,
                                      on_save_timer, s);
        if (r < 0)
                (void) source_save_position(s); /* no timer: better early than never */
}

int source_flush(Source *s) {
        if (s->stopped || !s->vtable->flush || !s->event)
                return 0;
        return s->vtable->flush(s);
}

bool source_ended(const Source *s) {
        return s->stopped;
}

SourceKind source_kind(const Source *s) {
        return s->kind;
}

const char *source_describe(const Source *s) {
        return s->description ? s->description : s->vtable->name;
}

void source_get_stats(const Source *s, SourceStats *ret) {
        *ret = s->stats;
}

Source *source_free(Source *s) {
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->save_timer);
        if (s->vtable && s->vtable->done)
                s->vtable->done(s);
        sd_event_unref(s->event);
        free(s->state_dir);
        free(s->journal_dir);
        free(s->description);
        free(s);
        return NULL;
}

static int hand_over(Source *s, const char *text, size_t len, LoglineForm form, usec_t time,
                     usec_t read_time, bool replayed) {
        SourceLine line = {
                .text = text,
                .len = len,
                .form = form,
                .time = time,
                .read_time = read_time,
                .replayed = replayed,
        };

        return s->handlers.line ? s->handlers.line(s, &line, s->userdata) : 0;
}

int source_deliver(Source *s, const char *text, size_t len, LoglineForm form, usec_t time,
                   usec_t read_time) {
        s->stats.lines++;
        return hand_over(s, text, len, form, time, read_time, false);
}

int source_replay(Source *s, const char *text, size_t len, LoglineForm form, usec_t time,
                  usec_t read_time) {
        return hand_over(s, text, len, form, time, read_time, true);
}

void source_end_batch(Source *s) {
        if (s->handlers.batch_end)
                s->handlers.batch_end(s, s->userdata);
}

int source_set_description(Source *s, const char *format, ...) {
        char *description;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&description, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        free(s->description);
        s->description = description;
        return 0;
}

static void notice_v(Source *s, int error, bool fatal, const char *format, va_list ap) {
        char message[512];

        (void) vsnprintf(message, sizeof(message), format, ap);
        if (s->handlers.notice)
                s->handlers.notice(s, error, fatal, message, s->userdata);
}

void source_notice(Source *s, int error, bool fatal, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        notice_v(s, error, fatal, format, ap);
        va_end(ap);
}

void source_stop(Source *s, int error, const char *format, ...) {
        va_list ap;

        s->stopped = true;
        if (s->vtable->stop)
                s->vtable->stop(s);
        va_start(ap, format);
        notice_v(s, error, true, format, ap);
        va_end(ap);
}
