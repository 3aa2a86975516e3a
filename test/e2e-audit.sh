#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# e2e-audit: every grant, refresh, revoke and expiry is one journal record with its
# structured fields, in a real hand-started journald: a knock, a repeat knock, the
# expiry, a grant and a revoke by hand, and a closing sequence.
. "$KW_SRCDIR/test/lib-journal.sh" "$@"
kw_require_root
kw_net_setup 24

kw_test_ruleset "$KW_TMP/rules.nft" 3s 3s
sed -i 's/tcp:6742 within 3s"/tcp:6742 within 3s close tcp:6742 tcp:4728 tcp:3721"/' "$KW_TMP/rules.nft"
kw_ruleset "$KW_TMP/rules.nft"
kw_journald_start
kw_daemon_start --source=kmsg --state-dir="$KW_TMP/state" --runtime-dir="$KW_TMP/run"

# record MESSAGE: the audit fields of the knockwatch entry with exactly that MESSAGE.
record() {
        journalctl -q --no-pager -t knockwatch MESSAGE="$1" -o export 2>/dev/null |
                grep -E '^(MESSAGE_ID|PRIORITY|KNOCKWATCH_[A-Z_]+)=' | sort | tr '\n' ' '
}

# expect_record MESSAGE FIELD=VALUE...: such a record exists, with these fields.
expect_record() {
        local message=$1 got field
        shift
        kw_wait_until 8 eval 'test -n "$(record "$message")"' || kw_fail "no journal record \"$message\""
        got=$(record "$message")
        for field in "$@"; do
                [[ " $got" == *" $field "* ]] || kw_fail "record \"$message\" lacks $field: $got"
        done
}

kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
expect_record "$CLI4 granted ssh for 3s" KNOCKWATCH_EVENT=grant "KNOCKWATCH_SOURCE=$CLI4" \
        KNOCKWATCH_DOOR=ssh "KNOCKWATCH_SET=inet knockwatch ssh4" KNOCKWATCH_TIMEOUT_SEC=3 \
        KNOCKWATCH_REASON=sequence MESSAGE_ID=4c1b2f0e8f7d4d2a9a51f3e7b0c6d901 PRIORITY=5
kw_pass "a knock's grant is a record with source, door, set, timeout and reason"

kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
expect_record "$CLI4 refreshed ssh for 3s" KNOCKWATCH_EVENT=refresh "KNOCKWATCH_SOURCE=$CLI4" \
        KNOCKWATCH_REASON=sequence
kw_pass "a repeat knock is a refresh record"

kw_wait_until 6 kw_set_lacks ssh4 "$CLI4" || kw_fail "grant did not expire"
expect_record "$CLI4 revoked from ssh (expired)" KNOCKWATCH_EVENT=revoke "KNOCKWATCH_SOURCE=$CLI4" \
        KNOCKWATCH_DOOR=ssh KNOCKWATCH_REASON=expired MESSAGE_ID=4c1b2f0e8f7d4d2a9a51f3e7b0c6d903
kw_pass "the expiry is a revoke record with reason expired, written when it happens"

kw_srv "$KNOCKWATCH" grant --timeout=1m ssh "$CLI6B" >/dev/null || kw_fail "grant by hand failed"
expect_record "$CLI6B granted ssh for 1m (manual)" KNOCKWATCH_EVENT=grant "KNOCKWATCH_SOURCE=$CLI6B" \
        "KNOCKWATCH_SET=inet knockwatch ssh6" KNOCKWATCH_TIMEOUT_SEC=60 KNOCKWATCH_REASON=manual
kw_srv "$KNOCKWATCH" revoke ssh "$CLI6B" >/dev/null || kw_fail "revoke by hand failed"
expect_record "$CLI6B revoked from ssh (manual)" KNOCKWATCH_EVENT=revoke KNOCKWATCH_REASON=manual
kw_pass "grant and revoke by hand are records with reason manual"

kw_knock "$SRV6" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 3 kw_set_has ssh6 "$CLI6" || kw_fail "IPv6 knock did not grant"
kw_knock "$SRV6" tcp:6742 tcp:4728 tcp:3721
expect_record "$CLI6 revoked from ssh (closing sequence)" KNOCKWATCH_EVENT=revoke \
        "KNOCKWATCH_SOURCE=$CLI6" KNOCKWATCH_REASON=closing-sequence
kw_pass "a closing sequence is a revoke record with reason closing-sequence"

(($(journalctl -q --no-pager -t knockwatch KNOCKWATCH_SOURCE="$CLI4" | wc -l) == 3)) ||
        kw_fail "expected exactly 3 records for $CLI4 (grant, refresh, expiry)"
kw_pass "one record per event, no more"
kw_daemon_stop
