#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# e2e-observe: what knockwatch tells programs, with the daemon on the real kernel:
#   - grant and revoke hooks: a knock runs the grant hook with exactly the KNOCKWATCH_*
#     fields (the right source, door, set, timeout and reason) and nothing of the
#     daemon's environment; the expiry and the closing sequence run the revoke hook; a
#     grant hook that hangs is killed at its time limit while another knock is granted
#     and its hook runs; hook programs that are relative or not executable are refused;
#   - --metrics-file: written at start, mode 0644, valid (test/prom-check, and promtool
#     where installed), the counters move with a real knock, and `knockwatch metrics`
#     prints the same text;
#   - status --json: one valid object (jq) with the daemon, the door, the grant and its
#     time left, the counters; a file source whose path holds a quote, a backslash and
#     an invalid UTF-8 byte still gives valid JSON and valid metrics.
# Other tests' knocks reach this daemon too (one kernel log): counters are compared as
# "grew by at least", and exact checks use this test's own addresses (slot 26).
. "$KW_SRCDIR/test/lib.sh"
kw_require_root
command -v jq >/dev/null || kw_fail "jq is needed (scripts/install-deps installs it)"
PROM_CHECK=${PROM_CHECK:-$KW_BUILDDIR/test/prom-check}
[[ -x $PROM_CHECK ]] || kw_fail "no prom-check at $PROM_CHECK (build first)"
kw_net_setup 26

kw() { kw_srv "$KNOCKWATCH" "$@"; }

kw_test_ruleset "$KW_TMP/rules.nft" 4s 3s
sed -i 's/tcp:6742 within 3s"/tcp:6742 within 3s close tcp:6742 tcp:4728 tcp:3721"/' "$KW_TMP/rules.nft"
kw_ruleset "$KW_TMP/rules.nft"
kw_listen 22

# --- the hooks: record what they get; the IPv6 client's grant hook hangs -------------------
HOOKS=$KW_TMP/hooks
mkdir -m 0755 "$HOOKS"
for kind in grant revoke; do
        cat >"$HOOKS/$kind" <<EOF
#!/bin/sh
out="$HOOKS/\$KNOCKWATCH_EVENT-\$KNOCKWATCH_REASON-\$KNOCKWATCH_SOURCE"
{ env; echo "argc=\$#"; echo "stdin=\$(readlink /proc/self/fd/0)"; } >"\$out.tmp"
mv "\$out.tmp" "\$out"
if [ "$kind" = grant ] && [ "\$KNOCKWATCH_SOURCE" = "$CLI6" ]; then
        echo \$\$ >"$HOOKS/hanging.pid"
        exec sleep 1000
fi
EOF
        chmod 0755 "$HOOKS/$kind"
done

# hook_record EVENT REASON SOURCE: the environment the hook recorded (waits for it).
hook_record() {
        local f="$HOOKS/$1-$2-$3"
        kw_wait_until "${4:-6}" test -e "$f" || kw_fail "no $1 hook ran for $3 ($2)"
        cat "$f"
}

# expect_env RECORD NAME=VALUE...: the record holds exactly these KNOCKWATCH_* lines.
expect_env() {
        local record=$1 want got
        shift
        want=$(printf '%s\n' "$@" | sort)
        got=$(grep '^KNOCKWATCH_' <<<"$record" | sort)
        [[ $got == "$want" ]] || kw_fail "hook environment: expected
$want
got
$got"
        grep -qx "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" <<<"$record" ||
                kw_fail "hook PATH: $record"
        grep -q KW_DAEMON_MARKER <<<"$record" && kw_fail "the daemon's environment reached the hook"
        grep -qx "argc=0" <<<"$record" || kw_fail "the hook got arguments: $record"
        grep -qx "stdin=/dev/null" <<<"$record" || kw_fail "the hook's stdin is not /dev/null: $record"
        return 0
}

# --- refused at the start ---------------------------------------------------------------------
for bad in "hooks/grant" "$HOOKS/missing" "$KW_TMP/rules.nft"; do
        rc=0
        kw --source=kmsg --exec-on-grant="$bad" >"$KW_TMP/out" 2>"$KW_TMP/err" || rc=$?
        ((rc == 2)) || kw_fail "--exec-on-grant=$bad: exit $rc, expected 2"
        [[ $(grep -c . "$KW_TMP/err") == 1 ]] && grep -qF -- "--exec-on-grant=\"$bad\"" "$KW_TMP/err" ||
                kw_fail "--exec-on-grant=$bad: the one error line does not name it: $(cat "$KW_TMP/err")"
done
rc=0
kw --source=kmsg --exec-on-revoke="$HOOKS/grant" --metrics-file=relative.prom >/dev/null 2>"$KW_TMP/err" || rc=$?
((rc == 2)) && grep -q 'Invalid --metrics-file "relative.prom"' "$KW_TMP/err" ||
        kw_fail "a relative --metrics-file was not refused: $rc $(cat "$KW_TMP/err")"
kw_pass "hook programs that are relative, missing or not executable, and a relative metrics file, are refused at the start, named"

# --- the daemon with metrics and hooks -----------------------------------------------------------
TEXTFILE=$KW_TMP/textfile
METRICS=$TEXTFILE/knockwatch.prom
mkdir -m 0755 "$TEXTFILE"
KW_DAEMON_MARKER=must-not-leak kw_daemon_start --source=kmsg --state-dir="$KW_TMP/state" \
        --runtime-dir="$KW_TMP/run" --metrics-file="$METRICS" \
        --exec-on-grant="$HOOKS/grant" --exec-on-revoke="$HOOKS/revoke"

kw_wait_until 3 test -s "$METRICS" || kw_fail "no metrics file at the start"
[[ $(stat -c %a "$METRICS") == 644 ]] || kw_fail "metrics file mode $(stat -c %a "$METRICS"), expected 644"

# check_metrics FILE: the strict checker, and promtool where it is installed.
check_metrics() {
        "$PROM_CHECK" "$1" >"$KW_TMP/prom-check.out" || kw_fail "metrics do not parse: $(cat "$KW_TMP/prom-check.out")
$(cat "$1")"
        if command -v promtool >/dev/null; then
                promtool check metrics <"$1" || kw_fail "promtool check metrics failed on $1"
        fi
}
check_metrics "$METRICS"
command -v promtool >/dev/null && kw_pass "promtool accepts the metrics" ||
        echo "note: promtool is not installed; test/prom-check checked the metrics alone"

# metric SERIES: its value in the metrics file now (-1 if missing).
metric() {
        awk -v series="$1" '$1 == series { print $2; found = 1; exit } END { if (!found) print -1 }' "$METRICS"
}
# metric_at_least NAME N [TIMEOUT]: the file shows NAME >= N (rewritten at most once a second).
metric_ge() {
        (($(metric "$1" | cut -d. -f1) >= $2))
}
metric_at_least() {
        kw_wait_until "${3:-5}" metric_ge "$1" "$2" || kw_fail "metric $1 is $(metric "$1"), expected at least $2"
}

before_knocks=$(metric 'knockwatch_knocks_total{door="ssh"}')
before_grants=$(metric 'knockwatch_grants_total{door="ssh"}')
before_seqs=$(metric 'knockwatch_sequences_completed_total{door="ssh"}')
before_lines=$(metric 'knockwatch_lines_total')
before_expiries=$(metric 'knockwatch_expiries_total{door="ssh"}')
before_runs=$(metric 'knockwatch_hook_runs_total')
((before_knocks >= 0 && before_grants >= 0 && before_lines >= 0)) || kw_fail "metrics lack the door's series: $(cat "$METRICS")"

# --- a hanging grant hook does not hold up the next grant -----------------------------------------
kw_knock "$SRV6" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 3 kw_set_has ssh6 "$CLI6" || kw_fail "the IPv6 knock did not grant"
hook_record grant sequence "$CLI6" >/dev/null
kw_wait_until 3 test -s "$HOOKS/hanging.pid" || kw_fail "the hanging hook did not start"
hanging=$(cat "$HOOKS/hanging.pid")
started_hang=$SECONDS

kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "a knock was not granted while a hook hung"
kw_expect "$SRV4" 22 "$CLI4" open
record=$(hook_record grant sequence "$CLI4" 3)
expect_env "$record" KNOCKWATCH_EVENT=grant "KNOCKWATCH_SOURCE=$CLI4" KNOCKWATCH_DOOR=ssh \
        "KNOCKWATCH_SET=inet knockwatch ssh4" KNOCKWATCH_TIMEOUT_SEC=4 KNOCKWATCH_REASON=sequence
kill -0 "$hanging" 2>/dev/null || kw_fail "the hanging hook is gone already"
kw_pass "a knock runs the grant hook with KNOCKWATCH_SOURCE=$CLI4 and the other fields, nothing else, while another hook hangs"

metric_at_least 'knockwatch_knocks_total{door="ssh"}' $((before_knocks + 6))
metric_at_least 'knockwatch_grants_total{door="ssh"}' $((before_grants + 2))
metric_at_least 'knockwatch_sequences_completed_total{door="ssh"}' $((before_seqs + 2))
metric_at_least 'knockwatch_lines_total' $((before_lines + 6))
metric_at_least 'knockwatch_live_grants{door="ssh"}' 2
metric_at_least 'knockwatch_hook_runs_total' $((before_runs + 2))
check_metrics "$METRICS"
kw_pass "the metrics file moves with the knocks: knocks, sequences, grants, lines, live grants, hook runs"

# --- status --json ------------------------------------------------------------------------------
kw status --json --runtime-dir="$KW_TMP/run" >"$KW_TMP/status.json" || kw_fail "status --json failed"
[[ $(wc -l <"$KW_TMP/status.json") == 1 ]] || kw_fail "status --json is not one line"
jq -e . "$KW_TMP/status.json" >/dev/null || kw_fail "status --json is not JSON: $(cat "$KW_TMP/status.json")"
q() { jq -er "$1" "$KW_TMP/status.json" || kw_fail "status --json: $1 is false: $(jq . "$KW_TMP/status.json")"; }
q '.version == 1' >/dev/null
q '.table == "inet knockwatch"' >/dev/null
q '.daemon.running and (.daemon.source | startswith("kmsg")) and .daemon.table == "inet knockwatch"' >/dev/null
[[ $(q .daemon.pid) == "$KW_DAEMON_PID" ]] || kw_fail "status --json: pid $(q .daemon.pid), expected $KW_DAEMON_PID"
q '.daemon.started_usec > 1600000000000000 and .daemon.updated_usec >= .daemon.started_usec' >/dev/null
q '.daemon.counters.grants >= 2 and .daemon.counters.knocks >= 6 and .daemon.counters.hook_runs >= 2' >/dev/null
q '.daemon.counters.rejected_by_reason | keys == ["malformed","not_kernel","other","too_long","truncated","untrusted"]' >/dev/null
q '.doors | length == 1' >/dev/null
q '.doors[0] | .name == "ssh" and .sequence == "tcp:3721 tcp:4728 tcp:6742 within 3s close tcp:6742 tcp:4728 tcp:3721"' >/dev/null
q '.doors[0] | .open == ["tcp:3721","tcp:4728","tcp:6742"] and .close == ["tcp:6742","tcp:4728","tcp:3721"] and .window_ms == 3000' >/dev/null
q '.doors[0].sets | map(.family + " " + .name + " " + (.timeout_ms|tostring)) == ["ipv4 ssh4 4000", "ipv6 ssh6 4000"]' >/dev/null
jq -e --arg a "$CLI4" '.doors[0].sets[0].grants | map(select(.address == $a)) | length == 1 and
        (.[0].left_ms > 0 and .[0].left_ms <= 4000 and .[0].timeout_ms == 4000)' "$KW_TMP/status.json" >/dev/null ||
        kw_fail "status --json does not list $CLI4 with its time left: $(jq .doors "$KW_TMP/status.json")"
q '.doors[0].counters.grants >= 2 and .doors[0].counters.live_grants >= 2' >/dev/null
q '.problems.errors == 0 and .error == null' >/dev/null
kw status --json=pretty --runtime-dir="$KW_TMP/run" | jq -e '.version == 1' >/dev/null ||
        kw_fail "status --json=pretty is not the same object"
kw_pass "status --json is one valid object: daemon, counters, the door, its sets and $CLI4's grant with its time left"

# --- knockwatch metrics prints what the file holds -------------------------------------------------
same=no
for _ in 1 2 3 4 5; do
        kw metrics --runtime-dir="$KW_TMP/run" >"$KW_TMP/metrics.out" || kw_fail "knockwatch metrics failed"
        cmp -s "$KW_TMP/metrics.out" "$METRICS" && { same=yes; break; }
        sleep 1.2
done
[[ $same == yes ]] || kw_fail "knockwatch metrics differs from the metrics file: $(diff "$KW_TMP/metrics.out" "$METRICS")"
check_metrics "$KW_TMP/metrics.out"
kw_pass "knockwatch metrics prints the same text as the metrics file"

# --- the revoke hook: expiry, closing sequence ----------------------------------------------------
record=$(hook_record revoke expired "$CLI4" 8)
expect_env "$record" KNOCKWATCH_EVENT=revoke "KNOCKWATCH_SOURCE=$CLI4" KNOCKWATCH_DOOR=ssh \
        "KNOCKWATCH_SET=inet knockwatch ssh4" KNOCKWATCH_TIMEOUT_SEC=0 KNOCKWATCH_REASON=expired
metric_at_least 'knockwatch_expiries_total{door="ssh"}' $((before_expiries + 1))
kw_pass "the expiry runs the revoke hook (reason expired) and counts an expiry"

kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "the second knock did not grant"
kw_knock "$SRV4" tcp:6742 tcp:4728 tcp:3721
kw_wait_until 3 kw_set_lacks ssh4 "$CLI4" || kw_fail "the closing sequence did not revoke"
record=$(hook_record revoke closing-sequence "$CLI4")
expect_env "$record" KNOCKWATCH_EVENT=revoke "KNOCKWATCH_SOURCE=$CLI4" KNOCKWATCH_DOOR=ssh \
        "KNOCKWATCH_SET=inet knockwatch ssh4" KNOCKWATCH_TIMEOUT_SEC=0 KNOCKWATCH_REASON=closing-sequence
metric_at_least 'knockwatch_revokes_total{door="ssh"}' 1
kw_pass "the closing sequence runs the revoke hook (reason closing-sequence)"

# --- the hanging hook is killed at its limit (10 s) ---------------------------------------------------
kw_wait_until 20 kw_daemon_log_has "Hook \"$HOOKS/grant\" \(grant of ssh to $CLI6\) ran past its time limit and was stopped \(SIGTERM after 1[0-9][0-9][0-9][0-9] ms\)\." ||
        kw_fail "the hanging hook was not stopped at its limit"
((SECONDS - started_hang >= 9)) || kw_fail "the hanging hook was stopped before its limit"
kw_wait_until 3 eval '! kill -0 "$hanging" 2>/dev/null' || kw_fail "the hanging hook still runs"
metric_at_least 'knockwatch_hook_timeouts_total' 1
kw_pass "the hanging hook was stopped at its time limit, and counted"
kw_daemon_stop

# --- outside text in the source's name: still valid JSON and metrics --------------------------------
weird="$KW_TMP/we\"ird\\path"$'\xff'".log"
: >"$weird"
chmod 0600 "$weird"
kw_daemon_start --source="file:$weird" --state-dir="$KW_TMP/state2" --runtime-dir="$KW_TMP/run2" \
        --metrics-file="$METRICS"
kw_wait_until 3 grep -qF 'we\"ird' "$METRICS" || kw_fail "the new daemon did not rewrite the metrics file"
check_metrics "$METRICS"
kw status --json --runtime-dir="$KW_TMP/run2" >"$KW_TMP/status2.json" || kw_fail "status --json failed"
jq -e --arg p "file $KW_TMP/we\"ird\\path"$'\xef\xbf\xbd'".log" '.daemon.source == $p' "$KW_TMP/status2.json" >/dev/null ||
        kw_fail "status --json does not carry the odd path safely: $(cat "$KW_TMP/status2.json")"
kw_pass "a source path with a quote, a backslash and an invalid UTF-8 byte gives valid JSON and metrics"
kw_daemon_stop
