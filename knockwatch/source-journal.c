/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * source-journal.c — kernel LOG lines read from the systemd journal (sd-journal).
 *
 * Provenance: only entries with _TRANSPORT=kernel and SYSLOG_FACILITY=0 of the current
 * boot are delivered. journald sets _TRANSPORT itself, and the kernel files whatever
 * userspace writes to /dev/kmsg under a non-zero facility, so no local client can make
 * an entry carrying both (TECH-NOTES 2). Of those, only a MESSAGE that starts with the
 * LOG prefix is handed on, cut to LOGLINE_LINE_MAX + 1 bytes.
 *
 * Time: when the kernel logged the line — the entry's _SOURCE_MONOTONIC_TIMESTAMP, on the
 * kernel's printk clock, mapped to CLOCK_MONOTONIC as the kmsg source does — however late
 * journald hands it to readers (about 0.4 s, more when it is busy). Of the backlog a
 * resumed reader finds (entries journald held before the source opened), knock lines
 * older than max_age are counted stale and not delivered, so a restart cannot act on old
 * knocks; later entries are live and always delivered.
 *
 * Position: the cursor of the last entry read goes to STATE_DIR/journal.cursor, at
 * most once a second (a one-shot timer writes the last one of a burst), whenever the
 * position is saved explicitly (the daemon does before each grant) or the source is freed,
 * and at open from the tail (the tail entry's, so a quick stop resumes from there). On
 * open, a usable cursor resumes after that entry; otherwise reading starts at the tail.
 * Resuming, the reader first goes back max_age and hands over again, marked replayed, the
 * knock lines up to the saved entry (source.h); the position is not saved while it
 * replays.
 *
 * Work per event-loop turn is bounded (JOURNAL_TURN_MAX entries); a larger backlog is
 * continued from a one-shot defer source at idle priority, so other events are never
 * starved. The batch callback runs after every turn that delivered a line.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-id128.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "errno-util.h"
#include "kmsg-record.h"
#include "parse-util.h"
#include "source-internal.h"
#include "state.h"
#include "time-util.h"

#define JOURNAL_CURSOR_FILE "journal.cursor"
/* Entries read per event-loop turn before the rest of a backlog is left for the next one. */
#define JOURNAL_TURN_MAX 10000U
/* LOG messages are under 1 KiB; do not decompress more than this of any field. */
#define JOURNAL_DATA_THRESHOLD 4096U

typedef struct JournalSource {
        sd_journal *journal;
        sd_id128_t boot_id;
        /* Positioned on an entry that is not handled yet (the saved cursor's entry was
         * vacuumed, and seeking landed on the one after it). */
        bool on_unhandled;
        /* Replaying after a resume: entries up to the saved one (its cursor, and its
         * monotonic time) are handed over again marked replayed. NULL when not. */
        char *replay_cursor;
        usec_t replay_until;

        sd_event_source *io;
        sd_event_source *more;          /* defer: continue a drain cut at JOURNAL_TURN_MAX */
        sd_event_source *timeout;       /* only where sd_journal_get_timeout() asks for one */

        char *cursor;                   /* of the last entry read, NULL before the first */
        bool cursor_dirty;              /* not yet written */
        bool save_failing;              /* the last write failed (notice once per failure run) */

        usec_t opened;                  /* CLOCK_MONOTONIC: entries up to it are a backlog */
        KmsgClock clock;                /* the kernel's clock (_SOURCE_MONOTONIC_TIMESTAMP) */
} JournalSource;

static int add_matches(JournalSource *d) {
        int r;

        /* Different fields are ANDed. Each entry's boot is checked when it is read, not
         * matched here: a third term costs about a fifth of the read rate, and only a
         * cursor from an earlier boot has entries of another boot after it. */
        r = sd_journal_add_match(d->journal, "_TRANSPORT=kernel", 0);
        if (r < 0)
                return r;
        return sd_journal_add_match(d->journal, "SYSLOG_FACILITY=0", 0);
}

/*
 * sd_journal_open() succeeds even when none of the system journal's files can be read
 * (the caller is not root and not in group systemd-journal or adm); it then simply shows
 * nothing, forever. Tell that apart from "journald has not written anything yet".
 * Returns 1 if files are open, 0 if there are none yet, -EACCES (with *ret_error) if
 * they exist but cannot be read.
 */
static int check_system_journal_readable(JournalSource *d, char **ret_error) {
        static const char *const roots[] = { "/run/log/journal", "/var/log/journal" };
        sd_id128_t machine_id;
        int r;

        if (sd_journal_has_runtime_files(d->journal) > 0 ||
            sd_journal_has_persistent_files(d->journal) > 0)
                return 1;

        r = sd_id128_get_machine(&machine_id);
        if (r < 0)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(roots); i++) {
                char path[128];

                (void) snprintf(path, sizeof(path), "%s/%s/system.journal", roots[i],
                                SD_ID128_TO_STRING(machine_id));
                if (faccessat(AT_FDCWD, path, R_OK, AT_EACCESS) >= 0 || errno == ENOENT)
                        continue;
                if (errno != EACCES && errno != EPERM)
                        continue;
                return set_error(ret_error, -EACCES,
                                 "cannot read the system journal (%s: %s): run as root or "
                                 "in group systemd-journal (or adm)", path, strerror(errno));
        }
        return 0;
}

/* Read and check the saved cursor: one line of printable ASCII. */
static int read_cursor(Source *s, char *buf, size_t size) {
        int r;

        r = state_read(s->state_dir, JOURNAL_CURSOR_FILE, buf, size);
        if (r < 0)
                return r;
        while (r > 0 && (buf[r - 1] == '\n' || buf[r - 1] == ' '))
                buf[--r] = '\0';
        if (r == 0)
                return -EINVAL;
        for (int i = 0; i < r; i++)
                if (buf[i] <= ' ' || buf[i] > '~')
                        return -EINVAL;
        return 0;
}

/* On the saved entry: if it is younger than max_age, go back max_age, so that the knocks
 * up to it rebuild the detector's progress. */
static int seek_replay(JournalSource *d, const char *cursor, usec_t max_age) {
        usec_t now = now_usec(CLOCK_MONOTONIC), t;
        sd_id128_t boot_id;
        int r;

        if (max_age == 0)
                return 0;
        r = sd_journal_get_monotonic_usec(d->journal, &t, &boot_id);
        if (r < 0 || !sd_id128_equal(boot_id, d->boot_id) || t > now || now - t > max_age)
                return 0; /* nothing of it is inside the window */
        d->replay_cursor = strdup(cursor);
        if (!d->replay_cursor)
                return -ENOMEM;
        d->replay_until = t;
        return sd_journal_seek_monotonic_usec(d->journal, d->boot_id, now > max_age ? now - max_age : 0);
}

static void take_cursor(Source *s);
static int write_cursor(Source *s);

static void stop_replay(JournalSource *d) {
        d->replay_cursor = mfree(d->replay_cursor);
}

static int seek_cursor(JournalSource *d, const char *cursor, usec_t max_age) {
        int r;

        r = sd_journal_seek_cursor(d->journal, cursor);
        if (r < 0)
                return r;
        r = sd_journal_next(d->journal);
        if (r <= 0)
                return r; /* 0: nothing at or after the cursor yet; what comes is new */
        r = sd_journal_test_cursor(d->journal, cursor);
        if (r < 0)
                return r;
        /* > 0: on the saved entry, already handled. 0: it was vacuumed and this is the
         * first entry after it, which has not been handled. */
        d->on_unhandled = r == 0;
        return r > 0 ? seek_replay(d, cursor, max_age) : 0;
}

static int seek_tail(JournalSource *d) {
        int r;

        r = sd_journal_seek_tail(d->journal);
        if (r < 0)
                return r;
        /* On v252, next() right after seek_tail() returns the last existing entry (and
         * after new ones arrive, only the newest of them): step onto the last entry, so
         * that next() moves past it. */
        r = sd_journal_previous(d->journal);
        if (r != 0)
                return r < 0 ? r : 0;
        /* Nothing matches yet: everything that arrives is new, read it from the start. */
        return sd_journal_seek_head(d->journal);
}

/* Position the journal; returns the description's "(…)" part in *ret_how. */
static int seek_start(Source *s, char **ret_how) {
        JournalSource *d = s->data;
        char cursor[STATE_FILE_MAX];
        int r;

        r = s->state_dir ? read_cursor(s, cursor, sizeof(cursor)) : -ENOENT;
        if (r >= 0) {
                r = seek_cursor(d, cursor, s->max_age);
                if (r >= 0)
                        return (*ret_how = strdup("resumed from cursor")) ? 0 : -ENOMEM;
        }
        if (r == -ENOENT)
                *ret_how = strdup("from the tail");
        else
                (void) set_error(ret_how, r, "from the tail: saved cursor unusable: %s", strerror(-r));
        if (!*ret_how)
                return -ENOMEM;
        d->on_unhandled = false;
        return seek_tail(d);
}

static int journal_open(Source *s, const char *path, char **ret_error) {
        _cleanup_free_ char *how = NULL;
        const char *what = s->journal_dir ?: "the system journal";
        JournalSource *d;
        int r, files;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        s->data = d;

        r = sd_id128_get_boot(&d->boot_id);
        if (r < 0)
                return set_error(ret_error, r, "cannot read the boot id: %s", strerror(-r));

        if (s->journal_dir)
                r = sd_journal_open_directory(&d->journal, s->journal_dir, 0);
        else
                r = sd_journal_open(&d->journal, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r < 0)
                return set_error(ret_error, r, "cannot open %s: %s", what, strerror(-r));

        /* Straight after opening, so that no change between here and the first read is
         * missed. */
        r = sd_journal_get_fd(d->journal);
        if (r == -EMFILE)
                return set_error(ret_error, r,
                                 "cannot watch %s for changes: no inotify instance or file "
                                 "descriptor left (fs.inotify.max_user_instances, ulimit -n)", what);
        if (r < 0)
                return set_error(ret_error, r, "cannot watch %s for changes: %s", what, strerror(-r));

        r = add_matches(d);
        if (r < 0)
                return set_error(ret_error, r, "cannot filter %s: %s", what, strerror(-r));
        r = sd_journal_set_data_threshold(d->journal, JOURNAL_DATA_THRESHOLD);
        if (r < 0)
                return r;

        if (s->journal_dir)
                files = 1;
        else {
                files = check_system_journal_readable(d, ret_error);
                if (files < 0)
                        return files;
        }

        r = seek_start(s, &how);
        if (r < 0)
                return set_error(ret_error, r, "cannot seek in %s: %s", what, strerror(-r));
        d->opened = now_usec(CLOCK_MONOTONIC);
        /* From the tail, the tail entry's cursor is saved at once: a stop before the first
         * save then resumes from here, and what was logged in between is not skipped. */
        if (!d->replay_cursor && !d->on_unhandled) {
                take_cursor(s);
                (void) write_cursor(s);
        }

        return source_set_description(s, "journal%s%s (%s%s)", s->journal_dir ? " " : "",
                                      s->journal_dir ?: "", how,
                                      files ? "" : "; no system journal files yet");
}

/* Write the cursor of the last entry read, if it changed. Quiet: no notice (when freeing,
 * the daemon's handlers may be gone). */
static int write_cursor(Source *s) {
        JournalSource *d = s->data;
        char buf[STATE_FILE_MAX];
        size_t len;
        int r;

        if (!s->state_dir || !d->cursor_dirty)
                return 0;
        len = strlen(d->cursor);
        if (len + 1 >= sizeof(buf))
                return -E2BIG;
        memcpy(buf, d->cursor, len);
        buf[len++] = '\n';

        /* No fsync: saves come before every grant and must be cheap, and what survives a
         * crash of the process is the page cache, which has it. After a crash of the
         * machine, an older cursor replays a little, and knocks of another boot never
         * count. */
        r = state_write_full(s->state_dir, JOURNAL_CURSOR_FILE, buf, len, 0600, STATE_WRITE_NO_SYNC);
        if (r < 0)
                return r;
        d->cursor_dirty = false;
        return 0;
}

static int save_cursor(Source *s) {
        JournalSource *d = s->data;
        int r;

        r = write_cursor(s);
        if (r < 0 && !d->save_failing)
                source_notice(s, r, false, "cannot save the journal position to %s/%s: %s",
                              s->state_dir, JOURNAL_CURSOR_FILE, strerror(-r));
        d->save_failing = r < 0;
        return r;
}

/* Take the cursor of the entry the journal is on: handled, and not behind the saved one
 * (which it is while replaying). */
static void take_cursor(Source *s) {
        JournalSource *d = s->data;
        char *cursor;

        if (!s->state_dir || d->replay_cursor || d->on_unhandled ||
            sd_journal_get_cursor(d->journal, &cursor) < 0)
                return;
        if (d->cursor && streq(d->cursor, cursor)) {
                free(cursor);
                return;
        }
        free(d->cursor);
        d->cursor = cursor;
        d->cursor_dirty = true;
}

static void remember_position(Source *s) {
        take_cursor(s);
        if (((JournalSource *) s->data)->cursor_dirty)
                source_save_soon(s);
}

/*
 * When the kernel logged the entry the journal is on: its _SOURCE_MONOTONIC_TIMESTAMP, the
 * kernel's printk clock, mapped to CLOCK_MONOTONIC as the kmsg source does (kmsg-record.h:
 * the offset between the clocks is the least of "when journald got it − when the kernel
 * logged it"). journal_time (journald's own stamp) stands in without the field.
 */
static usec_t entry_kernel_time(JournalSource *d, usec_t journal_time) {
        const void *data;
        uint64_t ts;
        size_t len;

        if (sd_journal_get_data(d->journal, "_SOURCE_MONOTONIC_TIMESTAMP", &data, &len) < 0 ||
            len <= STRLEN("_SOURCE_MONOTONIC_TIMESTAMP=") ||
            parse_uint((const char *) data + STRLEN("_SOURCE_MONOTONIC_TIMESTAMP="),
                       len - STRLEN("_SOURCE_MONOTONIC_TIMESTAMP="), INT64_MAX, &ts) < 0)
                return journal_time;
        kmsg_clock_sample(&d->clock, ts, journal_time);
        return MIN(kmsg_clock_map(&d->clock, ts), journal_time);
}

/* The entry the journal is on. *now is the turn's clock, refreshed when an entry written
 * during the turn is newer. Returns 1 if a line was delivered, 0 if not. */
static int handle_entry(Source *s, usec_t *now) {
        JournalSource *d = s->data;
        const void *data;
        const char *text;
        sd_id128_t boot_id;
        bool replayed = false;
        usec_t time;
        size_t len;
        int r;

        r = sd_journal_get_monotonic_usec(d->journal, &time, &boot_id);
        if (r < 0 || !sd_id128_equal(boot_id, d->boot_id))
                return 0;
        if (d->replay_cursor) {
                /* Up to and including the saved entry; past its time if it has gone. */
                replayed = time <= d->replay_until;
                if (!replayed || sd_journal_test_cursor(d->journal, d->replay_cursor) > 0)
                        stop_replay(d);
        }
        if (time > *now)
                *now = now_usec(CLOCK_MONOTONIC);
        if (time > *now) /* not a stamp journald took in this boot */
                return 0;

        /* Only MESSAGE; it comes as "MESSAGE=…", not NUL-terminated. A broken entry is
         * skipped, not fatal. */
        r = sd_journal_get_data(d->journal, "MESSAGE", &data, &len);
        if (r < 0 || len < STRLEN("MESSAGE=") || memcmp(data, "MESSAGE=", STRLEN("MESSAGE=")) != 0)
                return 0;
        text = (const char *) data + STRLEN("MESSAGE=");
        len -= STRLEN("MESSAGE=");
        if (len < STRLEN(LOGLINE_PREFIX) || memcmp(text, LOGLINE_PREFIX, STRLEN(LOGLINE_PREFIX)) != 0)
                return 0;

        /* The backlog a resumed reader finds (what journald held before the source opened):
         * nothing older than max_age counts, so a restart cannot act on old knocks. What
         * arrives later is live, however late journald hands it over. */
        if (!replayed && s->max_age > 0 && time <= d->opened && *now - time > s->max_age) {
                s->stats.stale++;
                return 0;
        }

        len = MIN(len, (size_t) LOGLINE_LINE_MAX + 1);
        time = entry_kernel_time(d, time);
        if (replayed) {
                (void) source_replay(s, text, len, LOGLINE_FORM_KERNEL, time, now_usec(CLOCK_MONOTONIC));
                return 0;
        }
        (void) source_deliver(s, text, len, LOGLINE_FORM_KERNEL, time, now_usec(CLOCK_MONOTONIC));
        return 1;
}

/* Read what is new, at most JOURNAL_TURN_MAX entries; the rest is left to the defer
 * source, so one huge backlog costs many short turns rather than one long one. */
static void drain(Source *s) {
        JournalSource *d = s->data;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        unsigned n, delivered = 0;
        int r;

        for (n = 0; n < JOURNAL_TURN_MAX; n++) {
                if (d->on_unhandled)
                        d->on_unhandled = false;
                else {
                        r = sd_journal_next(d->journal);
                        if (r < 0) {
                                source_notice(s, r, false, "reading the journal failed: %s", strerror(-r));
                                break;
                        }
                        if (r == 0)
                                break;
                }
                if (handle_entry(s, &now) > 0)
                        delivered++;
        }

        if (n == JOURNAL_TURN_MAX)
                (void) sd_event_source_set_enabled(d->more, SD_EVENT_ONESHOT);
        /* The daemon saves the position itself before it commits a grant (so that a crash
         * never grants twice); the throttled save below covers everything else. */
        if (delivered > 0)
                source_end_batch(s);
        /* next() returning 0 leaves the journal on the last entry. While replaying, the
         * position is behind the saved one: keep that. */
        if (n > 0 && !d->replay_cursor)
                remember_position(s);
}

static int on_journal_timeout(sd_event_source *es, uint64_t usec, void *userdata);

/* Only journals on network file systems ask for a timer (no inotify there). */
static int rearm_timeout(Source *s) {
        JournalSource *d = s->data;
        uint64_t t;
        int r;

        r = sd_journal_get_timeout(d->journal, &t);
        if (r < 0)
                return r;
        if (t == UINT64_MAX)
                return d->timeout ? sd_event_source_set_enabled(d->timeout, SD_EVENT_OFF) : 0;
        if (!d->timeout)
                return sd_event_add_time(s->event, &d->timeout, CLOCK_MONOTONIC, t, 0,
                                         on_journal_timeout, s);
        r = sd_event_source_set_time(d->timeout, t);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(d->timeout, SD_EVENT_ONESHOT);
}

static void process_and_drain(Source *s) {
        JournalSource *d = s->data;
        int r;

        /* SD_JOURNAL_APPEND and SD_JOURNAL_INVALIDATE (files added, rotated, vacuumed,
         * journald restarted) alike: the position is kept across files, so reading on with
         * next() is right for both; entries that show up before the position were read. */
        r = sd_journal_process(d->journal);
        if (r < 0)
                source_notice(s, r, false, "processing journal changes failed: %s", strerror(-r));
        drain(s);
        r = rearm_timeout(s);
        if (r < 0)
                source_notice(s, r, false, "cannot arm the journal timer: %s", strerror(-r));
}

static int on_journal_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        process_and_drain(userdata);
        return 0;
}

static int on_journal_timeout(sd_event_source *es, uint64_t usec, void *userdata) {
        process_and_drain(userdata);
        return 0;
}

static int on_more(sd_event_source *es, void *userdata) {
        drain(userdata);
        return 0;
}

/* Everything journald has written so far, also beyond one turn's budget. */
static int journal_flush(Source *s) {
        JournalSource *d = s->data;
        int enabled = SD_EVENT_OFF;

        (void) sd_event_source_set_enabled(d->more, SD_EVENT_OFF);
        process_and_drain(s);
        for (unsigned i = 0; i < 1024; i++) {
                if (sd_event_source_get_enabled(d->more, &enabled) < 0 || enabled == SD_EVENT_OFF)
                        break;
                (void) sd_event_source_set_enabled(d->more, SD_EVENT_OFF);
                drain(s);
        }
        return 0;
}

static int journal_attach(Source *s) {
        JournalSource *d = s->data;
        int fd, events, r;

        fd = sd_journal_get_fd(d->journal);
        if (fd < 0)
                return fd;
        events = sd_journal_get_events(d->journal);
        if (events < 0)
                return events;
        r = sd_event_add_io(s->event, &d->io, fd, (uint32_t) events, on_journal_io, s);
        if (r < 0)
                return r;
        /* Defer sources start as one-shot and enabled: the first turn reads what arrived
         * after the start position (a backlog since the saved cursor, or a race with open).
         * At idle priority: an enabled defer source stays pending, and sd-event dispatches
         * the longest-pending source of a priority first, so at the same priority as the
         * daemon's timers and sockets it would run turn after turn ahead of them. */
        r = sd_event_add_defer(s->event, &d->more, on_more, s);
        if (r < 0)
                return r;
        r = sd_event_source_set_priority(d->more, SD_EVENT_PRIORITY_IDLE);
        if (r < 0)
                return r;
        return rearm_timeout(s);
}

static int journal_save_position(Source *s) {
        /* Called also in the middle of a drain (before a grant is committed): the entry the
         * journal is on is the one that completed it. */
        take_cursor(s);
        return save_cursor(s);
}

static void journal_done(Source *s) {
        JournalSource *d = s->data;

        if (!d)
                return;
        if (d->journal)
                (void) write_cursor(s);
        sd_event_source_disable_unref(d->io);
        sd_event_source_disable_unref(d->more);
        sd_event_source_disable_unref(d->timeout);
        sd_journal_close(d->journal);
        free(d->cursor);
        free(d->replay_cursor);
        free(d);
        s->data = NULL;
}

const SourceVTable source_journal_vtable = {
        .name = "journal",
        .open = journal_open,
        .attach = journal_attach,
        .save_position = journal_save_position,
        .flush = journal_flush,
        .done = journal_done,
};
