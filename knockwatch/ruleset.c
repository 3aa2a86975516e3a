/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ruleset.c — load an nft ruleset file through libnftables (see ruleset.h).
 */
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errno-util.h"
#include "fd-util.h"
#include "ruleset.h"
#include "string-util.h"

#define PATH_SHOWN_MAX 256

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nft_ctx *, nft_ctx_free);

/* Is the file at fd one we may load? It was opened from path (for the messages). */
static int check_file(int fd, const char *path, char **ret_error) {
        char shown[PATH_SHOWN_MAX + 8];
        struct stat st;

        escape_into(path, strlen(path), PATH_SHOWN_MAX, 0, shown, sizeof(shown));
        if (fstat(fd, &st) < 0)
                return set_error(ret_error, negative_errno(), "Cannot read ruleset %s: %m", shown);
        if (S_ISDIR(st.st_mode))
                return set_error(ret_error, -EISDIR, "Ruleset %s is a directory, not a file", shown);
        if (!S_ISREG(st.st_mode))
                return set_error(ret_error, -EINVAL, "Ruleset %s is not a regular file", shown);
        if (st.st_uid != 0 && st.st_uid != geteuid())
                return set_error(ret_error, -EPERM,
                                 "Refusing ruleset %s: it is owned by uid %u, not by root; "
                                 "whoever owns it could open any port (chown root %s)",
                                 shown, (unsigned) st.st_uid, shown);
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return set_error(ret_error, -EPERM,
                                 "Refusing ruleset %s: it is writable by %s (mode %04o), who could "
                                 "then open any port (chmod go-w %s)",
                                 shown, (st.st_mode & S_IWOTH) ? "every user" : "its group",
                                 (unsigned) (st.st_mode & 07777), shown);
        return 0;
}

/* Append one line of nft's error output to out (size bytes, NUL-terminated), escaped,
 * with the /proc/self/fd/N name that nft saw replaced by the file's own. */
static void append_line(char *out, size_t size, const char *line, size_t n, const char *fd_path,
                        const char *path) {
        size_t used = strlen(out), fl = strlen(fd_path);
        char buf[RULESET_ERROR_LINE_MAX + 8];

        if (used > 0 && size - used > 2) {
                memcpy(out + used, "; ", 3);
                used += 2;
        }
        if (n > fl && memcmp(line, fd_path, fl) == 0 && line[fl] == ':') {
                escape_into(path, strlen(path), PATH_SHOWN_MAX, 0, buf, sizeof(buf));
                snprintf(out + used, size - used, "%s", buf);
                used = strlen(out);
                line += fl;
                n -= fl;
        }
        escape_into(line, n, RULESET_ERROR_LINE_MAX, 0, buf, sizeof(buf));
        snprintf(out + used, size - used, "%s", buf);
}

/* nft's error output is "FILE:LINE:COL: Error: …", the offending source line and a line
 * of carets, per error; keep the "Error:" lines. */
static void summarize_errors(const char *text, const char *fd_path, const char *path, char *out,
                             size_t size) {
        const char *first = NULL;
        size_t first_n = 0;
        unsigned kept = 0;

        out[0] = 0;
        for (const char *p = text; p && *p && kept < RULESET_ERROR_LINES_MAX;) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t) (nl - p) : strlen(p);

                if (!first && n > 0) {
                        first = p;
                        first_n = n;
                }
                if (memmem(p, n, "Error:", STRLEN("Error:"))) {
                        append_line(out, size, p, n, fd_path, path);
                        kept++;
                }
                p = nl ? nl + 1 : NULL;
        }
        if (kept == 0 && first)
                append_line(out, size, first, first_n, fd_path, path);
}

int ruleset_load_file(const char *path, char **ret_error) {
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = NULL;
        _cleanup_close_ int fd = -EBADF;
        char shown[PATH_SHOWN_MAX + 8], fd_path[32],
                summary[RULESET_ERROR_LINES_MAX * (RULESET_ERROR_LINE_MAX + PATH_SHOWN_MAX + 16)];
        const char *errors;
        int r;

        if (!path || !path[0])
                return set_error(ret_error, -EINVAL, "No ruleset file given");
        escape_into(path, strlen(path), PATH_SHOWN_MAX, 0, shown, sizeof(shown));

        /* O_NONBLOCK: a FIFO put in its place must not hang us; check_file refuses it. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = negative_errno();
                if (r == -ENOENT)
                        return set_error(ret_error, r, "Ruleset %s does not exist", shown);
                return set_error(ret_error, r, "Cannot open ruleset %s: %m", shown);
        }
        r = check_file(fd, path, ret_error);
        if (r < 0)
                return r;

        snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", fd);
        if (access(fd_path, R_OK) < 0)
                return set_error(ret_error, negative_errno(),
                                 "Cannot load ruleset %s: %s is not available (is /proc mounted?): %m",
                                 shown, fd_path);

        ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return set_error(ret_error, -ENOMEM, "Cannot load ruleset %s: out of memory", shown);
        /* Nothing of nft's reaches our stdout or stderr: a `list` in the file prints into
         * a buffer that is thrown away, errors go into the message. */
        if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0)
                return set_error(ret_error, -ENOMEM, "Cannot load ruleset %s: out of memory", shown);

        if (nft_run_cmd_from_filename(ctx, fd_path) == 0)
                return 0;

        errors = nft_ctx_get_error_buffer(ctx);
        summarize_errors(errors, fd_path, path, summary, sizeof(summary));
        r = errors && strstr(errors, "Operation not permitted") ? -EPERM : -EBADMSG;
        if (!summary[0])
                return set_error(ret_error, r, "Could not load ruleset %s: nft failed without a message", shown);
        if (strstr(summary, shown))
                return set_error(ret_error, r, "Could not load ruleset: %s", summary);
        return set_error(ret_error, r, "Could not load ruleset %s: %s", shown, summary);
}
