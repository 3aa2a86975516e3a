/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * source-kmsg.c — placeholder until the kmsg source lands.
 */
#include "source-internal.h"

static int kmsg_open(Source *s, const char *path, char **ret_error) {
        return -EOPNOTSUPP;
}

static int kmsg_attach(Source *s) {
        return -EOPNOTSUPP;
}

const SourceVTable source_kmsg_vtable = {
        .name = "kmsg",
        .open = kmsg_open,
        .attach = kmsg_attach,
};
