#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# e2e-daemon-kmsg: the whole path on the real kernel, through /dev/kmsg. A client
# namespace knocks on a server namespace running the shipped ruleset (3 s grants, 2 s
# window) and knockwatch; what is asserted is the kernel set and real TCP connections.
. "$KW_SRCDIR/test/lib.sh"
kw_require_root
kw_net_setup 11

kw_test_ruleset "$KW_TMP/rules.nft" 3s 2s
kw_ruleset "$KW_TMP/rules.nft"
kw_listen 22
kw_daemon_start --source=kmsg --state-dir="$KW_TMP/state" --runtime-dir="$KW_TMP/run"

kw_expect "$SRV4" 22 "$CLI4" timeout
kw_expect "$SRV6" 22 "$CLI6" timeout
kw_pass "the SSH port drops everyone before any knock"

# IPv4: the sequence opens port 22 for the knocking address only, for the set's timeout.
kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 2 kw_set_has ssh4 "$CLI4" || kw_fail "$CLI4 not in set ssh4 after a correct knock"
kw_expect "$SRV4" 22 "$CLI4" open
kw_expect "$SRV4" 22 "$CLI4B" timeout
kw_set_has ssh4 "$CLI4B" && kw_fail "$CLI4B was granted without knocking"
kw_daemon_log_has "$CLI4 granted ssh for 3s" || kw_fail "no audit line for the grant"
kw_pass "IPv4 knock opens TCP 22 for $CLI4 only"

kw_wait_until 6 kw_set_lacks ssh4 "$CLI4" || kw_fail "$CLI4 still in ssh4 after its timeout"
kw_expect "$SRV4" 22 "$CLI4" timeout
kw_wait_until 2 kw_daemon_log_has "$CLI4 revoked from ssh \(expired\)" || kw_fail "expiry not logged"
kw_pass "the grant expires with the set's timeout, the port drops again, the expiry is logged"

# IPv6, the same.
kw_knock "$SRV6" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 2 kw_set_has ssh6 "$CLI6" || kw_fail "$CLI6 not in set ssh6 after a correct knock"
kw_expect "$SRV6" 22 "$CLI6" open
kw_expect "$SRV6" 22 "$CLI6B" timeout
kw_pass "IPv6 knock opens TCP 22 for $CLI6 only"

# A repeat knock during the grant restarts its time: knock again 2 s in, and the grant
# still holds after the first one would have ended.
kw_wait_until 6 kw_set_lacks ssh6 "$CLI6" || kw_fail "$CLI6 grant did not expire"
kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 2 kw_set_has ssh4 "$CLI4" || kw_fail "second IPv4 grant missing"
sleep 2
kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 2 kw_daemon_log_has "$CLI4 refreshed ssh for 3s" || kw_fail "no refresh logged"
sleep 1.5
kw_set_has ssh4 "$CLI4" || kw_fail "refresh did not restart the timeout"
kw_expect "$SRV4" 22 "$CLI4" open
kw_pass "a repeat knock refreshes the grant's timeout"
kw_wait_until 6 kw_set_lacks ssh4 "$CLI4" || kw_fail "refreshed grant did not expire"

# What must not open the door.
kw_check_no_false_opens 1.1

kw_daemon_stop
kw_pass "SIGTERM stops the daemon with status 0"
