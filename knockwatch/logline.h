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
 * Parse one line (without its '\n'; not NUL-terminated; may contain any bytes).
 *
 * Returns:
 *   1            a knock: *ret_event is filled (src, step; time = 0, the caller times it)
 *   0            our line, well-formed, but not a knock (SYN-ACK, ACK, RST, FIN, ICMP
 *                that is not an echo request, …); *ret_reason says which
 *   -ENOMSG      not ours: no "PORT_KNOCKING " prefix where the form puts it
 *   -EPERM       a syslog line whose tag is not "kernel:"
 *   -E2BIG       longer than the bounds above
 *   -EBADMSG     ours but malformed or truncated (missing/duplicate/bad field,
 *                number out of range, bad address, line not ending in a space …)
 * ret_reason (optional) receives a static, human-readable reason for every result but 1.
 */
int logline_parse(const char *line, size_t len, LoglineForm form,
                  KnockEvent *ret_event, const char **ret_reason);
