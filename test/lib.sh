# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# lib.sh — what the end-to-end tests share: a server and a client network namespace
# joined by a veth pair, the knockwatch daemon started in the server namespace,
# a TCP listener and probe (netprobe), and set-membership checks against the kernel.
# Everything a test starts or creates is stopped and deleted by the EXIT trap.
#
# Address slots. The kernel log is one for the whole machine: every test's LOG lines
# reach every knockwatch. Tests that may run at the same time therefore use disjoint
# client addresses: slot S (1…31) owns 192.0.2.(8S+1 … 8S+7), slot S (32…62) owns
# 198.51.100.(8(S-31)+1 … +7), and every slot owns 2001:db8::S:1 … :7 (S in hex).
# Namespace names carry the slot and the PID, so parallel runs never collide.
#   1-3  nft module tests        4-7  source tests         8-10 client tests
#   11-20 daemon end-to-end      21-24 operations          25-28 journal     29-31 bench/demo
#   17-19, 51-54 rotating doors  26-27, 40-43 admin features   32-39 trust   44-50 core

set -euo pipefail

KW_SRCDIR=${KW_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
KW_BUILDDIR=${KW_BUILDDIR:-$KW_SRCDIR/build}
KNOCKWATCH=${KNOCKWATCH:-$KW_BUILDDIR/knockwatch}
NETPROBE=${NETPROBE:-$KW_BUILDDIR/test/netprobe}
SOURCE_DUMP=${SOURCE_DUMP:-$KW_BUILDDIR/test/source-dump}

KW_PIDS=()
KW_NETNS=()
KW_TMP=$(mktemp -d /tmp/kw-test.XXXXXX)
KW_DAEMON_PID=
KW_DAEMON_LOG=

# kw_random_secret [LEN]: LEN (default 32) random letters and digits, as a log prefix's secret.
kw_random_secret() {
        local len=${1:-32} s
        s=$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c "$len") || true
        ((${#s} == len)) || { echo "FAIL: could not make a random secret" >&2; exit 1; }
        echo "$s"
}

# Each test's log rules carry a secret of its own (kw_test_ruleset): knockwatch takes only
# those lines with nf_log_all_netns=1, and no test acts on another's lines.
# KW_TEST_SECRET in the environment replaces the random one (to reproduce a run).
KW_SECRET=${KW_TEST_SECRET:-$(kw_random_secret 32)}
KW_PREFIX="PORT_KNOCKING $KW_SECRET "

kw_log() { printf '== %s\n' "$*"; }
kw_fail() {
        printf 'FAIL: %s\n' "$*" >&2
        if [[ -n ${KW_DAEMON_LOG:-} && -s $KW_DAEMON_LOG ]]; then
                printf -- '--- daemon log (%s) ---\n' "$KW_DAEMON_LOG" >&2
                tail -n 40 "$KW_DAEMON_LOG" >&2
        fi
        exit 1
}
kw_pass() { printf 'ok - %s\n' "$*"; }

kw_cleanup() {
        local pid ns
        set +e
        for pid in "${KW_PIDS[@]}"; do
                kill -TERM "$pid" 2>/dev/null
        done
        for pid in "${KW_PIDS[@]}"; do
                for _ in $(seq 50); do
                        kill -0 "$pid" 2>/dev/null || break
                        sleep 0.1
                done
                kill -KILL "$pid" 2>/dev/null
                wait "$pid" 2>/dev/null
        done
        for ns in "${KW_NETNS[@]}"; do
                ip netns del "$ns" 2>/dev/null
        done
        [[ ${KW_KEEP:-0} == 1 ]] || rm -rf "$KW_TMP"
}
trap kw_cleanup EXIT
trap 'exit 130' INT TERM HUP

# Root is needed for namespaces and nftables. Outside CI a non-root run is skipped
# (exit 77 is meson's "skipped"); in CI it is a failure, so nothing hides.
kw_require_root() {
        if [[ $(id -u) != 0 ]]; then
                [[ ${CI:-} == true ]] && kw_fail "end-to-end tests need root"
                echo "SKIP: end-to-end tests need root"
                exit 77
        fi
        [[ -x $NETPROBE ]] || kw_fail "no netprobe at $NETPROBE (build first)"
}

kw_srv() { ip netns exec "$NS_SRV" "$@"; }
kw_cli() { ip netns exec "$NS_CLI" "$@"; }

# kw_net_setup SLOT: make the two namespaces of this test and set the address variables
#   SRV4 SRV6        the server (where the ruleset and knockwatch live)
#   CLI4 CLI6        the client that knocks
#   CLI4B CLI6B      a second address of the client that never knocks
kw_net_setup() {
        local slot=$1 net4 base hex
        ((slot >= 1 && slot <= 62)) || kw_fail "slot $slot out of range"
        if ((slot <= 31)); then
                net4=192.0.2 base=$((slot * 8))
        else
                net4=198.51.100 base=$(((slot - 31) * 8))
        fi
        hex=$(printf '%x' "$slot")
        NS_SRV="kw-s$slot-srv-$$"
        NS_CLI="kw-s$slot-cli-$$"
        SRV4=$net4.$((base + 1))
        CLI4=$net4.$((base + 2))
        CLI4B=$net4.$((base + 3))
        SRV6=2001:db8::$hex:1
        CLI6=2001:db8::$hex:2
        CLI6B=2001:db8::$hex:3

        # The log rules of the test's namespaces reach the kernel log only with this: this test
        # sets net.netfilter.nf_log_all_netns=1 (and leaves it so: tests running at the same
        # time need it too).
        [[ $(cat /proc/sys/net/netfilter/nf_log_all_netns 2>/dev/null) == 1 ]] ||
                kw_log "setting net.netfilter.nf_log_all_netns=1 (for the test namespaces' log rules)"
        sysctl -qw net.netfilter.nf_log_all_netns=1
        ip netns add "$NS_SRV"
        KW_NETNS+=("$NS_SRV")
        ip netns add "$NS_CLI"
        KW_NETNS+=("$NS_CLI")
        ip -n "$NS_SRV" link set lo up
        ip -n "$NS_CLI" link set lo up
        ip -n "$NS_SRV" link add kw0 type veth peer name kw1 netns "$NS_CLI"
        ip -n "$NS_SRV" addr add "$SRV4/24" dev kw0
        ip -n "$NS_SRV" addr add "$SRV6/64" dev kw0 nodad
        ip -n "$NS_CLI" addr add "$CLI4/24" dev kw1
        ip -n "$NS_CLI" addr add "$CLI4B/24" dev kw1
        ip -n "$NS_CLI" addr add "$CLI6/64" dev kw1 nodad
        # Deprecated (preferred_lft 0): usable when a probe binds to it, never chosen by the
        # kernel as the source of the client's own knocks.
        ip -n "$NS_CLI" addr add "$CLI6B/64" dev kw1 nodad preferred_lft 0
        ip -n "$NS_SRV" link set kw0 up
        ip -n "$NS_CLI" link set kw1 up

        # Reachability before any ruleset: nothing listens on 9, so a RST must come back.
        local w4 w6
        w4=$(kw_probe "$SRV4" 9) || true
        w6=$(kw_probe "$SRV6" 9) || true
        [[ $w4 == refused && $w6 == refused ]] || kw_fail "namespaces not connected (v4: $w4, v6: $w6)"
}

# kw_ruleset FILE: load an nft ruleset into the server namespace.
kw_ruleset() {
        kw_srv nft -f "$1" || kw_fail "nft -f $1 failed"
}

# kw_listen PORT: a TCP server on PORT (IPv4 and IPv6) in the server namespace.
kw_listen() {
        # Not through kw_srv: a backgrounded function is a subshell, and $! must be the
        # process itself (ip netns exec execs it) so that the trap's signal reaches it.
        ip netns exec "$NS_SRV" "$NETPROBE" listen :: "$1" &
        KW_PIDS+=($!)
}

# kw_probe ADDR PORT [FROM [TIMEOUT_MS]]: from the client, print open|timeout|refused|error.
kw_probe() {
        kw_cli "$NETPROBE" connect "$1" "$2" "${3:--}" "${4:-1000}"
}

# kw_expect ADDR PORT FROM WORD: the probe must say WORD (open, timeout or refused).
kw_expect() {
        local got
        got=$(kw_probe "$1" "$2" "$3") || true
        if [[ $got != "$4" ]]; then
                kw_srv nft list table inet knockwatch >&2 2>&1 || true
                kw_fail "connect $3 -> [$1]:$2: expected $4, got ${got:-nothing}"
        fi
}

# kw_syn ADDR PORT [FROM]: one TCP SYN from the client (a connect abandoned after 100 ms).
kw_syn() {
        kw_cli "$NETPROBE" connect "$1" "$2" "${3:--}" 100 >/dev/null || true
}

# kw_set_has SET ADDR [TABLE]: is ADDR an element of SET in the kernel right now?
kw_set_has() {
        kw_srv nft get element "${3:-inet knockwatch}" "$1" "{ $2 }" >/dev/null 2>&1
}

# kw_wait_until TIMEOUT_S CMD...: run CMD every 50 ms until it succeeds; 1 on timeout.
kw_wait_until() {
        local deadline=$((SECONDS + $1))
        shift
        while ((SECONDS <= deadline)); do
                "$@" && return 0
                sleep 0.05
        done
        return 1
}

# kw_daemon_start ARGS...: start knockwatch in the server namespace, logging to a file,
# and wait until it says it is ready.
kw_daemon_start() {
        [[ -x $KNOCKWATCH ]] || kw_fail "no knockwatch binary at $KNOCKWATCH (build first)"
        KW_DAEMON_LOG=$KW_TMP/daemon.$((${#KW_PIDS[@]})).log
        # No --ruleset by default: a test that wants its table put back gives its own file.
        ip netns exec "$NS_SRV" "$KNOCKWATCH" --log-target=console --log-level=debug --ruleset= "$@" \
                >"$KW_DAEMON_LOG" 2>&1 &
        KW_DAEMON_PID=$!
        KW_PIDS+=("$KW_DAEMON_PID")
        kw_wait_until 10 grep -qs 'knockwatch: ready:' "$KW_DAEMON_LOG" ||
                kw_fail "knockwatch did not become ready"
}

# kw_daemon_stop: SIGTERM the daemon and require a clean exit.
kw_daemon_stop() {
        local rc=0
        [[ -n $KW_DAEMON_PID ]] || return 0
        kill -TERM "$KW_DAEMON_PID"
        wait "$KW_DAEMON_PID" || rc=$?
        KW_DAEMON_PID=
        ((rc == 0)) || kw_fail "knockwatch exited with status $rc on SIGTERM"
}

# kw_daemon_log_has REGEX: the daemon's log has a matching line.
kw_daemon_log_has() {
        grep -qE "$1" "$KW_DAEMON_LOG"
}

# kw_plain_ruleset OUT TIMEOUT WINDOW: the shipped rules/knockwatch.nft with a shorter grant
# timeout and knock window, logging every TCP packet to a knock port (not only SYNs), so
# the parser's own SYN-only rule is what keeps SYN-ACKs from counting. Its log prefix is
# the shipped plain one.
kw_plain_ruleset() {
        sed -e "s/timeout 60s/timeout $2/" \
            -e "s/within 10s/within $3/" \
            -e 's/^\(\s*tcp dport $knock_ports \)tcp flags & (fin | syn | rst | ack) == syn /\1/' \
            "$KW_SRCDIR/rules/knockwatch.nft" >"$1"
        grep -q "timeout $2" "$1" && grep -q "within $3" "$1" &&
                grep -q '^\s*tcp dport $knock_ports counter name knock_logged log prefix' "$1" ||
                kw_fail "could not derive the test ruleset"
}

# kw_add_secret FILE: this test's secret (KW_PREFIX) in every `log prefix "PORT_KNOCKING "`
# of an nft file: with nf_log_all_netns=1 only such a ruleset may open doors.
kw_add_secret() {
        sed -i "s/log prefix \"PORT_KNOCKING \"/log prefix \"$KW_PREFIX\"/" "$1"
        grep -q "log prefix \"$KW_PREFIX\"" "$1" || kw_fail "could not put the secret into $1"
}

# kw_test_ruleset OUT TIMEOUT WINDOW: kw_plain_ruleset with this test's secret.
kw_test_ruleset() {
        kw_plain_ruleset "$@"
        kw_add_secret "$1"
}

# kw_knock HOST STEP...: knock from the client namespace with knockwatch's own client.
kw_knock() {
        kw_cli "$KNOCKWATCH" knock --delay 20 "$@" >/dev/null || kw_fail "knockwatch knock $* failed"
}

# kw_set_lacks SET ADDR [TABLE]: the kernel says ADDR is not in SET. Only nft's own
# "no such element" counts: a command that failed for another reason (ip netns exec
# under load, say) proves nothing either way.
kw_set_lacks() {
        local err
        err=$(kw_srv nft get element "${3:-inet knockwatch}" "$1" "{ $2 }" 2>&1 >/dev/null) && return 1
        [[ $err == *"Could not process rule: No such file or directory"* ]]
}

# kw_fake_line SRC DPT [ID]: a perfectly formed LOG line of a TCP SYN from SRC to the
# server's DPT, as the kernel writes it with this test's prefix, that no packet produced
# (for forgery tests).
kw_fake_line() {
        printf '%sIN=kw0 OUT= MAC=02:00:00:00:00:01:02:00:00:00:00:02:08:00 SRC=%s DST=%s LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=%s DF PROTO=TCP SPT=40000 DPT=%s WINDOW=64240 RES=0x00 SYN URGP=0 ' \
                "$KW_PREFIX" "$1" "$([[ $1 == *:* ]] && echo "$SRV6" || echo "$SRV4")" "${3:-1}" "$2"
}

# kw_daemon_log_count REGEX: how many lines of the daemon's log match.
kw_daemon_log_count() {
        grep -cE "$1" "$KW_DAEMON_LOG" || true
}

# kw_daemon_log_wait_more REGEX N [TIMEOUT_S]: wait until more than N lines match.
kw_daemon_log_wait_more() {
        local regex=$1 n=$2
        kw_wait_until "${3:-3}" eval '(($(kw_daemon_log_count "$regex") > n))'
}

# kw_forget_pid PID: drop PID from what the EXIT trap signals (it may be someone else's later).
kw_forget_pid() {
        local pid keep=()
        for pid in "${KW_PIDS[@]}"; do
                [[ $pid == "$1" ]] || keep+=("$pid")
        done
        KW_PIDS=("${keep[@]}")
}

# kw_dump_start NAME SPEC TEXT [ARGS...]: test/source-dump of source SPEC in the background,
# printing only lines that contain TEXT, until it says "ready". Sets DUMP_OUT (what it
# printed), DUMP_ERR and DUMP_PID.
kw_dump_start() {
        local name=$1 spec=$2 text=$3
        shift 3
        DUMP_OUT=$KW_TMP/dump-$name.out
        DUMP_ERR=$KW_TMP/dump-$name.err
        "$SOURCE_DUMP" "$spec" --grep "$text" "$@" >"$DUMP_OUT" 2>"$DUMP_ERR" &
        DUMP_PID=$!
        KW_PIDS+=("$DUMP_PID")
        kw_wait_until 10 grep -q '^ready ' "$DUMP_OUT" ||
                kw_fail "source-dump $name did not start: $(cat "$DUMP_ERR" "$DUMP_OUT")"
}

# kw_dump_stop: SIGTERM (the source saves its position) and require a clean exit.
kw_dump_stop() {
        local rc=0
        kill -TERM "$DUMP_PID"
        wait "$DUMP_PID" || rc=$?
        kw_forget_pid "$DUMP_PID"
        ((rc == 0)) || kw_fail "source-dump exited with $rc on SIGTERM: $(tail -n 3 "$DUMP_ERR")"
        DUMP_PID=
}

# kw_restart_mid_sequence RESUMED_TEXT DAEMON_ARGS...: with the daemon running, knock the
# first two steps, restart the daemon (its log must then say RESUMED_TEXT), knock the
# third: the handled knocks are replayed and the split sequence completes for CLI4.
kw_restart_mid_sequence() {
        local resumed=$1 seen
        shift
        seen=$(kw_daemon_log_count "Knock $CLI4 tcp:4728")
        kw_knock "$SRV4" tcp:3721 tcp:4728
        kw_daemon_log_wait_more "Knock $CLI4 tcp:4728" "$seen" || kw_fail "the second knock was not read"
        kw_daemon_stop
        kw_knock "$SRV4" tcp:6742
        kw_daemon_start "$@"
        kw_daemon_log_has "$resumed" || kw_fail "the restarted daemon did not resume ($resumed)"
        kw_wait_until 3 kw_daemon_log_has "Replayed knock $CLI4 tcp:4728" || kw_fail "the handled knocks were not replayed"
        kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "the sequence split by a restart did not complete"
        kw_expect "$SRV4" 22 "$CLI4" open
}

# kw_restart_after_grant DAEMON_ARGS...: once CLI4's grant has expired, restart the
# daemon while the sequence is still inside its window: nothing is granted again.
kw_restart_after_grant() {
        kw_wait_until 8 kw_set_lacks ssh4 "$CLI4" || kw_fail "the grant did not expire"
        kw_daemon_stop
        kw_daemon_start "$@"
        sleep 1.5
        kw_set_has ssh4 "$CLI4" && kw_fail "a restart replayed a completed sequence"
        kw_daemon_log_has "$CLI4 granted" && kw_fail "the restarted daemon granted $CLI4 again"
        kw_daemon_log_has "Knock $CLI4" && kw_fail "the restarted daemon took handled knocks for new ones"
        return 0
}

# kw_check_no_false_opens GAP_S: what must not open the door for CLI4, each case given time
# to show a grant: the steps in the wrong order; the steps GAP_S apart (twice that must
# exceed the door's window); SYN-ACKs to the knock ports (the ruleset of kw_test_ruleset
# logs them, so the parser must refuse them); the sequence written to /dev/kmsg by root.
# Then a correct knock must still open, so the checks cannot pass on a dead pipeline.
kw_check_no_false_opens() {
        local gap=$1 port
        kw_set_lacks ssh4 "$CLI4" || kw_fail "$CLI4 is granted before the negative cases"

        kw_knock "$SRV4" tcp:4728 tcp:3721 tcp:6742
        sleep 1
        kw_set_has ssh4 "$CLI4" && kw_fail "wrong order opened the door"
        kw_pass "wrong order does not open"

        kw_knock "$SRV4" tcp:3721
        sleep "$gap"
        kw_knock "$SRV4" tcp:4728
        sleep "$gap"
        kw_knock "$SRV4" tcp:6742
        sleep 1
        kw_set_has ssh4 "$CLI4" && kw_fail "a sequence slower than the window opened the door"
        kw_pass "too slow does not open"

        for port in 3721 4728 6742; do
                kw_cli hping3 -q -c 1 -S -A -p "$port" "$SRV4" >/dev/null 2>&1 || true
        done
        sleep 1
        kw_set_has ssh4 "$CLI4" && kw_fail "SYN-ACK packets opened the door"
        kw_daemon_log_has "Not a knock \(SYN with ACK\): .*SRC=$CLI4 " ||
                kw_fail "SYN-ACK lines were not seen as non-knocks"
        kw_pass "SYN-ACK packets do not open"

        for port in 3721 4728 6742; do
                printf '<4>%s\n' "$(kw_fake_line "$CLI4" "$port")" >/dev/kmsg
        done
        sleep 1
        kw_set_has ssh4 "$CLI4" && kw_fail "lines written to /dev/kmsg opened the door"
        kw_pass "the sequence written to /dev/kmsg as root does not open"

        kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
        kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "a correct knock after the negative cases did not open"
        kw_pass "a correct knock still opens afterwards"
}
