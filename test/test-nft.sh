#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-nft.sh — the nft module (nft-*.c) on the real kernel: loads the ruleset below into a network
# namespace of its own and runs test-nft there, once as root and once without
# CAP_NET_ADMIN (every request must then fail with EPERM). test-nft.c holds the
# assertions and knows the sets declared here. Slot 1 (namespace name); the element
# addresses test-nft.c uses are those of slots 1-3 plus documentation ranges that
# never leave the namespace as packets.

. "$KW_SRCDIR/test/lib.sh"
kw_require_root

TEST_NFT=${TEST_NFT:-$KW_BUILDDIR/test/test-nft}
[[ -x $TEST_NFT ]] || kw_fail "no test-nft at $TEST_NFT (build first)"

NS="kw-s1-nft-$$"
ip netns add "$NS"
KW_NETNS+=("$NS")
ip -n "$NS" link set lo up

# The same 128 characters as LONG_COMMENT in test-nft.c.
LONG_COMMENT=$(printf '0123456789abcdef%.0s' 1 2 3 4 5 6 7 8)
RULESET=$KW_TMP/ruleset.nft
cat >"$RULESET" <<NFT
flush ruleset
table inet kwtest {
        set allow4 { type ipv4_addr; flags timeout; timeout 1m30s;
                     comment "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 10s"; }
        set allow6 { type ipv6_addr; flags timeout; timeout 1m; comment "knockwatch ssh"; }
        set short4 { type ipv4_addr; flags timeout; timeout 4s; }
        set plain4 { type ipv4_addr; }
        set tiny4 { type ipv4_addr; flags timeout; timeout 1m; size 2; }
        set const4 { type ipv4_addr; flags constant; elements = { 192.0.2.30 }; }
        set long4 { type ipv4_addr; flags timeout; comment "$LONG_COMMENT"; }
        set bulk4 { type ipv4_addr; flags timeout; timeout 1m; }
        set bulk6 { type ipv6_addr; flags timeout; timeout 1m; }
        set mon4 { type ipv4_addr; flags timeout; timeout 30s; }
        set mon6 { type ipv6_addr; flags timeout; timeout 30s; }
        set port { type inet_service; comment ""; }
        chain input {
                type filter hook input priority filter; policy accept;
                tcp dport { 7000, 8000 } drop
                ip saddr @const4 accept
        }
}
table ip kwtest {
        set allow4 { type ipv4_addr; flags timeout; }
}
table inet other {
        set allow4 { type ipv4_addr; flags timeout; }
}
table inet kwrules {
        set totp_ports { type inet_proto . inet_service; flags timeout; }
        set ssh4 { type ipv4_addr; flags timeout; timeout 1m; }
        set ssh6 { type ipv6_addr; flags timeout; timeout 1m; }
        chain input {
                type filter hook input priority filter; policy accept;
                tcp dport { 3721, 4728, 6742 } tcp flags & (fin | syn | rst | ack) == syn log prefix "PORT_KNOCKING " level warn
                udp dport 5000 log prefix "PORT_KNOCKING KwTestSecret0123456789 "
                tcp dport 1000-2000 log prefix "PORT_KNOCKING "
                tcp dport { 100-200, 300, 60000-65535 } log prefix "PORT_KNOCKING "
                meta l4proto . th dport @totp_ports log prefix "PORT_KNOCKING KwTestSecret0123456789 "
                icmp type echo-request log prefix "PORT_KNOCKING "
                tcp dport 7 log group 1 prefix "PORT_KNOCKING "
                log
                tcp dport 22 ip saddr @ssh4 accept
                tcp dport 22 ip6 saddr @ssh6 accept
                tcp dport 22 drop
        }
        chain output {
                type filter hook output priority filter; policy accept;
                tcp dport 9 log prefix "PORT_KNOCKING "
        }
        chain sub {
                tcp dport 8 log prefix "PORT_KNOCKING "
        }
}
NFT
in_ns() { ip netns exec "$NS" "$@"; }
in_ns nft -f "$RULESET" || kw_fail "nft -f $RULESET failed"
# The anonymous set the tests expect nft_get_sets() to skip is really there.
netlink_dump=$(in_ns nft --debug=netlink list table inet kwtest 2>&1)
grep -q '@__set0$' <<<"$netlink_dump" || kw_fail "no anonymous set in the ruleset"

kw_log "test-nft as root in $NS"
in_ns "$TEST_NFT" "$RULESET" || kw_fail "test-nft failed"
kw_pass "test-nft"

kw_log "test-nft --eperm without CAP_NET_ADMIN"
in_ns setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
        "$TEST_NFT" --eperm || kw_fail "test-nft --eperm failed"
kw_pass "test-nft --eperm"
