# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# lib-journal.sh — a real systemd-journald for end-to-end tests, started by hand in a
# private mount namespace, so it neither sees nor disturbs anything else on the machine.
#
# Use it instead of sourcing lib.sh directly, as the first thing a test does:
#
#   . "$KW_SRCDIR/test/lib-journal.sh" "$@"
#
# On first sourcing it re-executes the test under `unshare -m --propagation private`
# (so this must come before anything that creates files or starts processes), then
# sources lib.sh. Inside, everything in lib.sh works as usual (network namespaces made
# with `ip netns add` are private to this mount namespace and vanish with it).
#
#   kw_journald_start     mount tmpfs over /run/systemd/journal, /run/log/journal and
#                         /var/log/journal (first call only), start systemd-journald in
#                         the background (PID in KW_JOURNALD_PID, stopped by the EXIT trap)
#                         and wait until its sockets exist and it has read /dev/kmsg up to now
#   kw_journald_stop      SIGTERM journald by PID and wait for it
#   kw_journald_restart   stop, then start again on the same files
#   kw_journal_rotate     journalctl --rotate (archive the active files, start new ones)
#   kw_journal_flush      journalctl --flush (move from /run/log/journal to /var/log/journal)
#   kw_journal_vacuum N   journalctl --vacuum-files=N (delete archived files beyond N)
#   kw_journal_has TEXT   some entry's MESSAGE contains TEXT (journalctl, no waiting)
#   kw_journal_count TEXT how many entries' MESSAGEs contain TEXT
#   kw_journal_wait TEXT  wait (bounded) until kw_journal_has TEXT
#   kw_journal_field TEXT FIELD...  those fields of the first entry whose MESSAGE contains TEXT
#   kw_journal_entry TEXT "TRANSPORT FACILITY" of the first entry whose MESSAGE contains TEXT
#
# On its first start journald imports the whole kmsg ring of the machine, and every
# namespace's LOG lines reach it: assert only on your own slot's addresses. journald
# shows kernel entries to readers about 0.4 s after the packet: wait with kw_wait_until,
# never with a fixed sleep.

if [[ ${KW_JOURNAL_MOUNTNS:-} != "$$" ]]; then
        if [[ $(id -u) != 0 ]]; then
                [[ ${CI:-} == true ]] && { echo "FAIL: journald tests need root" >&2; exit 1; }
                echo "SKIP: journald tests need root"
                exit 77
        fi
        # In the new namespace the shell keeps its PID (unshare execs it), which is how
        # the check above knows it is inside.
        export KW_JOURNAL_MOUNTNS=$$
        exec unshare -m --propagation private -- "$BASH" "$0" "$@"
fi

# shellcheck source=test/lib.sh
. "${KW_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}/test/lib.sh"

KW_JOURNALD=${KW_JOURNALD:-/lib/systemd/systemd-journald}
KW_JOURNALD_PID=
KW_JOURNALD_MOUNTED=0
KW_JOURNALD_LOG=$KW_TMP/journald.log
KW_MACHINE_ID=$(cat /etc/machine-id)

# kw_private_dir DIR: an empty tmpfs at DIR, visible only in this mount namespace. If DIR
# does not exist, the tmpfs goes over its parent (so nothing is created outside).
kw_private_dir() {
        local dir=$1
        if [[ ! -d $dir ]]; then
                kw_private_dir "$(dirname "$dir")"
                mkdir -p "$dir"
                return 0
        fi
        mount -t tmpfs -o mode=0755 tmpfs "$dir" || kw_fail "cannot mount tmpfs on $dir"
}

kw_journald_mounts() {
        ((KW_JOURNALD_MOUNTED)) && return 0
        [[ -x $KW_JOURNALD ]] || kw_fail "no systemd-journald at $KW_JOURNALD"
        [[ -r /etc/machine-id ]] || kw_fail "no /etc/machine-id"
        kw_private_dir /run/systemd/journal
        kw_private_dir /run/log/journal
        kw_private_dir /var/log/journal
        # As systemd-tmpfiles sets them up: the files journald creates below get group
        # systemd-journal, whose members may read them.
        if getent group systemd-journal >/dev/null; then
                chgrp systemd-journal /run/log/journal /var/log/journal
                chmod 2755 /run/log/journal /var/log/journal
        fi
        KW_JOURNALD_MOUNTED=1
}

kw_journald_ready() {
        [[ -S /run/systemd/journal/socket && -S /run/systemd/journal/dev-log &&
           -S /run/systemd/journal/stdout && -S /run/systemd/journal/io.systemd.journal ]] &&
                [[ -e /run/log/journal/$KW_MACHINE_ID/system.journal ||
                   -e /var/log/journal/$KW_MACHINE_ID/system.journal ]]
}

kw_journald_start() {
        [[ -z $KW_JOURNALD_PID ]] || kw_fail "journald is already running (PID $KW_JOURNALD_PID)"
        kw_journald_mounts
        # Its own messages go to its log file, not to the machine's /dev/kmsg.
        rm -f /run/systemd/journal/socket /run/systemd/journal/dev-log /run/systemd/journal/stdout \
                /run/systemd/journal/io.systemd.journal
        SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=info "$KW_JOURNALD" >>"$KW_JOURNALD_LOG" 2>&1 &
        KW_JOURNALD_PID=$!
        KW_PIDS+=("$KW_JOURNALD_PID")
        kw_wait_until 10 kw_journald_ready || {
                tail -n 20 "$KW_JOURNALD_LOG" >&2
                kw_fail "systemd-journald did not come up"
        }
        # Its sockets and files are there before it has read the kmsg ring (all of it on
        # the first start, what it missed on a restart): wait until a marker written to
        # /dev/kmsg now, behind all of that, shows up in the journal.
        local marker="knockwatch test marker: journald $KW_JOURNALD_PID caught up ($$.$RANDOM)"
        printf '%s\n' "$marker" >/dev/kmsg
        kw_journal_wait "$marker" 20
}

kw_journald_stop() {
        local rc=0
        [[ -n $KW_JOURNALD_PID ]] || return 0
        kill -TERM "$KW_JOURNALD_PID"
        wait "$KW_JOURNALD_PID" || rc=$?
        kw_forget_pid "$KW_JOURNALD_PID"
        KW_JOURNALD_PID=
        ((rc == 0)) || kw_fail "systemd-journald exited with status $rc on SIGTERM"
}

kw_journald_restart() {
        kw_journald_stop
        kw_journald_start
}

kw_journal_rotate() { journalctl --rotate >/dev/null 2>&1 || kw_fail "journalctl --rotate failed"; }
kw_journal_flush() { journalctl --flush >/dev/null 2>&1 || kw_fail "journalctl --flush failed"; }
kw_journal_vacuum() {
        journalctl --vacuum-files="$1" >/dev/null 2>&1 || kw_fail "journalctl --vacuum-files=$1 failed"
}

kw_journal_has() {
        journalctl --no-pager -q -o cat 2>/dev/null | grep -aF -- "$1" >/dev/null
}

# kw_journal_count TEXT: how many entries' MESSAGEs contain TEXT.
kw_journal_count() {
        journalctl --no-pager -q -o cat 2>/dev/null | grep -caF -- "$1" || true
}

kw_journal_wait() {
        kw_wait_until "${2:-10}" kw_journal_has "$1" || kw_fail "'$1' never reached the journal"
}

# kw_journal_field TEXT FIELD...: the FIELDs' values ("-" if absent) of the first entry whose
# MESSAGE contains TEXT, on one line.
kw_journal_field() {
        local text=$1 json field value out=()
        shift
        # One JSON object per entry and line.
        json=$(journalctl --no-pager -q -o json --output-fields="MESSAGE,$(IFS=,; echo "$*")" 2>/dev/null |
                grep -aF -- "$text" | head -n 1 || true)
        [[ -n $json ]] || return 0
        for field in "$@"; do
                value=$(sed -n "s/.*\"$field\":\"\\([^\"]*\\)\".*/\\1/p" <<<"$json")
                out+=("${value:--}")
        done
        echo "${out[*]}"
}

kw_journal_entry() {
        kw_journal_field "$1" _TRANSPORT SYSLOG_FACILITY
}

# kw_journal_forge HOW LINE: write LINE to the journal the way a local process can:
#   logger           logger(1) to the syslog socket (user facility)
#   logger-kern      logger -p kern.warning -t kernel (journald files it as facility 1)
#   systemd-cat      systemd-cat -t kernel (stdout transport)
#   kmsg             "<4>LINE" written to /dev/kmsg as root (kernel transport, facility 1)
#   syslog-datagram  a raw "<4>kernel: LINE" datagram to the syslog socket
#   native-datagram  a native datagram claiming _TRANSPORT=kernel and SYSLOG_FACILITY=0
kw_journal_forge() {
        case $1 in
        logger) logger -u /run/systemd/journal/dev-log -- "$2" ;;
        logger-kern) logger -u /run/systemd/journal/dev-log -p kern.warning -t kernel -- "$2" ;;
        systemd-cat) printf '%s' "$2" | systemd-cat -t kernel -p warning ;;
        kmsg) printf '<4>%s\n' "$2" >/dev/kmsg ;;
        syslog-datagram)
                # One datagram: from a file (nc sends each read as a datagram of its own).
                printf '<4>kernel: %s' "$2" >"$KW_TMP/forge.dgram"
                nc -U -u -w1 /run/systemd/journal/dev-log <"$KW_TMP/forge.dgram"
                ;;
        native-datagram)
                printf 'MESSAGE=%s\nSYSLOG_FACILITY=0\n_TRANSPORT=kernel\nSYSLOG_IDENTIFIER=kernel\nPRIORITY=4\n' \
                        "$2" >"$KW_TMP/forge.dgram"
                nc -U -u -w1 /run/systemd/journal/socket <"$KW_TMP/forge.dgram"
                ;;
        *) kw_fail "kw_journal_forge: unknown way \"$1\"" ;;
        esac
}
KW_JOURNAL_FORGERIES=(logger logger-kern systemd-cat kmsg syslog-datagram native-datagram)

# kw_journal_wait_count N TEXT [TIMEOUT_S]: wait (bounded) until at least N entries'
# MESSAGEs contain TEXT.
kw_journal_wait_count() {
        local n=$1 text=$2
        kw_wait_until "${3:-10}" eval '(($(kw_journal_count "$text") >= n))'
}
