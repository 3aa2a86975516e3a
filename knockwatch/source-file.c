/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * source-file.c — a syslog text file (/var/log/kern.log …) followed by name, with
 * inotify only: nothing polls.
 *
 * Trust. A text file cannot prove that a line came from the kernel (anyone who can log
 * to the syslog socket can get a "kernel:" line into kern.log), so attaching says so in
 * a notice. What can be checked is refused at open, and again for every file that
 * later takes the name: a file that is not regular, that group or others can write, or
 * that is owned by someone other than root or us; a directory that group or others can
 * write without the sticky bit, or owned by someone else (they could swap the file).
 * Lines are delivered as LOGLINE_FORM_SYSLOG and timed when read; the parser checks the
 * "kernel:" tag. Lines that do not contain the prefix at all cannot be ours and are not
 * delivered; every other line is, whatever its tag.
 *
 * Following. Reading starts at the end of the file (no replay; the rest of a partial
 * last line is dropped). Appends are read in 64 KiB chunks, a few per event-loop turn,
 * a defer source continuing a large backlog so other events are not starved. A partial
 * last line is kept until its '\n' arrives (linebuf).
 *   - rename or delete rotation: the old file is kept and read for as long as it grows,
 *     the file that now has the name is opened (mode checked) and read from its start
 *     once it holds data, and only after the old one is drained; so lines the writer
 *     still puts in the old file before it reopens (logrotate's create, then HUP) are not
 *     lost. The unfinished last line of the old file, if any, is dropped.
 *   - copytruncate (the file became shorter than what was read): read it again from
 *     offset 0, dropping the partial line, with a notice.
 *   - a name missing at start: wait for it (watching the directory) and read it from
 *     its start; a missing directory is an error, and a directory moved (or, as seen at
 *     the next event about the name, removed) later stops the source with a fatal
 *     notice, since files under the name would not be seen any more.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <stdarg.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "errno-util.h"
#include "fd-util.h"
#include "linebuf.h"
#include "source-internal.h"
#include "string-util.h"
#include "time-util.h"

#define FILE_CHUNK (64U * 1024U)
#define FILE_CHUNKS_PER_TURN 4U

typedef struct FileHandle {
        int fd;                 /* -EBADF: none */
        int wd;                 /* its inotify watch, or -1 */
        dev_t dev;
        ino_t ino;
        uint64_t offset;        /* bytes consumed */
} FileHandle;

typedef struct FileSource {
        char *path;
        char *dir;
        char *name;

        int inotify_fd;
        int dir_wd;
        dev_t dir_dev;
        ino_t dir_ino;
        sd_event_source *io;
        sd_event_source *work;  /* one-shot defer: continue reading next turn */

        FileHandle cur;         /* being read; none while the name is missing at start */
        FileHandle next;        /* the file now under the name, after cur was rotated away */
        bool check_name;        /* the name may point to another file: look */
        bool missing_at_open;
        bool stopped;

        LineBuffer lines;
        usec_t read_time;
        char buf[FILE_CHUNK];
} FileSource;

static const FileHandle handle_none = { .fd = -EBADF, .wd = -1 };

static bool writable_by_others(mode_t mode) {
        return (mode & (S_IWGRP | S_IWOTH)) != 0;
}

static bool owner_trusted(uid_t uid) {
        return uid == 0 || uid == geteuid();
}

/* The checks of a file that takes the name. Returns 0, or -EBADFD with *ret_error. */
static int check_file(const char *path, const struct stat *st, char **ret_error) {
        if (!S_ISREG(st->st_mode))
                return set_error(ret_error, -EBADFD, "refusing %s: not a regular file", path);
        if (writable_by_others(st->st_mode))
                return set_error(ret_error, -EBADFD, "refusing %s: mode %04o lets group or others "
                                 "write it, so they could forge kernel lines (fix: chmod go-w %s)",
                                 path, (unsigned) (st->st_mode & 07777), path);
        if (!owner_trusted(st->st_uid))
                return set_error(ret_error, -EBADFD, "refusing %s: owned by uid %u, who could forge "
                                 "kernel lines (fix: chown root %s)", path, (unsigned) st->st_uid, path);
        return 0;
}

static int check_dir(const char *path, const char *dir, struct stat *ret_stat, char **ret_error) {
        struct stat st;

        if (stat(dir, &st) < 0) {
                int r = -errno;

                return set_error(ret_error, r, "cannot follow %s: directory %s: %s", path, dir,
                                 strerror(-r));
        }
        if (!S_ISDIR(st.st_mode))
                return set_error(ret_error, -ENOTDIR, "cannot follow %s: %s is not a directory", path, dir);
        if (writable_by_others(st.st_mode) && !(st.st_mode & S_ISVTX))
                return set_error(ret_error, -EBADFD, "refusing %s: its directory %s (mode %04o) lets "
                                 "group or others replace it (fix: chmod go-w %s)",
                                 path, dir, (unsigned) (st.st_mode & 07777), dir);
        if (!owner_trusted(st.st_uid))
                return set_error(ret_error, -EBADFD, "refusing %s: its directory %s is owned by uid %u, "
                                 "who could replace it (fix: chown root %s)",
                                 path, dir, (unsigned) st.st_uid, dir);
        *ret_stat = st;
        return 0;
}

static int permission_error(const char *path, int error, char **ret_error) {
        struct stat st;
        struct group *g;

        if (stat(path, &st) < 0)
                return set_error(ret_error, error, "cannot read %s: %s", path, strerror(-error));
        if ((g = getgrgid(st.st_gid)) && (st.st_mode & S_IRGRP))
                return set_error(ret_error, error, "cannot read %s: %s (mode %04o, group %s: run as "
                                 "root or as a member of group %s)", path, strerror(-error),
                                 (unsigned) (st.st_mode & 07777), g->gr_name, g->gr_name);
        return set_error(ret_error, error, "cannot read %s: %s (mode %04o, uid %u gid %u)", path,
                         strerror(-error), (unsigned) (st.st_mode & 07777),
                         (unsigned) st.st_uid, (unsigned) st.st_gid);
}

/* Open what the name points to now and check it. -ENOENT (said nowhere) if missing. */
static int open_checked(FileSource *d, FileHandle *ret, struct stat *ret_stat, char **ret_error) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        *ret_error = NULL;
        /* O_NONBLOCK: a FIFO put under the name must not hang us before fstat refuses it. */
        fd = open(d->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0) {
                r = -errno;
                if (r == -ENOENT)
                        return r;
                if (r == -EACCES || r == -EPERM)
                        return permission_error(d->path, r, ret_error);
                if (r == -ELOOP)
                        return set_error(ret_error, -EBADFD, "refusing %s: a symbolic link (give "
                                         "the file itself)", d->path);
                return set_error(ret_error, r, "cannot open %s: %s", d->path, strerror(-r));
        }
        if (fstat(fd, &st) < 0)
                return -errno;
        r = check_file(d->path, &st, ret_error);
        if (r < 0)
                return r;
        *ret = (FileHandle) {
                .fd = TAKE_FD(fd),
                .wd = -1,
                .dev = st.st_dev,
                .ino = st.st_ino,
        };
        if (ret_stat)
                *ret_stat = st;
        return 0;
}

/* Watch the inode behind fd (not the name, which may already point elsewhere). */
static int watch_handle(FileSource *d, FileHandle *h) {
        const uint32_t mask = IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF;
        char proc[64];
        int wd;

        (void) snprintf(proc, sizeof(proc), "/proc/self/fd/%d", h->fd);
        wd = inotify_add_watch(d->inotify_fd, proc, mask);
        if (wd < 0 && errno == ENOENT)
                wd = inotify_add_watch(d->inotify_fd, d->path, mask); /* no /proc */
        if (wd < 0)
                return -errno;
        h->wd = wd;
        return 0;
}

static void handle_close(FileSource *d, FileHandle *h) {
        if (h->wd >= 0)
                (void) inotify_rm_watch(d->inotify_fd, h->wd);
        (void) safe_close(h->fd);
        *h = handle_none;
}

static bool same_file(const FileHandle *h, const struct stat *st) {
        return h->fd >= 0 && h->dev == st->st_dev && h->ino == st->st_ino;
}

static void file_stop(Source *s) {
        FileSource *d = s->data;

        d->stopped = true;
        (void) sd_event_source_set_enabled(d->io, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(d->work, SD_EVENT_OFF);
}

static int deliver_line(const char *line, size_t len, void *userdata) {
        Source *s = userdata;
        FileSource *d = s->data;

        /* A line without the prefix anywhere cannot be ours; the parser checks where. */
        if (!memmem(line, len, LOGLINE_PREFIX, STRLEN(LOGLINE_PREFIX)))
                return 0;
        (void) source_deliver(s, line, len, LOGLINE_FORM_SYSLOG, d->read_time, d->read_time);
        return 0;
}

static bool dir_unchanged(FileSource *d) {
        struct stat st;

        return stat(d->dir, &st) >= 0 && st.st_dev == d->dir_dev && st.st_ino == d->dir_ino;
}

/* The name may point to another file now: take it as cur (none yet) or as next. */
static int check_name(Source *s) {
        FileSource *d = s->data;
        _cleanup_free_ char *error = NULL;
        FileHandle h;
        struct stat st;
        int r;

        d->check_name = false;
        r = open_checked(d, &h, &st, &error);
        if (r == -ENOENT) {
                /* The directory itself may be gone: while we hold a file in it, the
                 * kernel does not tell its watch (IN_DELETE_SELF waits for the last
                 * reference). Files under the name would then never be seen again. */
                if (!dir_unchanged(d)) {
                        source_stop(s, -ENOTDIR, "the directory %s of %s was removed or moved",
                                   d->dir, d->path);
                        return -ENOTDIR;
                }
                return 0; /* between rotation steps; keep reading what we have */
        }
        if (r < 0) {
                source_stop(s, r, "%s", error ? error : strerror(-r));
                return r;
        }
        if (same_file(&d->cur, &st) || same_file(&d->next, &st)) {
                (void) safe_close(h.fd);
                return 0;
        }
        if (d->next.fd >= 0) {
                struct stat nst;

                if (fstat(d->next.fd, &nst) >= 0 && nst.st_size > 0) {
                        /* next has lines of its own: read it before this newer file. */
                        (void) safe_close(h.fd);
                        d->check_name = true;
                        return 0;
                }
                handle_close(d, &d->next);
        }
        r = watch_handle(d, &h);
        if (r < 0) {
                (void) safe_close(h.fd);
                source_stop(s, r, "cannot watch the new %s with inotify: %s", d->path, strerror(-r));
                return r;
        }
        if (d->cur.fd < 0)
                d->cur = h; /* the name appeared: all of it is new */
        else
                d->next = h;
        return 0;
}

/* Read cur up to its end or the budget. Returns 1 if the budget ran out first. */
static int read_cur(Source *s, unsigned *budget, bool *ret_read) {
        FileSource *d = s->data;
        _cleanup_free_ char *error = NULL;
        struct stat st;
        int r;

        if (fstat(d->cur.fd, &st) < 0) {
                r = -errno;
                source_stop(s, r, "cannot stat %s: %s", d->path, strerror(-r));
                return r;
        }
        r = check_file(d->path, &st, &error);
        if (r < 0) {
                source_stop(s, r, "%s", error ? error : strerror(-r));
                return r;
        }
        if ((uint64_t) st.st_size < d->cur.offset) {
                source_notice(s, 0, false, "%s was truncated (copytruncate?): reading it again "
                              "from the start", d->path);
                d->cur.offset = 0;
                linebuf_reset(&d->lines);
        }

        while (*budget > 0) {
                ssize_t n = pread(d->cur.fd, d->buf, sizeof(d->buf), (off_t) d->cur.offset);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        source_stop(s, r, "reading %s failed: %s", d->path, strerror(-r));
                        return r;
                }
                if (n == 0)
                        return 0;
                (*budget)--;
                *ret_read = true;
                d->cur.offset += (uint64_t) n;
                d->read_time = now_usec(CLOCK_MONOTONIC);
                (void) linebuf_feed(&d->lines, d->buf, (size_t) n, deliver_line, s);
        }
        return 1;
}

static bool next_has_data(FileSource *d) {
        struct stat st;

        return d->next.fd >= 0 && fstat(d->next.fd, &st) >= 0 && st.st_size > 0;
}

static void switch_to_next(Source *s) {
        FileSource *d = s->data;

        if (d->lines.len > 0 && !d->lines.skipping)
                source_notice(s, 0, false, "%s: dropped the unfinished last line of the rotated "
                              "file", d->path);
        linebuf_reset(&d->lines);
        handle_close(d, &d->cur);
        d->cur = d->next;
        d->next = handle_none;
        d->check_name = true; /* an even newer file may have appeared meanwhile */
}

static void process(Source *s) {
        FileSource *d = s->data;
        unsigned budget = FILE_CHUNKS_PER_TURN;
        bool read_any = false;

        while (!d->stopped) {
                int r;

                if (d->check_name && check_name(s) < 0)
                        break;
                if (d->cur.fd < 0)
                        break; /* waiting for the name to appear */
                r = read_cur(s, &budget, &read_any);
                if (r < 0)
                        break;
                if (r > 0) {
                        (void) sd_event_source_set_enabled(d->work, SD_EVENT_ONESHOT);
                        break;
                }
                if (!next_has_data(d))
                        break;
                switch_to_next(s);
        }
        if (read_any)
                source_end_batch(s);
}

/* Note what the events say; the reading happens in process(). */
static int drain_inotify(Source *s) {
        FileSource *d = s->data;
        union {
                struct inotify_event ev;
                char raw[4096];
        } buf;

        for (;;) {
                ssize_t n = read(d->inotify_fd, &buf, sizeof(buf));

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        return -errno;
                }
                for (char *p = buf.raw; p < buf.raw + n; ) {
                        const struct inotify_event *ev = (const struct inotify_event *) p;

                        p += sizeof(*ev) + ev->len;
                        if (ev->mask & IN_Q_OVERFLOW)
                                d->check_name = true;
                        else if (ev->wd == d->dir_wd) {
                                if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT))
                                        return -ENOTDIR;
                                if (ev->len > 0 && streq(ev->name, d->name))
                                        d->check_name = true;
                        } else if ((ev->wd == d->cur.wd || ev->wd == d->next.wd) &&
                                   (ev->mask & (IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF)))
                                d->check_name = true;
                        /* IN_MODIFY needs no note: process() reads anyway. */
                }
        }
}

static int on_inotify(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Source *s = userdata;
        FileSource *d = s->data;
        int r;

        r = drain_inotify(s);
        if (r == -ENOTDIR) {
                source_stop(s, r, "the directory %s of %s was removed or moved", d->dir, d->path);
                return 0;
        }
        if (r < 0) {
                source_stop(s, r, "reading inotify events for %s failed: %s", d->path, strerror(-r));
                return 0;
        }
        process(s);
        return 0;
}

static int on_work(sd_event_source *es, void *userdata) {
        process(userdata);
        return 0;
}

/* What is in the file now, also what is beyond one turn's budget. */
static int file_flush(Source *s) {
        FileSource *d = s->data;
        int enabled = SD_EVENT_OFF;

        /* process() turns the work source on when its budget ran out before the file did. */
        for (unsigned i = 0; i < 1024 && !d->stopped; i++) {
                (void) sd_event_source_set_enabled(d->work, SD_EVENT_OFF);
                process(s);
                if (sd_event_source_get_enabled(d->work, &enabled) < 0 || enabled == SD_EVENT_OFF)
                        break;
        }
        return 0;
}

/* At the end of the file, and inside its unfinished last line if it has one. */
static int seek_to_end(FileSource *d, const struct stat *st) {
        char last;
        ssize_t n;

        d->cur.offset = (uint64_t) st->st_size;
        if (st->st_size == 0)
                return 0;
        n = pread(d->cur.fd, &last, 1, st->st_size - 1);
        if (n < 0)
                return -errno;
        if (n == 1 && last != '\n')
                d->lines.skipping = true; /* the rest of that line is not a whole line */
        return 0;
}

static int split_path(FileSource *d, const char *path) {
        _cleanup_free_ char *a = NULL, *b = NULL;

        a = strdup(path);
        b = strdup(path);
        if (!a || !b)
                return -ENOMEM;
        d->dir = strdup(dirname(a));
        d->name = strdup(basename(b));
        if (!d->dir || !d->name)
                return -ENOMEM;
        return 0;
}

static int file_open(Source *s, const char *path, char **ret_error) {
        _cleanup_free_ char *error = NULL;
        FileSource *d;
        struct stat st;
        int r;

        if (!path || path[0] != '/' || path[strlen(path) - 1] == '/')
                return -EINVAL;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        s->data = d;
        d->cur = d->next = handle_none;
        d->inotify_fd = -EBADF;
        d->dir_wd = -1;
        d->path = strdup(path);
        if (!d->path)
                return -ENOMEM;
        r = split_path(d, path);
        if (r < 0)
                return r;
        r = linebuf_init(&d->lines, LOGLINE_LINE_MAX);
        if (r < 0)
                return r;

        r = check_dir(path, d->dir, &st, &error);
        if (r < 0)
                goto fail;
        d->dir_dev = st.st_dev;
        d->dir_ino = st.st_ino;

        /* Watch the directory before looking at the name, so no rotation slips between. */
        d->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (d->inotify_fd < 0)
                return -errno;
        d->dir_wd = inotify_add_watch(d->inotify_fd, d->dir,
                                      IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF |
                                      IN_ONLYDIR);
        if (d->dir_wd < 0) {
                r = -errno;
                (void) set_error(&error, r, "cannot watch %s with inotify: %s", d->dir, strerror(-r));
                goto fail;
        }

        r = open_checked(d, &d->cur, &st, &error);
        if (r == -ENOENT)
                d->missing_at_open = true;
        else if (r < 0)
                goto fail;
        else {
                r = watch_handle(d, &d->cur);
                if (r >= 0)
                        r = seek_to_end(d, &st);
                if (r < 0)
                        return r;
        }

        return source_set_description(s, "file %s", path);

fail:
        if (ret_error)
                *ret_error = TAKE_PTR(error);
        return r;
}

static int file_attach(Source *s) {
        FileSource *d = s->data;
        int r;

        r = sd_event_add_io(s->event, &d->io, d->inotify_fd, EPOLLIN, on_inotify, s);
        if (r < 0)
                return r;
        r = sd_event_add_defer(s->event, &d->work, on_work, s);
        if (r < 0)
                return r;

        source_notice(s, 0, false, "%s is a text file, which cannot prove that a line came from "
                      "the kernel: anyone who can write to the syslog socket can put a forged "
                      "\"kernel:\" line into it (kmsg and journal sources can tell)", d->path);
        if (d->missing_at_open)
                source_notice(s, 0, false, "%s does not exist yet; waiting for it to appear",
                              d->path);

        /* Catch up with what happened between open and attach. */
        d->check_name = true;
        return sd_event_source_set_enabled(d->work, SD_EVENT_ONESHOT);
}

static void file_done(Source *s) {
        FileSource *d = s->data;

        if (!d)
                return;
        sd_event_source_disable_unref(d->io);
        sd_event_source_disable_unref(d->work);
        (void) safe_close(d->cur.fd);
        (void) safe_close(d->next.fd);
        (void) safe_close(d->inotify_fd);
        linebuf_done(&d->lines);
        free(d->path);
        free(d->dir);
        free(d->name);
        free(d);
        s->data = NULL;
}

const SourceVTable source_file_vtable = {
        .name = "file",
        .open = file_open,
        .attach = file_attach,
        .stop = file_stop,
        .flush = file_flush,
        .done = file_done,
};
