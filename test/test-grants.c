/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-grants.c — the daemon's record of live grants: keyed by door and source,
 * bounded, expiring in order, consistent after any mix of puts and removals. */
#include <errno.h>

#include "grants.h"
#include "string-util.h"
#include "tests.h"
#include "time-util.h"

static KnockAddr addr4(unsigned i) {
        KnockAddr a = { .family = AF_INET };

        a.bytes[0] = 192;
        a.bytes[1] = 0;
        a.bytes[2] = (uint8_t) (i >> 8);
        a.bytes[3] = (uint8_t) i;
        return a;
}

TEST(put_get_remove) {
        _cleanup_(grants_freep) Grants *g = NULL;
        KnockAddr a = addr4(2), b = addr4(3), a6 = { .family = AF_INET6 };
        Grant old;

        ASSERT_OK(grants_new(4, &g));
        ASSERT_EQ(grants_put(g, "ssh", &a, 100, 60000, 0), 1);
        ASSERT_EQ(grants_put(g, "web", &a, 200, 60000, 0), 1);
        ASSERT_EQ(grants_put(g, "ssh", &b, 300, 60000, 0), 1);
        ASSERT_EQ(grants_put(g, "ssh", &a6, 400, 60000, 0), 1); /* same low bytes, other family */
        ASSERT_EQ(grants_size(g), 4);
        ASSERT_EQ(grants_put(g, "ssh", &a, 150, 30000, 0), 0);   /* refresh */
        ASSERT_EQ(grants_get(g, "ssh", &a)->expires, 150);
        ASSERT_EQ(grants_get(g, "ssh", &a)->timeout_ms, 30000);
        ASSERT_ERROR(grants_put(g, "other", &a, 1, 1, 0), ENOSPC);
        ASSERT_EQ(grants_size(g), 4);

        ASSERT_EQ(grants_remove(g, "web", &a, &old), 1);
        ASSERT_EQ(old.expires, 200);
        ASSERT_STREQ(old.door, "web");
        ASSERT_EQ(grants_remove(g, "web", &a, NULL), 0);
        ASSERT_TRUE(grants_get(g, "web", &a) == NULL);
        ASSERT_TRUE(grants_get(g, "ssh", &a) != NULL);
        ASSERT_TRUE(grants_get(g, "ssh", &b) != NULL);
        ASSERT_TRUE(grants_get(g, "ssh", &a6) != NULL);
        ASSERT_EQ(grants_next_expiry(g), 150);
}

static void count_expired(const Grant *grant, void *userdata) {
        ASSERT_TRUE(grant->expires <= 1000);
        (*(unsigned *) userdata)++;
}

TEST(expire) {
        _cleanup_(grants_freep) Grants *g = NULL;
        unsigned seen = 0;

        ASSERT_OK(grants_new(100, &g));
        for (unsigned i = 0; i < 100; i++) {
                KnockAddr a = addr4(i);
                ASSERT_EQ(grants_put(g, "ssh", &a, (i % 2 ? 500 : 5000) + i, 1, 0), 1);
        }
        ASSERT_EQ(grants_expire(g, 1000, count_expired, &seen), 50);
        ASSERT_EQ(seen, 50);
        ASSERT_EQ(grants_size(g), 50);
        for (unsigned i = 0; i < 100; i++) {
                KnockAddr a = addr4(i);
                ASSERT_EQ(grants_get(g, "ssh", &a) != NULL, i % 2 == 0);
        }
        ASSERT_EQ(grants_next_expiry(g), 5000); /* i = 0 */
        ASSERT_EQ(grants_expire(g, USEC_INFINITY - 1, NULL, NULL), 50);
        ASSERT_EQ(grants_next_expiry(g), USEC_INFINITY);
}

/* Random puts and removes against a plain array model: the index must never lose or
 * invent a grant, whatever the probe runs look like after backward-shift deletion. */
TEST(model) {
        _cleanup_(grants_freep) Grants *g = NULL;
        bool present[512] = {};
        uint32_t x = 12345;

        ASSERT_OK(grants_new(300, &g));
        for (unsigned step = 0; step < 200000; step++) {
                unsigned i;
                KnockAddr a;

                x = x * 1103515245 + 12345;
                i = (x >> 8) % 512;
                a = addr4(i);
                if ((x >> 24) & 1) {
                        int r = grants_put(g, "d", &a, step, 1, 0);
                        if (present[i])
                                ASSERT_EQ(r, 0);
                        else if (grants_size(g) >= 300 && r == -ENOSPC)
                                continue;
                        else
                                ASSERT_EQ(r, 1);
                        present[i] = true;
                } else {
                        ASSERT_EQ(grants_remove(g, "d", &a, NULL), present[i]);
                        present[i] = false;
                }
        }
        for (unsigned i = 0, n = 0; i < 512; i++) {
                KnockAddr a = addr4(i);
                ASSERT_EQ(grants_get(g, "d", &a) != NULL, present[i]);
                n += present[i];
                if (i == 511)
                        ASSERT_EQ(grants_size(g), n);
        }
}

typedef struct SyncCase {
        uint64_t handle;        /* the handle of door ssh's set now */
        KnockAddr restored;     /* the one with 40 s left */
        unsigned n_restored;
} SyncCase;

/* The doors after a reload: "web" is gone; ssh's set has the case's handle. */
static GrantSetState set_state(const Grant *grant, void *userdata) {
        const SyncCase *c = userdata;

        if (streq(grant->door, "web"))
                return GRANT_SET_GONE;
        return grant->set_handle == c->handle ? GRANT_SET_SAME : GRANT_SET_RENEWED;
}

static void note_restore(const Grant *grant, uint64_t left_ms, void *userdata) {
        SyncCase *c = userdata;

        ASSERT_STREQ(grant->door, "ssh");
        ASSERT_TRUE(left_ms == 40000 || left_ms == 500);
        if (left_ms == 40000)
                c->restored = grant->addr;
        c->n_restored++;
}

/* The kernel holds b (unknown to the record), c (permanent) and e; the record holds a (not
 * in the kernel), a grant of the vanished door web, d (not in the kernel, about to expire)
 * and e (seen now in a set created anew). */
TEST(sync) {
        KnockAddr a = addr4(2), b = addr4(3), c = addr4(4), d = addr4(5), e = addr4(6);

        for (int renewed = 0; renewed <= 1; renewed++) {
                _cleanup_(grants_freep) Grants *g = NULL;
                _cleanup_(grants_sync_freep) GrantsSync *sync = NULL;
                uint64_t handle = renewed ? 8 : 7;
                SyncCase c = { .handle = handle };
                GrantsSyncResult result;

                ASSERT_OK(grants_new(8, &g));
                ASSERT_EQ(grants_put(g, "ssh", &a, 1000 + 40 * USEC_PER_SEC, 60000, 7), 1);
                ASSERT_EQ(grants_put(g, "web", &a, 5000, 60000, 7), 1);
                ASSERT_EQ(grants_put(g, "ssh", &d, 1000 + 500 * USEC_PER_MSEC, 60000, 7), 1);
                ASSERT_EQ(grants_put(g, "ssh", &e, 1000 + 50 * USEC_PER_SEC, 60000, 7), 1);
                ASSERT_OK(grants_sync_new(g, &sync));
                grants_sync_seen(sync, g, "ssh", &b, 30000, handle, 1000);
                grants_sync_seen(sync, g, "ssh", &c, 0, handle, 1000);
                grants_sync_seen(sync, g, "ssh", &e, 50000, handle, 1000);
                grants_sync_finish(sync, g, 1000, set_state, note_restore, &c, &result);

                ASSERT_EQ(result.adopted, 1);
                ASSERT_EQ(result.forgotten, 1);
                ASSERT_TRUE(grants_get(g, "web", &a) == NULL);
                ASSERT_EQ(grants_get(g, "ssh", &b)->expires, 1000 + 30000 * USEC_PER_MSEC);
                ASSERT_EQ(grants_get(g, "ssh", &b)->set_handle, handle);
                ASSERT_TRUE(grants_get(g, "ssh", &c) == NULL);   /* permanent: not ours to log */
                ASSERT_EQ(grants_get(g, "ssh", &e)->set_handle, handle);
                /* d expires within the slack: left for the expiry to be logged */
                ASSERT_TRUE(grants_get(g, "ssh", &d) != NULL);
                if (renewed) {
                        /* the set was created anew: a and d were lost by the reload, put
                         * them back with the time they have left */
                        ASSERT_EQ(result.restored, 2);
                        ASSERT_EQ(c.n_restored, 2);
                        ASSERT_EQ(result.dropped, 0);
                        ASSERT_TRUE(knock_addr_equal(&c.restored, &a));
                        ASSERT_TRUE(grants_get(g, "ssh", &a) != NULL);
                } else {
                        /* the same set: someone removed a, and the kernel is the authority */
                        ASSERT_EQ(result.restored, 0);
                        ASSERT_EQ(result.dropped, 1);
                        ASSERT_TRUE(grants_get(g, "ssh", &a) == NULL);
                }
        }
}

int main(void) {
        RUN(put_get_remove);
        RUN(expire);
        RUN(model);
        RUN(sync);
        return 0;
}
