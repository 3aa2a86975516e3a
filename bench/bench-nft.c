/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-nft.c — how long nft_commit() takes for one grant (one add: the three messages
 * NEWSETELEM, DELSETELEM, NEWSETELEM in one batch, up to the last ACK) and for a batch
 * of 64 grants, measured on CLOCK_MONOTONIC around nft_commit() alone (queueing is a
 * memcpy). Prints median, p99 and max in µs, and the machine it ran on.
 *
 *   bench-nft [ITERATIONS]     in a namespace whose ruleset has table inet kwbench
 *                              with sets allow4 (ipv4_addr) and allow6 (ipv6_addr),
 *                              both "flags timeout" — bench-nft.sh sets that up.
 *
 * After the first round every grant is a refresh of an element that is there, which is
 * the common case of a daemon under a knock flood; the first round creates them.
 */
#include <sys/utsname.h>

#include "fd-util.h"
#include "nft.h"
#include "string-util.h"
#include "time-util.h"

#define BATCH 64

static void on_result(uintptr_t cookie, int error, void *userdata) {
        unsigned *failed = userdata;

        if (error < 0) {
                if (*failed == 0)
                        fprintf(stderr, "bench-nft: grant %ju failed: %s\n", (uintmax_t) cookie, strerror(-error));
                (*failed)++;
        }
}

static int cmp_usec(const void *a, const void *b) {
        usec_t x = *(const usec_t *) a, y = *(const usec_t *) b;

        return x < y ? -1 : x > y;
}

static void report(const char *what, usec_t *t, size_t n) {
        qsort(t, n, sizeof(*t), cmp_usec);
        printf("%-28s n=%zu  median %4ju µs  p99 %4ju µs  max %5ju µs\n", what, n,
               (uintmax_t) t[n / 2], (uintmax_t) t[(n * 99 + 99) / 100 - 1], (uintmax_t) t[n - 1]);
}

static void print_machine(void) {
        _cleanup_fclose_ FILE *f = NULL;
        char line[512], cpu[256] = "unknown";
        struct utsname u;
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);

        f = fopen("/proc/cpuinfo", "re");
        while (f && fgets(line, sizeof(line), f)) {
                const char *v = startswith(line, "model name");

                if (v && (v = strchr(v, ':'))) {
                        (void) snprintf(cpu, sizeof(cpu), "%s", v + 1 + strspn(v + 1, " \t"));
                        cpu[strcspn(cpu, "\n")] = 0;
                        break;
                }
        }
        if (uname(&u) < 0)
                abort();
        printf("machine: %s, %ld CPUs; kernel %s %s %s\n", cpu, cpus, u.sysname, u.release, u.machine);
}

/* One commit of the grants queued by fill(); returns its duration. */
static usec_t timed_commit(Nft *n, unsigned *failed) {
        usec_t t0, t1;
        int r;

        t0 = now_usec(CLOCK_MONOTONIC);
        r = nft_commit(n, on_result, failed);
        t1 = now_usec(CLOCK_MONOTONIC);
        if (r < 0) {
                fprintf(stderr, "bench-nft: commit: %s\n", strerror(-r));
                exit(EXIT_FAILURE);
        }
        return t1 - t0;
}

static void queue_grant(Nft *n, const NftTable *t, const KnockAddr *a, uintptr_t cookie) {
        int r = nft_queue_add(n, t, a->family == AF_INET ? "allow4" : "allow6", a, 60000, cookie);

        if (r < 0) {
                fprintf(stderr, "bench-nft: queue: %s\n", strerror(-r));
                exit(EXIT_FAILURE);
        }
}

int main(int argc, char *argv[]) {
        _cleanup_(nft_freep) Nft *n = NULL;
        _cleanup_free_ usec_t *one = NULL, *batch = NULL;
        KnockAddr addrs[BATCH];
        unsigned failed = 0;
        size_t iterations = 1000;
        NftTable t;
        int r;

        if (argc > 1) {
                char *end;
                unsigned long v = strtoul(argv[1], &end, 10);

                if (*end || v == 0 || v > 1000000) {
                        fprintf(stderr, "usage: %s [ITERATIONS]\n", argv[0]);
                        return 64;
                }
                iterations = v;
        }
        one = calloc(iterations, sizeof(usec_t));
        batch = calloc(iterations, sizeof(usec_t));
        if (!one || !batch)
                return EXIT_FAILURE;

        /* Half IPv4, half IPv6; documentation ranges, set elements only. */
        for (unsigned i = 0; i < BATCH; i++) {
                char s[64];

                if (i % 2 == 0)
                        (void) snprintf(s, sizeof(s), "198.51.100.%u", i + 1);
                else
                        (void) snprintf(s, sizeof(s), "2001:db8:be::%x", i + 1);
                if (knock_addr_parse(s, &addrs[i]) < 0)
                        abort();
        }

        if (nft_table_parse("inet:kwbench", &t) < 0)
                abort();
        r = nft_open(&n);
        if (r < 0) {
                fprintf(stderr, "bench-nft: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        print_machine();
        /* Warm up caches and create the elements. */
        for (unsigned i = 0; i < 50; i++) {
                queue_grant(n, &t, &addrs[i % BATCH], 0);
                (void) timed_commit(n, &failed);
        }
        for (size_t i = 0; i < iterations; i++) {
                queue_grant(n, &t, &addrs[i % BATCH], i);
                one[i] = timed_commit(n, &failed);
        }
        for (size_t i = 0; i < iterations; i++) {
                for (unsigned j = 0; j < BATCH; j++)
                        queue_grant(n, &t, &addrs[j], j);
                batch[i] = timed_commit(n, &failed);
        }
        if (failed > 0) {
                fprintf(stderr, "bench-nft: %u grants failed\n", failed);
                return EXIT_FAILURE;
        }
        report("commit, 1 grant (3 msgs)", one, iterations);
        report("commit, 64 grants (192 msgs)", batch, iterations);
        return 0;
}
