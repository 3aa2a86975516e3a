/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * verb-totp.c — the client side of TOTP doors on the command line:
 *
 *   knockwatch key new KEYNAME [--user NAME] [--key-dir DIR] [--no-qr]
 *   knockwatch totp DOOR --key FILE [--time UNIX]
 *                   (--door-spec SPEC | --count N --range PROTO:LO-HI [--step D])
 *
 * and the helpers "knockwatch knock --door-spec" shares with them (verbs.h): a door
 * spec read with the daemon's own grammar (door.c), a client's key file read with the
 * trust rules of keyfile.h, the steps derived with totp.c.
 *
 * "key new" draws the key from getrandom() and writes it with key_file_create() (0600,
 * never over an existing file) into a root-only directory; the QR code is drawn by
 * qrencode(1) when it is on $PATH, run without a shell and fed the key on its standard
 * input, so the key never appears on a command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "door.h"
#include "errno-util.h"
#include "fd-util.h"
#include "keyfile.h"
#include "parse-util.h"
#include "string-util.h"
#include "time-util.h"
#include "totp.h"
#include "verbs.h"

#define KEY_NEW_BYTES 20U
#define ARG_SHOWN_MAX 64
#define UNIX_TIME_MAX 253402300799ULL  /* 9999-12-31T23:59:59Z */

extern char **environ;

static void say(const char *verb, const char *format, ...) _printf_(2, 3);
static void say(const char *verb, const char *format, ...) {
        va_list ap;

        fprintf(stderr, "knockwatch %s: ", verb);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
}

/* ---- shared with "knockwatch knock" ---- */

/* Is "within" one of the space-separated words of s? */
static bool has_word(const char *s, const char *word) {
        size_t n = strlen(word);

        for (const char *p = s; (p = strstr(p, word)); p += n)
                if ((p == s || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0))
                        return true;
        return false;
}

int totp_client_spec(const TotpClientOptions *o, TotpClient *ret, char **ret_error) {
        char comment[DOOR_COMMENT_MAX * 2 + 64];
        DoorSyntaxError error = {};
        DoorSpec spec;
        size_t prefix;
        const char *what;
        int r;

        *ret = (TotpClient) {};
        if (o->door_spec && (o->count || o->range || o->step))
                return set_error(ret_error, -EINVAL, "--door-spec excludes --count, --range and --step");
        if (!o->door_spec && !o->count && !o->range)
                return set_error(ret_error, -EINVAL, "no door: give --door-spec \"totp key=… 4 "
                                 "tcp:20000-59999\" or --count N --range tcp:LO-HI");
        if (!o->door_spec && (!o->count || !o->range))
                return set_error(ret_error, -EINVAL, "--count and --range go together");

        if (o->door_spec && startswith(o->door_spec, "knockwatch")) {
                /* The whole set comment: it names the door itself. */
                what = "--door-spec";
                prefix = 0;
                if (strlen(o->door_spec) >= sizeof(comment))
                        return set_error(ret_error, -EINVAL, "--door-spec is too long");
                snprintf(comment, sizeof(comment), "%s", o->door_spec);
        } else {
                const char *door = o->door ? o->door : "";
                int n;

                if (!door[0])
                        return set_error(ret_error, -EINVAL, "the door's name is part of the "
                                         "derivation: give it (--door NAME), or the whole set comment "
                                         "as --door-spec \"knockwatch NAME: totp …\"");
                if (o->door_spec) {
                        what = "--door-spec";
                        n = snprintf(comment, sizeof(comment), "knockwatch %.*s: %s%s",
                                     DOOR_NAME_MAX + 1, door, o->door_spec,
                                     has_word(o->door_spec, "within") ? "" : " within 1s");
                } else {
                        what = o->step ? "--count, --range or --step" : "--count or --range";
                        n = snprintf(comment, sizeof(comment), "knockwatch %.*s: totp key=client %.*s "
                                     "%.*s%s%.*s within 1s", DOOR_NAME_MAX + 1, door, ARG_SHOWN_MAX,
                                     o->count, ARG_SHOWN_MAX, o->range, o->step ? " step " : "",
                                     ARG_SHOWN_MAX, o->step ? o->step : "");
                }
                if (n < 0 || (size_t) n >= sizeof(comment))
                        return set_error(ret_error, -EINVAL, "%s is too long", what);
                prefix = strlen("knockwatch ") + strnlen(door, DOOR_NAME_MAX + 1) + strlen(": ");
        }

        r = door_comment_parse(comment, &spec, &error);
        if (r == 0)
                return set_error(ret_error, -EINVAL, "%s is not a door comment", what);
        if (r < 0) {
                /* Where the fault is: in the door's name we put in front, in the spec as the
                 * user wrote it (its column), or in one of the options we wrote out. */
                if (prefix > 0 && error.column <= prefix)
                        return set_error(ret_error, -EINVAL, "--door: %s", error.message);
                if (!o->door_spec)
                        return set_error(ret_error, -EINVAL, "invalid %s: %s", what, error.message);
                return set_error(ret_error, -EINVAL, "%s column %u: %s", what,
                                 error.column - (unsigned) prefix, error.message);
        }
        if (!spec.has_sequence || !spec.is_totp)
                return set_error(ret_error, -EINVAL, "%s declares no totp door (expected \"totp "
                                 "key=NAME COUNT PROTO:LO-HI …\")", what);
        if (o->door && o->door[0] && !streq(o->door, spec.name))
                return set_error(ret_error, -EINVAL, "--door %.*s and the door of --door-spec (%s) "
                                 "differ", ARG_SHOWN_MAX, o->door, spec.name);
        if (!totp_name_valid(spec.name))
                return set_error(ret_error, -EINVAL, "invalid door name \"%s\"", spec.name);

        memcpy(ret->door, spec.name, sizeof(ret->door));
        ret->params = spec.totp;
        return 0;
}

int totp_client_prepare(const TotpClientOptions *o, TotpClient *ret, char **ret_error) {
        char *message = NULL;
        int r;

        r = totp_client_spec(o, ret, ret_error);
        if (r < 0)
                return r;
        if (!o->key_file)
                return set_error(ret_error, -EINVAL, "no key: give --key FILE (one line of base32)");
        r = key_file_load(o->key_file, KEY_TRUST_USER, &ret->key, &message);
        if (r < 0) {
                set_error(ret_error, r, "%s", message ? message : "cannot read the key file");
                free(message);
                return r;
        }
        return 0;
}

int totp_client_steps(const TotpClient *c, uint64_t t, KnockStep ret_steps[static TOTP_COUNT_MAX]) {
        return totp_steps(c->key.key, c->key.len, c->door, t, &c->params, ret_steps);
}

int totp_client_parse_time(const char *s, uint64_t *ret) {
        return parse_uint(s, strlen(s), UNIX_TIME_MAX, ret);
}

uint64_t totp_client_counter(const TotpClient *c, bool has_time, uint64_t unix_time) {
        usec_t now = has_time ? unix_time * USEC_PER_SEC : now_usec(CLOCK_REALTIME);

        return totp_counter(now, c->params.step);
}

/* ---- knockwatch totp ---- */

static void help_totp(void) {
        printf("Usage: knockwatch totp DOOR --key FILE [--time UNIX]\n"
               "                       (--door-spec SPEC | --count N --range PROTO:LO-HI [--step D])\n"
               "\n"
               "Print the current steps of a TOTP door (\"tcp:P1 tcp:P2 …\"), for any knocking\n"
               "client. SPEC is what follows \"knockwatch DOOR: \" in the set comment, e.g.\n"
               "\"totp key=ssh 4 tcp:20000-59999\", or the whole comment (then DOOR may be left out).\n"
               "\n"
               "  --key FILE        the key: one line of base32, readable by this user only\n"
               "  --time UNIX       the steps at this time (seconds since 1970), not now\n"
               "  --door-spec SPEC  the door as in its set comment\n"
               "  --count N         steps, %u-%u\n"
               "  --range P:LO-HI   tcp or udp, at least %u ports\n"
               "  --step D          how often the steps change (default %us)\n"
               "  -h, --help        show this help\n",
               TOTP_COUNT_MIN, TOTP_COUNT_MAX, TOTP_RANGE_MIN, TOTP_STEP_DEFAULT_SEC);
}

/* The options "totp" and "knock --door-spec" share. Returns 1 if it took the option. */
int totp_client_option(int c, const char *arg, TotpClientOptions *o) {
        switch (c) {
        case TOTP_ARG_KEY:
                o->key_file = arg;
                return 1;
        case TOTP_ARG_DOOR_SPEC:
                o->door_spec = arg;
                return 1;
        case TOTP_ARG_COUNT:
                o->count = arg;
                return 1;
        case TOTP_ARG_RANGE:
                o->range = arg;
                return 1;
        case TOTP_ARG_STEP:
                o->step = arg;
                return 1;
        case TOTP_ARG_DOOR:
                o->door = arg;
                return 1;
        case TOTP_ARG_TIME:
                o->time_arg = arg;
                return 1;
        default:
                return 0;
        }
}

int verb_totp(int argc, char *argv[]) {
        static const struct option options[] = {
                TOTP_CLIENT_LONG_OPTIONS,
                { "help", no_argument, NULL, 'h' },
                {}
        };
        TotpClientOptions o = {};
        _cleanup_free_ char *message = NULL;
        KnockStep steps[TOTP_COUNT_MAX];
        TotpClient client;
        uint64_t unix_time = 0;
        int c, r;

        opterr = 0;
        optind = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0) {
                if (totp_client_option(c, optarg, &o))
                        continue;
                switch (c) {
                case 'h':
                        help_totp();
                        return EXIT_SUCCESS;
                case ':':
                        say("totp", "option %.*s needs a value", ARG_SHOWN_MAX, argv[optind - 1]);
                        return EXIT_USAGE;
                default:
                        if (optopt != 0)
                                say("totp", "unknown option -%c", optopt);
                        else
                                say("totp", "unknown option \"%.*s\"", ARG_SHOWN_MAX, argv[optind - 1]);
                        return EXIT_USAGE;
                }
        }
        if (optind < argc)
                o.door = argv[optind++];
        if (optind < argc) {
                say("totp", "unexpected argument \"%.*s\"", ARG_SHOWN_MAX, argv[optind]);
                return EXIT_USAGE;
        }
        if (o.time_arg && totp_client_parse_time(o.time_arg, &unix_time) < 0) {
                say("totp", "invalid --time \"%.*s\": expected seconds since 1970", ARG_SHOWN_MAX, o.time_arg);
                return EXIT_USAGE;
        }

        r = totp_client_spec(&o, &client, &message);
        if (r < 0) {
                say("totp", "%s", message ? message : strerror(-r));
                return EXIT_USAGE;
        }
        if (!o.key_file) {
                say("totp", "no key: give --key FILE (one line of base32)");
                return EXIT_USAGE;
        }
        message = mfree(message);
        r = totp_client_prepare(&o, &client, &message);
        if (r < 0) {
                say("totp", "%s", message ? message : strerror(-r));
                totp_key_wipe(&client.key);
                return EXIT_FAILURE;
        }

        r = totp_client_steps(&client, totp_client_counter(&client, o.time_arg, unix_time), steps);
        totp_key_wipe(&client.key);
        if (r < 0) {
                say("totp", "cannot derive the steps: %s", strerror(-r));
                return EXIT_FAILURE;
        }
        for (unsigned i = 0; i < client.params.count; i++) {
                char s[KNOCK_STEP_STRLEN];

                printf("%s%s", i > 0 ? " " : "", knock_step_format(&steps[i], s));
        }
        putchar('\n');
        return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* ---- knockwatch key new ---- */

static void help_key(void) {
        printf("Usage: knockwatch key new KEYNAME [--user NAME] [--key-dir DIR] [--no-qr]\n"
               "\n"
               "Write a new random %u-byte key for the TOTP doors that say key=KEYNAME, to\n"
               "DIR/KEYNAME.key, or with --user to DIR/KEYNAME/NAME.key (one key per user);\n"
               "mode 0600 in directories of mode 0700, never over an existing file. Prints the\n"
               "key in base32 and hex, and as a QR code when qrencode is installed.\n"
               "\n"
               "  --user NAME     a key of this user's own (a-z, 0-9, \"_\", \"-\"; 1-%u)\n"
               "  --key-dir DIR   the key directory (default %s)\n"
               "  --no-qr         no QR code\n"
               "  -h, --help      show this help\n",
               KEY_NEW_BYTES, TOTP_NAME_MAX, KEY_DIR_DEFAULT);
}

/* Open dir_fd/name as a key directory, making it (0700) if it is missing. The daemon
 * would refuse it unless root owns it: when not root, only the mode is checked. */
static int open_key_dir(int dir_fd, const char *name, const char *shown, char **ret_error) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (mkdirat(dir_fd, name, 0700) < 0 && errno != EEXIST)
                return set_error(ret_error, negative_errno(), "cannot make key directory %s: %m", shown);
        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return set_error(ret_error, negative_errno(), "cannot open key directory %s: %m", shown);
        r = key_check_fd(fd, shown, geteuid() == 0 ? KEY_TRUST_ROOT : KEY_TRUST_USER, true, ret_error);
        if (r < 0)
                return r;
        return TAKE_FD(fd);
}

/* The program's path if name is an executable in $PATH; NULL otherwise. */
static const char *find_program(const char *name, char *buf, size_t size) {
        const char *path = getenv("PATH");

        if (!path || !path[0])
                path = "/usr/local/bin:/usr/bin:/bin";
        for (const char *p = path; *p; ) {
                size_t n = strcspn(p, ":");

                if (n > 0 && p[0] == '/' && (size_t) snprintf(buf, size, "%.*s/%s", (int) n, p, name) < size &&
                    access(buf, X_OK) == 0)
                        return buf;
                p += n;
                if (*p == ':')
                        p++;
        }
        return NULL;
}

/* qrencode -t ANSIUTF8 (UTF8 off a terminal), the text on its standard input. Returns 0
 * when it drew the code, 1 if qrencode is not installed, -errno otherwise. */
static int print_qr(const char *text) {
        char program[PATH_MAX];
        const char *type = isatty(STDOUT_FILENO) ? "ANSIUTF8" : "UTF8";
        char *argv[] = { (char *) "qrencode", (char *) "-t", (char *) type, NULL };
        posix_spawn_file_actions_t actions;
        int pipefd[2], status, r;
        size_t n = strlen(text);
        pid_t pid;

        if (!find_program("qrencode", program, sizeof(program)))
                return 1;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        r = posix_spawn_file_actions_init(&actions);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&actions, pipefd[0], STDIN_FILENO);
        if (r == 0) {
                fflush(stdout);
                r = posix_spawn(&pid, program, &actions, NULL, argv, environ);
        }
        posix_spawn_file_actions_destroy(&actions);
        safe_close(pipefd[0]);
        if (r != 0) {
                safe_close(pipefd[1]);
                return -r;
        }
        if (write(pipefd[1], text, n) != (ssize_t) n)
                r = -EIO;
        safe_close(pipefd[1]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (r < 0)
                return r;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static int key_new(const char *keyname, const char *user, const char *key_dir, bool qr) {
        _cleanup_close_ int dfd = -EBADF, ufd = -EBADF;
        _cleanup_free_ char *message = NULL;
        char b32[BASE32_LEN(KEY_NEW_BYTES) + 1], hexbuf[2 * KEY_NEW_BYTES + 1];
        char file[TOTP_NAME_MAX + STRLEN(KEY_FILE_SUFFIX) + 1], sub[PATH_MAX], shown[PATH_MAX + sizeof(file) + 1];
        uint8_t key[KEY_NEW_BYTES];
        size_t got = 0;
        int r, target;

        dfd = open_key_dir(AT_FDCWD, key_dir, key_dir, &message);
        if (dfd < 0) {
                say("key", "%s", message);
                return EXIT_FAILURE;
        }
        target = dfd;
        if (user) {
                snprintf(sub, sizeof(sub), "%s/%s", key_dir, keyname);
                ufd = open_key_dir(dfd, keyname, sub, &message);
                if (ufd < 0) {
                        say("key", "%s", message);
                        return EXIT_FAILURE;
                }
                target = ufd;
                snprintf(file, sizeof(file), "%s" KEY_FILE_SUFFIX, user);
                snprintf(shown, sizeof(shown), "%s/%s", sub, file);
        } else {
                snprintf(file, sizeof(file), "%s" KEY_FILE_SUFFIX, keyname);
                snprintf(shown, sizeof(shown), "%s/%s", key_dir, file);
        }

        while (got < sizeof(key)) {
                ssize_t k = getrandom(key + got, sizeof(key) - got, 0);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        say("key", "cannot draw a random key: %s", strerror(errno));
                        return EXIT_FAILURE;
                }
                got += (size_t) k;
        }

        r = key_file_create(target, file, key, sizeof(key));
        if (r < 0) {
                explicit_bzero(key, sizeof(key));
                if (r == -EEXIST)
                        say("key", "%s exists already; not overwriting it (remove it first to replace "
                            "the key)", shown);
                else
                        say("key", "cannot write %s: %s", shown, strerror(-r));
                return EXIT_FAILURE;
        }

        base32_encode(key, sizeof(key), b32, sizeof(b32));
        for (size_t i = 0; i < sizeof(key); i++)
                sprintf(hexbuf + 2 * i, "%02x", key[i]);
        explicit_bzero(key, sizeof(key));

        printf("key file: %s\n"
               "base32:   %s\n"
               "hex:      %s\n", shown, b32, hexbuf);
        if (qr) {
                r = print_qr(b32);
                if (r < 0)
                        say("key", "qrencode failed (%s); the key is written all the same", strerror(-r));
        }
        if (user)
                printf("Under the shipped unit: LoadCredential=" KEY_CREDENTIAL_PREFIX "%s.d:%s\n",
                       keyname, sub);
        else
                printf("Under the shipped unit: LoadCredential=" KEY_CREDENTIAL_PREFIX "%s:%s\n",
                       keyname, shown);
        explicit_bzero(b32, sizeof(b32));
        explicit_bzero(hexbuf, sizeof(hexbuf));
        return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int verb_key(int argc, char *argv[]) {
        enum { ARG_USER = 0x100, ARG_KEY_DIR, ARG_NO_QR };
        static const struct option options[] = {
                { "user", required_argument, NULL, ARG_USER },
                { "key-dir", required_argument, NULL, ARG_KEY_DIR },
                { "no-qr", no_argument, NULL, ARG_NO_QR },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *user = NULL, *key_dir = KEY_DIR_DEFAULT, *keyname;
        bool qr = true;
        int c;

        opterr = 0;
        optind = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case ARG_USER:
                        user = optarg;
                        break;
                case ARG_KEY_DIR:
                        key_dir = optarg;
                        break;
                case ARG_NO_QR:
                        qr = false;
                        break;
                case 'h':
                        help_key();
                        return EXIT_SUCCESS;
                case ':':
                        say("key", "option %.*s needs a value", ARG_SHOWN_MAX, argv[optind - 1]);
                        return EXIT_USAGE;
                default:
                        if (optopt != 0)
                                say("key", "unknown option -%c", optopt);
                        else
                                say("key", "unknown option \"%.*s\"", ARG_SHOWN_MAX, argv[optind - 1]);
                        return EXIT_USAGE;
                }

        if (optind >= argc || !streq(argv[optind], "new")) {
                say("key", "expected \"key new KEYNAME\" (see knockwatch key --help)");
                return EXIT_USAGE;
        }
        if (optind + 1 >= argc) {
                say("key", "missing KEYNAME");
                return EXIT_USAGE;
        }
        keyname = argv[optind + 1];
        if (optind + 2 < argc) {
                say("key", "unexpected argument \"%.*s\"", ARG_SHOWN_MAX, argv[optind + 2]);
                return EXIT_USAGE;
        }
        if (!totp_name_valid(keyname)) {
                say("key", "invalid KEYNAME \"%.*s\": 1-%u of a-z, 0-9, \"_\" and \"-\"", ARG_SHOWN_MAX,
                    keyname, TOTP_NAME_MAX);
                return EXIT_USAGE;
        }
        if (user && !totp_name_valid(user)) {
                say("key", "invalid --user \"%.*s\": 1-%u of a-z, 0-9, \"_\" and \"-\"", ARG_SHOWN_MAX,
                    user, TOTP_NAME_MAX);
                return EXIT_USAGE;
        }
        if (key_dir[0] != '/') {
                say("key", "--key-dir takes an absolute path");
                return EXIT_USAGE;
        }
        return key_new(keyname, user, key_dir, qr);
}
