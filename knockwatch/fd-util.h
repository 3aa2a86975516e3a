/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fd-util.h — file descriptors and FILE streams owned by _cleanup_ variables.
 */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "macro.h"

/* close() that keeps errno and returns -EBADF, for "fd = safe_close(fd);". */
static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void closep(int *fd) {
        (void) safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

#define TAKE_FD(fd)                             \
        ({                                      \
                int _fd_ = (fd);                \
                (fd) = -EBADF;                  \
                _fd_;                           \
        })
