/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nft-objects.c — the named counters of knockwatch's table (see nft.h, "NftCounter"): a
 * GETOBJ dump of the table's counter objects, for `knockwatch status`. What the kernel
 * sends is bounded (NFT_COUNTERS_MAX) and checked: a name that is no nft object name, or a
 * message of another table, family or type, is not taken.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libnftnl/object.h>

#include "alloc-util.h"
#include "nft-internal.h"
#include "string-util.h"

typedef struct CounterList {
        const NftTable *table;
        NftCounter *counters;
        size_t n, allocated;
} CounterList;

static void nftnl_obj_freep(struct nftnl_obj **o) {
        if (*o)
                nftnl_obj_free(*o);
}

static void counter_list_reset(void *userdata) {
        CounterList *l = userdata;

        l->n = 0;
}

static int counter_message(const struct nlmsghdr *nlh, void *userdata) {
        _cleanup_(nftnl_obj_freep) struct nftnl_obj *o = NULL;
        CounterList *l = userdata;
        const char *table, *name;
        int r;

        if (nft_family_of(nlh) != l->table->family)
                return 0;
        o = nftnl_obj_alloc();
        if (!o)
                return -ENOMEM;
        if (nftnl_obj_nlmsg_parse(nlh, o) < 0)
                return -EBADMSG;
        table = nftnl_obj_get_str(o, NFTNL_OBJ_TABLE);
        name = nftnl_obj_get_str(o, NFTNL_OBJ_NAME);
        if (!table || !name || !nftnl_obj_is_set(o, NFTNL_OBJ_TYPE))
                return -EBADMSG;
        if (!streq(table, l->table->name) || nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE) != NFT_OBJECT_COUNTER)
                return 0;
        if (!nft_object_name_valid(name, NFT_COUNTER_NAME_MAX))
                return -EBADMSG;
        r = ARRAY_RESERVE(l->counters, l->n, l->allocated, NFT_COUNTERS_MAX);
        if (r < 0)
                return r;
        l->counters[l->n] = (NftCounter) {
                .packets = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS),
                .bytes = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_BYTES),
        };
        strcpy(l->counters[l->n++].name, name);
        return 0;
}

static int compare_counters(const void *a, const void *b) {
        return strcmp(((const NftCounter *) a)->name, ((const NftCounter *) b)->name);
}

int nft_get_counters(Nft *n, const NftTable *t, NftCounter **ret, size_t *ret_n) {
        CounterList l = { .table = t };
        struct nftnl_obj *o;
        struct nlmsghdr *nlh;
        int r;

        if (!nft_table_valid(t))
                return -EINVAL;
        r = nft_get_table_handle(n, t, NULL);
        if (r < 0)
                return r;
        o = nftnl_obj_alloc();
        if (!o)
                return -ENOMEM;
        nlh = nftnl_nlmsg_build_hdr(n->batch, NFT_MSG_GETOBJ, (uint16_t) t->family, NLM_F_DUMP, 0);
        nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, t->name);
        nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
        nftnl_obj_nlmsg_build_payload(nlh, o);
        nftnl_obj_free(o);
        r = nft_dump(n, nlh, counter_message, counter_list_reset, &l);
        if (r < 0) {
                free(l.counters);
                return r;
        }
        if (l.n > 0)
                qsort(l.counters, l.n, sizeof(NftCounter), compare_counters);
        *ret = l.counters;
        *ret_n = l.n;
        return 0;
}
