/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nft.c — knockwatch's conversation with nf_tables (see nft.h): the command socket
 * (requests, dumps and the element batch with every reply matched to its operation)
 * and the monitor socket on NFNLGRP_NFTABLES. Messages are built and parsed with
 * libnftnl; libmnl only walks netlink messages. Everything read from the kernel is
 * checked for length and shape before use: a reply that does not fit is an error,
 * an event that does not fit is skipped.
 */
#include <limits.h>
#include <poll.h>
#include <netinet/in.h> /* before the linux/ headers, which then defer to it */
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <stdio.h>

#include "errno-util.h"
#include "nft.h"
#include "string-util.h"
#include "time-util.h"

/* How long one request may wait for its replies. The kernel answers within
 * microseconds; this only stops a stuck peer from stalling the daemon forever. */
#define NFT_REPLY_TIMEOUT_USEC (5 * USEC_PER_SEC)
/* A dump interrupted by a concurrent ruleset change is restarted this many times. */
#define NFT_DUMP_TRIES 3
/* Bounds on what one table may make us allocate. */
#define NFT_SETS_MAX 4096
#define NFT_ELEMENTS_MAX (1U << 20)
/* Receive buffer: at least a page, and large enough that the kernel packs dumps
 * into few datagrams (it sizes them after the reader's buffer, up to 32 KiB). */
#define NFT_RECV_BUFFER_MIN 32768
/* Set user data is at most NFT_USERDATA_MAXLEN (256) bytes in the kernel. */
#define NFT_USERDATA_MAX 1024

/* The largest element message we build: nlmsghdr 16 + nfgenmsg 4, table and set name
 * attributes 4 + 256 each, element list, element and key nests 4 each, key 4 + 16,
 * timeout 4 + 8 = 584, rounded up. */
#define NFT_ELEM_MSG_MAX 640
#define NFT_OP_MSGS_MAX 3
#define NFT_BATCH_CTL_MAX 64 /* batch begin or end: nlmsghdr + nfgenmsg */
#define NFT_BATCH_BUFFER_SIZE \
        (2 * NFT_BATCH_CTL_MAX + NFT_BATCH_MAX * NFT_OP_MSGS_MAX * NFT_ELEM_MSG_MAX)
/* Every message of a batch carries NLM_F_ACK, and the kernel queues all the ACKs
 * during sendmsg(): the receive buffer must hold them all at once. Each ACK is its
 * own skb, which costs about 1 KiB of receive buffer (truesize), more with an
 * extended-ACK error attribute. */
#define NFT_ACK_TRUESIZE 1536
#define NFT_CMD_RCVBUF (NFT_BATCH_MAX * NFT_OP_MSGS_MAX * NFT_ACK_TRUESIZE)

/* The monitor's receive buffer and how many datagrams one nft_monitor_process() call
 * reads at most before it returns to the event loop (the fd stays readable). */
#define NFT_MONITOR_RCVBUF (4 * 1024 * 1024)
#define NFT_MONITOR_READS_MAX 4096

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
static bool object_name_valid(const char *s, size_t size) {
        size_t n = strnlen(s, size);

        return n > 0 && n < size;
}

static bool table_valid(const NftTable *t) {
        return t && family_valid(t->family) && object_name_valid(t->name, sizeof(t->name));
}

/* Raise a socket buffer: SO_*BUFFORCE passes net.core.[rw]mem_max but needs
 * CAP_NET_ADMIN; without it the plain option gets as far as the limit allows. */
static void socket_buffer_raise(int fd, int force_opt, int opt, int size) {
        if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) >= 0)
                return;
        (void) setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

static void netlink_option_set(int fd, int opt) {
        int one = 1;

        /* Old kernels say ENOPROTOOPT; the replies are then merely longer. */
        (void) setsockopt(fd, SOL_NETLINK, opt, &one, sizeof(one));
}

static int netlink_socket_open(uint32_t groups, struct mnl_socket **ret) {
        struct mnl_socket *nl;

        /* Non-blocking: every read here has its own bound (see netlink_recv()). */
        nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (!nl)
                return negative_errno();
        if (mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0) {
                int r = negative_errno();

                (void) mnl_socket_close(nl);
                return r;
        }
        *ret = nl;
        return 0;
}

/*
 * Receive one datagram that the kernel sent. Waits until deadline (CLOCK_MONOTONIC µs;
 * 0: do not wait). Returns its length, -EAGAIN when nothing came in time, -EMSGSIZE if it
 * did not fit, or -errno (-ENOBUFS: the socket overran and dropped messages).
 */
static ssize_t netlink_recv(int fd, void *buf, size_t size, usec_t deadline) {
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
static int netlink_error_of(const struct nlmsghdr *nlh) {
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
static int nfnl_family_of(const struct nlmsghdr *nlh) {
        const struct nfgenmsg *g;

        if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nfgenmsg))
                return -EBADMSG;
        g = mnl_nlmsg_get_payload(nlh);
        return g->nfgen_family;
}

/* The command socket. */

typedef enum NftOpKind {
        NFT_OP_ADD,
        NFT_OP_DELETE,
} NftOpKind;

typedef struct NftOp {
        NftOpKind kind;
        NftTable table;
        char set[DOOR_SET_NAME_MAX];
        KnockAddr addr;
        uint64_t timeout_ms;
        uintptr_t cookie;

        /* Bookkeeping of one commit round. */
        int error;          /* the first error of its messages, in message order */
        bool reported;
} NftOp;

struct Nft {
        struct mnl_socket *nl;
        uint32_t portid;
        uint32_t seq;
        bool unclean;       /* an exchange was abandoned: its replies may still come */

        void *rbuf;
        size_t rbuf_size;
        char *batch;        /* NFT_BATCH_BUFFER_SIZE bytes */

        NftOp queued[NFT_BATCH_MAX];
        size_t n_queued;
        /* The operations of the commit under way. They are moved out of queued[] first,
         * so that a result callback may queue new operations for the next commit. */
        NftOp committing[NFT_BATCH_MAX];
        size_t n_committing;
        bool in_commit;
        /* Per message of a round: which operation (index into committing[]) it belongs
         * to, and whether its reply came. */
        uint16_t msg_op[NFT_BATCH_MAX * NFT_OP_MSGS_MAX];
        bool msg_replied[NFT_BATCH_MAX * NFT_OP_MSGS_MAX];
};

int nft_open(Nft **ret) {
        _cleanup_(nft_freep) Nft *n = NULL;
        int fd, r;

        n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        n->rbuf_size = MAX((size_t) MNL_SOCKET_BUFFER_SIZE, (size_t) NFT_RECV_BUFFER_MIN);
        n->rbuf = malloc(n->rbuf_size);
        n->batch = malloc(NFT_BATCH_BUFFER_SIZE);
        if (!n->rbuf || !n->batch)
                return -ENOMEM;

        r = netlink_socket_open(0, &n->nl);
        if (r < 0)
                return r;
        fd = mnl_socket_get_fd(n->nl);
        netlink_option_set(fd, NETLINK_EXT_ACK);
        /* Errors without a copy of the request: a full batch of failures then still fits. */
        netlink_option_set(fd, NETLINK_CAP_ACK);
        socket_buffer_raise(fd, SO_SNDBUFFORCE, SO_SNDBUF, NFT_BATCH_BUFFER_SIZE);
        socket_buffer_raise(fd, SO_RCVBUFFORCE, SO_RCVBUF, NFT_CMD_RCVBUF);

        n->portid = mnl_socket_get_portid(n->nl);
        n->seq = (uint32_t) time(NULL);
        *ret = TAKE_PTR(n);
        return 0;
}

Nft *nft_free(Nft *n) {
        if (!n)
                return NULL;
        if (n->nl)
                (void) mnl_socket_close(n->nl);
        free(n->rbuf);
        free(n->batch);
        free(n);
        return NULL;
}

uint32_t nft_portid(const Nft *n) {
        return n->portid;
}

static uint32_t nft_next_seq(Nft *n) {
        /* 0 is what a message without a sequence number carries. */
        if (++n->seq == 0)
                n->seq = 1;
        return n->seq;
}

/* Drop whatever an earlier, abandoned exchange left in the socket. Its replies would
 * be skipped for their sequence numbers anyway; this keeps them from filling the
 * receive buffer. */
static void nft_drain(Nft *n) {
        if (!n->unclean)
                return;
        for (unsigned i = 0; i < 64; i++)
                if (netlink_recv(mnl_socket_get_fd(n->nl), n->rbuf, n->rbuf_size, 0) == -EAGAIN)
                        return;
}

typedef int (*nft_reply_fn)(const struct nlmsghdr *nlh, void *userdata);

/*
 * Send one request and hand each data message of its reply to cb, until the kernel's
 * ACK, error or NLMSG_DONE. Messages of other requests (stale sequence numbers) are
 * skipped. A dump is always read to its end, even after cb failed, so the socket is
 * left clean. Returns 0, 1 if the kernel flagged the dump as interrupted by a ruleset
 * change (NLM_F_DUMP_INTR: the caller starts over), the kernel's -errno, cb's error,
 * or -ETIMEDOUT.
 */
static int nft_talk(Nft *n, struct nlmsghdr *nlh, nft_reply_fn cb, void *userdata) {
        int fd = mnl_socket_get_fd(n->nl), cb_error = 0, result;
        bool interrupted = false;
        uint32_t seq;
        usec_t deadline;

        nft_drain(n);
        seq = nlh->nlmsg_seq = nft_next_seq(n);
        n->unclean = true;
        if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0)
                return negative_errno();

        deadline = now_usec(CLOCK_MONOTONIC) + NFT_REPLY_TIMEOUT_USEC;
        for (;;) {
                const struct nlmsghdr *m;
                ssize_t l;
                int len;

                /* The bound holds even if datagrams keep coming. */
                if (now_usec(CLOCK_MONOTONIC) >= deadline)
                        return -ETIMEDOUT;
                l = netlink_recv(fd, n->rbuf, n->rbuf_size, deadline);
                if (l == -EAGAIN)
                        return -ETIMEDOUT;
                if (l < 0)
                        return (int) l;

                len = (int) l;
                for (m = n->rbuf; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
                        int r;

                        if (m->nlmsg_pid != n->portid || m->nlmsg_seq != seq)
                                continue;
                        if (m->nlmsg_flags & NLM_F_DUMP_INTR)
                                interrupted = true;

                        switch (m->nlmsg_type) {
                        case NLMSG_ERROR:
                                result = netlink_error_of(m);
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
static int nft_dump(Nft *n, struct nlmsghdr *nlh, nft_reply_fn cb, void (*reset)(void *userdata),
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

/* Set comments. */

typedef struct UdataComment {
        const char *end;
        const char *value;  /* NUL-terminated inside the user data */
        bool malformed;
} UdataComment;

static int udata_comment_cb(const struct nftnl_udata *attr, void *userdata) {
        UdataComment *c = userdata;
        const char *value = nftnl_udata_get(attr);
        uint8_t len = nftnl_udata_len(attr);

        /* nftnl_udata_parse() checks only that each attribute starts inside the buffer. */
        if (value > c->end || (size_t) (c->end - value) < len) {
                c->malformed = true;
                return -1;
        }
        if (nftnl_udata_type(attr) != NFTNL_UDATA_SET_COMMENT)
                return 0;
        /* Exactly one comment, a string with its one NUL at the end. */
        if (c->value || len == 0 || memchr(value, 0, len) != value + len - 1) {
                c->malformed = true;
                return -1;
        }
        c->value = value;
        return 0;
}

/* The comment in a set's user data. Malformed user data counts as no comment. */
static void set_comment_get(struct nftnl_set *s, DoorSetInfo *info) {
        /* Two zero bytes after the data: a truncated attribute header at the very end
         * then reads zeros, never past the buffer. */
        char buf[NFT_USERDATA_MAX + 2] = {};
        UdataComment c = {};
        const void *data;
        uint32_t len = 0;

        if (!nftnl_set_is_set(s, NFTNL_SET_USERDATA))
                return;
        data = nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len);
        if (!data || len == 0 || len > NFT_USERDATA_MAX)
                return;
        memcpy(buf, data, len);
        c.end = buf + len;
        if (nftnl_udata_parse(buf, len, udata_comment_cb, &c) < 0 || c.malformed || !c.value)
                return;
        info->has_comment = true;
        (void) snprintf(info->comment, sizeof(info->comment), "%s", c.value);
}

/* Sets. */

static bool set_name_anonymous(const char *name, uint32_t flags) {
        return (flags & NFT_SET_ANONYMOUS) || startswith(name, "__");
}

/*
 * Parse a NEWSET message (a dump reply or an event) of table t into *ret. Returns 1 if
 * it is a named set of t, 0 if it belongs elsewhere or is anonymous, -EBADMSG if it
 * cannot be parsed.
 */
static int set_info_parse(const struct nlmsghdr *nlh, const NftTable *t, DoorSetInfo *ret) {
        struct nftnl_set *s;
        const char *table, *name;
        DoorSetInfo info = {};
        int family, r;

        family = nfnl_family_of(nlh);
        if (family < 0)
                return family;
        if (family != t->family)
                return 0;

        s = nftnl_set_alloc();
        if (!s)
                return -ENOMEM;
        if (nftnl_set_nlmsg_parse(nlh, s) < 0) {
                r = -EBADMSG;
                goto finish;
        }
        table = nftnl_set_get_str(s, NFTNL_SET_TABLE);
        name = nftnl_set_get_str(s, NFTNL_SET_NAME);
        if (!table || !name || !object_name_valid(name, sizeof(info.name))) {
                r = -EBADMSG;
                goto finish;
        }
        info.flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
        if (!streq(table, t->name) || set_name_anonymous(name, info.flags)) {
                r = 0;
                goto finish;
        }
        strcpy(info.name, name);
        info.key_len = nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN);
        if (nftnl_set_is_set(s, NFTNL_SET_TIMEOUT))
                info.timeout_ms = nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT);
        set_comment_get(s, &info);
        *ret = info;
        r = 1;
finish:
        nftnl_set_free(s);
        return r;
}

typedef struct SetList {
        const NftTable *table;
        DoorSetInfo *sets;
        size_t n, allocated;
} SetList;

static void set_list_reset(void *userdata) {
        SetList *l = userdata;

        l->n = 0;
}

static int set_list_add(const struct nlmsghdr *nlh, void *userdata) {
        SetList *l = userdata;
        DoorSetInfo info;
        int r;

        r = set_info_parse(nlh, l->table, &info);
        if (r <= 0)
                return r;
        if (l->n >= l->allocated) {
                size_t a = l->allocated ? l->allocated * 2 : 8;
                DoorSetInfo *p;

                if (l->n >= NFT_SETS_MAX)
                        return -E2BIG;
                p = reallocarray(l->sets, a, sizeof(*p));
                if (!p)
                        return -ENOMEM;
                l->sets = p;
                l->allocated = a;
        }
        l->sets[l->n++] = info;
        return 0;
}

/* Build a GETSET (or GETSETELEM) request for the table t, and the set name if given. */
static struct nlmsghdr *set_request_build(char *buf, uint16_t type, uint16_t flags, const NftTable *t,
                                          const char *set) {
        struct nlmsghdr *nlh;
        struct nftnl_set *s;

        s = nftnl_set_alloc();
        if (!s)
                return NULL;
        nlh = nftnl_nlmsg_build_hdr(buf, type, (uint16_t) t->family, flags, 0);
        if (nftnl_set_set_str(s, NFTNL_SET_TABLE, t->name) < 0 ||
            (set && nftnl_set_set_str(s, NFTNL_SET_NAME, set) < 0)) {
                nftnl_set_free(s);
                return NULL;
        }
        if (type == NFT_MSG_GETSETELEM)
                nftnl_set_elems_nlmsg_build_payload(nlh, s);
        else
                nftnl_set_nlmsg_build_payload(nlh, s);
        nftnl_set_free(s);
        return nlh;
}

int nft_get_sets(Nft *n, const NftTable *t, DoorSetInfo **ret_sets, size_t *ret_n) {
        SetList l = { .table = t };
        struct nlmsghdr *nlh;
        int r;

        if (!table_valid(t))
                return -EINVAL;
        /* The request fits easily: header and a table name of at most 256 bytes. */
        nlh = set_request_build(n->batch, NFT_MSG_GETSET, NLM_F_DUMP, t, NULL);
        if (!nlh)
                return -ENOMEM;
        /* A missing table fails the dump itself with ENOENT: the kernel looks the table
         * up before it starts dumping. */
        r = nft_dump(n, nlh, set_list_add, set_list_reset, &l);
        if (r < 0) {
                free(l.sets);
                return r;
        }
        *ret_sets = l.sets;
        *ret_n = l.n;
        return 0;
}

/* Elements. */

typedef struct SetShape {
        uint32_t key_len;
        uint64_t timeout_ms;   /* the set's default element timeout, 0 = none */
} SetShape;

/*
 * One element as an address. Returns 1 and fills *ret, or 0 for an element that is no
 * single address of the set's kind (the end of an interval, a catch-all, a range, a key
 * of another length). The kernel leaves out an element's timeout when it equals the set's
 * default (since 6.12), so that default stands in for it when the element expires.
 */
static int element_parse(struct nftnl_set_elem *e, const SetShape *shape, NftElement *ret) {
        NftElement el = {};
        const void *key;
        uint32_t len = 0, flags = 0;

        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
                flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
        if (flags & (NFT_SET_ELEM_INTERVAL_END | NFT_SET_ELEM_CATCHALL))
                return 0;
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY_END) || !nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY))
                return 0;
        key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
        if (!key || (len != 4 && len != 16) || (shape->key_len != 0 && len != shape->key_len))
                return 0;
        el.addr.family = len == 4 ? AF_INET : AF_INET6;
        memcpy(el.addr.bytes, key, len);

        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
                el.expires_ms = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION);
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT))
                el.timeout_ms = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT);
        else if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
                el.timeout_ms = shape->timeout_ms > 0 ? shape->timeout_ms : el.expires_ms;
        *ret = el;
        return 1;
}

typedef int (*element_fn)(const char *set, const NftElement *el, void *userdata);

typedef struct ElementWalk {
        const char *set;
        SetShape shape;
        element_fn fn;
        void *userdata;
} ElementWalk;

static int element_walk_one(struct nftnl_set_elem *e, void *userdata) {
        ElementWalk *w = userdata;
        NftElement el;

        if (element_parse(e, &w->shape, &el) <= 0)
                return 0;
        return w->fn(w->set, &el, w->userdata);
}

/* Parse a NEWSETELEM/DELSETELEM message of table t and call fn for each address element
 * of a named set. shape_of gives the set's key length and default timeout (may be NULL).
 * Returns 0 if the message belongs to another table or an anonymous set, -EBADMSG if it
 * cannot be parsed, or fn's error. */
static int elements_parse(const struct nlmsghdr *nlh, const NftTable *t,
                          bool (*shape_of)(const char *set, SetShape *ret, void *userdata),
                          element_fn fn, void *userdata) {
        ElementWalk w = { .fn = fn, .userdata = userdata };
        struct nftnl_set *s;
        const char *table;
        int family, r = 0;

        family = nfnl_family_of(nlh);
        if (family < 0)
                return family;
        if (family != t->family)
                return 0;

        s = nftnl_set_alloc();
        if (!s)
                return -ENOMEM;
        if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
                r = -EBADMSG;
                goto finish;
        }
        table = nftnl_set_get_str(s, NFTNL_SET_TABLE);
        w.set = nftnl_set_get_str(s, NFTNL_SET_NAME);
        if (!table || !w.set || !object_name_valid(w.set, DOOR_SET_NAME_MAX)) {
                r = -EBADMSG;
                goto finish;
        }
        if (!streq(table, t->name) || set_name_anonymous(w.set, 0))
                goto finish;
        if (shape_of && !shape_of(w.set, &w.shape, userdata))
                goto finish;
        r = nftnl_set_elem_foreach(s, element_walk_one, &w);
finish:
        nftnl_set_free(s);
        return r;
}

typedef struct ElementList {
        const NftTable *table;
        const char *set;
        SetShape shape;
        bool found;
        NftElement *elements;
        size_t n, allocated;
} ElementList;

static int element_list_shape(const struct nlmsghdr *nlh, void *userdata) {
        ElementList *l = userdata;
        DoorSetInfo info;
        int r;

        r = set_info_parse(nlh, l->table, &info);
        if (r <= 0 || !streq(info.name, l->set))
                return r;
        l->shape = (SetShape) { .key_len = info.key_len, .timeout_ms = info.timeout_ms };
        l->found = true;
        return 0;
}

static void element_list_reset(void *userdata) {
        ElementList *l = userdata;

        l->n = 0;
}

static bool element_list_shape_of(const char *set, SetShape *ret, void *userdata) {
        ElementList *l = userdata;

        if (!streq(set, l->set))
                return false;
        *ret = l->shape;
        return true;
}

static int element_list_append(const char *set, const NftElement *el, void *userdata) {
        ElementList *l = userdata;

        if (l->n >= l->allocated) {
                size_t a = l->allocated ? l->allocated * 2 : 16;
                NftElement *p;

                if (l->n >= NFT_ELEMENTS_MAX)
                        return -E2BIG;
                p = reallocarray(l->elements, a, sizeof(*p));
                if (!p)
                        return -ENOMEM;
                l->elements = p;
                l->allocated = a;
        }
        l->elements[l->n++] = *el;
        return 0;
}

static int element_list_add(const struct nlmsghdr *nlh, void *userdata) {
        ElementList *l = userdata;

        return elements_parse(nlh, l->table, element_list_shape_of, element_list_append, l);
}

int nft_get_elements(Nft *n, const NftTable *t, const char *set, NftElement **ret, size_t *ret_n) {
        ElementList l = { .table = t, .set = set };
        struct nlmsghdr *nlh;
        int r;

        if (!table_valid(t) || !set || !object_name_valid(set, DOOR_SET_NAME_MAX))
                return -EINVAL;

        /* The set first: its key length and default timeout, and ENOENT if it is not there. */
        nlh = set_request_build(n->batch, NFT_MSG_GETSET, NLM_F_ACK, t, set);
        if (!nlh)
                return -ENOMEM;
        r = nft_talk(n, nlh, element_list_shape, &l);
        if (r < 0)
                return r;
        if (!l.found)
                return -ENOENT;
        if (l.shape.key_len != 4 && l.shape.key_len != 16)
                return -EINVAL;

        nlh = set_request_build(n->batch, NFT_MSG_GETSETELEM, NLM_F_DUMP, t, set);
        if (!nlh)
                return -ENOMEM;
        r = nft_dump(n, nlh, element_list_add, element_list_reset, &l);
        if (r < 0) {
                free(l.elements);
                return r;
        }
        *ret = l.elements;
        *ret_n = l.n;
        return 0;
}

/* The batch. */

static int nft_queue(Nft *n, NftOpKind kind, const NftTable *t, const char *set, const KnockAddr *addr,
                     uint64_t timeout_ms, uintptr_t cookie) {
        NftOp *op;

        if (!table_valid(t) || !set || !object_name_valid(set, DOOR_SET_NAME_MAX) || !addr ||
            (addr->family != AF_INET && addr->family != AF_INET6))
                return -EINVAL;
        if (n->n_queued >= NFT_BATCH_MAX)
                return -ENOBUFS;

        op = &n->queued[n->n_queued++];
        *op = (NftOp) {
                .kind = kind,
                .table = *t,
                .addr = *addr,
                .timeout_ms = timeout_ms,
                .cookie = cookie,
        };
        strcpy(op->set, set);
        return 0;
}

int nft_queue_add(Nft *n, const NftTable *t, const char *set, const KnockAddr *addr,
                  uint64_t timeout_ms, uintptr_t cookie) {
        if (timeout_ms == 0)
                return -EINVAL;
        return nft_queue(n, NFT_OP_ADD, t, set, addr, timeout_ms, cookie);
}

int nft_queue_delete(Nft *n, const NftTable *t, const char *set, const KnockAddr *addr,
                     uintptr_t cookie) {
        return nft_queue(n, NFT_OP_DELETE, t, set, addr, 0, cookie);
}

size_t nft_pending(const Nft *n) {
        return n->n_queued;
}

/* One element message of op at buf: NEWSETELEM (with the op's timeout) or DELSETELEM.
 * Never NLM_F_EXCL: an element that is there already is what a refresh expects. */
static struct nlmsghdr *elem_msg_build(char *buf, uint16_t type, const NftOp *op, uint32_t seq) {
        struct nftnl_set_elem *e;
        struct nftnl_set *s;
        struct nlmsghdr *nlh;
        uint16_t flags = (uint16_t) (NLM_F_ACK | (type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0));

        s = nftnl_set_alloc();
        if (!s)
                return NULL;
        e = nftnl_set_elem_alloc();
        if (!e) {
                nftnl_set_free(s);
                return NULL;
        }
        nftnl_set_elem_add(s, e);
        if (nftnl_set_set_str(s, NFTNL_SET_TABLE, op->table.name) < 0 ||
            nftnl_set_set_str(s, NFTNL_SET_NAME, op->set) < 0 ||
            nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, op->addr.bytes, (uint32_t) knock_addr_len(&op->addr)) < 0) {
                nftnl_set_free(s);
                return NULL;
        }
        /* Always an explicit timeout on an add: since 6.12 an add without one turns an
         * existing element permanent. */
        if (type == NFT_MSG_NEWSETELEM)
                nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, op->timeout_ms);

        nlh = nftnl_nlmsg_build_hdr(buf, type, (uint16_t) op->table.family, flags, seq);
        nftnl_set_elems_nlmsg_build_payload(nlh, s);
        nftnl_set_free(s);
        return nlh;
}

/* The messages of one operation: a delete is one DELSETELEM; an add is NEWSETELEM,
 * DELSETELEM, NEWSETELEM, which restarts the timeout on every kernel (up to 6.11 a
 * re-add is acknowledged and ignored; the first add makes sure the delete finds it). */
static unsigned op_msg_types(const NftOp *op, uint16_t types[static NFT_OP_MSGS_MAX]) {
        if (op->kind == NFT_OP_DELETE) {
                types[0] = NFT_MSG_DELSETELEM;
                return 1;
        }
        types[0] = NFT_MSG_NEWSETELEM;
        types[1] = NFT_MSG_DELSETELEM;
        types[2] = NFT_MSG_NEWSETELEM;
        return 3;
}

typedef struct Round {
        uint32_t begin_seq, first_seq, end_seq;
        size_t n_msgs;
        size_t n_replies;
        int batch_error;    /* an error the kernel reported against the batch as a whole */
        bool failed;        /* some operation failed: nothing of the batch was committed */
} Round;

/* Build the batch of the unreported operations of n->committing into n->batch. */
static int round_build(Nft *n, Round *round, size_t *ret_len) {
        char *p = n->batch, *end = n->batch + NFT_BATCH_BUFFER_SIZE;
        struct nlmsghdr *nlh;
        uint32_t seq;

        *round = (Round) {};
        /* Keep the batch's sequence numbers consecutive: replies are mapped back to
         * messages by subtraction. */
        if (n->seq > UINT32_MAX - (NFT_BATCH_MAX * NFT_OP_MSGS_MAX + 4))
                n->seq = 0;
        seq = round->begin_seq = nft_next_seq(n);
        nlh = nftnl_batch_begin(p, seq);
        p += NLMSG_ALIGN(nlh->nlmsg_len);

        round->first_seq = nft_next_seq(n);
        seq = round->first_seq - 1;
        for (size_t i = 0; i < n->n_committing; i++) {
                NftOp *op = &n->committing[i];
                uint16_t types[NFT_OP_MSGS_MAX];
                unsigned k = op_msg_types(op, types);

                if (op->reported)
                        continue;
                op->error = 0;
                for (unsigned j = 0; j < k; j++) {
                        if ((size_t) (end - p) < NFT_ELEM_MSG_MAX + NFT_BATCH_CTL_MAX)
                                return -ENOBUFS; /* cannot happen: the buffer holds a full batch */
                        nlh = elem_msg_build(p, types[j], op, ++seq);
                        if (!nlh)
                                return -ENOMEM;
                        n->msg_op[round->n_msgs] = (uint16_t) i;
                        n->msg_replied[round->n_msgs] = false;
                        round->n_msgs++;
                        p += NLMSG_ALIGN(nlh->nlmsg_len);
                }
        }
        n->seq = seq;
        round->end_seq = nft_next_seq(n);
        nlh = nftnl_batch_end(p, round->end_seq);
        p += NLMSG_ALIGN(nlh->nlmsg_len);
        *ret_len = (size_t) (p - n->batch);
        return 0;
}

/* File one reply of the batch under its message and operation. */
static void round_reply(Nft *n, Round *round, const struct nlmsghdr *m) {
        uint32_t idx = m->nlmsg_seq - round->first_seq; /* stale ones land out of range */
        int error;

        if (m->nlmsg_type != NLMSG_ERROR)
                return;
        error = netlink_error_of(m);
        if (m->nlmsg_seq == round->begin_seq || m->nlmsg_seq == round->end_seq) {
                /* EPERM, ENOMEM, a failed commit: the kernel names the batch, not a message. */
                if (error < 0 && round->batch_error == 0)
                        round->batch_error = error;
                return;
        }
        if (idx >= round->n_msgs || n->msg_replied[idx])
                return;
        n->msg_replied[idx] = true;
        round->n_replies++;
        if (error < 0) {
                NftOp *op = &n->committing[n->msg_op[idx]];

                round->failed = true;
                /* The replies come in message order: the first error of an operation is
                 * its cause (later ones, like the DELSETELEM after a failed add, follow
                 * from it). */
                if (op->error == 0)
                        op->error = error;
        }
}

/* ACKs are read many per system call (recvmmsg), one datagram per slot of the receive
 * buffer. An ACK is 36 bytes plus extended-ACK attributes; a slot holds far more. */
#define NFT_ACK_SLOT_SIZE 2048
#define NFT_ACK_SLOTS 16

/* Read the replies waiting for this round. Returns the number of datagrams read,
 * -EAGAIN if there was none, or -errno. */
static int round_read(Nft *n, Round *round) {
        struct mmsghdr mm[NFT_ACK_SLOTS];
        struct iovec iov[NFT_ACK_SLOTS];
        struct sockaddr_nl sa[NFT_ACK_SLOTS];
        unsigned slots = (unsigned) MIN(n->rbuf_size / NFT_ACK_SLOT_SIZE, (size_t) NFT_ACK_SLOTS);
        int k;

        for (unsigned i = 0; i < slots; i++) {
                iov[i] = (struct iovec) {
                        .iov_base = (char *) n->rbuf + i * NFT_ACK_SLOT_SIZE,
                        .iov_len = NFT_ACK_SLOT_SIZE,
                };
                sa[i] = (struct sockaddr_nl) {};
                mm[i] = (struct mmsghdr) {
                        .msg_hdr = {
                                .msg_name = &sa[i],
                                .msg_namelen = sizeof(sa[i]),
                                .msg_iov = &iov[i],
                                .msg_iovlen = 1,
                        },
                };
        }
        do
                k = recvmmsg(mnl_socket_get_fd(n->nl), mm, slots, MSG_DONTWAIT, NULL);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return errno == EAGAIN ? -EAGAIN : negative_errno();

        for (int i = 0; i < k; i++) {
                const struct nlmsghdr *m;
                int len = (int) mm[i].msg_len;

                if (mm[i].msg_hdr.msg_flags & MSG_TRUNC)
                        return -EMSGSIZE;
                if (mm[i].msg_hdr.msg_namelen != sizeof(sa[i]) || sa[i].nl_pid != 0)
                        continue; /* not from the kernel */
                for (m = iov[i].iov_base; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len))
                        if (m->nlmsg_pid == n->portid)
                                round_reply(n, round, m);
        }
        return k;
}

/*
 * Send one round and collect its replies. The kernel handles a whole batch inside
 * sendmsg(), so all replies are queued when it returns, an error against the batch as
 * a whole first; they are read without waiting, and only if some are missing without
 * such an error does this wait (boundedly) for them. Returns 0 or a socket error.
 */
static int round_run(Nft *n, Round *round, size_t len) {
        int fd = mnl_socket_get_fd(n->nl);
        usec_t deadline;
        ssize_t l;

        nft_drain(n);
        n->unclean = true;
        l = mnl_socket_sendto(n->nl, n->batch, len);
        if (l < 0)
                return negative_errno();
        if ((size_t) l != len)
                return -EIO;

        deadline = now_usec(CLOCK_MONOTONIC) + NFT_REPLY_TIMEOUT_USEC;
        while (round->n_replies < round->n_msgs) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                usec_t now;
                int r;

                r = round_read(n, round);
                if (r < 0 && r != -EAGAIN)
                        return r;
                if (r == -EAGAIN && round->batch_error < 0)
                        break; /* EPERM, ENOMEM: no per-message replies follow */

                now = now_usec(CLOCK_MONOTONIC);
                if (now >= deadline)
                        return -ETIMEDOUT;
                if (r >= 0)
                        continue;
                if (poll(&p, 1, (int) ((deadline - now + 999) / 1000)) < 0 && errno != EINTR)
                        return negative_errno();
        }
        n->unclean = false;
        return 0;
}

static void op_report(NftOp *op, int error, nft_result_fn result, void *userdata) {
        if (op->reported)
                return;
        op->reported = true;
        if (result)
                result(op->cookie, error, userdata);
}

int nft_commit(Nft *n, nft_result_fn result, void *userdata) {
        int r = 0;

        if (n->in_commit)
                return -EBUSY;
        if (n->n_queued == 0)
                return 0;

        n->in_commit = true;
        memcpy(n->committing, n->queued, n->n_queued * sizeof(NftOp));
        n->n_committing = n->n_queued;
        n->n_queued = 0;

        /* Each round either ends the commit or reports at least one failed operation and
         * sends the others again, so there are at most n_committing + 1 rounds. */
        for (size_t i = 0; i <= n->n_committing; i++) {
                Round round;
                size_t len, left;

                r = round_build(n, &round, &len);
                if (r < 0)
                        break;
                r = round_run(n, &round, len);
                if (r < 0)
                        break;

                if (round.batch_error < 0) {
                        /* Nothing was committed; every operation gets its own error if it
                         * had one, else the batch's. */
                        for (size_t j = 0; j < n->n_committing; j++)
                                op_report(&n->committing[j], n->committing[j].error ?: round.batch_error,
                                          result, userdata);
                        break;
                }
                if (!round.failed) {
                        for (size_t j = 0; j < n->n_committing; j++)
                                op_report(&n->committing[j], 0, result, userdata);
                        break;
                }
                /* The batch was rolled back: report the failed operations, retry the rest. */
                left = 0;
                for (size_t j = 0; j < n->n_committing; j++) {
                        NftOp *op = &n->committing[j];

                        if (!op->reported && op->error < 0)
                                op_report(op, op->error, result, userdata);
                        else if (!op->reported)
                                left++;
                }
                if (left == 0)
                        break;
        }

        /* A socket failure: whatever is left is reported with it. */
        for (size_t j = 0; j < n->n_committing; j++)
                op_report(&n->committing[j], r < 0 ? r : -EIO, result, userdata);
        n->n_committing = 0;
        n->in_commit = false;
        return r;
}

/* The monitor. */

typedef struct MonitorSet {
        char name[DOOR_SET_NAME_MAX];
        SetShape shape;
} MonitorSet;

struct NftMonitor {
        struct mnl_socket *nl;
        NftTable table;
        uint32_t ignore_portid;
        void *rbuf;
        size_t rbuf_size;

        /* The named sets of the table with their key length and default timeout, which
         * element events leave out when the element uses the default. */
        MonitorSet *sets;
        size_t n_sets, allocated;
};

static MonitorSet *monitor_set_find(NftMonitor *m, const char *name) {
        for (size_t i = 0; i < m->n_sets; i++)
                if (streq(m->sets[i].name, name))
                        return &m->sets[i];
        return NULL;
}

static void monitor_set_remember(NftMonitor *m, const DoorSetInfo *info) {
        MonitorSet *s = monitor_set_find(m, info->name);

        if (!s) {
                if (m->n_sets >= m->allocated) {
                        size_t a = m->allocated ? m->allocated * 2 : 8;
                        MonitorSet *p;

                        if (m->n_sets >= NFT_SETS_MAX)
                                return;
                        p = reallocarray(m->sets, a, sizeof(*p));
                        if (!p)
                                return; /* the element events of this set then lack the default */
                        m->sets = p;
                        m->allocated = a;
                }
                s = &m->sets[m->n_sets++];
                strcpy(s->name, info->name);
        }
        s->shape = (SetShape) { .key_len = info->key_len, .timeout_ms = info->timeout_ms };
}

static void monitor_set_forget(NftMonitor *m, const char *name) {
        MonitorSet *s = monitor_set_find(m, name);

        if (s)
                *s = m->sets[--m->n_sets];
}

int nft_monitor_open(const NftTable *t, uint32_t ignore_portid, NftMonitor **ret) {
        _cleanup_(nft_monitor_freep) NftMonitor *m = NULL;
        _cleanup_(nft_freep) Nft *n = NULL;
        _cleanup_free_ DoorSetInfo *sets = NULL;
        size_t n_sets = 0;
        int r;

        if (!table_valid(t))
                return -EINVAL;
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->table = *t;
        m->ignore_portid = ignore_portid;
        m->rbuf_size = MAX((size_t) MNL_SOCKET_BUFFER_SIZE, (size_t) NFT_RECV_BUFFER_MIN);
        m->rbuf = malloc(m->rbuf_size);
        if (!m->rbuf)
                return -ENOMEM;

        r = netlink_socket_open(1U << (NFNLGRP_NFTABLES - 1), &m->nl);
        if (r < 0)
                return r;
        /* Deliberately no NETLINK_NO_ENOBUFS: an overrun must be seen (NFT_EVENT_LOST). */
        socket_buffer_raise(mnl_socket_get_fd(m->nl), SO_RCVBUFFORCE, SO_RCVBUF, NFT_MONITOR_RCVBUF);

        /* Learn the sets' default timeouts now that events are being queued: a set
         * created in between is both read here and reported. */
        r = nft_open(&n);
        if (r < 0)
                return r;
        r = nft_get_sets(n, t, &sets, &n_sets);
        if (r < 0 && r != -ENOENT)
                return r;
        for (size_t i = 0; i < n_sets; i++)
                monitor_set_remember(m, &sets[i]);

        *ret = TAKE_PTR(m);
        return 0;
}

NftMonitor *nft_monitor_free(NftMonitor *m) {
        if (!m)
                return NULL;
        if (m->nl)
                (void) mnl_socket_close(m->nl);
        free(m->rbuf);
        free(m->sets);
        free(m);
        return NULL;
}

int nft_monitor_fd(const NftMonitor *m) {
        return mnl_socket_get_fd(m->nl);
}

typedef struct MonitorDispatch {
        NftMonitor *m;
        nft_event_fn event;
        void *userdata;
        uint32_t portid;
        NftEventKind kind;
} MonitorDispatch;

static bool monitor_shape_of(const char *set, SetShape *ret, void *userdata) {
        MonitorDispatch *d = userdata;
        MonitorSet *s = monitor_set_find(d->m, set);

        /* Unknown set (its NEWSET is yet to come): no default, any address length. */
        *ret = s ? s->shape : (SetShape) {};
        return true;
}

static int monitor_element(const char *set, const NftElement *el, void *userdata) {
        MonitorDispatch *d = userdata;
        NftEvent ev = {
                .kind = d->kind,
                .set = set,
                .addr = el->addr,
                .timeout_ms = el->timeout_ms,
                .expires_ms = el->expires_ms,
                .portid = d->portid,
        };

        d->event(&ev, d->userdata);
        return 0;
}

/* Is this NEWTABLE/DELTABLE about our table? */
static bool monitor_table_is_ours(NftMonitor *m, const struct nlmsghdr *nlh) {
        struct nftnl_table *t;
        const char *name;
        bool ours = false;

        if (nfnl_family_of(nlh) != m->table.family)
                return false;
        t = nftnl_table_alloc();
        if (!t)
                return false;
        if (nftnl_table_nlmsg_parse(nlh, t) >= 0) {
                name = nftnl_table_get_str(t, NFTNL_TABLE_NAME);
                ours = name && streq(name, m->table.name);
        }
        nftnl_table_free(t);
        return ours;
}

static void monitor_message(NftMonitor *m, const struct nlmsghdr *nlh, nft_event_fn event, void *userdata) {
        MonitorDispatch d = { .m = m, .event = event, .userdata = userdata, .portid = nlh->nlmsg_pid };
        bool ignored = m->ignore_portid != 0 && nlh->nlmsg_pid == m->ignore_portid;
        DoorSetInfo info;
        NftEvent ev = { .portid = nlh->nlmsg_pid };

        if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
                return;

        switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
        case NFT_MSG_NEWGEN:
                /* Always: it closes every transaction, ours included. */
                ev.kind = NFT_EVENT_GENERATION;
                event(&ev, userdata);
                return;

        case NFT_MSG_NEWTABLE:
        case NFT_MSG_DELTABLE:
                if (!monitor_table_is_ours(m, nlh))
                        return;
                if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_DELTABLE)
                        m->n_sets = 0;
                break;

        case NFT_MSG_NEWSET:
        case NFT_MSG_DELSET:
                if (set_info_parse(nlh, &m->table, &info) <= 0)
                        return;
                if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWSET)
                        monitor_set_remember(m, &info);
                else
                        monitor_set_forget(m, info.name);
                break;

        case NFT_MSG_NEWSETELEM:
        case NFT_MSG_DELSETELEM:
                if (ignored)
                        return;
                d.kind = NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWSETELEM ?
                        NFT_EVENT_ELEMENT_ADDED : NFT_EVENT_ELEMENT_DELETED;
                (void) elements_parse(nlh, &m->table, monitor_shape_of, monitor_element, &d);
                return;

        default:
                return;
        }

        if (ignored)
                return;
        ev.kind = NFT_EVENT_RULESET;
        event(&ev, userdata);
}

int nft_monitor_process(NftMonitor *m, nft_event_fn event, void *userdata) {
        int fd = mnl_socket_get_fd(m->nl);

        for (unsigned i = 0; i < NFT_MONITOR_READS_MAX; i++) {
                const struct nlmsghdr *nlh;
                ssize_t l;
                int len;

                l = netlink_recv(fd, m->rbuf, m->rbuf_size, 0);
                if (l == -EAGAIN)
                        return 0;
                if (l == -ENOBUFS || l == -EMSGSIZE) {
                        /* Events were dropped (or one did not fit): the caller re-reads. */
                        NftEvent ev = { .kind = NFT_EVENT_LOST };

                        event(&ev, userdata);
                        continue;
                }
                if (l < 0)
                        return (int) l;

                len = (int) l;
                for (nlh = m->rbuf; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
                        monitor_message(m, nlh, event, userdata);
        }
        return 0;
}
