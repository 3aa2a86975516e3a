/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-detector.c — throughput and memory of the detector.
 *   (a) one legitimate source knocking a three-step door over and over;
 *   (b) a flood of 10 M spoofed IPv4 sources, each knocking the first step once, over a
 *       table of the default capacity: every knock past the first 65536 creates a pair and
 *       evicts the least recently used one, the detector's worst case;
 *   (c) the same flood from IPv6 sources on a step that is not the first: looked up,
 *       found nowhere, dropped (what most junk costs).
 * Prints events per second, the table's memory and the machine. Usage: bench-detector [N]
 */
#include <errno.h>
#include <sys/utsname.h>

#include "detector-internal.h"
#include "fd-util.h"
#include "string-util.h"
#include "time-util.h"

#define DEFAULT_EVENTS 10000000ULL

static void print_machine(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/cpuinfo", "re");
        char line[512], model[256] = "unknown";
        struct utsname u;
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);

        while (f && fgets(line, sizeof(line), f)) {
                const char *p = startswith(line, "model name");

                if (p && (p = strchr(p, ':'))) {
                        snprintf(model, sizeof(model), "%s", p + 2);
                        model[strcspn(model, "\n")] = 0;
                        break;
                }
        }
        if (uname(&u) < 0)
                snprintf(u.release, sizeof(u.release), "unknown");
        printf("machine: %s, %ld CPUs, kernel %s %s\n", model, cpus, u.release, u.machine);
}

static Door ssh_door(void) {
        DoorSyntaxError error;
        Door d = {};

        if (door_comment_parse("knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 10s",
                               &d.spec, &error) != 1)
                abort();
        return d;
}

static double seconds_since(usec_t start) {
        return (double) (now_usec(CLOCK_MONOTONIC) - start) / USEC_PER_SEC;
}

static void report(const char *what, unsigned long long n, double secs, const Detector *d) {
        DetectorStats st;

        detector_get_stats(d, &st);
        printf("%-44s %12.0f events/s  (%llu events in %.3f s; %llu completed, %llu evictions, "
               "%zu in progress)\n", what, n / secs, n, secs, (unsigned long long) st.completed,
               (unsigned long long) st.evictions, st.in_progress);
}

static int bench_legitimate(const Door *door, unsigned long long n) {
        _cleanup_(detector_freep) Detector *d = NULL;
        KnockEvent e = { .src = { .family = AF_INET, .bytes = { 192, 0, 2, 2 } } };
        static const uint16_t ports[] = { 3721, 4728, 6742 };
        DetectorAction a[2];
        usec_t start, now = 1000 * USEC_PER_SEC;
        size_t opened = 0;
        int r;

        r = detector_new(DETECTOR_CAPACITY_DEFAULT, &d);
        if (r < 0 || (r = detector_set_doors(d, door, 1)) < 0)
                return r;

        start = now_usec(CLOCK_MONOTONIC);
        for (unsigned long long i = 0; i < n; i++) {
                e.step = (KnockStep) { KNOCK_PROTO_TCP, ports[i % 3] };
                e.time = now += 1000;
                opened += detector_feed(d, &e, now, a, ELEMENTSOF(a));
        }
        report("(a) one legitimate source", n, seconds_since(start), d);
        return opened == n / 3 ? 0 : -EBADMSG;
}

static int bench_flood(const Door *door, unsigned long long n, bool ipv6) {
        _cleanup_(detector_freep) Detector *d = NULL;
        KnockEvent e = {
                .src.family = ipv6 ? AF_INET6 : AF_INET,
                .step = { KNOCK_PROTO_TCP, ipv6 ? 4728 : 3721 },
        };
        DetectorAction a[2];
        usec_t start, now = 1000 * USEC_PER_SEC;
        int r;

        r = detector_new(DETECTOR_CAPACITY_DEFAULT, &d);
        if (r < 0 || (r = detector_set_doors(d, door, 1)) < 0)
                return r;

        if (ipv6)
                memcpy(e.src.bytes, "\x20\x01\x0d\xb8", 4);
        start = now_usec(CLOCK_MONOTONIC);
        for (unsigned long long i = 0; i < n; i++) {
                /* 10.0.0.0/8 (or 2001:db8::/96) counted up: a new source every knock */
                e.src.bytes[ipv6 ? 13 : 1] = (uint8_t) (i >> 16);
                e.src.bytes[ipv6 ? 14 : 2] = (uint8_t) (i >> 8);
                e.src.bytes[ipv6 ? 15 : 3] = (uint8_t) i;
                if (!ipv6)
                        e.src.bytes[0] = (uint8_t) (10 + (i >> 24));
                e.time = now += 1;
                (void) detector_feed(d, &e, now, a, ELEMENTSOF(a));
        }
        report(ipv6 ? "(c) spoofed IPv6 flood on a later step" :
                      "(b) spoofed IPv4 flood on the first step", n, seconds_since(start), d);
        return 0;
}

int main(int argc, char *argv[]) {
        unsigned long long n = argc > 1 ? strtoull(argv[1], NULL, 10) : DEFAULT_EVENTS;
        _cleanup_(detector_freep) Detector *d = NULL;
        Door door = ssh_door();
        DetectorMemory m;
        int r;

        if (n == 0)
                n = DEFAULT_EVENTS;
        print_machine();
        r = detector_new(DETECTOR_CAPACITY_DEFAULT, &d);
        if (r < 0) {
                fprintf(stderr, "detector_new: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        detector_get_memory(d, &m);
        printf("capacity %u pairs: %zu B per entry, entries %zu B (%.1f MiB), table %zu slots, "
               "%zu B (%.1f MiB); one allocation of %zu B (%.1f MiB)\n",
               DETECTOR_CAPACITY_DEFAULT, m.entry_size, m.entries_bytes, m.entries_bytes / 1048576.0,
               m.n_slots, m.table_bytes, m.table_bytes / 1048576.0, m.total_bytes,
               m.total_bytes / 1048576.0);

        r = bench_legitimate(&door, n);
        if (r >= 0)
                r = bench_flood(&door, n, false);
        if (r >= 0)
                r = bench_flood(&door, n, true);
        if (r < 0) {
                fprintf(stderr, "benchmark failed: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
