/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * state.h — small files in the state directory (/var/lib/knockwatch), written
 * atomically: a temporary file in the same directory, fsync, rename. A reader sees
 * either the old content or the new one, never half of either.
 */
#pragma once

#include <sys/types.h>

#include "macro.h"

#define STATE_DIR_DEFAULT "/var/lib/knockwatch"
#define STATE_FILE_MAX 4096

/* Read dir/name into buf (NUL-terminated, at most size - 1 bytes). Returns the length,
 * -ENOENT if there is no such file, -EFBIG if it is larger than size - 1. */
int state_read(const char *dir, const char *name, char *buf, size_t size);

/* Replace dir/name with data (at most STATE_FILE_MAX bytes, mode 0600; the directory is
 * made 0700 if missing; everything fsync'ed). Returns 0 or -errno. */
int state_write(const char *dir, const char *name, const char *data, size_t len);

/* The same for files that others read or that are rewritten often (the status and
 * metrics files): up to STATE_FILE_LARGE_MAX bytes, the file gets exactly mode (the
 * umask does not apply), and flags drop the directory's creation or the fsyncs. */
#define STATE_FILE_LARGE_MAX (256 * 1024)

typedef enum StateWriteFlags {
        STATE_WRITE_NO_MKDIR = 1 << 0,   /* the directory must exist (-ENOENT otherwise) */
        STATE_WRITE_NO_SYNC = 1 << 1,    /* no fsync: content that matters only while the system runs */
} StateWriteFlags;

int state_write_full(const char *dir, const char *name, const char *data, size_t len, mode_t mode,
                     StateWriteFlags flags);
