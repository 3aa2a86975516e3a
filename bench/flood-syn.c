/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * flood-syn — bench-flood's attacker: a bounded flood of spoofed TCP SYNs, the "standard
 * spoofed-SYN flood" of issue 10, written as hand-built Ethernet frames to one veth
 * through an AF_PACKET socket (PACKET_QDISC_BYPASS, sendmmsg in batches). Every frame
 * comes from a random source in 198.18.0.0/15 (RFC 2544, the benchmark range) with a
 * random source port, sequence number and IP id, patched into one pre-built frame with
 * the two checksums updated from precomputed sums.
 *
 *   flood-syn --rate=PPS [OPTIONS] IFNAME DSTMAC DST
 *       --rate=PPS        frames offered per second, 1…250000 (required)
 *       --seconds=S       stop after S seconds, 1…60 (default 10)
 *       --count=N         stop after N frames, 1…15000000 (default PPS × S)
 *       --ports=P[,P...]  "aimed": the destination ports in turn (round robin), at most 512
 *       --range=LO-HI     "spread": a random destination port in LO…HI for every frame
 *       --batch=N         frames per sendmmsg(), 1…256 (default 64)
 *   Exactly one of --ports and --range. DSTMAC is the receiving interface's (unicast).
 *
 * Hard limits, so that it can be nothing but a benchmark's flood: DST lies in a
 * documentation range (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24); the sources are
 * always 198.18.0.0/15; IFNAME must be a veth, and the program refuses to run in a
 * network namespace with any interface but the loopback and veths (the host's has its
 * network card; where /proc/1/ns/net can be read, PID 1's namespace is refused as well),
 * so frames only ever reach the peer of a veth that a benchmark made between namespaces
 * of its own; rate, count and time are capped as above.
 *
 * Pacing: before each batch it sleeps until the batch is due (frame i at start + i/PPS),
 * so the flood never runs ahead of PPS; a rate the machine cannot keep shows as a lower
 * achieved rate.
 * A frame the veth refuses (its peer's backlog full: ENOBUFS) is counted as dropped and
 * not sent again. At the end it prints one line:
 *
 *   flood-syn: offered=N sent=N dropped=N seconds=S.SSSSSS pps=R asked=PPS batches=N
 *              user=S.SSSSSS sys=S.SSSSSS
 *
 * offered = sent + dropped; pps = sent / seconds, the rate that really left: seconds is
 * offered/PPS when every batch left on time, else from the first send to the end of the
 * last; user and sys are its own CPU time (getrusage). On a veth without RPS the
 * receiver's whole path (netfilter, a log rule's printk) runs on the sender's CPU right
 * after each send, and shows in sys. Exit status: 0 done, 1 a system call failed,
 * 2 usage or a refused address or interface.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "parse-util.h"
#include "time-util.h"

#include "../test/inet-csum.h"

#define RATE_MAX 250000U
#define SECONDS_MAX 60U
#define COUNT_MAX ((uint64_t) RATE_MAX * SECONDS_MAX)
#define PORTS_MAX 512
#define BATCH_MAX 256U

/* 198.18.0.0/15 */
#define SRC_NET 0xc6120000U
#define SRC_MASK 0x0001ffffU

#define ETH_HLEN_ 14
#define IP_HLEN 20
#define TCP_HLEN 20
#define FRAME_LEN (ETH_HLEN_ + IP_HLEN + TCP_HLEN)

typedef struct Options {
        unsigned rate;
        unsigned seconds;
        uint64_t count;
        unsigned batch;
        uint16_t ports[PORTS_MAX];
        size_t n_ports;
        uint16_t lo, hi;     /* spread, when n_ports == 0 */
        const char *ifname;
        uint8_t dst_mac[6];
        struct in_addr dst;
} Options;

/* The fixed part of every frame and the checksum sums of everything that does not change
 * from frame to frame (the variable fields are zero in the template). */
typedef struct Template {
        uint8_t frame[FRAME_LEN];
        uint32_t ip_sum;
        uint32_t tcp_sum;
} Template;

/* A fast non-cryptographic generator (xorshift64*): a benchmark's spoofed sources need to
 * be spread, not secret. */
static uint64_t rng_next(uint64_t *s) {
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        return *s * UINT64_C(2685821657736338717);
}

static void template_build(Template *t, const Options *o, const uint8_t src_mac[6]) {
        uint8_t *ip = t->frame + ETH_HLEN_, *tcp = ip + IP_HLEN, pseudo[12] = {};

        memset(t->frame, 0, sizeof(t->frame));
        memcpy(t->frame, o->dst_mac, 6);
        memcpy(t->frame + 6, src_mac, 6);
        put16(t->frame + 12, ETH_P_IP);

        ip[0] = 0x45;                   /* version 4, 5 words */
        put16(ip + 2, IP_HLEN + TCP_HLEN);
        put16(ip + 6, 0x4000);          /* DF */
        ip[8] = 64;                     /* TTL */
        ip[9] = IPPROTO_TCP;
        memcpy(ip + 16, &o->dst, 4);    /* source (12), id (4), checksum (10): per frame */
        t->ip_sum = csum_add(0, ip, IP_HLEN);

        tcp[12] = 5 << 4;               /* data offset: 5 words; ports, seq, checksum per frame */
        tcp[13] = 0x02;                 /* SYN */
        put16(tcp + 14, 64240);         /* window */
        memcpy(pseudo + 4, &o->dst, 4); /* the pseudo-header without the source */
        pseudo[9] = IPPROTO_TCP;
        put16(pseudo + 10, TCP_HLEN);
        t->tcp_sum = csum_add(csum_add(0, pseudo, sizeof(pseudo)), tcp, TCP_HLEN);
}

/* Frame into buf: the template with source, id, ports, sequence and both checksums. */
static void frame_fill(uint8_t *buf, const Template *t, uint32_t src, uint16_t id, uint16_t sport,
                       uint16_t dport, uint32_t seq) {
        uint8_t *ip = buf + ETH_HLEN_, *tcp = ip + IP_HLEN;
        uint32_t var = (src >> 16) + (src & 0xffff);

        memcpy(buf, t->frame, FRAME_LEN);
        put16(ip + 4, id);
        put16(ip + 12, (uint16_t) (src >> 16));
        put16(ip + 14, (uint16_t) src);
        put16(ip + 10, csum_fold(t->ip_sum + var + id));
        put16(tcp, sport);
        put16(tcp + 2, dport);
        put16(tcp + 4, (uint16_t) (seq >> 16));
        put16(tcp + 6, (uint16_t) seq);
        put16(tcp + 16, csum_fold(t->tcp_sum + var + sport + dport + (seq >> 16) + (seq & 0xffff)));
}

/* A command-line number from min to max (parse-util.h's strict decimal). */
static int parse_number(const char *s, size_t n, uint64_t min, uint64_t max, uint64_t *ret) {
        uint64_t v;

        if (parse_uint(s, n, max, &v) < 0 || v < min)
                return -ERANGE;
        *ret = v;
        return 0;
}

static int parse_ports(const char *s, Options *o) {
        size_t n = 0;

        for (const char *p = s;; ) {
                size_t l = strcspn(p, ",");
                uint64_t v;

                if (n >= PORTS_MAX || parse_number(p, l, 1, 65535, &v) < 0)
                        return -EINVAL;
                o->ports[n++] = (uint16_t) v;
                if (!p[l])
                        break;
                p += l + 1;
        }
        o->n_ports = n;
        return 0;
}

static int parse_range(const char *s, Options *o) {
        const char *dash = strchr(s, '-');
        uint64_t lo, hi;

        if (!dash || parse_number(s, (size_t) (dash - s), 1, 65535, &lo) < 0 ||
            parse_number(dash + 1, strlen(dash + 1), 1, 65535, &hi) < 0 || hi < lo)
                return -EINVAL;
        o->lo = (uint16_t) lo;
        o->hi = (uint16_t) hi;
        return 0;
}

static int parse_mac(const char *s, uint8_t ret[static 6]) {
        unsigned v[6];
        char tail;

        if (strlen(s) != 17 ||
            sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
                return -EINVAL;
        for (int i = 0; i < 6; i++)
                ret[i] = (uint8_t) v[i];
        return (ret[0] & 1) ? -EINVAL : 0;   /* unicast only: no broadcast floods */
}

/* A documentation range (RFC 5737). */
static bool dst_allowed(struct in_addr a) {
        uint32_t v = ntohl(a.s_addr);

        return (v & 0xffffff00U) == 0xc0000200U ||   /* 192.0.2.0/24 */
               (v & 0xffffff00U) == 0xc6336400U ||   /* 198.51.100.0/24 */
               (v & 0xffffff00U) == 0xcb007100U;     /* 203.0.113.0/24 */
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct if_nameindex *, if_freenameindex);

/* The driver of interface ifname as ethtool reports it ("veth", "virtio_net", …). */
static int interface_driver(int fd, const char *ifname, char ret[static 32]) {
        struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
        struct ifreq ifr = {};

        if (strlen(ifname) >= IFNAMSIZ)
                return -EINVAL;
        strcpy(ifr.ifr_name, ifname);
        ifr.ifr_data = (void *) &info;
        if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
                return -errno;
        memcpy(ret, info.driver, 32);
        ret[31] = 0;
        return 0;
}

/* Not in the host's network namespace: where PID 1's can be read, ours must differ from
 * it; and every interface here must be the loopback or a veth (the host has its real
 * network card). -EPERM if either fails or cannot be told. */
static int check_netns(int fd) {
        _cleanup_(if_freenameindexp) struct if_nameindex *names = NULL;
        struct stat self, init;

        if (stat("/proc/self/ns/net", &self) < 0)
                return -EPERM;
        if (stat("/proc/1/ns/net", &init) == 0 && self.st_dev == init.st_dev && self.st_ino == init.st_ino)
                return -EPERM;
        names = if_nameindex();
        if (!names)
                return -EPERM;
        for (struct if_nameindex *n = names; n->if_index != 0; n++) {
                struct ifreq ifr = {};
                char driver[32];

                if (strlen(n->if_name) >= IFNAMSIZ)
                        return -EPERM;
                strcpy(ifr.ifr_name, n->if_name);
                if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                        return -EPERM;
                if (ifr.ifr_flags & IFF_LOOPBACK)
                        continue;
                if (interface_driver(fd, n->if_name, driver) < 0 || strcmp(driver, "veth") != 0)
                        return -EPERM;
        }
        return 0;
}

/* The interface is a veth, and its index and MAC. */
static int check_interface(int fd, const char *ifname, int *ret_ifindex, uint8_t ret_mac[static 6]) {
        struct ifreq ifr = {};
        char driver[32];
        int r;

        r = interface_driver(fd, ifname, driver);
        if (r < 0)
                return r;
        if (strcmp(driver, "veth") != 0)
                return -EPERM;
        strcpy(ifr.ifr_name, ifname);
        if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0)
                return -errno;
        *ret_ifindex = ifr.ifr_ifindex;
        if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
                return -errno;
        memcpy(ret_mac, ifr.ifr_hwaddr.sa_data, 6);
        return 0;
}

static int open_socket(const Options *o, uint8_t ret_src_mac[static 6]) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP) };
        int one = 1, r;

        /* Protocol 0: the socket receives nothing, it only sends. */
        fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                fprintf(stderr, "flood-syn: AF_PACKET socket: %m\n");
                return -errno;
        }
        r = check_interface(fd, o->ifname, &sll.sll_ifindex, ret_src_mac);
        if (r == -EPERM) {
                fprintf(stderr, "flood-syn: refused: %s is not a veth\n", o->ifname);
                return r;
        }
        if (r < 0) {
                fprintf(stderr, "flood-syn: interface %s: %s\n", o->ifname, strerror(-r));
                return r;
        }
        if (bind(fd, (struct sockaddr *) &sll, sizeof(sll)) < 0) {
                fprintf(stderr, "flood-syn: bind to %s: %m\n", o->ifname);
                return -errno;
        }
        /* Straight to the driver: no qdisc to queue in or to drop from. */
        if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0) {
                fprintf(stderr, "flood-syn: PACKET_QDISC_BYPASS: %m\n");
                return -errno;
        }
        return TAKE_FD(fd);
}

typedef struct Result {
        uint64_t sent, dropped, batches;
        usec_t elapsed;
} Result;

static int flood(const Options *o, int fd, const Template *t, Result *ret) {
        static uint8_t bufs[BATCH_MAX][FRAME_LEN];
        struct mmsghdr msgs[BATCH_MAX];
        struct iovec iov[BATCH_MAX];
        uint64_t rng, offered = 0;
        usec_t start, end, last = 0;
        Result res = {};
        size_t port_i = 0;

        if (getrandom(&rng, sizeof(rng), 0) != sizeof(rng))
                return -errno;
        rng |= 1;   /* xorshift never leaves 0 */
        for (unsigned i = 0; i < o->batch; i++) {
                iov[i] = (struct iovec) { .iov_base = bufs[i], .iov_len = FRAME_LEN };
                msgs[i] = (struct mmsghdr) { .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
        }

        start = now_usec(CLOCK_MONOTONIC);
        end = start + (usec_t) o->seconds * USEC_PER_SEC;
        while (offered < o->count) {
                usec_t due = start + offered * USEC_PER_SEC / o->rate, now;
                unsigned n = (unsigned) MIN((uint64_t) o->batch, o->count - offered), done = 0;

                if (due >= end)
                        break;
                (void) sleep_until(due);
                now = now_usec(CLOCK_MONOTONIC);
                if (now >= end)
                        break;
                for (unsigned i = 0; i < n; i++) {
                        uint64_t r = rng_next(&rng), r2 = rng_next(&rng);
                        uint16_t dport;

                        if (o->n_ports > 0) {
                                dport = o->ports[port_i];
                                port_i = (port_i + 1) % o->n_ports;
                        } else
                                dport = (uint16_t) (o->lo + (r2 >> 32) % ((uint32_t) o->hi - o->lo + 1));
                        frame_fill(bufs[i], t, SRC_NET | ((uint32_t) r & SRC_MASK),
                                   (uint16_t) (r >> 17), (uint16_t) (1024 + (r >> 33) % 64512),
                                   dport, (uint32_t) r2);
                }
                while (done < n) {
                        int k = sendmmsg(fd, msgs + done, n - done, 0);

                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k < 0 && (errno == ENOBUFS || errno == EAGAIN)) {
                                res.dropped++;   /* that frame: refused, not sent again */
                                done++;
                                continue;
                        }
                        if (k < 0) {
                                fprintf(stderr, "flood-syn: sendmmsg on %s: %m\n", o->ifname);
                                return -errno;
                        }
                        res.sent += (unsigned) k;
                        done += (unsigned) k;
                }
                res.batches++;
                offered += n;
                last = now_usec(CLOCK_MONOTONIC);
        }
        /* The frames of the last batch left at once at its due time: on schedule, the flood
         * lasted offered/PPS; behind it, until the last batch was sent. */
        res.elapsed = MAX(last > start ? last - start : 0, offered * USEC_PER_SEC / o->rate);
        *ret = res;
        return 0;
}

static int usage(void) {
        fprintf(stderr,
                "usage: flood-syn --rate=PPS [--seconds=S] [--count=N] [--batch=N]\n"
                "                 --ports=P[,P...] | --range=LO-HI   IFNAME DSTMAC DST\n");
        return 2;
}

int main(int argc, char *argv[]) {
        static const struct option longopts[] = {
                { "rate",    required_argument, NULL, 'r' },
                { "seconds", required_argument, NULL, 's' },
                { "count",   required_argument, NULL, 'c' },
                { "ports",   required_argument, NULL, 'p' },
                { "range",   required_argument, NULL, 'R' },
                { "batch",   required_argument, NULL, 'b' },
                {}
        };
        Options o = { .seconds = 10, .batch = 64 };
        bool have_ports = false, have_range = false;
        uint8_t src_mac[6];
        struct rusage ru;
        Template t;
        Result res;
        uint64_t v;
        int c, fd, r;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) >= 0) {
                r = 0;
                switch (c) {
                case 'r':
                        r = parse_number(optarg, strlen(optarg), 1, RATE_MAX, &v);
                        o.rate = (unsigned) v;
                        break;
                case 's':
                        r = parse_number(optarg, strlen(optarg), 1, SECONDS_MAX, &v);
                        o.seconds = (unsigned) v;
                        break;
                case 'c':
                        r = parse_number(optarg, strlen(optarg), 1, COUNT_MAX, &o.count);
                        break;
                case 'b':
                        r = parse_number(optarg, strlen(optarg), 1, BATCH_MAX, &v);
                        o.batch = (unsigned) v;
                        break;
                case 'p':
                        r = parse_ports(optarg, &o);
                        have_ports = true;
                        break;
                case 'R':
                        r = parse_range(optarg, &o);
                        have_range = true;
                        break;
                default:
                        return usage();
                }
                if (r < 0) {
                        fprintf(stderr, "flood-syn: bad value '%s' (limits: rate 1-%u, seconds 1-%u, "
                                "count 1-%llu, batch 1-%u, at most %d ports)\n", optarg, RATE_MAX,
                                SECONDS_MAX, (unsigned long long) COUNT_MAX, BATCH_MAX, PORTS_MAX);
                        return 2;
                }
        }
        if (argc - optind != 3 || o.rate == 0 || have_ports == have_range)
                return usage();
        if (o.count == 0)
                o.count = (uint64_t) o.rate * o.seconds;
        o.ifname = argv[optind];
        if (parse_mac(argv[optind + 1], o.dst_mac) < 0) {
                fprintf(stderr, "flood-syn: DSTMAC must be a unicast aa:bb:cc:dd:ee:ff\n");
                return 2;
        }
        if (inet_pton(AF_INET, argv[optind + 2], &o.dst) != 1 || !dst_allowed(o.dst)) {
                fprintf(stderr, "flood-syn: refused: DST must be an IPv4 address in 192.0.2.0/24, "
                        "198.51.100.0/24 or 203.0.113.0/24\n");
                return 2;
        }

        fd = open_socket(&o, src_mac);
        if (fd < 0)
                return fd == -EPERM || fd == -EINVAL ? 2 : 1;
        if (check_netns(fd) < 0) {
                fprintf(stderr, "flood-syn: refused: runs only in a network namespace of its own "
                        "(not PID 1's; only the loopback and veths in it)\n");
                (void) safe_close(fd);
                return 2;
        }
        template_build(&t, &o, src_mac);
        r = flood(&o, fd, &t, &res);
        (void) safe_close(fd);
        if (r < 0)
                return 1;
        if (getrusage(RUSAGE_SELF, &ru) < 0)
                ru = (struct rusage) {};
        printf("flood-syn: offered=%llu sent=%llu dropped=%llu seconds=%llu.%06llu pps=%llu asked=%u batches=%llu "
               "user=%ld.%06ld sys=%ld.%06ld\n",
               (unsigned long long) (res.sent + res.dropped), (unsigned long long) res.sent,
               (unsigned long long) res.dropped, (unsigned long long) (res.elapsed / USEC_PER_SEC),
               (unsigned long long) (res.elapsed % USEC_PER_SEC),
               (unsigned long long) (res.elapsed > 0 ? res.sent * USEC_PER_SEC / res.elapsed : 0),
               o.rate, (unsigned long long) res.batches, (long) ru.ru_utime.tv_sec, (long) ru.ru_utime.tv_usec,
               (long) ru.ru_stime.tv_sec, (long) ru.ru_stime.tv_usec);
        return 0;
}
