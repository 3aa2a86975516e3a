# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# test-knock-totp.sh MODE — TOTP and dual-family knocks on the real kernel. The server
# namespace counts and logs (with a prefix of this test's own, which no knockwatch reads)
# every TCP SYN and UDP datagram from the client's addresses; the client, as an
# unprivileged user with a key file of its own, knocks a TOTP door. Asserted: exactly
# the steps "knockwatch totp" derives for that time arrive, once each, in order, over
# IPv4 and IPv6, TCP and UDP; a name with an A and an AAAA record (/etc/netns/NS/hosts)
# is knocked on both families, the first with window T and the second with window T+1;
# -4/-6 keep one family; --then runs after the last family; a key file others can read
# is refused with one line naming it, and nothing is sent.
#
#   MODE c     knockwatch knock (build/knockwatch); slot 17
#   MODE bash  scripts/knock run by bash; slot 18
#   MODE dash  scripts/knock run by dash; slot 19

mode=${1:-c}
# shellcheck source=test/lib.sh
. "${KW_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}/test/lib.sh"

case $mode in
c)
        slot=17
        KNOCK=("$KNOCKWATCH" knock)
        PREFIX='knockwatch knock: '
        ;;
bash | dash)
        slot=$([[ $mode == bash ]] && echo 18 || echo 19)
        command -v "$mode" >/dev/null || kw_fail "$mode is not installed"
        KNOCK=("$(command -v "$mode")" "$KW_SRCDIR/scripts/knock")
        PREFIX='knock: '
        ;;
*)
        kw_fail "unknown mode $mode (c, bash or dash)"
        ;;
esac

kw_require_root
[[ -x $KNOCKWATCH ]] || kw_fail "no knockwatch at $KNOCKWATCH (build first)"
kw_net_setup "$slot"
# One source address per family, so the kernel's choice is known.
ip -n "$NS_CLI" addr del "$CLI4B/24" dev kw1
ip -n "$NS_CLI" addr del "$CLI6B/64" dev kw1
CLI6_LOG=$(printf '2001:0db8:0000:0000:0000:0000:%04x:0002' "$slot")
LOGPREFIX="KWTOTP$slot "
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --no-new-privs --)

NETNS_ETC=/etc/netns/$NS_CLI
mkdir -p "$NETNS_ETC"
printf 'hosts: files\n' >"$NETNS_ETC/nsswitch.conf"
printf '127.0.0.1 localhost\n%s kwtotp.test\n%s kwtotp.test\n' "$SRV4" "$SRV6" >"$NETNS_ETC/hosts"
cleanup_totp_test() {
        rm -rf "$NETNS_ETC"
        kw_cleanup
}
trap cleanup_totp_test EXIT

cat >"$KW_TMP/totp.nft" <<EOF
table inet kwtotp {
        counter syn4 { }
        counter syn6 { }
        counter udp4 { }
        counter udp6 { }
        chain input {
                type filter hook input priority filter; policy accept;
                ip saddr $CLI4 tcp flags & (syn | ack) == syn counter name syn4 log prefix "$LOGPREFIX" drop
                ip6 saddr $CLI6 tcp flags & (syn | ack) == syn counter name syn6 log prefix "$LOGPREFIX" drop
                ip saddr $CLI4 meta l4proto udp counter name udp4 log prefix "$LOGPREFIX" drop
                ip6 saddr $CLI6 meta l4proto udp counter name udp6 log prefix "$LOGPREFIX" drop
                ip saddr $CLI4 drop
                ip6 saddr $CLI6 meta l4proto != ipv6-icmp drop
        }
}
EOF
kw_ruleset "$KW_TMP/totp.nft"

# The user's key, a file of its own (the client refuses one others can read).
chmod 711 "$KW_TMP"
KEY=$KW_TMP/user.key
"$KNOCKWATCH" key new ssh --key-dir "$KW_TMP/keys" --no-qr >/dev/null
cp "$KW_TMP/keys/ssh.key" "$KEY"
chown 65534:65534 "$KEY"
chmod 600 "$KEY"
ROOT_KEY=$KW_TMP/root.key      # the same key, for a client run as root (--then below)
cp "$KW_TMP/keys/ssh.key" "$ROOT_KEY"
chmod 600 "$ROOT_KEY"
SPEC_TCP="knockwatch ssh: totp key=ssh 4 tcp:20000-59999 within 10s"
SPEC_UDP="totp key=vpn 5 udp:40000-49999 step 1m"

# steps_at UNIX [SPEC [DOOR]]: what knockwatch totp derives.
steps_at() {
        local spec=${2:-$SPEC_TCP}
        if [[ $spec == knockwatch* ]]; then
                "$KNOCKWATCH" totp --key "$ROOT_KEY" --time "$1" --door-spec "$spec"
        else
                "$KNOCKWATCH" totp "$3" --key "$ROOT_KEY" --time "$1" --door-spec "$spec"
        fi
}

run_knock() { # ARGS...: as nobody in the client namespace; sets RC, OUT, ERR
        RC=0
        kw_cli "${NOBODY[@]}" "${KNOCK[@]}" "$@" >"$KW_TMP/out" 2>"$KW_TMP/err" || RC=$?
        OUT=$(<"$KW_TMP/out")
        ERR=$(<"$KW_TMP/err")
}

expect_usage() { # WHAT TEXT: status 2, one line holding TEXT
        ((RC == 2)) || kw_fail "$1: status $RC, expected 2 ($ERR)"
        [[ $(wc -l <<<"$ERR") == 1 && $ERR == "$PREFIX"*"$2"* ]] || kw_fail "$1: said: $ERR"
}

expect_ok() {
        ((RC == 0)) || kw_fail "$1: exit status $RC, stderr: $ERR"
}

counters() {
        kw_srv nft list counters table inet kwtotp |
                awk '/^\tcounter / { n = $2 } /packets/ { print n "=" $2 }' | sort | tr '\n' ' '
}
reset_counters() { kw_srv nft reset counters table inet kwtotp >/dev/null; }
expect_counters() { # WHAT syn4 syn6 udp4 udp6
        local want="syn4=$2 syn6=$3 udp4=$4 udp6=$5 " got
        got=$(counters)
        [[ $got == "$want" ]] || kw_fail "$1: counters $got, expected $want"
}

MARK_N=0
kmsg_mark() {
        MARK_N=$((MARK_N + 1))
        MARK="kw-test-knock-totp $$ $MARK_N ."
        printf '%s\n' "$MARK" >/dev/kmsg
}
# kmsg_steps SRC: the packets logged with this test's prefix from SRC since the mark.
kmsg_steps() {
        dmesg --notime 2>/dev/null | awk -v mark="$MARK" -v src="$1" -v prefix="$LOGPREFIX" '
                index($0, mark) { found = 1; out = ""; next }
                !found || index($0, prefix) != 1 { next }
                {
                        s = p = dpt = ""
                        for (i = 1; i <= NF; i++) {
                                f = $i
                                if (substr(f, 1, 1) == "[") break
                                if (f ~ /^SRC=/ && s == "") s = substr(f, 5)
                                else if (f ~ /^PROTO=/ && p == "") p = substr(f, 7)
                                else if (f ~ /^DPT=/ && dpt == "") dpt = substr(f, 5)
                        }
                        if (s != src) next
                        out = out (out == "" ? "" : " ") tolower(p) ":" dpt
                }
                END { print out }'
}
expect_steps() { # WHAT SRC STEPS
        local what=$1 src=$2 want=$3 got
        # shellcheck disable=SC2016 # expanded by eval, each time
        kw_wait_until 3 eval '[[ $(kmsg_steps "$src") == "$want" ]]' || {
                got=$(kmsg_steps "$src")
                kw_fail "$what: the kernel logged \"$got\" from $src, expected \"$want\""
        }
}

T0=1750000000     # a fixed time, well inside a 30 s step (1750000000 = 58333333 * 30 + 10)

# --- 1. one family: exactly the derived steps ------------------------------------------------

want=$(steps_at "$T0")
[[ $want =~ ^(tcp:[0-9]+ ){3}tcp:[0-9]+$ ]] || kw_fail "knockwatch totp said: $want"
reset_counters
kmsg_mark
run_knock "$SRV4" --door-spec "$SPEC_TCP" --key "$KEY" --time "$T0"
expect_ok "IPv4 TOTP knock"
[[ -z $OUT && -z $ERR ]] || kw_fail "IPv4 TOTP knock said: $OUT $ERR"
expect_steps "IPv4 TOTP knock" "$CLI4" "$want"
expect_counters "IPv4 TOTP knock" 4 0 0 0
sleep 1.5
expect_counters "IPv4 TOTP knock, 1.5 s later" 4 0 0 0
kw_pass "$mode: a TOTP knock sends exactly the 4 derived SYNs ($want), in order, once each"

reset_counters
kmsg_mark
run_knock "$SRV6" --door ssh --door-spec "totp key=ssh 4 tcp:20000-59999" --key "$KEY" --time "$T0"
expect_ok "IPv6 TOTP knock"
expect_steps "IPv6 TOTP knock" "$CLI6_LOG" "$want"
expect_counters "IPv6 TOTP knock" 0 4 0 0
kw_pass "$mode: the same over IPv6, with --door and the spec alone"

# The whole comment of a set as knockwatch.nft(5) allows it: closing steps, fleet, a prefix.
reset_counters
kmsg_mark
run_knock "$SRV4" --door-spec "$SPEC_TCP close tcp:1 tcp:2 fleet /24" --key "$KEY" --time "$T0"
expect_ok "TOTP knock with a whole set comment"
expect_steps "TOTP knock with a whole set comment" "$CLI4" "$want"
expect_counters "TOTP knock with a whole set comment" 4 0 0 0
kw_pass "$mode: --door-spec takes a whole set comment, closing steps, fleet and prefix included"

want_udp=$(steps_at "$T0" "$SPEC_UDP" vpn)
reset_counters
kmsg_mark
run_knock "$SRV4" --door vpn --door-spec "$SPEC_UDP" --key "$KEY" --time "$T0"
expect_ok "UDP TOTP knock"
expect_steps "UDP TOTP knock" "$CLI4" "$want_udp"
expect_counters "UDP TOTP knock" 0 0 5 0
kw_pass "$mode: a UDP door with a 1 min step: the 5 derived datagrams ($want_udp)"

# Now (no --time): what knockwatch totp says now; retried if a step boundary fell between.
for _ in 1 2; do
        reset_counters
        kmsg_mark
        before=$("$KNOCKWATCH" totp --key "$ROOT_KEY" --door-spec "$SPEC_TCP")
        run_knock "$SRV4" --door-spec "$SPEC_TCP" --key "$KEY"
        after=$("$KNOCKWATCH" totp --key "$ROOT_KEY" --door-spec "$SPEC_TCP")
        [[ $before == "$after" ]] && break
done
expect_ok "TOTP knock now"
expect_steps "TOTP knock now" "$CLI4" "$before"
kw_pass "$mode: without --time the current window is knocked"

# --- 2. a name with both families: window T, then window T+1 ------------------------------------

next=$(steps_at $((T0 + 30)))
[[ $next != "$want" ]] || kw_fail "windows T and T+1 have the same steps"
reset_counters
kmsg_mark
run_knock -v kwtotp.test --door-spec "$SPEC_TCP" --key "$KEY" --time "$T0"
expect_ok "both families"
first=$(sed -n 's/^.*knocking on \([^ ]*\) (kwtotp.test)$/\1/p' <<<"$ERR" | head -n 1)
case $first in
"$SRV4") src1=$CLI4 src2=$CLI6_LOG ;;
"$SRV6") src1=$CLI6_LOG src2=$CLI4 ;;
*) kw_fail "both families: -v said: $ERR" ;;
esac
expect_steps "both families, first" "$src1" "$want"
expect_steps "both families, second" "$src2" "$next"
expect_counters "both families" 4 4 0 0
[[ $(grep -c "knocking on" <<<"$ERR") == 2 ]] || kw_fail "both families: -v said: $ERR"
kw_pass "$mode: a name with A and AAAA: both families knocked, the first ($first) with window T, the other with T+1"

reset_counters
kmsg_mark
run_knock -4 kwtotp.test --door-spec "$SPEC_TCP" --key "$KEY" --time "$T0"
expect_ok "-4"
expect_steps "-4" "$CLI4" "$want"
expect_counters "-4" 4 0 0 0
reset_counters
kmsg_mark
run_knock -6 kwtotp.test --door-spec "$SPEC_TCP" --key "$KEY" --time "$T0"
expect_ok "-6"
expect_steps "-6" "$CLI6_LOG" "$want"
expect_counters "-6" 0 4 0 0
kw_pass "$mode: -4 and -6 keep one family, with window T"

# --then: after the last step of the last family (the command reads the counters first).
reset_counters
RC=0
# shellcheck disable=SC2016 # for the command's shell
kw_cli "${KNOCK[@]}" kwtotp.test --door-spec "$SPEC_TCP" --key "$ROOT_KEY" --time "$T0" --then \
        bash -c 'ip netns exec "$1" nft list counters table inet kwtotp >"$2"' then-cmd "$NS_SRV" \
        "$KW_TMP/then.txt" >/dev/null 2>"$KW_TMP/err" || RC=$?
((RC == 0)) || kw_fail "--then: status $RC: $(cat "$KW_TMP/err")"
at_start=$(awk '/^\tcounter / { n = $2 } /packets/ { print n "=" $2 }' "$KW_TMP/then.txt" | sort | tr '\n' ' ')
[[ $at_start == "syn4=4 syn6=4 udp4=0 udp6=0 " ]] || kw_fail "--then: when it started, the counters were $at_start"
kw_pass "$mode: --then runs once both families were knocked"

# Static steps go to both families too (issue 11).
reset_counters
run_knock kwtotp.test tcp:3721 udp:4728
expect_ok "static steps, both families"
expect_counters "static steps, both families" 1 1 1 1
kw_pass "$mode: static steps to a name: both families"

# --- 3. refusals: one line, nothing sent ------------------------------------------------------

reset_counters
chmod 644 "$KEY"
run_knock "$SRV4" --door-spec "$SPEC_TCP" --key "$KEY"
chmod 600 "$KEY"
((RC == 1)) || kw_fail "key 0644: status $RC ($ERR)"
[[ $(wc -l <<<"$ERR") == 1 && $ERR == "$PREFIX"*"$KEY"*"readable by group or others"* ]] ||
        kw_fail "key 0644: said: $ERR"
run_knock "$SRV4" --door-spec "totp key=ssh 4 tcp:20000-59999" --key "$KEY"
expect_usage "no door name" "part of the derivation"
run_knock "$SRV4" tcp:3721 --door-spec "$SPEC_TCP" --key "$KEY"
expect_usage "steps and a spec" "exclude each other"
run_knock "$SRV4" --door-spec "$SPEC_TCP"
expect_usage "no key" "no key"
run_knock "$SRV4" --door-spec "knockwatch ssh: totp key=ssh 4 tcp:20000-20100 within 10s" --key "$KEY"
expect_usage "small range" "too few ports"
expect_counters "refusals send nothing" 0 0 0 0
kw_pass "$mode: a key others can read, a spec without door, steps with a spec: one line, nothing sent"

echo "all TOTP knock tests passed ($mode)"
