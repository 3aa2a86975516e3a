#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-fleet-node.sh — fleet.c against a real mosquitto, without the daemon (issue 12):
# test/fleet-node publishes as the gateway and listens as two hosts. The broker runs in the
# server namespace of slot 55 with TLS client certificates (a CA made here with openssl)
# and an ACL: the gateway may publish, the hosts may only subscribe.
#
#   - a grant published by the gateway reaches both hosts, verified, for the time left;
#   - a certificate from another CA publishes nothing (the TLS handshake fails);
#   - a host's certificate may not publish (the ACL): nothing arrives;
#   - injected with mosquitto_pub under the gateway's certificate: a replayed message, a
#     bad HMAC, another fleet key, a past expiry, an expiry too far away, the wrong
#     topic, a door not taken, a prefix, garbage — each ignored and counted by reason;
#   - a host that was away gets what the broker queued for its persistent session, but
#     not what expired meanwhile;
#   - the broker stopped and started again: the hosts and the gateway reconnect with
#     backoff, and a grant published while it was down arrives.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-mosquitto.sh"
FLEET_NODE=${FLEET_NODE:-$KW_BUILDDIR/test/fleet-node}

kw_require_root
kw_mqtt_require
[[ -x $FLEET_NODE ]] || kw_fail "no fleet-node at $FLEET_NODE (build first)"

kw_net_setup 55
D=$KW_TMP/pki
kw_mqtt_pki "$D" "$SRV4" gateway host1 host2
kw_mqtt_conf "$D" "$SRV4"
kw_mqtt_start "$NS_SRV" "$D"
kw_pass "mosquitto listens on $SRV4:8883 with client certificates and an ACL"

URL=mqtts://$SRV4:8883
# common NAME [KEY]: the options every fleet-node of client NAME takes.
common() {
        printf '%s\n' "--url=$URL" "--ca=$D/ca.crt" "--cert=$D/$1.crt" "--cert-key=$D/$1.key" "--key=$D/${2:-fleet}.key"
}

NODE_PID=()
# listen NAME OUT: a host listening for doors ssh and web (60 s at most each).
listen() {
        local name=$1 out=$2
        # shellcheck disable=SC2046
        ip netns exec "$NS_CLI" "$FLEET_NODE" listen $(common "$name") --door=ssh:60000 --door=web:60000 \
                --run-for=240 >>"$out" 2>&1 &
        NODE_PID[${#NODE_PID[@]}]=$!
        KW_PIDS+=($!)
}
# publish NAME ARGS...: publish as client NAME; its output in $KW_TMP/pub.out.
publish() {
        local name=$1
        shift
        # shellcheck disable=SC2046
        ip netns exec "$NS_CLI" "$FLEET_NODE" publish $(common "$name") "$@" >"$KW_TMP/pub.out" 2>&1
}
# counter OUT FIELD: the field's value in the last "stats" line of OUT.
counter() {
        local line
        line=$(grep '^stats ' "$1" | tail -n 1)
        [[ $line =~ \ $2=([0-9]+) ]] || { echo 0; return; }
        echo "${BASH_REMATCH[1]}"
}
# stat_is OUT FIELD N: wait (3 s) until the field says N.
stat_is() {
        local _
        for _ in $(seq 60); do
                [[ $(counter "$1" "$2") == "$3" ]] && return 0
                sleep 0.05
        done
        return 1
}
encode() {
        local out=$1
        shift
        "$FLEET_NODE" encode --key="$D/fleet.key" --out="$out" "$@" >/dev/null || kw_fail "fleet-node encode $*"
}

H1=$KW_TMP/host1.out
H2=$KW_TMP/host2.out
listen host1 "$H1"
listen host2 "$H2"
kw_wait_until 10 grep -q '^state up' "$H1" || kw_fail "host1 did not connect: $(cat "$H1")"
kw_wait_until 10 grep -q '^state up' "$H2" || kw_fail "host2 did not connect: $(cat "$H2")"
grep -q 'subscribed to knockwatch/default/+' "$H1" || kw_fail "host1 did not subscribe: $(cat "$H1")"
kw_pass "two hosts connected with their certificates and subscribed"

# --- A grant from the gateway reaches both hosts, for the time left. ---------------------
A=198.51.100.197
publish gateway --door=ssh --addr="$A" --ttl=30000 || kw_fail "the gateway could not publish: $(cat "$KW_TMP/pub.out")"
for h in "$H1" "$H2"; do
        kw_wait_until 3 grep -q "^grant grant ssh $A/32 left=" "$h" || kw_fail "no grant arrived at $h: $(cat "$h")"
        left=$(sed -n "s|^grant grant ssh $A/32 left=\([0-9]*\) .*|\1|p" "$h" | head -n 1)
        ((left > 25000 && left <= 30000)) || kw_fail "the grant at $h lasts $left ms, expected the time left of 30 s"
done
kw_pass "a grant published by the gateway reaches both hosts for the time left ($left ms of 30000)"

# A revoke, and IPv6.
publish gateway --door=ssh --addr=2001:db8::37:5 --event=revoke --ttl=30000 || kw_fail "revoke not published"
kw_wait_until 3 grep -q '^grant revoke ssh 2001:db8::37:5/128 ' "$H1" || kw_fail "the revoke did not arrive: $(cat "$H1")"
kw_pass "a revoke of an IPv6 address arrives"

# --- Who may publish. ---------------------------------------------------------------------
before1=$(counter "$H1" received)
before2=$(counter "$H2" received)
if publish rogue --door=ssh --addr=198.51.100.198 --ttl=30000 --timeout=4 --connect-timeout-ms=2000; then
        kw_fail "a certificate from another CA published: $(cat "$KW_TMP/pub.out")"
fi
grep -qiE '^state down .*(TLS|SSL|certificate|handshake|connection)' "$KW_TMP/pub.out" ||
        kw_fail "the rogue's failure does not say why: $(cat "$KW_TMP/pub.out")"
grep -q 'connects=0' <(grep '^stats' "$KW_TMP/pub.out" | tail -n 1) || kw_fail "the rogue connected"
kw_pass "a certificate from another CA is refused at the handshake ($(grep -m1 '^state down' "$KW_TMP/pub.out" | cut -c1-100))"
# A host's certificate is accepted by the broker, but the ACL lets it only read.
publish host1 --door=ssh --addr=198.51.100.198 --ttl=30000 --timeout=5 --client-id=kw-test-host1-publisher ||
        kw_fail "host1's publish was not even acknowledged: $(cat "$KW_TMP/pub.out")"
sleep 1
[[ $(counter "$H1" received) == "$before1" && $(counter "$H2" received) == "$before2" ]] ||
        kw_fail "a publish by a host reached the hosts: $(tail -n 4 "$H2")"
grep -q "^grant .* 198.51.100.198/" "$H1" "$H2" && kw_fail "a grant from a host's or the rogue's certificate was applied"
kw_pass "neither the rogue certificate nor a host's certificate publishes anything"

# --- Injected messages, each ignored and counted. ----------------------------------------
now_ms() { echo $(($(date +%s%N) / 1000000)); }
M=$KW_TMP/msg
encode "$M.ok" --door=ssh --addr=198.51.100.199 --ttl=20000
kw_mqtt_pub "$NS_CLI" "$D" gateway knockwatch/default/ssh "$M.ok"
kw_wait_until 3 grep -q '^grant grant ssh 198.51.100.199/32' "$H1" || kw_fail "the injected message was not taken"
kw_mqtt_pub "$NS_CLI" "$D" gateway knockwatch/default/ssh "$M.ok"
stat_is "$H1" replayed 1 || kw_fail "a replay was not counted: $(tail -n 3 "$H1")"
[[ $(grep -c '^grant grant ssh 198.51.100.199/32' "$H1") == 1 ]] || kw_fail "a replayed message was applied twice"
grep -q '^rejected replayed "knockwatch/default/ssh"' "$H1" || kw_fail "the replay was not reported"
kw_pass "a replayed message is ignored and counted"

# flip FILE OFFSET: change one bit of the byte at OFFSET.
flip() {
        local b
        b=$(od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' ')
        # shellcheck disable=SC2059
        printf "\\x$(printf %02x $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
encode "$M.badmac" --door=ssh --addr=198.51.100.199 --ttl=20000
flip "$M.badmac" $(($(stat -c %s "$M.badmac") - 1))   # the MAC's last byte
encode "$M.badmac2" --door=ssh --addr=198.51.100.199 --ttl=20000
flip "$M.badmac2" 20                                  # a byte of the nonce
kw_mqtt_pub "$NS_CLI" "$D" gateway knockwatch/default/ssh "$M.badmac"
kw_mqtt_pub "$NS_CLI" "$D" gateway knockwatch/default/ssh "$M.badmac2"
"$FLEET_NODE" encode --key="$D/other.key" --out="$M.otherkey" --door=ssh --addr=198.51.100.199 --ttl=20000 >/dev/null
kw_mqtt_pub "$NS_CLI" "$D" gateway knockwatch/default/ssh "$M.otherkey"
stat_is "$H1" bad-mac 3 || kw_fail "bad MACs were not counted as such: $(tail -n 3 "$H1")"
kw_pass "a flipped MAC byte, a flipped nonce byte and another fleet key: bad-mac, ignored"

encode "$M.past" --door=ssh --addr=198.51.100.199 --expiry=$(($(now_ms) - 5000))
kw_mqtt_pub "$NS_CLI" "$D" gateway knockwatch/default/ssh "$M.past"
stat_is "$H1" expired 1 || kw_fail "a past expiry was not counted: $(tail -n 3 "$H1")"
encode "$M.far" --door=ssh --addr=198.51.100.199 --ttl=600000
kw_mqtt_pub "$NS_CLI" "$D" gateway knockwatch/default/ssh "$M.far"
stat_is "$H1" too-far 1 || kw_fail "an expiry past the set's timeout was not counted: $(tail -n 3 "$H1")"
kw_pass "a past expiry and one past the local set's timeout are ignored and counted"

encode "$M.topic" --door=ssh --addr=198.51.100.199 --ttl=20000
kw_mqtt_pub "$NS_CLI" "$D" gateway knockwatch/default/web "$M.topic"
stat_is "$H1" wrong-topic 1 || kw_fail "a message for door ssh on web's topic was not refused"
encode "$M.db" --door=db --addr=198.51.100.199 --ttl=20000
kw_mqtt_pub "$NS_CLI" "$D" gateway knockwatch/default/db "$M.db"
stat_is "$H1" not-taken 1 || kw_fail "a door the host does not take was not refused"
encode "$M.prefix" --door=ssh --addr=2001:db8:37::/64 --ttl=20000
kw_mqtt_pub "$NS_CLI" "$D" gateway knockwatch/default/ssh "$M.prefix"
stat_is "$H1" prefix 1 || kw_fail "a prefix was taken by a host that takes only addresses"
head -c 90 /dev/urandom >"$M.garbage"
kw_mqtt_pub "$NS_CLI" "$D" gateway knockwatch/default/ssh "$M.garbage"
stat_is "$H1" malformed 1 || kw_fail "garbage was not counted as malformed"
[[ $(grep -c '^grant ' "$H1") == 3 ]] || kw_fail "a refused message was applied: $(grep '^grant ' "$H1")"
kw_pass "wrong topic, a door not taken, a prefix and garbage: ignored and counted"
[[ $(counter "$H1" disconnects) == 0 ]] || kw_fail "host1 lost its connection meanwhile: $(grep '^state' "$H1")"

# --- A host away: its persistent session queues, expired messages are dropped. ----------
kill -TERM "${NODE_PID[1]}"
wait "${NODE_PID[1]}" 2>/dev/null || true
publish gateway --door=ssh --addr=198.51.100.194 --ttl=30000 || kw_fail "publish while host2 is away"
publish gateway --door=ssh --addr=198.51.100.195 --ttl=1500 || kw_fail "publish while host2 is away"
sleep 2.5
: >"$H2"
listen host2 "$H2"
kw_wait_until 10 grep -q '^grant grant ssh 198.51.100.194/32' "$H2" ||
        kw_fail "host2 did not get what its session queued: $(cat "$H2")"
stat_is "$H2" expired 1 || kw_fail "the queued message that expired was not dropped as expired: $(cat "$H2")"
grep -q '198.51.100.195/32' "$H2" && kw_fail "an expired queued message was applied"
left=$(sed -n 's|^grant grant ssh 198.51.100.194/32 left=\([0-9]*\) .*|\1|p' "$H2")
((left <= 28000)) || kw_fail "the queued grant lasts $left ms: a late delivery lengthened it"
kw_pass "a host that was away gets the queued grant for the time left ($left ms) and drops the expired one"

# --- The broker stopped and started again. ------------------------------------------------
kw_mqtt_stop
kw_wait_until 5 grep -q '^state down' "$H1" || kw_fail "host1 did not notice the broker stopping"
# The gateway publishes while the broker is down: libmosquitto keeps the message.
# shellcheck disable=SC2046
ip netns exec "$NS_CLI" "$FLEET_NODE" publish $(common gateway) --door=ssh --addr=198.51.100.196 --ttl=30000 \
        --early --timeout=20 >"$KW_TMP/pub-down.out" 2>&1 &
PUB=$!
KW_PIDS+=("$PUB")
sleep 3
kw_wait_until 3 eval '(($(grep -c "^state down" "$H1") >= 3))' ||
        kw_fail "host1 did not keep trying: $(grep '^state' "$H1" | tail -n 3)"
kw_mqtt_start "$NS_SRV" "$D"
wait "$PUB" || kw_fail "the message published while the broker was down was not delivered: $(cat "$KW_TMP/pub-down.out")"
for h in "$H1" "$H2"; do
        kw_wait_until 10 grep -q '^grant grant ssh 198.51.100.196/32' "$h" ||
                kw_fail "after the broker's restart, no grant at $h: $(tail -n 5 "$h")"
done
[[ $(counter "$H1" connects) -ge 2 ]] || kw_fail "host1 did not reconnect"
retries=$(grep '^state down' "$H1" | sed -n 's/.*retry in \([0-9]*\) ms.*/\1/p' | tr '\n' ' ')
kw_pass "after a broker restart the hosts reconnect with backoff (retry in: $retries ms) and get the grant published while it was down"

kill -TERM "${NODE_PID[@]}" 2>/dev/null || true
echo "ok - test-fleet-node"
