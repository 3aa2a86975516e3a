/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nft-internal.h — what the parts of the nft module share (nft-netlink.c, nft-sets.c,
 * nft-batch.c, nft-monitor.c); nft.h is the module's one interface to the rest of
 * knockwatch. Not for use outside nft-*.c.
 */
#pragma once

#include <netinet/in.h> /* before the linux/ headers, which then defer to it */
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>

#include "nft.h"
#include "time-util.h"

/* How long one request may wait for its replies. The kernel answers within
 * microseconds; this only stops a stuck peer from stalling the daemon forever. */
#define NFT_REPLY_TIMEOUT_USEC (5 * USEC_PER_SEC)
/* Bounds on what one table may make us allocate. */
#define NFT_SETS_MAX 4096
#define NFT_ELEMENTS_MAX (1U << 20)
/* Receive buffer: at least a page, and large enough that the kernel packs dumps
 * into few datagrams (it sizes them after the reader's buffer, up to 32 KiB). */
#define NFT_RECV_BUFFER_MIN 32768

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

/* A netlink socket with the buffer its datagrams are read into. */
typedef struct NftSocket {
        struct mnl_socket *nl;
        void *rbuf;
        size_t rbuf_size;
} NftSocket;

/* The command socket (nft-netlink.c) and its pending batch (nft-batch.c). */

typedef enum NftOpKind {
        NFT_OP_ADD,
        NFT_OP_DELETE,
} NftOpKind;

typedef struct NftOp {
        NftOpKind kind;
        NftTable table;
        char set[DOOR_SET_NAME_MAX];
        KnockAddr addr;          /* family 0: not an address, see key */
        uint8_t key[NFT_KEY_MAX];
        uint8_t key_len;
        uint64_t timeout_ms;
        uintptr_t cookie;

        /* Bookkeeping of one commit round. */
        int error;          /* the first error of its messages, in message order */
        bool reported;
} NftOp;

struct Nft {
        NftSocket sock;
        uint32_t portid;
        uint32_t seq;
        bool unclean;       /* an exchange was abandoned: its replies may still come */

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

/* A set's key length and default element timeout, as element messages need them. */
typedef struct NftSetShape {
        uint32_t key_len;
        uint64_t timeout_ms;   /* the set's default element timeout, 0 = none */
} NftSetShape;

/* ---- nft-netlink.c: names, sockets, receiving, requests ---- */

bool nft_object_name_valid(const char *s, size_t size);
bool nft_table_valid(const NftTable *t);
void nft_socket_buffer_raise(int fd, int force_opt, int opt, int size);
/* A non-blocking NETLINK_NETFILTER socket bound to groups (0: none), with its receive
 * buffer. */
int nft_socket_open(uint32_t groups, NftSocket *ret);
void nft_socket_close(NftSocket *s);
/*
 * The one receive primitive: one datagram that the kernel sent (port 0; anything else is
 * skipped). Waits until deadline (CLOCK_MONOTONIC µs; 0: do not wait). Returns its
 * length, -EAGAIN when nothing came in time, -EMSGSIZE if it did not fit, or -errno
 * (-ENOBUFS: the socket overran and dropped messages).
 */
ssize_t nft_recv(int fd, void *buf, size_t size, usec_t deadline);
/* The errno of an NLMSG_ERROR message: 0 for an ACK, -errno, or -EBADMSG if malformed. */
int nft_error_of(const struct nlmsghdr *nlh);
/* The nfgenmsg family of an nf_tables message, or -EBADMSG. */
int nft_family_of(const struct nlmsghdr *nlh);
uint32_t nft_next_seq(Nft *n);
/* Drop whatever an abandoned exchange left in the command socket. */
void nft_drain(Nft *n);

typedef int (*nft_reply_fn)(const struct nlmsghdr *nlh, void *userdata);
/* One request and its replies; see nft-netlink.c. */
int nft_talk(Nft *n, struct nlmsghdr *nlh, nft_reply_fn cb, void *userdata);
/* A dump request, restarted when the ruleset changed under it. */
int nft_dump(Nft *n, struct nlmsghdr *nlh, nft_reply_fn cb, void (*reset)(void *userdata),
             void *userdata);

/* ---- nft-sets.c: sets, comments, elements ---- */

/* A NEWSET message of table t: 1 and *ret for a named set of t, 0 if it belongs elsewhere or
 * is anonymous, -EBADMSG if it cannot be parsed. */
int nft_set_info_parse(const struct nlmsghdr *nlh, const NftTable *t, DoorSetInfo *ret);

typedef int (*nft_element_fn)(const char *set, const NftElement *el, void *userdata);
/* A NEWSETELEM/DELSETELEM message of table t: fn for each address element of a named set.
 * shape_of gives the set's key length and default timeout (may be NULL). Returns 0 if the
 * message belongs to another table or an anonymous set, -EBADMSG if it cannot be parsed,
 * or fn's error. */
int nft_elements_parse(const struct nlmsghdr *nlh, const NftTable *t,
                       bool (*shape_of)(const char *set, NftSetShape *ret, void *userdata),
                       nft_element_fn fn, void *userdata);

/* The elements of a set (anonymous sets too) as raw keys: fn for each, with the key, the
 * end of a range (pipapo sets; NULL otherwise) and the element's NFT_SET_ELEM_* flags.
 * reset() is called before each attempt of the dump. Returns 0, -ENOENT or fn's error. */
typedef int (*nft_key_fn)(const void *key, uint32_t len, const void *key_end, uint32_t end_len,
                          uint32_t flags, void *userdata);
int nft_get_set_keys(Nft *n, const NftTable *t, const char *set, nft_key_fn fn,
                     void (*reset)(void *userdata), void *userdata);
