/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audit.c — see audit.h.
 */
#include <stdio.h>
#include <systemd/sd-journal.h>

#include "audit.h"
#include "duration.h"
#include "log.h"
#include "string-util.h"

static const char *event_name(AuditEvent event) {
        return event == AUDIT_GRANT ? "grant" : event == AUDIT_REFRESH ? "refresh" : "revoke";
}

static const char *event_message_id(AuditEvent event) {
        return event == AUDIT_GRANT ? AUDIT_MESSAGE_ID_GRANT :
               event == AUDIT_REFRESH ? AUDIT_MESSAGE_ID_REFRESH : AUDIT_MESSAGE_ID_REVOKE;
}

void audit_log(AuditEvent event, const KnockAddr *addr, unsigned prefix, const char *door,
               const char *set_label, uint64_t timeout_ms, const char *reason) {
        char source[KNOCK_PREFIX_STRLEN], span[DURATION_STRLEN], message[256];
        bool sent;

        (void) knock_prefix_format(addr, prefix, source);
        (void) duration_format_ms(timeout_ms, span);
        if (event == AUDIT_REVOKE)
                (void) snprintf(message, sizeof(message), "%s revoked from %s (%s)", source, door,
                                streq(reason, "closing-sequence") ? "closing sequence" : reason);
        else if (streq(reason, "sequence"))
                (void) snprintf(message, sizeof(message), "%s %s %s for %s", source,
                                event == AUDIT_GRANT ? "granted" : "refreshed", door, span);
        else
                (void) snprintf(message, sizeof(message), "%s %s %s for %s (%s)", source,
                                event == AUDIT_GRANT ? "granted" : "refreshed", door, span, reason);

        sent = sd_journal_send("MESSAGE=%s", message,
                               "MESSAGE_ID=%s", event_message_id(event),
                               "PRIORITY=%i", LOG_NOTICE,
                               "SYSLOG_IDENTIFIER=knockwatch",
                               "KNOCKWATCH_EVENT=%s", event_name(event),
                               "KNOCKWATCH_SOURCE=%s", source,
                               "KNOCKWATCH_DOOR=%s", door,
                               "KNOCKWATCH_SET=%s", set_label,
                               "KNOCKWATCH_REASON=%s", reason,
                               event == AUDIT_REVOKE ? NULL : "KNOCKWATCH_TIMEOUT_SEC=%llu",
                               (unsigned long long) (timeout_ms / 1000),
                               NULL) >= 0;

        /* On the console (or with no journal at all) the trail is printed as well. */
        if (log_get_target() == LOG_TARGET_CONSOLE || !sent)
                (void) fprintf(stderr, "knockwatch: %s\n", message);
}
