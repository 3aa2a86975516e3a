/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * source-file.c — placeholder until the file source lands.
 */
#include "source-internal.h"

static int file_open(Source *s, const char *path, char **ret_error) {
        return -EOPNOTSUPP;
}

static int file_attach(Source *s) {
        return -EOPNOTSUPP;
}

const SourceVTable source_file_vtable = {
        .name = "file",
        .open = file_open,
        .attach = file_attach,
};
