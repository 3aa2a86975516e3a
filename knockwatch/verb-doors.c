/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * verb-doors.c — the commands that read or change the doors' sets directly:
 *
 *   knockwatch check  [--table=T]                      report the doors and every problem
 *   knockwatch status [--table=T] [--runtime-dir=D] [--json[=pretty]]
 *                                                      doors, live grants, daemon counters
 *   knockwatch metrics [--runtime-dir=D]               the counters for Prometheus
 *   knockwatch grant  [--table=T] [--timeout=D] DOOR ADDR
 *   knockwatch revoke [--table=T] DOOR ADDR
 *
 * They talk to the kernel, not to the daemon: a running daemon sees grant and revoke
 * through nftables notifications like any other change. grant and revoke write an
 * audit record (reason "manual") as the daemon does for its own changes.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "audit.h"
#include "client.h"
#include "daemon.h"
#include "door.h"
#include "duration.h"
#include "json.h"
#include "log.h"
#include "logrules.h"
#include "metrics.h"
#include "nft.h"
#include "status.h"
#include "string-util.h"
#include "sysctl-util.h"
#include "keyfile.h"
#include "time-util.h"
#include "totp-check.h"
#include "verbs.h"

#define GRANT_TIMEOUT_MAX_MS (30ULL * 86400 * 1000)

typedef struct VerbOptions {
        NftTable table;
        const char *runtime_dir;
        uint64_t timeout_ms;        /* grant: 0 = the set's default */
        const char *ruleset;        /* check: the ruleset file whose mode to check */
        const char *key_dir;        /* check: the rotating doors' keys (NULL: the default) */
        bool json;                  /* status --json */
        JsonFlags json_flags;
        char table_label[DOOR_SET_NAME_MAX + 8];
} VerbOptions;

/* Which of the shared options a verb takes (besides --table and --help). */
typedef enum VerbOptionSet {
        WITH_TIMEOUT = 1 << 0,
        WITH_RUNTIME_DIR = 1 << 1,
        WITH_JSON = 1 << 2,
        WITH_RULESET = 1 << 3,
        WITH_KEY_DIR = 1 << 4,
} VerbOptionSet;

/* Parse the options the door verbs share; on return argv[optind…] are the positional
 * arguments. Returns 0, 1 if help was shown, or -EINVAL (error already printed). */
static int parse_verb_options(int argc, char *argv[], const char *usage, const char *help,
                              VerbOptionSet accepted, VerbOptions *o) {
        enum { ARG_RUNTIME_DIR = 0x100, ARG_JSON, ARG_RULESET, ARG_KEY_DIR };
        static const struct option options[] = {
                { "table", required_argument, NULL, 't' },
                { "timeout", required_argument, NULL, 'T' },
                { "runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR },
                { "json", optional_argument, NULL, ARG_JSON },
                { "ruleset", required_argument, NULL, ARG_RULESET },
                { "key-dir", required_argument, NULL, ARG_KEY_DIR },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *e = getenv("RUNTIME_DIRECTORY");
        int c;

        *o = (VerbOptions) {
                .runtime_dir = e && e[0] == '/' ? e : RUNTIME_DIR_DEFAULT,
                .ruleset = RULESET_DEFAULT,
        };
        (void) nft_table_parse(NFT_TABLE_DEFAULT, &o->table);
        optind = 0;
        /* Options may follow the positional arguments ("grant ssh 192.0.2.7 --timeout=1h"). */
        while ((c = getopt_long(argc, argv, "hT:t:", options, NULL)) >= 0)
                switch (c) {
                case 't':
                        if (nft_table_parse(optarg, &o->table) < 0) {
                                log_error("Invalid --table \"%s\": expected FAMILY:NAME with FAMILY "
                                          "inet, ip or ip6, e.g. inet:knockwatch.", optarg);
                                return -EINVAL;
                        }
                        break;
                case 'T':
                        if (!(accepted & WITH_TIMEOUT))
                                goto unknown;
                        if (duration_parse_ms(optarg, strlen(optarg), GRANT_TIMEOUT_MAX_MS, &o->timeout_ms) < 0) {
                                log_error("Invalid --timeout \"%s\": expected a duration such as 90s, "
                                          "10m or 1h30m, at most 30d.", optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_RUNTIME_DIR:
                        if (!(accepted & WITH_RUNTIME_DIR))
                                goto unknown;
                        o->runtime_dir = optarg;
                        break;
                case ARG_RULESET:
                        if (!(accepted & WITH_RULESET))
                                goto unknown;
                        o->ruleset = optarg;
                        break;
                case ARG_KEY_DIR:
                        if (!(accepted & WITH_KEY_DIR))
                                goto unknown;
                        o->key_dir = optarg;
                        break;
                case ARG_JSON:
                        if (!(accepted & WITH_JSON))
                                goto unknown;
                        if (optarg && !streq(optarg, "pretty") && !streq(optarg, "short")) {
                                log_error("Invalid --json \"%s\": expected short or pretty.", optarg);
                                return -EINVAL;
                        }
                        o->json = true;
                        o->json_flags = optarg && streq(optarg, "pretty") ? JSON_PRETTY : 0;
                        break;
                case 'h':
                        printf("Usage: knockwatch %s\n\n%s", usage, help);
                        return 1;
                default:
                unknown:
                        log_error("Usage: knockwatch %s", usage);
                        return -EINVAL;
                }
        (void) nft_table_format(&o->table, o->table_label, sizeof(o->table_label));
        return 0;
}

typedef struct ProblemCount {
        unsigned errors, warnings;
        bool print;
} ProblemCount;

static void on_problem(DoorSeverity severity, const char *set, const char *message, void *userdata) {
        ProblemCount *p = userdata;

        if (severity == DOOR_ERROR)
                p->errors++;
        else
                p->warnings++;
        if (p->print)
                printf("%s: %s\n", severity == DOOR_ERROR ? "error" : "warning", message);
}

/* Read the doors; failures are explained in one line naming the table. */
/* Read the table's sets; failures are explained in one line naming the table. */
static int load_sets(Nft *nft, const VerbOptions *o, DoorSetInfo **ret_sets, size_t *ret_n) {
        int r;

        r = nft_get_sets(nft, &o->table, ret_sets, ret_n);
        if (r == -ENOENT)
                return log_error_errno(r, "Table %s does not exist; load the ruleset first "
                                       "(nft -f /etc/knockwatch/knockwatch.nft).", o->table_label);
        if (r == -EPERM || r == -EACCES)
                return log_error_errno(r, "Cannot read table %s: %m; this needs CAP_NET_ADMIN "
                                       "(run as root).", o->table_label);
        if (r < 0)
                return log_error_errno(r, "Cannot read table %s: %m", o->table_label);
        return 0;
}

static int load_doors(Nft *nft, const VerbOptions *o, ProblemCount *problems, Door **ret_doors,
                      size_t *ret_n) {
        _cleanup_free_ DoorSetInfo *sets = NULL;
        size_t n_sets = 0;
        int r;

        r = load_sets(nft, o, &sets, &n_sets);
        if (r < 0)
                return r;
        r = doors_build(sets, n_sets, ret_doors, ret_n, on_problem, problems);
        if (r < 0)
                return log_error_errno(r, "Cannot build the doors of table %s: %m", o->table_label);
        return 0;
}

static int open_nft(Nft **ret) {
        int r = nft_open(ret);

        if (r < 0)
                return log_error_errno(r, "Cannot open a netfilter netlink socket: %m");
        return 0;
}

/* One set of a door; with nft, also its live grants from the kernel. */
static void print_set(Nft *nft, const VerbOptions *o, const char *family, const char *set,
                      uint64_t timeout_ms, unsigned prefix) {
        _cleanup_free_ NftElement *elements = NULL;
        char span[DURATION_STRLEN], addr[KNOCK_PREFIX_STRLEN];
        size_t n = 0;
        int r;

        printf("  %s set %s, grants last %s", family, set, duration_format_ms(timeout_ms, span));
        if (prefix > 0 && prefix < (streq(family, "IPv4") ? 32U : 128U))
                printf(" and cover the source's /%u", prefix);
        if (!nft) {
                printf("\n");
                return;
        }
        r = nft_get_elements(nft, &o->table, set, &elements, &n);
        if (r < 0) {
                printf(": cannot list its grants: %s\n", strerror(-r));
                return;
        }
        printf(": %zu live\n", n);
        for (size_t i = 0; i < n; i++) {
                const NftElement *e = &elements[i];

                if (e->timeout_ms == 0)
                        printf("    %s, permanent (no timeout)\n", knock_prefix_format(&e->addr, prefix, addr));
                else
                        printf("    %s, %s left\n", knock_prefix_format(&e->addr, prefix, addr),
                               duration_format_ms(e->expires_ms / 1000 * 1000, span));
        }
}

static void print_door(Nft *nft, const VerbOptions *o, const Door *door) {
        char spec[512];

        (void) door_spec_format(&door->spec, spec, sizeof(spec));
        printf("door %s: %s\n", door->spec.name, spec);
        if (door->spec.fleet == DOOR_FLEET_TAKE)
                printf("  taken from the fleet (knockwatch --fleet=…): no sequence here\n");
        if (!nft && door->spec.has_sequence && door->spec.is_totp) {
                char keys[1024];

                totp_describe_keys(door, o->key_dir, getenv("CREDENTIALS_DIRECTORY"), keys, sizeof(keys));
                printf("  rotating: %s\n", keys);
        }
        if (door->set4[0])
                print_set(nft, o, "IPv4", door->set4, door->timeout4_ms, door->prefix4);
        if (door->set6[0])
                print_set(nft, o, "IPv6", door->set6, door->timeout6_ms, door->prefix6);
}

static int read_daemon_status(const VerbOptions *o, DaemonStatus *ret);

/* The ruleset file holds the log prefix's secret: as private as the kernel log, or no secret. */
static void check_ruleset_file(const VerbOptions *o, ProblemCount *problems) {
        struct stat st;
        char message[PATH_MAX + 256];

        if (!o->ruleset || !o->ruleset[0] || stat(o->ruleset, &st) < 0)
                return;
        if (!(st.st_mode & S_IROTH))
                return;
        (void) snprintf(message, sizeof(message), "%s (mode %04o) can be read by every user, and a "
                        "secret in its log prefix is no secret then; chmod 0600 %s (or 0640, group adm)",
                        o->ruleset, (unsigned) (st.st_mode & 07777), o->ruleset);
        on_problem(DOOR_WARNING, NULL, message, problems);
}

/* A window no knock in the default pace fits, or one shorter than the file source can time. */
static void check_windows(const VerbOptions *o, const Door *doors, size_t n, ProblemCount *problems) {
        DaemonStatus s;
        bool file_source = read_daemon_status(o, &s) >= 0 && startswith(s.source, "file ");

        for (size_t i = 0; i < n; i++) {
                const DoorSpec *spec = &doors[i].spec;
                usec_t pace = spec->n_open > 1 ? (spec->n_open - 1) * CLIENT_DELAY_DEFAULT : 0;
                char message[512], w[DURATION_STRLEN];

                if (!spec->has_sequence || spec->is_totp)
                        continue;
                (void) duration_format_ms(spec->window / USEC_PER_MSEC, w);
                if (spec->window < pace + CLIENT_DELAY_DEFAULT) {
                        (void) snprintf(message, sizeof(message), "door \"%s\": its window (%s) is "
                                        "shorter than %u steps take with knockwatch knock's default pace "
                                        "(%llu ms apart) and the kernel's logging; give it more, or knock "
                                        "with --delay", spec->name, w, spec->n_open,
                                        (unsigned long long) (CLIENT_DELAY_DEFAULT / USEC_PER_MSEC));
                        on_problem(DOOR_WARNING, NULL, message, problems);
                } else if (file_source && spec->window < USEC_PER_SEC) {
                        (void) snprintf(message, sizeof(message), "door \"%s\": its window (%s) is "
                                        "under a second, and the file source times knocks by when it "
                                        "reads them (after the syslog daemon): use kmsg or the journal, "
                                        "which time them by the kernel's clock", spec->name, w);
                        on_problem(DOOR_WARNING, NULL, message, problems);
                }
        }
}

/* Whether knocks from the log can be trusted, and whether every step is logged. */
static void check_log_rules(Nft *nft, const VerbOptions *o, const Door *doors, size_t n,
                            ProblemCount *problems) {
        _cleanup_(nft_rules_done) NftRules rules = {};
        char text[1024], secret[LOGLINE_SECRET_LEN_NEW + 1];
        const char *problem;
        LogTrust trust;
        int r;

        r = nft_get_rules(nft, &o->table, &rules);
        if (r < 0) {
                (void) snprintf(text, sizeof(text), "cannot read the rules of table %s: %s",
                                o->table_label, strerror(-r));
                on_problem(DOOR_ERROR, NULL, text, problems);
                return;
        }
        log_trust_compute(&rules, sysctl_read_nf_log_all_netns(), &trust);
        problem = log_trust_problem(&trust, o->table_label, text, sizeof(text));
        if (problem) {
                char message[sizeof(text) + 128];

                if (log_secret_new(secret) >= 0)
                        (void) snprintf(message, sizeof(message), "%s; a fresh secret: log prefix "
                                        "\"PORT_KNOCKING %s \"", problem, secret);
                else
                        (void) snprintf(message, sizeof(message), "%s", problem);
                on_problem(DOOR_ERROR, NULL, message, problems);
        }
        (void) logrules_check(&rules, &trust, doors, n, on_problem, problems);
}

int verb_check(int argc, char *argv[]) {
        _cleanup_(nft_freep) Nft *nft = NULL;
        _cleanup_free_ Door *doors = NULL;
        ProblemCount problems = { .print = true };
        VerbOptions o;
        size_t n = 0;
        int r;

        r = parse_verb_options(argc, argv, "check [--table=FAMILY:NAME] [--ruleset=FILE] [--key-dir=DIR]",
                               "Read the doors from the table's set comments and report them and every\n"
                               "problem, naming the set (and the column of a comment that does not parse):\n"
                               "also whether knocks can be trusted (nf_log_all_netns and the log prefix's\n"
                               "secret), every door step without a log rule, and the ruleset file's mode;\n"
                               "for rotating doors, their keys, the clock, and sockets in their ranges.\n"
                               "Exit status 1 if there is an error or no usable door.\n\n"
                               "  -t, --table=FAMILY:NAME  the table (default " NFT_TABLE_DEFAULT ")\n"
                               "      --ruleset=FILE       the ruleset file (default " RULESET_DEFAULT ")\n"
                               "      --key-dir=DIR        the rotating doors' keys (default " KEY_DIR_DEFAULT ")\n",
                               WITH_RULESET | WITH_KEY_DIR, &o);
        if (r != 0)
                return r > 0 ? EXIT_SUCCESS : EXIT_USAGE;
        if (optind != argc) {
                log_error("Usage: knockwatch check [--table=FAMILY:NAME] [--ruleset=FILE] [--key-dir=DIR]");
                return EXIT_USAGE;
        }
        if (open_nft(&nft) < 0 || load_doors(nft, &o, &problems, &doors, &n) < 0)
                return EXIT_FAILURE;
        check_log_rules(nft, &o, doors, n, &problems);
        check_windows(&o, doors, n, &problems);
        check_ruleset_file(&o, &problems);
        totp_check_host(doors, n, o.key_dir, getenv("CREDENTIALS_DIRECTORY"), on_problem, &problems);

        printf("table %s: %zu door(s), %u error(s), %u warning(s)\n", o.table_label, n,
               problems.errors, problems.warnings);
        for (size_t i = 0; i < n; i++)
                print_door(NULL, &o, &doors[i]);
        if (n == 0)
                printf("error: no usable door; knocks would open nothing\n");
        return problems.errors > 0 || n == 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* The running daemon's status file: 0, -ESRCH if no daemon runs (no file, or its PID is
 * gone), or another -errno (a file that does not parse: -EBADMSG). */
static int read_daemon_status(const VerbOptions *o, DaemonStatus *ret) {
        int r;

        r = status_read(o->runtime_dir, ret);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        if (ret->pid == 0 || ret->pid > INT32_MAX || (kill((pid_t) ret->pid, 0) < 0 && errno == ESRCH))
                return -ESRCH;
        return 0;
}

static void print_daemon_status(const VerbOptions *o, const DaemonStatus *s, int status_error) {
        char when[64] = "?";
        time_t t;

        if (status_error < 0) {
                if (status_error == -ESRCH)
                        printf("daemon: not running (no live status in %s)\n", o->runtime_dir);
                else
                        printf("daemon: unknown (cannot read the status in %s: %s)\n", o->runtime_dir,
                               strerror(-status_error));
                return;
        }
        t = (time_t) (s->started_realtime / USEC_PER_SEC);
        (void) strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
        printf("daemon: running, pid %llu, since %s, table %s\n", (unsigned long long) s->pid, when, s->table);
        printf("  source: %s\n", s->source);
        if (s->problem[0])
                printf("  error: %s\n", s->problem);
        printf("  lines %llu: knocks %llu, not knocks %llu, rejected %llu; records lost %llu; "
               "stale after a restart %llu\n",
               (unsigned long long) s->lines, (unsigned long long) s->knocks,
               (unsigned long long) s->not_knocks, (unsigned long long) s->rejected,
               (unsigned long long) s->lost, (unsigned long long) s->stale);
        if (s->rejected > 0) {
                const char *sep = "";

                printf("  rejected by reason:");
                for (int r = 0; r < _REJECT_REASON_MAX; r++)
                        if (s->rejected_by[r] > 0) {
                                printf("%s %s %llu", sep, reject_reason_to_string(r),
                                       (unsigned long long) s->rejected_by[r]);
                                sep = ",";
                        }
                printf("\n");
        }
        printf("  sequences completed %llu: grants %llu, refreshes %llu, revokes %llu; expiries %llu; "
               "nft errors %llu\n",
               (unsigned long long) s->sequences, (unsigned long long) s->grants,
               (unsigned long long) s->refreshes, (unsigned long long) s->revokes,
               (unsigned long long) s->expiries, (unsigned long long) s->errors);
        printf("  sources part-way through a sequence: %llu of %llu (evicted %llu)\n",
               (unsigned long long) s->in_progress, (unsigned long long) s->capacity,
               (unsigned long long) s->evictions);
        if (s->hook_runs + s->hook_failures + s->hook_drops > 0)
                printf("  hooks run %llu: failed %llu (timed out %llu); dropped %llu\n",
                       (unsigned long long) s->hook_runs, (unsigned long long) s->hook_failures,
                       (unsigned long long) s->hook_timeouts, (unsigned long long) s->hook_drops);
        if (s->fleet_broker[0]) {
                uint64_t refused = s->fleet_rejected_other;

                for (int r = 0; r < _FLEET_REJECT_MAX; r++)
                        refused += s->fleet_rejected[r];
                printf("  fleet %s through %s: %s (connects %llu, disconnects %llu, failed attempts %llu)\n",
                       s->fleet_name, s->fleet_broker, s->fleet_connected ? "connected" : "not connected",
                       (unsigned long long) s->fleet_connects, (unsigned long long) s->fleet_disconnects,
                       (unsigned long long) s->fleet_connect_failures);
                printf("    published %llu (acknowledged %llu, waiting %llu, dropped %llu, refreshes held "
                       "back %llu); received %llu: applied %llu, our own %llu, refused %llu\n",
                       (unsigned long long) s->fleet_published, (unsigned long long) s->fleet_acked,
                       (unsigned long long) s->fleet_queued, (unsigned long long) s->fleet_dropped,
                       (unsigned long long) s->fleet_refreshes_held,
                       (unsigned long long) s->fleet_received, (unsigned long long) s->fleet_accepted,
                       (unsigned long long) s->fleet_own, (unsigned long long) refused);
                if (s->fleet_subscribe_refused > 0)
                        printf("    the broker refused the subscription %llu time(s): nothing is taken "
                               "from the fleet (its ACL)\n", (unsigned long long) s->fleet_subscribe_refused);
        }
}

static void print_door_counters(const DoorStatus *d) {
        printf("  counted: knocks %llu, sequences %llu, grants %llu, refreshes %llu, revokes %llu, "
               "expiries %llu\n",
               (unsigned long long) d->counter[DOOR_COUNTER_KNOCKS],
               (unsigned long long) d->counter[DOOR_COUNTER_SEQUENCES],
               (unsigned long long) d->counter[DOOR_COUNTER_GRANTS],
               (unsigned long long) d->counter[DOOR_COUNTER_REFRESHES],
               (unsigned long long) d->counter[DOOR_COUNTER_REVOKES],
               (unsigned long long) d->counter[DOOR_COUNTER_EXPIRIES]);
        if (d->counter[DOOR_COUNTER_REPLAYS] > 0)
                printf("  refused: %llu window(s) completed too late\n",
                       (unsigned long long) d->counter[DOOR_COUNTER_REPLAYS]);
}

/* The table's named counters ("counter knock_logged { }" and the like): what the ruleset
 * logged for knockwatch and what it dropped unlogged, beside the records the log lost. */
static void print_counters(Nft *nft, const VerbOptions *o) {
        _cleanup_free_ NftCounter *counters = NULL;
        size_t n = 0;
        int r;

        r = nft_get_counters(nft, &o->table, &counters, &n);
        if (r < 0) {
                printf("  counters: cannot read them: %s\n", strerror(-r));
                return;
        }
        if (n == 0)
                return;
        printf("  counters:");
        for (size_t i = 0; i < n; i++)
                printf("%s %s %llu packet(s)", i > 0 ? "," : "", counters[i].name,
                       (unsigned long long) counters[i].packets);
        printf("\n");
}

static void json_counters(JsonWriter *w, Nft *nft, const VerbOptions *o) {
        _cleanup_free_ NftCounter *counters = NULL;
        size_t n = 0;

        json_key(w, "counters");
        if (!nft || nft_get_counters(nft, &o->table, &counters, &n) < 0) {
                json_null(w);
                return;
        }
        json_array_begin(w);
        for (size_t i = 0; i < n; i++) {
                json_object_begin(w);
                json_field_string(w, "name", counters[i].name);
                json_field_uint(w, "packets", counters[i].packets);
                json_field_uint(w, "bytes", counters[i].bytes);
                json_object_end(w);
        }
        json_array_end(w);
}

/* ---- status --json: the object documented in knockwatch(8), "version": 1 ----------- */

#define STATUS_JSON_VERSION 1

static void json_daemon(JsonWriter *w, const VerbOptions *o, const DaemonStatus *s, int status_error) {
        json_key(w, "daemon");
        json_object_begin(w);
        json_field_bool(w, "running", status_error >= 0);
        if (status_error < 0) {
                json_field_string(w, "status_dir", o->runtime_dir);
                json_field_string(w, "error", status_error == -ESRCH ? NULL : strerror(-status_error));
                json_object_end(w);
                return;
        }
        json_field_uint(w, "pid", s->pid);
        json_field_uint(w, "started_usec", s->started_realtime);
        json_field_uint(w, "updated_usec", s->updated_realtime);
        json_field_string(w, "source", s->source);
        json_field_string(w, "table", s->table);
        json_field_string(w, "problem", s->problem[0] ? s->problem : NULL);
        json_key(w, "counters");
        json_object_begin(w);
        json_field_uint(w, "lines", s->lines);
        json_field_uint(w, "knocks", s->knocks);
        json_field_uint(w, "not_knocks", s->not_knocks);
        json_field_uint(w, "rejected", s->rejected);
        json_key(w, "rejected_by_reason");
        json_object_begin(w);
        for (int r = 0; r < _REJECT_REASON_MAX; r++)
                json_field_uint(w, reject_reason_to_string(r), s->rejected_by[r]);
        json_object_end(w);
        json_field_uint(w, "records_lost", s->lost);
        json_field_uint(w, "stale", s->stale);
        json_field_uint(w, "sequences", s->sequences);
        json_field_uint(w, "grants", s->grants);
        json_field_uint(w, "refreshes", s->refreshes);
        json_field_uint(w, "revokes", s->revokes);
        json_field_uint(w, "expiries", s->expiries);
        json_field_uint(w, "nft_errors", s->errors);
        json_field_uint(w, "live_grants", s->live_grants);
        json_field_uint(w, "doors", s->doors);
        json_field_uint(w, "sources_in_progress", s->in_progress);
        json_field_uint(w, "sources_capacity", s->capacity);
        json_field_uint(w, "evictions", s->evictions);
        json_field_uint(w, "hook_runs", s->hook_runs);
        json_field_uint(w, "hook_failures", s->hook_failures);
        json_field_uint(w, "hook_timeouts", s->hook_timeouts);
        json_field_uint(w, "hook_drops", s->hook_drops);
        json_object_end(w);
        json_object_end(w);
        if (!s->fleet_broker[0])
                return;
        json_key(w, "fleet");
        json_object_begin(w);
        json_field_string(w, "broker", s->fleet_broker);
        json_field_string(w, "name", s->fleet_name);
        json_field_bool(w, "connected", s->fleet_connected);
        json_field_uint(w, "connects", s->fleet_connects);
        json_field_uint(w, "disconnects", s->fleet_disconnects);
        json_field_uint(w, "connect_failures", s->fleet_connect_failures);
        json_field_uint(w, "published", s->fleet_published);
        json_field_uint(w, "acked", s->fleet_acked);
        json_field_uint(w, "dropped", s->fleet_dropped);
        json_field_uint(w, "queued", s->fleet_queued);
        json_field_uint(w, "received", s->fleet_received);
        json_field_uint(w, "accepted", s->fleet_accepted);
        json_field_uint(w, "own", s->fleet_own);
        json_field_uint(w, "subscribe_refused", s->fleet_subscribe_refused);
        json_field_uint(w, "refreshes_held", s->fleet_refreshes_held);
        json_key(w, "rejected");
        json_object_begin(w);
        for (int r = 0; r < _FLEET_REJECT_MAX; r++)
                json_field_uint(w, fleet_reject_to_string((FleetReject) r), s->fleet_rejected[r]);
        json_field_uint(w, "other", s->fleet_rejected_other);
        json_object_end(w);
        json_object_end(w);
}

static void json_steps(JsonWriter *w, const char *key, const KnockStep *steps, unsigned n) {
        char step[KNOCK_STEP_STRLEN];

        json_key(w, key);
        json_array_begin(w);
        for (unsigned i = 0; i < n; i++)
                json_string(w, knock_step_format(&steps[i], step));
        json_array_end(w);
}

static void json_set(JsonWriter *w, Nft *nft, const VerbOptions *o, const char *family, const char *set,
                     uint64_t timeout_ms, unsigned prefix) {
        _cleanup_free_ NftElement *elements = NULL;
        char addr[KNOCK_ADDR_STRLEN], text[KNOCK_PREFIX_STRLEN];
        size_t n = 0;
        int r;

        json_object_begin(w);
        json_field_string(w, "family", family);
        json_field_string(w, "name", set);
        json_field_uint(w, "timeout_ms", timeout_ms);
        json_field_uint(w, "prefix_len", prefix);
        r = nft_get_elements(nft, &o->table, set, &elements, &n);
        json_key(w, "grants");
        if (r < 0)
                json_null(w);
        else {
                json_array_begin(w);
                for (size_t i = 0; i < n; i++) {
                        json_object_begin(w);
                        json_field_string(w, "address", knock_addr_format(&elements[i].addr, addr));
                        json_field_string(w, "prefix", knock_prefix_format(&elements[i].addr, prefix, text));
                        json_key(w, "left_ms");
                        if (elements[i].timeout_ms == 0)
                                json_null(w);    /* permanent: no timeout */
                        else
                                json_uint(w, elements[i].expires_ms);
                        json_field_uint(w, "timeout_ms", elements[i].timeout_ms);
                        json_object_end(w);
                }
                json_array_end(w);
        }
        json_field_string(w, "error", r < 0 ? strerror(-r) : NULL);
        json_object_end(w);
}

static void json_door(JsonWriter *w, Nft *nft, const VerbOptions *o, const Door *door,
                      const DaemonStatus *s, bool have_status) {
        const DoorStatus *d = have_status ? status_get_door(s, door->spec.name) : NULL;
        char spec[512];

        (void) door_spec_format(&door->spec, spec, sizeof(spec));
        json_object_begin(w);
        json_field_string(w, "name", door->spec.name);
        json_field_string(w, "sequence", spec);
        json_steps(w, "open", door->spec.open, door->spec.n_open);
        json_steps(w, "close", door->spec.close, door->spec.n_close);
        json_field_uint(w, "window_ms", door->spec.window / USEC_PER_MSEC);
        json_key(w, "sets");
        json_array_begin(w);
        if (door->set4[0])
                json_set(w, nft, o, "ipv4", door->set4, door->timeout4_ms, door->prefix4);
        if (door->set6[0])
                json_set(w, nft, o, "ipv6", door->set6, door->timeout6_ms, door->prefix6);
        json_array_end(w);
        json_key(w, "counters");
        if (!d)
                json_null(w);
        else {
                json_object_begin(w);
                for (int c = 0; c < _DOOR_COUNTER_MAX; c++)
                        json_field_uint(w, door_counter_to_string(c), d->counter[c]);
                json_field_uint(w, "live_grants", d->live_grants);
                json_object_end(w);
        }
        json_object_end(w);
}

/* One object on stdout, whatever fails; failures are also said on stderr. */
static int status_json(const VerbOptions *o) {
        _cleanup_(nft_freep) Nft *nft = NULL;
        _cleanup_free_ Door *doors = NULL;
        _cleanup_free_ DaemonStatus *s = malloc(sizeof(DaemonStatus));
        ProblemCount problems = {};
        const char *error = NULL;
        char error_buf[512];
        JsonWriter w;
        size_t n = 0;
        int r, status_error;

        if (!s)
                return log_oom(), EXIT_FAILURE;
        status_error = read_daemon_status(o, s);
        r = nft_open(&nft);
        if (r < 0) {
                log_error_errno(r, "Cannot open a netfilter netlink socket: %m");
                (void) snprintf(error_buf, sizeof(error_buf), "cannot open a netfilter netlink socket: %s",
                                strerror(-r));
                error = error_buf;
        } else {
                r = load_doors(nft, o, &problems, &doors, &n);
                if (r < 0) {
                        (void) snprintf(error_buf, sizeof(error_buf), "cannot read table %s: %s",
                                        o->table_label, strerror(-r));
                        error = error_buf;
                }
        }

        json_init(&w, stdout, o->json_flags);
        json_object_begin(&w);
        json_field_uint(&w, "version", STATUS_JSON_VERSION);
        json_field_string(&w, "table", o->table_label);
        json_daemon(&w, o, s, status_error);
        json_key(&w, "doors");
        if (error)
                json_null(&w);
        else {
                json_array_begin(&w);
                for (size_t i = 0; i < n; i++)
                        json_door(&w, nft, o, &doors[i], s, status_error >= 0);
                json_array_end(&w);
        }
        json_counters(&w, error ? NULL : nft, o);
        json_key(&w, "problems");
        json_object_begin(&w);
        json_field_uint(&w, "errors", problems.errors);
        json_field_uint(&w, "warnings", problems.warnings);
        json_object_end(&w);
        json_field_string(&w, "error", error);
        json_object_end(&w);
        r = json_finish(&w);
        if (r < 0)
                return log_error_errno(r, "Cannot write the status: %m"), EXIT_FAILURE;
        return error ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* The sets of doors that are not usable but may still hold grants: shown, so that they can
 * be revoked (a broken comment does not end a grant). */
static void print_unusable_doors(Nft *nft, const VerbOptions *o, const DoorSetInfo *sets, size_t n_sets,
                                 const Door *doors, size_t n_doors) {
        for (size_t i = 0; i < n_sets; i++) {
                char comment[sizeof(sets[i].comment) + 1], name[DOOR_NAME_MAX + 1];

                if (!sets[i].has_comment)
                        continue;
                memcpy(comment, sets[i].comment, sizeof(sets[i].comment));
                comment[sizeof(sets[i].comment)] = 0;
                if (door_comment_name(comment, name) <= 0 || doors_find(doors, n_doors, name))
                        continue;
                printf("door %s: not usable (see knockwatch check); its set %s:\n", name, sets[i].name);
                if (sets[i].key_len == 4 || sets[i].key_len == 16)
                        print_set(nft, o, sets[i].key_len == 4 ? "IPv4" : "IPv6", sets[i].name,
                                  sets[i].timeout_ms, 0);
        }
}

int verb_status(int argc, char *argv[]) {
        static const char usage[] = "status [--table=FAMILY:NAME] [--runtime-dir=DIR] [--json[=pretty]]";
        _cleanup_(nft_freep) Nft *nft = NULL;
        _cleanup_free_ DoorSetInfo *sets = NULL;
        _cleanup_free_ Door *doors = NULL;
        _cleanup_free_ DaemonStatus *s = malloc(sizeof(DaemonStatus));
        ProblemCount problems = {};
        VerbOptions o;
        size_t n = 0, n_sets = 0;
        int r, status_error;

        if (!s)
                return log_oom(), EXIT_FAILURE;
        r = parse_verb_options(argc, argv, usage,
                               "Show whether the daemon runs and its counters, then each door with its\n"
                               "sets and the addresses granted, with the time they have left.\n\n"
                               "  -t, --table=FAMILY:NAME  the table (default " NFT_TABLE_DEFAULT ")\n"
                               "      --runtime-dir=DIR    where the daemon writes its status (default\n"
                               "                           $RUNTIME_DIRECTORY or " RUNTIME_DIR_DEFAULT ")\n"
                               "      --json[=pretty]      all of it as one JSON object (knockwatch(8)\n"
                               "                           documents its fields), on one line or indented\n",
                               WITH_RUNTIME_DIR | WITH_JSON, &o);
        if (r != 0)
                return r > 0 ? EXIT_SUCCESS : EXIT_USAGE;
        if (optind != argc) {
                log_error("Usage: knockwatch %s", usage);
                return EXIT_USAGE;
        }
        if (o.json)
                return status_json(&o);

        status_error = read_daemon_status(&o, s);
        print_daemon_status(&o, s, status_error);
        if (open_nft(&nft) < 0 || load_sets(nft, &o, &sets, &n_sets) < 0)
                return EXIT_FAILURE;
        r = doors_build(sets, n_sets, &doors, &n, on_problem, &problems);
        if (r < 0)
                return log_error_errno(r, "Cannot build the doors of table %s: %m", o.table_label), EXIT_FAILURE;
        printf("table %s: %zu door(s)", o.table_label, n);
        if (problems.errors + problems.warnings > 0)
                printf(" (%u error(s), %u warning(s): see knockwatch check)", problems.errors,
                       problems.warnings);
        printf("\n");
        print_counters(nft, &o);
        for (size_t i = 0; i < n; i++) {
                const DoorStatus *d = status_error >= 0 ? status_get_door(s, doors[i].spec.name) : NULL;

                print_door(nft, &o, &doors[i]);
                if (d)
                        print_door_counters(d);
        }
        print_unusable_doors(nft, &o, sets, n_sets, doors, n);
        return EXIT_SUCCESS;
}

int verb_metrics(int argc, char *argv[]) {
        static const char usage[] = "metrics [--runtime-dir=DIR]";
        _cleanup_free_ DaemonStatus *s = malloc(sizeof(DaemonStatus));
        _cleanup_free_ char *text = malloc(METRICS_FILE_MAX);
        VerbOptions o;
        int r;

        if (!s || !text)
                return log_oom(), EXIT_FAILURE;
        r = parse_verb_options(argc, argv, usage,
                               "Print the running daemon's counters in the Prometheus text format, as\n"
                               "--metrics-file writes them (knockwatch(8) lists the metrics). Exit status\n"
                               "1, and nothing on standard output, when no daemon runs.\n\n"
                               "      --runtime-dir=DIR    where the daemon writes its status (default\n"
                               "                           $RUNTIME_DIRECTORY or " RUNTIME_DIR_DEFAULT ")\n",
                               WITH_RUNTIME_DIR, &o);
        if (r != 0)
                return r > 0 ? EXIT_SUCCESS : EXIT_USAGE;
        if (optind != argc) {
                log_error("Usage: knockwatch %s", usage);
                return EXIT_USAGE;
        }
        r = read_daemon_status(&o, s);
        if (r == -ESRCH)
                return log_error_errno(r, "knockwatch is not running (no live status in %s).",
                                       o.runtime_dir), EXIT_FAILURE;
        if (r < 0)
                return log_error_errno(r, "Cannot read the status in %s: %m", o.runtime_dir), EXIT_FAILURE;
        r = metrics_format(s, text, METRICS_FILE_MAX);
        if (r < 0)
                return log_error_errno(r, "Cannot format the metrics: %m"), EXIT_FAILURE;
        if (fwrite(text, 1, (size_t) r, stdout) != (size_t) r || fflush(stdout) != 0)
                return log_error_errno(EIO, "Cannot write the metrics: %m"), EXIT_FAILURE;
        return EXIT_SUCCESS;
}

static void store_result(uintptr_t cookie, int error, void *userdata) {
        *(int *) userdata = error;
}

/* grant and revoke: find the door and the set for the address's family. */
static bool addr_is_v4_mapped(const KnockAddr *a) {
        static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

        return a->family == AF_INET6 && memcmp(a->bytes, prefix, sizeof(prefix)) == 0;
}

/* The element for ADDRESS[/LEN] in a set of prefix length set_prefix: the address masked to
 * it. A prefix wider than the set's is refused, naming both. */
static int target_prefix(const char *address, unsigned given, unsigned set_prefix, const char *set,
                         KnockAddr *addr, unsigned *ret_prefix) {
        char text[KNOCK_PREFIX_STRLEN];

        if (given < set_prefix)
                return log_error_errno(EINVAL, "%s is wider than what set %s grants (/%u): give an "
                                       "address or a /%u prefix.", address, set, set_prefix, set_prefix);
        knock_addr_mask(addr, set_prefix);
        if (given > set_prefix)
                log_info("Set %s grants /%u prefixes: %s means %s.", set, set_prefix, address,
                         knock_prefix_format(addr, set_prefix, text));
        *ret_prefix = set_prefix;
        return 0;
}

/*
 * The set of door name that address goes into (its family's), with its timeout, and the
 * element: the address, or the prefix the set grants (ADDRESS/LEN, or an address masked to
 * it). A grant needs a usable door; a revoke also reaches the sets of a door that became
 * unusable (a broken comment, say), whose grants are still live.
 */
static int door_target(Nft *nft, const VerbOptions *o, bool grant, const char *name, const char *address,
                       char ret_set[static DOOR_SET_NAME_MAX], uint64_t *ret_timeout_ms, KnockAddr *ret_addr,
                       unsigned *ret_prefix) {
        _cleanup_free_ DoorSetInfo *sets = NULL;
        _cleanup_free_ Door *doors = NULL;
        const DoorSetInfo *named[16];
        ProblemCount problems = {};
        const Door *door;
        size_t n = 0, n_sets = 0, k;
        unsigned given;
        bool v4;
        int r;

        r = knock_prefix_parse(address, ret_addr, &given);
        if (r == -EADDRNOTAVAIL) {
                char text[KNOCK_PREFIX_STRLEN];

                knock_addr_mask(ret_addr, given);
                return log_error_errno(EINVAL, "Invalid prefix \"%s\": it has bits set after /%u; did you "
                                       "mean %s?", address, given, knock_prefix_format(ret_addr, given, text));
        }
        if (r < 0)
                return log_error_errno(EINVAL, "Invalid address \"%s\": expected an IPv4 or IPv6 address, "
                                       "or a prefix such as 2001:db8::/64.", address);
        if (addr_is_v4_mapped(ret_addr))
                return log_error_errno(EINVAL, "Invalid address \"%s\": an IPv4-mapped IPv6 address never "
                                       "matches the IPv6 set (the kernel sees such packets as IPv4); give "
                                       "the IPv4 address.", address);
        v4 = ret_addr->family == AF_INET;
        r = load_sets(nft, o, &sets, &n_sets);
        if (r < 0)
                return r;
        r = doors_build(sets, n_sets, &doors, &n, on_problem, &problems);
        if (r < 0)
                return log_error_errno(r, "Cannot build the doors of table %s: %m", o->table_label);
        door = doors_find(doors, n, name);
        if (door) {
                const char *set = v4 ? door->set4 : door->set6;

                if (!set[0])
                        return log_error_errno(ENOENT, "Door \"%s\" has no IPv%c set.", name, v4 ? '4' : '6');
                strcpy(ret_set, set);
                *ret_timeout_ms = v4 ? door->timeout4_ms : door->timeout6_ms;
                return target_prefix(address, given, v4 ? door->prefix4 : door->prefix6, set, ret_addr,
                                     ret_prefix);
        }
        k = door_sets_named(sets, n_sets, name, named, ELEMENTSOF(named));
        if (grant || k == 0)
                return log_error_errno(ENOENT, "No usable door \"%s\" in table %s (see knockwatch check).",
                                       name, o->table_label);
        for (size_t i = 0; i < MIN(k, ELEMENTSOF(named)); i++)
                if (named[i]->key_len == (v4 ? 4U : 16U)) {
                        DoorSyntaxError error;
                        DoorSpec spec = {};

                        strcpy(ret_set, named[i]->name);
                        *ret_timeout_ms = 0;
                        /* The set's prefix, if its comment still says it; else as given. */
                        if (door_comment_parse(named[i]->comment, &spec, &error) <= 0 || spec.prefix == 0 ||
                            spec.prefix > knock_addr_bits(ret_addr))
                                spec.prefix = (uint16_t) given;
                        return target_prefix(address, given, spec.prefix, ret_set, ret_addr, ret_prefix);
                }
        return log_error_errno(ENOENT, "Door \"%s\" (unusable, see knockwatch check) has no IPv%c set.",
                               name, v4 ? '4' : '6');
}

static int grant_or_revoke(int argc, char *argv[], bool grant) {
        const char *usage = grant ? "grant [--table=FAMILY:NAME] [--timeout=DURATION] DOOR ADDRESS[/LEN]"
                                  : "revoke [--table=FAMILY:NAME] DOOR ADDRESS[/LEN]";
        _cleanup_(nft_freep) Nft *nft = NULL;
        char addr_text[KNOCK_PREFIX_STRLEN], label[DOOR_SET_NAME_MAX * 3], span[DURATION_STRLEN];
        char set[DOOR_SET_NAME_MAX];
        const char *door;
        uint64_t timeout_ms = 0;
        unsigned prefix = 0;
        VerbOptions o;
        KnockAddr addr;
        int r, result = 0;

        r = parse_verb_options(argc, argv, usage,
                               grant ? "Add ADDRESS to the door's set of its family, for the set's timeout or\n"
                                       "DURATION (90s, 10m, 1h30m; at most 30d). A grant that is there is\n"
                                       "restarted. A running daemon logs its expiry. A set that grants\n"
                                       "prefixes (\"/64\" in its comment) takes ADDRESS's prefix.\n\n"
                                       "  -t, --table=FAMILY:NAME  the table (default " NFT_TABLE_DEFAULT ")\n"
                                       "  -T, --timeout=DURATION   how long the grant lasts\n"
                                     : "Remove ADDRESS (or its prefix, where the set grants prefixes) from the\n"
                                       "door's set. Exit status 1 if it held no grant.\n\n"
                                       "  -t, --table=FAMILY:NAME  the table (default " NFT_TABLE_DEFAULT ")\n",
                               grant ? WITH_TIMEOUT : 0, &o);
        if (r != 0)
                return r > 0 ? EXIT_SUCCESS : EXIT_USAGE;
        if (argc - optind != 2) {
                log_error("Usage: knockwatch %s", usage);
                return EXIT_USAGE;
        }
        if (open_nft(&nft) < 0)
                return EXIT_FAILURE;
        door = argv[optind];
        r = door_target(nft, &o, grant, door, argv[optind + 1], set, &timeout_ms, &addr, &prefix);
        if (r < 0)
                return r == -EINVAL ? EXIT_USAGE : EXIT_FAILURE;
        if (o.timeout_ms > 0)
                timeout_ms = o.timeout_ms;

        r = grant ? nft_queue_add(nft, &o.table, set, &addr, timeout_ms, 0)
                  : nft_queue_delete(nft, &o.table, set, &addr, 0);
        if (r >= 0)
                r = nft_commit(nft, store_result, &result);
        if (r >= 0)
                r = result;
        (void) knock_prefix_format(&addr, prefix, addr_text);
        (void) snprintf(label, sizeof(label), "%s %s", o.table_label, set);
        if (!grant && r == -ENOENT) {
                log_error("%s holds no grant of door %s (set %s).", addr_text, door, label);
                return EXIT_FAILURE;
        }
        if (r < 0) {
                log_error_errno(r, "Could not %s %s %s set %s: %m", grant ? "add" : "remove", addr_text,
                                grant ? "to" : "from", label);
                return EXIT_FAILURE;
        }

        /* The audit record goes to the journal; the console line is for the admin. */
        if (log_get_target() == LOG_TARGET_CONSOLE)
                log_set_target(LOG_TARGET_JOURNAL);
        audit_log(grant ? AUDIT_GRANT : AUDIT_REVOKE, &addr, prefix, door, label, timeout_ms, "manual");
        if (grant)
                printf("%s granted %s for %s (set %s)\n", addr_text, door,
                       duration_format_ms(timeout_ms, span), label);
        else
                printf("%s revoked from %s (set %s)\n", addr_text, door, label);
        return EXIT_SUCCESS;
}

int verb_grant(int argc, char *argv[]) {
        return grant_or_revoke(argc, argv, true);
}

int verb_revoke(int argc, char *argv[]) {
        return grant_or_revoke(argc, argv, false);
}
