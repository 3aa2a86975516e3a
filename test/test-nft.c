/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-nft.c — the nft module (nft-*.c) against the real kernel. Run by test-nft.sh inside a network
 * namespace of its own, after it loaded the ruleset whose path is argv[1] (the sets
 * below are the ones that file declares). Every check reads the kernel back: through
 * the nft module and, independently, through the nft command (run without a shell).
 *
 *   test-nft RULESET    everything, as root (CAP_NET_ADMIN) in the namespace
 *   test-nft --eperm    without CAP_NET_ADMIN: every request must fail with EPERM
 *
 * Addresses: slot 1-3 of test/lib.sh (192.0.2.9-31, 2001:db8::1:1 ...) for single
 * elements; the bulk tests need hundreds, so they take 198.51.100.0/24 and
 * 2001:db8:f00::/64. They are only set elements in a private namespace: no packet is
 * ever sent, nothing reaches the kernel log.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter/nf_tables.h>
#include <poll.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nft.h"
#include "string-util.h"
#include "tests.h"
#include "time-util.h"

/* The same string as LONG_COMMENT in test-nft.sh: 128 characters, nft's maximum. */
#define LONG_COMMENT                                                                    \
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"              \
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *ruleset_path;
static NftTable table;

/* Run nft with the given arguments (no shell), stdout into out (if given, NUL-terminated,
 * cut at size - 1). Returns the exit status, or -1 if it did not exit. */
static int nft_run(char *out, size_t size, bool quiet, const char *const argv[]) {
        const char *args[32] = { "nft" };
        size_t n = 1, len = 0;
        int pipefd[2], status;
        pid_t pid;

        for (; argv[n - 1] && n < ELEMENTSOF(args) - 1; n++)
                args[n] = argv[n - 1];
        args[n] = NULL;

        ASSERT_TRUE(pipe2(pipefd, O_CLOEXEC) == 0);
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                if (dup2(pipefd[1], STDOUT_FILENO) < 0)
                        _exit(127);
                if (quiet) {
                        int null = open("/dev/null", O_WRONLY);

                        if (null < 0 || dup2(null, STDERR_FILENO) < 0)
                                _exit(127);
                }
                execvp("nft", (char *const *) args);
                _exit(127);
        }
        close(pipefd[1]);
        for (;;) {
                char discard[4096];
                char *dst = out && len + 1 < size ? out + len : discard;
                size_t room = out && len + 1 < size ? size - 1 - len : sizeof(discard);
                ssize_t l = read(pipefd[0], dst, room);

                if (l < 0 && errno == EINTR)
                        continue;
                if (l <= 0)
                        break;
                if (dst != discard)
                        len += (size_t) l;
        }
        close(pipefd[0]);
        if (out && size > 0)
                out[len] = 0;
        ASSERT_TRUE(waitpid(pid, &status, 0) == pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define NFT(...) nft_run(NULL, 0, false, (const char *const[]) { __VA_ARGS__, NULL })
#define NFT_QUIET(...) nft_run(NULL, 0, true, (const char *const[]) { __VA_ARGS__, NULL })
#define NFT_OUT(buf, ...) nft_run(buf, sizeof(buf), false, (const char *const[]) { __VA_ARGS__, NULL })

static KnockAddr addr(const char *s) {
        KnockAddr a;

        ASSERT_OK(knock_addr_parse(s, &a));
        return a;
}

/* Is s an element of set, according to `nft get element`? */
static bool kernel_has(const char *set, const char *s) {
        char elem[64];

        (void) snprintf(elem, sizeof(elem), "{ %s }", s);
        return NFT_QUIET("get", "element", "inet", table.name, set, elem) == 0;
}

/* An nft duration as printed ("1m29s984ms", "3s", "500ms", "1h2m") in ms; -1 if none. */
static long long nft_duration_ms(const char *s) {
        long long total = 0;
        bool any = false;

        for (;;) {
                char *end;
                long long v = strtoll(s, &end, 10);

                if (end == s)
                        break;
                if (end[0] == 'm' && end[1] == 's')
                        total += v, end += 2;
                else if (end[0] == 'd')
                        total += v * 86400000, end++;
                else if (end[0] == 'h')
                        total += v * 3600000, end++;
                else if (end[0] == 'm')
                        total += v * 60000, end++;
                else if (end[0] == 's')
                        total += v * 1000, end++;
                else
                        return -1;
                any = true;
                s = end;
        }
        return any ? total : -1;
}

/* The remaining time of element s in set as `nft list set` prints it; -1 if not listed. */
static long long kernel_expires_ms(const char *set, const char *s) {
        char out[16384], needle[64];
        const char *p, *stop, *e;

        ASSERT_EQ(NFT_OUT(out, "list", "set", "inet", table.name, set), 0);
        (void) snprintf(needle, sizeof(needle), " %s ", s);
        p = strstr(out, needle);
        if (!p)
                return -1;
        p += strlen(needle);
        stop = p + strcspn(p, ",}");
        e = strstr(p, "expires ");
        if (!e || e > stop)
                return -1;
        return nft_duration_ms(e + STRLEN("expires "));
}

/* How many times needle occurs in `nft list set`. */
static size_t kernel_count(const char *set, const char *needle) {
        static char out[1 << 20];
        size_t n = 0;

        ASSERT_EQ(NFT_OUT(out, "list", "set", "inet", table.name, set), 0);
        for (const char *p = out; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

static const NftElement *find_element(const NftElement *els, size_t n, const char *s) {
        KnockAddr a = addr(s);

        for (size_t i = 0; i < n; i++)
                if (knock_addr_equal(&els[i].addr, &a))
                        return &els[i];
        return NULL;
}

/* The results of one commit, by cookie. */
typedef struct Results {
        int error[1024];
        unsigned times[1024];
        unsigned n;
} Results;

static void on_result(uintptr_t cookie, int error, void *userdata) {
        Results *r = userdata;

        ASSERT_TRUE(cookie < ELEMENTSOF(r->error));
        r->error[cookie] = error;
        r->times[cookie]++;
        r->n++;
}

static void commit(Nft *n, Results *r) {
        size_t pending = nft_pending(n);

        *r = (Results) {};
        ASSERT_OK(nft_commit(n, on_result, r));
        ASSERT_EQ(r->n, pending);
        for (size_t i = 0; i < pending; i++)
                ASSERT_EQ(r->times[i], 1); /* cookies are 0 ... pending - 1 in these tests */
        ASSERT_EQ(nft_pending(n), 0);
}

/* Queue one add (cookie 0), commit, return its result. */
static int add_one(Nft *n, const char *set, const char *s, uint64_t timeout_ms) {
        KnockAddr a = addr(s);
        Results r;

        ASSERT_OK(nft_queue_add(n, &table, set, &a, timeout_ms, 0));
        commit(n, &r);
        return r.error[0];
}

static int delete_one(Nft *n, const char *set, const char *s) {
        KnockAddr a = addr(s);
        Results r;

        ASSERT_OK(nft_queue_delete(n, &table, set, &a, 0));
        commit(n, &r);
        return r.error[0];
}

static const DoorSetInfo *find_set(const DoorSetInfo *sets, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(sets[i].name, name))
                        return &sets[i];
        return NULL;
}

TEST(table_parse) {
        char buf[DOOR_SET_NAME_MAX + 8], name[300];
        NftTable t;

        ASSERT_OK(nft_table_parse("inet:knockwatch", &t));
        ASSERT_EQ(t.family, NFPROTO_INET);
        ASSERT_STREQ(t.name, "knockwatch");
        ASSERT_STREQ(nft_table_format(&t, buf, sizeof(buf)), "inet knockwatch");
        ASSERT_OK(nft_table_parse("ip:filter", &t));
        ASSERT_EQ(t.family, NFPROTO_IPV4);
        ASSERT_STREQ(nft_table_format(&t, buf, sizeof(buf)), "ip filter");
        ASSERT_OK(nft_table_parse("ip6:my_table.v2/x-y", &t));
        ASSERT_EQ(t.family, NFPROTO_IPV6);
        ASSERT_STREQ(nft_table_format(&t, buf, sizeof(buf)), "ip6 my_table.v2/x-y");
        ASSERT_OK(nft_table_parse("knockwatch", &t));
        ASSERT_EQ(t.family, NFPROTO_INET);
        ASSERT_OK(nft_table_parse(NFT_TABLE_DEFAULT, &t));
        ASSERT_OK(nft_table_parse("_x", &t));

        t = (NftTable) { .family = 99, .name = "untouched" };
        ASSERT_ERROR(nft_table_parse("", &t), EINVAL);
        ASSERT_ERROR(nft_table_parse("inet:", &t), EINVAL);
        ASSERT_ERROR(nft_table_parse("bridge:filter", &t), EINVAL);
        ASSERT_ERROR(nft_table_parse("arp:filter", &t), EINVAL);
        ASSERT_ERROR(nft_table_parse("INET:filter", &t), EINVAL);
        ASSERT_ERROR(nft_table_parse("inet:a:b", &t), EINVAL);
        ASSERT_ERROR(nft_table_parse("1table", &t), EINVAL);
        ASSERT_ERROR(nft_table_parse("-table", &t), EINVAL);
        ASSERT_ERROR(nft_table_parse("my table", &t), EINVAL);
        ASSERT_ERROR(nft_table_parse("tab\"le", &t), EINVAL);
        ASSERT_ERROR(nft_table_parse("täble", &t), EINVAL);
        ASSERT_EQ(t.family, 99); /* written only on success */

        /* 255 bytes is the kernel's limit, 256 is one too many. */
        memset(name, 'a', sizeof(name));
        memcpy(name, "ip:", 3);
        name[3 + 255] = 0;
        ASSERT_OK(nft_table_parse(name, &t));
        ASSERT_EQ(strlen(t.name), 255);
        name[3 + 255] = 'a';
        name[3 + 256] = 0;
        ASSERT_ERROR(nft_table_parse(name, &t), EINVAL);
}

TEST(get_sets) {
        _cleanup_(nft_freep) Nft *n = NULL;
        _cleanup_free_ DoorSetInfo *sets = NULL;
        const DoorSetInfo *s;
        NftTable other;
        size_t k;

        ASSERT_OK(nft_open(&n));
        ASSERT_OK(nft_get_sets(n, &table, &sets, &k));
        ASSERT_EQ(k, 12); /* the named sets of "table inet kwtest" in test-nft.sh */
        for (size_t i = 0; i < k; i++)
                ASSERT_FALSE(startswith(sets[i].name, "__")); /* tcp dport { 7000, 8000 } */

        ASSERT_TRUE(s = find_set(sets, k, "allow4"));
        ASSERT_EQ(s->key_len, 4);
        ASSERT_EQ(s->key_type, DOOR_KEY_TYPE_IPV4);
        ASSERT_TRUE(s->handle != 0);
        ASSERT_EQ(s->flags & NFT_SET_TIMEOUT, NFT_SET_TIMEOUT);
        ASSERT_EQ(s->timeout_ms, 90000); /* timeout 1m30s */
        ASSERT_TRUE(s->has_comment);
        ASSERT_STREQ(s->comment, "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 10s");

        ASSERT_TRUE(s = find_set(sets, k, "allow6"));
        ASSERT_EQ(s->key_len, 16);
        ASSERT_EQ(s->key_type, DOOR_KEY_TYPE_IPV6);
        ASSERT_TRUE(s->handle != 0 && s->handle != find_set(sets, k, "allow4")->handle);
        ASSERT_EQ(s->flags & NFT_SET_TIMEOUT, NFT_SET_TIMEOUT);
        ASSERT_EQ(s->timeout_ms, 60000);
        ASSERT_TRUE(s->has_comment);
        ASSERT_STREQ(s->comment, "knockwatch ssh");

        ASSERT_TRUE(s = find_set(sets, k, "long4"));
        ASSERT_EQ(s->timeout_ms, 0); /* flags timeout, no default */
        ASSERT_EQ(s->flags & NFT_SET_TIMEOUT, NFT_SET_TIMEOUT);
        ASSERT_TRUE(s->has_comment);
        ASSERT_EQ(strlen(s->comment), 128);
        ASSERT_STREQ(s->comment, LONG_COMMENT);

        ASSERT_TRUE(s = find_set(sets, k, "plain4"));
        ASSERT_EQ(s->flags & NFT_SET_TIMEOUT, 0);
        ASSERT_EQ(s->timeout_ms, 0);
        ASSERT_FALSE(s->has_comment);
        ASSERT_STREQ(s->comment, "");

        ASSERT_TRUE(s = find_set(sets, k, "short4"));
        ASSERT_EQ(s->timeout_ms, 4000);
        ASSERT_FALSE(s->has_comment);

        ASSERT_TRUE(s = find_set(sets, k, "port"));
        ASSERT_EQ(s->key_len, 2); /* inet_service: reported, the door code refuses it */
        ASSERT_TRUE(s->has_comment);
        ASSERT_STREQ(s->comment, "");

        ASSERT_TRUE(s = find_set(sets, k, "const4"));
        ASSERT_EQ(s->flags & NFT_SET_CONSTANT, NFT_SET_CONSTANT);

        /* The same table name in another family is another table. */
        free(sets);
        sets = NULL;
        ASSERT_OK(nft_table_parse("ip:kwtest", &other));
        ASSERT_OK(nft_get_sets(n, &other, &sets, &k));
        ASSERT_EQ(k, 1);
        ASSERT_STREQ(sets[0].name, "allow4");
        ASSERT_FALSE(sets[0].has_comment);

        /* No such table: ENOENT, and the outputs untouched. */
        free(sets);
        sets = NULL;
        k = 12345;
        ASSERT_OK(nft_table_parse("inet:nosuch", &other));
        ASSERT_ERROR(nft_get_sets(n, &other, &sets, &k), ENOENT);
        ASSERT_OK(nft_table_parse("ip6:kwtest", &other));
        ASSERT_ERROR(nft_get_sets(n, &other, &sets, &k), ENOENT);
        ASSERT_TRUE(sets == NULL);
        ASSERT_EQ(k, 12345);
}

/* Create (or delete) a set in table inet kwtest with raw user data, as only a program
 * that does not use nft could: one batch with one message, sent and acknowledged here
 * with libmnl directly so that this does not depend on the nft module. */
static void raw_set(uint16_t type, const char *name, const void *udata, uint32_t udata_len) {
        _cleanup_free_ char *buf = malloc(MNL_SOCKET_BUFFER_SIZE);
        struct mnl_nlmsg_batch *b;
        struct mnl_socket *nl;
        struct nftnl_set *st;
        struct nlmsghdr *nlh;
        uint32_t seq = (uint32_t) time(NULL);
        ssize_t l;

        ASSERT_TRUE(buf);
        ASSERT_TRUE(st = nftnl_set_alloc());
        ASSERT_OK(nftnl_set_set_str(st, NFTNL_SET_TABLE, "kwtest"));
        ASSERT_OK(nftnl_set_set_str(st, NFTNL_SET_NAME, name));
        if (type == NFT_MSG_NEWSET) {
                nftnl_set_set_u32(st, NFTNL_SET_KEY_TYPE, 7); /* nft's ipv4_addr */
                nftnl_set_set_u32(st, NFTNL_SET_KEY_LEN, 4);
                nftnl_set_set_u32(st, NFTNL_SET_FLAGS, NFT_SET_TIMEOUT);
                nftnl_set_set_u32(st, NFTNL_SET_ID, 1);
                ASSERT_OK(nftnl_set_set_data(st, NFTNL_SET_USERDATA, udata, udata_len));
        }

        b = mnl_nlmsg_batch_start(buf, MNL_SOCKET_BUFFER_SIZE);
        nftnl_batch_begin(mnl_nlmsg_batch_current(b), seq++);
        mnl_nlmsg_batch_next(b);
        nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), type, NFPROTO_INET,
                                    NLM_F_ACK | (type == NFT_MSG_NEWSET ? NLM_F_CREATE : 0), seq++);
        nftnl_set_nlmsg_build_payload(nlh, st);
        nftnl_set_free(st);
        mnl_nlmsg_batch_next(b);
        nftnl_batch_end(mnl_nlmsg_batch_current(b), seq++);
        mnl_nlmsg_batch_next(b);

        ASSERT_TRUE(nl = mnl_socket_open(NETLINK_NETFILTER));
        ASSERT_TRUE(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) == 0);
        ASSERT_TRUE(mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b)) >= 0);
        l = mnl_socket_recvfrom(nl, buf, MNL_SOCKET_BUFFER_SIZE);
        ASSERT_TRUE(l > 0);
        /* The one ACK: error 0. */
        ASSERT_EQ(mnl_cb_run(buf, (size_t) l, 0, mnl_socket_get_portid(nl), NULL, NULL), MNL_CB_STOP);
        mnl_nlmsg_batch_stop(b);
        mnl_socket_close(nl);
}

/* Set user data in the kernel is opaque bytes; whatever is malformed in it is no comment. */
TEST(comment_udata) {
        static const struct {
                const char *set;
                uint8_t udata[16];
                uint32_t len;
                const char *comment; /* NULL: has_comment must be false */
        } cases[] = {
                /* type 7 is NFTNL_UDATA_SET_COMMENT, then a length byte */
                { "ud_ok",    { 7, 4, 'a', 'b', 'c', 0 }, 6, "abc" },
                { "ud_after", { 0, 4, 1, 0, 0, 0, 7, 3, 'h', 'i', 0 }, 11, "hi" },
                { "ud_nonul", { 7, 5, 'h', 'e', 'l', 'l', 'o' }, 7, NULL },
                { "ud_long",  { 7, 200, 'h', 'i', 0 }, 5, NULL },
                { "ud_inner", { 7, 4, 'a', 0, 'b', 0 }, 6, NULL },
                { "ud_twice", { 7, 3, 'h', 'i', 0, 7, 3, 'h', 'o', 0 }, 10, NULL },
                { "ud_empty", { 7, 0 }, 2, NULL },
                { "ud_cut",   { 0, 4, 1, 0, 0, 0, 7 }, 7, NULL },
        };
        _cleanup_(nft_freep) Nft *n = NULL;
        _cleanup_free_ DoorSetInfo *sets = NULL;
        const DoorSetInfo *info;
        size_t k;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                raw_set(NFT_MSG_NEWSET, cases[i].set, cases[i].udata, cases[i].len);

        ASSERT_OK(nft_open(&n));
        ASSERT_OK(nft_get_sets(n, &table, &sets, &k));
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ASSERT_TRUE(info = find_set(sets, k, cases[i].set));
                ASSERT_EQ(info->key_len, 4);
                if (cases[i].comment) {
                        ASSERT_TRUE(info->has_comment);
                        ASSERT_STREQ(info->comment, cases[i].comment);
                } else {
                        ASSERT_FALSE(info->has_comment);
                        ASSERT_STREQ(info->comment, "");
                }
        }

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                raw_set(NFT_MSG_DELSET, cases[i].set, NULL, 0);
        free(sets);
        sets = NULL;
        ASSERT_OK(nft_get_sets(n, &table, &sets, &k));
        ASSERT_EQ(k, 12);
}

TEST(add_and_list) {
        _cleanup_(nft_freep) Nft *n = NULL;
        _cleanup_free_ NftElement *els = NULL;
        const NftElement *e;
        long long left;
        size_t k;

        ASSERT_OK(nft_open(&n));
        /* A new element: the add's DELSETELEM (second of the three messages) finds the
         * element the first one just created, so the operation succeeds as a whole. */
        ASSERT_FALSE(kernel_has("allow4", "192.0.2.9"));
        ASSERT_EQ(add_one(n, "allow4", "192.0.2.9", 30000), 0);
        ASSERT_TRUE(kernel_has("allow4", "192.0.2.9"));
        left = kernel_expires_ms("allow4", "192.0.2.9");
        ASSERT_TRUE(left > 25000 && left <= 30000);

        ASSERT_FALSE(kernel_has("allow6", "2001:db8::1:1"));
        ASSERT_EQ(add_one(n, "allow6", "2001:db8::1:1", 45000), 0);
        ASSERT_TRUE(kernel_has("allow6", "2001:db8::1:1"));

        /* A timeout equal to the set's default (the kernel then omits it in dumps). */
        ASSERT_EQ(add_one(n, "allow4", "192.0.2.10", 90000), 0);
        /* An element added by someone else, with the set default and no timeout at all. */
        ASSERT_EQ(NFT("add", "element", "inet", "kwtest", "allow4", "{ 192.0.2.11 }"), 0);
        ASSERT_EQ(NFT("add", "element", "inet", "kwtest", "long4", "{ 192.0.2.12 }"), 0);

        ASSERT_OK(nft_get_elements(n, &table, "allow4", &els, &k));
        ASSERT_EQ(k, 3);
        ASSERT_TRUE(e = find_element(els, k, "192.0.2.9"));
        ASSERT_EQ(e->addr.family, AF_INET);
        ASSERT_EQ(e->timeout_ms, 30000);
        ASSERT_TRUE(e->expires_ms > 25000 && e->expires_ms <= 30000);
        ASSERT_TRUE(e = find_element(els, k, "192.0.2.10"));
        ASSERT_EQ(e->timeout_ms, 90000);
        ASSERT_TRUE(e->expires_ms > 85000 && e->expires_ms <= 90000);
        ASSERT_TRUE(e = find_element(els, k, "192.0.2.11"));
        ASSERT_EQ(e->timeout_ms, 90000);
        free(els);
        els = NULL;

        ASSERT_OK(nft_get_elements(n, &table, "allow6", &els, &k));
        ASSERT_EQ(k, 1);
        ASSERT_TRUE(e = find_element(els, k, "2001:db8::1:1"));
        ASSERT_EQ(e->addr.family, AF_INET6);
        ASSERT_EQ(e->timeout_ms, 45000);
        free(els);
        els = NULL;

        /* A permanent element of a timeout set: no timeout, nothing left to expire. */
        ASSERT_OK(nft_get_elements(n, &table, "long4", &els, &k));
        ASSERT_EQ(k, 1);
        ASSERT_TRUE(e = find_element(els, k, "192.0.2.12"));
        ASSERT_EQ(e->timeout_ms, 0);
        ASSERT_EQ(e->expires_ms, 0);
        free(els);
        els = NULL;

        k = 777;
        ASSERT_ERROR(nft_get_elements(n, &table, "nosuch", &els, &k), ENOENT);
        ASSERT_ERROR(nft_get_elements(n, &table, "port", &els, &k), EINVAL);
        ASSERT_TRUE(els == NULL);
        ASSERT_EQ(k, 777);
        ASSERT_OK(nft_get_elements(n, &table, "plain4", &els, &k));
        ASSERT_EQ(k, 0);
}

TEST(refresh_and_expiry) {
        _cleanup_(nft_freep) Nft *n = NULL;
        _cleanup_free_ NftElement *els = NULL;
        const NftElement *e;
        long long left;
        size_t k;

        ASSERT_OK(nft_open(&n));
        /* short4 has "timeout 4s". */
        ASSERT_EQ(add_one(n, "short4", "192.0.2.13", 4000), 0);
        ASSERT_EQ(add_one(n, "short4", "192.0.2.14", 1500), 0);
        ASSERT_TRUE(kernel_has("short4", "192.0.2.14"));
        usleep(2200 * 1000);

        left = kernel_expires_ms("short4", "192.0.2.13");
        ASSERT_TRUE(left > 0 && left < 2500);
        /* The refresh: the same timeout again restarts it on every kernel. */
        ASSERT_EQ(add_one(n, "short4", "192.0.2.13", 4000), 0);
        left = kernel_expires_ms("short4", "192.0.2.13");
        ASSERT_TRUE(left > 3000 && left <= 4000);
        ASSERT_OK(nft_get_elements(n, &table, "short4", &els, &k));
        ASSERT_TRUE(e = find_element(els, k, "192.0.2.13"));
        ASSERT_EQ(e->timeout_ms, 4000);
        ASSERT_TRUE(e->expires_ms > 3000 && e->expires_ms <= 4000);

        /* 192.0.2.14 had 1.5 s: gone, in the kernel and in the listing. */
        ASSERT_FALSE(kernel_has("short4", "192.0.2.14"));
        ASSERT_FALSE(find_element(els, k, "192.0.2.14"));
        ASSERT_EQ(k, 1);

        /* A refresh to a shorter timeout takes effect too. */
        ASSERT_EQ(add_one(n, "short4", "192.0.2.13", 1000), 0);
        left = kernel_expires_ms("short4", "192.0.2.13");
        ASSERT_TRUE(left > 0 && left <= 1000);
}

TEST(delete) {
        _cleanup_(nft_freep) Nft *n = NULL;

        ASSERT_OK(nft_open(&n));
        ASSERT_EQ(add_one(n, "allow4", "192.0.2.15", 60000), 0);
        ASSERT_TRUE(kernel_has("allow4", "192.0.2.15"));
        ASSERT_EQ(delete_one(n, "allow4", "192.0.2.15"), 0);
        ASSERT_FALSE(kernel_has("allow4", "192.0.2.15"));
        ASSERT_EQ(delete_one(n, "allow4", "192.0.2.15"), -ENOENT);
        ASSERT_EQ(delete_one(n, "nosuch", "192.0.2.15"), -ENOENT);
        /* An element nft added without a timeout goes the same way. */
        ASSERT_EQ(NFT("add", "element", "inet", "kwtest", "allow6", "{ 2001:db8::1:2 }"), 0);
        ASSERT_EQ(delete_one(n, "allow6", "2001:db8::1:2"), 0);
        ASSERT_FALSE(kernel_has("allow6", "2001:db8::1:2"));
}

TEST(errors_in_a_batch) {
        _cleanup_(nft_freep) Nft *n = NULL;
        KnockAddr a17 = addr("192.0.2.17"), a18 = addr("192.0.2.18"), a19 = addr("192.0.2.19"),
                  a20 = addr("192.0.2.20"), a6 = addr("2001:db8::2:1");
        Results r;

        ASSERT_OK(nft_open(&n));
        ASSERT_OK(nft_queue_add(n, &table, "allow4", &a17, 60000, 0));
        ASSERT_OK(nft_queue_add(n, &table, "nosuch", &a18, 60000, 1));     /* set gone */
        ASSERT_OK(nft_queue_add(n, &table, "allow6", &a6, 60000, 2));
        ASSERT_OK(nft_queue_delete(n, &table, "allow4", &a19, 3));         /* not there */
        ASSERT_OK(nft_queue_add(n, &table, "allow4", &a6, 60000, 4));      /* v6 key, v4 set */
        ASSERT_OK(nft_queue_add(n, &table, "allow6", &a20, 60000, 5));     /* v4 key, v6 set */
        ASSERT_OK(nft_queue_add(n, &table, "plain4", &a20, 60000, 6));     /* no flags timeout */
        ASSERT_OK(nft_queue_add(n, &table, "const4", &a20, 60000, 7));     /* constant, bound */
        ASSERT_OK(nft_queue_add(n, &table, "allow4", &a20, UINT64_MAX, 8)); /* too long */
        ASSERT_OK(nft_queue_add(n, &table, "allow4", &a19, 60000, 9));
        ASSERT_EQ(nft_pending(n), 10);
        commit(n, &r);
        ASSERT_EQ(r.error[0], 0);
        ASSERT_EQ(r.error[1], -ENOENT);
        ASSERT_EQ(r.error[2], 0);
        ASSERT_EQ(r.error[3], -ENOENT);
        ASSERT_EQ(r.error[4], -EINVAL);
        ASSERT_EQ(r.error[5], -EINVAL);
        ASSERT_EQ(r.error[6], -EINVAL);
        ASSERT_EQ(r.error[7], -EBUSY);
        ASSERT_EQ(r.error[8], -ERANGE);
        ASSERT_EQ(r.error[9], 0);
        /* What succeeded is really committed, though its first batch was rolled back. */
        ASSERT_TRUE(kernel_has("allow4", "192.0.2.17"));
        ASSERT_TRUE(kernel_has("allow6", "2001:db8::2:1"));
        ASSERT_TRUE(kernel_has("allow4", "192.0.2.19"));
        ASSERT_FALSE(kernel_has("allow4", "192.0.2.20"));
        ASSERT_FALSE(kernel_has("plain4", "192.0.2.20"));

        /* A batch that fails entirely. */
        ASSERT_OK(nft_queue_add(n, &table, "nosuch", &a18, 60000, 0));
        ASSERT_OK(nft_queue_delete(n, &table, "allow4", &a18, 1));
        commit(n, &r);
        ASSERT_EQ(r.error[0], -ENOENT);
        ASSERT_EQ(r.error[1], -ENOENT);

        /* Checked before anything is sent. */
        ASSERT_ERROR(nft_queue_add(n, &table, "allow4", &a17, 0, 0), EINVAL);
        ASSERT_ERROR(nft_queue_add(n, &table, "", &a17, 1000, 0), EINVAL);
        ASSERT_EQ(nft_pending(n), 0);
        ASSERT_OK(nft_commit(n, on_result, &r)); /* nothing pending: nothing reported */
}

TEST(set_full) {
        _cleanup_(nft_freep) Nft *n = NULL;
        KnockAddr a[3] = { addr("192.0.2.21"), addr("192.0.2.22"), addr("192.0.2.23") };
        Results r;

        ASSERT_OK(nft_open(&n));
        /* tiny4 has "size 2". */
        for (unsigned i = 0; i < 3; i++)
                ASSERT_OK(nft_queue_add(n, &table, "tiny4", &a[i], 60000, i));
        commit(n, &r);
        ASSERT_EQ(r.error[0], 0);
        ASSERT_EQ(r.error[1], 0);
        ASSERT_EQ(r.error[2], -ENFILE);
        ASSERT_TRUE(kernel_has("tiny4", "192.0.2.21"));
        ASSERT_TRUE(kernel_has("tiny4", "192.0.2.22"));
        ASSERT_FALSE(kernel_has("tiny4", "192.0.2.23"));

        /* Full, and still a grant that is there can be refreshed. */
        ASSERT_EQ(add_one(n, "tiny4", "192.0.2.21", 50000), 0);
        ASSERT_EQ(add_one(n, "tiny4", "192.0.2.23", 60000), -ENFILE);
        ASSERT_TRUE(kernel_expires_ms("tiny4", "192.0.2.21") <= 50000);
}

TEST(bulk) {
        _cleanup_(nft_freep) Nft *n = NULL;
        _cleanup_free_ NftElement *els = NULL;
        KnockAddr a;
        Results r;
        char s[64];
        size_t k;

        ASSERT_OK(nft_open(&n));
        for (unsigned i = 1; i <= 200; i++) {
                (void) snprintf(s, sizeof(s), "198.51.100.%u", i);
                a = addr(s);
                ASSERT_OK(nft_queue_add(n, &table, "bulk4", &a, 60000, i - 1));
        }
        commit(n, &r);
        for (unsigned i = 0; i < 200; i++)
                ASSERT_EQ(r.error[i], 0);
        ASSERT_EQ(kernel_count("bulk4", "198.51.100."), 200);
        ASSERT_TRUE(kernel_has("bulk4", "198.51.100.1"));
        ASSERT_TRUE(kernel_has("bulk4", "198.51.100.200"));
        ASSERT_OK(nft_get_elements(n, &table, "bulk4", &els, &k));
        ASSERT_EQ(k, 200);
        for (unsigned i = 1; i <= 200; i++) {
                (void) snprintf(s, sizeof(s), "198.51.100.%u", i);
                ASSERT_TRUE(find_element(els, k, s));
        }

        /* A full batch: NFT_BATCH_MAX operations, 768 messages, every ACK must fit. */
        for (unsigned i = 0; i < NFT_BATCH_MAX; i++) {
                (void) snprintf(s, sizeof(s), "2001:db8:f00::%x", i + 1);
                a = addr(s);
                ASSERT_OK(nft_queue_add(n, &table, "bulk6", &a, 60000, i));
        }
        ASSERT_ERROR(nft_queue_add(n, &table, "bulk6", &a, 60000, 999), ENOBUFS);
        commit(n, &r);
        for (unsigned i = 0; i < NFT_BATCH_MAX; i++)
                ASSERT_EQ(r.error[i], 0);
        ASSERT_EQ(kernel_count("bulk6", "2001:db8:f00::"), NFT_BATCH_MAX);

        /* A full batch of failures: every error reported, none lost. */
        for (unsigned i = 0; i < NFT_BATCH_MAX; i++) {
                (void) snprintf(s, sizeof(s), "2001:db8:f00::1:%x", i + 1);
                a = addr(s);
                ASSERT_OK(nft_queue_delete(n, &table, "bulk6", &a, i));
        }
        commit(n, &r);
        for (unsigned i = 0; i < NFT_BATCH_MAX; i++)
                ASSERT_EQ(r.error[i], -ENOENT);
}

/* Events as seen by a test: kinds in order, element fields copied. */
typedef struct Seen {
        NftEventKind kind[4096];
        char set[4096][16];
        KnockAddr addr[4096];
        uint64_t timeout_ms[4096], expires_ms[4096];
        uint32_t portid[4096];
        size_t n, generations, lost;
} Seen;

static void on_event(const NftEvent *ev, void *userdata) {
        Seen *s = userdata;

        if (ev->kind == NFT_EVENT_GENERATION)
                s->generations++;
        if (ev->kind == NFT_EVENT_LOST)
                s->lost++;
        if (s->n >= ELEMENTSOF(s->kind))
                return;
        s->kind[s->n] = ev->kind;
        if (ev->kind == NFT_EVENT_ELEMENT_ADDED || ev->kind == NFT_EVENT_ELEMENT_DELETED) {
                ASSERT_TRUE(ev->set);
                (void) snprintf(s->set[s->n], sizeof(s->set[0]), "%s", ev->set);
                s->addr[s->n] = ev->addr;
                s->timeout_ms[s->n] = ev->timeout_ms;
                s->expires_ms[s->n] = ev->expires_ms;
        }
        s->portid[s->n] = ev->portid;
        s->n++;
}

/* Process events until `generations` transactions ended (or 5 s passed). */
static void wait_generations(NftMonitor *m, Seen *s, size_t generations) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 5 * USEC_PER_SEC;

        *s = (Seen) {};
        while (s->generations < generations && now_usec(CLOCK_MONOTONIC) < deadline) {
                struct pollfd p = { .fd = nft_monitor_fd(m), .events = POLLIN };

                (void) poll(&p, 1, 100);
                ASSERT_OK(nft_monitor_process(m, on_event, s));
        }
        ASSERT_EQ(s->generations, generations);
}

static size_t count_kind(const Seen *s, NftEventKind kind) {
        size_t n = 0;

        for (size_t i = 0; i < s->n; i++)
                n += s->kind[i] == kind;
        return n;
}

static Seen seen; /* large: static */

TEST(monitor) {
        _cleanup_(nft_monitor_freep) NftMonitor *m = NULL;
        _cleanup_(nft_freep) Nft *n = NULL, *other = NULL;
        KnockAddr a = addr("192.0.2.25");
        Results r;
        int fd, size;
        char s[64];

        ASSERT_OK(nft_open(&n));
        ASSERT_OK(nft_monitor_open(&table, nft_portid(n), &m));
        fd = nft_monitor_fd(m);
        ASSERT_TRUE(fd >= 0);
        ASSERT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);

        /* Reloading the ruleset file (it starts with "flush ruleset"): one transaction. */
        ASSERT_EQ(NFT("-f", ruleset_path), 0);
        wait_generations(m, &seen, 1);
        ASSERT_TRUE(count_kind(&seen, NFT_EVENT_RULESET) >= 1);
        ASSERT_EQ(seen.kind[0], NFT_EVENT_RULESET);
        ASSERT_EQ(seen.kind[seen.n - 1], NFT_EVENT_GENERATION);
        /* The elements the file declares come as element events. */
        ASSERT_EQ(count_kind(&seen, NFT_EVENT_ELEMENT_ADDED), 1);
        for (size_t i = 0; i < seen.n; i++)
                if (seen.kind[i] == NFT_EVENT_ELEMENT_ADDED) {
                        ASSERT_STREQ(seen.set[i], "const4");
                        ASSERT_EQ(seen.addr[i].bytes[3], 30);
                        ASSERT_EQ(seen.timeout_ms[i], 0);
                }

        /* Elements added and deleted by another process, with their timeouts. */
        ASSERT_EQ(NFT("add", "element", "inet", "kwtest", "mon4", "{ 192.0.2.26 timeout 10s }"), 0);
        wait_generations(m, &seen, 1);
        ASSERT_EQ(seen.n, 2);
        ASSERT_EQ(seen.kind[0], NFT_EVENT_ELEMENT_ADDED);
        ASSERT_STREQ(seen.set[0], "mon4");
        ASSERT_TRUE(knock_addr_equal(&seen.addr[0], &(KnockAddr) { .family = AF_INET, .bytes = { 192, 0, 2, 26 } }));
        ASSERT_EQ(seen.timeout_ms[0], 10000);
        ASSERT_TRUE(seen.expires_ms[0] > 9000 && seen.expires_ms[0] <= 10000);
        ASSERT_TRUE(seen.portid[0] != nft_portid(n));
        ASSERT_EQ(seen.kind[1], NFT_EVENT_GENERATION);

        /* With the set's default timeout (30s), which the kernel leaves out of the event. */
        ASSERT_EQ(NFT("add", "element", "inet", "kwtest", "mon6", "{ 2001:db8::3:1 }"), 0);
        wait_generations(m, &seen, 1);
        ASSERT_EQ(seen.n, 2);
        ASSERT_EQ(seen.kind[0], NFT_EVENT_ELEMENT_ADDED);
        ASSERT_STREQ(seen.set[0], "mon6");
        ASSERT_TRUE(knock_addr_equal(&seen.addr[0], &(KnockAddr) { .family = AF_INET6,
                .bytes = { 0x20, 0x01, 0x0d, 0xb8, [13] = 3, [15] = 1 } }));
        ASSERT_EQ(seen.timeout_ms[0], 30000);
        ASSERT_TRUE(seen.expires_ms[0] > 29000 && seen.expires_ms[0] <= 30000);

        ASSERT_EQ(NFT("delete", "element", "inet", "kwtest", "mon4", "{ 192.0.2.26 }"), 0);
        wait_generations(m, &seen, 1);
        ASSERT_EQ(seen.n, 2);
        ASSERT_EQ(seen.kind[0], NFT_EVENT_ELEMENT_DELETED);
        ASSERT_STREQ(seen.set[0], "mon4");
        ASSERT_EQ(seen.addr[0].bytes[3], 26);

        /* Other tables: the same name in another family, another name in ours. */
        ASSERT_EQ(NFT("add", "element", "ip", "kwtest", "allow4", "{ 192.0.2.27 timeout 10s }"), 0);
        ASSERT_EQ(NFT("add", "element", "inet", "other", "allow4", "{ 192.0.2.27 timeout 10s }"), 0);
        ASSERT_EQ(NFT("add", "set", "inet", "other", "more", "{ type ipv4_addr; }"), 0);
        wait_generations(m, &seen, 3);
        ASSERT_EQ(seen.n, 3);
        ASSERT_EQ(count_kind(&seen, NFT_EVENT_GENERATION), 3);

        /* A new set in our table is a ruleset change; so is deleting it. */
        ASSERT_EQ(NFT("add", "set", "inet", "kwtest", "more", "{ type ipv4_addr; flags timeout; timeout 7s; }"), 0);
        ASSERT_EQ(NFT("add", "element", "inet", "kwtest", "more", "{ 192.0.2.28 }"), 0);
        wait_generations(m, &seen, 2);
        ASSERT_EQ(seen.n, 4);
        ASSERT_EQ(seen.kind[0], NFT_EVENT_RULESET);
        ASSERT_EQ(seen.kind[1], NFT_EVENT_GENERATION);
        ASSERT_EQ(seen.kind[2], NFT_EVENT_ELEMENT_ADDED);
        ASSERT_EQ(seen.timeout_ms[2], 7000); /* the default of a set created after open */
        ASSERT_EQ(NFT("delete", "set", "inet", "kwtest", "more"), 0);
        wait_generations(m, &seen, 1);
        ASSERT_EQ(seen.kind[0], NFT_EVENT_RULESET);

        /* Our own changes: only the end of the transaction. */
        ASSERT_OK(nft_queue_add(n, &table, "mon4", &a, 60000, 0));
        ASSERT_OK(nft_queue_delete(n, &table, "mon4", &a, 1));
        commit(n, &r);
        ASSERT_EQ(r.error[0], 0);
        ASSERT_EQ(r.error[1], 0);
        wait_generations(m, &seen, 1);
        ASSERT_EQ(seen.n, 1);
        ASSERT_EQ(seen.kind[0], NFT_EVENT_GENERATION);
        ASSERT_EQ(seen.portid[0], nft_portid(n));

        /* The same change from another socket is reported. */
        ASSERT_OK(nft_open(&other));
        ASSERT_OK(nft_queue_add(other, &table, "mon4", &a, 60000, 0));
        commit(other, &r);
        ASSERT_EQ(r.error[0], 0);
        wait_generations(m, &seen, 1);
        /* NEW, DEL, NEW: three element events for one refresh, the last one an add. */
        ASSERT_EQ(seen.n, 4);
        ASSERT_EQ(seen.kind[0], NFT_EVENT_ELEMENT_ADDED);
        ASSERT_EQ(seen.kind[1], NFT_EVENT_ELEMENT_DELETED);
        ASSERT_EQ(seen.kind[2], NFT_EVENT_ELEMENT_ADDED);
        ASSERT_EQ(seen.portid[2], nft_portid(other));
        ASSERT_EQ(seen.timeout_ms[2], 60000);

        /* flush ruleset: the table goes. */
        ASSERT_EQ(NFT("flush", "ruleset"), 0);
        wait_generations(m, &seen, 1);
        ASSERT_TRUE(count_kind(&seen, NFT_EVENT_RULESET) >= 1);
        ASSERT_EQ(count_kind(&seen, NFT_EVENT_ELEMENT_DELETED), 0);
        ASSERT_EQ(seen.kind[seen.n - 1], NFT_EVENT_GENERATION);
        ASSERT_EQ(NFT("-f", ruleset_path), 0);
        wait_generations(m, &seen, 1);

        /* An overrun: a tiny receive buffer and 200 grants (600 element events) from
         * another socket. */
        size = 1024; /* the kernel's minimum applies */
        ASSERT_TRUE(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) == 0);
        for (unsigned i = 1; i <= 200; i++) {
                (void) snprintf(s, sizeof(s), "198.51.100.%u", i);
                a = addr(s);
                ASSERT_OK(nft_queue_add(other, &table, "bulk4", &a, 60000, i - 1));
        }
        commit(other, &r);
        seen = (Seen) {};
        ASSERT_OK(nft_monitor_process(m, on_event, &seen));
        ASSERT_TRUE(seen.lost >= 1);
        ASSERT_TRUE(count_kind(&seen, NFT_EVENT_ELEMENT_ADDED) < 400);
}

/* Without CAP_NET_ADMIN. */
static void test_eperm(void) {
        _cleanup_(nft_freep) Nft *n = NULL;
        _cleanup_free_ DoorSetInfo *sets = NULL;
        _cleanup_free_ NftElement *els = NULL;
        NftMonitor *m = NULL;
        KnockAddr a = addr("192.0.2.29");
        Results r;
        size_t k;

        ASSERT_TRUE(geteuid() != 0);
        ASSERT_OK(nft_open(&n));
        ASSERT_ERROR(nft_get_sets(n, &table, &sets, &k), EPERM);
        ASSERT_ERROR(nft_get_elements(n, &table, "allow4", &els, &k), EPERM);
        ASSERT_OK(nft_queue_add(n, &table, "allow4", &a, 60000, 0));
        ASSERT_OK(nft_queue_delete(n, &table, "allow4", &a, 1));
        commit(n, &r);
        ASSERT_EQ(r.error[0], -EPERM);
        ASSERT_EQ(r.error[1], -EPERM);
        ASSERT_ERROR(nft_monitor_open(&table, 0, &m), EPERM);
        ASSERT_TRUE(m == NULL);
        printf("ok - eperm\n");
}

static void assert_range(const NftLogRule *l, size_t i, uint16_t lo, uint16_t hi) {
        ASSERT_TRUE(i < l->n_ranges);
        ASSERT_EQ(l->ranges[i].lo, lo);
        ASSERT_EQ(l->ranges[i].hi, hi);
}

/* The log rules and guards of "table inet kwrules" in test-nft.sh, in rule order. */
TEST(get_rules) {
        _cleanup_(nft_freep) Nft *n = NULL;
        NftRules rules = {};
        const NftLogRule *l;
        NftTable t, missing;

        ASSERT_OK(nft_table_parse("inet:kwrules", &t));
        ASSERT_OK(nft_table_parse("inet:nosuchtable", &missing));
        ASSERT_OK(nft_open(&n));
        ASSERT_ERROR(nft_get_rules(n, &missing, &rules), ENOENT);
        ASSERT_OK(nft_get_rules(n, &t, &rules));
        ASSERT_EQ(rules.n_logs, 10);

        l = &rules.logs[0]; /* tcp dport { 3721, 4728, 6742 } … syn log prefix "PORT_KNOCKING " */
        ASSERT_STREQ(l->prefix, "PORT_KNOCKING ");
        ASSERT_STREQ(l->chain, "input");
        ASSERT_EQ(l->hook, NF_INET_LOCAL_IN);
        ASSERT_TRUE(l->to_kernel_log);
        ASSERT_EQ(l->l4proto, IPPROTO_TCP);
        ASSERT_EQ(l->ports, NFT_PORTS_RANGES);
        ASSERT_EQ(l->n_ranges, 3);
        assert_range(l, 0, 3721, 3721);
        assert_range(l, 1, 4728, 4728);
        assert_range(l, 2, 6742, 6742);

        l = &rules.logs[1]; /* udp dport 5000 with a secret */
        ASSERT_STREQ(l->prefix, "PORT_KNOCKING KwTestSecret0123456789 ");
        ASSERT_EQ(l->l4proto, IPPROTO_UDP);
        ASSERT_EQ(l->n_ranges, 1);
        assert_range(l, 0, 5000, 5000);

        l = &rules.logs[2]; /* tcp dport 1000-2000 */
        ASSERT_EQ(l->ports, NFT_PORTS_RANGES);
        assert_range(l, 0, 1000, 2000);

        l = &rules.logs[3]; /* tcp dport { 100-200, 300, 60000-65535 }: an interval set */
        ASSERT_EQ(l->ports, NFT_PORTS_RANGES);
        ASSERT_EQ(l->n_ranges, 3);
        assert_range(l, 0, 100, 200);
        assert_range(l, 1, 300, 300);
        assert_range(l, 2, 60000, 65535);

        l = &rules.logs[4]; /* meta l4proto . th dport @totp_ports */
        ASSERT_EQ(l->ports, NFT_PORTS_SET);
        ASSERT_STREQ(l->set, "totp_ports");
        ASSERT_TRUE(l->set_with_proto);
        ASSERT_EQ(l->l4proto, 0);

        l = &rules.logs[5]; /* icmp type echo-request */
        ASSERT_EQ(l->l4proto, IPPROTO_ICMP);
        ASSERT_TRUE(l->icmp_echo);
        ASSERT_EQ(l->ports, NFT_PORTS_ANY);

        ASSERT_FALSE(rules.logs[6].to_kernel_log); /* log group 1: NFLOG */
        l = &rules.logs[7]; /* a bare log */
        ASSERT_STREQ(l->prefix, "");
        ASSERT_EQ(l->l4proto, 0);
        ASSERT_EQ(l->ports, NFT_PORTS_ANY);
        ASSERT_EQ(rules.logs[8].hook, NF_INET_LOCAL_OUT);
        ASSERT_EQ(rules.logs[9].hook, -1); /* a regular chain */

        ASSERT_EQ(rules.n_guards, 2);
        ASSERT_STREQ(rules.guards[0].set, "ssh4");
        ASSERT_EQ(rules.guards[0].l4proto, IPPROTO_TCP);
        ASSERT_EQ(rules.guards[0].port, 22);
        ASSERT_STREQ(rules.guards[1].set, "ssh6");
        ASSERT_EQ(rules.guards[1].port, 22);
        nft_rules_done(&rules);
}

int main(int argc, char *argv[]) {
        ASSERT_OK(nft_table_parse("inet:kwtest", &table));
        if (argc == 2 && streq(argv[1], "--eperm")) {
                test_eperm();
                return 0;
        }
        if (argc != 2) {
                fprintf(stderr, "usage: %s RULESET | --eperm\n", argv[0]);
                return 64;
        }
        ruleset_path = argv[1];
        setvbuf(stdout, NULL, _IOLBF, 0);

        RUN(table_parse);
        RUN(get_sets);
        RUN(comment_udata);
        RUN(add_and_list);
        RUN(refresh_and_expiry);
        RUN(delete);
        RUN(errors_in_a_batch);
        RUN(set_full);
        RUN(bulk);
        RUN(monitor);
        RUN(get_rules);
        return 0;
}
