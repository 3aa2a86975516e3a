/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * client.c — the knocking client (see client.h): resolve the host once (one address of
 * each family), then send each step on a fresh socket, the configured delay apart,
 * measured between sends.
 *
 * Why each step is enough as it is:
 *  - tcp: a non-blocking connect() returns EINPROGRESS only after tcp_connect() has
 *    handed the SYN to the IP layer, so closing the socket right then abandons the
 *    connection without cancelling the SYN (and leaves no retransmission behind).
 *  - udp, ping: sendto() returns once the datagram has been handed to the IP layer.
 */
#include <netdb.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <string.h>

#include "client.h"
#include "errno-util.h"
#include "fd-util.h"
#include "time-util.h"

#define UDP_PAYLOAD "knock"
#define ICMP_HEADER_LEN 8 /* ICMP and ICMPv6 echo headers alike */

union sockaddr_any {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
};

static socklen_t sockaddr_fill(const KnockAddr *a, uint16_t port, union sockaddr_any *ret) {
        *ret = (union sockaddr_any) {};
        if (a->family == AF_INET) {
                ret->in.sin_family = AF_INET;
                ret->in.sin_port = htons(port);
                memcpy(&ret->in.sin_addr, a->bytes, 4);
                return sizeof(ret->in);
        }
        ret->in6.sin6_family = AF_INET6;
        ret->in6.sin6_port = htons(port);
        memcpy(&ret->in6.sin6_addr, a->bytes, 16);
        return sizeof(ret->in6);
}

static int knock_addr_from_addrinfo(const struct addrinfo *ai, KnockAddr *ret) {
        KnockAddr a = { .family = (uint8_t) ai->ai_family };

        if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof(struct sockaddr_in))
                memcpy(a.bytes, &((const struct sockaddr_in *) ai->ai_addr)->sin_addr, 4);
        else if (ai->ai_family == AF_INET6 && ai->ai_addrlen >= sizeof(struct sockaddr_in6)) {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) ai->ai_addr;

                /* KnockAddr has no scope: a link-local address would be sent nowhere. */
                if (in6->sin6_scope_id != 0)
                        return -EINVAL;
                memcpy(a.bytes, &in6->sin6_addr, 16);
        } else
                return -EAFNOSUPPORT;
        *ret = a;
        return 0;
}

static int errno_from_eai(int eai) {
        switch (eai) {
        case EAI_NONAME:
#ifdef EAI_NODATA
        case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
        case EAI_ADDRFAMILY:
#endif
                return -ENOENT;
        case EAI_AGAIN:
                return -EAGAIN;
        case EAI_MEMORY:
                return -ENOMEM;
        case EAI_SYSTEM:
                return negative_errno();
        default:
                return -EIO;
        }
}

int client_resolve_all(const char *host, int family, KnockAddr ret[static CLIENT_FAMILIES_MAX]) {
        struct addrinfo hints = {
                .ai_family = AF_UNSPEC,
                .ai_socktype = SOCK_DGRAM, /* one entry per address */
                .ai_flags = AI_ADDRCONFIG,
        };
        struct addrinfo *list = NULL;
        KnockAddr a;
        bool other_family = false;
        int r, n = 0;

        if (!host || !ret)
                return -EINVAL;
        if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
                return -EINVAL;
        if (host[0] == 0 || strlen(host) >= NI_MAXHOST)
                return -EINVAL;

        /* A literal is taken as it is, whatever addresses this machine has configured
         * (AI_ADDRCONFIG would refuse "::1" on a host without global IPv6). */
        if (knock_addr_parse(host, &a) >= 0) {
                if (family != AF_UNSPEC && a.family != family)
                        return -EAFNOSUPPORT;
                ret[0] = a;
                return 1;
        }

        /* Ask for both families and filter here, so "no such host" and "no address of
         * that family" stay two different answers. */
        r = getaddrinfo(host, NULL, &hints, &list);
        if (r != 0)
                return errno_from_eai(r);

        r = -EAFNOSUPPORT;
        for (const struct addrinfo *ai = list; ai && n < CLIENT_FAMILIES_MAX; ai = ai->ai_next) {
                bool seen = false;

                if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
                        continue;
                if (family != AF_UNSPEC && ai->ai_family != family) {
                        other_family = true;
                        continue;
                }
                for (int i = 0; i < n; i++)
                        seen = seen || ret[i].family == ai->ai_family;
                if (seen)
                        continue;
                r = knock_addr_from_addrinfo(ai, &a);
                if (r >= 0)
                        ret[n++] = a;
        }
        freeaddrinfo(list);
        if (n > 0)
                return n;
        return r == -EAFNOSUPPORT && !other_family ? -ENOENT : r;
}

int client_resolve(const char *host, int family, KnockAddr *ret) {
        KnockAddr all[CLIENT_FAMILIES_MAX];
        int r;

        if (!ret)
                return -EINVAL;
        r = client_resolve_all(host, family, all);
        if (r < 0)
                return r;
        *ret = all[0];
        return 0;
}

/* Everything that can be known before sending: so a knock is never cut short by a
 * mistake that was visible from the start. */
static int step_check(const KnockAddr *addr, const KnockStep *step) {
        switch (step->proto) {
        case KNOCK_PROTO_TCP:
        case KNOCK_PROTO_UDP:
                return step->value >= 1 ? 0 : -EINVAL;
        case KNOCK_PROTO_PING:
                if (step->value > (addr->family == AF_INET ? KNOCK_PING_MAX_IPV4 : KNOCK_PING_MAX))
                        return -EMSGSIZE;
                return 0;
        default:
                return -EINVAL;
        }
}

static uint16_t icmp_checksum(const uint8_t *p, size_t n) {
        uint32_t sum = 0;

        for (size_t i = 0; i + 1 < n; i += 2)
                sum += (uint32_t) (p[i] << 8 | p[i + 1]);
        if (n & 1)
                sum += (uint32_t) (p[n - 1] << 8);
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return htons((uint16_t) ~sum);
}

/* The unprivileged ping socket; if the ping group range refuses it, a raw socket, which
 * works for whoever has CAP_NET_RAW (root included: the group range binds root too). */
typedef struct PingSocket {
        int fd;
        bool raw;     /* raw IPv4 ICMP sockets leave the checksum to us */
} PingSocket;

static int ping_socket_open(int family, PingSocket *ret) {
        int proto = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
        int fd, r;

        fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, proto);
        if (fd >= 0) {
                *ret = (PingSocket) { .fd = fd };
                return 0;
        }
        r = -errno;
        if (r != -EACCES && r != -EPERM)
                return r;
        fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, proto);
        if (fd < 0)
                return r; /* the ping socket's refusal is the one worth explaining */
        *ret = (PingSocket) { .fd = fd, .raw = true };
        return 0;
}

static int send_ping(const PingSocket *ps, const KnockAddr *addr, uint16_t size, uint16_t seq) {
        _cleanup_free_ uint8_t *packet = NULL;
        size_t len = ICMP_HEADER_LEN + (size_t) size;
        union sockaddr_any sa;
        socklen_t sa_len;
        ssize_t n;

        packet = calloc(1, len);
        if (!packet)
                return -ENOMEM;
        if (addr->family == AF_INET) {
                struct icmphdr h = {
                        .type = ICMP_ECHO,
                        .un.echo.id = htons((uint16_t) getpid()), /* a ping socket sets its own */
                        .un.echo.sequence = htons(seq),
                };

                memcpy(packet, &h, sizeof(h));
                if (ps->raw) {
                        uint16_t sum = icmp_checksum(packet, len);
                        memcpy(packet + offsetof(struct icmphdr, checksum), &sum, sizeof(sum));
                }
        } else {
                /* The kernel computes the ICMPv6 checksum for ping and raw sockets alike. */
                struct icmp6_hdr h = {
                        .icmp6_type = ICMP6_ECHO_REQUEST,
                        .icmp6_id = htons((uint16_t) getpid()),
                        .icmp6_seq = htons(seq),
                };

                memcpy(packet, &h, ICMP_HEADER_LEN);
        }

        sa_len = sockaddr_fill(addr, 0, &sa);
        n = sendto(ps->fd, packet, len, 0, &sa.sa, sa_len);
        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}

static int send_tcp_syn(const KnockAddr *addr, uint16_t port) {
        _cleanup_close_ int fd = -EBADF;
        union sockaddr_any sa;
        socklen_t sa_len = sockaddr_fill(addr, port, &sa);

        fd = socket(addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (fd < 0)
                return -errno;
        /* EINPROGRESS: the SYN is out. 0 can only happen on a very fast path (loopback);
         * either way the socket is closed now, which sends nothing more. */
        if (connect(fd, &sa.sa, sa_len) < 0 && errno != EINPROGRESS)
                return -errno;
        return 0;
}

static int send_udp(const KnockAddr *addr, uint16_t port) {
        _cleanup_close_ int fd = -EBADF;
        union sockaddr_any sa;
        socklen_t sa_len = sockaddr_fill(addr, port, &sa);
        ssize_t n;

        fd = socket(addr->family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
        if (fd < 0)
                return -errno;
        n = sendto(fd, UDP_PAYLOAD, STRLEN(UDP_PAYLOAD), 0, &sa.sa, sa_len);
        if (n < 0)
                return -errno;
        return n == (ssize_t) STRLEN(UDP_PAYLOAD) ? 0 : -EIO;
}

int client_knock(const KnockAddr *addr, const KnockStep *steps, size_t n_steps,
                 const ClientOptions *options, size_t *ret_failed_step) {
        PingSocket ping = { .fd = -EBADF };
        usec_t last_sent = 0;
        size_t i;
        int r = 0;

        if (!addr || !options || (!steps && n_steps > 0))
                return -EINVAL;
        if (addr->family != AF_INET && addr->family != AF_INET6)
                return -EAFNOSUPPORT;

        for (i = 0; i < n_steps; i++) {
                r = step_check(addr, &steps[i]);
                if (r < 0)
                        goto fail;
        }
        for (i = 0; i < n_steps; i++)
                if (steps[i].proto == KNOCK_PROTO_PING) {
                        r = ping_socket_open(addr->family, &ping);
                        if (r < 0)
                                goto fail;
                        break;
                }

        for (i = 0; i < n_steps; i++) {
                if (i > 0 && options->delay > 0) {
                        r = sleep_until(last_sent + options->delay);
                        if (r < 0)
                                goto fail;
                }

                switch (steps[i].proto) {
                case KNOCK_PROTO_TCP:
                        r = send_tcp_syn(addr, steps[i].value);
                        break;
                case KNOCK_PROTO_UDP:
                        r = send_udp(addr, steps[i].value);
                        break;
                default:
                        r = send_ping(&ping, addr, steps[i].value, (uint16_t) (i + 1));
                        break;
                }
                if (r < 0)
                        goto fail;
                last_sent = now_usec(CLOCK_MONOTONIC);
                if (options->step_sent)
                        options->step_sent(&steps[i], i, options->userdata);
        }
        (void) safe_close(ping.fd);
        return 0;

fail:
        (void) safe_close(ping.fd);
        if (ret_failed_step)
                *ret_failed_step = i;
        return r;
}
