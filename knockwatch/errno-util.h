/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * errno-util.h — the -errno convention: every function that can fail returns a
 * negative errno. Helpers to turn libc's "-1 and errno" into that, and to hand a
 * one-line explanation out through a `char **ret_error` parameter.
 */
#pragma once

#include <errno.h>

#include "macro.h"

/* errno as it was when the scope began, again when it ends (systemd's PROTECT_ERRNO): for
 * callbacks whose caller reads errno after them. */
static inline void errno_restore(const int *saved) {
        errno = *saved;
}
#define PROTECT_ERRNO _cleanup_(errno_restore) _unused_ const int _saved_errno_ = errno

static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

#define RET_NERRNO(expr)                        \
        ({                                      \
                int _r_ = (expr);               \
                _r_ < 0 ? negative_errno() : _r_; \
        })

/* If ret_error is not NULL, set *ret_error to a malloc'ed message (NULL if that fails).
 * Returns error, so that a caller can write `return set_error(ret_error, r, "…", …);`. */
int set_error(char **ret_error, int error, const char *format, ...) _printf_(3, 4);
