#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# e2e-host-reload: issue 8, part 2 — a Debian-style reload of the host's firewall. The
# documented layout: the host's own table accepts port 22 (policy drop otherwise), and
# knockwatch's table decides who reaches it. Reloading the host's file, which begins with
# `flush ruleset` (as Debian's /etc/nftables.conf does), deletes knockwatch's table too.
#   restore   with --ruleset=FILE the daemon loads FILE again by itself: one second after
#             the reload a source that never knocked cannot connect to port 22, and the
#             live grants (IPv4 and IPv6) are back with the time they had left; twice
#   off       with --ruleset= (empty) it does not, and says at error level that the port
#             is not protected (which is then true: the test connects)
#   badfile   a missing ruleset file and a world-writable one give an error (error level)
#             that names the file
# Needs net.netfilter.nf_log_all_netns=1 (kw_net_setup sets it; the trap puts the previous
# value back). Uses a secret log prefix, as any ruleset must once nf_log_all_netns=1.
# Slot 37. Run parts alone with KW_SECTIONS="restore off badfile".
. "$KW_SRCDIR/test/lib.sh"
. "$KW_SRCDIR/test/lib-forge.sh"
kw_require_root

kw_net_setup 37
kw_listen 22

# The host's firewall, as Debian keeps it in /etc/nftables.conf.
cat >"$KW_TMP/host.nft" <<'EOF'
flush ruleset

table inet filter {
        chain input {
                type filter hook input priority filter; policy drop;
                ct state established,related accept
                ct state invalid drop
                iif lo accept
                meta l4proto { icmp, ipv6-icmp } accept
                tcp dport 22 accept
        }
        chain forward {
                type filter hook forward priority filter; policy drop;
        }
        chain output {
                type filter hook output priority filter; policy accept;
        }
}
EOF
RULES=$KW_TMP/knockwatch.nft
kw_secret_ruleset "$RULES" 30s 5s
chmod 0600 "$RULES"

# host_reload: what `systemctl reload nftables` does.
host_reload() {
        kw_srv nft -f "$KW_TMP/host.nft" || kw_fail "the host's nft -f failed"
}

# fresh_rules: the host's firewall, then knockwatch's table, as at boot.
fresh_rules() {
        host_reload
        kw_ruleset "$RULES"
}

# after_reload_protected WHAT: one second after a reload, a never-knocked source is dropped.
after_reload_protected() {
        sleep 1
        kw_srv nft list table inet knockwatch >/dev/null 2>&1 ||
                kw_fail "$1: table inet knockwatch is still gone one second after the host's reload"
        kw_expect "$SRV4" 22 "$CLI4B" timeout
        kw_expect "$SRV6" 22 "$CLI6B" timeout
}

if kw_section restore; then
        kw_log "restore: --ruleset=FILE puts the table back after flush ruleset"
        fresh_rules
        kw_expect "$SRV4" 22 "$CLI4B" timeout
        kw_daemon_start --source=kmsg --ruleset="$RULES" --state-dir="$KW_TMP/state" --runtime-dir="$KW_TMP/run"

        kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
        kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "$CLI4 not granted before the reload"
        kw_knock "$SRV6" tcp:3721 tcp:4728 tcp:6742
        kw_wait_until 3 kw_set_has ssh6 "$CLI6" || kw_fail "$CLI6 not granted before the reload"
        kw_expect "$SRV4" 22 "$CLI4" open
        kw_pass "restore: before the reload, $CLI4 and $CLI6 are granted and $CLI4B is dropped"

        sleep 3
        host_reload
        after_reload_protected "the first reload"
        kw_pass "restore: one second after flush ruleset + the host's table, never-knocked $CLI4B and $CLI6B cannot connect to port 22"

        kw_set_has ssh4 "$CLI4" || kw_fail "the live grant of $CLI4 was not put back"
        kw_set_has ssh6 "$CLI6" || kw_fail "the live grant of $CLI6 was not put back"
        kw_expect "$SRV4" 22 "$CLI4" open
        kw_expect "$SRV6" 22 "$CLI6" open
        left=$(kw_expires ssh4 "$CLI4")
        [[ -n $left ]] && ((left <= 27)) ||
                kw_fail "the grant of $CLI4 came back with ${left:-no}s left; 3 s of its 30 s had passed (expected at most 27)"
        kw_pass "restore: the live grants are back (connect open) with the time they had left (${left}s)"

        host_reload
        after_reload_protected "the second reload"
        kw_expect "$SRV4" 22 "$CLI4" open
        kw_pass "restore: a second reload, the same"
        kw_daemon_stop
fi

if kw_section off; then
        kw_log "off: --ruleset= (empty) restores nothing, and says the port is not protected"
        fresh_rules
        kw_daemon_start --source=kmsg --ruleset= --state-dir="$KW_TMP/off-state" --runtime-dir="$KW_TMP/off-run"
        kw_daemon_errlog_start --source=kmsg --ruleset= --state-dir="$KW_TMP/off-state2" --runtime-dir="$KW_TMP/off-run2"
        sleep 1  # let the error-level daemon read the table it will see vanish
        kw_expect "$SRV4" 22 "$CLI4B" timeout
        host_reload
        sleep 1
        kw_srv nft list table inet knockwatch >/dev/null 2>&1 &&
                kw_fail "with --ruleset= (empty) the table came back anyway"
        kw_expect "$SRV4" 22 "$CLI4B" open
        kw_wait_until 3 kw_daemon_log_has "not protected" ||
                kw_fail "with --ruleset= and the table gone, the daemon does not say the port is not protected"
        kw_daemon_errlog_wait 3 "not protected" ||
                kw_fail "with --log-level=err the daemon does not say \"not protected\": $(cat "$KW_ERRLOG")"
        kw_daemon_errlog_stop
        grep -i "not protected" "$KW_DAEMON_LOG" | grep -q 22 ||
                kw_log "note: the message does not name port 22: $(grep -i 'not protected' "$KW_DAEMON_LOG" | head -n 1)"
        kw_pass "off: with --ruleset= the table stays gone, port 22 is open to all, and the daemon says so at error level"
        kw_daemon_stop
fi

if kw_section badfile; then
        kw_log "badfile: a missing and a world-writable ruleset file are named in an error"
        declare -A reason=([missing]="does not exist|no such file|not found|missing" [writable]="writable")
        for kind in missing writable; do
                bad=$KW_TMP/bad-$kind.nft
                if [[ $kind == writable ]]; then
                        cp "$RULES" "$bad"
                        chmod 0666 "$bad"
                fi
                fresh_rules
                kw_daemon_errlog_start --source=kmsg --ruleset="$bad" --state-dir="$KW_TMP/bad-state-$kind" \
                        --runtime-dir="$KW_TMP/bad-run-$kind"
                # At start, or at the latest when it needs the file.
                if ! kw_daemon_errlog_wait 3 "bad-$kind\.nft"; then
                        host_reload
                        kw_daemon_errlog_wait 3 "bad-$kind\.nft" ||
                                kw_fail "--ruleset=$bad ($kind): no error naming the file, at start or after a reload: $(cat "$KW_ERRLOG")"
                fi
                kw_daemon_errlog_stop
                line=$(grep -m1 "bad-$kind\.nft" "$KW_ERRLOG")
                [[ $line != *"unrecognized option"* ]] || kw_fail "--ruleset is not an option: $line"
                grep -qiE "${reason[$kind]}" <<<"$line" ||
                        kw_fail "--ruleset=$bad: the error names the file but not what is wrong (${reason[$kind]}): $line"
                kw_pass "badfile: --ruleset=$kind file: an error names it and says why: $line"
        done
fi
