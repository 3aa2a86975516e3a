/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * source-stdin.c — lines from standard input ("--source -"), for replay and tests.
 * Any of the three text forms is accepted (LOGLINE_FORM_ANY); each line is timed
 * when it is read. At the end of input the source reports itself ended (a fatal
 * notice with error 0), so the daemon commits what it has and exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "linebuf.h"
#include "source-internal.h"
#include "time-util.h"

typedef struct StdinSource {
        LineBuffer lines;
        sd_event_source *io;
        usec_t read_time;
} StdinSource;

static int stdin_open(Source *s, const char *path, char **ret_error) {
        StdinSource *d;
        int flags, r;

        flags = fcntl(STDIN_FILENO, F_GETFL);
        if (flags < 0)
                return -errno;
        if (fcntl(STDIN_FILENO, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        s->data = d;
        r = linebuf_init(&d->lines, LOGLINE_LINE_MAX);
        if (r < 0)
                return r;
        return source_set_description(s, "standard input");
}

static int deliver_line(const char *line, size_t len, void *userdata) {
        Source *s = userdata;
        StdinSource *d = s->data;

        (void) source_deliver(s, line, len, LOGLINE_FORM_ANY, d->read_time, d->read_time);
        return 0;
}

/* Read what is there (at most 64 KiB a turn, so other events are not starved). */
static int read_chunk(Source *s) {
        StdinSource *d = s->data;
        char buf[65536];
        ssize_t n;

        n = read(STDIN_FILENO, buf, sizeof(buf));
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        d->read_time = now_usec(CLOCK_MONOTONIC);
        if (n == 0) {
                (void) linebuf_finish(&d->lines, deliver_line, s);
                source_end_batch(s);
                source_stop(s, 0, "end of input");
                return 0;
        }
        (void) linebuf_feed(&d->lines, buf, (size_t) n, deliver_line, s);
        source_end_batch(s);
        return 0;
}

static int on_stdin(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Source *s = userdata;
        int r;

        r = read_chunk(s);
        if (r < 0)
                source_stop(s, r, "reading standard input failed");
        return 0;
}

/* A regular file on stdin cannot be polled; read it from a defer source instead. */
static int on_stdin_defer(sd_event_source *es, void *userdata) {
        return on_stdin(es, STDIN_FILENO, 0, userdata);
}

static int stdin_attach(Source *s) {
        StdinSource *d = s->data;
        int r;

        r = sd_event_add_io(s->event, &d->io, STDIN_FILENO, EPOLLIN, on_stdin, s);
        if (r == -EPERM) {
                r = sd_event_add_defer(s->event, &d->io, on_stdin_defer, s);
                if (r >= 0)
                        r = sd_event_source_set_enabled(d->io, SD_EVENT_ON);
        }
        return r;
}

static void stdin_stop(Source *s) {
        StdinSource *d = s->data;

        (void) sd_event_source_set_enabled(d->io, SD_EVENT_OFF);
}

static void stdin_done(Source *s) {
        StdinSource *d = s->data;

        if (!d)
                return;
        sd_event_source_disable_unref(d->io);
        linebuf_done(&d->lines);
        free(d);
}

const SourceVTable source_stdin_vtable = {
        .name = "stdin",
        .open = stdin_open,
        .attach = stdin_attach,
        .stop = stdin_stop,
        .done = stdin_done,
};
