#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# e2e-doors: several doors in one table. Each door's sequence opens its own port only;
# a knock on another door's step does not disturb a sequence in progress, so the two
# sequences interleaved open both doors.
. "$KW_SRCDIR/test/lib.sh"
kw_require_root
kw_net_setup 23

cat >"$KW_TMP/doors.nft" <<'EOF2'
table inet knockwatch
delete table inet knockwatch
table inet knockwatch {
        set ssh4 { type ipv4_addr; flags timeout; timeout 4s;
                   comment "knockwatch ssh: tcp:3721 tcp:6742 tcp:4728 within 3s"; }
        set ssh6 { type ipv6_addr; flags timeout; timeout 4s; comment "knockwatch ssh"; }
        set web4 { type ipv4_addr; flags timeout; timeout 4s;
                   comment "knockwatch web: udp:5000 tcp:5002 udp:5001 within 3s"; }
        set web6 { type ipv6_addr; flags timeout; timeout 4s; comment "knockwatch web"; }
        chain input {
                type filter hook input priority filter - 10; policy accept;
                tcp dport { 3721, 4728, 6742, 5002 } tcp flags & (fin | syn | rst | ack) == syn log prefix "PORT_KNOCKING "
                udp dport { 5000, 5001 } log prefix "PORT_KNOCKING "
                tcp dport { 3721, 4728, 6742, 5002 } drop
                udp dport { 5000, 5001 } drop
                tcp dport 22 ip saddr @ssh4 accept
                tcp dport 22 ip6 saddr @ssh6 accept
                tcp dport 22 drop
                tcp dport 8080 ip saddr @web4 accept
                tcp dport 8080 ip6 saddr @web6 accept
                tcp dport 8080 drop
        }
}
EOF2
kw_add_secret "$KW_TMP/doors.nft"
kw_ruleset "$KW_TMP/doors.nft"
kw_listen 22
kw_listen 8080
kw_daemon_start --source=kmsg --state-dir="$KW_TMP/state" --runtime-dir="$KW_TMP/run"
kw_daemon_log_has "watching 2 door" || kw_fail "the daemon does not see two doors"

kw_knock "$SRV4" tcp:3721 tcp:6742 tcp:4728
kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "door ssh did not open"
kw_expect "$SRV4" 22 "$CLI4" open
kw_expect "$SRV4" 8080 "$CLI4" timeout
kw_set_lacks web4 "$CLI4" || kw_fail "door ssh's sequence opened door web"
kw_pass "door ssh opens port 22 only"

kw_knock "$SRV6" udp:5000 tcp:5002 udp:5001
kw_wait_until 3 kw_set_has web6 "$CLI6" || kw_fail "door web did not open over IPv6"
kw_expect "$SRV6" 8080 "$CLI6" open
kw_expect "$SRV6" 22 "$CLI6" timeout
kw_pass "door web opens port 8080 only (IPv6)"

# Interleaved: the other door's steps leave each sequence alone.
kw_wait_until 6 kw_set_lacks ssh4 "$CLI4" || kw_fail "ssh grant did not expire"
kw_knock "$SRV4" tcp:3721 udp:5000 tcp:6742 tcp:5002 tcp:4728 udp:5001
kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "interleaved: door ssh did not open"
kw_wait_until 3 kw_set_has web4 "$CLI4" || kw_fail "interleaved: door web did not open"
kw_expect "$SRV4" 22 "$CLI4" open
kw_expect "$SRV4" 8080 "$CLI4" open
kw_pass "two sequences interleaved open both doors"

kw_daemon_stop
