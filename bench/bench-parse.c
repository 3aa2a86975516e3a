/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-parse — how many LOG lines a second the parser takes on one core.
 *
 * Builds one million realistic lines in memory in the rsyslog file form (RFC 3339 time,
 * host, "kernel:" tag, "[ secs]" stamp): varied sources, 5 % IPv6, TCP SYNs to the knock
 * ports 3721/4728/6742 and to other ports, SYN-ACKs, UDP and ICMP echo requests. Times
 * logline_parse() over all of them (SYSLOG and ANY forms) for several rounds and prints
 * the best and the median rate; then runs `knockwatch parse` (verb_parse) end to end on
 * the same lines from a memory file, output to /dev/null. Prints the machine first.
 *
 *   bench-parse [LINES] [ROUNDS]
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>

#include "fd-util.h"
#include "logline.h"
#include "time-util.h"
#include "verbs.h"

typedef struct Corpus {
        char *text;
        size_t size, used;
        uint32_t *offset;
        uint16_t *len;
        size_t n;
        size_t knocks;     /* what the generator meant to be knocks */
} Corpus;

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void) {
        /* xorshift64*: deterministic, so every run parses the same lines */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return (uint32_t) ((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

static void print_machine(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/cpuinfo", "re");
        char line[512], model[256] = "unknown";
        struct utsname u;

        while (f && fgets(line, sizeof(line), f)) {
                char *colon = strchr(line, ':');

                if (strncmp(line, "model name", 10) == 0 && colon) {
                        (void) snprintf(model, sizeof(model), "%s", colon + 2);
                        model[strcspn(model, "\n")] = 0;
                        break;
                }
        }
        if (uname(&u) < 0)
                abort();
        printf("machine: %s, %ld CPUs; kernel %s %s\n", model, sysconf(_SC_NPROCESSORS_ONLN),
               u.sysname, u.release);
}

static void add_line(Corpus *c, size_t i, uint32_t t) {
        static const uint16_t knock_ports[] = { 3721, 4728, 6742 };
        static const uint16_t other_ports[] = { 22, 80, 443, 3389, 8080, 23, 25, 5900 };
        char *p = c->text + c->used, src[64], dst[64], l3[160], l4[160];
        uint32_t kind = rnd() % 100, port;
        bool v6 = rnd() % 100 < 5, knock = false;
        int n;

        if (v6) {
                uint32_t a = rnd();
                (void) snprintf(src, sizeof(src), "2001:0db8:%04x:%04x:0000:0000:%04x:%04x",
                                a & 0xffff, a >> 16, rnd() & 0xffff, rnd() & 0xffff);
                (void) snprintf(dst, sizeof(dst), "2001:0db8:0000:0000:0000:0000:0000:0001");
        } else {
                uint32_t a = rnd();
                (void) snprintf(src, sizeof(src), "%u.%u.%u.%u", 1 + (a & 0xdf), (a >> 8) & 0xff,
                                (a >> 16) & 0xff, 1 + (a >> 24) % 254);
                (void) snprintf(dst, sizeof(dst), "192.0.2.1");
        }

        port = kind % 2 ? knock_ports[rnd() % 3] : other_ports[rnd() % 8];
        if (kind < 70) {              /* TCP SYN */
                (void) snprintf(l4, sizeof(l4),
                                "PROTO=TCP SPT=%u DPT=%u WINDOW=64240 RES=0x00 SYN URGP=0 ",
                                1024 + rnd() % 64000, port);
                knock = true;
        } else if (kind < 80)         /* SYN-ACK */
                (void) snprintf(l4, sizeof(l4),
                                "PROTO=TCP SPT=%u DPT=%u WINDOW=65160 RES=0x00 ACK SYN URGP=0 ",
                                port, 1024 + rnd() % 64000);
        else if (kind < 92) {         /* UDP */
                (void) snprintf(l4, sizeof(l4), "PROTO=UDP SPT=%u DPT=%u LEN=%u ",
                                1024 + rnd() % 64000, port, 8 + rnd() % 64);
                knock = true;
        } else {                      /* ICMP echo request */
                (void) snprintf(l4, sizeof(l4), "PROTO=%s TYPE=%u CODE=0 ID=%u SEQ=%u ",
                                v6 ? "ICMPv6" : "ICMP", v6 ? 128 : 8, rnd() % 65536, rnd() % 100);
                knock = true;
        }
        if (v6)
                (void) snprintf(l3, sizeof(l3), "LEN=%u TC=0 HOPLIMIT=64 FLOWLBL=%u ",
                                80 + rnd() % 100, rnd() % 1048576);
        else
                (void) snprintf(l3, sizeof(l3), "LEN=%u TOS=0x00 PREC=0x00 TTL=%u ID=%u DF ",
                                60 + rnd() % 100, 40 + rnd() % 24, rnd() % 65536);

        n = snprintf(p, c->size - c->used,
                     "2026-11-22T%02u:%02u:%02u.%06u+00:00 gateway kernel: [%5u.%06u] "
                     "PORT_KNOCKING IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:%s "
                     "SRC=%s DST=%s %s%s",
                     (t / 3600) % 24, (t / 60) % 60, t % 60, rnd() % 1000000, 1000 + t,
                     rnd() % 1000000, v6 ? "86:dd" : "08:00", src, dst, l3, l4);
        if (n < 0 || (size_t) n >= c->size - c->used || n > LOGLINE_LINE_MAX)
                abort();
        c->offset[i] = (uint32_t) c->used;
        c->len[i] = (uint16_t) n;
        c->used += (size_t) n + 1;
        p[n] = '\n';
        c->knocks += knock;
}

static void corpus_make(Corpus *c, size_t n) {
        *c = (Corpus) { .n = n, .size = n * 320 };
        c->text = malloc(c->size);
        c->offset = calloc(n, sizeof(uint32_t));
        c->len = calloc(n, sizeof(uint16_t));
        if (!c->text || !c->offset || !c->len || c->size > UINT32_MAX)
                abort();
        for (size_t i = 0; i < n; i++)
                add_line(c, i, (uint32_t) (i / 200));
}

static double now_s(void) {
        return (double) now_usec(CLOCK_MONOTONIC) / 1e6;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static void bench_parse(const Corpus *c, LoglineForm form, const char *name, unsigned rounds) {
        double rate[32];
        size_t knocks = 0;

        for (unsigned r = 0; r < rounds; r++) {
                double t0 = now_s();

                knocks = 0;
                for (size_t i = 0; i < c->n; i++) {
                        KnockEvent ev;

                        knocks += logline_parse(c->text + c->offset[i], c->len[i], form, &logline_prefixes_any, &ev, NULL) == 1;
                }
                rate[r] = (double) c->n / (now_s() - t0);
        }
        if (knocks != c->knocks) {
                fprintf(stderr, "parsed %zu knocks, generated %zu\n", knocks, c->knocks);
                exit(1);
        }
        qsort(rate, rounds, sizeof(rate[0]), cmp_double);
        printf("logline_parse (%s form): %zu lines x %u rounds: best %.2f M lines/s, median %.2f M lines/s"
               " (%.0f ns/line, %.0f MB/s)\n",
               name, c->n, rounds, rate[rounds - 1] / 1e6, rate[rounds / 2] / 1e6,
               1e9 / rate[rounds - 1], rate[rounds - 1] * (double) c->used / (double) c->n / 1e6);
}

/* `knockwatch parse FILE >/dev/null` on the same lines, from a memory file. */
static void bench_verb(const Corpus *c, unsigned rounds) {
        _cleanup_close_ int fd = -EBADF, null = -EBADF, saved = -EBADF;
        char path[64];
        double best = 0;

        fd = memfd_create("bench-parse", MFD_CLOEXEC);
        if (fd < 0)
                abort();
        for (size_t off = 0; off < c->used;) {
                ssize_t k = write(fd, c->text + off, c->used - off);
                if (k <= 0)
                        abort();
                off += (size_t) k;
        }
        (void) snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

        fflush(stdout);
        saved = dup(STDOUT_FILENO);
        null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (saved < 0 || null < 0 || dup2(null, STDOUT_FILENO) < 0)
                abort();
        for (unsigned r = 0; r < rounds; r++) {
                char *argv[] = { (char *) "parse", path, NULL };
                double t0 = now_s(), rate;

                if (verb_parse(2, argv) != 0)
                        abort();
                fflush(stdout);
                rate = (double) c->n / (now_s() - t0);
                best = MAX(best, rate);
        }
        if (dup2(saved, STDOUT_FILENO) < 0)
                abort();
        printf("knockwatch parse FILE >/dev/null: %zu lines (%.0f MB), best of %u: %.2f M lines/s\n",
               c->n, (double) c->used / 1e6, rounds, best / 1e6);
}

int main(int argc, char *argv[]) {
        size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
        unsigned rounds = argc > 2 ? (unsigned) strtoul(argv[2], NULL, 10) : 7;
        Corpus c;

        if (n == 0 || rounds == 0 || rounds > 32) {
                fprintf(stderr, "usage: bench-parse [LINES] [ROUNDS (1-32)]\n");
                return 2;
        }
        print_machine();
        corpus_make(&c, n);
        printf("corpus: %zu rsyslog-form lines, %.1f bytes/line on average, %zu knocks\n", c.n,
               (double) c.used / (double) c.n, c.knocks);
        bench_parse(&c, LOGLINE_FORM_SYSLOG, "syslog", rounds);
        bench_parse(&c, LOGLINE_FORM_ANY, "any", rounds);
        bench_verb(&c, MIN(rounds, 3U));
        free(c.text);
        free(c.offset);
        free(c.len);
        return 0;
}
