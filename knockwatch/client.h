/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * client.h — the knocking client: sends each step of a sequence to a host, in order,
 * without root. tcp:PORT is a non-blocking connect() abandoned at once (the SYN is
 * the knock); udp:PORT one datagram; ping:N one ICMP/ICMPv6 echo request with an
 * N-byte payload through an unprivileged ping socket (SOCK_DGRAM, IPPROTO_ICMP[V6]),
 * which needs the user's group in net.ipv4.ping_group_range (with CAP_NET_RAW, e.g.
 * as root, a raw socket is used when the ping socket is refused).
 */
#pragma once

#include "knock.h"
#include "time-util.h"

#define CLIENT_DELAY_DEFAULT (100 * USEC_PER_MSEC)

/* Called after a step has been handed to the kernel (index counts from 0). */
typedef void (*ClientStepSent)(const KnockStep *step, size_t index, void *userdata);

typedef struct ClientOptions {
        int family;            /* AF_UNSPEC: every family the host resolves to */
        usec_t delay;          /* pause between two steps */
        ClientStepSent step_sent; /* NULL, or told of each step sent (the CLI's -v) */
        void *userdata;        /* passed to step_sent */
} ClientOptions;

/* Resolve host (name or address literal) to one address of the wanted family
 * (AF_UNSPEC, AF_INET or AF_INET6). Returns 0, -ENOENT (no such host),
 * -EAFNOSUPPORT (nothing of that family), -EAGAIN (the resolver failed for now,
 * e.g. no DNS server answered), -EINVAL (not a host name, or a scoped IPv6 address),
 * or another -errno. */
int client_resolve(const char *host, int family, KnockAddr *ret);

/* Every address family host resolves to: the first usable address of each, in the
 * resolver's order of preference (or of the one family asked for), at most
 * CLIENT_FAMILIES_MAX. A literal is its own one address. Returns the number of addresses
 * (>= 1), or the errors of client_resolve(). */
#define CLIENT_FAMILIES_MAX 2
int client_resolve_all(const char *host, int family, KnockAddr ret[static CLIENT_FAMILIES_MAX]);

/* Send the steps to addr. Every step is checked and the ping socket (if any step needs
 * one) opened before the first step is sent, so those errors send nothing: -EINVAL for
 * a malformed step, -EMSGSIZE for a ping payload too large for the address family
 * (KNOCK_PING_MAX_IPV4 for IPv4), -EACCES/-EPERM when the ping socket is not allowed
 * for this user (net.ipv4.ping_group_range) and there is no CAP_NET_RAW either.
 * Returns 0, or -errno of the first step that could not be sent (*ret_failed_step,
 * if not NULL, gets its index). */
int client_knock(const KnockAddr *addr, const KnockStep *steps, size_t n_steps,
                 const ClientOptions *options, size_t *ret_failed_step);
