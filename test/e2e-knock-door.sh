#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# e2e-knock-door: a door mixing the three kinds of step, opened by the clients, on the
# real kernel through /dev/kmsg (slot 16).
#
# The door is "tcp:3721 udp:4728 ping:123 tcp:6742 within 5s" with 4 s grants, each step
# logged by its own rule (TCP SYN, a UDP port, an echo request of 123 payload bytes).
# The clients run as uid 65534 without capabilities, with ping sockets allowed for that
# group in the client namespace only:
#   knockwatch knock over IPv4 and IPv6; scripts/knock under bash and under dash;
#   knockwatch knock --then netprobe connect: the connection succeeds on its first SYN;
#   a wrong order and a too slow knock do not open, and the same address opens it
#   afterwards with a correct knock.
# Each case knocks from an address of its own (a host route to the server with that
# source), so no case waits for another's grant to end.
. "$KW_SRCDIR/test/lib.sh"
kw_require_root
kw_net_setup 16

BASE=$((16 * 8))
V4=(192.0.2.$((BASE + 4)) 192.0.2.$((BASE + 5)) 192.0.2.$((BASE + 6)) 192.0.2.$((BASE + 7)))
V6=(2001:db8::10:4 2001:db8::10:5 2001:db8::10:6 2001:db8::10:7)
for a in "${V4[@]}"; do
        ip -n "$NS_CLI" addr add "$a/24" dev kw1
done
# Deprecated, as CLI6B: never picked as a source unless a route names it.
for a in "${V6[@]}"; do
        ip -n "$NS_CLI" addr add "$a/64" dev kw1 nodad preferred_lft 0
done
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --no-new-privs --)
DOOR=(tcp:3721 udp:4728 ping:123 tcp:6742)

# Ping sockets for nobody's group, in the client namespace only.
host_range=$(sysctl -n net.ipv4.ping_group_range)
kw_cli sysctl -qw net.ipv4.ping_group_range="65534 65534"
[[ $(sysctl -n net.ipv4.ping_group_range) == "$host_range" ]] || kw_fail "the host's ping_group_range changed"

cat >"$KW_TMP/door.nft" <<'EOF'
table inet knockwatch
delete table inet knockwatch
table inet knockwatch {
        set ssh4 {
                type ipv4_addr
                flags timeout
                timeout 4s
                comment "knockwatch ssh: tcp:3721 udp:4728 ping:123 tcp:6742 within 5s"
        }
        set ssh6 {
                type ipv6_addr
                flags timeout
                timeout 4s
                comment "knockwatch ssh"
        }
        chain input {
                type filter hook input priority filter; policy accept;
                tcp dport { 3721, 6742 } tcp flags & (fin | syn | rst | ack) == syn log prefix "PORT_KNOCKING " level warn
                tcp dport { 3721, 6742 } drop
                udp dport 4728 log prefix "PORT_KNOCKING " level warn drop
                # 123 payload bytes: 151 bytes of IPv4 packet, 171 of IPv6.
                icmp type echo-request meta length 151 log prefix "PORT_KNOCKING " level warn
                icmpv6 type echo-request meta length 171 log prefix "PORT_KNOCKING " level warn

                tcp dport 22 ct state established,related accept
                tcp dport 22 ip saddr @ssh4 accept
                tcp dport 22 ip6 saddr @ssh6 accept
                tcp dport 22 drop
        }
}
EOF
kw_add_secret "$KW_TMP/door.nft"
kw_ruleset "$KW_TMP/door.nft"
kw_listen 22
kw_daemon_start --source=kmsg --state-dir="$KW_TMP/state" --runtime-dir="$KW_TMP/run"
kw_srv "$KNOCKWATCH" check | grep -qx 'door ssh: tcp:3721 udp:4728 ping:123 tcp:6742 within 5s' ||
        kw_fail "knockwatch check does not show the mixed door: $(kw_srv "$KNOCKWATCH" check 2>&1)"

# from ADDR: the client's packets to the server go out from ADDR (a host route with that
# source), until the next call.
from() {
        if [[ $1 == *:* ]]; then
                ip -n "$NS_CLI" -6 route replace "$SRV6/128" dev kw1 src "$1"
        else
                ip -n "$NS_CLI" route replace "$SRV4/32" dev kw1 src "$1"
        fi
}

# as_nobody CMD...: CMD in the client namespace as uid/gid 65534, no capabilities.
as_nobody() {
        kw_cli "${NOBODY[@]}" "$@"
}

# opened SRV CLI SET WHAT: the knock just made puts CLI in SET and TCP 22 opens for it
# (and for no other address of the client).
opened() {
        local srv=$1 cli=$2 set=$3 what=$4 other
        kw_wait_until 3 kw_set_has "$set" "$cli" || kw_fail "$what: $cli not in $set"
        kw_expect "$srv" 22 "$cli" open
        other=$([[ $srv == *:* ]] && echo "$CLI6B" || echo "$CLI4B")
        kw_expect "$srv" 22 "$other" timeout
        kw_set_has "$set" "$other" && kw_fail "$what: $other was granted without knocking"
        kw_daemon_log_has "$cli granted ssh for 4s" || kw_fail "$what: no grant logged for $cli"
}

# knocks_from CLI: the knocks the daemon saw from CLI so far (its debug log), in order.
knocks_from() {
        sed -n "s/.*Knock $1 \([a-z]*:[0-9]*\)\$/\1/p" "$KW_DAEMON_LOG" | tr '\n' ' ' | sed 's/ $//'
}

knocks_are() {
        [[ $(knocks_from "$1") == "$2" ]]
}

# knocks_seen CLI STEPS: the daemon saw exactly these knocks from CLI, so a door that
# stays shut was really knocked on (waits up to 3 s for the last ones).
knocks_seen() {
        kw_wait_until 3 knocks_are "$1" "$2" ||
                kw_fail "the daemon saw the knocks \"$(knocks_from "$1")\" from $1, expected \"$2\""
}

# --- knockwatch knock, IPv4 and IPv6, as nobody ------------------------------------

kw_expect "$SRV4" 22 "$CLI4" timeout
kw_expect "$SRV6" 22 "$CLI6" timeout
as_nobody "$KNOCKWATCH" knock "$SRV4" "${DOOR[@]}" || kw_fail "knockwatch knock (IPv4) failed"
opened "$SRV4" "$CLI4" ssh4 "knockwatch knock IPv4"
knocks_seen "$CLI4" "${DOOR[*]}"
kw_pass "knockwatch knock ${DOOR[*]} as nobody opens TCP 22 for $CLI4 only"

as_nobody "$KNOCKWATCH" knock "$SRV6" "${DOOR[@]}" || kw_fail "knockwatch knock (IPv6) failed"
opened "$SRV6" "$CLI6" ssh6 "knockwatch knock IPv6"
kw_pass "knockwatch knock ${DOOR[*]} as nobody opens TCP 22 for $CLI6 only"

kw_wait_until 7 kw_set_lacks ssh4 "$CLI4" || kw_fail "$CLI4 still in ssh4 after its 4 s"
kw_expect "$SRV4" 22 "$CLI4" timeout
kw_wait_until 3 kw_daemon_log_has "$CLI4 revoked from ssh \(expired\)" || kw_fail "expiry of $CLI4 not logged"
kw_pass "the grant ends with the set's timeout and TCP 22 drops $CLI4 again"

# --- scripts/knock under bash and dash, as nobody -----------------------------------

i=0
for sh in bash dash; do
        command -v "$sh" >/dev/null || kw_fail "$sh is not installed"
        for srv in "$SRV4" "$SRV6"; do
                if [[ $srv == *:* ]]; then cli=${V6[i]} set=ssh6; else cli=${V4[i]} set=ssh4; fi
                from "$cli"
                kw_expect "$srv" 22 "$cli" timeout
                as_nobody "$sh" "$KW_SRCDIR/scripts/knock" "$srv" "${DOOR[@]}" ||
                        kw_fail "scripts/knock under $sh to $srv failed"
                opened "$srv" "$cli" "$set" "scripts/knock under $sh"
                knocks_seen "$cli" "${DOOR[*]}"
        done
        kw_pass "scripts/knock under $sh as nobody opens TCP 22 for ${V4[i]} and ${V6[i]}"
        i=$((i + 1))
done

# --- knockwatch knock --then: the command's first connection attempt gets through -----

# netprobe gives up after 900 ms, before the kernel would send the SYN again (1 s): "open"
# means the first SYN was accepted, so the grant was in place when the command ran.
for srv in "$SRV4" "$SRV6"; do
        if [[ $srv == *:* ]]; then cli=${V6[2]}; else cli=${V4[2]}; fi
        from "$cli"
        kw_expect "$srv" 22 "$cli" timeout
        got=$(as_nobody "$KNOCKWATCH" knock "$srv" "${DOOR[@]}" --then "$NETPROBE" connect "$srv" 22 - 900) ||
                kw_fail "knock --then netprobe connect $srv: ${got:-no output}"
        [[ $got == open ]] || kw_fail "knock --then netprobe connect $srv said \"$got\""
        kw_daemon_log_has "$cli granted ssh for 4s" || kw_fail "--then: no grant logged for $cli"
done
kw_pass "knockwatch knock ... --then netprobe connect: connected on the first SYN, IPv4 and IPv6"

# --- what must not open ---------------------------------------------------------------

# Wrong order, then the right one from the same address.
from "${V4[3]}"
as_nobody "$KNOCKWATCH" knock "$SRV4" tcp:3721 ping:123 udp:4728 tcp:6742 || kw_fail "knock failed"
knocks_seen "${V4[3]}" "tcp:3721 ping:123 udp:4728 tcp:6742"
sleep 0.5
kw_set_has ssh4 "${V4[3]}" && kw_fail "the wrong order opened the door"
kw_expect "$SRV4" 22 "${V4[3]}" timeout
as_nobody "$KNOCKWATCH" knock "$SRV4" "${DOOR[@]}" || kw_fail "knock failed"
opened "$SRV4" "${V4[3]}" ssh4 "the right order after a wrong one"
kw_pass "a wrong order does not open; the right one from the same address does"

# Too slow (2 s between steps: 6 s from first to last, the window is 5 s), then in time.
from "${V6[3]}"
as_nobody "$KNOCKWATCH" knock --delay 2000 "$SRV6" "${DOOR[@]}" || kw_fail "knock failed"
knocks_seen "${V6[3]}" "${DOOR[*]}"
sleep 0.5
kw_set_has ssh6 "${V6[3]}" && kw_fail "a sequence slower than the window opened the door"
kw_expect "$SRV6" 22 "${V6[3]}" timeout
as_nobody "$KNOCKWATCH" knock "$SRV6" "${DOOR[@]}" || kw_fail "knock failed"
opened "$SRV6" "${V6[3]}" ssh6 "in time after too slow"
kw_pass "too slow does not open; in time from the same address does"

kw_daemon_stop
kw_pass "SIGTERM stops the daemon with status 0"
