/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ruleset.h — load an nft ruleset file, as `nft -f FILE` does, through libnftables
 * (nft's own library). The daemon uses it to put its table back after a host firewall
 * reload (`flush ruleset`) deleted it.
 *
 * The file is opened and judged first, and libnftables then reads that same open file
 * (/proc/self/fd/N), so what was judged is what is loaded. It must be a regular file
 * (a symbolic link to one is fine: the admin may keep it elsewhere), owned by root or
 * by this process's user (systemd's LoadCredential= copy belongs to the service's
 * dynamic user), and writable by nobody else: a ruleset that another user can change
 * would let them open any port. Files it includes are nft's business, as with nft -f.
 * Library-like: no logging; the caller gets -errno and a message.
 */
#pragma once

/* Bounds of the explanation handed back: at most this many of nft's error lines, each
 * escaped and cut to RULESET_ERROR_LINE_MAX bytes. */
#define RULESET_ERROR_LINES_MAX 3
#define RULESET_ERROR_LINE_MAX 300

/*
 * Load the nft script at path into the current network namespace, atomically (nft -f
 * applies a file as one transaction: all or nothing).
 *
 * Returns 0, or:
 *   -ENOENT, -EACCES, -ELOOP, …  the file cannot be opened (open(2)'s error)
 *   -EISDIR, -EINVAL              a directory, or not a regular file
 *   -EPERM                        owned by another user, or writable by group or others;
 *                                 or nft was not permitted to change the ruleset
 *   -EBADMSG                      nft refused the file (syntax, unknown set, …)
 *   -ENOMEM
 * On failure *ret_error (optional) receives one line (or a few, joined with "; ")
 * naming the file and saying why, with nft's own message and line number; free() it.
 */
int ruleset_load_file(const char *path, char **ret_error);
