#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# e2e-forge: issue 8, part 1 — an unprivileged user forges knocks from a network namespace
# of its own (uid 65534, `unshare -rn`, a veth, AF_PACKET: test/lib-forge.sh), and the
# kernel logs them as genuine kernel records. knockwatch must not be fooled:
#   plain     the shipped ruleset (plain prefix) with nf_log_all_netns=1: nothing opens
#             from log lines, forged or real; the daemon (at error level), `status` and
#             `check` name the problem and the remedy; grant by hand still works; a
#             secret put into the ruleset later is followed without a restart
#   kmsg, journal, file
#             a secret-prefix ruleset, on each source (journal: a hand-started journald;
#             file: a real rsyslogd): forged lines with the plain prefix, a guessed
#             secret, and the "[ trick" open nothing; a real knock through the secret
#             prefix opens
#   sysctl0   in the host's own network namespace, where the sysctl is visible: at 0
#             the plain prefix keeps working (the article's rules); the daemon notices
#             it becoming 1 while it runs and stops taking the plain prefix (and takes
#             it again at 0)
# Needs net.netfilter.nf_log_all_netns=1 (and 0 in part sysctl0): it sets it and puts the
# previous value back at exit. Part sysctl0 works in the initial network namespace: one
# veth named kw36h<pid> with /32 peer addresses of slot 36, and a table of its own
# (inet kwt36_<pid>) whose rules match that interface only. Slots 32-36.
# Run parts alone with KW_SECTIONS="plain kmsg journal file sysctl0".
. "$KW_SRCDIR/test/lib-journal.sh" "$@"
. "$KW_SRCDIR/test/lib-rsyslog.sh"
. "$KW_SRCDIR/test/lib-forge.sh"
kw_require_root
kw_forge_sysctl 1

kw() { kw_srv "$KNOCKWATCH" "$@"; }

# run_kw ARGS...: knockwatch in the server namespace; sets out, err and rc.
run_kw() {
        rc=0
        kw "$@" >"$KW_TMP/out" 2>"$KW_TMP/err" || rc=$?
        out=$(cat "$KW_TMP/out")
        err=$(cat "$KW_TMP/err")
}

# slot_addr SLOT N: the slot's IPv4 address N (1-7).
slot_addr() {
        echo "198.51.100.$((($1 - 31) * 8 + $2))"
}

# add_client_addr ADDR: one more address of the client, never its default source.
add_client_addr() {
        if [[ $1 == *:* ]]; then
                ip -n "$NS_CLI" addr add "$1/64" dev kw1 nodad preferred_lft 0
        else
                ip -n "$NS_CLI" addr add "$1/24" dev kw1
        fi
}

# granted_within SECONDS SET ADDR [TABLE]: does ADDR show up in SET within SECONDS?
granted_within() {
        kw_wait_until "$1" kw_set_has "$2" "$3" "${4:-inet knockwatch}"
}

# never_granted SET ADDR WHAT: ADDR is not in SET (nft says so), and port 22 stays shut for it.
never_granted() {
        kw_set_lacks "$1" "$2" || kw_fail "$3: $2 is in set $1"
        kw_expect "$([[ $2 == *:* ]] && echo "$SRV6" || echo "$SRV4")" 22 "$2" timeout
}

# source_has_sport HOW SPORT PORT: the forged line with this marker reached the source.
LOG_FILE=
source_has_sport() {
        case $1 in
        kmsg) return 0 ;;       # kw_forge_userns found it in /dev/kmsg already
        journal) kw_journal_has "SPT=$2 DPT=$3 " ;;
        file) grep -qF "SPT=$2 DPT=$3 " "$LOG_FILE" ;;
        esac
}

# forged HOW WHAT SET VICTIM: the forged sequence reached source HOW; VICTIM must not be granted.
forged() {
        kw_wait_until 5 source_has_sport "$1" "$KW_FORGE_SPORT" 6742 ||
                kw_fail "$2: the forged lines never reached the $1 source"
        granted_within 2 "$3" "$4" && kw_fail "$2 opened the door for $4 ($1 source)"
        return 0
}

# --- plain: the shipped prefix while nf_log_all_netns=1 ------------------------------------
if kw_section plain; then
        kw_log "plain: the shipped ruleset (plain prefix), nf_log_all_netns=1, kmsg"
        kw_net_setup 32
        add_client_addr "$(slot_addr 32 4)"
        kw_test_ruleset "$KW_TMP/plain.nft" 30s 5s
        kw_ruleset "$KW_TMP/plain.nft"
        kw_listen 22
        args=(--source=kmsg --state-dir="$KW_TMP/plain-state" --runtime-dir="$KW_TMP/plain-run")

        kw_daemon_start "${args[@]}"
        kw_forge_userns "$KW_FORGE_PLAIN" "$CLI4B" "$SRV4" 3721 4728 6742
        forged kmsg "a sequence forged from an unprivileged user namespace" ssh4 "$CLI4B"
        never_granted ssh4 "$CLI4B" "forged plain-prefix lines"
        kw_pass "plain: a sequence forged by uid 65534 from its own namespace (kernel records in /dev/kmsg) opens nothing"

        kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
        granted_within 2 ssh4 "$CLI4" &&
                kw_fail "a plain-prefix knock opened the door while nf_log_all_netns=1 and no rule has a secret"
        kw_expect "$SRV4" 22 "$CLI4" timeout
        kw_pass "plain: with nf_log_all_netns=1 and no secret, even a real knock grants nothing"

        kw_daemon_log_has "nf_log_all_netns" ||
                kw_fail "the daemon's log does not name nf_log_all_netns (the reason it grants nothing)"
        kw_daemon_log_has "[Ss]ecret" || kw_fail "the daemon's log does not say what to do (a secret in the log prefix)"
        kw_daemon_errlog 5 "nf_log_all_netns" --source=kmsg --state-dir="$KW_TMP/plain-state2" \
                        --runtime-dir="$KW_TMP/plain-run2" ||
                kw_fail "knockwatch --log-level=err does not say anything about nf_log_all_netns: $(cat "$KW_ERRLOG")"
        kw_pass "plain: the daemon says so at error level, naming nf_log_all_netns and the secret"

        sleep 1.2  # the status file is rewritten at most once a second
        run_kw status --runtime-dir="$KW_TMP/plain-run"
        [[ $out$err == *nf_log_all_netns* ]] || kw_fail "status does not name nf_log_all_netns: $out $err"
        kw_pass "plain: status names the problem"

        run_kw check
        ((rc == 1)) || kw_fail "check exited $rc with a plain prefix and nf_log_all_netns=1 (expected 1): $out $err"
        grep -q "^error: .*nf_log_all_netns" <<<"$out$err" || kw_fail "check has no error naming nf_log_all_netns: $out $err"
        grep -qE "PORT_KNOCKING [A-Za-z0-9]{16,64} " <<<"$out$err" ||
                kw_fail "check does not offer a prefix with a fresh secret (PORT_KNOCKING <16-64 letters and digits> ): $out $err"
        kw_pass "plain: check exits 1 with an error naming nf_log_all_netns and offers a prefix with a fresh secret"

        run_kw grant ssh "$(slot_addr 32 4)" --timeout=10s
        ((rc == 0)) || kw_fail "grant by hand failed while log lines are refused: $err"
        kw_expect "$SRV4" 22 "$(slot_addr 32 4)" open
        kw_pass "plain: grant by hand still works"

        # The daemon follows its table's log rules: a secret added now is taken at once.
        kw_secret_ruleset "$KW_TMP/plain-secret.nft" 30s 5s
        kw_ruleset "$KW_TMP/plain-secret.nft"
        sleep 0.5
        kw_knock "$SRV6" tcp:3721 tcp:4728 tcp:6742
        granted_within 3 ssh6 "$CLI6" || kw_fail "after the ruleset got a secret prefix, a real knock did not open"
        kw_expect "$SRV6" 22 "$CLI6" open
        never_granted ssh4 "$CLI4B" "forged plain-prefix lines, after the reload"
        kw_pass "plain: once the ruleset has a secret prefix (nft -f, no restart), a real knock opens"
        kw_daemon_stop
fi

# --- kmsg, journal, file: a secret prefix -----------------------------------------------------
# forge_and_knock HOW SLOT: the three forgeries and the real knock, on source HOW.
forge_and_knock() {
        local how=$1 slot=$2 v2 v3 outer guess
        v2=$(slot_addr "$slot" 4)
        v3=$(slot_addr "$slot" 5)
        outer=$(slot_addr "$slot" 6)
        guess="PORT_KNOCKING $(kw_forge_secret 32) "

        kw_forge_userns "$KW_FORGE_PLAIN" "$CLI4B" "$SRV4" 3721 4728 6742
        forged "$how" "a sequence forged with the plain prefix" ssh4 "$CLI4B"
        kw_forge_userns "$KW_FORGE_PLAIN" "$CLI6B" "$SRV6" 3721 4728 6742
        forged "$how" "an IPv6 sequence forged with the plain prefix" ssh6 "$CLI6B"
        kw_forge_userns "$guess" "$v2" "$SRV4" 3721 4728 6742
        forged "$how" "a sequence forged with a guessed secret ($guess)" ssh4 "$v2"
        kw_forge_trick "$v3" "$SRV4" "$outer" 3721 4728 6742
        forged "$how" "the [ trick (a fake outer header for $v3 in the prefix)" ssh4 "$v3"
        granted_within 0 ssh4 "$outer" && kw_fail "the [ trick opened the door for its real source $outer"

        # The real knock last: once it is granted, the source has been read past every
        # forged line, so their absence below is not a matter of timing.
        kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
        granted_within 3 ssh4 "$CLI4" || kw_fail "a real knock through the secret prefix did not open ($how source)"
        kw_expect "$SRV4" 22 "$CLI4" open
        kw_pass "$how: a real knock through the secret prefix opens for $CLI4"

        never_granted ssh4 "$CLI4B" "the plain-prefix forgery"
        never_granted ssh6 "$CLI6B" "the IPv6 plain-prefix forgery"
        never_granted ssh4 "$v2" "the guessed-secret forgery"
        never_granted ssh4 "$v3" "the [ trick"
        never_granted ssh4 "$outer" "the [ trick (its real source)"
        kw_pass "$how: forged lines with the plain prefix (IPv4, IPv6), a guessed secret and the [ trick open nothing"
}

# secret_setup SLOT: namespaces, a secret-prefix ruleset, the listener.
secret_setup() {
        kw_net_setup "$1"
        add_client_addr "$(slot_addr "$1" 4)"
        add_client_addr "$(slot_addr "$1" 5)"
        add_client_addr "$(slot_addr "$1" 6)"
        kw_secret_ruleset "$KW_TMP/secret-$1.nft" 30s 5s
        kw_ruleset "$KW_TMP/secret-$1.nft"
        kw_listen 22
}

if kw_section kmsg; then
        kw_log "kmsg: a secret prefix, forged lines through /dev/kmsg"
        secret_setup 33
        kw_daemon_start --source=kmsg --state-dir="$KW_TMP/kmsg-state" --runtime-dir="$KW_TMP/kmsg-run"
        forge_and_knock kmsg 33
        kw_daemon_stop
fi

if kw_section journal; then
        kw_log "journal: a secret prefix, forged lines through a real journald"
        secret_setup 34
        kw_journald_start
        kw_daemon_start --source=journal --state-dir="$KW_TMP/journal-state" --runtime-dir="$KW_TMP/journal-run"
        forge_and_knock journal 34
        [[ $(kw_journal_field "SPT=$KW_FORGE_SPORT DPT=6742 " _TRANSPORT SYSLOG_FACILITY) == "kernel 0" ]] ||
                kw_fail "the forged lines are not kernel records (facility 0) in the journal"
        kw_pass "journal: (the forged lines are in the journal as _TRANSPORT=kernel, SYSLOG_FACILITY=0)"
        kw_daemon_stop
fi

if kw_section file; then
        kw_log "file: a secret prefix, forged lines through rsyslogd's imklog into a file"
        secret_setup 35
        mkdir -m 0755 "$KW_TMP/log"
        LOG_FILE=$KW_TMP/log/kern.log
        kw_rsyslog_start "$LOG_FILE"
        kw_daemon_start --source="file:$LOG_FILE" --state-dir="$KW_TMP/file-state" --runtime-dir="$KW_TMP/file-run"
        forge_and_knock file 35
        grep -qE "kernel: (\[ *[0-9]+\.[0-9]+\] )?PORT_KNOCKING .*SPT=$KW_FORGE_SPORT DPT=6742 " "$LOG_FILE" ||
                kw_fail "the forged lines are not kernel lines in $LOG_FILE"
        kw_pass "file: (the forged lines are in the file as kernel: lines)"
        kw_daemon_stop
        kw_rsyslog_stop
fi

# --- sysctl0: the host's own namespace, where the sysctl is visible ----------------------------
if kw_section sysctl0; then
        kw_log "sysctl0: knockwatch in the host's network namespace, nf_log_all_netns 0 -> 1 -> 0"
        H4=$(slot_addr 36 1) C4=$(slot_addr 36 2) C4B=$(slot_addr 36 3)
        HOSTIF=kw36h$$ TABLE=kwt36_$$ PORT=47736
        # NS_SRV names the host's own namespace (ip netns attach), so lib.sh's helpers work
        # there; deleting the name leaves the namespace alone.
        NS_SRV="kw-s36-host-$$" NS_CLI="kw-s36-cli-$$"
        ip netns attach "$NS_SRV" $$
        KW_NETNS+=("$NS_SRV")
        ip netns add "$NS_CLI"
        KW_NETNS+=("$NS_CLI")
        ip -n "$NS_CLI" link set lo up
        ip link add "$HOSTIF" type veth peer name kw1 netns "$NS_CLI"
        ip addr add "$H4/32" peer "$C4/32" dev "$HOSTIF"
        ip link set "$HOSTIF" up
        ip route add "$C4B/32" dev "$HOSTIF"
        ip -n "$NS_CLI" addr add "$C4/32" peer "$H4/32" dev kw1
        ip -n "$NS_CLI" addr add "$C4B/32" dev kw1
        ip -n "$NS_CLI" link set kw1 up
        w=$(kw_probe "$H4" 9) || true
        [[ $w == refused ]] || kw_fail "the client cannot reach the host's $H4 (got $w)"

        # Only what arrives on this test's interface is logged or filtered.
        cat >"$KW_TMP/host.nft" <<EOF
table inet $TABLE {
        set ssh4 {
                type ipv4_addr
                flags timeout
                timeout 30s
                comment "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 5s"
        }
        chain input {
                type filter hook input priority filter - 10; policy accept;
                iifname "$HOSTIF" tcp dport { 3721, 4728, 6742 } tcp flags & (fin | syn | rst | ack) == syn log prefix "PORT_KNOCKING " level warn
                iifname "$HOSTIF" tcp dport { 3721, 4728, 6742 } drop
                iifname "$HOSTIF" tcp dport $PORT ct state established,related accept
                iifname "$HOSTIF" tcp dport $PORT ip saddr @ssh4 accept
                iifname "$HOSTIF" tcp dport $PORT drop
        }
}
EOF
        nft -f "$KW_TMP/host.nft" || kw_fail "cannot load the host-side test table"
        # The table goes with the trap (before the namespaces: kw_cleanup runs after this).
        trap 'nft delete table inet '"$TABLE"' 2>/dev/null; kw_cleanup; kw_forge_cleanup' EXIT
        "$NETPROBE" listen "$H4" "$PORT" &
        KW_PIDS+=($!)
        sleep 0.2
        args=(--source=kmsg --table="inet:$TABLE" --state-dir="$KW_TMP/host-state" --runtime-dir="$KW_TMP/host-run")

        kw_forge_sysctl 0
        kw_daemon_start "${args[@]}"
        kw_expect "$H4" "$PORT" "$C4" timeout
        kw_knock "$H4" tcp:3721 tcp:4728 tcp:6742
        granted_within 3 ssh4 "$C4" "inet $TABLE" || kw_fail "with nf_log_all_netns=0 a plain-prefix knock in the host's namespace did not open"
        kw_expect "$H4" "$PORT" "$C4" open
        kw_expect "$H4" "$PORT" "$C4B" timeout
        kw_pass "sysctl0: at 0, the plain prefix in the host's namespace keeps working (the article's rules)"

        kw_forge_sysctl 1
        sleep 1.2  # the daemon reads the sysctl at most once a second
        for port in 3721 4728 6742; do
                kw_syn "$H4" "$port" "$C4B"
        done
        granted_within 2 ssh4 "$C4B" "inet $TABLE" &&
                kw_fail "after nf_log_all_netns became 1 (no restart), a plain-prefix knock still opened the door"
        kw_expect "$H4" "$PORT" "$C4B" timeout
        kw_wait_until 2 kw_daemon_log_has "nf_log_all_netns" ||
                kw_fail "the daemon's log does not say that nf_log_all_netns became 1"
        kw_pass "sysctl0: the running daemon notices nf_log_all_netns becoming 1 and stops taking the plain prefix"

        sleep 1.2
        run_kw status --table="inet:$TABLE" --runtime-dir="$KW_TMP/host-run"
        [[ $out$err == *nf_log_all_netns* ]] || kw_fail "status does not name nf_log_all_netns: $out $err"
        kw_daemon_errlog 5 "nf_log_all_netns" --source=kmsg --table="inet:$TABLE" \
                        --state-dir="$KW_TMP/host-state2" --runtime-dir="$KW_TMP/host-run2" ||
                kw_fail "started with nf_log_all_netns=1 in the host's namespace, knockwatch --log-level=err says nothing about it: $(cat "$KW_ERRLOG")"
        kw_pass "sysctl0: status names it, and a daemon started now says so at error level"

        kw_forge_sysctl 0
        sleep 1.2
        for port in 3721 4728 6742; do
                kw_syn "$H4" "$port" "$C4B"
        done
        granted_within 3 ssh4 "$C4B" "inet $TABLE" || kw_fail "back at nf_log_all_netns=0, a plain-prefix knock did not open"
        kw_expect "$H4" "$PORT" "$C4B" open
        kw_pass "sysctl0: back at 0, the plain prefix opens again"
        kw_daemon_stop
fi
