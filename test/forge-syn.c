/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * forge-syn — the forgery tests' attacker: hand-built Ethernet + IPv4/IPv6 + TCP SYN
 * frames with a spoofed source address, written to one interface through an AF_PACKET
 * socket, as an unprivileged user can do as root of a network namespace of their own
 * (TECH-NOTES.md section 8). The kernel on the other end of a veth takes them for
 * packets that arrived from the wire, and its `log` rules log them.
 *
 *   forge-syn [OPTIONS] IFNAME DSTMAC SRC DST DPORT...
 *       DSTMAC is aa:bb:cc:dd:ee:ff or "broadcast". For each DPORT in order, COUNT SYNs
 *       from SRC to DST:DPORT, GAP_MS apart. Prints "sent N" and exits 0.
 *         --count=N    SYNs per port (default 1, at most 16)
 *         --sport=N    the TCP source port (default 40000): a marker the caller can find
 *                      in the log line (SPT=N)
 *         --gap-ms=N   pause between two frames (default 20, at least 5: at most 200 a second)
 *   forge-syn --kernel-form ADDR
 *       print ADDR as the kernel's LOG line writes it (IPv6 fully expanded).
 *
 * Hard limits, so that it can never be used for anything but these tests: both
 * addresses must lie in the documentation and benchmark ranges (192.0.2.0/24,
 * 198.51.100.0/24, 203.0.113.0/24, 198.18.0.0/15, 2001:db8::/32), at most 16 ports,
 * at most 256 frames per run, at most 200 frames a second.
 * Exit status: 0 sent, 1 a system call failed, 2 usage or a refused address.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "inet-csum.h"

#define COUNT_MAX 16
#define PORTS_MAX 16
#define FRAMES_MAX 256
#define GAP_MS_MIN 5
#define GAP_MS_MAX 10000

#define ETH_HLEN_ 14
#define IP4_HLEN 20
#define IP6_HLEN 40
#define TCP_HLEN 20
#define FRAME_MAX (ETH_HLEN_ + IP6_HLEN + TCP_HLEN)

typedef struct Addr {
        int family;
        uint8_t bytes[16];
} Addr;

/* Strict decimal in [min, max]: digits only, no sign, no leading zero. */
static int parse_number(const char *s, unsigned long min, unsigned long max, unsigned long *ret) {
        unsigned long v = 0;

        if (!s[0] || (s[0] == '0' && s[1]))
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                if (v > (ULONG_MAX - 9) / 10)
                        return -ERANGE;
                v = v * 10 + (unsigned long) (*p - '0');
        }
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

static int parse_addr(const char *s, Addr *ret) {
        Addr a = {};

        if (inet_pton(AF_INET, s, a.bytes) == 1)
                a.family = AF_INET;
        else if (inet_pton(AF_INET6, s, a.bytes) == 1)
                a.family = AF_INET6;
        else
                return -EINVAL;
        *ret = a;
        return 0;
}

/* The documentation ranges (RFC 5737, RFC 3849) and the benchmark range (RFC 2544). */
static bool addr_allowed(const Addr *a) {
        const uint8_t *b = a->bytes;

        if (a->family == AF_INET)
                return (b[0] == 192 && b[1] == 0 && b[2] == 2) ||
                       (b[0] == 198 && b[1] == 51 && b[2] == 100) ||
                       (b[0] == 203 && b[1] == 0 && b[2] == 113) ||
                       (b[0] == 198 && (b[1] & 0xfe) == 18);
        return b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8;
}

static void print_kernel_form(const Addr *a) {
        const uint8_t *b = a->bytes;

        if (a->family == AF_INET) {
                printf("%u.%u.%u.%u\n", b[0], b[1], b[2], b[3]);
                return;
        }
        for (int i = 0; i < 16; i += 2)
                printf("%02x%02x%s", b[i], b[i + 1], i < 14 ? ":" : "\n");
}

static int parse_mac(const char *s, uint8_t ret[static 6]) {
        unsigned v[6];
        char tail;

        if (strcmp(s, "broadcast") == 0) {
                memset(ret, 0xff, 6);
                return 0;
        }
        if (strlen(s) != 17 ||
            sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
                return -EINVAL;
        for (int i = 0; i < 6; i++)
                ret[i] = (uint8_t) v[i];
        return 0;
}





/* One frame: Ethernet, IP, and a 20-byte TCP header with only SYN set. Returns its length. */
static size_t build_frame(uint8_t frame[static FRAME_MAX], const uint8_t dst_mac[6], const uint8_t src_mac[6],
                          const Addr *src, const Addr *dst, uint16_t sport, uint16_t dport, uint16_t ip_id,
                          uint32_t seq) {
        bool v6 = src->family == AF_INET6;
        size_t alen = v6 ? 16 : 4, ip_hlen = v6 ? IP6_HLEN : IP4_HLEN;
        uint8_t *ip = frame + ETH_HLEN_, *tcp = ip + ip_hlen, pseudo[40];
        uint32_t sum;

        memset(frame, 0, FRAME_MAX);
        memcpy(frame, dst_mac, 6);
        memcpy(frame + 6, src_mac, 6);
        put16(frame + 12, v6 ? ETH_P_IPV6 : ETH_P_IP);

        if (v6) {
                ip[0] = 0x60;                   /* version 6, traffic class 0, flow label 0 */
                put16(ip + 4, TCP_HLEN);        /* payload length */
                ip[6] = IPPROTO_TCP;
                ip[7] = 64;                     /* hop limit */
                memcpy(ip + 8, src->bytes, 16);
                memcpy(ip + 24, dst->bytes, 16);
        } else {
                ip[0] = 0x45;                   /* version 4, 5 words */
                put16(ip + 2, IP4_HLEN + TCP_HLEN);
                put16(ip + 4, ip_id);
                put16(ip + 6, 0x4000);          /* DF */
                ip[8] = 64;                     /* TTL */
                ip[9] = IPPROTO_TCP;
                memcpy(ip + 12, src->bytes, 4);
                memcpy(ip + 16, dst->bytes, 4);
                put16(ip + 10, csum_fold(csum_add(0, ip, IP4_HLEN)));
        }

        put16(tcp, sport);
        put16(tcp + 2, dport);
        put32(tcp + 4, seq);
        tcp[12] = 5 << 4;                       /* data offset: 5 words */
        tcp[13] = 0x02;                         /* SYN */
        put16(tcp + 14, 64240);                 /* window */

        /* The pseudo-header: addresses, then (IPv4) zero, protocol, TCP length, or (IPv6)
         * the 32-bit length and the next header in the last byte. */
        memset(pseudo, 0, sizeof(pseudo));
        memcpy(pseudo, src->bytes, alen);
        memcpy(pseudo + alen, dst->bytes, alen);
        if (v6) {
                put32(pseudo + 32, TCP_HLEN);
                pseudo[39] = IPPROTO_TCP;
        } else {
                pseudo[9] = IPPROTO_TCP;
                put16(pseudo + 10, TCP_HLEN);
        }
        sum = csum_add(0, pseudo, v6 ? 40 : 12);
        sum = csum_add(sum, tcp, TCP_HLEN);
        put16(tcp + 16, csum_fold(sum));

        return ETH_HLEN_ + ip_hlen + TCP_HLEN;
}

static void sleep_ms(unsigned long ms) {
        struct timespec ts = { .tv_sec = (time_t) (ms / 1000), .tv_nsec = (long) (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static int usage(void) {
        fprintf(stderr,
                "Usage: forge-syn [--count=N] [--sport=N] [--gap-ms=N] IFNAME DSTMAC|broadcast SRC DST DPORT...\n"
                "       forge-syn --kernel-form ADDR\n");
        return 2;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "count", required_argument, NULL, 'c' },
                { "sport", required_argument, NULL, 's' },
                { "gap-ms", required_argument, NULL, 'g' },
                { "kernel-form", required_argument, NULL, 'k' },
                {}
        };
        unsigned long count = 1, sport = 40000, gap_ms = 20, ports[PORTS_MAX];
        uint8_t dst_mac[6], src_mac[6], frame[FRAME_MAX];
        size_t nports, sent = 0;
        struct sockaddr_ll sll = {};
        struct ifreq ifr = {};
        Addr src, dst;
        uint16_t ip_id;
        uint32_t seq;
        int c, fd;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        if (parse_number(optarg, 1, COUNT_MAX, &count) < 0) {
                                fprintf(stderr, "forge-syn: --count must be 1…%d\n", COUNT_MAX);
                                return 2;
                        }
                        break;
                case 's':
                        if (parse_number(optarg, 1, 65535, &sport) < 0) {
                                fprintf(stderr, "forge-syn: --sport must be 1…65535\n");
                                return 2;
                        }
                        break;
                case 'g':
                        if (parse_number(optarg, GAP_MS_MIN, GAP_MS_MAX, &gap_ms) < 0) {
                                fprintf(stderr, "forge-syn: --gap-ms must be %d…%d\n", GAP_MS_MIN, GAP_MS_MAX);
                                return 2;
                        }
                        break;
                case 'k':
                        if (parse_addr(optarg, &src) < 0) {
                                fprintf(stderr, "forge-syn: invalid address \"%s\"\n", optarg);
                                return 2;
                        }
                        print_kernel_form(&src);
                        return 0;
                default:
                        return usage();
                }

        if (argc - optind < 5)
                return usage();
        nports = (size_t) (argc - optind - 4);
        if (nports > PORTS_MAX || nports * count > FRAMES_MAX) {
                fprintf(stderr, "forge-syn: at most %d ports and %d frames a run\n", PORTS_MAX, FRAMES_MAX);
                return 2;
        }
        if (strlen(argv[optind]) >= IFNAMSIZ) {
                fprintf(stderr, "forge-syn: invalid interface name\n");
                return 2;
        }
        if (parse_mac(argv[optind + 1], dst_mac) < 0) {
                fprintf(stderr, "forge-syn: invalid MAC address \"%s\"\n", argv[optind + 1]);
                return 2;
        }
        if (parse_addr(argv[optind + 2], &src) < 0 || parse_addr(argv[optind + 3], &dst) < 0) {
                fprintf(stderr, "forge-syn: invalid address\n");
                return 2;
        }
        if (src.family != dst.family) {
                fprintf(stderr, "forge-syn: SRC and DST must be of one address family\n");
                return 2;
        }
        if (!addr_allowed(&src) || !addr_allowed(&dst)) {
                fprintf(stderr, "forge-syn: refused: SRC and DST must lie in 192.0.2.0/24, 198.51.100.0/24, "
                        "203.0.113.0/24, 198.18.0.0/15 or 2001:db8::/32\n");
                return 2;
        }
        for (size_t i = 0; i < nports; i++)
                if (parse_number(argv[optind + 4 + (int) i], 1, 65535, &ports[i]) < 0) {
                        fprintf(stderr, "forge-syn: invalid port \"%s\"\n", argv[optind + 4 + (int) i]);
                        return 2;
                }

        fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                fprintf(stderr, "forge-syn: AF_PACKET socket: %m\n");
                return 1;
        }
        strcpy(ifr.ifr_name, argv[optind]);
        if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
                fprintf(stderr, "forge-syn: interface %s: %m\n", argv[optind]);
                return 1;
        }
        sll.sll_family = AF_PACKET;
        sll.sll_ifindex = ifr.ifr_ifindex;
        sll.sll_protocol = htons(src.family == AF_INET6 ? ETH_P_IPV6 : ETH_P_IP);
        if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
                fprintf(stderr, "forge-syn: interface %s: no hardware address: %m\n", argv[optind]);
                return 1;
        }
        memcpy(src_mac, ifr.ifr_hwaddr.sa_data, 6);
        if (bind(fd, (struct sockaddr *) &sll, sizeof(sll)) < 0) {
                fprintf(stderr, "forge-syn: bind to %s: %m\n", argv[optind]);
                return 1;
        }
        if (getrandom(&ip_id, sizeof(ip_id), 0) != sizeof(ip_id) ||
            getrandom(&seq, sizeof(seq), 0) != sizeof(seq)) {
                fprintf(stderr, "forge-syn: getrandom: %m\n");
                return 1;
        }

        for (size_t i = 0; i < nports; i++)
                for (unsigned long k = 0; k < count; k++) {
                        size_t len = build_frame(frame, dst_mac, src_mac, &src, &dst, (uint16_t) sport,
                                                 (uint16_t) ports[i], ip_id++, seq++);

                        if (sent > 0)
                                sleep_ms(gap_ms);
                        if (send(fd, frame, len, 0) != (ssize_t) len) {
                                fprintf(stderr, "forge-syn: send on %s: %m\n", argv[optind]);
                                return 1;
                        }
                        sent++;
                }
        close(fd);
        printf("sent %zu\n", sent);
        return 0;
}
