/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nft-netlink.c — the netlink plumbing of the nft module (see nft-internal.h): table
 * names, the command socket, the one receive primitive, errors, and one request with
 * its replies (talk) or a whole dump. Everything read from the kernel is checked for
 * length and shape before use.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <libnftnl/table.h>

#include "errno-util.h"
#include "nft-internal.h"
#include "string-util.h"

/* A dump interrupted by a concurrent ruleset change is restarted this many times. */
#define NFT_DUMP_TRIES 3

/* Names. */

/* nft's identifier characters (scanner.l: ({letter}|[_.])({letter}|{digit}|[/\-_\.])*). */
static bool nft_identifier_valid(const char *s, size_t n) {
        if (n == 0 || n >= DOOR_SET_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
                bool digit = c >= '0' && c <= '9';

                if (letter || c == '_' || c == '.')
                        continue;
                if (i > 0 && (digit || c == '/' || c == '-'))
                        continue;
                return false;
        }
        return true;
}

static const char *family_name(int family) {
        switch (family) {
        case NFPROTO_INET:
                return "inet";
        case NFPROTO_IPV4:
                return "ip";
        case NFPROTO_IPV6:
                return "ip6";
        default:
                return NULL;
        }
}

static bool family_valid(int family) {
        return family_name(family) != NULL;
}

int nft_table_parse(const char *spec, NftTable *ret) {
        static const struct {
                const char *prefix;
                int family;
        } families[] = {
                { "inet:", NFPROTO_INET },
                { "ip:", NFPROTO_IPV4 },
                { "ip6:", NFPROTO_IPV6 },
        };
        NftTable t = { .family = NFPROTO_INET };
        const char *name = spec;
        size_t n;

        if (!spec)
                return -EINVAL;
        if (strchr(spec, ':')) {
                name = NULL;
                for (size_t i = 0; i < ELEMENTSOF(families) && !name; i++)
                        if ((name = startswith(spec, families[i].prefix)))
                                t.family = families[i].family;
                if (!name)
                        return -EINVAL;
        }
        n = strnlen(name, DOOR_SET_NAME_MAX);
        if (!nft_identifier_valid(name, n))
                return -EINVAL;
        memcpy(t.name, name, n);
        t.name[n] = 0;
        *ret = t;
        return 0;
}

const char *nft_table_format(const NftTable *t, char *buf, size_t size) {
        const char *f = family_name(t->family);

        (void) snprintf(buf, size, "%s %.*s", f ?: "?", (int) sizeof(t->name), t->name);
        return buf;
}

/* A table or set name from outside: NUL-terminated within the kernel's limit. */
bool nft_object_name_valid(const char *s, size_t size) {
        size_t n = strnlen(s, size);

        return n > 0 && n < size;
}

bool nft_table_valid(const NftTable *t) {
        return t && family_valid(t->family) && nft_object_name_valid(t->name, sizeof(t->name));
}

/* Sockets and what comes out of them. */

/* Raise a socket buffer: SO_*BUFFORCE passes net.core.[rw]mem_max but needs
 * CAP_NET_ADMIN; without it the plain option gets as far as the limit allows. */
void nft_socket_buffer_raise(int fd, int force_opt, int opt, int size) {
        if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) >= 0)
                return;
        (void) setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

static void netlink_option_set(int fd, int opt) {
        int one = 1;

        /* Old kernels say ENOPROTOOPT; the replies are then merely longer. */
        (void) setsockopt(fd, SOL_NETLINK, opt, &one, sizeof(one));
}

int nft_socket_open(uint32_t groups, NftSocket *ret) {
        NftSocket s = {
                .rbuf_size = MAX((size_t) MNL_SOCKET_BUFFER_SIZE, (size_t) NFT_RECV_BUFFER_MIN),
        };

        s.rbuf = malloc(s.rbuf_size);
        if (!s.rbuf)
                return -ENOMEM;
        /* Non-blocking: every read here has its own bound (see nft_recv()). */
        s.nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (!s.nl || mnl_socket_bind(s.nl, groups, MNL_SOCKET_AUTOPID) < 0) {
                int r = negative_errno();

                nft_socket_close(&s);
                return r;
        }
        *ret = s;
        return 0;
}

void nft_socket_close(NftSocket *s) {
        if (s->nl)
                (void) mnl_socket_close(s->nl);
        s->nl = NULL;
        s->rbuf = mfree(s->rbuf);
}

/*
 * Receive one datagram that the kernel sent. Waits until deadline (CLOCK_MONOTONIC µs;
 * 0: do not wait). Returns its length, -EAGAIN when nothing came in time, -EMSGSIZE if it
 * did not fit, or -errno (-ENOBUFS: the socket overran and dropped messages).
 */
ssize_t nft_recv(int fd, void *buf, size_t size, usec_t deadline) {
        for (;;) {
                struct sockaddr_nl sa = {};
                struct iovec iov = { .iov_base = buf, .iov_len = size };
                struct msghdr mh = {
                        .msg_name = &sa,
                        .msg_namelen = sizeof(sa),
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                };
                ssize_t l;

                l = recvmsg(fd, &mh, MSG_DONTWAIT);
                if (l < 0) {
                        struct pollfd p = { .fd = fd, .events = POLLIN };
                        usec_t now;

                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                return negative_errno();
                        now = deadline > 0 ? now_usec(CLOCK_MONOTONIC) : 0;
                        if (now >= deadline)
                                return -EAGAIN;
                        if (poll(&p, 1, (int) MIN((deadline - now + 999) / 1000, (usec_t) INT_MAX)) < 0 &&
                            errno != EINTR)
                                return negative_errno();
                        continue;
                }
                if (mh.msg_flags & MSG_TRUNC)
                        return -EMSGSIZE;
                /* Only the kernel (port 0) speaks for nf_tables. */
                if (mh.msg_namelen != sizeof(sa) || sa.nl_family != AF_NETLINK || sa.nl_pid != 0) {
                        if (deadline > 0 && now_usec(CLOCK_MONOTONIC) >= deadline)
                                return -EAGAIN;
                        continue;
                }
                return l;
        }
}

/* The errno of an NLMSG_ERROR message: 0 for an ACK, -errno, or -EBADMSG if malformed. */
int nft_error_of(const struct nlmsghdr *nlh) {
        const struct nlmsgerr *e;

        if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nlmsgerr))
                return -EBADMSG;
        e = mnl_nlmsg_get_payload(nlh);
        if (e->error > 0 || e->error < -4095)
                return -EBADMSG;
        return e->error;
}

/* NLMSG_DONE may carry the dump's final error. */
static int netlink_done_error_of(const struct nlmsghdr *nlh) {
        int e;

        if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int))
                return 0;
        memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
        return e < 0 && e >= -4095 ? e : 0;
}

/* The nfgenmsg family of an nf_tables message, or -EBADMSG. */
int nft_family_of(const struct nlmsghdr *nlh) {
        const struct nfgenmsg *g;

        if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nfgenmsg))
                return -EBADMSG;
        g = mnl_nlmsg_get_payload(nlh);
        return g->nfgen_family;
}

/* The command socket: requests and their replies. */

int nft_open(Nft **ret) {
        _cleanup_(nft_freep) Nft *n = NULL;
        int fd, r;

        n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        n->batch = malloc(NFT_BATCH_BUFFER_SIZE);
        if (!n->batch)
                return -ENOMEM;

        r = nft_socket_open(0, &n->sock);
        if (r < 0)
                return r;
        fd = mnl_socket_get_fd(n->sock.nl);
        netlink_option_set(fd, NETLINK_EXT_ACK);
        /* Errors without a copy of the request: a full batch of failures then still fits. */
        netlink_option_set(fd, NETLINK_CAP_ACK);
        nft_socket_buffer_raise(fd, SO_SNDBUFFORCE, SO_SNDBUF, NFT_BATCH_BUFFER_SIZE);
        nft_socket_buffer_raise(fd, SO_RCVBUFFORCE, SO_RCVBUF, NFT_CMD_RCVBUF);

        n->portid = mnl_socket_get_portid(n->sock.nl);
        n->seq = (uint32_t) time(NULL);
        *ret = TAKE_PTR(n);
        return 0;
}

Nft *nft_free(Nft *n) {
        if (!n)
                return NULL;
        nft_socket_close(&n->sock);
        free(n->batch);
        free(n);
        return NULL;
}

uint32_t nft_portid(const Nft *n) {
        return n->portid;
}

uint32_t nft_next_seq(Nft *n) {
        /* 0 is what a message without a sequence number carries. */
        if (++n->seq == 0)
                n->seq = 1;
        return n->seq;
}

/* Drop whatever an earlier, abandoned exchange left in the socket. Its replies would
 * be skipped for their sequence numbers anyway; this keeps them from filling the
 * receive buffer. */
void nft_drain(Nft *n) {
        if (!n->unclean)
                return;
        for (unsigned i = 0; i < 64; i++)
                if (nft_recv(mnl_socket_get_fd(n->sock.nl), n->sock.rbuf, n->sock.rbuf_size, 0) == -EAGAIN)
                        return;
}

/*
 * Send one request and hand each data message of its reply to cb, until the kernel's
 * ACK, error or NLMSG_DONE. Messages of other requests (stale sequence numbers) are
 * skipped. A dump is always read to its end, even after cb failed, so the socket is
 * left clean. Returns 0, 1 if the kernel flagged the dump as interrupted by a ruleset
 * change (NLM_F_DUMP_INTR: the caller starts over), the kernel's -errno, cb's error,
 * or -ETIMEDOUT.
 */
int nft_talk(Nft *n, struct nlmsghdr *nlh, nft_reply_fn cb, void *userdata) {
        int fd = mnl_socket_get_fd(n->sock.nl), cb_error = 0, result;
        bool interrupted = false;
        uint32_t seq;
        usec_t deadline;

        nft_drain(n);
        seq = nlh->nlmsg_seq = nft_next_seq(n);
        n->unclean = true;
        if (mnl_socket_sendto(n->sock.nl, nlh, nlh->nlmsg_len) < 0)
                return negative_errno();

        deadline = now_usec(CLOCK_MONOTONIC) + NFT_REPLY_TIMEOUT_USEC;
        for (;;) {
                const struct nlmsghdr *m;
                ssize_t l;
                int len;

                /* The bound holds even if datagrams keep coming. */
                if (now_usec(CLOCK_MONOTONIC) >= deadline)
                        return -ETIMEDOUT;
                l = nft_recv(fd, n->sock.rbuf, n->sock.rbuf_size, deadline);
                if (l == -EAGAIN)
                        return -ETIMEDOUT;
                if (l < 0)
                        return (int) l;

                len = (int) l;
                for (m = n->sock.rbuf; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
                        int r;

                        if (m->nlmsg_pid != n->portid || m->nlmsg_seq != seq)
                                continue;
                        if (m->nlmsg_flags & NLM_F_DUMP_INTR)
                                interrupted = true;

                        switch (m->nlmsg_type) {
                        case NLMSG_ERROR:
                                result = nft_error_of(m);
                                goto done;
                        case NLMSG_DONE:
                                result = netlink_done_error_of(m);
                                goto done;
                        case NLMSG_NOOP:
                        case NLMSG_OVERRUN:
                                break;
                        default:
                                if (cb_error == 0 && (r = cb(m, userdata)) < 0)
                                        cb_error = r;
                        }
                }
        }
done:
        /* The kernel's last word on this request: nothing more of it will come. */
        n->unclean = false;
        if (result < 0)
                return result;
        if (cb_error < 0)
                return cb_error;
        return interrupted ? 1 : 0;
}

/* Run a dump request (built by the caller into buf), restarting it when the kernel says
 * the ruleset changed under it. reset is called before each attempt. */
int nft_dump(Nft *n, struct nlmsghdr *nlh, nft_reply_fn cb, void (*reset)(void *userdata),
                    void *userdata) {
        for (unsigned i = 0; i < NFT_DUMP_TRIES; i++) {
                int r;

                reset(userdata);
                r = nft_talk(n, nlh, cb, userdata);
                if (r <= 0)
                        return r;
        }
        return -EAGAIN;
}

/* The table. */

static int table_handle_cb(const struct nlmsghdr *nlh, void *userdata) {
        struct nftnl_table *t = nftnl_table_alloc();
        uint64_t *handle = userdata;
        int r = -EBADMSG;

        if (!t)
                return -ENOMEM;
        if (nftnl_table_nlmsg_parse(nlh, t) >= 0 && nftnl_table_is_set(t, NFTNL_TABLE_HANDLE)) {
                *handle = nftnl_table_get_u64(t, NFTNL_TABLE_HANDLE);
                r = 0;
        }
        nftnl_table_free(t);
        return r;
}

int nft_get_table_handle(Nft *n, const NftTable *t, uint64_t *ret_handle) {
        struct nftnl_table *table;
        struct nlmsghdr *nlh;
        uint64_t handle = 0;
        int r;

        if (!nft_table_valid(t))
                return -EINVAL;
        table = nftnl_table_alloc();
        if (!table)
                return -ENOMEM;
        nlh = nftnl_nlmsg_build_hdr(n->batch, NFT_MSG_GETTABLE, (uint16_t) t->family, NLM_F_ACK, 0);
        nftnl_table_set_str(table, NFTNL_TABLE_NAME, t->name);
        nftnl_table_nlmsg_build_payload(nlh, table);
        nftnl_table_free(table);
        r = nft_talk(n, nlh, table_handle_cb, &handle);
        if (r < 0)
                return r;
        if (handle == 0)
                return -EBADMSG;
        if (ret_handle)
                *ret_handle = handle;
        return 0;
}
