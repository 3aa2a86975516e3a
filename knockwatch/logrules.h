/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * logrules.h — what the log rules of knockwatch's table mean for it, pure and shared by
 * the daemon and `knockwatch check`:
 *
 *   - which prefixes a line may start with: the secrets of the table's own log rules
 *     ("PORT_KNOCKING <secret> "), and the plain "PORT_KNOCKING " only while
 *     net.netfilter.nf_log_all_netns is 0, when only the host's own rules reach the log;
 *   - whether anything may be granted from the log at all (not with the sysctl at 1 and
 *     no secret), and the sentence that tells the admin what to do;
 *   - whether every step of every door is logged by some rule with an accepted prefix
 *     (a door whose step nothing logs can never open), and which rules log where
 *     knockwatch never looks (an output or forward chain, NFLOG);
 *   - which ports the doors protect (for "port 22 is not protected").
 * No I/O: the rules come from nft_get_rules(), the sysctl from sysctl-util.h.
 */
#pragma once

#include "door.h"
#include "logline.h"
#include "nft.h"

typedef struct LogTrust {
        LoglinePrefixes prefixes;
        int log_all_netns;           /* 0 or 1; anything that could not be read counts as 1 */
        unsigned secret_rules;       /* log rules of the table with a secret prefix */
        unsigned plain_rules;        /* … with the plain prefix */
        bool secrets_overflow;       /* more distinct secrets than LOGLINE_SECRETS_MAX */
} LogTrust;

/* From the table's rules (NULL: none known) and the sysctl (0, 1, or -errno for "could not be
 * read", which counts as 1). */
void log_trust_compute(const NftRules *rules, int log_all_netns, LogTrust *ret);

/* May knocks from the log be granted at all? */
static inline bool log_trust_grants(const LogTrust *t) {
        return t->prefixes.plain || t->prefixes.n_secrets > 0;
}

/* The problem, in one sentence naming the table and what to do, or NULL when there is
 * none. With the sysctl at 1 and no secret: nothing is granted from the log. buf holds
 * the sentence. */
const char *log_trust_problem(const LogTrust *t, const char *table_label, char *buf, size_t size);

/* A fresh secret for a log prefix: LOGLINE_SECRET_LEN_NEW characters of [A-Za-z0-9] from
 * getrandom() (the one call here that is not pure). Returns 0 or -errno. */
#define LOGLINE_SECRET_LEN_NEW 32
int log_secret_new(char ret[static LOGLINE_SECRET_LEN_NEW + 1]);

/*
 * The coverage of the doors by the log rules: one error per step of a door (opening or
 * closing) that no rule logs to the kernel log with an accepted prefix, one warning per log
 * rule with a knockwatch-looking prefix that knockwatch will never act on (not a valid
 * prefix; an output or forward chain; NFLOG or audit). report is door.h's problem callback.
 * Returns the number of errors.
 */
unsigned logrules_check(const NftRules *rules, const LogTrust *trust, const Door *doors, size_t n_doors,
                        door_problem_fn report, void *userdata);

/* "tcp port 22" or "tcp ports 22, 2222" for the ports that rules open to the door's sets, or
 * "its ports" if no rule says; into buf. */
const char *logrules_protected(const NftRules *rules, const Door *door, char *buf, size_t size);
