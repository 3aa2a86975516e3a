#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# e2e-edges: issue 8, parts 3-8 — the edge cases that lose, stretch or wrongly give grants.
#   restart-journal  no saved position, two steps, a stop within 0.4 s, a start, the
#                    third step: the sequence completes (journal source)
#   restart-kmsg     the same on kmsg, and with SIGKILL instead of a clean stop
#   long-grant       `grant ssh ADDR --timeout=1h`, then ADDR knocks: about 1 h is left,
#                    not the door's 60 s
#   abac             A B A C opens A B C (a retransmitted SYN of an earlier step), and so
#                    does A B B C; the order is still required (A C B opens nothing)
#   window300        a door with a 300 ms window opens on the journal source (which hands
#                    lines over 0.35-0.5 s late)
#   mapped           `grant` of an IPv4-mapped IPv6 address is refused, with a message
#   check-steps      `check` fails when a step of a door has no log rule covering it
#                    (the comment edited, the rule forgotten), and without any log rule
#   output-lo        lines of a log rule in an output chain (OUT= set) and IN=lo lines
#                    open nothing (or `check` warns about such a rule)
#   overrun          the daemon stopped (SIGSTOP), an admin's `nft delete element`, then
#                    a bounded flood of element adds to another set of the table past the
#                    monitor's 4 MiB socket buffer, SIGCONT: the revoke stays, and the
#                    daemon's log says it read the table again
# Needs net.netfilter.nf_log_all_netns=1 (kw_net_setup sets it; the trap puts the previous
# value back). Uses secret log prefixes. Slots 38 (all but overrun) and 39 (overrun).
# Run parts alone with KW_SECTIONS="restart-journal restart-kmsg …".
. "$KW_SRCDIR/test/lib-journal.sh" "$@"
. "$KW_SRCDIR/test/lib-forge.sh"
kw_require_root

kw() { kw_srv "$KNOCKWATCH" "$@"; }

# run_kw ARGS...: knockwatch in the server namespace; sets out, err and rc.
run_kw() {
        rc=0
        kw "$@" >"$KW_TMP/out" 2>"$KW_TMP/err" || rc=$?
        out=$(cat "$KW_TMP/out")
        err=$(cat "$KW_TMP/err")
}

# syn_from FROM HOST PORT...: one SYN per port from the client's address FROM.
syn_from() {
        local from=$1 host=$2 port
        shift 2
        for port in "$@"; do
                kw_syn "$host" "$port" "$from"
                sleep 0.02
        done
}

# fresh RULESET_ARGS...: a new secret ruleset (kw_test_ruleset TIMEOUT WINDOW), loaded; the
# sets start empty.
fresh() {
        kw_test_ruleset "$KW_TMP/rules.nft" "$@"
        kw_ruleset "$KW_TMP/rules.nft"
}

kw_net_setup 38
kw_listen 22
# new_state: STATE (the daemon's --state-dir and --runtime-dir) for a daemon of its own.
S=0
new_state() {
        S=$((S + 1))
        STATE=(--state-dir="$KW_TMP/state.$S" --runtime-dir="$KW_TMP/run.$S")
}

# quick_restart SOURCE STOP: two steps, stop at once (STOP: term, a clean stop; kill, a
# crash with SIGKILL, inside the one-second save throttle), start on the same state, the
# third step: the sequence completes.
quick_restart() {
        local source=$1 stop=$2 args seen=0
        fresh 10s 10s
        new_state
        args=(--source="$source" "${STATE[@]}")
        [[ ! -e $KW_TMP/state.$S ]] || kw_fail "state directory $KW_TMP/state.$S already exists"
        kw_daemon_start "${args[@]}"
        kw_knock "$SRV4" tcp:3721 tcp:4728
        if [[ $stop == term ]]; then
                kw_daemon_stop
        else
                kill -KILL "$KW_DAEMON_PID"
                wait "$KW_DAEMON_PID" 2>/dev/null || true
                kw_forget_pid "$KW_DAEMON_PID"
                KW_DAEMON_PID=
        fi
        kw_daemon_log_has "Knock $CLI4 tcp:4728" && seen=1
        kw_daemon_start "${args[@]}"
        kw_knock "$SRV4" tcp:6742
        kw_wait_until 4 kw_set_has ssh4 "$CLI4" ||
                kw_fail "$source: two steps, a stop at once (SIG${stop^^}), a start, the third step: the sequence did not complete"
        kw_expect "$SRV4" 22 "$CLI4" open
        ((seen)) || kw_log "($source: the first daemon had not read the two steps before it stopped)"
        kw_pass "$source: SIG${stop^^} right after two steps (no position saved before), a start, the third step: the sequence completes"
        kw_daemon_stop
}

if kw_section restart-journal; then
        kw_log "restart-journal"
        kw_journald_start
        quick_restart journal term
fi

if kw_section restart-kmsg; then
        kw_log "restart-kmsg"
        quick_restart kmsg term
        kw_set_lacks ssh4 "$CLI4" || kw_srv nft delete element inet knockwatch ssh4 "{ $CLI4 }"
        quick_restart kmsg kill
fi

if kw_section long-grant; then
        kw_log "long-grant: a knock never shortens a longer grant"
        fresh 60s 5s
        new_state
        kw_daemon_start --source=kmsg "${STATE[@]}"
        run_kw grant ssh "$CLI4" --timeout=1h
        ((rc == 0)) || kw_fail "grant --timeout=1h failed: $err"
        left=$(kw_expires ssh4 "$CLI4")
        [[ -n $left ]] && ((left > 3500)) || kw_fail "after grant --timeout=1h, $CLI4 has ${left:-no}s left"
        kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
        kw_wait_until 3 kw_daemon_log_has "$CLI4 (refreshed|granted)" || kw_fail "the knock of $CLI4 was not taken"
        sleep 0.5
        left=$(kw_expires ssh4 "$CLI4")
        [[ -n $left ]] && ((left > 3500)) ||
                kw_fail "after grant --timeout=1h and a knock, $CLI4 has ${left:-no}s left in ssh4 (expected about 1 h, not the door's 60 s)"
        kw_expect "$SRV4" 22 "$CLI4" open
        kw_pass "long-grant: grant --timeout=1h, then a knock: ${left}s left, the longer grant is kept"
        kw_daemon_stop
fi

if kw_section abac; then
        kw_log "abac: a repeated earlier step does not break the sequence"
        fresh 30s 5s
        new_state
        kw_daemon_start --source=kmsg "${STATE[@]}"
        kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:3721 tcp:6742
        kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "A B A C did not open the door A B C"
        kw_expect "$SRV4" 22 "$CLI4" open
        kw_pass "abac: A B A C opens"
        kw_knock "$SRV6" tcp:3721 tcp:4728 tcp:4728 tcp:6742
        kw_wait_until 3 kw_set_has ssh6 "$CLI6" || kw_fail "A B B C did not open the door A B C"
        kw_pass "abac: A B B C opens"
        syn_from "$CLI4B" "$SRV4" 3721 6742 4728
        sleep 1
        kw_set_lacks ssh4 "$CLI4B" || kw_fail "A C B opened the door A B C"
        syn_from "$CLI4B" "$SRV4" 6742
        sleep 1
        kw_set_lacks ssh4 "$CLI4B" || kw_fail "A C B C opened the door A B C (the order is required)"
        kw_pass "abac: the order is still required: A C B and A C B C open nothing"
        kw_daemon_stop
fi

if kw_section window300; then
        kw_log "window300: a 300 ms window on the journal source"
        [[ -n $KW_JOURNALD_PID ]] || kw_journald_start
        fresh 30s 300ms
        grep -q "within 300ms" "$KW_TMP/rules.nft" || kw_fail "the ruleset has no 300 ms window"
        new_state
        kw_daemon_start --source=journal "${STATE[@]}"
        # journald hands an entry to its readers up to about 0.5 s late when it has been
        # idle (its change notifications are batched): let it go idle, so that the lag is
        # the usual one, and spread the steps over 100 ms of the 300.
        sleep 1.5
        kw_knock --delay 50 "$SRV4" tcp:3721 tcp:4728 tcp:6742
        kw_wait_until 4 kw_set_has ssh4 "$CLI4" ||
                kw_fail "three steps 50 ms apart did not open a door with a 300 ms window on the journal source"
        kw_expect "$SRV4" 22 "$CLI4" open
        kw_pass "window300: a 300 ms window opens on the journal source"
        kw_daemon_stop
fi

if kw_section mapped; then
        kw_log "mapped: grant of an IPv4-mapped IPv6 address"
        fresh 30s 5s
        mapped=::ffff:$CLI4B
        run_kw grant ssh "$mapped"
        ((rc != 0)) || kw_fail "grant ssh $mapped succeeded (said: $out); it lands in ssh6, where it never matches"
        [[ $(wc -l <"$KW_TMP/err") == 1 && $err == *"$mapped"* ]] ||
                kw_fail "grant ssh $mapped: expected one line on stderr naming the address, got: $err"
        kw_set_lacks ssh6 "$mapped" || kw_fail "$mapped is in ssh6 after a refused grant"
        kw_pass "mapped: grant of $mapped is refused (exit $rc): $err"
fi

if kw_section check-steps; then
        kw_log "check-steps: every step of every door needs a log rule that covers it"
        kw_test_ruleset "$KW_TMP/steps.nft" 30s 5s
        sed -i 's/tcp:6742 within 5s"/tcp:9999 within 5s"/' "$KW_TMP/steps.nft"
        grep -q "tcp:9999 within 5s" "$KW_TMP/steps.nft" || kw_fail "could not edit the door's comment"
        kw_ruleset "$KW_TMP/steps.nft"
        run_kw check
        ((rc == 1)) || kw_fail "check exited $rc although step tcp:9999 of door ssh has no log rule: $out $err"
        grep -q "^error: .*tcp:9999" <<<"$out$err" || kw_fail "check has no error naming tcp:9999: $out $err"
        kw_pass "check-steps: a step without a log rule (comment edited, rule forgotten) is an error naming it"

        kw_test_ruleset "$KW_TMP/nolog.nft" 30s 5s
        sed -i '/ log prefix /d' "$KW_TMP/nolog.nft"
        ! grep -q ' log prefix ' "$KW_TMP/nolog.nft" || kw_fail "could not remove the log rule"
        kw_ruleset "$KW_TMP/nolog.nft"
        run_kw check
        ((rc == 1)) || kw_fail "check exited $rc although the table has no log rule at all: $out $err"
        grep -q "^error: " <<<"$out$err" || kw_fail "check has no error about the missing log rule: $out $err"
        kw_pass "check-steps: a table without any log rule is an error"

        fresh 30s 5s
        run_kw check
        ((rc == 0)) || kw_fail "check of the intact secret ruleset failed: $out $err"
        kw_pass "check-steps: the intact ruleset still checks clean"
fi

if kw_section output-lo; then
        kw_log "output-lo: lines with OUT= set, and IN=lo lines"
        fresh 30s 5s
        # The same log rule, secret and all, in an output chain too.
        sed -i "s/^        chain input {/        chain output {\n                type filter hook output priority filter; policy accept;\n                tcp dport \$knock_ports tcp flags \& (fin | syn | rst | ack) == syn log prefix \"PORT_KNOCKING $KW_SECRET \" level warn\n        }\n\n        chain input {/" "$KW_TMP/rules.nft"
        grep -q "hook output" "$KW_TMP/rules.nft" || kw_fail "could not add the output chain"
        kw_ruleset "$KW_TMP/rules.nft"
        new_state
        kw_daemon_start --source=kmsg "${STATE[@]}"
        # The server itself knocks on the client: its output chain logs "IN= OUT=kw0 SRC=$SRV4".
        for port in 3721 4728 6742; do
                kw_srv "$NETPROBE" connect "$CLI4B" "$port" "$SRV4" 100 >/dev/null || true
        done
        kw_wait_until 3 grep -qE "PORT_KNOCKING $KW_SECRET IN= OUT=kw0 .*SRC=$SRV4 .*DPT=6742 " <(dmesg -k) ||
                kw_fail "the output chain's lines are not in the kernel log"
        sleep 1
        if kw_set_has ssh4 "$SRV4"; then
                run_kw check
                grep -qiE "^warning: .*output" <<<"$out$err" ||
                        kw_fail "lines with OUT= set (a log rule in an output chain) opened the door for $SRV4, and check does not warn about the rule: $out $err"
                kw_pass "output-lo: a log rule in an output chain: check warns about it"
        else
                kw_pass "output-lo: lines of a log rule in an output chain (OUT=kw0) open nothing"
        fi
        kw_daemon_stop

        fresh 30s 5s
        new_state
        kw_daemon_start --source=kmsg "${STATE[@]}"
        # The server knocks on itself: loopback, "IN=lo".
        for port in 3721 4728 6742; do
                kw_srv "$NETPROBE" connect "$SRV4" "$port" "$SRV4" 100 >/dev/null || true
        done
        kw_wait_until 3 grep -qE "PORT_KNOCKING $KW_SECRET IN=lo OUT= .*SRC=$SRV4 DST=$SRV4 .*DPT=6742 " <(dmesg -k) ||
                kw_fail "the loopback knocks are not in the kernel log"
        sleep 1
        if kw_set_has ssh4 "$SRV4"; then
                run_kw check
                grep -qiE "^warning: .*(\blo\b|loopback)" <<<"$out$err" ||
                        kw_fail "IN=lo lines opened the door for $SRV4, and check does not warn about loopback: $out $err"
                kw_pass "output-lo: loopback knocks: check warns about them"
        else
                kw_pass "output-lo: IN=lo lines open nothing"
        fi
        kw_daemon_stop
fi

# --- overrun: its own namespaces (slot 39), last -------------------------------------------
if kw_section overrun; then
        kw_log "overrun: a revoke lost in a monitor overrun stays a revoke"
        kw_net_setup 39
        kw_listen 22
        kw_test_ruleset "$KW_TMP/overrun.nft" 60s 5s
        sed -i 's/^table inet knockwatch {$/&\n        set flood4 { type ipv4_addr; size 131072; }/' "$KW_TMP/overrun.nft"
        grep -q "set flood4" "$KW_TMP/overrun.nft" || kw_fail "could not add the flood set"
        kw_ruleset "$KW_TMP/overrun.nft"
        new_state
        kw_daemon_start --source=kmsg "${STATE[@]}"
        run_kw grant ssh "$CLI4B" --timeout=60s
        ((rc == 0)) || kw_fail "grant failed: $err"
        kw_expect "$SRV4" 22 "$CLI4B" open
        sleep 0.5

        # 40000 element adds with 120-character comments in one transaction (addresses of
        # the benchmark range 198.18.0.0/15): one notification of some 200 bytes each, past
        # the 4 MiB receive buffer (8 MiB as the kernel counts; 15000 did not overrun it
        # here, 30000 did).
        awk 'BEGIN {
                c = sprintf("%0120d", 0)
                printf "add element inet knockwatch flood4 {"
                for (i = 0; i < 40000; i++)
                        printf "%s198.%d.%d.%d comment \"%s\"", (i ? ", " : " "), 18 + int(i / 65536), int(i / 256) % 256, i % 256, c
                print " }"
        }' >"$KW_TMP/flood.nft"
        lost=$(kw_daemon_log_count "Missed nftables notifications|resync")
        kill -STOP "$KW_DAEMON_PID"
        kw_srv nft delete element inet knockwatch ssh4 "{ $CLI4B }" || { kill -CONT "$KW_DAEMON_PID"; kw_fail "nft delete element failed"; }
        kw_srv nft -f "$KW_TMP/flood.nft" || { kill -CONT "$KW_DAEMON_PID"; kw_fail "the flood transaction failed"; }
        kill -CONT "$KW_DAEMON_PID"
        kw_daemon_log_wait_more "Missed nftables notifications|resync" "$lost" 10 ||
                kw_fail "after the flood the daemon's log does not say that it read the table again (no overrun seen?)"
        sleep 1
        kw_set_lacks ssh4 "$CLI4B" ||
                kw_fail "the admin's revoke of $CLI4B (nft delete element while the daemon was stopped) was undone after the overrun"
        kw_expect "$SRV4" 22 "$CLI4B" timeout
        kw_pass "overrun: after a monitor overrun the daemon resynced, and the revoke of $CLI4B stays"
        kill -0 "$KW_DAEMON_PID" || kw_fail "the daemon died"
        kw_srv nft flush set inet knockwatch flood4
        kw_daemon_stop
fi
