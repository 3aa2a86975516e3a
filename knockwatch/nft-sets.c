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

static bool set_name_anonymous(const char *name, uint32_t flags) {
        return (flags & NFT_SET_ANONYMOUS) || startswith(name, "__");
}

/*
 * Parse a NEWSET message (a dump reply or an event) of table t into *ret. Returns 1 if
 * it is a named set of t, 0 if it belongs elsewhere or is anonymous, -EBADMSG if it
 * cannot be parsed.
 */
int nft_set_info_parse(const struct nlmsghdr *nlh, const NftTable *t, DoorSetInfo *ret) {
        struct nftnl_set *s;
        const char *table, *name;
        DoorSetInfo info = {};
        int family, r;

        family = nft_family_of(nlh);
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
        if (!table || !name || !nft_object_name_valid(name, sizeof(info.name))) {
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

        r = nft_set_info_parse(nlh, l->table, &info);
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

        if (!nft_table_valid(t))
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
        ElementWalk w = { .fn = fn, .userdata = userdata };
        struct nftnl_set *s;
        const char *table;
        int family, r = 0;

        family = nft_family_of(nlh);
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
        if (!table || !w.set || !nft_object_name_valid(w.set, DOOR_SET_NAME_MAX)) {
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
        NftSetShape shape;
        bool found;
        NftElement *elements;
        size_t n, allocated;
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

static void element_list_reset(void *userdata) {
        ElementList *l = userdata;

        l->n = 0;
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
