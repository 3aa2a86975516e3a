# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# lib-fleet.sh — the fleet topology of e2e-fleet.sh, e2e-fleet-forward.sh and
# bench/bench-fleet.sh, after test/lib.sh: the client and the gateway of kw_net_setup,
# and hosts behind the gateway, each in a namespace of its own on a /29 of its own, routed
# through the gateway (which forwards). The client reaches every host through it.
#
#   kw_fleet_host NAME SLOT   make namespace kw-sSLOT-NAME-PID: the gateway SLOT's .1 of
#                             the /29, the host .2; sets HOST_NS[NAME], HOST4[NAME]
#   kw_fleet_daemon NS LOG ARGS...   a knockwatch in NS (its own state and runtime
#                             directories under KW_TMP/NAME), until it is ready; PID in
#                             FLEET_PID[NS]
#   kw_fleet_set_has NS SET ADDR     is ADDR in SET of NS's table inet knockwatch?
#   kw_fleet_listen NS PORT   a TCP listener (netprobe) in NS

# shellcheck disable=SC2034  # used by the scripts that source this
declare -A HOST_NS HOST4 FLEET_PID

# The /29 of slot S (32 … 62): 198.51.100.8(S-31) … +7.
_kw_fleet_net() {
        echo "198.51.100.$((($1 - 31) * 8))"
}

kw_fleet_host() {
        local name=$1 slot=$2 base gw host ns
        ((slot >= 32 && slot <= 62)) || kw_fail "kw_fleet_host: slot $slot is not a 198.51.100 slot"
        base=$(_kw_fleet_net "$slot")
        base=${base##*.}
        gw=198.51.100.$((base + 1))
        host=198.51.100.$((base + 2))
        ns="kw-s$slot-$name-$$"
        ip netns add "$ns"
        KW_NETNS+=("$ns")
        ip -n "$ns" link set lo up
        ip -n "$NS_SRV" link add "kw-$name" type veth peer name kw1 netns "$ns"
        ip -n "$NS_SRV" addr add "$gw/29" dev "kw-$name"
        ip -n "$ns" addr add "$host/29" dev kw1
        ip -n "$NS_SRV" link set "kw-$name" up
        ip -n "$ns" link set kw1 up
        ip -n "$ns" route add default via "$gw"
        # The gateway forwards; the client goes to the host through it.
        ip netns exec "$NS_SRV" sysctl -qw net.ipv4.ip_forward=1
        ip -n "$NS_CLI" route add "198.51.100.$base/29" via "$SRV4"
        HOST_NS[$name]=$ns
        HOST4[$name]=$host
}

kw_fleet_daemon() {
        local ns=$1 log=$2 dir
        shift 2
        dir=$KW_TMP/daemon-$ns
        mkdir -p "$dir/state" "$dir/run"
        ip netns exec "$ns" "$KNOCKWATCH" --log-target=console --log-level=debug --ruleset= \
                --source=kmsg --state-dir="$dir/state" --runtime-dir="$dir/run" "$@" >"$log" 2>&1 &
        FLEET_PID[$ns]=$!
        KW_PIDS+=($!)
        kw_wait_until 10 grep -qs 'knockwatch: ready:' "$log" ||
                kw_fail "knockwatch in $ns did not become ready: $(tail -n 20 "$log")"
}

kw_fleet_set_has() {
        ip netns exec "$1" nft get element inet knockwatch "$2" "{ $3 }" >/dev/null 2>&1
}

kw_fleet_set_lacks() {
        local err
        err=$(ip netns exec "$1" nft get element inet knockwatch "$2" "{ $3 }" 2>&1 >/dev/null) && return 1
        [[ $err == *"No such file or directory"* ]]
}

kw_fleet_listen() {
        ip netns exec "$1" "$NETPROBE" listen :: "$2" &
        KW_PIDS+=($!)
}

# kw_fleet_probe ADDR PORT: from the client, open|timeout|refused|error.
kw_fleet_probe() {
        kw_cli "$NETPROBE" connect "$1" "$2" - 1000 || true
}
