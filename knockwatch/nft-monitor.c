/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nft-monitor.c — ruleset notifications (see nft.h): a socket on NFNLGRP_NFTABLES, a
 * small cache of the table's sets (their key length and default timeout, which element
 * events leave out), and the events of our table handed to the caller. An event that
 * does not parse is skipped; an overrun is reported as NFT_EVENT_LOST.
 */
#include <errno.h>
#include <string.h>

#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include "alloc-util.h"
#include "nft-internal.h"
#include "string-util.h"

/* The monitor's receive buffer and how many datagrams one nft_monitor_process() call
 * reads at most before it returns to the event loop (the fd stays readable). */
#define NFT_MONITOR_RCVBUF (4 * 1024 * 1024)
#define NFT_MONITOR_READS_MAX 4096

typedef struct MonitorSet {
        char name[DOOR_SET_NAME_MAX];
        NftSetShape shape;
} MonitorSet;

struct NftMonitor {
        NftSocket sock;
        NftTable table;
        uint32_t ignore_portid;

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
                /* Without room, the element events of this set lack the default timeout. */
                if (ARRAY_RESERVE(m->sets, m->n_sets, m->allocated, NFT_SETS_MAX) < 0)
                        return;
                s = &m->sets[m->n_sets++];
                strcpy(s->name, info->name);
        }
        s->shape = (NftSetShape) { .key_len = info->key_len, .timeout_ms = info->timeout_ms };
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

        if (!nft_table_valid(t))
                return -EINVAL;
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->table = *t;
        m->ignore_portid = ignore_portid;
        r = nft_socket_open(1U << (NFNLGRP_NFTABLES - 1), &m->sock);
        if (r < 0)
                return r;
        /* Deliberately no NETLINK_NO_ENOBUFS: an overrun must be seen (NFT_EVENT_LOST). */
        nft_socket_buffer_raise(mnl_socket_get_fd(m->sock.nl), SO_RCVBUFFORCE, SO_RCVBUF, NFT_MONITOR_RCVBUF);

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
        nft_socket_close(&m->sock);
        free(m->sets);
        free(m);
        return NULL;
}

int nft_monitor_fd(const NftMonitor *m) {
        return mnl_socket_get_fd(m->sock.nl);
}

typedef struct MonitorDispatch {
        NftMonitor *m;
        nft_event_fn event;
        void *userdata;
        uint32_t portid;
        NftEventKind kind;
} MonitorDispatch;

static bool monitor_shape_of(const char *set, NftSetShape *ret, void *userdata) {
        MonitorDispatch *d = userdata;
        MonitorSet *s = monitor_set_find(d->m, set);

        /* Unknown set (its NEWSET is yet to come): no default, any address length. */
        *ret = s ? s->shape : (NftSetShape) {};
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

        if (nft_family_of(nlh) != m->table.family)
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

/* Is this NEWRULE/DELRULE about a rule of our table? */
static bool monitor_rule_is_ours(NftMonitor *m, const struct nlmsghdr *nlh) {
        struct nftnl_rule *r;
        const char *name;
        bool ours = false;

        if (nft_family_of(nlh) != m->table.family)
                return false;
        r = nftnl_rule_alloc();
        if (!r)
                return true; /* cannot tell: a re-read costs little */
        if (nftnl_rule_nlmsg_parse(nlh, r) >= 0) {
                name = nftnl_rule_get_str(r, NFTNL_RULE_TABLE);
                ours = name && streq(name, m->table.name);
        }
        nftnl_rule_free(r);
        return ours;
}

static void monitor_message(NftMonitor *m, const struct nlmsghdr *nlh, nft_event_fn event, void *userdata) {
        MonitorDispatch d = { .m = m, .event = event, .userdata = userdata, .portid = nlh->nlmsg_pid };
        bool ignored = m->ignore_portid != 0 && nlh->nlmsg_pid == m->ignore_portid;
        DoorSetInfo info;
        NftEvent ev = { .kind = NFT_EVENT_RULESET, .portid = nlh->nlmsg_pid };

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
                if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_DELTABLE) {
                        m->n_sets = 0;
                        ev.kind = NFT_EVENT_TABLE_DELETED;
                }
                break;

        case NFT_MSG_NEWRULE:
        case NFT_MSG_DELRULE:
                /* The log rules' prefixes are what lines must start with. */
                if (!monitor_rule_is_ours(m, nlh))
                        return;
                break;

        case NFT_MSG_NEWSET:
        case NFT_MSG_DELSET:
                if (nft_set_info_parse(nlh, &m->table, &info) <= 0)
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
                (void) nft_elements_parse(nlh, &m->table, monitor_shape_of, monitor_element, &d);
                return;

        default:
                return;
        }

        if (ignored)
                return;
        event(&ev, userdata);
}

int nft_monitor_process(NftMonitor *m, nft_event_fn event, void *userdata) {
        int fd = mnl_socket_get_fd(m->sock.nl);

        for (unsigned i = 0; i < NFT_MONITOR_READS_MAX; i++) {
                const struct nlmsghdr *nlh;
                ssize_t l;
                int len;

                l = nft_recv(fd, m->sock.rbuf, m->sock.rbuf_size, 0);
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
                for (nlh = m->sock.rbuf; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
                        monitor_message(m, nlh, event, userdata);
        }
        return 0;
}
