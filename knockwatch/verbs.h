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
