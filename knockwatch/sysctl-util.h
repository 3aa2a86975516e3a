/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sysctl-util.h — net.netfilter.nf_log_all_netns, as this process sees it.
 *
 * When it is 1, the `log` rules of every network namespace write to the one kernel log,
 * so any user who may create a user namespace (Debian 12 allows it) can make the kernel
 * log knock lines for any source address (TECH-NOTES.md section 8). When it is 0 (the
 * kernel's default) only the initial network namespace logs.
 *
 * The kernel registers this entry in the initial network namespace only ("This
 * variable is only accessible from init_net", Documentation/networking/
 * netfilter-sysctl.rst). It belongs to netfilter's core (net/netfilter/nf_log.c is
 * built into netfilter.o), so it exists whether or not a logger module (nf_log_syslog)
 * is loaded. Reading it therefore gives -ENOENT:
 *   - in any other network namespace: there the process's own log rules reach the log
 *     only when the sysctl is 1, so every line it reads could come from any namespace;
 *   - on a kernel without netfilter or sysctl support, or without /proc.
 * A caller must treat every error (-ENOENT, -EBADMSG, -EACCES, …) as "1": lines from
 * other namespaces may be in the log. The kernel takes any non-zero value as on
 * (`sysctl -w …=2` is accepted and reads back "2"), which the strict parser below
 * refuses with -EBADMSG, and which the caller thus treats as on too.
 * Library-like: no logging.
 */
#pragma once

#include <stddef.h>

#define SYSCTL_NF_LOG_ALL_NETNS "/proc/sys/net/netfilter/nf_log_all_netns"

/* The n bytes at s are exactly "0\n" or "1\n": returns 0 or 1; anything else (no
 * newline, spaces, "2\n", "01\n", a second line, …) is -EBADMSG. */
int sysctl_parse_bool(const char *s, size_t n);

/* Read a boolean sysctl file strictly (at most a few bytes, one read): 0, 1, or -errno
 * (-ENOENT if it does not exist, -EBADMSG if it holds anything but "0\n" or "1\n"). */
int sysctl_read_bool(const char *path);

/* sysctl_read_bool(SYSCTL_NF_LOG_ALL_NETNS): see above for what -ENOENT means. */
int sysctl_read_nf_log_all_netns(void);
