/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audit.h — the audit trail: one journal record per grant, refresh, revoke and expiry,
 * as the old allow_ssh script logged "added" and "revoked". Each record has a readable
 * MESSAGE ("192.0.2.2 granted ssh for 60s", "192.0.2.2 revoked from ssh (expired)") and
 * structured fields to filter on:
 *
 *   MESSAGE_ID               one per kind (AUDIT_MESSAGE_ID_*), for journalctl MESSAGE_ID=
 *   KNOCKWATCH_EVENT         grant | refresh | revoke
 *   KNOCKWATCH_SOURCE        the client address, canonical form
 *   KNOCKWATCH_DOOR          the door's name
 *   KNOCKWATCH_SET           the nftables set ("inet knockwatch ssh4")
 *   KNOCKWATCH_TIMEOUT_SEC   for grant and refresh
 *   KNOCKWATCH_REASON        sequence | manual | closing-sequence | expired | restored
 *
 * Records always go to the journal (when there is one); when the log target is the
 * console they are printed there too. This is an edge module: it does I/O.
 */
#pragma once

#include "knock.h"

#define AUDIT_MESSAGE_ID_GRANT "4c1b2f0e8f7d4d2a9a51f3e7b0c6d901"
#define AUDIT_MESSAGE_ID_REFRESH "4c1b2f0e8f7d4d2a9a51f3e7b0c6d902"
#define AUDIT_MESSAGE_ID_REVOKE "4c1b2f0e8f7d4d2a9a51f3e7b0c6d903"

typedef enum AuditEvent {
        AUDIT_GRANT,
        AUDIT_REFRESH,
        AUDIT_REVOKE,
} AuditEvent;

/* set_label is how the set is named in messages, e.g. "inet knockwatch ssh4".
 * timeout_ms is ignored for AUDIT_REVOKE. reason: see above. */
void audit_log(AuditEvent event, const KnockAddr *addr, unsigned prefix, const char *door,
               const char *set_label, uint64_t timeout_ms, const char *reason);
