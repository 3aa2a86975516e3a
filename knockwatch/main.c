/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c — the knockwatch command: picks the verb, and parses the daemon's options.
 *
 *   knockwatch [OPTIONS]              run the daemon (also: knockwatch run [OPTIONS])
 *   knockwatch check|status|metrics|grant|revoke|parse|knock|totp|key ...
 */
#include <getopt.h>
#include <stdio.h>
#include <syslog.h>

#include "config.h"
#include "daemon.h"
#include "grants.h"
#include "detector.h"
#include "hooks.h"
#include "keyfile.h"
#include "log.h"
#include "metrics.h"
#include "parse-util.h"
#include "state.h"
#include "status.h"
#include "string-util.h"
#include "verbs.h"

static void help_daemon(void) {
        printf("Usage: knockwatch [OPTIONS]\n"
               "       knockwatch COMMAND [ARGS...]\n"
               "\n"
               "Port knocking on nftables: watch the kernel log for the knocks that the ruleset's\n"
               "log rules record, and add each source that completes a door's sequence to the\n"
               "door's set, whose elements expire on their own.\n"
               "\n"
               "Daemon options:\n"
               "  -s, --source=SOURCE     auto (default: kmsg if readable, else journal), kmsg,\n"
               "                          journal, file:PATH, or - for standard input\n"
               "  -t, --table=FAMILY:NAME the table holding the doors (default %s)\n"
               "      --capacity=N        sources tracked part-way through a sequence\n"
               "                          (default %u; the least recently seen is dropped)\n"
               "      --max-grants=N      live grants whose expiry is followed (default %u)\n"
               "      --ruleset=FILE      put the table back from FILE when it vanishes (default\n"
               "                          %s; empty: never)\n"
               "      --state-dir=DIR     where the log position and the rotating doors' last\n"
               "                          windows are kept (default $STATE_DIRECTORY or %s)\n"
               "      --key-dir=DIR       the rotating doors' keys, if $CREDENTIALS_DIRECTORY\n"
               "                          holds none (default %s)\n"
               "      --runtime-dir=DIR   where the status file is written (default\n"
               "                          $RUNTIME_DIRECTORY or %s)\n"
               "      --journal-dir=DIR   read the journal files in DIR (journal source)\n"
               "      --metrics-file=PATH rewrite PATH with the counters in the Prometheus text\n"
               "                          format (for node_exporter's textfile collector)\n"
               "      --exec-on-grant=PROGRAM   run PROGRAM (absolute path, no shell) after each\n"
               "                          grant and refresh, with KNOCKWATCH_* in its environment\n"
               "      --exec-on-revoke=PROGRAM  the same after each revoke and expiry\n"
               "      --fleet=mqtts://ADDRESS[:PORT]  share the grants of fleet doors through\n"
               "                          this MQTT broker (knockwatch(8), FLEETS)\n"
               "      --fleet-name=FLEET  the fleet (default \"default\")\n"
               "      --fleet-ca=FILE, --fleet-cert=FILE, --fleet-cert-key=FILE, --fleet-key=FILE\n"
               "                          the broker's CA, our certificate and key, the fleet key\n"
               "      --log-target=TARGET auto, console or journal\n"
               "      --log-level=LEVEL   err, warning, notice, info (default) or debug\n"
               "  -h, --help              show this help\n"
               "      --version           show the version\n"
               "\n"
               "Commands:\n"
               "  check                   read the doors from the ruleset and report problems\n"
               "  status [--json]         doors, live grants with time left, counters\n"
               "  metrics                 the counters in the Prometheus text format\n"
               "  grant DOOR ADDR[/LEN] [--timeout T]   add ADDR to the door's set\n"
               "  revoke DOOR ADDR[/LEN]  remove ADDR from the door's set\n"
               "  parse [FILE]            print the knocks in LOG lines: \"SRC STEP\" per line\n"
               "  knock HOST STEP...      knock: tcp:PORT, udp:PORT, ping:SIZE (no root needed)\n"
               "  knock HOST --door-spec SPEC --key FILE   knock a TOTP door's current steps\n"
               "  totp DOOR --key FILE --door-spec SPEC    print a TOTP door's current steps\n"
               "  key new KEYNAME [--user NAME]            make a key for TOTP doors\n"
               "\n"
               "See knockwatch(8) and knockwatch.nft(5).\n",
               NFT_TABLE_DEFAULT, DETECTOR_CAPACITY_DEFAULT, GRANTS_MAX_DEFAULT, RULESET_DEFAULT,
               STATE_DIR_DEFAULT, KEY_DIR_DEFAULT, RUNTIME_DIR_DEFAULT);
}

/* systemd passes StateDirectory=/RuntimeDirectory= paths in the environment; a list
 * (colon-separated) names the first one. */
static const char *dir_from_env(const char *name, const char *fallback, char *buf, size_t size) {
        const char *e = getenv(name);

        if (!e || e[0] != '/')
                return fallback;
        (void) snprintf(buf, size, "%.*s", (int) strcspn(e, ":"), e);
        return buf;
}

int verb_run(int argc, char *argv[]) {
        enum {
                ARG_CAPACITY = 0x100,
                ARG_MAX_GRANTS,
                ARG_RULESET,
                ARG_STATE_DIR,
                ARG_KEY_DIR,
                ARG_RUNTIME_DIR,
                ARG_JOURNAL_DIR,
                ARG_METRICS_FILE,
                ARG_EXEC_ON_GRANT,
                ARG_EXEC_ON_REVOKE,
                ARG_FLEET,
                ARG_FLEET_NAME,
                ARG_FLEET_CA,
                ARG_FLEET_CERT,
                ARG_FLEET_CERT_KEY,
                ARG_FLEET_KEY,
                ARG_LOG_TARGET,
                ARG_LOG_LEVEL,
                ARG_VERSION,
        };
        static const struct option options[] = {
                { "source", required_argument, NULL, 's' },
                { "table", required_argument, NULL, 't' },
                { "capacity", required_argument, NULL, ARG_CAPACITY },
                { "max-grants", required_argument, NULL, ARG_MAX_GRANTS },
                { "ruleset", required_argument, NULL, ARG_RULESET },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "key-dir", required_argument, NULL, ARG_KEY_DIR },
                { "runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR },
                { "journal-dir", required_argument, NULL, ARG_JOURNAL_DIR },
                { "metrics-file", required_argument, NULL, ARG_METRICS_FILE },
                { "exec-on-grant", required_argument, NULL, ARG_EXEC_ON_GRANT },
                { "exec-on-revoke", required_argument, NULL, ARG_EXEC_ON_REVOKE },
                { "fleet", required_argument, NULL, ARG_FLEET },
                { "fleet-name", required_argument, NULL, ARG_FLEET_NAME },
                { "fleet-ca", required_argument, NULL, ARG_FLEET_CA },
                { "fleet-cert", required_argument, NULL, ARG_FLEET_CERT },
                { "fleet-cert-key", required_argument, NULL, ARG_FLEET_CERT_KEY },
                { "fleet-key", required_argument, NULL, ARG_FLEET_KEY },
                { "log-target", required_argument, NULL, ARG_LOG_TARGET },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        char state_buf[4096], runtime_buf[4096];
        DaemonOptions o = {
                .source_kind = SOURCE_AUTO,
                .capacity = DETECTOR_CAPACITY_DEFAULT,
                .max_grants = GRANTS_MAX_DEFAULT,
                .ruleset = RULESET_DEFAULT,
                .state_dir = dir_from_env("STATE_DIRECTORY", STATE_DIR_DEFAULT, state_buf, sizeof(state_buf)),
                .runtime_dir = dir_from_env("RUNTIME_DIRECTORY", RUNTIME_DIR_DEFAULT, runtime_buf, sizeof(runtime_buf)),
        };
        LogTarget target;
        uint64_t number;
        int c, level;

        (void) nft_table_parse(NFT_TABLE_DEFAULT, &o.table);
        optind = 0;
        while ((c = getopt_long(argc, argv, "hs:t:", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        if (source_spec_parse(optarg, &o.source_kind, &o.source_path) < 0) {
                                log_error("Invalid --source \"%s\": expected auto, kmsg, journal, "
                                          "file:/ABSOLUTE/PATH or -.", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 't':
                        if (nft_table_parse(optarg, &o.table) < 0) {
                                log_error("Invalid --table \"%s\": expected FAMILY:NAME with FAMILY "
                                          "inet, ip or ip6, e.g. inet:knockwatch.", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case ARG_CAPACITY:
                        if (parse_uint(optarg, strlen(optarg), DETECTOR_CAPACITY_MAX, &number) < 0 ||
                            number < 1) {
                                log_error("Invalid --capacity \"%s\": expected a number from 1 to %u.",
                                          optarg, DETECTOR_CAPACITY_MAX);
                                return EXIT_USAGE;
                        }
                        o.capacity = (size_t) number;
                        break;
                case ARG_MAX_GRANTS:
                        if (parse_uint(optarg, strlen(optarg), GRANTS_MAX, &number) < 0 || number < 1) {
                                log_error("Invalid --max-grants \"%s\": expected a number from 1 to %u.",
                                          optarg, GRANTS_MAX);
                                return EXIT_USAGE;
                        }
                        o.max_grants = (size_t) number;
                        break;
                case ARG_RULESET:
                        if (optarg[0] && optarg[0] != '/') {
                                log_error("Invalid --ruleset \"%s\": expected an absolute path, or "
                                          "nothing to never put the table back.", optarg);
                                return EXIT_USAGE;
                        }
                        o.ruleset = optarg;
                        break;
                case ARG_KEY_DIR:
                        if (optarg[0] != '/') {
                                log_error("Invalid --key-dir \"%s\": expected an absolute path.", optarg);
                                return EXIT_USAGE;
                        }
                        o.key_dir = optarg;
                        break;
                case ARG_STATE_DIR:
                        o.state_dir = optarg;
                        break;
                case ARG_RUNTIME_DIR:
                        o.runtime_dir = optarg;
                        break;
                case ARG_JOURNAL_DIR:
                        o.journal_dir = optarg;
                        break;
                case ARG_METRICS_FILE:
                        if (!metrics_path_valid(optarg)) {
                                log_error("Invalid --metrics-file \"%s\": expected an absolute path whose "
                                          "file name does not start with '.' (e.g. /var/lib/prometheus/"
                                          "node-exporter/knockwatch.prom).", optarg);
                                return EXIT_USAGE;
                        }
                        o.metrics_file = optarg;
                        break;
                case ARG_EXEC_ON_GRANT:
                case ARG_EXEC_ON_REVOKE: {
                        const char *option = c == ARG_EXEC_ON_GRANT ? "--exec-on-grant" : "--exec-on-revoke";
                        _cleanup_free_ char *error = NULL;

                        if (hook_program_check(option, optarg, &error) < 0) {
                                log_error("%s", error ?: option);
                                return EXIT_USAGE;
                        }
                        *(c == ARG_EXEC_ON_GRANT ? &o.exec_on_grant : &o.exec_on_revoke) = optarg;
                        break;
                }
                case ARG_FLEET: o.fleet_url = optarg; break;
                case ARG_FLEET_NAME: o.fleet_name = optarg; break;
                case ARG_FLEET_CA: o.fleet_ca = optarg; break;
                case ARG_FLEET_CERT: o.fleet_cert = optarg; break;
                case ARG_FLEET_CERT_KEY: o.fleet_cert_key = optarg; break;
                case ARG_FLEET_KEY: o.fleet_key = optarg; break;
                case ARG_LOG_TARGET:
                        if (log_target_from_string(optarg, &target) < 0) {
                                log_error("Invalid --log-target \"%s\": expected auto, console or journal.", optarg);
                                return EXIT_USAGE;
                        }
                        log_set_target(target);
                        break;
                case ARG_LOG_LEVEL:
                        level = log_level_from_string(optarg);
                        if (level < 0) {
                                log_error("Invalid --log-level \"%s\": expected err, warning, notice, "
                                          "info or debug.", optarg);
                                return EXIT_USAGE;
                        }
                        log_set_max_level(level);
                        break;
                case 'h':
                        help_daemon();
                        return EXIT_SUCCESS;
                case ARG_VERSION:
                        printf("knockwatch %s\n", PACKAGE_VERSION);
                        return EXIT_SUCCESS;
                default:
                        return EXIT_USAGE; /* getopt said what */
                }
        if (optind < argc) {
                log_error("Unexpected argument \"%s\"; see knockwatch --help.", argv[optind]);
                return EXIT_USAGE;
        }
        if (o.state_dir[0] != '/' || o.runtime_dir[0] != '/' || (o.journal_dir && o.journal_dir[0] != '/')) {
                log_error("--state-dir, --runtime-dir and --journal-dir take absolute paths.");
                return EXIT_USAGE;
        }
        return daemon_run(&o);
}

int main(int argc, char *argv[]) {
        static const struct {
                const char *name;
                int (*run)(int argc, char *argv[]);
        } verbs[] = {
                { "run", verb_run },
                { "check", verb_check },
                { "status", verb_status },
                { "metrics", verb_metrics },
                { "grant", verb_grant },
                { "revoke", verb_revoke },
                { "parse", verb_parse },
                { "knock", verb_knock },
                { "key", verb_key },
                { "totp", verb_totp },
        };

        if (argc > 1 && argv[1][0] != '-') {
                for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                        if (streq(argv[1], verbs[i].name))
                                return verbs[i].run(argc - 1, argv + 1);
                log_error("Unknown command \"%s\"; see knockwatch --help.", argv[1]);
                return EXIT_USAGE;
        }
        return verb_run(argc, argv);
}
