/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * status.c — see status.h. One table of fields drives both the writer and the reader.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "knock.h"
#include "parse-util.h"
#include "state.h"
#include "status.h"

typedef struct Field {
        const char *key;
        size_t offset;
        size_t text_size;   /* 0: a uint64_t; else a char array of this size */
} Field;

#define U64(name) { #name, offsetof(DaemonStatus, name), 0 }
#define TEXT(name) { #name, offsetof(DaemonStatus, name), sizeof(((DaemonStatus *) 0)->name) }

static const Field fields[] = {
        U64(pid), U64(started_realtime), U64(updated_realtime), TEXT(source), TEXT(table),
        U64(doors), U64(lines), U64(knocks), U64(not_knocks), U64(rejected), U64(sequences),
        U64(grants), U64(refreshes), U64(revokes), U64(expiries), U64(errors), U64(lost),
        U64(live_grants), U64(in_progress), U64(capacity), U64(evictions),
};

int status_format(const DaemonStatus *s, char *buf, size_t size) {
        size_t len = 0;

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                const char *p = (const char *) s + fields[i].offset;
                int n;

                if (fields[i].text_size > 0)
                        n = snprintf(buf + len, size - len, "%s=%.*s\n", fields[i].key,
                                     (int) strcspn(p, "\n"), p);
                else
                        n = snprintf(buf + len, size - len, "%s=%llu\n", fields[i].key,
                                     (unsigned long long) *(const uint64_t *) (const void *) p);
                if (n < 0 || (size_t) n >= size - len)
                        return -ENOBUFS;
                len += (size_t) n;
        }
        return (int) len;
}

int status_parse(const char *text, DaemonStatus *ret) {
        DaemonStatus s = {};

        for (const char *line = text; *line;) {
                const char *nl = strchrnul(line, '\n'), *eq = memchr(line, '=', (size_t) (nl - line));

                if (!eq)
                        return -EBADMSG;
                for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                        char *p = (char *) &s + fields[i].offset;
                        size_t klen = (size_t) (eq - line), vlen = (size_t) (nl - eq - 1);

                        if (strlen(fields[i].key) != klen || memcmp(fields[i].key, line, klen) != 0)
                                continue;
                        if (fields[i].text_size > 0) {
                                vlen = MIN(vlen, fields[i].text_size - 1);
                                memcpy(p, eq + 1, vlen);
                                p[vlen] = 0;
                        } else if (parse_uint(eq + 1, vlen, UINT64_MAX, (uint64_t *) (void *) p) < 0)
                                return -EBADMSG;
                }
                line = *nl ? nl + 1 : nl;
        }
        *ret = s;
        return 0;
}

int status_write(const char *dir, const DaemonStatus *s) {
        char buf[STATE_FILE_MAX];
        int n;

        n = status_format(s, buf, sizeof(buf));
        if (n < 0)
                return n;
        return state_write(dir, STATUS_FILE, buf, (size_t) n);
}

int status_read(const char *dir, DaemonStatus *ret) {
        char buf[STATE_FILE_MAX];
        int r;

        r = state_read(dir, STATUS_FILE, buf, sizeof(buf));
        if (r < 0)
                return r;
        return status_parse(buf, ret);
}
