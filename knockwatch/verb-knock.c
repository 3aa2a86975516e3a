/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * verb-knock.c — "knockwatch knock": the knocking client on the command line.
 *
 *   knockwatch knock [-4|-6] [--delay MS] [-v] HOST STEP... [--then CMD [ARG...]]
 *   knockwatch knock [-4|-6] [--delay MS] [-v] HOST --door-spec SPEC --key FILE
 *                    [--door NAME] [--time UNIX] [--then CMD [ARG...]]
 *
 * HOST is knocked on every address family it resolves to (one address of each), one
 * family after the other; -4 or -6 keeps one. With --door-spec the steps are those of
 * a TOTP door (verb-totp.c); a window opens a door only once, so when two families are
 * knocked the second gets the next window (T+1, live as well), not a replay of the
 * first one's sequence.
 *
 * Every argument is checked, the host resolved and the ping socket opened before the
 * first step goes out, so a mistake never sends half a knock. Messages are one line
 * each on stderr, "knockwatch knock: …". Exit status: 0, 1 (the knock failed), 2 (bad
 * usage); with --then the command replaces this process after the last step of the
 * last family, so its status is ours; 127 if it cannot be found, 126 if it cannot be
 * run. A family whose knock fails is reported and the others are still knocked; then
 * the status is 1 and --then does not run.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <sys/socket.h>

#include "client.h"
#include "fd-util.h"
#include "parse-util.h"
#include "string-util.h"
#include "time-util.h"
#include "verbs.h"

#define KNOCK_STEPS_MAX 64U
#define KNOCK_DELAY_MAX_MSEC 60000U
#define ARG_SHOWN_MAX 64 /* how much of a bad argument a message repeats */

#define PING_GROUP_RANGE_PATH "/proc/sys/net/ipv4/ping_group_range"

static void say(const char *format, ...) _printf_(1, 2);
static void say(const char *format, ...) {
        va_list ap;

        fputs("knockwatch knock: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static void help(void) {
        printf("Usage: knockwatch knock [-4|-6] [--delay MS] [-v] HOST STEP... [--then CMD [ARG...]]\n"
               "       knockwatch knock [OPTIONS] HOST --door-spec SPEC --key FILE [--door NAME]\n"
               "\n"
               "Send each STEP to HOST in order, as any user, to every address family of HOST.\n"
               "  tcp:PORT   a TCP SYN (a connection begun and dropped at once)\n"
               "  udp:PORT   one UDP datagram\n"
               "  ping:SIZE  one echo request with SIZE payload bytes; needs the user's\n"
               "             group in net.ipv4.ping_group_range (or CAP_NET_RAW)\n"
               "\n"
               "  -4, -6          use an IPv4 / IPv6 address of HOST only\n"
               "  --door-spec S   a TOTP door: its current steps (S as in its set comment,\n"
               "                  \"totp key=ssh 4 tcp:20000-59999\", or the whole comment)\n"
               "  --key FILE      the TOTP key; --door NAME the door (unless S names it)\n"
               "  --time UNIX     the TOTP steps at this time, not now\n"
               "  --delay MS      pause between two steps, 0-%u ms (default %llu)\n"
               "  -v, --verbose   say each step on stderr\n"
               "  -h, --help      show this help\n"
               "  --then CMD ...  after the last step and one more pause, run CMD with its\n"
               "                  arguments (no shell); its exit status is knock's\n",
               KNOCK_DELAY_MAX_MSEC, (unsigned long long) (CLIENT_DELAY_DEFAULT / USEC_PER_MSEC));
}

/* Strict decimal milliseconds, 0…KNOCK_DELAY_MAX_MSEC. */
static int parse_delay(const char *s, usec_t *ret) {
        uint64_t v;
        int r;

        r = parse_uint(s, strlen(s), KNOCK_DELAY_MAX_MSEC, &v);
        if (r < 0)
                return r;
        *ret = v * USEC_PER_MSEC;
        return 0;
}

static void say_bad_step(const char *s) {
        if (startswith(s, "tcp:") || startswith(s, "udp:"))
                say("invalid step \"%.*s\": PORT must be a number 1-65535", ARG_SHOWN_MAX, s);
        else if (startswith(s, "ping:"))
                say("invalid step \"%.*s\": SIZE must be a number 0-%u", ARG_SHOWN_MAX, s, KNOCK_PING_MAX);
        else
                say("invalid step \"%.*s\": expected tcp:PORT, udp:PORT or ping:SIZE", ARG_SHOWN_MAX, s);
}

static bool looks_like_step(const char *s) {
        KnockStep st;

        return knock_step_parse(s, strlen(s), &st) >= 0;
}

typedef struct KnockArgs {
        ClientOptions options;
        bool verbose;
        const char *host;
        KnockStep steps[KNOCK_STEPS_MAX];
        size_t n_steps;
        char **command; /* NULL-terminated, or NULL without --then */
        TotpClientOptions totp;
        bool is_totp;   /* --door-spec or --count/--range: steps derived, none given */
} KnockArgs;

/* Returns 1 to go on, 0 when done (help shown), or EXIT_USAGE's negative after a message. */
static int parse_argv(int argc, char *argv[], KnockArgs *args) {
        enum { ARG_DELAY = 0x100 };
        static const struct option options[] = {
                TOTP_CLIENT_LONG_OPTIONS,
                { "delay", required_argument, NULL, ARG_DELAY },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int n_opts = argc, c;

        /* Whatever follows --then belongs to the command, options included. */
        for (int i = 1; i < argc; i++)
                if (streq(argv[i], "--then")) {
                        if (i + 1 >= argc) {
                                say("--then needs a command");
                                return -EXIT_USAGE;
                        }
                        n_opts = i;
                        args->command = argv + i + 1;
                        break;
                }

        opterr = 0;
        optind = 0; /* a fresh scan, whatever ran getopt before */
        while ((c = getopt_long(n_opts, argv, ":46vh", options, NULL)) >= 0) {
                if (totp_client_option(c, optarg, &args->totp))
                        continue;
                switch (c) {
                case '4':
                case '6': {
                        int family = c == '4' ? AF_INET : AF_INET6;

                        if (args->options.family != AF_UNSPEC && args->options.family != family) {
                                say("-4 and -6 exclude each other");
                                return -EXIT_USAGE;
                        }
                        args->options.family = family;
                        break;
                }
                case ARG_DELAY: {
                        int r = parse_delay(optarg, &args->options.delay);

                        if (r < 0) {
                                say("invalid delay \"%.*s\": expected milliseconds 0-%u",
                                    ARG_SHOWN_MAX, optarg, KNOCK_DELAY_MAX_MSEC);
                                return -EXIT_USAGE;
                        }
                        break;
                }
                case 'v':
                        args->verbose = true;
                        break;
                case 'h':
                        help();
                        return 0;
                case ':':
                        say("option %.*s needs a value", ARG_SHOWN_MAX, argv[optind - 1]);
                        return -EXIT_USAGE;
                default:
                        if (optopt != 0)
                                say("unknown option -%c", optopt);
                        else
                                say("unknown option \"%.*s\"", ARG_SHOWN_MAX, argv[optind - 1]);
                        return -EXIT_USAGE;
                }
        }
        args->is_totp = args->totp.door_spec || args->totp.count || args->totp.range || args->totp.step;
        if (!args->is_totp && (args->totp.key_file || args->totp.door || args->totp.time_arg)) {
                say("--key, --door and --time go with --door-spec (a TOTP door)");
                return -EXIT_USAGE;
        }

        if (optind >= n_opts) {
                say(args->is_totp ? "missing HOST (see --help)" : "missing HOST and steps (see --help)");
                return -EXIT_USAGE;
        }
        args->host = argv[optind++];
        if (looks_like_step(args->host)) {
                say("missing HOST: \"%.*s\" is a step", ARG_SHOWN_MAX, args->host);
                return -EXIT_USAGE;
        }
        if (args->is_totp) {
                if (optind < n_opts) {
                        say("steps and --door-spec exclude each other: the TOTP door's steps are "
                            "derived (got \"%.*s\")", ARG_SHOWN_MAX, argv[optind]);
                        return -EXIT_USAGE;
                }
                return 1;
        }
        if (optind >= n_opts) {
                say("no steps to send to %.*s (expected tcp:PORT, udp:PORT or ping:SIZE)",
                    ARG_SHOWN_MAX, args->host);
                return -EXIT_USAGE;
        }
        if ((size_t) (n_opts - optind) > KNOCK_STEPS_MAX) {
                say("too many steps: at most %u", KNOCK_STEPS_MAX);
                return -EXIT_USAGE;
        }
        for (; optind < n_opts; optind++) {
                const char *s = argv[optind];

                if (knock_step_parse(s, strlen(s), &args->steps[args->n_steps]) < 0) {
                        say_bad_step(s);
                        return -EXIT_USAGE;
                }
                args->n_steps++;
        }
        return 1;
}

static void say_step_sent(const KnockStep *step, size_t index, void *userdata) {
        const char *where = userdata;
        char buf[KNOCK_STEP_STRLEN];

        say("%s: sent %s", where, knock_step_format(step, buf));
}

/* One line saying why ping sockets are refused and how to allow them. */
static void say_ping_refused(const char *step) {
        _cleanup_fclose_ FILE *f = NULL;
        char range[64] = "";

        f = fopen(PING_GROUP_RANGE_PATH, "re");
        if (f && fgets(range, sizeof(range), f)) {
                range[strcspn(range, "\n")] = 0;
                for (char *p = range; *p; p++)
                        if (*p == '\t')
                                *p = ' ';
        }
        say("%s: ping sockets are not allowed for this user (group %u; net.ipv4.ping_group_range"
            " is \"%s\"); allow them with: sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"",
            step, (unsigned) getegid(), range);
}

static int run_command(char **command, usec_t pause) {
        int r;

        /* The daemon needs a moment to see the last knock: the same pause as between steps. */
        (void) sleep_usec(pause);
        fflush(stdout);
        execvp(command[0], command);
        r = errno;
        say("cannot run %.*s: %s", ARG_SHOWN_MAX, command[0], strerror(r));
        return r == ENOENT ? 127 : 126;
}

/* The host's addresses, or the one message saying why there are none. */
static int resolve(const KnockArgs *args, KnockAddr ret[static CLIENT_FAMILIES_MAX]) {
        const char *host = args->host;
        int n = ARG_SHOWN_MAX, r;

        r = client_resolve_all(host, args->options.family, ret);
        if (r > 0)
                return r;
        if (r == -ENOENT)
                say("unknown host \"%.*s\"", n, host);
        else if (r == -EAFNOSUPPORT)
                say("host \"%.*s\" has no %s address", n, host,
                    args->options.family == AF_INET ? "IPv4" : "IPv6");
        else if (r == -EAGAIN)
                say("cannot resolve \"%.*s\" now: the name server did not answer", n, host);
        else if (r == -EINVAL)
                say("invalid host \"%.*s\": expected a host name or an IPv4/IPv6 address"
                    " (no scoped link-local address)", n, host);
        else
                say("cannot resolve \"%.*s\": %s", n, host, strerror(-r));
        return -EXIT_FAILURE;
}

/* A ping step too large for an IPv4 address: refused before anything is sent. */
static bool ping_fits(const KnockAddr *addr, const KnockStep *steps, size_t n_steps) {
        char addr_str[KNOCK_ADDR_STRLEN], step_str[KNOCK_STEP_STRLEN];

        for (size_t i = 0; i < n_steps; i++)
                if (steps[i].proto == KNOCK_PROTO_PING && addr->family == AF_INET &&
                    steps[i].value > KNOCK_PING_MAX_IPV4) {
                        say("step %s is too large for IPv4 (%s): SIZE at most %u",
                            knock_step_format(&steps[i], step_str), knock_addr_format(addr, addr_str),
                            KNOCK_PING_MAX_IPV4);
                        return false;
                }
        return true;
}

/* Knock one address. Returns 0, or EXIT_FAILURE after a message. */
static int knock_one(KnockArgs *args, const KnockAddr *addr, const KnockStep *steps, size_t n_steps) {
        char addr_str[KNOCK_ADDR_STRLEN], step_str[KNOCK_STEP_STRLEN];
        ClientOptions options = args->options;
        size_t failed = 0;
        int r;

        knock_addr_format(addr, addr_str);
        if (args->verbose) {
                if (streq(addr_str, args->host))
                        say("knocking on %s", addr_str);
                else
                        say("knocking on %s (%.*s)", addr_str, ARG_SHOWN_MAX, args->host);
                options.step_sent = say_step_sent;
                options.userdata = addr_str;
        }

        r = client_knock(addr, steps, n_steps, &options, &failed);
        if (r < 0) {
                knock_step_format(&steps[failed], step_str);
                if ((r == -EACCES || r == -EPERM) && steps[failed].proto == KNOCK_PROTO_PING)
                        say_ping_refused(step_str);
                else
                        say("%s to %s: %s", step_str, addr_str, strerror(-r));
                return EXIT_FAILURE;
        }
        return 0;
}

int verb_knock(int argc, char *argv[]) {
        KnockArgs args = {
                .options = {
                        .family = AF_UNSPEC,
                        .delay = CLIENT_DELAY_DEFAULT,
                },
        };
        KnockAddr addrs[CLIENT_FAMILIES_MAX];
        KnockStep steps[CLIENT_FAMILIES_MAX][MAX(KNOCK_STEPS_MAX, TOTP_COUNT_MAX)];
        size_t n_steps = 0;
        TotpClient totp = {};
        uint64_t unix_time = 0, t = 0;
        int r, n, status = EXIT_SUCCESS;

        r = parse_argv(argc, argv, &args);
        if (r <= 0)
                return -r;

        if (args.is_totp) {
                _cleanup_free_ char *message = NULL;

                if (args.totp.time_arg && totp_client_parse_time(args.totp.time_arg, &unix_time) < 0) {
                        say("invalid --time \"%.*s\": expected seconds since 1970", ARG_SHOWN_MAX,
                            args.totp.time_arg);
                        return EXIT_USAGE;
                }
                r = totp_client_spec(&args.totp, &totp, &message);
                if (r < 0) {
                        say("%s", message ? message : strerror(-r));
                        return EXIT_USAGE;
                }
                if (!args.totp.key_file) {
                        say("no key: give --key FILE (one line of base32)");
                        return EXIT_USAGE;
                }
                message = mfree(message);
                r = totp_client_prepare(&args.totp, &totp, &message);
                if (r < 0) {
                        say("%s", message ? message : strerror(-r));
                        totp_key_wipe(&totp.key);
                        return EXIT_FAILURE;
                }
        }

        n = resolve(&args, addrs);
        if (n < 0) {
                totp_key_wipe(&totp.key);
                return -n;
        }

        /* Every family's steps before the first packet, so no error comes half-way. */
        if (args.is_totp) {
                t = totp_client_counter(&totp, args.totp.time_arg, unix_time);
                for (int i = 0; i < n; i++) {
                        /* Window T for the first family, T + 1 (also live) for the second. */
                        r = totp_client_steps(&totp, t + (uint64_t) i, steps[i]);
                        if (r < 0) {
                                say("cannot derive the steps of door %s: %s", totp.door, strerror(-r));
                                totp_key_wipe(&totp.key);
                                return EXIT_FAILURE;
                        }
                }
                n_steps = totp.params.count;
                totp_key_wipe(&totp.key);
        } else {
                for (int i = 0; i < n; i++)
                        memcpy(steps[i], args.steps, args.n_steps * sizeof(KnockStep));
                n_steps = args.n_steps;
        }

        for (int i = 0; i < n; i++)
                if (!ping_fits(&addrs[i], steps[i], n_steps))
                        return EXIT_USAGE;

        for (int i = 0; i < n; i++) {
                if (i > 0 && args.options.delay > 0)
                        (void) sleep_usec(args.options.delay);
                if (knock_one(&args, &addrs[i], steps[i], n_steps) != 0)
                        status = EXIT_FAILURE;
        }
        if (status != EXIT_SUCCESS) {
                if (args.command)
                        say("not running the --then command: not every address family was knocked");
                return status;
        }

        if (args.command)
                return run_command(args.command, args.options.delay);
        return EXIT_SUCCESS;
}
