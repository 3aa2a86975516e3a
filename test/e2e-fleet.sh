#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# e2e-fleet.sh — a fleet end to end (issue 12): one knock on the gateway opens port 22 on
# two hosts behind it, carried by mosquitto. Slots 57 (client, gateway), 58, 59 (hosts).
#
# The gateway runs mosquitto (TLS client certificates from a CA made here, an ACL: the
# gateway may publish, the hosts may only subscribe) and knockwatch with a door declared
# "… within 10s fleet". Each host has its own ruleset — a set "knockwatch ssh fleet" and a
# local door of its own — with its own log prefix secret, and its own knockwatch with
# --fleet=mqtts://GATEWAY. Checks:
#   - before the knock, connects from the client to both hosts' port 22 are refused;
#   - after a knock on the gateway, both hosts' sets hold the client within one second
#     and both connects succeed; after the timeout both are refused;
#   - each host's own secret keeps it from acting on the gateway's knock lines (its local
#     door, with the same steps, opens nothing);
#   - the knock of an address granted an hour on the gateway reaches the hosts for the
#     set's timeout; the sequence knocked again at once is not published again;
#   - a certificate the broker does not accept publishes nothing;
#   - a replayed message, a bad HMAC, a past expiry and a prefix wider than the hosts'
#     sets grant are ignored, logged and counted;
#   - the broker stopped: granted hosts stay granted, knocks on the gateway still open the
#     gateway; the broker back: the gateway's grant made meanwhile reaches the hosts.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mosquitto.sh"
source "$(dirname "$0")/lib-fleet.sh"
FLEET_NODE=${FLEET_NODE:-$KW_BUILDDIR/test/fleet-node}

kw_require_root
kw_mqtt_require
command -v jq >/dev/null || kw_fail "jq is needed (scripts/install-deps installs it)"

kw_net_setup 57
kw_fleet_host host1 58
kw_fleet_host host2 59
H1=${HOST4[host1]}
H2=${HOST4[host2]}
NS1=${HOST_NS[host1]}
NS2=${HOST_NS[host2]}
D=$KW_TMP/pki
kw_mqtt_pki "$D" "$SRV4" gateway host1 host2
kw_mqtt_conf "$D" "$SRV4"
kw_mqtt_start "$NS_SRV" "$D"

# --- rulesets ------------------------------------------------------------------------------
cat >"$KW_TMP/gateway.nft" <<EOF
table inet knockwatch
delete table inet knockwatch
table inet knockwatch {
        set ssh4 {
                type ipv4_addr
                flags timeout
                timeout 8s
                comment "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 10s fleet"
        }
        chain input {
                type filter hook input priority filter - 10; policy accept;
                tcp dport { 3721, 4728, 6742 } tcp flags & (fin | syn | rst | ack) == syn log prefix "$KW_PREFIX" level warn
                tcp dport { 3721, 4728, 6742 } drop
                tcp dport 22 ct state established,related accept
                tcp dport 22 ip saddr @ssh4 accept
                tcp dport 22 reject with tcp reset
        }
}
EOF
# host_ruleset SECRET OUT: a host's table — door ssh from the fleet, and a local door with
# the same steps whose log rule carries the host's own secret.
host_ruleset() {
        cat >"$2" <<EOF
table inet knockwatch
delete table inet knockwatch
table inet knockwatch {
        set ssh4 {
                type ipv4_addr
                flags timeout
                timeout 10s
                comment "knockwatch ssh fleet"
        }
        set local4 {
                type ipv4_addr
                flags timeout
                timeout 10s
                comment "knockwatch local: tcp:3721 tcp:4728 tcp:6742 within 10s"
        }
        chain input {
                type filter hook input priority filter - 10; policy accept;
                tcp dport { 3721, 4728, 6742 } tcp flags & (fin | syn | rst | ack) == syn log prefix "PORT_KNOCKING $1 " level warn
                tcp dport { 3721, 4728, 6742 } drop
                tcp dport 22 ct state established,related accept
                tcp dport 22 ip saddr @ssh4 accept
                tcp dport 22 ip saddr @local4 accept
                tcp dport 22 reject with tcp reset
        }
}
EOF
}
host_ruleset "$(kw_random_secret 32)" "$KW_TMP/host1.nft"
host_ruleset "$(kw_random_secret 32)" "$KW_TMP/host2.nft"
kw_ruleset "$KW_TMP/gateway.nft"
ip netns exec "$NS1" nft -f "$KW_TMP/host1.nft" || kw_fail "host1's ruleset"
ip netns exec "$NS2" nft -f "$KW_TMP/host2.nft" || kw_fail "host2's ruleset"
kw_listen 22
kw_fleet_listen "$NS1" 22
kw_fleet_listen "$NS2" 22

# fleet_args NAME: the daemon options of client NAME.
fleet_args() {
        printf '%s\n' "--fleet=mqtts://$SRV4:8883" --fleet-name=default "--fleet-ca=$D/ca.crt" \
                "--fleet-cert=$D/$1.crt" "--fleet-cert-key=$D/$1.key" "--fleet-key=$D/fleet.key"
}
GW_LOG=$KW_TMP/gateway.log
L1=$KW_TMP/host1.log
L2=$KW_TMP/host2.log
# shellcheck disable=SC2046
kw_fleet_daemon "$NS_SRV" "$GW_LOG" $(fleet_args gateway)
# shellcheck disable=SC2046
kw_fleet_daemon "$NS1" "$L1" $(fleet_args host1)
# shellcheck disable=SC2046
kw_fleet_daemon "$NS2" "$L2" $(fleet_args host2)
for l in "$GW_LOG" "$L1" "$L2"; do
        kw_wait_until 10 grep -q 'Fleet: connected to mqtts://' "$l" || kw_fail "no fleet connection in $l: $(tail -n 20 "$l")"
done
kw_pass "the gateway and both hosts connected to the broker with their certificates"

# status_json NS: the status in JSON of the daemon in NS (status reads NS's table too).
status_json() {
        ip netns exec "$1" "$KNOCKWATCH" status --json --runtime-dir="$KW_TMP/daemon-$1/run"
}

# --- before, after, timeout -----------------------------------------------------------------
for a in "$H1" "$H2"; do
        kw_expect "$a" 22 "$CLI4" refused
done
kw_pass "before the knock: both hosts' port 22 refused"

kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
start=$(date +%s%N)
while ! { kw_fleet_set_has "$NS1" ssh4 "$CLI4" && kw_fleet_set_has "$NS2" ssh4 "$CLI4"; }; do
        (($(date +%s%N) - start < 3000000000)) || kw_fail "the hosts' sets did not get $CLI4: $(tail -n 20 "$L1")"
        sleep 0.02
done
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
((elapsed_ms <= 1000)) || kw_fail "the hosts' sets held $CLI4 only after $elapsed_ms ms (more than one second)"
kw_set_has ssh4 "$CLI4" || kw_fail "the gateway's own set lacks $CLI4"
for a in "$H1" "$H2" "$SRV4"; do
        kw_expect "$a" 22 "$CLI4" open
done
kw_expect "$H1" 22 "$CLI4B" refused
kw_pass "after a knock on the gateway: both hosts hold $CLI4 within $elapsed_ms ms, both connects succeed"

# Each host's secret: the gateway's knock lines reached every host's knockwatch through the
# one kernel log, and opened nothing there.
for n in host1 host2; do
        kw_fleet_set_lacks "${HOST_NS[$n]}" local4 "$CLI4" || kw_fail "$n's local door took the gateway's knock lines"
done
grep -q "Knock $CLI4 " "$L1" "$L2" && kw_fail "a host took the gateway's lines for knocks"
kw_pass "each host's own secret keeps it from acting on the gateway's knock lines"

while kw_fleet_set_has "$NS1" ssh4 "$CLI4" || kw_fleet_set_has "$NS2" ssh4 "$CLI4"; do
        (($(date +%s%N) - start < 14000000000)) || kw_fail "the fleet grants did not expire"
        sleep 0.1
done
for a in "$H1" "$H2"; do
        kw_expect "$a" 22 "$CLI4" refused
done
kw_pass "after the timeout both hosts refuse again"

# --- a longer grant on the gateway; a sequence knocked twice ---------------------------------
# The knock of an address that holds an hour on the gateway is a refresh there, published
# for the set's 8 s (the hour would be refused by the hosts as too far). The same sequence
# again, 0.1 s later, would move the hosts' expiry on by less than a tenth of the timeout:
# held back, so that knocking in a loop does not fill the hosts' replay caches.
js=$(status_json "$NS_SRV") || kw_fail "status --json of the gateway failed"
pub0=$(jq .fleet.published <<<"$js")
held0=$(jq .fleet.refreshes_held <<<"$js")
ip netns exec "$NS_SRV" "$KNOCKWATCH" grant ssh "$CLI4" --timeout=1h >/dev/null || kw_fail "knockwatch grant on the gateway failed"
kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742 tcp:3721 tcp:4728 tcp:6742
for ns in "$NS1" "$NS2"; do
        kw_wait_until 3 kw_fleet_set_has "$ns" ssh4 "$CLI4" ||
                kw_fail "the knock of an address granted an hour on the gateway did not reach $ns: $(grep Fleet "$L1" | tail -n 3)"
done
sleep 1.2  # the status file is rewritten at most once a second
js=$(status_json "$NS_SRV")
[[ $(jq .fleet.published <<<"$js") == $((pub0 + 1)) && $(jq .fleet.refreshes_held <<<"$js") == $((held0 + 1)) ]] ||
        kw_fail "the gateway published $(($(jq .fleet.published <<<"$js") - pub0)) and held back $(($(jq .fleet.refreshes_held <<<"$js") - held0)) (expected one of each)"
for ns in "$NS1" "$NS2"; do
        [[ $(status_json "$ns" | jq -r '.fleet.rejected["too-far"]') == 0 ]] || kw_fail "$ns refused a message as too far"
done
ip netns exec "$NS_SRV" "$KNOCKWATCH" revoke ssh "$CLI4" >/dev/null || kw_fail "knockwatch revoke on the gateway failed"
kw_pass "a knock over a longer grant reaches the hosts for the set's timeout; the same sequence again at once is held back"

# --- a certificate the broker does not accept ------------------------------------------------
# shellcheck disable=SC2046
ip netns exec "$NS_CLI" "$FLEET_NODE" publish --url="mqtts://$SRV4:8883" --ca="$D/ca.crt" --cert="$D/rogue.crt" \
        --cert-key="$D/rogue.key" --key="$D/fleet.key" --door=ssh --addr="$CLI4B" --ttl=8000 --timeout=3 \
        >"$KW_TMP/rogue.out" 2>&1 && kw_fail "the rogue certificate published: $(cat "$KW_TMP/rogue.out")"
sleep 1
for ns in "$NS1" "$NS2"; do
        kw_fleet_set_lacks "$ns" ssh4 "$CLI4B" || kw_fail "the rogue's grant reached $ns"
done
kw_pass "a client certificate the broker does not accept publishes nothing"

# --- replayed, bad HMAC, past expiry ---------------------------------------------------------
M=$KW_TMP/msg
now_ms() { echo $(($(date +%s%N) / 1000000)); }
"$FLEET_NODE" encode --key="$D/fleet.key" --door=ssh --addr=198.51.100.214 --ttl=8000 --out="$M.ok" >/dev/null
kw_mqtt_pub "$NS_CLI" "$D" gateway knockwatch/default/ssh "$M.ok"
kw_wait_until 3 kw_fleet_set_has "$NS1" ssh4 198.51.100.214 || kw_fail "the injected message was not applied"
kw_mqtt_pub "$NS_CLI" "$D" gateway knockwatch/default/ssh "$M.ok"
cp "$M.ok" "$M.bad"
printf '\x00\x00\x00\x00' | dd of="$M.bad" bs=1 seek=$(($(stat -c %s "$M.ok") - 4)) conv=notrunc status=none
kw_mqtt_pub "$NS_CLI" "$D" gateway knockwatch/default/ssh "$M.bad"
"$FLEET_NODE" encode --key="$D/fleet.key" --door=ssh --addr=198.51.100.215 --expiry=$(($(now_ms) - 3000)) \
        --out="$M.past" >/dev/null
kw_mqtt_pub "$NS_CLI" "$D" gateway knockwatch/default/ssh "$M.past"
# A well-signed prefix, where the hosts' sets grant single addresses: it would be cut to one.
"$FLEET_NODE" encode --key="$D/fleet.key" --door=ssh --addr=198.51.100.0/24 --ttl=8000 --out="$M.prefix" >/dev/null
kw_mqtt_pub "$NS_CLI" "$D" gateway knockwatch/default/ssh "$M.prefix"
for l in "$L1" "$L2"; do
        for why in replayed bad-mac expired prefix; do
                kw_wait_until 3 grep -q "Fleet: refused a message on \"knockwatch/default/ssh\": $why" "$l" ||
                        kw_fail "$l does not log the $why message: $(grep Fleet "$l" | tail -n 5)"
        done
done
sleep 1.2  # the status file is rewritten at most once a second
for ns in "$NS1" "$NS2"; do
        js=$(status_json "$ns") || kw_fail "status --json of $ns failed"
        for why in replayed bad-mac expired prefix; do
                [[ $(jq -r ".fleet.rejected[\"$why\"]" <<<"$js") == 1 ]] ||
                        kw_fail "status of $ns does not count one $why message: $(jq -c .fleet <<<"$js")"
        done
        [[ $(jq -r .fleet.connected <<<"$js") == true ]] || kw_fail "status of $ns does not show the broker connected"
        prom=$("$KNOCKWATCH" metrics --runtime-dir="$KW_TMP/daemon-$ns/run") || kw_fail "knockwatch metrics of $ns failed"
        for why in replayed bad-mac expired prefix; do
                grep -qx "knockwatch_fleet_rejected_total{reason=\"$why\"} 1" <<<"$prom" ||
                        kw_fail "the metrics of $ns do not count one $why message: $(grep fleet_rejected <<<"$prom")"
        done
        grep -qx "knockwatch_fleet_connected 1" <<<"$prom" || kw_fail "the metrics of $ns do not show the broker connected"
done
kw_fleet_set_lacks "$NS1" ssh4 198.51.100.215 || kw_fail "a past expiry was applied"
kw_fleet_set_lacks "$NS1" ssh4 198.51.100.0 || kw_fail "a /24 was applied to a set of single addresses"
kw_pass "a replayed message, a bad HMAC, a past expiry and a prefix wider than the set's are ignored, logged and counted (status, metrics) on both hosts"

# --- the broker stopped ----------------------------------------------------------------------
# (The hosts still hold CLI4 from the refresh above, which the revoke on the gateway did not
# reach: wait until it expires there, so that the grant below is this knock's.)
for ns in "$NS1" "$NS2"; do
        kw_wait_until 12 kw_fleet_set_lacks "$ns" ssh4 "$CLI4" || kw_fail "$CLI4 did not expire on $ns"
done
kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 3 kw_fleet_set_has "$NS2" ssh4 "$CLI4" || kw_fail "no grant before stopping the broker"
kw_mqtt_stop
kw_wait_until 5 grep -qE 'Fleet: .*(lost|could not connect)' "$L1" || kw_fail "host1 does not say the broker is gone"
for ns in "$NS1" "$NS2"; do
        kw_fleet_set_has "$ns" ssh4 "$CLI4" || kw_fail "stopping the broker took the grant from $ns"
done
kw_expect "$H2" 22 "$CLI4" open
# A knock from another address: the gateway opens itself as before.
for p in 3721 4728 6742; do
        kw_syn "$SRV4" "$p" "$CLI4B"
done
kw_wait_until 3 kw_set_has ssh4 "$CLI4B" || kw_fail "with the broker down, a knock did not open the gateway: $(tail -n 20 "$GW_LOG")"
kw_expect "$SRV4" 22 "$CLI4B" open
kw_pass "the broker stopped: the hosts keep their grants, the gateway still opens itself"
kw_mqtt_start "$NS_SRV" "$D"
kw_wait_until 8 kw_fleet_set_has "$NS1" ssh4 "$CLI4B" ||
        kw_fail "the grant made while the broker was down did not reach host1 once it was back: $(grep Fleet "$L1" | tail -n 5)"
kw_pass "the broker back: the grant made meanwhile reaches the hosts (it had not expired)"

for ns in "$NS_SRV" "$NS1" "$NS2"; do
        kill -TERM "${FLEET_PID[$ns]}"
        wait "${FLEET_PID[$ns]}" || kw_fail "knockwatch in $ns did not stop cleanly"
done
echo "ok - e2e-fleet"
