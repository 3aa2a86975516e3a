/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * netprobe — the end-to-end tests' TCP server and probe, so that "the port is open"
 * means a real connection carried data, and "closed" says how it was closed.
 *
 *   netprobe listen ADDR PORT
 *       accept connections forever; write "netprobe-banner\n" to each and close it.
 *   netprobe connect ADDR PORT [FROM [TIMEOUT_MS]]
 *       connect (from source address FROM, "-" for any), read the banner. Prints one word
 *       and exits with it: "open" 0, "timeout" 1 (packets dropped), "refused" 2 (RST),
 *       "error" 3 (anything else, with the reason on stderr). Usage errors exit 64.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BANNER "netprobe-banner\n"

static int parse_sockaddr(const char *addr, const char *port, struct sockaddr_storage *ss, socklen_t *len) {
        char *end;
        long p = port ? strtol(port, &end, 10) : 0;

        if (port && (*end || p < 0 || p > 65535))
                return -1;
        memset(ss, 0, sizeof(*ss));
        if (strchr(addr, ':')) {
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;
                s6->sin6_family = AF_INET6;
                s6->sin6_port = htons((uint16_t) p);
                if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
                        return -1;
                *len = sizeof(*s6);
        } else {
                struct sockaddr_in *s4 = (struct sockaddr_in *) ss;
                s4->sin_family = AF_INET;
                s4->sin_port = htons((uint16_t) p);
                if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
                        return -1;
                *len = sizeof(*s4);
        }
        return 0;
}

static int do_listen(const char *addr, const char *port) {
        struct sockaddr_storage ss;
        socklen_t len;
        int fd, one = 1;

        if (parse_sockaddr(addr, port, &ss, &len) < 0)
                return 64;
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(fd, (struct sockaddr *) &ss, len) < 0 || listen(fd, 64) < 0) {
                fprintf(stderr, "netprobe: listen %s %s: %m\n", addr, port);
                return 3;
        }
        for (;;) {
                int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        fprintf(stderr, "netprobe: accept: %m\n");
                        return 3;
                }
                (void) !write(c, BANNER, strlen(BANNER));
                close(c);
        }
}

static int verdict(const char *word, int code) {
        printf("%s\n", word);
        return code;
}

static int do_connect(const char *addr, const char *port, const char *from, int timeout_ms) {
        struct sockaddr_storage ss, src;
        socklen_t len, src_len;
        struct pollfd p;
        char buf[64];
        int fd, r, err = 0;
        socklen_t errlen = sizeof(err);
        ssize_t n;

        if (parse_sockaddr(addr, port, &ss, &len) < 0)
                return 64;
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                fprintf(stderr, "netprobe: socket: %m\n");
                return verdict("error", 3);
        }
        if (from && strcmp(from, "-") != 0) {
                if (parse_sockaddr(from, NULL, &src, &src_len) < 0 || src.ss_family != ss.ss_family)
                        return 64;
                if (bind(fd, (struct sockaddr *) &src, src_len) < 0) {
                        fprintf(stderr, "netprobe: bind %s: %m\n", from);
                        return verdict("error", 3);
                }
        }
        r = connect(fd, (struct sockaddr *) &ss, len);
        if (r < 0 && errno != EINPROGRESS) {
                err = errno;
                goto connect_failed;
        }
        p = (struct pollfd) { .fd = fd, .events = POLLOUT };
        r = poll(&p, 1, timeout_ms);
        if (r == 0)
                return verdict("timeout", 1);
        if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0) {
                fprintf(stderr, "netprobe: poll: %m\n");
                return verdict("error", 3);
        }
        if (err != 0)
                goto connect_failed;

        /* Connected: the banner proves the listener really answered. */
        p = (struct pollfd) { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, timeout_ms) <= 0) {
                fprintf(stderr, "netprobe: connected but no banner\n");
                return verdict("error", 3);
        }
        n = read(fd, buf, sizeof(buf) - 1);
        if (n != (ssize_t) strlen(BANNER) || memcmp(buf, BANNER, (size_t) n) != 0) {
                fprintf(stderr, "netprobe: connected but wrong banner\n");
                return verdict("error", 3);
        }
        return verdict("open", 0);

connect_failed:
        if (err == ECONNREFUSED)
                return verdict("refused", 2);
        if (err == ETIMEDOUT)
                return verdict("timeout", 1);
        fprintf(stderr, "netprobe: connect %s %s: %s\n", addr, port, strerror(err));
        return verdict("error", 3);
}

int main(int argc, char *argv[]) {
        if (argc == 4 && strcmp(argv[1], "listen") == 0)
                return do_listen(argv[2], argv[3]);
        if (argc >= 4 && argc <= 6 && strcmp(argv[1], "connect") == 0)
                return do_connect(argv[2], argv[3], argc > 4 ? argv[4] : NULL,
                                  argc > 5 ? atoi(argv[5]) : 1000);
        fprintf(stderr, "usage: netprobe listen ADDR PORT | netprobe connect ADDR PORT [FROM [TIMEOUT_MS]]\n");
        return 64;
}
