/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * logrules.c — see logrules.h.
 */
#include <errno.h>
#include <netinet/in.h> /* before the linux/ headers, which then defer to it */
#include <linux/netfilter.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "errno-util.h"
#include "logrules.h"
#include "string-util.h"
#include "totp.h"


/* A rule knockwatch reads lines of: one that writes to the kernel log, on the way in. */
static bool rule_reaches_us(const NftLogRule *l) {
        return l->to_kernel_log && l->hook != NF_INET_LOCAL_OUT && l->hook != NF_INET_FORWARD &&
               l->hook != NF_INET_POST_ROUTING;
}

void log_trust_compute(const NftRules *rules, int log_all_netns, LogTrust *ret) {
        LogTrust t = { .log_all_netns = log_all_netns == 0 ? 0 : 1 };

        for (size_t i = 0; rules && i < rules->n_logs; i++) {
                const NftLogRule *l = &rules->logs[i];
                const char *secret;
                size_t len;

                if (!rule_reaches_us(l))
                        continue;
                switch (logline_prefix_classify(l->prefix, strlen(l->prefix), &secret, &len)) {
                case 1:
                        t.plain_rules++;
                        break;
                case 2:
                        t.secret_rules++;
                        if (logline_prefixes_add_secret(&t.prefixes, secret, len) == -E2BIG)
                                t.secrets_overflow = true;
                        break;
                }
        }
        /* The plain prefix wherever the rule that logged it lives: with the sysctl at 0 only
         * the host's own rules (this table's, another table's, iptables' LOG) reach the log. */
        t.prefixes.plain = t.log_all_netns == 0;
        *ret = t;
}

const char *log_trust_problem(const LogTrust *t, const char *table_label, char *buf, size_t size) {
        if (log_trust_grants(t))
                return NULL;
        (void) snprintf(buf, size,
                        "net.netfilter.nf_log_all_netns is 1 (or cannot be read), so the log rules of any "
                        "network namespace, which any local user can own, reach the kernel log, and no log "
                        "rule of table %s has a secret in its prefix: nothing is granted from the log. Add "
                        "one, e.g. log prefix \"PORT_KNOCKING <16 to 64 letters and digits> \" "
                        "(`knockwatch check` prints a fresh one), or set the sysctl to 0",
                        table_label);
        return buf;
}

int log_secret_new(char ret[static LOGLINE_SECRET_LEN_NEW + 1]) {
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        uint8_t bytes[LOGLINE_SECRET_LEN_NEW * 2];
        size_t n = 0;
        ssize_t k;

        /* 62 letters: bytes of 248 and more are dropped, so that each letter is as likely. */
        while (n < LOGLINE_SECRET_LEN_NEW) {
                do
                        k = getrandom(bytes, sizeof(bytes), 0);
                while (k < 0 && errno == EINTR);
                if (k < 0)
                        return negative_errno();
                for (ssize_t i = 0; i < k && n < LOGLINE_SECRET_LEN_NEW; i++)
                        if (bytes[i] < 248)
                                ret[n++] = alphabet[bytes[i] % 62];
        }
        ret[n] = 0;
        return 0;
}

/* Does log rule l log step s with a prefix knockwatch accepts? */
static bool rule_logs_step(const NftLogRule *l, const LogTrust *t, const KnockStep *s) {
        uint8_t want = s->proto == KNOCK_PROTO_TCP ? IPPROTO_TCP : s->proto == KNOCK_PROTO_UDP ? IPPROTO_UDP : 0;
        const char *secret;
        size_t len;
        int kind;

        if (!rule_reaches_us(l))
                return false;
        kind = logline_prefix_classify(l->prefix, strlen(l->prefix), &secret, &len);
        if (kind == 1 ? !t->prefixes.plain : kind != 2)
                return false;
        if (s->proto == KNOCK_PROTO_PING)
                /* An echo request of any size: no port, and ICMP or ICMPv6 or any protocol. */
                return (l->l4proto == 0 || l->l4proto == IPPROTO_ICMP || l->l4proto == IPPROTO_ICMPV6) &&
                       l->ports == NFT_PORTS_ANY;
        if (l->l4proto != 0 && l->l4proto != want)
                return false;
        switch (l->ports) {
        case NFT_PORTS_ANY:
                return !l->icmp_echo;
        case NFT_PORTS_RANGES:
                for (size_t i = 0; i < l->n_ranges; i++)
                        if (s->value >= l->ranges[i].lo && s->value <= l->ranges[i].hi)
                                return true;
                return false;
        case NFT_PORTS_SET:
                /* totp_ports holds only the rotating doors' live ports, never a fixed step */
                if (l->set_with_proto && streq(l->set, TOTP_PORTS_SET))
                        return false;
                return true; /* what a named set holds changes; assume the best, say nothing */
        case NFT_PORTS_UNKNOWN:
                return true;
        }
        return false;
}

/* How log rule l logs the ports of a rotating door: 2 through the totp_ports set the daemon
 * keeps filled (only the live windows' ports), 1 the whole range (any packet to it, so a
 * flood on the range fills the log), 0 not at all. */
static int rule_logs_totp(const NftLogRule *l, const LogTrust *t, const TotpParams *p) {
        uint8_t want = p->proto == KNOCK_PROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP;
        const char *secret;
        size_t len;
        int kind;

        if (!rule_reaches_us(l))
                return 0;
        kind = logline_prefix_classify(l->prefix, strlen(l->prefix), &secret, &len);
        if (kind == 1 ? !t->prefixes.plain : kind != 2)
                return 0;
        if (l->l4proto != 0 && l->l4proto != want)
                return 0;
        switch (l->ports) {
        case NFT_PORTS_SET:
                return l->set_with_proto && streq(l->set, TOTP_PORTS_SET) ? 2 : 0;
        case NFT_PORTS_ANY:
                return l->icmp_echo ? 0 : 1;
        case NFT_PORTS_RANGES:
                for (size_t i = 0; i < l->n_ranges; i++)
                        if (l->ranges[i].lo <= p->lo && l->ranges[i].hi >= p->hi)
                                return 1;
                return 0;
        case NFT_PORTS_UNKNOWN:
                return 2; /* what it matches cannot be told: assume the best, say nothing */
        }
        return 0;
}

static unsigned check_totp(const NftRules *rules, const LogTrust *t, const Door *door, door_problem_fn report,
                           void *userdata) {
        const TotpParams *p = &door->spec.totp;
        int best = 0;

        for (size_t k = 0; k < rules->n_logs && best < 2; k++)
                best = MAX(best, rule_logs_totp(&rules->logs[k], t, p));
        if (best == 1)
                door_report(report, userdata, DOOR_WARNING,
                    "door \"%s\": a log rule logs every packet to %s:%u-%u, "
                    "its whole range, so a flood on the range fills the kernel log; log only the live "
                    "windows' ports: meta l4proto . th dport @" TOTP_PORTS_SET " … log", door->spec.name,
                    p->proto == KNOCK_PROTO_UDP ? "udp" : "tcp", p->lo, p->hi);
        if (best > 0)
                return 0;
        door_report(report, userdata, DOOR_ERROR,
            "door \"%s\": no log rule of the table logs the ports in set "
            TOTP_PORTS_SET " (%s) to the kernel log with a prefix knockwatch accepts%s, so the rotating "
            "door can never open; add \"set " TOTP_PORTS_SET " { type inet_proto . inet_service; flags "
            "timeout; }\" and a rule \"meta l4proto . th dport @" TOTP_PORTS_SET " … log prefix …\"",
            door->spec.name, p->proto == KNOCK_PROTO_UDP ? "udp" : "tcp",
            t->prefixes.plain ? "" : " (with net.netfilter.nf_log_all_netns=1 only a secret one)");
        return 1;
}

static unsigned check_steps(const NftRules *rules, const LogTrust *t, const Door *door, const KnockStep *steps,
                            unsigned n, const char *which, door_problem_fn report, void *userdata) {
        unsigned errors = 0;

        for (unsigned i = 0; i < n; i++) {
                char step[KNOCK_STEP_STRLEN];
                bool logged = false;

                for (size_t k = 0; k < rules->n_logs && !logged; k++)
                        logged = rule_logs_step(&rules->logs[k], t, &steps[i]);
                if (logged)
                        continue;
                /* The same step twice in a sequence is reported once. */
                bool seen = false;
                for (unsigned j = 0; j < i; j++)
                        seen = seen || knock_step_equal(&steps[j], &steps[i]);
                if (seen)
                        continue;
                errors++;
                door_report(report, userdata, DOOR_ERROR,
                    "door \"%s\": no log rule of the table logs %s (step %u "
                    "of the %s sequence) to the kernel log with a prefix knockwatch accepts%s, so the "
                    "door can never %s; add the port to the log rule", door->spec.name,
                    knock_step_format(&steps[i], step), i + 1, which,
                    t->prefixes.plain ? "" : " (with net.netfilter.nf_log_all_netns=1 only a secret one)",
                    streq(which, "opening") ? "open" : "close");
        }
        return errors;
}

/* The rules that look a door set up must mask the source as the set's grants are: a /64 set
 * looked up with the whole address lets in only the prefix's first address, an address set
 * looked up masked only the addresses that end in zeros. */
static unsigned check_guard_masks(const NftRules *rules, const Door *door, bool v4, door_problem_fn report,
                                  void *userdata) {
        const char *set = v4 ? door->set4 : door->set6;
        unsigned bits = v4 ? 32 : 128, prefix = v4 ? door->prefix4 : door->prefix6;
        unsigned want = prefix > 0 && prefix < bits ? prefix : 0;
        KnockAddr mask = { .family = v4 ? AF_INET : AF_INET6 };
        char mask_text[KNOCK_ADDR_STRLEN];

        if (!set[0])
                return 0;
        memset(mask.bytes, 0xff, bits / 8);
        knock_addr_mask(&mask, want);
        (void) knock_addr_format(&mask, mask_text);
        for (size_t i = 0; i < rules->n_guards; i++) {
                const NftGuard *g = &rules->guards[i];

                if (!streq(g->set, set) || g->mask == want)
                        continue;
                if (want > 0 && g->mask == 0)
                        door_report(report, userdata, DOOR_ERROR,
                            "door \"%s\": set %s holds /%u prefixes, but a rule "
                            "looks the whole source address up in it, so only each prefix's first address "
                            "gets in; mask it: %s saddr & %s @%s", door->spec.name, set, want,
                            v4 ? "ip" : "ip6", mask_text, set);
                else if (want == 0)
                        door_report(report, userdata, DOOR_ERROR,
                            "door \"%s\": a rule masks the source address to "
                            "/%u before looking it up in set %s, which holds whole addresses; end the set's "
                            "comment with \" /%u\"", door->spec.name, g->mask, set, g->mask);
                else
                        door_report(report, userdata, DOOR_ERROR,
                            "door \"%s\": a rule masks the source address to "
                            "/%u before looking it up in set %s, which holds /%u prefixes; use one length",
                            door->spec.name, g->mask, set, want);
                return 1;
        }
        return 0;
}

unsigned logrules_check(const NftRules *rules, const LogTrust *trust, const Door *doors, size_t n_doors,
                        door_problem_fn report, void *userdata) {
        unsigned errors = 0;

        for (size_t i = 0; i < rules->n_logs; i++) {
                const NftLogRule *l = &rules->logs[i];
                const char *secret;
                size_t len;
                char q[NFT_PREFIX_MAX * 4 + 3];
                int kind = logline_prefix_classify(l->prefix, strlen(l->prefix), &secret, &len);

                if (kind == 0)
                        continue; /* another prefix: not ours to judge */
                (void) escape_into(l->prefix, strlen(l->prefix), SIZE_MAX, ESCAPE_QUOTE, q, sizeof(q));
                if (kind < 0)
                        door_report(report, userdata, DOOR_WARNING,
                            "a log rule in chain %s has prefix %s, which is "
                            "neither \"PORT_KNOCKING \" nor \"PORT_KNOCKING <secret> \" (16 to 64 letters and "
                            "digits, then one space): knockwatch ignores what it logs", l->chain, q);
                else if (!l->to_kernel_log)
                        door_report(report, userdata, DOOR_WARNING,
                            "a log rule in chain %s with prefix %s logs to "
                            "NFLOG (group) or audit, not to the kernel log: knockwatch never sees it",
                            l->chain, q);
                else if (!rule_reaches_us(l))
                        door_report(report, userdata, DOOR_WARNING,
                            "a log rule in chain %s (an output, forward or "
                            "postrouting hook) has prefix %s: what it logs is not received, and knockwatch "
                            "takes no line with OUT= set for a knock", l->chain, q);
        }
        for (size_t i = 0; i < n_doors; i++) {
                const Door *d = &doors[i];

                errors += check_guard_masks(rules, d, true, report, userdata);
                errors += check_guard_masks(rules, d, false, report, userdata);
                if (!d->spec.has_sequence)
                        continue;
                if (d->spec.is_totp)
                        errors += check_totp(rules, trust, d, report, userdata);
                errors += check_steps(rules, trust, d, d->spec.open, d->spec.n_open, "opening", report, userdata);
                errors += check_steps(rules, trust, d, d->spec.close, d->spec.n_close, "closing", report,
                                      userdata);
        }
        return errors;
}

const char *logrules_protected(const NftRules *rules, const Door *door, char *buf, size_t size) {
        size_t len = 0, n = 0;
        const char *proto = NULL;

        buf[0] = 0;
        for (size_t i = 0; rules && i < rules->n_guards; i++) {
                const NftGuard *g = &rules->guards[i];
                bool dup = false;

                if (g->port == 0 || (!streq(g->set, door->set4) && !streq(g->set, door->set6)))
                        continue;
                for (size_t j = 0; j < i; j++)
                        dup = dup || (rules->guards[j].port == g->port &&
                                      (streq(rules->guards[j].set, door->set4) ||
                                       streq(rules->guards[j].set, door->set6)));
                if (dup)
                        continue;
                proto = g->l4proto == IPPROTO_UDP ? "udp" : "tcp";
                len += (size_t) snprintf(buf + MIN(len, size), size - MIN(len, size), "%s%u",
                                         n++ > 0 ? ", " : "", g->port);
        }
        if (n == 0)
                (void) snprintf(buf, size, "its ports");
        else {
                char ports[256];

                (void) snprintf(ports, sizeof(ports), "%s", buf);
                (void) snprintf(buf, size, "%s port%s %s", proto, n > 1 ? "s" : "", ports);
        }
        return buf;
}
