# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# e2e-prefix.sh — prefix grants (issue 11, item 1) through the whole daemon, on the real
# kernel: a set whose comment ends in "/N" holds the knocking source's /N, and the ruleset
# matches it with a masked lookup ("ip6 saddr & MASK @set").
#
# The issue's case is a /64: a knock from 2001:db8::2 lets 2001:db8::77 in, not
# 2001:db8:1::2. Tests here may use only 2001:db8::/64 (and each its own part of it), so
# the same is shown one level down, with a /120 inside this test's slot: a knock from
# 2001:db8::29:2 lets 2001:db8::29:77 in, not 2001:db8::29:102; and with an IPv4 /30:
# 198.51.100.82 lets .83 in, not .85. The kernel's code is the same for every length.
# Also: the grant expires as a whole; grant and revoke take a prefix (and refuse a wider
# one, or host bits); status, the audit record and check speak of the prefix; check
# reports a prefix set looked up unmasked. Slot 41.

# shellcheck source=test/lib.sh
. "${KW_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}/test/lib.sh"
kw_require_root
kw_net_setup 41

NEAR6=2001:db8::29:77      # in CLI6's /120
FAR6=2001:db8::29:102      # in the next /120
NET6=2001:db8::29:0        # CLI6's /120
FAR4=198.51.100.85         # CLI4 (.82) and CLI4B (.83) are in .80/30; .85 is not
NET4=198.51.100.80
[[ $CLI6 == 2001:db8::29:2 && $CLI4 == 198.51.100.82 && $CLI4B == 198.51.100.83 ]] ||
        kw_fail "slot 41 has other addresses than this test expects ($CLI4 $CLI4B $CLI6)"
# Deprecated: usable when bound, never the source of the client's own knocks.
ip -n "$NS_CLI" addr add "$NEAR6/64" dev kw1 nodad preferred_lft 0
ip -n "$NS_CLI" addr add "$FAR6/64" dev kw1 nodad preferred_lft 0
ip -n "$NS_CLI" addr add "$FAR4/24" dev kw1

ruleset() { # OUT V6-LOOKUP [V6-PREFIX [V4-LOOKUP [V4-PREFIX]]]
        local p6=${3-/120} l4=${4:-"ip saddr & 255.255.255.252 @ssh4"} p4=${5- /30}
        cat >"$1" <<EOF
table inet knockwatch
delete table inet knockwatch
table inet knockwatch {
        set ssh4 { type ipv4_addr; flags timeout; timeout 4s;
                   comment "knockwatch ssh: tcp:3721 tcp:6742 tcp:4728 within 5s$p4"; }
        set ssh6 { type ipv6_addr; flags timeout; timeout 4s; comment "knockwatch ssh${p6:+ $p6}"; }
        chain input {
                type filter hook input priority filter - 10; policy accept;
                tcp dport { 3721, 4728, 6742 } tcp flags & (fin | syn | rst | ack) == syn log prefix "PORT_KNOCKING " level warn
                tcp dport { 3721, 4728, 6742 } drop
                tcp dport 22 ct state established,related accept
                tcp dport 22 $l4 accept
                tcp dport 22 $2 accept
                tcp dport 22 drop
        }
}
EOF
        kw_add_secret "$1"
}
ruleset "$KW_TMP/prefix.nft" "ip6 saddr & ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00 @ssh6"
kw_ruleset "$KW_TMP/prefix.nft"
kw_listen 22

out=$(kw_srv "$KNOCKWATCH" check --ruleset="$KW_TMP/prefix.nft" 2>&1) || kw_fail "check failed: $out"
grep -q "IPv6 set ssh6, grants last 4s and cover the source's /120" <<<"$out" &&
        grep -q "IPv4 set ssh4, grants last 4s and cover the source's /30" <<<"$out" &&
        grep -qx "door ssh: tcp:3721 tcp:6742 tcp:4728 within 5s /30" <<<"$out" ||
        kw_fail "check does not show the sets' prefixes: $out"
kw_pass "check shows what each set's grants cover"

kw_daemon_start --source=kmsg --state-dir="$KW_TMP/state" --runtime-dir="$KW_TMP/run"

# --- IPv6: the knock opens the source's /120, and only it ------------------------------------
kw_knock "$SRV6" tcp:3721 tcp:6742 tcp:4728
kw_wait_until 3 kw_set_has ssh6 "$NET6" || kw_fail "$NET6/120 was not granted"
kw_set_lacks ssh6 "$CLI6" || kw_fail "the address $CLI6 itself is in ssh6: the grant is not a prefix"
kw_expect "$SRV6" 22 "$CLI6" open
kw_expect "$SRV6" 22 "$NEAR6" open
kw_expect "$SRV6" 22 "$FAR6" timeout
kw_pass "a knock from $CLI6 lets $NEAR6 (same /120) connect, not $FAR6"
kw_daemon_log_has "$NET6/120 granted ssh" || kw_fail "the audit record does not name $NET6/120"
out=$(kw_srv "$KNOCKWATCH" status --runtime-dir="$KW_TMP/run")
grep -q "    $NET6/120, [0-9.]*s left" <<<"$out" || kw_fail "status does not show the prefix: $out"
json=$(kw_srv "$KNOCKWATCH" status --json --runtime-dir="$KW_TMP/run")
jq -e --arg p "$NET6/120" '[.doors[].sets[] | select(.name == "ssh6" and .prefix_len == 120) |
        .grants[] | select(.prefix == $p and .address == "2001:db8::29:0")] | length == 1' <<<"$json" >/dev/null ||
        kw_fail "status --json does not show the prefix: $json"
kw_pass "the audit record, status and status --json name the prefix"

kw_wait_until 8 kw_set_lacks ssh6 "$NET6" || kw_fail "the grant of $NET6/120 did not expire"
kw_expect "$SRV6" 22 "$NEAR6" timeout
kw_expect "$SRV6" 22 "$CLI6" timeout
kw_daemon_log_has "$NET6/120 revoked from ssh \\(expired\\)" || kw_fail "the expiry does not name the prefix"
kw_pass "the grant expires as a whole: neither address gets in afterwards"

# --- IPv4: the same with a /30 ----------------------------------------------------------------
kw_knock "$SRV4" tcp:3721 tcp:6742 tcp:4728
kw_wait_until 3 kw_set_has ssh4 "$NET4" || kw_fail "$NET4/30 was not granted"
kw_expect "$SRV4" 22 "$CLI4B" open
kw_expect "$SRV4" 22 "$FAR4" timeout
kw_pass "IPv4: a knock from $CLI4 lets $CLI4B (same /30) connect, not $FAR4"

# --- grant and revoke speak prefixes -------------------------------------------------------------
out=$(kw_srv "$KNOCKWATCH" grant ssh 2001:db8::29:1ab --timeout=1m 2>&1) || kw_fail "grant failed: $out"
grep -q "^2001:db8::29:100/120 granted ssh for 1m" <<<"$out" || kw_fail "grant does not name the prefix: $out"
kw_expect "$SRV6" 22 "$FAR6" open
out=$(kw_srv "$KNOCKWATCH" revoke ssh 2001:db8::29:100/120 2>&1) || kw_fail "revoke failed: $out"
grep -q "^2001:db8::29:100/120 revoked from ssh" <<<"$out" || kw_fail "revoke does not name the prefix: $out"
kw_expect "$SRV6" 22 "$FAR6" timeout
kw_pass "grant ADDRESS grants its /120 for the time given; revoke PREFIX removes it"

rc=0
out=$(kw_srv "$KNOCKWATCH" grant ssh 2001:db8::29:0/112 2>&1) || rc=$?
((rc == 2)) && grep -q "is wider than what set ssh6 grants (/120)" <<<"$out" ||
        kw_fail "a wider prefix was not refused (exit $rc): $out"
rc=0
out=$(kw_srv "$KNOCKWATCH" grant ssh 2001:db8::29:5/120 2>&1) || rc=$?
((rc == 2)) && grep -q "has bits set after /120; did you mean 2001:db8::29:0/120" <<<"$out" ||
        kw_fail "a prefix with host bits was not refused (exit $rc): $out"
kw_pass "grant refuses a prefix wider than the set's, and one with host bits, saying which"

# --- a set that grants another prefix after a reload gets nothing put back --------------------------
kw_knock "$SRV6" tcp:3721 tcp:6742 tcp:4728
kw_wait_until 3 kw_set_has ssh6 "$NET6" || kw_fail "$NET6/120 was not granted before the reload"
ruleset "$KW_TMP/wider.nft" "ip6 saddr & ffff:ffff:ffff:ffff:ffff:ffff:ffff:0 @ssh6" /112
kw_ruleset "$KW_TMP/wider.nft"
kw_wait_until 3 kw_daemon_log_has "the set grants another prefix now" ||
        kw_fail "the daemon did not say it forgot the /120 grant"
kw_set_lacks ssh6 "$NET6" || kw_fail "the /120 grant was put back into a set of /112"
kw_expect "$SRV6" 22 "$NEAR6" timeout
kw_pass "after a reload that widens the set's prefix, the old grant is forgotten, not put back wider"

# --- a prefix set looked up with the whole address -------------------------------------------------
ruleset "$KW_TMP/unmasked.nft" "ip6 saddr @ssh6"
kw_ruleset "$KW_TMP/unmasked.nft"
rc=0
out=$(kw_srv "$KNOCKWATCH" check --ruleset="$KW_TMP/unmasked.nft" 2>&1) || rc=$?
((rc == 1)) && grep -q "error: door \"ssh\": set ssh6 holds /120 prefixes, but a rule looks the whole source address up in it.*ip6 saddr & ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00 @ssh6" <<<"$out" ||
        kw_fail "check did not report the unmasked lookup (exit $rc): $out"
kw_wait_until 3 kw_daemon_log_has "set ssh6 holds /120 prefixes, but a rule looks the whole source" ||
        kw_fail "the daemon did not report the unmasked lookup on reload"
kw_pass "check (and the daemon, on reload) report a prefix set looked up unmasked"

# A mask of all ones is no mask: a set of whole addresses looked up so is fine.
ruleset "$KW_TMP/allones.nft" "ip6 saddr & ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff @ssh6" "" \
        "ip saddr & 255.255.255.255 @ssh4" ""
kw_ruleset "$KW_TMP/allones.nft"
out=$(kw_srv "$KNOCKWATCH" check --ruleset="$KW_TMP/allones.nft" 2>&1) ||
        kw_fail "check refused whole-address sets looked up with an all-ones mask: $out"
grep -q "masks the source address" <<<"$out" && kw_fail "check took an all-ones mask for a prefix: $out"
kw_pass "an all-ones mask counts as no mask"

echo "all prefix grant tests passed"
