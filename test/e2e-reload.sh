#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# e2e-reload: knockwatch follows the ruleset by itself. Reloading the file (which deletes
# and recreates the table) keeps a live grant, with the time it had left; a deleted table
# closes the doors and the daemon waits, idle, until it is back; a changed door sequence
# takes effect at once; SIGHUP re-reads the doors.
. "$KW_SRCDIR/test/lib.sh"
kw_require_root
kw_net_setup 21

kw_test_ruleset "$KW_TMP/rules.nft" 30s 5s
kw_ruleset "$KW_TMP/rules.nft"
kw_listen 22
kw_daemon_start --source=kmsg --state-dir="$KW_TMP/state" --runtime-dir="$KW_TMP/run"

# expires_s SET ADDR: the seconds the element has left, as nft lists it ("expires 27s…").
expires_s() {
        kw_srv nft list set inet knockwatch "$1" |
                sed -n "s/.*\b$2 timeout [^ ]* expires \([0-9]*\)s.*/\1/p; s/.*\b$2 timeout [^ ]* expires \([0-9]*\)ms.*/0/p" |
                head -n 1
}

kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "no grant to begin with"
sleep 3
kw_ruleset "$KW_TMP/rules.nft"
kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "the grant was not put back after the reload"
left=$(expires_s ssh4 "$CLI4")
[[ -n $left ]] || kw_fail "cannot read the restored element's expiry"
((left >= 22 && left <= 27)) || kw_fail "the restored grant has ${left}s left, expected the time it had left (about 26s)"
kw_expect "$SRV4" 22 "$CLI4" open
kw_wait_until 2 kw_daemon_log_has "$CLI4 granted ssh for [0-9ms]+ \(restored\)" ||
        kw_fail "the daemon did not log putting the grant back"
kw_pass "nft -f of the ruleset keeps a live grant, with ${left}s left of 30s"

kw_srv nft delete table inet knockwatch
kw_wait_until 3 kw_daemon_log_has "is gone" || kw_fail "the daemon did not notice the table went"
kill -0 "$KW_DAEMON_PID" || kw_fail "the daemon exited when the table went"
ticks=$(awk '{ print $14 + $15 }' "/proc/$KW_DAEMON_PID/stat")
kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742   # logged by nobody now: no table, no log rule
sleep 1
(($(awk '{ print $14 + $15 }' "/proc/$KW_DAEMON_PID/stat") - ticks <= 2)) || kw_fail "the daemon spins without its table"
(($(kw_daemon_log_count "is gone") == 1)) || kw_fail "the missing table was reported more than once"
kw_pass "a deleted table is reported once; the daemon waits without spinning"

kw_ruleset "$KW_TMP/rules.nft"
kw_wait_until 3 kw_daemon_log_has "is back" || kw_fail "the daemon did not notice the table came back"
kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "the live grant was not put back when the table returned"
kw_knock "$SRV6" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 3 kw_set_has ssh6 "$CLI6" || kw_fail "knocks do not work after the table came back"
kw_expect "$SRV6" 22 "$CLI6" open
kw_pass "when the table is back, live grants return and knocks work again"

# A new sequence for the door: the old one stops working, the new one works.
sed 's/knockwatch ssh: tcp:3721 tcp:4728 tcp:6742/knockwatch ssh: tcp:6742 tcp:3721 tcp:4728/' \
        "$KW_TMP/rules.nft" >"$KW_TMP/rules2.nft"
reloads=$(kw_daemon_log_count "Doors reloaded")
kw_ruleset "$KW_TMP/rules2.nft"
kw_daemon_log_wait_more "Doors reloaded" "$reloads" || kw_fail "no reload after the door changed"
kw_srv nft delete element inet knockwatch ssh6 "{ $CLI6 }"
kw_knock "$SRV6" tcp:3721 tcp:4728 tcp:6742
sleep 1
kw_set_has ssh6 "$CLI6" && kw_fail "the old sequence still opens after the door changed"
kw_knock "$SRV6" tcp:6742 tcp:3721 tcp:4728
kw_wait_until 3 kw_set_has ssh6 "$CLI6" || kw_fail "the new sequence does not open"
kw_check=$(kw_srv "$KNOCKWATCH" check)
grep -q "door ssh: tcp:6742 tcp:3721 tcp:4728 within 5s" <<<"$kw_check" || kw_fail "knockwatch check does not show the new sequence"
kw_pass "a changed door sequence takes effect on reload"

before=$(kw_daemon_log_count "Doors reloaded \(SIGHUP\)")
kill -HUP "$KW_DAEMON_PID"
kw_daemon_log_wait_more "Doors reloaded \(SIGHUP\)" "$before" || kw_fail "SIGHUP did not re-read the doors"
kill -0 "$KW_DAEMON_PID" || kw_fail "the daemon died on SIGHUP"
kw_pass "SIGHUP re-reads the doors"

kw_daemon_stop
