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
kw_restart_mid_sequence "resumed after seq" "${args[@]}"
[[ -s $KW_TMP/state/kmsg.position ]] || kw_fail "no kmsg.position saved"
kw_pass "a knock made while knockwatch was down completes the sequence after the restart"

kw_restart_after_grant "${args[@]}"
kw_pass "a restart does not replay a sequence completed inside its window"

kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "no grant after the second restart"
kw_pass "knocks open after the restart"
kw_daemon_stop
