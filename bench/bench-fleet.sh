#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-fleet.sh — how far one mosquitto carries a fleet (issue 12, docs/FLEET.md), on this
# machine: a broker in the gateway's namespace (TLS with client certificates, the ACL of
# the tests), N receivers each in a network namespace of its own behind the gateway, for
# N = 2, 10 and 20 (BENCH_FLEET_SIZES). Two modes:
#
#   node    the receivers are test/fleet-node listeners — fleet.c without the
#           daemon — and the gateway is fleet-node publish. Prints, per N:
#             latency   publish -> verified at each receiver, median and p99 (ms, from
#                       the expiry's time left: millisecond resolution), one message at a
#                       time, BENCH_FLEET_COUNT (50) times;
#             burst     BENCH_FLEET_BURST (1000) messages published at once: deliveries/s
#                       until every receiver verified every one;
#             CPU       of the broker and of all receivers together over the run (ms).
#   daemon  the receivers are knockwatch daemons with a
#           "knockwatch ssh fleet" set, the gateway a knockwatch whose door publishes; a
#           client knocks on the gateway. Prints knock-committed-on-the-gateway -> grant
#           committed on each host (CLOCK_MONOTONIC from the daemons' debug lines
#           "latency: … committed at T" on the gateway and "fleet latency: … committed at
#           T" on the hosts, which every namespace shares), median and p99, and the CPU of
#           the broker, the gateway's daemon and the hosts' daemons.
#
#   KW_SRCDIR=. KW_BUILDDIR=build bash bench/bench-fleet.sh [node|daemon]
#
# Namespaces: slot 60 (client, gateway); the receivers' /29s are carved from
# 203.0.113.0/24 (TEST-NET-3), which no test uses: receiver i is 203.0.113.(8i+2).
# Everything is bounded (counts capped) and torn down by the EXIT trap of test/lib.sh.
source "$(dirname "$0")/../test/lib.sh"
source "$(dirname "$0")/../test/lib-mosquitto.sh"
source "$(dirname "$0")/../test/lib-fleet.sh"
FLEET_NODE=${FLEET_NODE:-$KW_BUILDDIR/test/fleet-node}
MODE=${1:-node}
SIZES=${BENCH_FLEET_SIZES:-2 10 20}
COUNT=${BENCH_FLEET_COUNT:-50}
BURST=${BENCH_FLEET_BURST:-1000}
((COUNT >= 1 && COUNT <= 1000 && BURST >= 1 && BURST <= 1000)) || kw_fail "counts out of range (1-1000)"

kw_require_root
kw_mqtt_require
[[ -x $FLEET_NODE ]] || kw_fail "no fleet-node at $FLEET_NODE"

kw_net_setup 60
D=$KW_TMP/pki
MAXN=0
for n in $SIZES; do ((n > MAXN)) && MAXN=$n; done
((MAXN <= 30)) || kw_fail "at most 30 receivers"
names=()
for ((i = 1; i <= MAXN; i++)); do names+=("r$i"); done
kw_mqtt_pki "$D" "$SRV4" gateway "${names[@]}"
kw_mqtt_conf "$D" "$SRV4" 8883 default gateway "${names[*]}"
kw_mqtt_start "$NS_SRV" "$D"

# A receiver namespace on 203.0.113.(8i)/29 behind the gateway.
declare -A RNS
for ((i = 1; i <= MAXN; i++)); do
        ns="kw-b$i-$$"
        ip netns add "$ns"
        KW_NETNS+=("$ns")
        ip -n "$ns" link set lo up
        ip -n "$NS_SRV" link add "kwb$i" type veth peer name kw1 netns "$ns"
        ip -n "$NS_SRV" addr add "203.0.113.$((8 * i + 1))/29" dev "kwb$i"
        ip -n "$ns" addr add "203.0.113.$((8 * i + 2))/29" dev kw1
        ip -n "$NS_SRV" link set "kwb$i" up
        ip -n "$ns" link set kw1 up
        ip -n "$ns" route add default via "203.0.113.$((8 * i + 1))"
        RNS[$i]=$ns
done
ip netns exec "$NS_SRV" sysctl -qw net.ipv4.ip_forward=1

cpu_ms() {  # utime+stime of PID in ms
        local f
        read -r -a f <"/proc/$1/stat" || { echo 0; return; }
        echo $(((f[13] + f[14]) * 1000 / $(getconf CLK_TCK)))
}
percentiles() {  # stdin: numbers; prints "median M p99 P max X (n=N)"
        sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "no samples"; exit }
                m = v[int((NR + 1) / 2)]; p = v[int(NR * 0.99 + 0.999)]; if (p == "") p = v[NR];
                printf "median %s p99 %s max %s (n=%d)", m, p, v[NR], NR }'
}
common() {
        printf '%s\n' "--url=mqtts://$SRV4:8883" "--ca=$D/ca.crt" "--cert=$D/$1.crt" "--cert-key=$D/$1.key" "--key=$D/fleet.key"
}

echo "bench-fleet ($MODE): $(nproc) CPUs, $(uname -r), mosquitto $("$MOSQUITTO" -h 2>/dev/null | sed -n 's/^mosquitto version //p' | head -n 1), load $(cut -d' ' -f1-3 /proc/loadavg)"

run_node() {
        local n=$1 pids=() outs=() i c0 r0 lat burst_start burst_end got total
        for ((i = 1; i <= n; i++)); do
                outs[i]=$KW_TMP/r$i-$n.out
                : >"${outs[i]}"
                # shellcheck disable=SC2046
                ip netns exec "${RNS[$i]}" "$FLEET_NODE" listen $(common "r$i") --client-id="bench-r$i-$n-$$" \
                        --door=ssh:600000 --run-for=600 >"${outs[i]}" 2>&1 &
                pids[i]=$!
                KW_PIDS+=($!)
        done
        for ((i = 1; i <= n; i++)); do
                kw_wait_until 20 grep -q '^state up' "${outs[i]}" || kw_fail "receiver $i did not connect: $(cat "${outs[i]}")"
        done
        c0=$(cpu_ms "$MQTT_PID")
        r0=0
        for ((i = 1; i <= n; i++)); do r0=$((r0 + $(cpu_ms "${pids[i]}"))); done
        # Latency: one message at a time (TTL 600 s: latency = 600000 - time left).
        for ((k = 1; k <= COUNT; k++)); do
                # shellcheck disable=SC2046
                ip netns exec "$NS_CLI" "$FLEET_NODE" publish $(common gateway) --client-id="bench-gw-$$" \
                        --door=ssh --addr="198.51.100.$((k % 200 + 1))" --ttl=600000 >/dev/null ||
                        kw_fail "publish $k failed"
                for ((i = 1; i <= n; i++)); do
                        kw_wait_until 5 eval "(( \$(grep -c '^grant ' '${outs[i]}') >= k ))" || kw_fail "receiver $i missed message $k"
                done
        done
        lat=$(cat "${outs[@]:1}" | sed -n 's/^grant .* left=\([0-9]*\) .*/\1/p' | awk '{ print 600000 - $1 }' | percentiles)
        # Burst: BURST messages at once.
        total=$((COUNT + BURST))
        burst_start=$(date +%s%N)
        # shellcheck disable=SC2046
        ip netns exec "$NS_CLI" "$FLEET_NODE" publish $(common gateway) --client-id="bench-gw-$$" --door=ssh \
                --addr=198.51.100.250 --ttl=600000 --count="$BURST" --timeout=60 >/dev/null || kw_fail "the burst failed"
        for ((i = 1; i <= n; i++)); do
                kw_wait_until 60 eval "(( \$(grep -c '^grant ' '${outs[i]}') >= total ))" ||
                        kw_fail "receiver $i got $(grep -c '^grant ' "${outs[i]}") of $total"
        done
        burst_end=$(date +%s%N)
        got=$((n * BURST))
        printf 'N=%-3s latency ms: %s | burst: %d deliveries in %d ms = %d/s | CPU ms: broker %d, receivers %d\n' \
                "$n" "$lat" "$got" $(((burst_end - burst_start) / 1000000)) \
                $((got * 1000000000 / (burst_end - burst_start))) $(($(cpu_ms "$MQTT_PID") - c0)) \
                $(( $(for ((i = 1; i <= n; i++)); do cpu_ms "${pids[i]}"; done | awk '{ s += $1 } END { print s + 0 }') - r0 ))
        kill -TERM "${pids[@]:1}" 2>/dev/null || true
        wait "${pids[@]:1}" 2>/dev/null || true
}

run_daemon() {
        local n=$1 i logs=() pids=() c0 g0 h0 t lat
        cat >"$KW_TMP/gw.nft" <<EOF
table inet knockwatch
delete table inet knockwatch
table inet knockwatch {
        set ssh4 { type ipv4_addr; flags timeout; timeout 60s; comment "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within 10s fleet"; }
        chain input {
                type filter hook input priority filter - 10; policy accept;
                tcp dport { 3721, 4728, 6742 } tcp flags & (fin | syn | rst | ack) == syn log prefix "$KW_PREFIX" level warn
                tcp dport { 3721, 4728, 6742 } drop
        }
}
EOF
        cat >"$KW_TMP/host.nft" <<EOF
table inet knockwatch
delete table inet knockwatch
table inet knockwatch {
        set ssh4 { type ipv4_addr; flags timeout; timeout 60s; comment "knockwatch ssh fleet"; }
        chain input { type filter hook input priority filter - 10; policy accept; tcp dport 22 ip saddr @ssh4 accept; }
}
EOF
        kw_ruleset "$KW_TMP/gw.nft"
        kw_fleet_daemon "$NS_SRV" "$KW_TMP/gw-$n.log" --fleet="mqtts://$SRV4:8883" --fleet-ca="$D/ca.crt" \
                --fleet-cert="$D/gateway.crt" --fleet-cert-key="$D/gateway.key" --fleet-key="$D/fleet.key"
        for ((i = 1; i <= n; i++)); do
                ip netns exec "${RNS[$i]}" nft -f "$KW_TMP/host.nft"
                logs[i]=$KW_TMP/h$i-$n.log
                kw_fleet_daemon "${RNS[$i]}" "${logs[i]}" --fleet="mqtts://$SRV4:8883" --fleet-ca="$D/ca.crt" \
                        --fleet-cert="$D/r$i.crt" --fleet-cert-key="$D/r$i.key" --fleet-key="$D/fleet.key"
                pids[i]=${FLEET_PID[${RNS[$i]}]}
        done
        for ((i = 1; i <= n; i++)); do
                kw_wait_until 20 grep -q 'Fleet: connected' "${logs[i]}" || kw_fail "host $i did not connect"
        done
        c0=$(cpu_ms "$MQTT_PID")
        g0=$(cpu_ms "${FLEET_PID[$NS_SRV]}")
        h0=$(for ((i = 1; i <= n; i++)); do cpu_ms "${pids[i]}"; done | awk '{ s += $1 } END { print s + 0 }')
        for ((k = 1; k <= COUNT; k++)); do
                kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
                for ((i = 1; i <= n; i++)); do
                        kw_wait_until 5 eval "(( \$(grep -c 'fleet latency: ' '${logs[i]}') >= k ))" || kw_fail "host $i missed knock $k"
                done
                sleep 0.2
        done
        # Pair the k-th gateway commit with the k-th commit on each host.
        mapfile -t t < <(sed -n 's/.*latency: .* committed at \([0-9]*\):.*/\1/p' "$KW_TMP/gw-$n.log")
        lat=$(for ((i = 1; i <= n; i++)); do
                sed -n 's/.*fleet latency: .* committed at \([0-9]*\).*/\1/p' "${logs[i]}" |
                        awk -v list="${t[*]}" 'BEGIN { split(list, g, " ") } { printf "%.2f\n", ($1 - g[NR]) / 1000 }'
        done | percentiles)
        printf 'N=%-3s gateway commit -> host commit, ms: %s | CPU ms: broker %d, gateway daemon %d, host daemons %d\n' \
                "$n" "$lat" $(($(cpu_ms "$MQTT_PID") - c0)) $(($(cpu_ms "${FLEET_PID[$NS_SRV]}") - g0)) \
                $(( $(for ((i = 1; i <= n; i++)); do cpu_ms "${pids[i]}"; done | awk '{ s += $1 } END { print s + 0 }') - h0 ))
        kill -TERM "${FLEET_PID[$NS_SRV]}" "${pids[@]:1}" 2>/dev/null || true
        wait "${FLEET_PID[$NS_SRV]}" "${pids[@]:1}" 2>/dev/null || true
}

for n in $SIZES; do
        "run_$MODE" "$n"
done
