#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# e2e-daemon-resume: the kmsg source across restarts. The first start reads from the
# tail; a restart resumes after the last record handled (sequence number and boot id in
# the state directory), so a sequence split by the restart completes and a sequence
# completed before it is not granted again.
. "$KW_SRCDIR/test/lib.sh"
kw_require_root
kw_net_setup 14

kw_test_ruleset "$KW_TMP/rules.nft" 3s 6s
kw_ruleset "$KW_TMP/rules.nft"
kw_listen 22
args=(--source=kmsg --state-dir="$KW_TMP/state" --runtime-dir="$KW_TMP/run")

kw_daemon_start "${args[@]}"
kw_daemon_log_has "from the tail" || kw_fail "a first start should read from the tail"
kw_knock "$SRV4" tcp:3721 tcp:4728
kw_wait_until 3 kw_daemon_log_has "Knock $CLI4 tcp:4728" || kw_fail "the second knock was not read"
kw_daemon_stop
[[ -s $KW_TMP/state/kmsg.position ]] || kw_fail "no kmsg.position saved on SIGTERM"

kw_knock "$SRV4" tcp:6742
kw_daemon_start "${args[@]}"
kw_daemon_log_has "resumed after seq" || kw_fail "the restart did not resume from the saved position"
kw_wait_until 3 kw_daemon_log_has "Replayed knock $CLI4 tcp:4728" || kw_fail "the handled knocks were not replayed"
kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "the sequence split by a restart did not complete"
kw_expect "$SRV4" 22 "$CLI4" open
kw_pass "a knock made while knockwatch was down completes the sequence after the restart"

kw_wait_until 6 kw_set_lacks ssh4 "$CLI4" || kw_fail "the grant did not expire"
kw_daemon_stop
kw_daemon_start "${args[@]}"
sleep 1
kw_set_has ssh4 "$CLI4" && kw_fail "the restart replayed a completed sequence"
kw_daemon_log_has "$CLI4 granted" && kw_fail "the restarted daemon granted $CLI4 again"
kw_daemon_log_has "Knock $CLI4" && kw_fail "the restarted daemon read knocks it had handled"
kw_pass "a restart does not replay a sequence completed inside its window"

kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "no grant after the second restart"
kw_pass "knocks open after the restart"
kw_daemon_stop
