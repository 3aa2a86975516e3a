/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * state.c — small files in the state directory, see state.h.
 *
 * A write goes to a temporary file with a unique name in the same directory
 * (".NAME.XXXXXX", created O_EXCL, mode 0600, then given its final mode), is fsync'ed, renamed over NAME, and
 * the directory is fsync'ed so the rename itself survives a crash. Names are plain
 * file names of at most 64 bytes: no '/', and no leading '.' (which also rules out
 * "." and "..", and keeps the temporary names out of the callers' name space).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "fd-util.h"
#include "state.h"
#include "time-util.h"

static bool state_name_valid(const char *name) {
        return name && name[0] != '\0' && name[0] != '.' && !strchr(name, '/') &&
               strlen(name) <= 64;
}

static int open_state_dir(const char *dir, bool create) {
        int fd;

        if (!dir || dir[0] == '\0')
                return -EINVAL;
        if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int state_read(const char *dir, const char *name, char *buf, size_t size) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        struct stat st;
        size_t len = 0;

        if (!state_name_valid(name) || size == 0)
                return -EINVAL;
        dfd = open_state_dir(dir, false);
        if (dfd < 0)
                return dfd;
        fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t) st.st_size > size - 1)
                return -EFBIG;

        /* Read one byte more than fits, so a file that grew since fstat() is noticed. */
        for (;;) {
                ssize_t n;

                if (len == size - 1) {
                        char extra;

                        n = read(fd, &extra, 1);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return -errno;
                        if (n > 0)
                                return -EFBIG;
                        break;
                }
                n = read(fd, buf + len, size - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        return (int) len;
}

static int write_all(int fd, const char *data, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, data, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                data += n;
                len -= (size_t) n;
        }
        return 0;
}

/* Create ".NAME.XXXXXX" with a random suffix; a few tries against collisions. */
static int create_temporary(int dfd, const char *name, char *ret_path, size_t size) {
        static const char letters[] = "abcdefghijklmnopqrstuvwxyz0123456789";

        for (unsigned attempt = 0; attempt < 16; attempt++) {
                uint8_t rnd[8];
                char suffix[sizeof(rnd) + 1];
                int fd;

                if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t) sizeof(rnd)) {
                        /* No entropy yet (early boot): uniqueness is all we need here. */
                        uint64_t x = now_usec(CLOCK_MONOTONIC) ^ ((uint64_t) getpid() << 32) ^ attempt;

                        memcpy(rnd, &x, sizeof(rnd));
                }
                for (size_t i = 0; i < sizeof(rnd); i++)
                        suffix[i] = letters[rnd[i] % (sizeof(letters) - 1)];
                suffix[sizeof(rnd)] = '\0';
                if ((size_t) snprintf(ret_path, size, ".%s.%s", name, suffix) >= size)
                        return -ENAMETOOLONG;

                fd = openat(dfd, ret_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd >= 0)
                        return fd;
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

int state_write_full(const char *dir, const char *name, const char *data, size_t len, mode_t mode,
                     StateWriteFlags flags) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        bool sync = !(flags & STATE_WRITE_NO_SYNC);
        char temporary[96];
        int r = 0;

        if (!state_name_valid(name) || len > STATE_FILE_LARGE_MAX || (mode & ~(mode_t) 0777))
                return -EINVAL;
        dfd = open_state_dir(dir, !(flags & STATE_WRITE_NO_MKDIR));
        if (dfd < 0)
                return dfd;
        fd = create_temporary(dfd, name, temporary, sizeof(temporary));
        if (fd < 0)
                return fd;

        if (mode != 0600 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r >= 0)
                r = write_all(fd, data, len);
        if (r >= 0 && sync && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && renameat(dfd, temporary, dfd, name) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(dfd, temporary, 0);
                return r;
        }
        /* The rename is durable only once the directory is. */
        if (sync && fsync(dfd) < 0)
                return -errno;
        return 0;
}

int state_write(const char *dir, const char *name, const char *data, size_t len) {
        if (len > STATE_FILE_MAX)
                return -EINVAL;
        return state_write_full(dir, name, data, len, 0600, 0);
}
