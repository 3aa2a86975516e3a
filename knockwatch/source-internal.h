/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * source-internal.h — what the source kinds (source-kmsg.c, source-journal.c,
 * source-file.c, source-stdin.c) share with the generic part in source.c.
 * Not for use outside the sources.
 */
#pragma once

#include "source.h"
#include "time-util.h"

typedef struct SourceVTable {
        const char *name;
        /* Open and check; set s->description. On failure, set *ret_error (malloc'ed,
         * one line naming the file and what is needed) if it can say more than errno. */
        int (*open)(Source *s, const char *path, char **ret_error);
        /* Add the kind's event sources to s->event. */
        int (*attach)(Source *s);
        /* Stop delivering for good: disable the kind's event sources (source_stop()). */
        void (*stop)(Source *s);
        /* Read everything waiting now (source_flush()); NULL: nothing to do. */
        int (*flush)(Source *s);
        /* Persist the resume position now (NULL: the kind has none). */
        int (*save_position)(Source *s);
        /* Free the kind's data (s->data). */
        void (*done)(Source *s);
} SourceVTable;

struct Source {
        SourceKind kind;
        const SourceVTable *vtable;
        char *state_dir;          /* copies of the SourceOptions strings, or NULL */
        char *journal_dir;
        usec_t max_age;
        char *description;        /* malloc'ed by open() */

        sd_event *event;          /* set by source_attach() (a reference is held) */
        SourceHandlers handlers;
        void *userdata;
        SourceStats stats;
        bool stopped;             /* source_stop() was called */
        sd_event_source *save_timer; /* one-shot: the last position of a burst */
        usec_t last_save;            /* CLOCK_MONOTONIC of the last save_position() */

        void *data;               /* the kind's own state */
};

/* Hand one line to the daemon (counts it). Returns the handler's value. */
int source_deliver(Source *s, const char *text, size_t len, LoglineForm form, usec_t time,
                   usec_t read_time);
/* Hand over again a line handled before the restart (see source.h); not counted. */
int source_replay(Source *s, const char *text, size_t len, LoglineForm form, usec_t time,
                  usec_t read_time);
/* A drain ended. */
void source_end_batch(Source *s);
/* The resume position changed: save it now if the last save is a second old, else let
 * a one-shot timer save the newest one when that second is over (nothing polls). */
void source_save_soon(Source *s);
/* Set what source_describe() says. Returns 0 or -ENOMEM. */
int source_set_description(Source *s, const char *format, ...) _printf_(2, 3);
/* Tell the daemon something (see SourceHandlers.notice). */
void source_notice(Source *s, int error, bool fatal, const char *format, ...) _printf_(4, 5);
/* Stop for good (the kind's stop(), then a fatal notice): error 0 means the input ended,
 * error < 0 that the source failed. */
void source_stop(Source *s, int error, const char *format, ...) _printf_(3, 4);

extern const SourceVTable source_kmsg_vtable;
extern const SourceVTable source_journal_vtable;
extern const SourceVTable source_file_vtable;
extern const SourceVTable source_stdin_vtable;
