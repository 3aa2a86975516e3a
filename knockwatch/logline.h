/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * logline.h — the strict parser of netfilter LOG lines (prefix "PORT_KNOCKING ").
 *
 * Input is attacker-influenced text; the parser never reads past len, never
 * allocates, never half-uses a line, and does no I/O. Rules: ../shared/DESIGN.md,
 * "The LOG line", and TECH-NOTES.md section 5.
 */
#pragma once

#include "knock.h"

#define LOGLINE_PREFIX "PORT_KNOCKING "

/*
 * Which prefixes a line may start with. Every one begins with LOGLINE_PREFIX; it is either
 * that alone ("plain") or followed by a secret and one space, "PORT_KNOCKING <secret> ",
 * the secret being LOGLINE_SECRET_MIN…LOGLINE_SECRET_MAX of [A-Za-z0-9]. The daemon
 * accepts the secrets of its own table's log rules, and the plain prefix only while
 * net.netfilter.nf_log_all_netns is 0 (then only the host's own rules can log).
 */
#define LOGLINE_SECRET_MIN 16
#define LOGLINE_SECRET_MAX 64
#define LOGLINE_SECRETS_MAX 16
#define LOGLINE_PREFIX_MAX (STRLEN(LOGLINE_PREFIX) + LOGLINE_SECRET_MAX + 1)

typedef struct LoglinePrefixes {
        bool plain;               /* "PORT_KNOCKING " followed by the kernel's "IN=" */
        bool any_secret;          /* every well-formed secret (knockwatch parse, tests) */
        unsigned n_secrets;
        struct {
                uint8_t len;
                char text[LOGLINE_SECRET_MAX];
        } secrets[LOGLINE_SECRETS_MAX];
} LoglinePrefixes;

/* The plain prefix and any secret: for reading logs, not for granting. */
extern const LoglinePrefixes logline_prefixes_any;

/* A log rule's whole prefix (n bytes): 1 if it is the plain prefix, 2 if it is
 * "PORT_KNOCKING <secret> " (*ret_secret, *ret_len point into prefix), 0 if it does not
 * start with LOGLINE_PREFIX at all, -EINVAL if it does but is neither (a secret of the
 * wrong length or characters, no final space, more words). */
int logline_prefix_classify(const char *prefix, size_t n, const char **ret_secret, size_t *ret_len);

/* Add a secret (as logline_prefix_classify() found it). Returns 1 if added, 0 if it was
 * there, -EINVAL if it is not a valid secret, -E2BIG if LOGLINE_SECRETS_MAX are there. */
int logline_prefixes_add_secret(LoglinePrefixes *p, const char *secret, size_t len);

/* The kernel builds a LOG message in a buffer of just under 1 KiB; a longer message
 * is not one it wrote. A whole syslog-file line may add its timestamp, host, tag and
 * "[ secs]" stamp in front. */
#define LOGLINE_MESSAGE_MAX 1024
#define LOGLINE_LINE_MAX 1280

typedef enum LoglineForm {
        /* The kernel message alone: /dev/kmsg record text, journald MESSAGE.
         * The prefix must be at offset 0. */
        LOGLINE_FORM_KERNEL,
        /* dmesg: "[  350.725725] " then the kernel message. */
        LOGLINE_FORM_DMESG,
        /* A syslog file line: "TIMESTAMP HOST kernel: [ secs] MESSAGE" where TIMESTAMP is
         * RFC 3339 (one token) or traditional ("Nov 22 22:37:26", three tokens), the tag is
         * exactly "kernel:" (anything else is rejected) and the "[ secs] " stamp is optional. */
        LOGLINE_FORM_SYSLOG,
        /* Any of the above, told apart by the first byte (for `knockwatch parse`). */
        LOGLINE_FORM_ANY,
} LoglineForm;

/*
 * Parse one line (without its '\n'; not NUL-terminated; may contain any bytes), which
 * must start (where its form says) with one of the prefixes.
 *
 * Returns:
 *   1            a knock: *ret_event is filled (src, step; time = 0, the caller times it)
 *   0            our line, well-formed, but not a knock (SYN-ACK, ACK, RST, FIN, ICMP
 *                that is not an echo request, …); *ret_reason says which
 *   -ENOMSG      not ours: no "PORT_KNOCKING " prefix where the form puts it, or one
 *                that is not a knockwatch prefix ("PORT_KNOCKING X IN=")
 *   -EACCES      a knockwatch prefix that is not accepted (a secret we do not know, or
 *                the plain prefix where it is not allowed): a forgery, or another
 *                table's rules
 *   -EPERM       a syslog line whose tag is not "kernel:"
 *   -E2BIG       longer than the bounds above
 *   -EBADMSG     ours but malformed or truncated (missing/duplicate/bad field,
 *                number out of range, bad address, line not ending in a space …)
 * ret_reason (optional) receives a static, human-readable reason for every result but 1.
 */
int logline_parse(const char *line, size_t len, LoglineForm form, const LoglinePrefixes *prefixes,
                  KnockEvent *ret_event, const char **ret_reason);
