/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * state.h — small files in the state directory (/var/lib/knockwatch), written
 * atomically: a temporary file in the same directory, fsync, rename. A reader sees
 * either the old content or the new one, never half of either.
 */
#pragma once

#include "macro.h"

#define STATE_DIR_DEFAULT "/var/lib/knockwatch"
#define STATE_FILE_MAX 4096

/* Read dir/name into buf (NUL-terminated, at most size - 1 bytes). Returns the length,
 * -ENOENT if there is no such file, -EFBIG if it is larger than size - 1. */
int state_read(const char *dir, const char *name, char *buf, size_t size);

/* Replace dir/name with data. Returns 0 or -errno. */
int state_write(const char *dir, const char *name, const char *data, size_t len);
