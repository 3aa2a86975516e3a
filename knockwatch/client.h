/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * client.h — the knocking client: sends each step of a sequence to a host, in order,
 * without root. tcp:PORT is a non-blocking connect() abandoned at once (the SYN is
 * the knock); udp:PORT one datagram; ping:N one ICMP/ICMPv6 echo request with an
 * N-byte payload through an unprivileged ping socket (SOCK_DGRAM, IPPROTO_ICMP[V6]),
 * which needs the user's group in net.ipv4.ping_group_range.
 */
#pragma once

#include "knock.h"

#define CLIENT_DELAY_DEFAULT (100 * USEC_PER_MSEC)

typedef struct ClientOptions {
        int family;            /* AF_UNSPEC: as the host resolves (first usable address) */
        usec_t delay;          /* pause between two steps */
        bool verbose;          /* say each step on stderr */
} ClientOptions;

/* Resolve host (name or address literal) to one address of the wanted family.
 * Returns 0, -ENOENT/-EAFNOSUPPORT (nothing of that family), or -EINVAL. */
int client_resolve(const char *host, int family, KnockAddr *ret);

/* Send the steps to addr. Returns 0, or -errno of the first step that could not be sent
 * (*ret_failed_step, if not NULL, gets its index). -EACCES/-EPERM for ping means the ping
 * socket is not allowed for this user (net.ipv4.ping_group_range). */
int client_knock(const KnockAddr *addr, const KnockStep *steps, size_t n_steps,
                 const ClientOptions *options, size_t *ret_failed_step);
