/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * verbs.h — the subcommands of the knockwatch command line. main.c picks one by
 * argv[1] and hands it the rest of the arguments (argv[0] is the verb's name).
 * Each returns the process exit status: 0 success, 1 failure, 2 bad usage.
 */
#pragma once

#define EXIT_USAGE 2

int verb_run(int argc, char *argv[]);     /* the daemon (also: no verb at all) */
int verb_check(int argc, char *argv[]);
int verb_status(int argc, char *argv[]);
int verb_metrics(int argc, char *argv[]);
int verb_grant(int argc, char *argv[]);
int verb_revoke(int argc, char *argv[]);
int verb_parse(int argc, char *argv[]);
int verb_knock(int argc, char *argv[]);
int verb_key(int argc, char *argv[]);     /* key new KEYNAME: verb-totp.c */
int verb_totp(int argc, char *argv[]);

/* ---- verb-totp.c: what "totp" and "knock --door-spec" share ---- */

#include "door.h"
#include "totp.h"

enum {
        TOTP_ARG_KEY = 0x200,
        TOTP_ARG_DOOR_SPEC,
        TOTP_ARG_COUNT,
        TOTP_ARG_RANGE,
        TOTP_ARG_STEP,
        TOTP_ARG_DOOR,
        TOTP_ARG_TIME,
};

#define TOTP_CLIENT_LONG_OPTIONS                                                \
        { "key", required_argument, NULL, TOTP_ARG_KEY },                       \
        { "door-spec", required_argument, NULL, TOTP_ARG_DOOR_SPEC },           \
        { "count", required_argument, NULL, TOTP_ARG_COUNT },                   \
        { "range", required_argument, NULL, TOTP_ARG_RANGE },                   \
        { "step", required_argument, NULL, TOTP_ARG_STEP },                     \
        { "door", required_argument, NULL, TOTP_ARG_DOOR },                     \
        { "time", required_argument, NULL, TOTP_ARG_TIME }

typedef struct TotpClientOptions {
        const char *door;        /* the door's name (DOOR, --door), or NULL */
        const char *door_spec;   /* "totp key=… 4 tcp:20000-59999 [step D] …" or the whole comment */
        const char *count, *range, *step;  /* instead of door_spec */
        const char *key_file;
        const char *time_arg;    /* --time UNIX, or NULL for now */
} TotpClientOptions;

typedef struct TotpClient {
        char door[DOOR_NAME_MAX + 1];
        TotpParams params;
        TotpKey key;             /* wipe with totp_key_wipe() */
} TotpClient;

/* Take option c (one of TOTP_ARG_*) into o; returns 1 if it was one, else 0. */
int totp_client_option(int c, const char *arg, TotpClientOptions *o);
/* The door and its parameters from o, read by the daemon's grammar. -EINVAL with a message. */
int totp_client_spec(const TotpClientOptions *o, TotpClient *ret, char **ret_error);
/* totp_client_spec(), then the key file (KEY_TRUST_USER). -errno with a message. */
int totp_client_prepare(const TotpClientOptions *o, TotpClient *ret, char **ret_error);
int totp_client_parse_time(const char *s, uint64_t *ret);
/* T now, or at unix_time when has_time. */
uint64_t totp_client_counter(const TotpClient *c, bool has_time, uint64_t unix_time);
int totp_client_steps(const TotpClient *c, uint64_t t, KnockStep ret_steps[static TOTP_COUNT_MAX]);
