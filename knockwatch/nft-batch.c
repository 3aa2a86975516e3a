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

static int nft_queue(Nft *n, NftOpKind kind, const NftTable *t, const char *set, const KnockAddr *addr,
                     uint64_t timeout_ms, uintptr_t cookie) {
        NftOp *op;

        if (!nft_table_valid(t) || !set || !nft_object_name_valid(set, DOOR_SET_NAME_MAX) || !addr ||
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
static int round_run(Nft *n, Round *round, size_t len) {
        int fd = mnl_socket_get_fd(n->sock.nl);
        usec_t deadline;
        ssize_t l;

        nft_drain(n);
        n->unclean = true;
        l = mnl_socket_sendto(n->sock.nl, n->batch, len);
        if (l < 0)
                return negative_errno();
        if ((size_t) l != len)
                return -EIO;

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
