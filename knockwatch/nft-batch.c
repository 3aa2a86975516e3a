/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nft-batch.c — element changes (see nft.h): operations queued during an event-loop
 * turn, sent as one batch with NLM_F_ACK on every message, every reply matched to its
 * message by sequence number and to its operation, failed operations reported and the
 * rest sent again (a batch is all-or-nothing in the kernel).
 */
#include <errno.h>
#include <string.h>

#include <libnftnl/common.h>
#include <libnftnl/set.h>

#include "errno-util.h"
#include "nft-internal.h"
#include "string-util.h"

/* Queue an operation on the element with key (len bytes); addr, if not NULL, is what the
 * key is (an address element, which ops_verify() can look for). */
static int nft_queue(Nft *n, NftOpKind kind, const NftTable *t, const char *set, const KnockAddr *addr,
                     const void *key, size_t len, uint64_t timeout_ms, uintptr_t cookie) {
        NftOp *op;

        if (!nft_table_valid(t) || !set || !nft_object_name_valid(set, DOOR_SET_NAME_MAX) || !key ||
            len == 0 || len > NFT_KEY_MAX)
                return -EINVAL;
        if (n->n_queued >= NFT_BATCH_MAX)
                return -ENOBUFS;

        op = &n->queued[n->n_queued++];
        *op = (NftOp) {
                .kind = kind,
                .table = *t,
                .addr = addr ? *addr : (KnockAddr) {},
                .key_len = (uint8_t) len,
                .timeout_ms = timeout_ms,
                .cookie = cookie,
        };
        memcpy(op->key, key, len);
        strcpy(op->set, set);
        return 0;
}

static bool addr_valid(const KnockAddr *addr) {
        return addr && (addr->family == AF_INET || addr->family == AF_INET6);
}

int nft_queue_add(Nft *n, const NftTable *t, const char *set, const KnockAddr *addr,
                  uint64_t timeout_ms, uintptr_t cookie) {
        if (timeout_ms == 0 || !addr_valid(addr))
                return -EINVAL;
        return nft_queue(n, NFT_OP_ADD, t, set, addr, addr->bytes, knock_addr_len(addr), timeout_ms, cookie);
}

int nft_queue_add_key(Nft *n, const NftTable *t, const char *set, const void *key, size_t len,
                      uint64_t timeout_ms, uintptr_t cookie) {
        if (timeout_ms == 0)
                return -EINVAL;
        return nft_queue(n, NFT_OP_ADD, t, set, NULL, key, len, timeout_ms, cookie);
}

size_t nft_concat_key_proto_port(uint8_t proto, uint16_t port, uint8_t ret[static NFT_KEY_MAX]) {
        memset(ret, 0, NFT_KEY_MAX);
        ret[0] = proto;
        ret[4] = (uint8_t) (port >> 8);
        ret[5] = (uint8_t) port;
        return 8;
}

int nft_queue_delete(Nft *n, const NftTable *t, const char *set, const KnockAddr *addr,
                     uintptr_t cookie) {
        if (!addr_valid(addr))
                return -EINVAL;
        return nft_queue(n, NFT_OP_DELETE, t, set, addr, addr->bytes, knock_addr_len(addr), 0, cookie);
}

int nft_queue_delete_key(Nft *n, const NftTable *t, const char *set, const void *key, size_t len,
                         uintptr_t cookie) {
        return nft_queue(n, NFT_OP_DELETE, t, set, NULL, key, len, 0, cookie);
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
            nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, op->key, op->key_len) < 0) {
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
        error = nft_error_of(m);
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

/*
 * Send one round and collect its replies. The kernel handles a whole batch inside
 * sendmsg(), so all replies are queued when it returns, an error against the batch as
 * a whole first; they are read without waiting once such an error came (no per-message
 * replies follow it), and otherwise with a bounded wait for any that are missing.
 * Returns 0 or a socket error.
 */
static int round_run(Nft *n, Round *round, size_t len, bool *ret_sent) {
        int fd = mnl_socket_get_fd(n->sock.nl);
        usec_t deadline;
        ssize_t l;

        nft_drain(n);
        n->unclean = true;
        *ret_sent = false;
        l = mnl_socket_sendto(n->sock.nl, n->batch, len);
        if (l < 0)
                return negative_errno();
        if ((size_t) l != len)
                return -EIO;
        *ret_sent = true;

        deadline = now_usec(CLOCK_MONOTONIC) + NFT_REPLY_TIMEOUT_USEC;
        while (round->n_replies < round->n_msgs) {
                const struct nlmsghdr *m;
                int left;

                /* The bound holds even if datagrams keep coming. */
                if (now_usec(CLOCK_MONOTONIC) >= deadline)
                        return -ETIMEDOUT;
                l = nft_recv(fd, n->sock.rbuf, n->sock.rbuf_size, round->batch_error < 0 ? 0 : deadline);
                if (l == -EAGAIN) {
                        if (round->batch_error < 0)
                                break; /* EPERM, ENOMEM: no per-message replies follow */
                        return -ETIMEDOUT;
                }
                if (l < 0)
                        return (int) l;
                left = (int) l;
                for (m = n->sock.rbuf; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left))
                        if (m->nlmsg_pid == n->portid)
                                round_reply(n, round, m);
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

/*
 * The socket failed after a round was sent and before all its replies were read (a receive
 * buffer overrun, a timeout): the kernel may have applied the batch, or not. Ask it: every
 * operation not reported yet is reported done if its set now says so (an added element is
 * there, a deleted one is not), and with error if not, or if its set cannot be listed.
 */
static void ops_verify(Nft *n, int error, nft_result_fn result, void *userdata) {
        for (size_t j = 0; j < n->n_committing; j++) {
                const NftOp *op = &n->committing[j];
                _cleanup_free_ NftElement *elements = NULL;
                size_t n_elements = 0;
                int r;

                if (op->reported)
                        continue;
                /* One listing for all the operations on this set. */
                r = nft_get_elements(n, &op->table, op->set, &elements, &n_elements);
                for (size_t k = j; k < n->n_committing; k++) {
                        NftOp *o = &n->committing[k];
                        bool present = false;

                        if (o->reported || o->table.family != op->table.family ||
                            !streq(o->table.name, op->table.name) || !streq(o->set, op->set))
                                continue;
                        for (size_t e = 0; r >= 0 && e < n_elements && !present; e++)
                                present = knock_addr_equal(&elements[e].addr, &o->addr);
                        /* Not an address (totp_ports): it cannot be looked for; say the error. */
                        op_report(o, r >= 0 && addr_valid(&o->addr) && present == (o->kind == NFT_OP_ADD) ?
                                  0 : error, result, userdata);
                }
        }
}

int nft_commit(Nft *n, nft_result_fn result, void *userdata) {
        bool sent = false;
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
                r = round_run(n, &round, len, &sent);
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

        /* A socket failure: whatever is left is reported with it, after asking the kernel
         * what it did if the round got to it. */
        if (r < 0 && sent)
                ops_verify(n, r, result, userdata);
        for (size_t j = 0; j < n->n_committing; j++)
                op_report(&n->committing[j], r < 0 ? r : -EIO, result, userdata);
        n->n_committing = 0;
        n->in_commit = false;
        return r;
}
