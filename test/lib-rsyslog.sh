# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# lib-rsyslog.sh — a private rsyslogd for the tests that follow a syslog file. Source it
# after lib.sh. It runs with Debian 12's defaults where they matter: imklog (the kernel
# log, read from /proc/kmsg) and the built-in RFC 3339 file format, so the file holds
#   2026-11-22T22:37:26.574865+00:00 HOST kernel: [  685.536010] PORT_KNOCKING IN=…
# plus an imuxsock socket of the test's own, through which a test can forge lines as
# any local user could. kern.* goes to one file, root:adm 0640 like /var/log/kern.log.
#
# /proc/kmsg is ONE reader queue for the whole machine: two rsyslogs with imklog would
# each get part of the kernel lines. So every test that starts one takes the lock
# /run/lock/knockwatch-test-rsyslog.lock first and holds it until kw_rsyslog_stop or
# its exit; tests of this kind therefore run one at a time. A syslog daemon of the
# machine's own that reads /proc/kmsg would steal lines too; then the test fails (in
# CI) or is skipped.

KW_RSYSLOG_LOCK=/run/lock/knockwatch-test-rsyslog.lock
KW_RSYSLOG_PID=
KW_RSYSLOG_LOCK_FD=

# Is some process reading /proc/kmsg? Prints its PID.
kw_rsyslog_kmsg_reader() {
        local fd
        fd=$(find /proc/[0-9]*/fd -lname /proc/kmsg -print -quit 2>/dev/null) || true
        [[ -n $fd ]] || return 1
        fd=${fd#/proc/}
        echo "${fd%%/*}"
}

# kw_rsyslog_start FILE [SOCKET [FILTER]]: start rsyslogd writing to FILE what FILTER selects
# (an rsyslog filter, default "kern.*"; e.g. 'if $inputname == "imklog" then' for the kernel's
# own lines only), listening on SOCKET (default $KW_TMP/log.sock), and return once it
# demonstrably writes FILE. Sets KW_RSYSLOG_PID and KW_RSYSLOG_SOCKET.
kw_rsyslog_start() {
        local file=$1 dir=$KW_TMP/rsyslog other marker
        KW_RSYSLOG_SOCKET=${2:-$KW_TMP/log.sock}
        command -v rsyslogd >/dev/null || kw_fail "rsyslogd is not installed (package rsyslog)"

        mkdir -p "$(dirname "$KW_RSYSLOG_LOCK")"
        exec {KW_RSYSLOG_LOCK_FD}>"$KW_RSYSLOG_LOCK"
        flock -w 240 "$KW_RSYSLOG_LOCK_FD" || kw_fail "could not take $KW_RSYSLOG_LOCK in 240 s"
        if other=$(kw_rsyslog_kmsg_reader); then
                [[ ${CI:-} == true ]] &&
                        kw_fail "process $other ($(cat "/proc/$other/comm")) reads /proc/kmsg; stop it first"
                echo "SKIP: process $other ($(cat "/proc/$other/comm")) reads /proc/kmsg and would take kernel lines"
                exit 77
        fi

        mkdir -p "$dir/work"
        cat >"$dir/rsyslog.conf" <<EOF
global(workDirectory="$dir/work")
module(load="imklog")
module(load="imuxsock" SysSock.Name="$KW_RSYSLOG_SOCKET")
${3:-kern.*} action(type="omfile" file="$file" fileOwner="root" fileGroup="adm" fileCreateMode="0640")
EOF
        # The lock stays with this shell: rsyslogd must not inherit it (and outlive us).
        rsyslogd -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid" \
                >"$dir/rsyslogd.log" 2>&1 {KW_RSYSLOG_LOCK_FD}>&- &
        KW_RSYSLOG_PID=$!
        KW_PIDS+=("$KW_RSYSLOG_PID")
        kw_wait_until 10 test -S "$KW_RSYSLOG_SOCKET" ||
                kw_fail "rsyslogd did not create $KW_RSYSLOG_SOCKET: $(cat "$dir/rsyslogd.log")"

        if [[ -n ${3:-} ]]; then
                # A filter of the caller's may keep socket lines out of the file: then it is
                # ready once it reads the kernel log, and the test proves the rest.
                kw_wait_until 10 kw_rsyslog_reads_kmsg ||
                        kw_fail "rsyslogd does not read /proc/kmsg: $(cat "$dir/rsyslogd.log")"
                return 0
        fi
        # A kern-facility line through the socket proves the file is being written.
        marker="kw-rsyslog-ready-$$-$RANDOM"
        kw_wait_until 10 kw_rsyslog_marker "$file" "$marker" ||
                kw_fail "rsyslogd does not write $file: $(cat "$dir/rsyslogd.log")"
}

kw_rsyslog_reads_kmsg() {
        [[ $(kw_rsyslog_kmsg_reader) == "$KW_RSYSLOG_PID" ]]
}

kw_rsyslog_marker() {
        grep -q "$2" "$1" 2>/dev/null && return 0
        kw_syslog_send "<6>kwtest: $2"
        sleep 0.2
        grep -q "$2" "$1" 2>/dev/null
}

# kw_syslog_send TEXT: one datagram to the private syslog socket, exactly TEXT (e.g.
# "<4>kernel: PORT_KNOCKING …", which any local user may send: logger(1) would turn
# the kern facility into user, a raw datagram does not).
kw_syslog_send() {
        local try
        # A datagram socket refuses more when rsyslogd's queue is full (a loaded machine):
        # try again for up to 2 s before calling it a failure.
        for try in $(seq 40); do
                printf '%s' "$1" | nc -U -u -w 0 "$KW_RSYSLOG_SOCKET" >/dev/null 2>&1 && return 0
                sleep 0.05
        done
        kw_fail "could not send to $KW_RSYSLOG_SOCKET"
}

# kw_rsyslog_hup: make rsyslogd close its files (it reopens them on the next line).
kw_rsyslog_hup() {
        kill -HUP "$KW_RSYSLOG_PID"
}

# kw_rsyslog_stop: stop rsyslogd and let the next test have the kernel log.
kw_rsyslog_stop() {
        [[ -n $KW_RSYSLOG_PID ]] || return 0
        kill -TERM "$KW_RSYSLOG_PID"
        wait "$KW_RSYSLOG_PID" || true
        KW_RSYSLOG_PID=
        exec {KW_RSYSLOG_LOCK_FD}>&-
}
