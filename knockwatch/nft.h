/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nft.h — everything knockwatch says to nf_tables, over netlink with libnftnl and
 * libmnl: read the sets of its table (the doors' configuration), list a set's
 * elements, add/refresh/delete elements in one batch per event-loop turn with
 * every reply matched to its operation, and follow ruleset changes through the
 * NFNLGRP_NFTABLES multicast group. Facts this relies on: TECH-NOTES.md section 1.
 *
 * The module is four files, one per job, with nft-internal.h between them:
 * nft-netlink.c (sockets, receiving, one request or dump), nft-sets.c (sets, comments,
 * elements), nft-batch.c (queued element changes and their commit), nft-monitor.c
 * (ruleset notifications). This header is all the rest of knockwatch sees.
 *
 * Errors are -errno straight from the kernel (ENOENT: table/set/element missing,
 * EPERM: no CAP_NET_ADMIN, EINVAL: wrong key length or no "flags timeout", …);
 * callers name the set when they report them. Nothing here logs.
 */
#pragma once

#include "door.h"
#include "knock.h"

#include <linux/netfilter.h> /* NFPROTO_*; after knock.h, whose <netinet/in.h> must come first */

typedef struct NftTable {
        int family;                      /* NFPROTO_INET, NFPROTO_IPV4 or NFPROTO_IPV6 */
        char name[DOOR_SET_NAME_MAX];
} NftTable;

#define NFT_TABLE_DEFAULT "inet:knockwatch"

/* "inet:knockwatch", "ip:filter", "ip6:filter", or a bare name meaning inet. -EINVAL if bad. */
int nft_table_parse(const char *spec, NftTable *ret);
/* "inet knockwatch" as nft prints it; buf of at least DOOR_SET_NAME_MAX + 8 bytes. */
const char *nft_table_format(const NftTable *t, char *buf, size_t size);

/* The command socket and its pending batch. */
typedef struct Nft Nft;

int nft_open(Nft **ret);
Nft *nft_free(Nft *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(Nft *, nft_free);
uint32_t nft_portid(const Nft *n);

/* Whether the table exists, and its handle (the kernel gives a table created anew another
 * handle). -ENOENT: no such table. */
int nft_get_table_handle(Nft *n, const NftTable *t, uint64_t *ret_handle);

/* All named sets of the table (anonymous "__set…" sets skipped), with their comments.
 * *ret_sets is malloc'ed. -ENOENT: no such table. -EPERM: no CAP_NET_ADMIN. */
int nft_get_sets(Nft *n, const NftTable *t, DoorSetInfo **ret_sets, size_t *ret_n);

typedef struct NftElement {
        KnockAddr addr;
        uint64_t timeout_ms;   /* the element's timeout; 0 = none (permanent) */
        uint64_t expires_ms;   /* time left; 0 if the element has no timeout */
} NftElement;

/* The live elements of one set (expired ones are not listed). -ENOENT: no such set.
 * -EINVAL: the set's key is not an IPv4 or IPv6 address. */
int nft_get_elements(Nft *n, const NftTable *t, const char *set, NftElement **ret, size_t *ret_n);

/*
 * What the rules of the table say, as far as knockwatch needs it (nft-rules.c): the `log`
 * rules (their prefixes, and which knocks reach them), and the rules that let the
 * addresses of a set through to a port (which ports a door protects). Read from the rules'
 * expressions; a match knockwatch does not understand is reported as such, never guessed.
 */
#define NFT_PREFIX_MAX 128              /* nft allows 127 characters */
#define NFT_RULE_RANGES_MAX 64

typedef enum NftPorts {
        NFT_PORTS_ANY,        /* no destination port is matched */
        NFT_PORTS_RANGES,     /* ranges[] */
        NFT_PORTS_SET,        /* looked up in the named set `set` */
        NFT_PORTS_UNKNOWN,    /* matched in a way knockwatch does not read */
} NftPorts;

typedef struct NftPortRange {
        uint16_t lo, hi;
} NftPortRange;

typedef struct NftLogRule {
        char chain[DOOR_SET_NAME_MAX];
        int hook;                       /* NF_INET_LOCAL_IN, …; -1: not a base chain */
        char prefix[NFT_PREFIX_MAX];    /* "" without a prefix */
        bool to_kernel_log;             /* false: log group N (NFLOG) or level audit */
        uint8_t l4proto;                /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6; 0: any */
        bool icmp_echo;                 /* only echo requests */
        NftPorts ports;
        NftPortRange ranges[NFT_RULE_RANGES_MAX];
        size_t n_ranges;
        char set[DOOR_SET_NAME_MAX];    /* NFT_PORTS_SET */
        bool set_with_proto;            /* its key is "protocol . port" (totp_ports) */
} NftLogRule;

typedef struct NftGuard {
        char set[DOOR_SET_NAME_MAX];    /* a rule looks up the source address in it … */
        uint8_t l4proto;                /* … for this protocol (0: any) */
        uint16_t port;                  /* … and destination port (0: any) */
        unsigned mask;                  /* the address masked to its first MASK bits first
                                         * ("ip6 saddr & ffff:ffff:ffff:ffff:: @set": 64);
                                         * 0: looked up as it is */
} NftGuard;

typedef struct NftRules {
        NftLogRule *logs;
        size_t n_logs;
        NftGuard *guards;
        size_t n_guards;
} NftRules;

/* Read the table's chains and rules (and the anonymous port sets they use). -ENOENT: no such
 * table. */
int nft_get_rules(Nft *n, const NftTable *t, NftRules *ret);
void nft_rules_done(NftRules *r);

/* A named counter of the table ("counter knock_logged { }"), as the kernel counts it. */
#define NFT_COUNTER_NAME_MAX 256   /* NFT_OBJ_MAXNAMELEN, with its NUL */
#define NFT_COUNTERS_MAX 256
typedef struct NftCounter {
        char name[NFT_COUNTER_NAME_MAX];
        uint64_t packets, bytes;
} NftCounter;

/* The table's named counters, sorted by name (at most NFT_COUNTERS_MAX). -ENOENT: no such
 * table. */
int nft_get_counters(Nft *n, const NftTable *t, NftCounter **ret, size_t *ret_n);

/* Batched element changes, sent by nft_commit(). cookie comes back with the result. */
#define NFT_BATCH_MAX 256

/* Add addr with timeout_ms (> 0), or restart the timeout of an element that is there.
 * Works on kernels before 6.12 as well, where a plain re-add does not refresh: the
 * operation is sent as NEWSETELEM, DELSETELEM, NEWSETELEM with an explicit timeout.
 * -ENOBUFS when NFT_BATCH_MAX operations are pending (commit first). */
int nft_queue_add(Nft *n, const NftTable *t, const char *set, const KnockAddr *addr,
                  uint64_t timeout_ms, uintptr_t cookie);
/* The same for an element whose key is not an address, e.g. "protocol . port" of the
 * totp_ports set (nft_concat_key_proto_port()): len bytes, at most NFT_KEY_MAX. */
#define NFT_KEY_MAX 16
int nft_queue_add_key(Nft *n, const NftTable *t, const char *set, const void *key, size_t len,
                      uint64_t timeout_ms, uintptr_t cookie);

/* The key of an "inet_proto . inet_service" element: each field in a 32-bit register of
 * its own, the protocol one byte, the port two in network order. Returns the length (8). */
size_t nft_concat_key_proto_port(uint8_t proto, uint16_t port, uint8_t ret[static NFT_KEY_MAX]);

/* Delete addr. A missing element comes back as -ENOENT. */
int nft_queue_delete(Nft *n, const NftTable *t, const char *set, const KnockAddr *addr,
                     uintptr_t cookie);
/* The same for an element whose key is not an address (as nft_queue_add_key()). */
int nft_queue_delete_key(Nft *n, const NftTable *t, const char *set, const void *key, size_t len,
                         uintptr_t cookie);
size_t nft_pending(const Nft *n);

/* error: 0 (committed) or -errno for that operation. */
typedef void (*nft_result_fn)(uintptr_t cookie, int error, void *userdata);

/* Send the pending operations as one batch and report every one exactly once through
 * result(). A batch is all-or-nothing in the kernel, so when some operations fail the
 * others are sent again in a new batch without them. Returns 0 when every result was
 * reported (each may still be an error), or -errno if the socket itself failed (the
 * operations not yet reported are then reported with that error). */
int nft_commit(Nft *n, nft_result_fn result, void *userdata);

/* Ruleset notifications. */
typedef struct NftMonitor NftMonitor;

typedef enum NftEventKind {
        NFT_EVENT_RULESET,         /* our table, one of its sets or rules was created or deleted */
        NFT_EVENT_TABLE_DELETED,   /* our table was deleted (a flush ruleset, a reload) */
        NFT_EVENT_ELEMENT_ADDED,   /* set, addr, timeout_ms, expires_ms valid */
        NFT_EVENT_ELEMENT_DELETED, /* set, addr valid */
        NFT_EVENT_GENERATION,      /* a transaction ended (NEWGEN): act on what came before */
        NFT_EVENT_LOST,            /* the socket overran (ENOBUFS): re-read everything */
} NftEventKind;

typedef struct NftEvent {
        NftEventKind kind;
        const char *set;
        KnockAddr addr;
        uint64_t timeout_ms;
        uint64_t expires_ms;
        uint32_t portid;           /* who made the change (0: the kernel) */
} NftEvent;

typedef void (*nft_event_fn)(const NftEvent *event, void *userdata);

/* Subscribe to NFNLGRP_NFTABLES; only events of table t are reported, and none caused by
 * ignore_portid (our own command socket). The socket is non-blocking, SO_RCVBUF raised. */
int nft_monitor_open(const NftTable *t, uint32_t ignore_portid, NftMonitor **ret);
NftMonitor *nft_monitor_free(NftMonitor *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(NftMonitor *, nft_monitor_free);
int nft_monitor_fd(const NftMonitor *m);
/* Read every message waiting and call event() for each that matters. Returns 0 or -errno. */
int nft_monitor_process(NftMonitor *m, nft_event_fn event, void *userdata);
