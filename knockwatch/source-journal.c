/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * source-journal.c — placeholder until the journal source lands.
 */
#include "source-internal.h"

static int journal_open(Source *s, const char *path, char **ret_error) {
        return -EOPNOTSUPP;
}

static int journal_attach(Source *s) {
        return -EOPNOTSUPP;
}

const SourceVTable source_journal_vtable = {
        .name = "journal",
        .open = journal_open,
        .attach = journal_attach,
};
