#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# e2e-admin: the commands an admin steers knockwatch with, against a real set: check
# (and its errors, naming table, set and column), grant, revoke, status, a closing
# sequence, bad arguments, and the daemon without CAP_NET_ADMIN.
. "$KW_SRCDIR/test/lib.sh"
kw_require_root
kw_net_setup 22

kw() { kw_srv "$KNOCKWATCH" "$@"; }

# run_kw ARGS...: run knockwatch in the server namespace; sets out, err and rc.
run_kw() {
        rc=0
        kw "$@" >"$KW_TMP/out" 2>"$KW_TMP/err" || rc=$?
        out=$(cat "$KW_TMP/out")
        err=$(cat "$KW_TMP/err")
}

# expect_error RC TEXT ARGS...: exit status RC, one line on stderr containing TEXT.
expect_error() {
        local want_rc=$1 text=$2
        shift 2
        run_kw "$@"
        ((rc == want_rc)) || kw_fail "knockwatch $*: exit $rc, expected $want_rc (stderr: $err)"
        [[ $(wc -l <"$KW_TMP/err") == 1 ]] || kw_fail "knockwatch $*: expected one line on stderr, got: $err"
        [[ $err == *"$text"* ]] || kw_fail "knockwatch $*: stderr does not say '$text': $err"
}

# --- check -----------------------------------------------------------------------
expect_error 1 "Table inet knockwatch does not exist" check
kw_pass "check without the table: exit 1, names the table"

kw_test_ruleset "$KW_TMP/rules.nft" 4s 3s
sed -i 's/tcp:6742 within 3s"/tcp:6742 within 3s close tcp:6742 tcp:4728 tcp:3721"/' "$KW_TMP/rules.nft"
kw_ruleset "$KW_TMP/rules.nft"
run_kw check
((rc == 0)) || kw_fail "check of the shipped ruleset failed: $out $err"
grep -qx "door ssh: tcp:3721 tcp:4728 tcp:6742 within 3s close tcp:6742 tcp:4728 tcp:3721" <<<"$out" ||
        kw_fail "check does not show the door: $out"
grep -qx "  IPv4 set ssh4, grants last 4s" <<<"$out" || kw_fail "check does not show the IPv4 set: $out"
grep -qx "  IPv6 set ssh6, grants last 4s" <<<"$out" || kw_fail "check does not show the IPv6 set: $out"
grep -q "^warning: .*rises strictly" <<<"$out" || kw_fail "check does not warn about the rising sequence: $out"
kw_pass "check shows the door, its sets and timeouts, and warns about a rising sequence"

# A broken ruleset: each problem is named with its set (and column), exit 1.
cat >"$KW_TMP/broken.nft" <<'EOF'
table inet broken {
        set bad4 { type ipv4_addr; flags timeout; timeout 1m; comment "knockwatch bad: tcp:3721 tcp:0 within 10s"; }
        set notimeout4 { type ipv4_addr; comment "knockwatch nt: tcp:1 tcp:3 tcp:2 within 10s"; }
        set range4 { type ipv4_addr; flags interval, timeout; timeout 1m; comment "knockwatch range: tcp:1 tcp:3 tcp:2 within 10s"; }
        set orphan6 { type ipv6_addr; flags timeout; timeout 1m; comment "knockwatch nobody"; }
        set good4 { type ipv4_addr; flags timeout; timeout 1m; comment "knockwatch good: udp:9 tcp:7 ping:5 within 2s"; }
}
EOF
kw_ruleset "$KW_TMP/broken.nft"
run_kw check --table=inet:broken
((rc == 1)) || kw_fail "check of a broken ruleset exited $rc"
for want in 'error: set "bad4": comment column 26: expected a step like tcp:3721, got "tcp:0"' \
            'error: set "notimeout4": has no "flags timeout"' \
            'error: set "range4": has "flags interval"' \
            'error: set "orphan6": names door "nobody"' \
            "door good: udp:9 tcp:7 ping:5 within 2s"; do
        grep -qF "$want" <<<"$out" || kw_fail "check does not say: $want
$out"
done
kw_pass "check of a broken ruleset names each set, the column and the fix; the good door still shows"

# --- grant, status, revoke ------------------------------------------------------------
kw_listen 22
kw_daemon_start --source=kmsg --state-dir="$KW_TMP/state" --runtime-dir="$KW_TMP/run"

run_kw grant ssh "$CLI4B" --timeout=20s
((rc == 0)) || kw_fail "grant failed: $err"
[[ $out == "$CLI4B granted ssh for 20s (set inet knockwatch ssh4)" ]] || kw_fail "grant said: $out"
kw_set_has ssh4 "$CLI4B" || kw_fail "grant did not put $CLI4B in ssh4"
kw_expect "$SRV4" 22 "$CLI4B" open
kw_expect "$SRV4" 22 "$CLI4" timeout
kw_pass "grant ... --timeout=20s (options after the arguments too) opens TCP 22 for that address only"

sleep 1.2  # the daemon rewrites its status file at most once a second
run_kw status --runtime-dir="$KW_TMP/run"
((rc == 0)) || kw_fail "status failed: $err"
grep -q "^daemon: running, pid $KW_DAEMON_PID" <<<"$out" || kw_fail "status does not show the daemon: $out"
grep -qE "^    $CLI4B, 1[0-9]s left$" <<<"$out" || kw_fail "status does not list $CLI4B with its time left: $out"
grep -q "^door ssh: tcp:3721 tcp:4728 tcp:6742 within 3s" <<<"$out" || kw_fail "status does not show the door: $out"
kw_pass "status shows the daemon, the door and the grant with its time left"

run_kw revoke ssh "$CLI4B"
((rc == 0)) || kw_fail "revoke failed: $err"
[[ $out == "$CLI4B revoked from ssh (set inet knockwatch ssh4)" ]] || kw_fail "revoke said: $out"
kw_set_has ssh4 "$CLI4B" && kw_fail "revoke left $CLI4B in ssh4"
kw_expect "$SRV4" 22 "$CLI4B" timeout
expect_error 1 "$CLI4B holds no grant of door ssh" revoke ssh "$CLI4B"
kw_pass "revoke closes it again; revoking twice says the address holds no grant"

run_kw grant ssh "$CLI6B"
((rc == 0)) && [[ $out == "$CLI6B granted ssh for 4s (set inet knockwatch ssh6)" ]] ||
        kw_fail "grant of an IPv6 address with the set's timeout said: $out $err"
kw_set_has ssh6 "$CLI6B" || kw_fail "$CLI6B not in ssh6"
kw_wait_until 8 kw_daemon_log_has "$CLI6B revoked from ssh \(expired\)" ||
        kw_fail "the daemon did not log the expiry of a grant made by hand"
kw_pass "a grant by hand uses the set's timeout, and the daemon logs its expiry"

# --- a closing sequence revokes --------------------------------------------------------
kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "opening sequence did not grant"
kw_knock "$SRV4" tcp:6742 tcp:4728 tcp:3721
kw_wait_until 3 kw_set_lacks ssh4 "$CLI4" || kw_fail "closing sequence did not revoke"
kw_expect "$SRV4" 22 "$CLI4" timeout
kw_daemon_log_has "$CLI4 revoked from ssh \(closing sequence\)" || kw_fail "closing not logged"
kw_pass "the closing sequence revokes the grant at once"

# --- bad arguments: one line, the right status -------------------------------------------
expect_error 2 "Usage: knockwatch grant" grant ssh
expect_error 2 'Invalid address "192.0.2.300"' grant ssh 192.0.2.300
expect_error 2 'Invalid --timeout "0s"' grant --timeout=0s ssh "$CLI4B"
expect_error 2 'Invalid --table "foo:bar"' check --table=foo:bar
expect_error 1 'No usable door "web"' grant web "$CLI4B"
expect_error 2 'Unknown command "grnat"' grnat
expect_error 2 'Invalid --source "file:relative"' --source=file:relative
expect_error 2 'Invalid --capacity "0"' --capacity=0
kw_pass "bad arguments get one line naming the fault and exit 2 (1 for an unknown door)"

# --- no CAP_NET_ADMIN: one line, non-zero --------------------------------------------------
rc=0
ip netns exec "$NS_SRV" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
        --bounding-set=-all "$KNOCKWATCH" --source=kmsg --log-target=console \
        >"$KW_TMP/out" 2>"$KW_TMP/err" || rc=$?
((rc == 1)) || kw_fail "without CAP_NET_ADMIN the daemon exited $rc"
[[ $(grep -c . "$KW_TMP/err") == 1 ]] && grep -q "needs CAP_NET_ADMIN" "$KW_TMP/err" ||
        kw_fail "without CAP_NET_ADMIN: $(cat "$KW_TMP/err")"
kw_pass "without CAP_NET_ADMIN the daemon says so in one line and exits 1"

kw_daemon_stop
