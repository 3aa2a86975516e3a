#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-source-file.sh — the file source following a real rsyslogd's kern.log (address
# slot 6), then hand-written files for what rsyslog does not do on demand.
#
# With rsyslogd (imklog, Debian's RFC 3339 format; test/lib-rsyslog.sh):
#   - the captured line has the form of TECH-NOTES section 5, and a real knock is
#     delivered as LOGLINE_FORM_SYSLOG (2) with exactly the text of the file's line;
#   - a line sent to the syslog socket with another tag than "kernel:" IS delivered:
#     the source does not judge tags, the parser rejects it (-EPERM); the same goes for a
#     forged "kernel:" line, which is why the daemon warns that a file proves nothing;
#   - rename rotation in logrotate's way (mv, create, the writer still appending to the
#     old file until its HUP) and plain (mv, HUP, the writer creates the file), and
#     copytruncate: every knock made before, between and after is delivered once.
# With hand-written files: a partial line is delivered once, whole; the rest of a line
# that was partial when the source started is not delivered; a file missing at start is
# waited for and read from its start; a large append is read whole (in bounded steps);
# unsafe files and directories are refused at open with the path, the mode and the fix,
# and a rotation onto an unsafe file stops the source.

. "$KW_SRCDIR/test/lib.sh"
. "$KW_SRCDIR/test/lib-rsyslog.sh"
kw_require_root

CLOCK_NOW=$KW_BUILDDIR/test/clock-now
[[ -x $SOURCE_DUMP && -x $CLOCK_NOW ]] || kw_fail "build source-dump and clock-now first"

kw_net_setup 6
# This run's ports. imklog may still write older kernel lines (earlier runs' knocks from
# the same address) after it started; they carry other ports and are not counted.
P0=$((20000 + RANDOM % 20000))
cat >"$KW_TMP/rules.nft" <<EOF
table inet kwsrc {
        chain input {
                type filter hook input priority filter; policy accept;
                tcp flags & (syn | ack) == syn tcp dport $P0-$((P0 + 29)) log prefix "PORT_KNOCKING " drop
        }
}
EOF
kw_ruleset "$KW_TMP/rules.nft"

LOGDIR=$KW_TMP/log
mkdir -m 0755 "$LOGDIR"
LOG=$LOGDIR/kern.log

# dump_start NAME FILE: source-dump following FILE (this slot's lines only), until ready.
dump_start() { kw_dump_start "$1" "file:$2" "SRC=$CLI4 "; }

dump_stop() { kw_dump_stop; }

dump_gone() { ! kill -0 "$DUMP_PID" 2>/dev/null; }
# dump_exited STATUS: source-dump must end by itself (a fatal notice) with STATUS.
dump_exited() {
        local rc=0
        kw_wait_until 5 dump_gone || kw_fail "source-dump did not exit"
        wait "$DUMP_PID" || rc=$?
        ((rc == $1)) || kw_fail "source-dump exited with $rc, expected $1: $(cat "$DUMP_ERR")"
}

# The delivered knocks of this run, as port numbers relative to P0: "0 1 2".
ports() {
        local p
        sed -n 's/^line .* DPT=\([0-9]*\) .*/\1/p' "$DUMP_OUT" | while read -r p; do
                ((p >= P0 && p < P0 + 30)) && printf '%s\n' $((p - P0))
        done | tr '\n' ' ' | sed 's/ $//'
}
wait_port() {
        local where
        kw_wait_until 5 grep -q "^line .* DPT=$((P0 + $1)) " "$DUMP_OUT" && return 0
        # Tell a line the source missed from one rsyslog never wrote (another reader of
        # /proc/kmsg on the machine would take lines away).
        where=$(grep -als "DPT=$((P0 + $1)) " "$LOGDIR"/* "$KW_TMP"/open/* 2>/dev/null | tr '\n' ' ')
        kw_fail "no line for knock $1 (DPT=$((P0 + $1))) delivered; got: $(ports); the line is in: ${where:-no file}"
}
knock() { kw_syn "$SRV4" $((P0 + $1)) "$CLI4"; }
# in_file FILE N: the file holds the kernel line of knock N.
in_file() { grep -aq "SRC=$CLI4 .*DPT=$((P0 + $2)) " "$1"; }
text_of() { grep -m 1 "^line .* DPT=$((P0 + $1)) " "$DUMP_OUT" | cut -d ' ' -f 5-; }

# A kernel LOG line's message for hand-written lines and forgeries.
msg() {
        printf 'PORT_KNOCKING IN=kw0 OUT= MAC=02:00:00:00:00:01:02:00:00:00:00:02:08:00 SRC=%s DST=%s LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=%d WINDOW=64240 RES=0x00 SYN URGP=0 ' \
                "$CLI4" "$SRV4" $((P0 + $1))
}
stamp() { date +%Y-%m-%dT%H:%M:%S.%6N%:z; }

kw_rsyslog_start "$LOG"
[[ $(stat -c '%U:%G %a' "$LOG") == "root:adm 640" ]] || kw_fail "rsyslog made $LOG $(stat -c '%U:%G %a' "$LOG")"

# --- a real knock through imklog --------------------------------------------------------
dump_start follow "$LOG"
grep -qx "ready file $LOG" "$DUMP_OUT" || kw_fail "unexpected description: $(grep '^ready' "$DUMP_OUT")"
grep -q "^notice 0 0 $LOG is a text file, which cannot prove that a line came from the kernel" "$DUMP_OUT" ||
        kw_fail "no warning that a text file proves nothing: $(cat "$DUMP_OUT")"
t0=$("$CLOCK_NOW")
knock 0
wait_port 0
t1=$("$CLOCK_NOW")
file_line=$(grep -a "SRC=$CLI4 .*DPT=$P0 " "$LOG")
[[ $(printf '%s\n' "$file_line" | wc -l) == 1 ]] || kw_fail "knock 0 is in $LOG $(printf '%s\n' "$file_line" | wc -l) times"
# TECH-NOTES section 5: RFC 3339 time, host, "kernel:", the kernel's "[ secs.usecs]" stamp.
host=$(hostname)
re="^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}[+-][0-9]{2}:[0-9]{2} ${host//./\\.} kernel: \[ *[0-9]+\.[0-9]{6}\] PORT_KNOCKING IN=kw0 OUT= MAC=[0-9a-f:]+ SRC=${CLI4//./\\.} DST=${SRV4//./\\.} .* PROTO=TCP SPT=[0-9]+ DPT=$P0 .* SYN URGP=0 $"
[[ $file_line =~ $re ]] || kw_fail "rsyslog's line is not of the documented form: '$file_line'"
read -r _ form t_ev t_read _ < <(grep -m 1 "^line .* DPT=$P0 " "$DUMP_OUT")
[[ $form == 2 ]] || kw_fail "form $form, expected 2 (SYSLOG)"
[[ $(text_of 0) == "$file_line" ]] || kw_fail "delivered '$(text_of 0)', the file has '$file_line'"
((t_ev == t_read && t0 <= t_ev && t_ev <= t1)) || kw_fail "time $t_ev / read $t_read not within [$t0, $t1]"
kw_pass "real knock delivered in syslog form with the file's exact text, read $((t_ev - t0)) µs after t0"

# --- lines from the syslog socket: delivered; judging the tag is the parser's job -----------
kw_syslog_send "<4>notkernel: $(msg 1)"
wait_port 1
[[ $(text_of 1) =~ ^[0-9T:.+-]+\ [^\ ]+\ notkernel:\ PORT_KNOCKING\ IN=kw0 ]] || kw_fail "forged line delivered as '$(text_of 1)'"
kw_syslog_send "<4>kernel: $(msg 2)"
wait_port 2
[[ $(text_of 2) =~ ^[0-9T:.+-]+\ [^\ ]+\ kernel:\ PORT_KNOCKING\ IN=kw0 ]] || kw_fail "forged line delivered as '$(text_of 2)'"
kw_pass "socket lines (tag notkernel:, and a forged kernel: without the [secs] stamp) reach the parser unfiltered"

# --- rename rotation, logrotate's way: mv, create, the writer keeps the old file until HUP ----
mv "$LOG" "$LOG.1"
install -m 0640 -o root -g adm /dev/null "$LOG"
knock 3
wait_port 3
in_file "$LOG.1" 3 || kw_fail "knock 3 should have gone to the old file (rsyslog not HUP'ed yet)"
kw_rsyslog_hup
knock 4
wait_port 4
in_file "$LOG" 4 || kw_fail "knock 4 should be in the new file after the HUP"
kw_pass "rotation with create: the old file drained, then the new one followed"

# --- plain rename rotation: mv, HUP, rsyslog creates the file at its next line --------------
knock 5
wait_port 5
mv "$LOG" "$LOG.2"
knock 6
wait_port 6
kw_rsyslog_hup
knock 7
wait_port 7
in_file "$LOG.2" 6 || kw_fail "knock 6 should be in the renamed file (rsyslog not HUP'ed yet)"
in_file "$LOG" 7 || kw_fail "knock 7 should be in the file rsyslog created after the HUP"
kw_pass "rotation by rename: knocks before, during and after delivered"

# --- copytruncate -------------------------------------------------------------------------
knock 8
wait_port 8
cp "$LOG" "$LOG.3"
truncate -s 0 "$LOG"
knock 9
wait_port 9
grep -q "^notice 0 0 $LOG was truncated (copytruncate?): reading it again from the start" "$DUMP_OUT" ||
        kw_fail "no notice about the truncation"
[[ $(ports) == "0 1 2 3 4 5 6 7 8 9" ]] || kw_fail "delivered knocks: $(ports), expected each of 0…9 once"
dump_stop
kw_rsyslog_stop
kw_pass "copytruncate: later lines delivered; over all, each knock exactly once"

# --- a partial line is delivered once, whole ---------------------------------------------
HAND=$LOGDIR/hand.log
# This file ends inside a line: its rest, appended later, is not a line of its own.
printf '%s %s kernel: [ 1.000000] unfinished' "$(stamp)" "$host" >"$HAND"
chmod 0640 "$HAND"
dump_start partial "$HAND"
printf ' %s\n' "$(msg 10)" >>"$HAND"
line="$(stamp) $host kernel: [  685.536010] $(msg 11)"
printf '%s' "${line:0:60}" >>"$HAND"
sleep 0.3
printf '%s' "${line:60:50}" >>"$HAND"
sleep 0.3
[[ -z $(ports) ]] || kw_fail "delivered before the line was complete: $(ports)"
printf '%s\n' "${line:110}" >>"$HAND"
wait_port 11
[[ $(text_of 11) == "$line" ]] || kw_fail "partial line delivered as '$(text_of 11)', written '$line'"
[[ $(ports) == "11" ]] || kw_fail "delivered $(ports), expected only 11 (10 is the tail of a line from before the start)"
kw_pass "a line written in three parts is delivered once, whole; a line begun before the start is not"

# --- rotation onto an unsafe file stops the source --------------------------------------------
mv "$HAND" "$HAND.1"
install -m 0666 /dev/null "$HAND"
printf '%s %s kernel: %s\n' "$(stamp)" "$host" "$(msg 12)" >>"$HAND"
kw_wait_until 5 grep -q "^notice -[0-9]* 1 refusing $HAND: mode 0666 lets group or others write it" "$DUMP_OUT" ||
        kw_fail "no fatal notice for the unsafe new file: $(cat "$DUMP_OUT")"
grep -q "chmod go-w $HAND" "$DUMP_OUT" || kw_fail "the notice does not give the fix"
dump_exited 1
[[ $(ports) == "11" ]] || kw_fail "a line of the unsafe file was delivered: $(ports)"
kw_pass "a rotation onto a group/other-writable file is refused"

# --- a file missing at start is waited for and read from its start ------------------------------
LATER=$LOGDIR/later.log
dump_start later "$LATER"
grep -q "^notice 0 0 $LATER does not exist yet; waiting for it to appear" "$DUMP_OUT" ||
        kw_fail "no notice about the missing file: $(cat "$DUMP_OUT")"
printf '%s %s kernel: %s\n' "$(stamp)" "$host" "$(msg 13)" >"$LOGDIR/.later.tmp"
chmod 0640 "$LOGDIR/.later.tmp"
mv "$LOGDIR/.later.tmp" "$LATER"
wait_port 13
kw_pass "a missing file is waited for, then read from its start"

# --- a large append (about 4 MiB at once) is read whole, a bounded amount per loop turn ---------
awk -v l="$(stamp) $host kernel: [  685.536010] $(msg 14)" 'BEGIN { for (i = 0; i < 20000; i++) print l }' >>"$LATER"
count_port() { grep -c "^line .* DPT=$((P0 + $1)) " "$DUMP_OUT" || true; }
all_delivered() { (($(count_port 14) == 20000)); }
kw_wait_until 20 all_delivered || kw_fail "of 20000 appended lines $(count_port 14) delivered"
dump_stop
kw_pass "a 4 MiB append delivered whole (20000 lines)"

# --- the directory moved away stops the source (files under the name would not be seen) -------
mkdir -m 0755 "$KW_TMP/gone"
install -m 0640 /dev/null "$KW_TMP/gone/kern.log"
dump_start gone "$KW_TMP/gone/kern.log"
mv "$KW_TMP/gone" "$KW_TMP/gone.old"
kw_wait_until 5 grep -q "^notice -[0-9]* 1 the directory $KW_TMP/gone of $KW_TMP/gone/kern.log was removed or moved" "$DUMP_OUT" ||
        kw_fail "no fatal notice when the directory was moved: $(cat "$DUMP_OUT")"
dump_exited 1
kw_pass "moving the directory away stops the source with a fatal notice"

# --- unsafe files and directories are refused at open ------------------------------------------
refused() { # refused PATH REGEX: opening PATH fails with exit 1 and a message matching REGEX
        local rc=0
        "$SOURCE_DUMP" "file:$1" >"$KW_TMP/refused.out" 2>"$KW_TMP/refused.err" || rc=$?
        ((rc == 1)) || kw_fail "file:$1: source-dump exited $rc, expected 1"
        grep -qE "$2" "$KW_TMP/refused.err" || kw_fail "file:$1: unexpected error: $(cat "$KW_TMP/refused.err")"
}
BAD=$LOGDIR/bad.log
install -m 0664 /dev/null "$BAD"
refused "$BAD" "refusing $BAD: mode 0664 lets group or others write it.*\(fix: chmod go-w $BAD\)"
chmod 0602 "$BAD"
refused "$BAD" "refusing $BAD: mode 0602"
mkdir -m 0777 "$KW_TMP/open"
install -m 0640 /dev/null "$KW_TMP/open/kern.log"
chmod 0777 "$KW_TMP/open" # not subject to the umask
refused "$KW_TMP/open/kern.log" "its directory $KW_TMP/open \(mode 0777\) lets group or others replace it \(fix: chmod go-w $KW_TMP/open\)"
chmod 1777 "$KW_TMP/open"
install -m 0640 -o nobody /dev/null "$KW_TMP/open/user.log"
refused "$KW_TMP/open/user.log" "refusing $KW_TMP/open/user.log: owned by uid [0-9]+"
mkfifo -m 0600 "$LOGDIR/fifo"
refused "$LOGDIR/fifo" "refusing $LOGDIR/fifo: not a regular file"
refused "$KW_TMP/nodir/kern.log" "cannot follow $KW_TMP/nodir/kern.log: directory $KW_TMP/nodir: No such file or directory"
kw_pass "unsafe files and directories refused at open, naming the path, the mode and the fix"
