/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * knock-timer — bench-latency's client: knock COUNT times on HOST and, for each knock,
 * take CLOCK_MONOTONIC right before the connect() that sends the last SYN, then wait for
 * knockwatch's debug line about the commit of that grant
 *
 *   knockwatch: latency: ADDR DOOR: logged at T_LOG, read at T_READ, committed at
 *               T_COMMIT: N us from read to commit
 *
 * in the daemon's log file, and print one record per knock on stdout:
 *
 *   ADDR T_SEND T_LOG T_READ T_COMMIT N        (all CLOCK_MONOTONIC µs)
 *
 *   knock-timer [OPTIONS] LOGFILE HOST PORT[,PORT...] FROM[,FROM...]
 *     --count=N        knocks measured (default 100, at most 100000)
 *     --warmup=N       knocks sent and waited for first, not printed (default 3)
 *     --step-ms=MS     pause between two SYNs of one knock (default 20)
 *     --gap-ms=MS      pause after a commit before the next knock: MS plus a random
 *                      0…MS more, so that sends fall anywhere between timer ticks
 *                      (default 50)
 *     --timeout-ms=MS  how long to wait for one knock's commit (default 5000)
 *     --deadline-s=S   stop, and fail, after S seconds in all (default 600)
 *
 * Knock i goes from FROM number i modulo their count, so several addresses take turns.
 * Run it in the client's network namespace: it binds each socket to FROM. All network
 * namespaces share CLOCK_MONOTONIC, so T_SEND compares with the daemon's times.
 * Between a send and its commit this program only sleeps and polls the log file every
 * POLL_USEC (no inotify, which would wake it from inside the daemon's writes).
 * Exit status: 0 all knocks measured; 1 a knock's commit never showed, or the deadline
 * passed; 64 bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "fd-util.h"
#include "macro.h"
#include "parse-util.h"
#include "time-util.h"

#define ADDRS_MAX 16
#define PORTS_MAX 16
#define COUNT_MAX 100000U
#define LOG_LINE_MAX 4096
#define POLL_USEC (2 * USEC_PER_MSEC)

typedef struct Addr {
        int family;
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        } sa;
        socklen_t len;
        char text[INET6_ADDRSTRLEN];
} Addr;

typedef struct Options {
        unsigned count;
        unsigned warmup;
        usec_t step;
        usec_t gap;
        usec_t timeout;
        usec_t deadline;
        const char *log_path;
        Addr host;
        uint16_t ports[PORTS_MAX];
        size_t n_ports;
        Addr froms[ADDRS_MAX];
        size_t n_froms;
} Options;

/* The daemon's log, read as it grows; a line is handled only once it is complete. */
typedef struct LogTail {
        int fd;
        char buf[LOG_LINE_MAX];
        size_t len;
        bool skipping;   /* in a line longer than buf: drop it up to its end */
} LogTail;

typedef struct Commit {
        usec_t logged;
        usec_t read;
        usec_t committed;
        usec_t share;
} Commit;

static int parse_addr(const char *s, uint16_t port, Addr *ret) {
        Addr a = {};

        if (inet_pton(AF_INET, s, &a.sa.in.sin_addr) == 1) {
                a.family = a.sa.in.sin_family = AF_INET;
                a.sa.in.sin_port = htons(port);
                a.len = sizeof(a.sa.in);
        } else if (inet_pton(AF_INET6, s, &a.sa.in6.sin6_addr) == 1) {
                a.family = a.sa.in6.sin6_family = AF_INET6;
                a.sa.in6.sin6_port = htons(port);
                a.len = sizeof(a.sa.in6);
        } else
                return -EINVAL;
        /* The daemon prints addresses in this same canonical form. */
        if (!inet_ntop(a.family, a.family == AF_INET ? (const void *) &a.sa.in.sin_addr
                                                     : (const void *) &a.sa.in6.sin6_addr,
                       a.text, sizeof(a.text)))
                return -errno;
        *ret = a;
        return 0;
}

/* A command-line number from min to max (parse-util.h's strict decimal). */
static int parse_number(const char *s, unsigned min, unsigned max, unsigned *ret) {
        uint64_t v;

        if (parse_uint(s, strlen(s), max, &v) < 0 || v < min)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

/* "a,b,c" into at most max pieces, each handed to fn. */
static int split_list(const char *list, size_t max, int (*fn)(const char *item, size_t i, void *userdata),
                      void *userdata, size_t *ret_n) {
        char item[INET6_ADDRSTRLEN + 8];
        size_t n = 0;

        for (const char *p = list;; ) {
                size_t l = strcspn(p, ",");
                int r;

                if (l == 0 || l >= sizeof(item) || n >= max)
                        return -EINVAL;
                memcpy(item, p, l);
                item[l] = 0;
                r = fn(item, n++, userdata);
                if (r < 0)
                        return r;
                if (!p[l])
                        break;
                p += l + 1;
        }
        *ret_n = n;
        return 0;
}

static int add_port(const char *item, size_t i, void *userdata) {
        Options *o = userdata;
        unsigned v;
        int r = parse_number(item, 1, 65535, &v);

        if (r < 0)
                return r;
        o->ports[i] = (uint16_t) v;
        return 0;
}

static int add_from(const char *item, size_t i, void *userdata) {
        Options *o = userdata;

        return parse_addr(item, 0, &o->froms[i]);
}

/* One SYN from `from` to host:port; the socket is closed at once, which cancels nothing
 * already sent and leaves no retransmission. If ret_sent, the time right before connect(). */
static int send_syn(const Addr *from, const Addr *host, uint16_t port, usec_t *ret_sent) {
        _cleanup_close_ int fd = -EBADF;
        Addr to = *host;
        usec_t t;

        if (to.family == AF_INET)
                to.sa.in.sin_port = htons(port);
        else
                to.sa.in6.sin6_port = htons(port);
        fd = socket(to.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (fd < 0)
                return -errno;
        if (bind(fd, &from->sa.sa, from->len) < 0)
                return -errno;
        t = now_usec(CLOCK_MONOTONIC);
        if (connect(fd, &to.sa.sa, to.len) < 0 && errno != EINPROGRESS)
                return -errno;
        if (ret_sent)
                *ret_sent = t;
        return 0;
}

static int knock(const Options *o, const Addr *from, usec_t *ret_sent) {
        usec_t sent = 0;

        for (size_t i = 0; i < o->n_ports; i++) {
                bool last = i + 1 == o->n_ports;
                int r;

                if (i > 0 && o->step > 0)
                        (void) sleep_usec(o->step);
                r = send_syn(from, &o->host, o->ports[i], last ? &sent : NULL);
                if (r < 0)
                        return r;
        }
        *ret_sent = sent;
        return 0;
}

/* A latency line for addr, read no earlier than sent? */
static bool match_line(const char *line, const Addr *addr, usec_t sent, Commit *ret) {
        unsigned long long logged, read, committed, share;
        const char *p = strstr(line, "knockwatch: latency: ");
        size_t l = strlen(addr->text);

        if (!p)
                return false;
        p += strlen("knockwatch: latency: ");
        if (strncmp(p, addr->text, l) != 0 || p[l] != ' ')
                return false;
        p = strstr(p + l, ": logged at ");
        if (!p || sscanf(p, ": logged at %llu, read at %llu, committed at %llu: %llu us from read to commit",
                         &logged, &read, &committed, &share) != 4)
                return false;
        if (read < sent)
                return false; /* an earlier knock's */
        *ret = (Commit) { .logged = logged, .read = read, .committed = committed, .share = share };
        return true;
}

/* Consume what the log gained since the last call. 1 and *ret if the line was there. */
static int tail_find(LogTail *t, const Addr *addr, usec_t sent, Commit *ret) {
        bool found = false;

        for (;;) {
                ssize_t n = read(t->fd, t->buf + t->len, sizeof(t->buf) - 1 - t->len);
                char *start, *nl;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return found;
                t->len += (size_t) n;
                start = t->buf;
                while ((nl = memchr(start, '\n', t->len - (size_t) (start - t->buf)))) {
                        *nl = 0;
                        if (!t->skipping && !found && match_line(start, addr, sent, ret))
                                found = true;
                        t->skipping = false;
                        start = nl + 1;
                }
                t->len -= (size_t) (start - t->buf);
                memmove(t->buf, start, t->len);
                if (t->len == sizeof(t->buf) - 1) {
                        t->skipping = true;
                        t->len = 0;
                }
        }
}

static int wait_commit(const Options *o, LogTail *t, const Addr *addr, usec_t sent, usec_t end,
                       Commit *ret) {
        for (;;) {
                int r = tail_find(t, addr, sent, ret);

                if (r != 0)
                        return r;
                if (now_usec(CLOCK_MONOTONIC) >= end)
                        return -ETIME;
                (void) sleep_usec(POLL_USEC);
        }
}

static usec_t random_below(usec_t max) {
        uint64_t v = 0;

        if (max == 0)
                return 0;
        if (getrandom(&v, sizeof(v), 0) != sizeof(v))
                v = now_usec(CLOCK_MONOTONIC) * 2654435761U;
        return v % max;
}

static int run(const Options *o) {
        LogTail t = { .fd = -EBADF };
        usec_t start = now_usec(CLOCK_MONOTONIC);
        unsigned total = o->warmup + o->count;
        int r = 0;

        t.fd = open(o->log_path, O_RDONLY | O_CLOEXEC);
        if (t.fd < 0) {
                fprintf(stderr, "knock-timer: %s: %m\n", o->log_path);
                return 1;
        }
        /* Only lines written from now on. */
        if (lseek(t.fd, 0, SEEK_END) < 0) {
                fprintf(stderr, "knock-timer: %s: %m\n", o->log_path);
                r = 1;
                goto finish;
        }

        for (unsigned i = 0; i < total; i++) {
                const Addr *from = &o->froms[i % o->n_froms];
                usec_t sent, end;
                Commit c = {};

                if (now_usec(CLOCK_MONOTONIC) - start >= o->deadline) {
                        fprintf(stderr, "knock-timer: deadline passed after %u of %u knocks\n", i, total);
                        r = 1;
                        break;
                }
                r = knock(o, from, &sent);
                if (r < 0) {
                        fprintf(stderr, "knock-timer: knock %u from %s: %s\n", i, from->text, strerror(-r));
                        r = 1;
                        break;
                }
                end = MIN(sent + o->timeout, start + o->deadline);
                r = wait_commit(o, &t, from, sent, end, &c);
                if (r < 0) {
                        fprintf(stderr, "knock-timer: knock %u from %s: %s\n", i, from->text,
                                r == -ETIME ? "no commit line in time" : strerror(-r));
                        r = 1;
                        break;
                }
                r = 0;
                if (i >= o->warmup) {
                        printf("%s %llu %llu %llu %llu %llu\n", from->text, (unsigned long long) sent,
                               (unsigned long long) c.logged, (unsigned long long) c.read,
                               (unsigned long long) c.committed, (unsigned long long) c.share);
                        (void) fflush(stdout);
                }
                if (i + 1 < total)
                        (void) sleep_usec(o->gap + random_below(o->gap + 1));
        }
finish:
        (void) safe_close(t.fd);
        return r;
}

static int usage(void) {
        fprintf(stderr, "usage: knock-timer [--count=N] [--warmup=N] [--step-ms=MS] [--gap-ms=MS] "
                        "[--timeout-ms=MS] [--deadline-s=S] LOGFILE HOST PORT[,PORT...] FROM[,FROM...]\n");
        return 64;
}

int main(int argc, char *argv[]) {
        static const struct option longopts[] = {
                { "count",      required_argument, NULL, 'c' },
                { "warmup",     required_argument, NULL, 'w' },
                { "step-ms",    required_argument, NULL, 's' },
                { "gap-ms",     required_argument, NULL, 'g' },
                { "timeout-ms", required_argument, NULL, 't' },
                { "deadline-s", required_argument, NULL, 'd' },
                {}
        };
        Options o = { .count = 100, .warmup = 3 };
        unsigned step = 20, gap = 50, timeout = 5000, deadline = 600;
        int c;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) >= 0) {
                int r;

                switch (c) {
                case 'c': r = parse_number(optarg, 1, COUNT_MAX, &o.count); break;
                case 'w': r = parse_number(optarg, 0, 1000, &o.warmup); break;
                case 's': r = parse_number(optarg, 0, 10000, &step); break;
                case 'g': r = parse_number(optarg, 0, 60000, &gap); break;
                case 't': r = parse_number(optarg, 1, 600000, &timeout); break;
                case 'd': r = parse_number(optarg, 1, 86400, &deadline); break;
                default: return usage();
                }
                if (r < 0) {
                        fprintf(stderr, "knock-timer: bad value '%s'\n", optarg);
                        return 64;
                }
        }
        if (argc - optind != 4)
                return usage();
        o.log_path = argv[optind];
        o.step = step * USEC_PER_MSEC;
        o.gap = gap * USEC_PER_MSEC;
        o.timeout = timeout * USEC_PER_MSEC;
        o.deadline = deadline * USEC_PER_SEC;
        if (parse_addr(argv[optind + 1], 0, &o.host) < 0 ||
            split_list(argv[optind + 2], PORTS_MAX, add_port, &o, &o.n_ports) < 0 ||
            split_list(argv[optind + 3], ADDRS_MAX, add_from, &o, &o.n_froms) < 0)
                return usage();
        for (size_t i = 0; i < o.n_froms; i++)
                if (o.froms[i].family != o.host.family) {
                        fprintf(stderr, "knock-timer: %s and %s are not of one family\n",
                                o.froms[i].text, o.host.text);
                        return 64;
                }
        return run(&o);
}
