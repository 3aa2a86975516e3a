#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# e2e-fleet-forward.sh — the gateway-only alternative to a fleet (issue 12, knockwatch(8)
# FLEETS): the hosts behind the knocking gateway run nothing; the gateway's own knockwatch
# grants into its door's set, and a rule of the gateway's forward chain lets the granted
# addresses through to the hosts' port 22. Slots 57 (client, gateway), 58 and 59 (hosts).
#
#   - before the knock, connects from the client to both hosts' port 22 are refused (the
#     forward chain answers with a reset) and the gateway's own port 22 is too;
#   - after a knock on the gateway, the gateway's set holds the client, and connects to
#     both hosts and the gateway succeed; an address that never knocked is still refused;
#   - after the set's timeout, all are refused again.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-fleet.sh"

kw_require_root
kw_net_setup 57
kw_fleet_host host1 58
kw_fleet_host host2 59
H1=${HOST4[host1]}
H2=${HOST4[host2]}

cat >"$KW_TMP/gateway.nft" <<EOF
table inet knockwatch
delete table inet knockwatch
table inet knockwatch {
        set ssh4 {
                type ipv4_addr
                flags timeout
                timeout 4s
                comment "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 10s"
        }
        chain input {
                type filter hook input priority filter - 10; policy accept;
                tcp dport { 3721, 4728, 6742 } tcp flags & (fin | syn | rst | ack) == syn log prefix "$KW_PREFIX" level warn
                tcp dport { 3721, 4728, 6742 } drop
                tcp dport 22 ct state established,related accept
                tcp dport 22 ip saddr @ssh4 accept
                tcp dport 22 reject with tcp reset
        }
        # The hosts behind the gateway: their port 22 only for the addresses the gateway's
        # door granted (the same set), everything else they serve as before.
        chain forward {
                type filter hook forward priority filter - 10; policy accept;
                tcp dport 22 ct state established,related accept
                ip daddr { $H1, $H2 } tcp dport 22 ip saddr @ssh4 accept
                ip daddr { $H1, $H2 } tcp dport 22 reject with tcp reset
        }
}
EOF
kw_ruleset "$KW_TMP/gateway.nft"
kw_listen 22
kw_fleet_listen "${HOST_NS[host1]}" 22
kw_fleet_listen "${HOST_NS[host2]}" 22
sleep 0.3

# Before: the client reaches neither host's port 22 (a reset from the gateway), nor the gateway's.
for a in "$H1" "$H2" "$SRV4"; do
        got=$(kw_fleet_probe "$a" 22)
        [[ $got == refused ]] || kw_fail "before the knock, $a:22 from the client: expected refused, got $got"
done
# The hosts are there: the gateway itself reaches them (its own traffic is not forwarded).
[[ $(ip netns exec "$NS_SRV" "$NETPROBE" connect "$H1" 22 - 1000) == open ]] || kw_fail "host1 is not reachable at all"
kw_pass "before the knock: port 22 of both hosts and of the gateway refused from the client"

kw_daemon_start --source=kmsg --state-dir="$KW_TMP/state" --runtime-dir="$KW_TMP/run"
kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "the knock on the gateway did not grant $CLI4"
for a in "$H1" "$H2" "$SRV4"; do
        kw_expect "$a" 22 "$CLI4" open
done
kw_expect "$H1" 22 "$CLI4B" refused
kw_pass "after a knock on the gateway: both hosts' and the gateway's port 22 open to $CLI4 (and only to it)"

kw_wait_until 8 kw_set_lacks ssh4 "$CLI4" || kw_fail "the grant did not expire"
for a in "$H1" "$H2" "$SRV4"; do
        kw_expect "$a" 22 "$CLI4" refused
done
kw_pass "after the timeout: refused again"
kw_daemon_stop
echo "ok - e2e-fleet-forward"
