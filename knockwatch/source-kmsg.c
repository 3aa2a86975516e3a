/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * source-kmsg.c — the kernel log read straight from /dev/kmsg.
 *
 * Provenance. Only records of facility 0 are the kernel's: the kernel files whatever
 * userspace writes to /dev/kmsg under a non-zero facility ("<4>…" becomes 12, "<0>…"
 * becomes 8, no prefix 12), so a forged "PORT_KNOCKING …" line never passes. Those
 * records are counted in stats.skipped. Of the kernel's records, only those whose text
 * starts with the prefix are delivered (the first line of the text; the continuation
 * lines " KEY=value" are ignored), as LOGLINE_FORM_KERNEL; the parser checks the rest.
 *
 * Timing. A record carries the kernel's printk clock (local_clock), which is not
 * CLOCK_MONOTONIC: the two drift apart by a few ppm (here the printk clock ran about
 * 2.5 ppm ahead), which is seconds after months of uptime. SourceLine.time must be on
 * CLOCK_MONOTONIC, so the offset between the clocks is estimated from the records read
 * (read time − TS, whose minimum over a recent window is the best estimate because the
 * logging delay is never negative; see kmsg-record.h) and time = TS + offset. A
 * record's own read counts as a sample before it is mapped, so time <= read_time.
 * After a resume, the backlog is timed with the offset saved with the position (the
 * drift between a stop and a restart is negligible) until live samples take over.
 *
 * Position. With a state directory, "kmsg.position" holds the boot id, the sequence
 * number of the last record handled and the clock offset. It is written at most once a
 * second after a change (a one-shot timer writes the last pending position; nothing
 * polls), on source_save_position() and when the source is freed. On open, a position
 * from this boot resumes after that record: the reader seeks to the oldest record; the
 * knock records up to the saved sequence number that are younger than max_age are handed
 * over again marked replayed (source.h: they rebuild the detector's progress, nothing
 * more), older ones are skipped; newer records are delivered unless they are older than
 * max_age. With no usable position the reader starts at the tail.
 *
 * Loss. A gap in the sequence numbers, or a read failing with EPIPE (our position was
 * overwritten; the next read returns the oldest record), adds the missing records to
 * stats.lost and gives one non-fatal notice per loss event.
 *
 * Cost. One read() per record is how /dev/kmsg works; per record there is a header
 * parse, a clock read and a few comparisons: no allocation and no formatting.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>

#include "errno-util.h"
#include "fd-util.h"
#include "kmsg-record.h"
#include "source-internal.h"
#include "state.h"
#include "string-util.h"
#include "time-util.h"

#define KMSG_PATH "/dev/kmsg"
#define KMSG_POSITION_FILE "kmsg.position"
#define KMSG_BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"
/* Records handled per event-loop turn; the fd stays readable, so the loop comes back. */
#define KMSG_RECORDS_PER_TURN 256U

typedef struct KmsgSource {
        int fd;
        sd_event_source *io;

        KmsgSeq seq;
        KmsgClock clock;
        char boot_id[KMSG_BOOT_ID_LEN + 1]; /* "" if unknown: no resume, no saving */

        bool resuming;                  /* reading the backlog after a resume */
        uint64_t resumed_after;         /* the saved sequence number */
        bool backlog_seen;
        uint64_t backlog_newest;
        uint64_t stale;                 /* backlog records older than max_age */

        bool overrun;                   /* the last read failed with EPIPE */
        bool malformed_reported;
        bool dirty;                     /* the position changed since the last save */
        int save_error;                 /* the last save failure, reported once */
        char *open_notice;              /* something open() wants said at attach */

        char buf[KMSG_RECORD_MAX];
} KmsgSource;

static int read_boot_id(char ret[static KMSG_BOOT_ID_LEN + 1]) {
        _cleanup_close_ int fd = -EBADF;
        char buf[KMSG_BOOT_ID_LEN + 2];
        ssize_t n;

        fd = open(KMSG_BOOT_ID_PATH, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof(buf));
        if (n < 0)
                return -errno;
        if (n != KMSG_BOOT_ID_LEN + 1 || buf[KMSG_BOOT_ID_LEN] != '\n' ||
            !kmsg_boot_id_valid(buf, KMSG_BOOT_ID_LEN))
                return -EBADMSG;
        memcpy(ret, buf, KMSG_BOOT_ID_LEN);
        ret[KMSG_BOOT_ID_LEN] = '\0';
        return 0;
}

/* Is kernel.dmesg_restrict set? (Then reading the kernel log needs CAP_SYSLOG.) */
static bool dmesg_restricted(void) {
        _cleanup_close_ int fd = -EBADF;
        char c = 0;

        fd = open("/proc/sys/kernel/dmesg_restrict", O_RDONLY | O_CLOEXEC);
        return fd >= 0 && read(fd, &c, 1) == 1 && c == '1';
}

static int open_error(char **ret_error, int error) {
        if (error != -EACCES && error != -EPERM)
                return set_error(ret_error, error, "cannot open %s: %s", KMSG_PATH, strerror(-error));
        if (dmesg_restricted())
                return set_error(ret_error, error, "cannot open %s: %s: reading the kernel log needs "
                                 "CAP_SYSLOG (kernel.dmesg_restrict=1) or root",
                                 KMSG_PATH, strerror(-error));
        return set_error(ret_error, error, "cannot open %s: %s: reading the kernel log needs read "
                         "access to %s (root, or CAP_SYSLOG)", KMSG_PATH, strerror(-error), KMSG_PATH);
}

/* Returns 1 and fills *ret if a position of this boot is saved, 0 if there is none to
 * use (the reason, if worth a notice, in d->open_notice), <0 if it cannot be read. */
static int load_position(Source *s, KmsgPosition *ret, char **ret_error) {
        KmsgSource *d = s->data;
        char text[STATE_FILE_MAX + 1];
        KmsgPosition pos;
        int n;

        if (!s->state_dir || d->boot_id[0] == '\0')
                return 0;
        n = state_read(s->state_dir, KMSG_POSITION_FILE, text, sizeof(text));
        if (n == -ENOENT)
                return 0;
        if (n < 0 && n != -EFBIG)
                return set_error(ret_error, n, "cannot read %s/%s: %s", s->state_dir,
                                 KMSG_POSITION_FILE, strerror(-n));
        if (n < 0 || kmsg_position_parse(text, (size_t) n, &pos) < 0) {
                (void) set_error(&d->open_notice, 0, "ignoring the malformed position in %s/%s; "
                                 "starting at the tail", s->state_dir, KMSG_POSITION_FILE);
                return d->open_notice ? 0 : -ENOMEM;
        }
        if (!streq(pos.boot_id, d->boot_id))
                return 0; /* another boot: its sequence numbers mean nothing now */
        *ret = pos;
        return 1;
}

static int save_position_now(Source *s);

/*
 * Start at the tail. With a position to keep, the records there are read (not delivered)
 * to learn the sequence number of the last one, and that is saved at once: a stop before
 * the first save then resumes from here, not from the tail of another moment (records
 * logged between a quick stop and start would be skipped). Without, a seek does.
 */
static int seek_tail(Source *s) {
        KmsgSource *d = s->data;
        char buf[KMSG_RECORD_MAX];

        if (!s->state_dir || d->boot_id[0] == '\0')
                return lseek(d->fd, 0, SEEK_END) < 0 ? -errno : 0;
        if (lseek(d->fd, 0, SEEK_SET) < 0)
                return -errno;
        for (;;) {
                usec_t read_time;
                KmsgRecord rec;
                ssize_t n;

                n = read(d->fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EPIPE)
                        continue; /* overwritten while we read: go on from the oldest left */
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                read_time = now_usec(CLOCK_MONOTONIC);
                if (kmsg_record_parse(buf, (size_t) n, &rec) < 0)
                        continue;
                d->seq = (KmsgSeq) { .known = true, .last = rec.seq };
                kmsg_clock_sample(&d->clock, rec.timestamp, read_time);
        }
        d->dirty = d->seq.known;
        (void) save_position_now(s);
        return 0;
}

static int kmsg_open(Source *s, const char *path, char **ret_error) {
        KmsgSource *d;
        KmsgPosition pos;
        int r;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->fd = -EBADF;
        s->data = d;

        d->fd = open(KMSG_PATH, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (d->fd < 0)
                return open_error(ret_error, -errno);

        /* Without a boot id a saved sequence number could be another boot's: no resume. */
        if (read_boot_id(d->boot_id) < 0)
                d->boot_id[0] = '\0';

        r = load_position(s, &pos, ret_error);
        if (r < 0)
                return r;
        if (r > 0) {
                if (lseek(d->fd, 0, SEEK_SET) < 0)
                        return open_error(ret_error, -errno);
                d->seq = (KmsgSeq) { .known = true, .last = pos.seq };
                kmsg_clock_seed(&d->clock, pos.offset, now_usec(CLOCK_MONOTONIC));
                d->resuming = true;
                d->resumed_after = pos.seq;
                return source_set_description(s, "kmsg (%s, resumed after seq %" PRIu64 ")",
                                              KMSG_PATH, pos.seq);
        }
        r = seek_tail(s);
        if (r < 0)
                return open_error(ret_error, r);
        return source_set_description(s, "kmsg (%s, from the tail)", KMSG_PATH);
}

static int save_position_now(Source *s) {
        KmsgSource *d = s->data;
        char text[KMSG_POSITION_STRLEN];
        KmsgPosition pos = {
                .seq = d->seq.last,
                .offset = d->clock.offset,
        };
        size_t n;
        int r;

        if (!s->state_dir || d->boot_id[0] == '\0' || !d->seq.known || !d->clock.known || !d->dirty)
                return 0;
        memcpy(pos.boot_id, d->boot_id, sizeof(pos.boot_id));
        n = kmsg_position_format(&pos, text);
        /* No fsync: a position matters only within its boot (it names the boot id), and
         * what survives a crash of the process is the page cache, which has it. Saves come
         * before every grant, so they must be cheap. */
        r = state_write_full(s->state_dir, KMSG_POSITION_FILE, text, n, 0600, STATE_WRITE_NO_SYNC);
        if (r < 0) {
                if (r != d->save_error)
                        source_notice(s, r, false, "cannot save the position to %s/%s: %s",
                                      s->state_dir, KMSG_POSITION_FILE, strerror(-r));
                d->save_error = r;
                return r;
        }
        d->save_error = 0;
        d->dirty = false;
        return 0;
}

static void schedule_save(Source *s) {
        KmsgSource *d = s->data;

        if (d->dirty && d->boot_id[0] != '\0')
                source_save_soon(s);
}

static void report_loss(Source *s, uint64_t lost) {
        KmsgSource *d = s->data;

        s->stats.lost += lost;
        if (d->resuming && !d->overrun)
                source_notice(s, 0, false, "kernel log: %" PRIu64 " records lost since the saved "
                              "position (seq %" PRIu64 ")", lost, d->resumed_after);
        else
                source_notice(s, 0, false, "kernel log overrun: %" PRIu64 " records lost", lost);
}

static void handle_record(Source *s, size_t n, usec_t read_time) {
        KmsgSource *d = s->data;
        KmsgRecord rec;
        uint64_t lost;
        bool handled;
        usec_t time;

        if (_unlikely_(kmsg_record_parse(d->buf, n, &rec) < 0)) {
                s->stats.skipped++;
                if (!d->malformed_reported)
                        source_notice(s, -EBADMSG, false, "malformed %s record ignored (%zu bytes)",
                                      KMSG_PATH, n);
                d->malformed_reported = true;
                return;
        }
        if (d->resuming) {
                d->backlog_newest = d->backlog_seen ? MAX(d->backlog_newest, rec.seq) : rec.seq;
                d->backlog_seen = true;
        }
        handled = !kmsg_seq_advance(&d->seq, rec.seq, &lost); /* before the restart */
        if (!handled) {
                if (_unlikely_(lost > 0))
                        report_loss(s, lost);
                else if (_unlikely_(d->overrun))
                        source_notice(s, 0, false, "kernel log overrun: records lost");
                d->overrun = false;
                d->dirty = true;
                kmsg_clock_sample(&d->clock, rec.timestamp, read_time);
        }

        if (kmsg_record_facility(&rec) != 0) {
                if (!handled)
                        s->stats.skipped++; /* written from userspace */
                return;
        }
        if (rec.text_len < STRLEN(LOGLINE_PREFIX) ||
            memcmp(rec.text, LOGLINE_PREFIX, STRLEN(LOGLINE_PREFIX)) != 0)
                return;

        time = kmsg_clock_map(&d->clock, rec.timestamp);
        if (d->resuming && s->max_age > 0 && read_time > time && read_time - time > s->max_age) {
                d->stale += !handled;
                s->stats.stale += !handled;
                return;
        }
        if (handled) {
                /* Within the window: the detector rebuilds its progress from it. */
                if (s->max_age > 0)
                        (void) source_replay(s, rec.text, rec.text_len, LOGLINE_FORM_KERNEL, time, read_time);
                return;
        }
        (void) source_deliver(s, rec.text, rec.text_len, LOGLINE_FORM_KERNEL, time, read_time);
}

/* The first EAGAIN after a resume: the backlog is done. */
static void end_backlog(Source *s) {
        KmsgSource *d = s->data;

        d->resuming = false;
        if (d->backlog_seen && d->backlog_newest < d->resumed_after) {
                /* The saved position is ahead of this kernel's log (a copied state
                 * directory?): skipping up to it would drop new records. */
                d->seq.last = d->backlog_newest;
                source_notice(s, 0, false, "saved position (seq %" PRIu64 ") is ahead of the kernel "
                              "log (newest seq %" PRIu64 "); continuing from there",
                              d->resumed_after, d->backlog_newest);
        }
        if (d->stale > 0)
                source_notice(s, 0, false, "resumed: %" PRIu64 " knock records older than %" PRIu64
                              " ms not delivered", d->stale, s->max_age / USEC_PER_MSEC);
}

static void kmsg_stop(Source *s) {
        KmsgSource *d = s->data;

        (void) sd_event_source_set_enabled(d->io, SD_EVENT_OFF);
}

/* Read at most max records (UINT_MAX: until there are none). */
static void read_records(Source *s, unsigned max) {
        KmsgSource *d = s->data;

        for (unsigned i = 0; i < max; i++) {
                ssize_t n = read(d->fd, d->buf, sizeof(d->buf));

                if (n < 0) {
                        int error = -errno;

                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                if (d->resuming)
                                        end_backlog(s);
                                break;
                        }
                        if (errno == EPIPE) {
                                /* Overwritten before we read it; the next read returns the
                                 * oldest record left, and its seq tells how many. */
                                d->overrun = true;
                                continue;
                        }
                        /* EINVAL (a record larger than the buffer) would repeat forever. */
                        source_end_batch(s);
                        source_stop(s, error, "reading %s: %s", KMSG_PATH, strerror(-error));
                        return;
                }
                if (n == 0)
                        break;
                handle_record(s, (size_t) n, now_usec(CLOCK_MONOTONIC));
        }
        source_end_batch(s);
        schedule_save(s);
}

static int on_kmsg(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        read_records(userdata, KMSG_RECORDS_PER_TURN);
        return 0;
}

static int kmsg_flush(Source *s) {
        read_records(s, UINT_MAX);
        return 0;
}

static int kmsg_attach(Source *s) {
        KmsgSource *d = s->data;
        int r;

        r = sd_event_add_io(s->event, &d->io, d->fd, EPOLLIN, on_kmsg, s);
        if (r < 0)
                return r;
        if (d->open_notice) {
                source_notice(s, 0, false, "%s", d->open_notice);
                free(d->open_notice);
                d->open_notice = NULL;
        }
        return 0;
}

static int kmsg_save_position(Source *s) {
        return save_position_now(s);
}

static void kmsg_done(Source *s) {
        KmsgSource *d = s->data;

        if (!d)
                return;
        (void) save_position_now(s);
        sd_event_source_disable_unref(d->io);
        (void) safe_close(d->fd);
        free(d->open_notice);
        free(d);
        s->data = NULL;
}

const SourceVTable source_kmsg_vtable = {
        .name = "kmsg",
        .open = kmsg_open,
        .attach = kmsg_attach,
        .stop = kmsg_stop,
        .flush = kmsg_flush,
        .save_position = kmsg_save_position,
        .done = kmsg_done,
};
