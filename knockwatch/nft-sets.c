/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nft-sets.c — the sets of knockwatch's table and their elements (see nft.h): GETSET
 * dumps with each set's comment taken from its user data, GETSETELEM dumps, and the
 * parsing of set and element messages that the monitor shares.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>

#include "alloc-util.h"
#include "nft-internal.h"
#include "string-util.h"

/* Set user data is at most NFT_USERDATA_MAXLEN (256) bytes in the kernel. */
#define NFT_USERDATA_MAX 1024

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

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nftnl_set *, nftnl_set_free);

/*
 * The set a NEWSET or NEWSETELEM/DELSETELEM message speaks of, parsed with parse
 * (nftnl_set_nlmsg_parse or nftnl_set_elems_nlmsg_parse). Returns 1 with *ret (free it
 * with nftnl_set_free()) and its name in *ret_name if it is a named set of table t, 0 if
 * it belongs to another table or is anonymous (by its name; NEWSET also has a flag),
 * -EBADMSG if it cannot be parsed, -ENOMEM.
 */
static int set_message_parse(const struct nlmsghdr *nlh, const NftTable *t,
                             int (*parse)(const struct nlmsghdr *nlh, struct nftnl_set *s),
                             bool anonymous_too, struct nftnl_set **ret, const char **ret_name) {
        _cleanup_(nftnl_set_freep) struct nftnl_set *s = NULL;
        const char *table, *name;
        int family;

        family = nft_family_of(nlh);
        if (family < 0)
                return family;
        if (family != t->family)
                return 0;

        s = nftnl_set_alloc();
        if (!s)
                return -ENOMEM;
        if (parse(nlh, s) < 0)
                return -EBADMSG;
        table = nftnl_set_get_str(s, NFTNL_SET_TABLE);
        name = nftnl_set_get_str(s, NFTNL_SET_NAME);
        if (!table || !name || !nft_object_name_valid(name, DOOR_SET_NAME_MAX))
                return -EBADMSG;
        if (!streq(table, t->name) || (!anonymous_too && startswith(name, "__")))
                return 0;
        *ret_name = name;
        *ret = TAKE_PTR(s);
        return 1;
}

/*
 * Parse a NEWSET message (a dump reply or an event) of table t into *ret. Returns 1 if
 * it is a named set of t, 0 if it belongs elsewhere or is anonymous, -EBADMSG if it
 * cannot be parsed.
 */
int nft_set_info_parse(const struct nlmsghdr *nlh, const NftTable *t, DoorSetInfo *ret) {
        _cleanup_(nftnl_set_freep) struct nftnl_set *s = NULL;
        DoorSetInfo info = {};
        const char *name;
        int r;

        r = set_message_parse(nlh, t, nftnl_set_nlmsg_parse, false, &s, &name);
        if (r <= 0)
                return r;
        info.flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
        if (info.flags & NFT_SET_ANONYMOUS)
                return 0;
        strcpy(info.name, name);
        if (nftnl_set_is_set(s, NFTNL_SET_HANDLE))
                info.handle = nftnl_set_get_u64(s, NFTNL_SET_HANDLE);
        if (nftnl_set_is_set(s, NFTNL_SET_KEY_TYPE))
                info.key_type = nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE);
        info.key_len = nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN);
        if (nftnl_set_is_set(s, NFTNL_SET_TIMEOUT))
                info.timeout_ms = nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT);
        set_comment_get(s, &info);
        *ret = info;
        return 1;
}

typedef struct ItemList {
        void *items;
        size_t n, allocated;
} ItemList;

static void item_list_reset(void *userdata) {
        ItemList *l = userdata;

        l->n = 0;
}

typedef struct SetList {
        ItemList list;          /* of DoorSetInfo */
        const NftTable *table;
} SetList;

static int set_list_add(const struct nlmsghdr *nlh, void *userdata) {
        SetList *l = userdata;
        DoorSetInfo info, **sets = (DoorSetInfo **) &l->list.items;
        int r;

        r = nft_set_info_parse(nlh, l->table, &info);
        if (r <= 0)
                return r;
        r = ARRAY_RESERVE(*sets, l->list.n, l->list.allocated, NFT_SETS_MAX);
        if (r < 0)
                return r;
        (*sets)[l->list.n++] = info;
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

/* Dump what request type asks for (of set, if given) into list through add. On failure the
 * list is freed. */
static int dump_list(Nft *n, uint16_t type, const NftTable *t, const char *set, nft_reply_fn add,
                     ItemList *list) {
        struct nlmsghdr *nlh;
        int r;

        /* The request fits easily: header, table and set names of at most 256 bytes each. */
        nlh = set_request_build(n->batch, type, NLM_F_DUMP, t, set);
        if (!nlh)
                return -ENOMEM;
        r = nft_dump(n, nlh, add, item_list_reset, list);
        if (r < 0)
                list->items = mfree(list->items);
        return r;
}

int nft_get_sets(Nft *n, const NftTable *t, DoorSetInfo **ret_sets, size_t *ret_n) {
        SetList l = { .table = t };
        int r;

        if (!nft_table_valid(t))
                return -EINVAL;
        /* A missing table fails the dump itself with ENOENT: the kernel looks the table
         * up before it starts dumping. */
        r = dump_list(n, NFT_MSG_GETSET, t, NULL, set_list_add, &l.list);
        if (r < 0)
                return r;
        *ret_sets = l.list.items;
        *ret_n = l.list.n;
        return 0;
}

/* Elements. */

/*
 * One element as an address. Returns 1 and fills *ret, or 0 for an element that is no
 * single address of the set's kind (the end of an interval, a catch-all, a range, a key
 * of another length). The kernel leaves out an element's timeout when it equals the set's
 * default (since 6.12), so that default stands in for it when the element expires.
 */
static int element_parse(struct nftnl_set_elem *e, const NftSetShape *shape, NftElement *ret) {
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

typedef struct ElementWalk {
        const char *set;
        NftSetShape shape;
        nft_element_fn fn;
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
int nft_elements_parse(const struct nlmsghdr *nlh, const NftTable *t,
                       bool (*shape_of)(const char *set, NftSetShape *ret, void *userdata),
                       nft_element_fn fn, void *userdata) {
        _cleanup_(nftnl_set_freep) struct nftnl_set *s = NULL;
        ElementWalk w = { .fn = fn, .userdata = userdata };
        int r;

        r = set_message_parse(nlh, t, nftnl_set_elems_nlmsg_parse, false, &s, &w.set);
        if (r <= 0)
                return r;
        if (shape_of && !shape_of(w.set, &w.shape, userdata))
                return 0;
        return nftnl_set_elem_foreach(s, element_walk_one, &w);
}

typedef struct ElementList {
        ItemList list;          /* of NftElement */
        const NftTable *table;
        const char *set;
        NftSetShape shape;
        bool found;
} ElementList;

static int element_list_shape(const struct nlmsghdr *nlh, void *userdata) {
        ElementList *l = userdata;
        DoorSetInfo info;
        int r;

        r = nft_set_info_parse(nlh, l->table, &info);
        if (r <= 0 || !streq(info.name, l->set))
                return r;
        l->shape = (NftSetShape) { .key_len = info.key_len, .timeout_ms = info.timeout_ms };
        l->found = true;
        return 0;
}

static bool element_list_shape_of(const char *set, NftSetShape *ret, void *userdata) {
        ElementList *l = userdata;

        if (!streq(set, l->set))
                return false;
        *ret = l->shape;
        return true;
}

static int element_list_append(const char *set, const NftElement *el, void *userdata) {
        ElementList *l = userdata;
        NftElement **elements = (NftElement **) &l->list.items;
        int r;

        r = ARRAY_RESERVE(*elements, l->list.n, l->list.allocated, NFT_ELEMENTS_MAX);
        if (r < 0)
                return r;
        (*elements)[l->list.n++] = *el;
        return 0;
}

static int element_list_add(const struct nlmsghdr *nlh, void *userdata) {
        ElementList *l = userdata;

        return nft_elements_parse(nlh, l->table, element_list_shape_of, element_list_append, l);
}

int nft_get_elements(Nft *n, const NftTable *t, const char *set, NftElement **ret, size_t *ret_n) {
        ElementList l = { .table = t, .set = set };
        struct nlmsghdr *nlh;
        int r;

        if (!nft_table_valid(t) || !set || !nft_object_name_valid(set, DOOR_SET_NAME_MAX))
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

        r = dump_list(n, NFT_MSG_GETSETELEM, t, set, element_list_add, &l.list);
        if (r < 0)
                return r;
        *ret = l.list.items;
        *ret_n = l.list.n;
        return 0;
}

/* Raw keys, for the anonymous sets of rules (nft-rules.c). */

typedef struct KeyWalk {
        const NftTable *table;
        const char *set;
        nft_key_fn fn;
        void (*reset)(void *userdata);
        void *userdata;
} KeyWalk;

static int key_walk_one(struct nftnl_set_elem *e, void *userdata) {
        KeyWalk *w = userdata;
        const void *key, *key_end = NULL;
        uint32_t len = 0, end_len = 0, flags = 0;

        if (!nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY))
                return 0;
        key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY_END))
                key_end = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &end_len);
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
                flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
        if (!key)
                return 0;
        return w->fn(key, len, key_end, end_len, flags, w->userdata);
}

static int key_walk_message(const struct nlmsghdr *nlh, void *userdata) {
        _cleanup_(nftnl_set_freep) struct nftnl_set *s = NULL;
        KeyWalk *w = userdata;
        const char *name;
        int r;

        r = set_message_parse(nlh, w->table, nftnl_set_elems_nlmsg_parse, true, &s, &name);
        if (r <= 0 || !streq(name, w->set))
                return r;
        return nftnl_set_elem_foreach(s, key_walk_one, w);
}

static void key_walk_reset(void *userdata) {
        KeyWalk *w = userdata;

        w->reset(w->userdata);
}

int nft_get_set_keys(Nft *n, const NftTable *t, const char *set, nft_key_fn fn,
                     void (*reset)(void *userdata), void *userdata) {
        KeyWalk w = { .table = t, .set = set, .fn = fn, .reset = reset, .userdata = userdata };
        struct nlmsghdr *nlh;

        if (!nft_table_valid(t) || !set || !nft_object_name_valid(set, DOOR_SET_NAME_MAX))
                return -EINVAL;
        nlh = set_request_build(n->batch, NFT_MSG_GETSETELEM, NLM_F_DUMP, t, set);
        if (!nlh)
                return -ENOMEM;
        return nft_dump(n, nlh, key_walk_message, key_walk_reset, &w);
}
