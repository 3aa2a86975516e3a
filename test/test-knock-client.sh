# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# test-knock-client.sh MODE — the knocking client against the real kernel. The server
# namespace's nft ruleset counts and logs every packet the client sends it; the tests
# assert that each step of a mixed door arrived exactly once and in order (the order
# from the kernel log lines carrying this slot's client address), over IPv4 and IPv6,
# sent by an unprivileged user (uid 65534, no capabilities) with the ping group range
# widened inside the client namespace only; that ping is refused with one clear line
# when the range excludes the user; that --then runs its command only after the last
# step; and that every bad argument gives exactly one stderr line and the right status.
#
#   MODE c     "knockwatch knock": $KW_KNOCK_CMD (words; default: the test driver
#              build/test/knock-main); slot 8
#   MODE bash  scripts/knock run by bash; slot 9
#   MODE dash  scripts/knock run by dash; slot 10

mode=${1:-c}
# shellcheck source=test/lib.sh
. "${KW_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}/test/lib.sh"

case $mode in
c)
        slot=8
        read -ra KNOCK <<<"${KW_KNOCK_CMD:-$KW_BUILDDIR/test/knock-main}"
        PREFIX='knockwatch knock: '
        ;;
bash | dash)
        slot=$([[ $mode == bash ]] && echo 9 || echo 10)
        command -v "$mode" >/dev/null || kw_fail "$mode is not installed"
        KNOCK=("$(command -v "$mode")" "$KW_SRCDIR/scripts/knock")
        PREFIX='knock: '
        ;;
*)
        kw_fail "unknown mode $mode (c, bash or dash)"
        ;;
esac

kw_require_root
[[ -x ${KNOCK[0]} ]] || kw_fail "no knock client at ${KNOCK[0]} (build first)"
kw_net_setup "$slot"
# The client sends from whichever address the kernel picks: leave it one per family.
ip -n "$NS_CLI" addr del "$CLI4B/24" dev kw1
ip -n "$NS_CLI" addr del "$CLI6B/64" dev kw1

# The kernel prints IPv6 sources fully expanded.
CLI6_LOG=$(printf '2001:0db8:0000:0000:0000:0000:%04x:0002' "$slot")
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --no-new-privs --)

# Names for the client namespace only: "ip netns exec" binds /etc/netns/NS/* over /etc.
# Files only, so an unknown name is answered at once and never asked of a DNS server.
NETNS_ETC=/etc/netns/$NS_CLI
mkdir -p "$NETNS_ETC"
printf 'hosts: files\n' >"$NETNS_ETC/nsswitch.conf"
printf '127.0.0.1 localhost\n%s kwsrv.test\n%s kwsrv.test\n%s kwsrv4.test\n' \
        "$SRV4" "$SRV6" "$SRV4" >"$NETNS_ETC/hosts"
cleanup_client_test() {
        rm -rf "$NETNS_ETC"
        kw_cleanup
}
trap cleanup_client_test EXIT

# Every packet from the client is counted twice (by kind, and by the exact knock it is)
# and logged once. The ct rule loads conntrack, so fragmented IPv6 pings are reassembled
# before this chain sees them (IPv4 always is, for local delivery).
cat >"$KW_TMP/client.nft" <<EOF
table inet kwclient {
        counter syn4 { }
        counter syn6 { }
        counter udp4 { }
        counter udp6 { }
        counter echo4 { }
        counter echo6 { }
        counter t3721_4 { }
        counter t3721_6 { }
        counter t6742_4 { }
        counter t6742_6 { }
        counter u4728_4 { }
        counter u4728_6 { }
        counter p123_4 { }
        counter p123_6 { }
        chain input {
                type filter hook input priority filter; policy accept;
                ct state invalid counter
                ip saddr $CLI4 tcp flags & (syn | ack) == syn counter name syn4 log prefix "PORT_KNOCKING "
                ip6 saddr $CLI6 tcp flags & (syn | ack) == syn counter name syn6 log prefix "PORT_KNOCKING "
                ip saddr $CLI4 meta l4proto udp counter name udp4 log prefix "PORT_KNOCKING "
                ip6 saddr $CLI6 meta l4proto udp counter name udp6 log prefix "PORT_KNOCKING "
                ip saddr $CLI4 icmp type echo-request counter name echo4 log prefix "PORT_KNOCKING "
                ip6 saddr $CLI6 icmpv6 type echo-request counter name echo6 log prefix "PORT_KNOCKING "

                ip saddr $CLI4 tcp dport 3721 tcp flags & (syn | ack) == syn counter name t3721_4 drop
                ip6 saddr $CLI6 tcp dport 3721 tcp flags & (syn | ack) == syn counter name t3721_6 drop
                ip saddr $CLI4 tcp dport 6742 tcp flags & (syn | ack) == syn counter name t6742_4 drop
                ip6 saddr $CLI6 tcp dport 6742 tcp flags & (syn | ack) == syn counter name t6742_6 drop
                ip saddr $CLI4 udp dport 4728 counter name u4728_4 drop
                ip6 saddr $CLI6 udp dport 4728 counter name u4728_6 drop
                ip saddr $CLI4 icmp type echo-request ip length 151 counter name p123_4 drop
                ip6 saddr $CLI6 icmpv6 type echo-request ip6 length 131 counter name p123_6 drop
                ip saddr $CLI4 drop
                ip6 saddr $CLI6 meta l4proto != ipv6-icmp drop
                ip6 saddr $CLI6 icmpv6 type echo-request drop
        }
}
EOF
kw_ruleset "$KW_TMP/client.nft"

# --- helpers -------------------------------------------------------------------

# run_knock WHO ARGS...: the client in the client namespace as WHO (root or nobody);
# sets RC, OUT (stdout) and ERR (stderr).
run_knock() {
        local who=$1 pre=()
        shift
        [[ $who == nobody ]] && pre=("${NOBODY[@]}")
        RC=0
        kw_cli "${pre[@]}" "${KNOCK[@]}" "$@" >"$KW_TMP/out" 2>"$KW_TMP/err" || RC=$?
        OUT=$(<"$KW_TMP/out")
        ERR=$(<"$KW_TMP/err")
}

describe() { printf '%s' "knock $*"; }

# expect_ok WHAT: the last run succeeded and said nothing.
expect_ok() {
        ((RC == 0)) || kw_fail "$1: exit status $RC, stderr: $ERR"
        [[ -z $ERR ]] || kw_fail "$1: unexpected stderr: $ERR"
}

# expect_one_error WHAT STATUS TEXT...: the last run exited with STATUS, printed nothing
# on stdout and exactly one line on stderr, which starts with the prefix and holds
# every TEXT.
expect_one_error() {
        local what=$1 status=$2 text
        shift 2
        ((RC == status)) || kw_fail "$what: exit status $RC, expected $status (stderr: $ERR)"
        [[ -z $OUT ]] || kw_fail "$what: unexpected stdout: $OUT"
        [[ $(wc -l <"$KW_TMP/err") == 1 ]] || kw_fail "$what: expected one stderr line, got: $ERR"
        [[ $ERR == "$PREFIX"* ]] || kw_fail "$what: stderr does not start with \"$PREFIX\": $ERR"
        for text; do
                [[ $ERR == *"$text"* ]] || kw_fail "$what: stderr does not name \"$text\": $ERR"
        done
}

# counters: "name=packets" for every named counter of the server's table, sorted.
counters() {
        kw_srv nft list counters table inet kwclient |
                awk '/^\tcounter / { n = $2 } /packets/ { print n "=" $2 }' | sort | tr '\n' ' '
}

reset_counters() {
        kw_srv nft reset counters table inet kwclient >/dev/null
}

# expected_counters NAME=N...: the counters line with these values and 0 elsewhere.
expected_counters() {
        local line="" name kv value
        for name in $(counters | sed 's/=[0-9]*//g'); do
                value=0
                for kv; do
                        [[ ${kv%%=*} == "$name" ]] && value=${kv#*=}
                done
                line+="$name=$value "
        done
        printf '%s' "$line"
}

# expect_counters WHAT NAME=N...: exactly these packets arrived (every other counter 0).
expect_counters() {
        local what=$1 want got
        shift
        want=$(expected_counters "$@")
        got=$(counters)
        [[ $got == "$want" ]] || kw_fail "$what: counters
  got:      $got
  expected: $want"
}

# The kernel log is shared: mark a point in it, then read only later lines that carry
# this slot's client address.
MARK_N=0
kmsg_mark() {
        MARK_N=$((MARK_N + 1))
        MARK="kw-test-knock-client $$ $MARK_N ."
        printf '%s\n' "$MARK" >/dev/kmsg
}

# kmsg_steps SRC: the knocks logged from SRC since the mark, as steps ("tcp:3721 …"),
# from the outer header of each line only.
kmsg_steps() {
        dmesg --notime 2>/dev/null | awk -v mark="$MARK" -v src="$1" '
                index($0, mark) { found = 1; out = ""; next }
                !found || !index($0, "PORT_KNOCKING ") { next }
                {
                        s = p = dpt = len = type = ""; syn = ack = 0
                        for (i = 1; i <= NF; i++) {
                                f = $i
                                if (substr(f, 1, 1) == "[") break
                                if (f == "SYN") syn = 1
                                else if (f == "ACK") ack = 1
                                else if (f ~ /^SRC=/ && s == "") s = substr(f, 5)
                                else if (f ~ /^PROTO=/ && p == "") p = substr(f, 7)
                                else if (f ~ /^DPT=/ && dpt == "") dpt = substr(f, 5)
                                else if (f ~ /^LEN=/ && len == "") len = substr(f, 5)
                                else if (f ~ /^TYPE=/ && type == "") type = substr(f, 6)
                        }
                        if (s != src) next
                        if (p == "TCP") step = (syn && !ack) ? "tcp:" dpt : "tcp-not-syn:" dpt
                        else if (p == "UDP") step = "udp:" dpt
                        else if (p == "ICMP" && type == "8") step = "ping:" (len - 28)
                        else if (p == "ICMPv6" && type == "128") step = "ping:" (len - 48)
                        else step = "other:" p
                        out = out (out == "" ? "" : " ") step
                }
                END { print out }'
}

# expect_steps WHAT SRC STEPS: the kernel logged exactly STEPS from SRC since the mark,
# in this order (waiting up to 3 s for the last lines).
expect_steps() {
        local what=$1 src=$2 want=$3 got
        # shellcheck disable=SC2016 # expanded by eval, each time
        kw_wait_until 3 eval '[[ $(kmsg_steps "$src") == "$want" ]]' || {
                got=$(kmsg_steps "$src")
                kw_fail "$what: the kernel logged \"$got\" from $src, expected \"$want\""
        }
}

# --- 1. bad arguments: one line, the right status, nothing sent ---------------------

reset_counters
bad() { # STATUS TEXT ARGS...
        local status=$1 text=$2
        shift 2
        run_knock nobody "$@"
        expect_one_error "$(describe "$@")" "$status" "$text"
}
bad 2 '"--bogus"' --bogus "$SRV4" tcp:3721
bad 2 '-x' -x "$SRV4" tcp:3721
bad 2 '"tcp:0"' "$SRV4" tcp:3721 tcp:0
bad 2 '"tcp:99999"' "$SRV4" tcp:3721 tcp:99999
bad 2 '"tcp:03721"' "$SRV4" tcp:03721
bad 2 '"udp:"' "$SRV4" udp:
bad 2 '"foo:1"' "$SRV4" tcp:3721 foo:1
bad 2 '"TCP:3721"' "$SRV4" TCP:3721
bad 2 '"ping:65528"' "$SRV6" ping:65528
bad 2 'tcp:1;touch' "$SRV4" 'tcp:1;touch /tmp/kw-pwned'
bad 2 'ping:65520' "$SRV4" tcp:3721 ping:65520
bad 2 'no steps' "$SRV4"
bad 2 'missing HOST' tcp:3721 udp:4728
bad 2 'missing HOST' --delay 5
bad 2 '-4 and -6' -4 -6 "$SRV4" tcp:3721
bad 2 '"-1"' --delay -1 "$SRV4" tcp:3721
bad 2 '"60001"' --delay 60001 "$SRV4" tcp:3721
bad 2 '"1s"' --delay 1s "$SRV4" tcp:3721
bad 2 '--delay' "$SRV4" tcp:3721 --delay
bad 2 '--then' "$SRV4" tcp:3721 --then
bad 1 '"no-such-host.test"' no-such-host.test tcp:3721
bad 1 '"a;b"' 'a;b' tcp:3721
bad 1 'no IPv6 address' -6 kwsrv4.test tcp:3721
bad 1 'no IPv6 address' -6 "$SRV4" tcp:3721
bad 1 'no IPv4 address' -4 "$SRV6" tcp:3721
expect_counters "bad arguments send nothing"
[[ ! -e /tmp/kw-pwned ]] || kw_fail "a step was run by a shell"
kw_pass "$mode: bad arguments: one stderr line naming the fault, status 2 or 1, nothing sent"

run_knock nobody --help
if ((RC != 0)) || [[ -n $ERR ]]; then
        kw_fail "--help: status $RC, stderr: $ERR"
fi
for word in 'Usage:' ' -4' '-6' '--delay MS' '--then' '-v' 'tcp:PORT' 'udp:PORT' 'ping:SIZE' 'ping_group_range'; do
        [[ $OUT == *"$word"* ]] || kw_fail "--help does not mention $word"
done
(($(wc -l <<<"$OUT") <= 20)) || kw_fail "--help is longer than 20 lines"
kw_pass "$mode: --help"

# --- 2. ping refused when the group range excludes the user ---------------------

# A new namespace starts with the kernel's default "1 0": nobody may open ping sockets.
[[ $(kw_cli sysctl -n net.ipv4.ping_group_range) == $'1\t0' ]] ||
        kw_fail "unexpected ping_group_range in a new namespace"
reset_counters
run_knock nobody "$SRV4" tcp:3721 ping:123 udp:4728
expect_one_error "ping outside the group range" 1 ping:123 net.ipv4.ping_group_range 'sysctl -w'
expect_counters "a refused ping sends nothing"
kw_pass "$mode: ping refused for a user outside net.ipv4.ping_group_range, nothing sent"

# Root is bound by the group range too; the client then uses a raw socket.
reset_counters
kmsg_mark
run_knock root "$SRV4" tcp:3721 ping:123 udp:4728
expect_ok "root, ping outside the group range"
expect_counters "root knock" syn4=1 t3721_4=1 echo4=1 p123_4=1 udp4=1 u4728_4=1
expect_steps "root knock" "$CLI4" "tcp:3721 ping:123 udp:4728"
kw_pass "$mode: root pings outside the group range"

# Widen the range for nobody's group only, inside the client namespace only.
kw_cli sysctl -qw net.ipv4.ping_group_range="65534 65534"
[[ $(sysctl -n net.ipv4.ping_group_range) == $'1\t0' ]] ||
        kw_fail "the ping group range of the host namespace changed"

# --- 3. a mixed door, exactly once each, in order, as nobody ---------------------

DOOR=(tcp:3721 udp:4728 ping:123 tcp:6742)

reset_counters
kmsg_mark
start=$(date +%s%N)
run_knock nobody "$SRV4" "${DOOR[@]}"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
expect_ok "IPv4 door as nobody"
[[ -z $OUT ]] || kw_fail "IPv4 door: unexpected stdout: $OUT"
expect_steps "IPv4 door" "$CLI4" "${DOOR[*]}"
expect_counters "IPv4 door" syn4=2 t3721_4=1 t6742_4=1 udp4=1 u4728_4=1 echo4=1 p123_4=1
# Abandoned, not waiting: no SYN is retransmitted after the kernel's 1 s timer.
sleep 1.5
expect_counters "IPv4 door, 1.5 s later" syn4=2 t3721_4=1 t6742_4=1 udp4=1 u4728_4=1 echo4=1 p123_4=1
expect_steps "IPv4 door, 1.5 s later" "$CLI4" "${DOOR[*]}"
kw_pass "$mode: IPv4 door ${DOOR[*]} arrived once each, in order, as uid 65534 (${elapsed_ms} ms)"

reset_counters
kmsg_mark
run_knock nobody -6 kwsrv.test "${DOOR[@]}"
expect_ok "IPv6 door as nobody"
expect_steps "IPv6 door" "$CLI6_LOG" "${DOOR[*]}"
expect_counters "IPv6 door" syn6=2 t3721_6=1 t6742_6=1 udp6=1 u4728_6=1 echo6=1 p123_6=1
kw_pass "$mode: IPv6 door by name (-6) arrived once each, in order"

reset_counters
kmsg_mark
run_knock nobody -4 kwsrv.test "${DOOR[@]}"
expect_ok "-4 by name"
expect_steps "-4 by name" "$CLI4" "${DOOR[*]}"
expect_counters "-4 by name" syn4=2 t3721_4=1 t6742_4=1 udp4=1 u4728_4=1 echo4=1 p123_4=1
kw_pass "$mode: -4 picks the IPv4 address of a name"

# No family given: every family the name resolves to, one after the other, each
# getting every step once, in order (issue 11: the knock goes where ssh will go).
BOTH=(syn4=2 t3721_4=1 t6742_4=1 udp4=1 u4728_4=1 echo4=1 p123_4=1
      syn6=2 t3721_6=1 t6742_6=1 udp6=1 u4728_6=1 echo6=1 p123_6=1)
reset_counters
kmsg_mark
run_knock nobody kwsrv.test "${DOOR[@]}"
expect_ok "name, both families"
expect_steps "name, both families (IPv4)" "$CLI4" "${DOOR[*]}"
expect_steps "name, both families (IPv6)" "$CLI6_LOG" "${DOOR[*]}"
expect_counters "name, both families" "${BOTH[@]}"
kw_pass "$mode: a name with A and AAAA records is knocked on both families, every step once each"

# -v says which address each family went to, the family knocked first entirely first.
run_knock nobody -v kwsrv.test tcp:3721 udp:4728
((RC == 0)) || kw_fail "-v, both families: status $RC: $ERR"
first=$(sed -n 's/^.*knocking on \([^ ]*\) (kwsrv.test)$/\1/p' <<<"$ERR" | head -n 1)
[[ $first == "$SRV4" || $first == "$SRV6" ]] || kw_fail "-v, both families: said $ERR"
second=$([[ $first == "$SRV4" ]] && echo "$SRV6" || echo "$SRV4")
want="${PREFIX}knocking on $first (kwsrv.test)
${PREFIX}$first: sent tcp:3721
${PREFIX}$first: sent udp:4728
${PREFIX}knocking on $second (kwsrv.test)
${PREFIX}$second: sent tcp:3721
${PREFIX}$second: sent udp:4728"
[[ $ERR == "$want" ]] || kw_fail "-v, both families, said:
$ERR
expected:
$want"
kw_pass "$mode: -v says both families, one after the other"

# --then runs once every family was knocked: the command sees both families counted.
reset_counters
# shellcheck disable=SC2016 # for the command's shell
run_knock root kwsrv.test "${DOOR[@]}" --then \
        bash -c 'ip netns exec "$1" nft list counters table inet kwclient >"$2"' then-cmd "$NS_SRV" "$KW_TMP/then2.txt"
expect_ok "--then, both families"
at_start=$(awk '/^\tcounter / { n = $2 } /packets/ { print n "=" $2 }' "$KW_TMP/then2.txt" | sort | tr '\n' ' ')
[[ $at_start == "$(expected_counters "${BOTH[@]}")" ]] ||
        kw_fail "--then, both families: when the command started, the counters were: $at_start"
kw_pass "$mode: --then runs after the last step of the last family"

reset_counters
kmsg_mark
run_knock nobody --delay 0 "$SRV6" tcp:3721 ping:123 udp:4728
expect_ok "--delay 0"
expect_counters "--delay 0" syn6=1 t3721_6=1 echo6=1 p123_6=1 udp6=1 u4728_6=1
kw_pass "$mode: --delay 0 sends every step"

# Payload bounds: the smallest and the largest echo of each family.
kmsg_mark
run_knock nobody "$SRV4" ping:0 ping:65507
expect_ok "IPv4 ping:0 ping:65507"
expect_steps "IPv4 ping bounds" "$CLI4" "ping:0 ping:65507"
kmsg_mark
run_knock nobody "$SRV6" ping:0 ping:65527
expect_ok "IPv6 ping:0 ping:65527"
expect_steps "IPv6 ping bounds" "$CLI6_LOG" "ping:0 ping:65527"
kw_pass "$mode: ping:0 and the largest ping (65507 IPv4, 65527 IPv6) arrive with their sizes"

# -v: one line to say where, one per step sent.
run_knock nobody -v "$SRV4" tcp:3721 udp:4728
((RC == 0)) || kw_fail "-v: status $RC: $ERR"
want="${PREFIX}knocking on $SRV4
${PREFIX}$SRV4: sent tcp:3721
${PREFIX}$SRV4: sent udp:4728"
[[ $ERR == "$want" ]] || kw_fail "-v said:
$ERR
expected:
$want"
kw_pass "$mode: -v says each step"

# A step that cannot be sent: one line naming it and the reason.
run_knock nobody 198.51.100.1 tcp:3721
expect_one_error "unreachable host" 1 tcp:3721 198.51.100.1 'unreachable'
kw_pass "$mode: an unreachable host is one line naming the step and the reason"

# --- 4. --then ---------------------------------------------------------------------

# The command reads the server's counters when it starts: every step is counted by then.
reset_counters
# shellcheck disable=SC2016 # for the command's shell
run_knock root "$SRV4" "${DOOR[@]}" --then \
        bash -c 'ip netns exec "$1" nft list counters table inet kwclient >"$2"' then-cmd "$NS_SRV" "$KW_TMP/then.txt"
expect_ok "--then (counters)"
at_start=$(awk '/^\tcounter / { n = $2 } /packets/ { print n "=" $2 }' "$KW_TMP/then.txt" | sort | tr '\n' ' ')
[[ $at_start == "$(expected_counters syn4=2 t3721_4=1 t6742_4=1 udp4=1 u4728_4=1 echo4=1 p123_4=1)" ]] ||
        kw_fail "--then: when the command started, the counters were: $at_start"
kw_pass "$mode: --then runs its command after the last step was counted"

# As nobody, the command is itself a knock: the kernel must log it after the door.
reset_counters
kmsg_mark
run_knock nobody "$SRV4" "${DOOR[@]}" --then "${KNOCK[@]}" "$SRV4" udp:5999
expect_ok "--then (a second knock)"
expect_steps "--then (a second knock)" "$CLI4" "${DOOR[*]} udp:5999"
kw_pass "$mode: --then's packet follows the last step in the kernel log"

# No shell: the arguments reach the command as they are; options after --then are its.
# shellcheck disable=SC2016 # literally
run_knock nobody "$SRV4" tcp:3721 --then printf '%s|' 'a b' '$(id)' ';x' '*' -v
expect_ok "--then with literal arguments"
# shellcheck disable=SC2016 # literally
[[ $OUT == 'a b|$(id)|;x|*|-v|' ]] || kw_fail "--then: the command got: $OUT"
kw_pass "$mode: --then passes its arguments verbatim, without a shell"

run_knock nobody "$SRV4" tcp:3721 --then sh -c 'exit 7'
((RC == 7)) || kw_fail "--then: status $RC, expected the command's 7"
reset_counters
run_knock nobody "$SRV4" tcp:3721 --then /nonexistent/kw-command arg
expect_one_error "--then a missing command" 127 /nonexistent/kw-command
expect_counters "--then a missing command: the knock was still sent" syn4=1 t3721_4=1
kw_pass "$mode: --then: the command's status is knock's; a missing one is 127 and one line"

# --- 5. the script's own tools --------------------------------------------------------

if [[ $mode != c ]]; then
        tools=(nc)
        [[ $mode == bash ]] && tools+=(bash)
        command -v telnet >/dev/null && tools+=(telnet)
        for tool in "${tools[@]}"; do
                udp_tool=$([[ $tool == telnet ]] && echo nc || echo "$tool")
                reset_counters
                kmsg_mark
                export KNOCK_TCP=$tool KNOCK_UDP=$udp_tool
                run_knock nobody "$SRV4" "${DOOR[@]}"
                unset KNOCK_TCP KNOCK_UDP
                expect_ok "KNOCK_TCP=$tool"
                expect_steps "KNOCK_TCP=$tool" "$CLI4" "${DOOR[*]}"
                sleep 1.5
                expect_counters "KNOCK_TCP=$tool" syn4=2 t3721_4=1 t6742_4=1 udp4=1 u4728_4=1 echo4=1 p123_4=1
                kw_pass "$mode: tcp with $tool, udp with $udp_tool: each step once, in order"
        done

        # run_knock_path DIR ARGS...: run_knock nobody with only DIR's tools on PATH.
        run_knock_path() {
                local dir=$1
                shift
                RC=0
                kw_cli "${NOBODY[@]}" env PATH="$dir" "${KNOCK[@]}" "$@" \
                        >"$KW_TMP/out" 2>"$KW_TMP/err" || RC=$?
                OUT=$(<"$KW_TMP/out")
                ERR=$(<"$KW_TMP/err")
        }
        # tool_dir NAME TOOL...: a directory of links to these tools only.
        tool_dir() {
                local dir=$KW_TMP/$1 t
                shift
                mkdir -p "$dir"
                for t; do
                        ln -sf "$(command -v "$t")" "$dir/$t"
                done
                chmod 755 "$KW_TMP" "$dir"
                echo "$dir"
        }

        # Without timeout(1): nc runs in the background and is killed after half a second.
        dir=$(tool_dir no-timeout awk sed sleep grep id tr getent ping nc)
        reset_counters
        kmsg_mark
        run_knock_path "$dir" "$SRV4" "${DOOR[@]}"
        expect_ok "no timeout(1)"
        expect_steps "no timeout(1)" "$CLI4" "${DOOR[*]}"
        sleep 1.5
        expect_counters "no timeout(1)" syn4=2 t3721_4=1 t6742_4=1 udp4=1 u4728_4=1 echo4=1 p123_4=1
        kw_pass "$mode: without timeout(1), each step once, in order"

        # Without nc, bash and telnet there is no way to send a SYN: say so, send nothing.
        dir=$(tool_dir no-tcp awk sed sleep timeout grep id tr getent ping)
        reset_counters
        run_knock_path "$dir" "$SRV4" udp:4728 tcp:3721
        expect_one_error "no tcp tool" 1 nc bash telnet
        expect_counters "no tcp tool"
        kw_pass "$mode: no tool for tcp steps: one line naming the missing tools, nothing sent"
fi

echo "all client tests passed ($mode)"
