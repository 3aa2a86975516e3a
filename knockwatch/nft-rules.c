/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nft-rules.c — what the rules of knockwatch's table say (see nft.h, "NftRules"): a
 * GETCHAIN dump for the chains' hooks, a GETRULE dump, and for each rule a walk over its
 * expressions that follows what each register holds:
 *
 *   meta load l4proto          → the protocol        cmp eq         → l4proto = value
 *   payload load 2b @ th + 2   → the destination port cmp eq/gte/lte, lookup → ports
 *   payload load 1b @ th + 0   → the ICMP type       cmp eq 8 / 128 → echo requests only
 *   payload load @ nh saddr    → the source address  lookup @set    → a guard of set
 *   log                        → a log rule, with what was matched before it
 *
 * Registers: the four 128-bit registers alias the sixteen 32-bit ones (reg 1 is reg32
 * 0…3), so both are kept as 32-bit slots. Anything else (ct state, iifname, limits) only
 * narrows what reaches the log rule further and is passed over; a port matched in a way
 * not listed here is NFT_PORTS_UNKNOWN. Anonymous port sets are read with a GETSETELEM
 * dump after the rules. Everything from the kernel is bounded: at most NFT_RULES_MAX
 * rules, NFT_RULE_RANGES_MAX port ranges a rule.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>

#include "alloc-util.h"
#include "nft-internal.h"
#include "string-util.h"

#define NFT_RULES_MAX 65536
#define NFT_CHAINS_MAX 4096
#define REG32_SLOTS 16

typedef enum RegValue {
        REG_UNKNOWN,
        REG_L4PROTO,
        REG_DPORT,
        REG_ICMP_TYPE,
        REG_SADDR,
        REG_SADDR_MASKED,   /* the source address & a prefix mask (Match.saddr_mask) */
} RegValue;

typedef struct Chain {
        char name[DOOR_SET_NAME_MAX];
        int hook;
} Chain;

typedef struct RuleWalk {
        const NftTable *table;
        Chain *chains;
        size_t n_chains, chains_allocated;
        NftRules *rules;
        size_t logs_allocated, guards_allocated;
        int error;
} RuleWalk;

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nftnl_rule *, nftnl_rule_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nftnl_chain *, nftnl_chain_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nftnl_expr_iter *, nftnl_expr_iter_destroy);

/* The 32-bit slot of register reg, or -1 (the verdict register, or out of range). */
static int reg_slot(uint32_t reg) {
        if (reg >= NFT_REG_1 && reg <= NFT_REG_4)
                return (int) (reg - NFT_REG_1) * 4;
        if (reg >= NFT_REG32_00 && reg < NFT_REG32_00 + REG32_SLOTS)
                return (int) (reg - NFT_REG32_00);
        return -1;
}

static void reg_store(RegValue regs[static REG32_SLOTS], uint32_t reg, uint32_t len, RegValue v) {
        int slot = reg_slot(reg);

        if (slot < 0)
                return;
        for (uint32_t i = 0; i < MAX((len + 3) / 4, 1U) && slot + (int) i < REG32_SLOTS; i++)
                regs[slot + i] = i == 0 ? v : REG_UNKNOWN;
}

static RegValue reg_load(const RegValue regs[static REG32_SLOTS], uint32_t reg, int offset) {
        int slot = reg_slot(reg);

        return slot < 0 || slot + offset >= REG32_SLOTS ? REG_UNKNOWN : regs[slot + offset];
}

/* Which value a payload load takes. */
static RegValue payload_value(const struct nftnl_expr *e) {
        uint32_t base = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE);
        uint32_t offset = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET);
        uint32_t len = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN);

        if (base == NFT_PAYLOAD_TRANSPORT_HEADER && offset == 2 && len == 2)
                return REG_DPORT;
        if (base == NFT_PAYLOAD_TRANSPORT_HEADER && offset == 0 && len == 1)
                return REG_ICMP_TYPE;
        if (base == NFT_PAYLOAD_NETWORK_HEADER && ((offset == 12 && len == 4) || (offset == 8 && len == 16)))
                return REG_SADDR;
        return REG_UNKNOWN;
}

/* What one rule matched so far. */
typedef struct Match {
        uint8_t l4proto;
        bool icmp_echo;
        NftPorts ports;
        NftPortRange range;             /* NFT_PORTS_RANGES: one, from cmp */
        char set[DOOR_SET_NAME_MAX];    /* NFT_PORTS_SET */
        bool set_with_proto;
        char guard_set[DOOR_SET_NAME_MAX];
        unsigned guard_mask;            /* the guard's prefix mask; 0: the address unmasked */
        unsigned saddr_mask;            /* REG_SADDR_MASKED: its prefix length */
} Match;

static void match_cmp(Match *m, const RegValue regs[static REG32_SLOTS], const struct nftnl_expr *e) {
        uint32_t op = nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP), len = 0;
        const uint8_t *data = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);
        RegValue v = reg_load(regs, nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_SREG), 0);
        uint16_t port;

        if (!data || len == 0)
                return;
        switch (v) {
        case REG_L4PROTO:
                if (op == NFT_CMP_EQ)
                        m->l4proto = data[0];
                return;
        case REG_ICMP_TYPE:
                if (op == NFT_CMP_EQ && (data[0] == 8 || data[0] == 128))
                        m->icmp_echo = true;
                return;
        case REG_DPORT:
                if (len < 2)
                        return;
                port = (uint16_t) (data[0] << 8 | data[1]);
                if (m->ports == NFT_PORTS_ANY)
                        m->range = (NftPortRange) { 0, 65535 };
                else if (m->ports != NFT_PORTS_RANGES) {
                        m->ports = NFT_PORTS_UNKNOWN;
                        return;
                }
                m->ports = NFT_PORTS_RANGES;
                if (op == NFT_CMP_EQ)
                        m->range.lo = m->range.hi = port;
                else if (op == NFT_CMP_GTE)
                        m->range.lo = MAX(m->range.lo, port);
                else if (op == NFT_CMP_LTE)
                        m->range.hi = MIN(m->range.hi, port);
                else
                        m->ports = NFT_PORTS_UNKNOWN; /* neq, lt, gt: not read */
                return;
        default:
                return;
        }
}

static void match_lookup(Match *m, const RegValue regs[static REG32_SLOTS], const struct nftnl_expr *e) {
        uint32_t sreg = nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_SREG);
        const char *set = nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET);
        uint32_t flags = nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_FLAGS) ?
                nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_FLAGS) : 0;
        RegValue first = reg_load(regs, sreg, 0);

        if (!set || !nft_object_name_valid(set, DOOR_SET_NAME_MAX))
                return;
        if (flags & NFT_LOOKUP_F_INV) {
                /* "not in the set": not something knockwatch reads */
                if (first == REG_DPORT || first == REG_L4PROTO)
                        m->ports = NFT_PORTS_UNKNOWN;
                return;
        }
        if (first == REG_SADDR || first == REG_SADDR_MASKED) {
                (void) snprintf(m->guard_set, sizeof(m->guard_set), "%s", set);
                m->guard_mask = first == REG_SADDR_MASKED ? m->saddr_mask : 0;
                return;
        }
        if (first == REG_DPORT || (first == REG_L4PROTO && reg_load(regs, sreg, 1) == REG_DPORT)) {
                m->ports = m->ports == NFT_PORTS_ANY ? NFT_PORTS_SET : NFT_PORTS_UNKNOWN;
                (void) snprintf(m->set, sizeof(m->set), "%s", set);
                m->set_with_proto = first == REG_L4PROTO;
        }
}

static int chain_hook(const RuleWalk *w, const char *chain) {
        for (size_t i = 0; i < w->n_chains; i++)
                if (streq(w->chains[i].name, chain))
                        return w->chains[i].hook;
        return -1;
}

static int add_log(RuleWalk *w, const char *chain, const Match *m, const struct nftnl_expr *e) {
        NftRules *r = w->rules;
        NftLogRule *l;
        const char *prefix = nftnl_expr_is_set(e, NFTNL_EXPR_LOG_PREFIX) ?
                nftnl_expr_get_str(e, NFTNL_EXPR_LOG_PREFIX) : NULL;
        int k;

        k = ARRAY_RESERVE(r->logs, r->n_logs, w->logs_allocated, NFT_RULES_MAX);
        if (k < 0)
                return k;
        l = &r->logs[r->n_logs++];
        *l = (NftLogRule) {
                .hook = chain_hook(w, chain),
                .to_kernel_log = !nftnl_expr_is_set(e, NFTNL_EXPR_LOG_GROUP) &&
                                 !(nftnl_expr_is_set(e, NFTNL_EXPR_LOG_LEVEL) &&
                                   nftnl_expr_get_u32(e, NFTNL_EXPR_LOG_LEVEL) == NFT_LOGLEVEL_AUDIT),
                .l4proto = m->l4proto,
                .icmp_echo = m->icmp_echo,
                .ports = m->ports,
                .set_with_proto = m->set_with_proto,
        };
        (void) snprintf(l->chain, sizeof(l->chain), "%s", chain);
        if (prefix && strnlen(prefix, NFT_PREFIX_MAX) < NFT_PREFIX_MAX)
                strcpy(l->prefix, prefix);
        if (m->ports == NFT_PORTS_RANGES) {
                if (m->range.lo > m->range.hi)
                        l->n_ranges = 0; /* matches no port at all */
                else {
                        l->ranges[0] = m->range;
                        l->n_ranges = 1;
                }
        }
        if (m->ports == NFT_PORTS_SET)
                strcpy(l->set, m->set);
        return 0;
}

static int add_guard(RuleWalk *w, const Match *m) {
        NftRules *r = w->rules;
        int k;

        k = ARRAY_RESERVE(r->guards, r->n_guards, w->guards_allocated, NFT_RULES_MAX);
        if (k < 0)
                return k;
        r->guards[r->n_guards] = (NftGuard) {
                .l4proto = m->l4proto,
                .mask = m->guard_mask,
                .port = m->ports == NFT_PORTS_RANGES && m->range.lo == m->range.hi ? m->range.lo : 0,
        };
        strcpy(r->guards[r->n_guards++].set, m->guard_set);
        return 0;
}

/* The prefix length of a contiguous mask of len bytes (ff ff 00 ...), or 0 if it is none
 * (bits after a zero bit). */
static unsigned mask_prefix(const uint8_t *mask, uint32_t len) {
        unsigned n = 0;
        bool ended = false;

        for (uint32_t i = 0; i < len; i++)
                for (int b = 7; b >= 0; b--) {
                        bool set = mask[i] & (1u << b);

                        if (set && ended)
                                return 0;
                        if (set)
                                n++;
                        else
                                ended = true;
                }
        return n;
}

/* A bitwise expression: "saddr & MASK" (xor 0) keeps the source address, masked; anything
 * else is no longer what was loaded. */
static void walk_bitwise(Match *m, RegValue regs[static REG32_SLOTS], const struct nftnl_expr *e) {
        uint32_t mask_len = 0, xor_len = 0;
        const uint8_t *mask = nftnl_expr_is_set(e, NFTNL_EXPR_BITWISE_MASK) ?
                nftnl_expr_get(e, NFTNL_EXPR_BITWISE_MASK, &mask_len) : NULL;
        const uint8_t *xor = nftnl_expr_is_set(e, NFTNL_EXPR_BITWISE_XOR) ?
                nftnl_expr_get(e, NFTNL_EXPR_BITWISE_XOR, &xor_len) : NULL;
        bool is_bool = !nftnl_expr_is_set(e, NFTNL_EXPR_BITWISE_OP) ||
                       nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_OP) == NFT_BITWISE_BOOL;
        RegValue v = REG_UNKNOWN;

        if (!nftnl_expr_is_set(e, NFTNL_EXPR_BITWISE_DREG))
                return;
        if (is_bool && mask && xor && mask_len == xor_len && (mask_len == 4 || mask_len == 16) &&
            nftnl_expr_is_set(e, NFTNL_EXPR_BITWISE_SREG) &&
            reg_load(regs, nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_SREG), 0) == REG_SADDR) {
                bool xor_zero = true;
                unsigned prefix = mask_prefix(mask, mask_len);

                for (uint32_t i = 0; i < xor_len; i++)
                        xor_zero = xor_zero && xor[i] == 0;
                /* A mask of all ones leaves the whole address: no mask at all. */
                if (xor_zero && prefix == mask_len * 8)
                        v = REG_SADDR;
                else if (xor_zero && prefix > 0) {
                        v = REG_SADDR_MASKED;
                        m->saddr_mask = prefix;
                }
        }
        reg_store(regs, nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_DREG), 16, v);
}

/* One rule: walk its expressions. */
static int rule_walk(RuleWalk *w, const struct nftnl_rule *rule, const char *chain) {
        _cleanup_(nftnl_expr_iter_destroyp) struct nftnl_expr_iter *it = NULL;
        RegValue regs[REG32_SLOTS] = {};
        Match m = { .ports = NFT_PORTS_ANY };
        struct nftnl_expr *e;
        int r;

        it = nftnl_expr_iter_create(rule);
        if (!it)
                return -ENOMEM;
        while ((e = nftnl_expr_iter_next(it))) {
                const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

                if (!name)
                        continue;
                if (streq(name, "meta")) {
                        if (nftnl_expr_is_set(e, NFTNL_EXPR_META_DREG))
                                reg_store(regs, nftnl_expr_get_u32(e, NFTNL_EXPR_META_DREG), 4,
                                          nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY) == NFT_META_L4PROTO ?
                                          REG_L4PROTO : REG_UNKNOWN);
                } else if (streq(name, "payload")) {
                        if (nftnl_expr_is_set(e, NFTNL_EXPR_PAYLOAD_DREG))
                                reg_store(regs, nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_DREG),
                                          nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN), payload_value(e));
                } else if (streq(name, "cmp"))
                        match_cmp(&m, regs, e);
                else if (streq(name, "lookup"))
                        match_lookup(&m, regs, e);
                else if (streq(name, "range")) {
                        if (reg_load(regs, nftnl_expr_get_u32(e, NFTNL_EXPR_RANGE_SREG), 0) == REG_DPORT)
                                m.ports = NFT_PORTS_UNKNOWN;
                } else if (streq(name, "log")) {
                        r = add_log(w, chain, &m, e);
                        if (r < 0)
                                return r;
                } else if (streq(name, "bitwise"))
                        walk_bitwise(&m, regs, e);
                else if (streq(name, "immediate")) {
                        /* A value set by hand is no longer what was loaded (the verdict
                         * register is no slot). */
                        if (nftnl_expr_is_set(e, NFTNL_EXPR_IMM_DREG))
                                reg_store(regs, nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_DREG), 16, REG_UNKNOWN);
                }
        }
        if (m.guard_set[0])
                return add_guard(w, &m);
        return 0;
}

static int rule_message(const struct nlmsghdr *nlh, void *userdata) {
        _cleanup_(nftnl_rule_freep) struct nftnl_rule *rule = NULL;
        RuleWalk *w = userdata;
        const char *table, *chain;

        if (nft_family_of(nlh) != w->table->family)
                return 0;
        rule = nftnl_rule_alloc();
        if (!rule)
                return -ENOMEM;
        if (nftnl_rule_nlmsg_parse(nlh, rule) < 0)
                return -EBADMSG;
        table = nftnl_rule_get_str(rule, NFTNL_RULE_TABLE);
        chain = nftnl_rule_get_str(rule, NFTNL_RULE_CHAIN);
        if (!table || !chain || !nft_object_name_valid(chain, DOOR_SET_NAME_MAX))
                return -EBADMSG;
        if (!streq(table, w->table->name))
                return 0;
        return rule_walk(w, rule, chain);
}

static int chain_message(const struct nlmsghdr *nlh, void *userdata) {
        _cleanup_(nftnl_chain_freep) struct nftnl_chain *c = NULL;
        RuleWalk *w = userdata;
        const char *table, *name;
        int r;

        if (nft_family_of(nlh) != w->table->family)
                return 0;
        c = nftnl_chain_alloc();
        if (!c)
                return -ENOMEM;
        if (nftnl_chain_nlmsg_parse(nlh, c) < 0)
                return -EBADMSG;
        table = nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE);
        name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
        if (!table || !name || !nft_object_name_valid(name, DOOR_SET_NAME_MAX))
                return -EBADMSG;
        if (!streq(table, w->table->name))
                return 0;
        r = ARRAY_RESERVE(w->chains, w->n_chains, w->chains_allocated, NFT_CHAINS_MAX);
        if (r < 0)
                return r;
        w->chains[w->n_chains].hook = nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM) ?
                (int) nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM) : -1;
        strcpy(w->chains[w->n_chains++].name, name);
        return 0;
}

static void rules_reset(void *userdata) {
        RuleWalk *w = userdata;

        w->rules->n_logs = w->rules->n_guards = 0;
}

static void chains_reset(void *userdata) {
        RuleWalk *w = userdata;

        w->n_chains = 0;
}

/* Ports of an anonymous set, as ranges. Single ports come as keys; an interval set's range
 * as a start key and an end key flagged NFT_SET_ELEM_INTERVAL_END, one past the range (a
 * range up to 65535 has no end key), in whatever order the kernel's tree walks them; a
 * pipapo set's range as one key with its key_end. */
#define PORT_KEYS_MAX (2 * NFT_RULE_RANGES_MAX)

typedef struct PortKey {
        uint16_t port, end;     /* end: key_end, or port */
        bool interval_end;
} PortKey;

typedef struct PortCollect {
        PortKey keys[PORT_KEYS_MAX];
        size_t n;
        bool unreadable;
} PortCollect;

static uint16_t port_of(const void *key) {
        const uint8_t *k = key;

        return (uint16_t) (k[0] << 8 | k[1]);
}

static int port_key(const void *key, uint32_t len, const void *key_end, uint32_t end_len, uint32_t flags,
                    void *userdata) {
        PortCollect *c = userdata;

        if (len != 2 || (key_end && end_len != 2) || c->n >= PORT_KEYS_MAX) {
                c->unreadable = true;
                return 0;
        }
        c->keys[c->n++] = (PortKey) {
                .port = port_of(key),
                .end = key_end ? port_of(key_end) : port_of(key),
                .interval_end = flags & NFT_SET_ELEM_INTERVAL_END,
        };
        return 0;
}

static void port_reset(void *userdata) {
        PortCollect *c = userdata;

        c->n = 0;
        c->unreadable = false;
}

static int compare_port_keys(const void *a, const void *b) {
        const PortKey *x = a, *y = b;

        return x->port < y->port ? -1 : x->port > y->port;
}

/* An anonymous port set of a log rule becomes its ranges. */
static int resolve_anonymous_ports(Nft *n, const NftTable *t, NftLogRule *l) {
        _cleanup_free_ PortCollect *c = NULL;
        bool interval = false;
        int r;

        if (l->ports != NFT_PORTS_SET || l->set_with_proto || !startswith(l->set, "__"))
                return 0;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        r = nft_get_set_keys(n, t, l->set, port_key, port_reset, c);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n; i++)
                interval = interval || c->keys[i].interval_end;
        if (c->unreadable || (interval && c->n / 2 + 1 > NFT_RULE_RANGES_MAX) ||
            (!interval && c->n > NFT_RULE_RANGES_MAX)) {
                l->ports = NFT_PORTS_UNKNOWN;
                return 0;
        }
        qsort(c->keys, c->n, sizeof(PortKey), compare_port_keys);
        l->n_ranges = 0;
        for (size_t i = 0; i < c->n; i++) {
                const PortKey *k = &c->keys[i];
                NftPortRange range = { k->port, k->end };

                if (k->interval_end)
                        continue;
                if (interval)
                        range.hi = i + 1 < c->n && c->keys[i + 1].interval_end ?
                                   (uint16_t) (c->keys[i + 1].port - 1) : 65535;
                if (range.lo <= range.hi)
                        l->ranges[l->n_ranges++] = range;
        }
        l->ports = NFT_PORTS_RANGES;
        l->set[0] = 0;
        return 0;
}

int nft_get_rules(Nft *n, const NftTable *t, NftRules *ret) {
        _cleanup_free_ Chain *chains = NULL;
        NftRules rules = {};
        RuleWalk w = { .table = t, .rules = &rules };
        struct nlmsghdr *nlh;
        struct nftnl_rule *rule;
        struct nftnl_chain *chain;
        int r;

        /* A dump of chains or rules of a missing table is simply empty: ask for it first. */
        r = nft_get_table_handle(n, t, NULL);
        if (r < 0)
                return r;

        /* The chains first: their hooks. */
        chain = nftnl_chain_alloc();
        if (!chain)
                return -ENOMEM;
        nlh = nftnl_nlmsg_build_hdr(n->batch, NFT_MSG_GETCHAIN, (uint16_t) t->family, NLM_F_DUMP, 0);
        nftnl_chain_set_str(chain, NFTNL_CHAIN_TABLE, t->name);
        nftnl_chain_nlmsg_build_payload(nlh, chain);
        nftnl_chain_free(chain);
        r = nft_dump(n, nlh, chain_message, chains_reset, &w);
        chains = w.chains;
        if (r < 0)
                return r;

        rule = nftnl_rule_alloc();
        if (!rule)
                return -ENOMEM;
        nlh = nftnl_nlmsg_build_hdr(n->batch, NFT_MSG_GETRULE, (uint16_t) t->family, NLM_F_DUMP, 0);
        nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, t->name);
        nftnl_rule_nlmsg_build_payload(nlh, rule);
        nftnl_rule_free(rule);
        r = nft_dump(n, nlh, rule_message, rules_reset, &w);
        chains = w.chains;
        for (size_t i = 0; r >= 0 && i < rules.n_logs; i++)
                r = resolve_anonymous_ports(n, t, &rules.logs[i]);
        if (r < 0) {
                nft_rules_done(&rules);
                return r;
        }
        *ret = rules;
        return 0;
}

void nft_rules_done(NftRules *r) {
        r->logs = mfree(r->logs);
        r->guards = mfree(r->guards);
        r->n_logs = r->n_guards = 0;
}
