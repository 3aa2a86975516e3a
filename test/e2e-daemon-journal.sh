#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# e2e-daemon-journal: the whole path through a real, hand-started journald (private mount
# namespace). A real knock opens TCP 22; the same sequence forged six ways (logger,
# systemd-cat, /dev/kmsg, syslog and native datagrams) opens nothing; a restart between
# the second and third knock still completes the sequence; a restart after a completed
# sequence does not grant it again; rotation and a journald restart change nothing.
. "$KW_SRCDIR/test/lib-journal.sh" "$@"
kw_require_root
kw_net_setup 13

kw_test_ruleset "$KW_TMP/rules.nft" 3s 6s
kw_ruleset "$KW_TMP/rules.nft"
kw_listen 22
kw_journald_start
daemon_args=(--source=journal --state-dir="$KW_TMP/state" --runtime-dir="$KW_TMP/run")
kw_daemon_start "${daemon_args[@]}"
kw_daemon_log_has "through journal" || kw_fail "the daemon does not say it reads the journal"

kw_expect "$SRV4" 22 "$CLI4" timeout
kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "$CLI4 not granted through the journal"
kw_expect "$SRV4" 22 "$CLI4" open
kw_expect "$SRV4" 22 "$CLI4B" timeout
kw_pass "a real knock through journald opens TCP 22 for $CLI4 only"

# Forgeries: the whole sequence for the second address, each way a local process can
# write to the journal. Each line is in the journal; none may count.
id=$((1 + RANDOM))
for how in "${KW_JOURNAL_FORGERIES[@]}"; do
        for port in 3721 4728 6742; do
                kw_journal_forge "$how" "$(kw_fake_line "$CLI4B" "$port" "$id")"
        done
done
kw_journal_wait_count 18 "SRC=$CLI4B DST=$SRV4 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=$id " ||
        kw_fail "not all 18 forged lines reached the journal"
sleep 1
kw_set_has ssh4 "$CLI4B" && kw_fail "a forged sequence opened the door"
kw_expect "$SRV4" 22 "$CLI4B" timeout
kw_daemon_log_has "Knock $CLI4B" && kw_fail "a forged line was taken for a knock"
kw_pass "the sequence forged six ways (logger, logger -p kern, systemd-cat, /dev/kmsg, syslog and native datagrams) opens nothing"

# A restart between the second and the third knock: the sequence still completes.
kw_wait_until 6 kw_set_lacks ssh4 "$CLI4" || kw_fail "first grant did not expire"
kw_restart_mid_sequence "resumed from cursor" "${daemon_args[@]}"
kw_pass "a restart between the second and third knock still completes the sequence"

# A restart after a completed sequence, still inside its window, grants nothing again.
kw_restart_after_grant "${daemon_args[@]}"
kw_pass "a restart after a completed sequence does not grant it again"

# The journal's own life: rotation, then journald stopped and started again.
kw_journal_rotate
kw_knock "$SRV6" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 3 kw_set_has ssh6 "$CLI6" || kw_fail "no grant after journalctl --rotate"
kw_pass "knocks still open after journalctl --rotate"

kw_journald_restart
kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 4 kw_set_has ssh4 "$CLI4" || kw_fail "no grant after journald restarted"
kw_expect "$SRV4" 22 "$CLI4" open
ticks=$(awk '{ print $14 + $15 }' "/proc/$KW_DAEMON_PID/stat")
sleep 1
(($(awk '{ print $14 + $15 }' "/proc/$KW_DAEMON_PID/stat") - ticks <= 2)) || kw_fail "the daemon spins after the journald restart"
kw_pass "knocks still open after journald was restarted, and the daemon stays idle"

kw_daemon_stop
