#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-source-journal.sh — the journal source against a real systemd-journald started by
# hand in a private mount namespace, fed by real LOG lines from a knock between two
# network namespaces (slot 25). Covers: timing by the entry's monotonic stamp, six
# forgeries that must never be delivered, rotation/flush/vacuum, a journald restart,
# resume by cursor (and max age, and broken cursor files), a reader that lacks the group
# to read the system journal; then made-up entries written with systemd-journal-remote
# (slot 26's address, no packets) for the cases journald cannot be made to produce, and
# a reader left without inotify instances. source-dump prints what the source delivers.

. "${KW_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/test/lib-journal.sh" "$@"

kw_require_root
[[ -x $SOURCE_DUMP ]] || kw_fail "no source-dump at $SOURCE_DUMP (build first)"

kw_net_setup 25
cat >"$KW_TMP/rules.nft" <<EOF
table inet kwjournal {
        chain input {
                type filter hook input priority filter; policy accept;
                tcp flags & (syn | ack) == syn tcp dport { 3721, 4728, 6742 } log prefix "PORT_KNOCKING " drop
        }
}
EOF
kw_ruleset "$KW_TMP/rules.nft"
kw_journald_start

MARK="SRC=$CLI4 "       # our slot's knocks, and nobody else's

CLOCK_NOW=${CLOCK_NOW:-$KW_BUILDDIR/test/clock-now}
[[ -x $CLOCK_NOW ]] || kw_fail "no clock-now at $CLOCK_NOW (build first)"
mono_us() { "$CLOCK_NOW"; }

# dump_start NAME ARGS...: source-dump of the system journal, only our slot's lines.
DUMP_PID=
DUMP_OUT=
# dump_start NAME ARGS...: source-dump of the system journal, only our slot's lines.
dump_start() { kw_dump_start "$1" journal "$MARK" "${@:2}"; }

dump_stop() { kw_dump_stop; }

dump_count() { grep -c "^line .*${1:-}" "$DUMP_OUT" || true; }
dump_has_lines() { (($(dump_count "${2:-}") >= $1)); }
# dump_wait N [REGEX]: wait until N lines (matching REGEX) were delivered.
dump_wait() {
        kw_wait_until 10 dump_has_lines "$1" "${2:-}" || {
                cat "$DUMP_OUT" >&2
                kw_fail "expected $1 delivered line(s) ${2:+matching '$2'}, got $(dump_count "${2:-}")"
        }
}

# A knock SYN from the client; its LOG line names DPT=PORT.
knock() { kw_syn "$SRV4" "$1" "$CLI4"; }

# A perfectly formed LOG line for our client that no packet produced. The IP ID is this
# run's, so earlier runs' forgeries (the kmsg ring keeps them) are not mistaken for these.
FAKE_ID=$((1 + RANDOM))
fake_line() { kw_fake_line "$CLI4" "$1" "$FAKE_ID"; }

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# --- 1. a real knock, timed by journald's receipt stamp, not by when it was read -------
dump_start live
grep -q '^ready journal (from the tail)$' "$DUMP_OUT" || kw_fail "unexpected description: $(head -n 1 "$DUMP_OUT")"
t0=$(mono_us)
knock 3721
t1=$(mono_us)
dump_wait 1 "DPT=3721 "
read -r _ form t_entry t_read text < <(grep -m1 '^line ' "$DUMP_OUT")
((form == 0)) || kw_fail "journal lines must be LOGLINE_FORM_KERNEL (0), got $form"
# The packet's time: the kernel's stamp of its LOG record. That is the printk clock, not
# quite CLOCK_MONOTONIC (here it runs 1.4 ms ahead), hence 5 ms of slack below.
t_kernel=$(kw_journal_field "$text" _SOURCE_MONOTONIC_TIMESTAMP)
((t_kernel >= t0 - 5000 && t_kernel <= t1 + 5000)) || kw_fail "kernel stamp $t_kernel of the LOG line is not between $t0 and $t1"
((t_entry >= t_kernel - 5000 && t_entry - t_kernel <= 50000)) ||
        kw_fail "line time $t_entry is not within 50 ms after the packet ($t_kernel): off by $((t_entry - t_kernel)) µs"
((t_read >= t_entry)) || kw_fail "read time $t_read before the entry time $t_entry"
kw_pass "a real knock is delivered, timed $(((t_entry - t_kernel) / 1000)) ms after the packet, read $(((t_read - t_kernel) / 1000)) ms after it"

# --- 2. forgeries: each one reaches the journal, none is delivered ---------------------
dpt=5001
for how in "${KW_JOURNAL_FORGERIES[@]}"; do
        kw_journal_forge "$how" "$(fake_line $dpt)"
        dpt=$((dpt + 1))
done
for dpt in 5001 5002 5003 5004 5005 5006; do
        kw_journal_wait "TTL=64 ID=$FAKE_ID DF PROTO=TCP SPT=40000 DPT=$dpt "
done
# Each forgery defeats one of the two filters on its own, so both are needed.
declare -A want=([5001]="syslog 1" [5002]="syslog 1" [5003]="stdout -" [5004]="kernel 1" [5005]="syslog -" [5006]="journal 0")
for dpt in "${!want[@]}"; do
        got=$(kw_journal_entry "ID=$FAKE_ID DF PROTO=TCP SPT=40000 DPT=$dpt ")
        [[ $got == "${want[$dpt]}" ]] || kw_fail "forgery DPT=$dpt: journal has _TRANSPORT/SYSLOG_FACILITY '$got', expected '${want[$dpt]}'"
done
knock 4728
dump_wait 2
[[ $(dump_count) == 2 && $(dump_count "DPT=4728 ") == 1 ]] || { cat "$DUMP_OUT" >&2; kw_fail "expected the two real knocks only"; }
grep -q 'DPT=500[0-9] ' "$DUMP_OUT" && { cat "$DUMP_OUT" >&2; kw_fail "a forged line was delivered"; }
kw_pass "six forgeries (logger, logger -p kern, systemd-cat, /dev/kmsg, syslog and native datagrams) are in the journal but not delivered; the real knock after them is"

# --- 3. rotation, flush to /var, vacuum: reading goes on, without spinning -------------
n=2
knock_expect() {
        n=$((n + 1))
        knock "$1"
        dump_wait "$n"
        [[ $(grep '^line ' "$DUMP_OUT" | tail -n 1) == *"DPT=$1 "* ]] || kw_fail "line $n is not the knock on $1"
}
kw_journal_rotate
knock_expect 6742
kw_journal_flush
[[ -e /var/log/journal/$KW_MACHINE_ID/system.journal ]] || kw_fail "journalctl --flush did not move the journal to /var"
knock_expect 3721
kw_journal_rotate
kw_journal_rotate
archived=$(find /var/log/journal/"$KW_MACHINE_ID" -name 'system@*.journal' | wc -l)
kw_journal_vacuum 1
left=$(find /var/log/journal/"$KW_MACHINE_ID" -name 'system@*.journal' | wc -l)
((archived >= 2 && left < archived)) || kw_fail "vacuum did not delete archived files ($archived before, $left after)"
knock_expect 4728
c0=$(cpu_ticks "$DUMP_PID")
sleep 1
c1=$(cpu_ticks "$DUMP_PID")
# A spin costs ~100 ticks a second; other tests' LOG lines may cost a few.
((c1 - c0 <= 20)) || kw_fail "source-dump used $((c1 - c0)) ticks of CPU in an idle second after rotation and vacuum"
grep -q '^notice' "$DUMP_OUT" && kw_fail "unexpected notice: $(grep '^notice' "$DUMP_OUT")"
kw_pass "rotation, flush and vacuum mid-run: later knocks delivered, $((c1 - c0)) CPU ticks in an idle second"

# --- 4. journald stopped and started again mid-run --------------------------------------
kw_journald_stop
n=$((n + 1))
knock 6742              # while journald is down: it picks it up from /dev/kmsg on start
kw_journald_start
dump_wait "$n"
knock_expect 3721
c0=$(cpu_ticks "$DUMP_PID")
sleep 1
c1=$(cpu_ticks "$DUMP_PID")
((c1 - c0 <= 20)) || kw_fail "source-dump used $((c1 - c0)) ticks of CPU in an idle second after the journald restart"
dump_stop
[[ $(dump_count) == "$n" ]] || kw_fail "expected $n lines in all, got $(dump_count)"
kw_pass "journald restarted mid-run: the knock made while it was down and the one after are delivered"

# --- 5. resume by cursor ------------------------------------------------------------------
state=$KW_TMP/state
mkdir -p "$state"
dump_start resume1 --state-dir "$state"
grep -q '^ready journal (from the tail)$' "$DUMP_OUT" || kw_fail "unexpected description: $(head -n 1 "$DUMP_OUT")"
knock 3721
dump_wait 1
dump_stop
[[ -s $state/journal.cursor ]] || kw_fail "no cursor saved on SIGTERM"
before=$(kw_journal_count "$MARK")
knock 4728
knock 6742
kw_journal_wait_count $((before + 2)) "$MARK" || kw_fail "the two knocks never reached the journal"
dump_start resume2 --state-dir "$state"
grep -q '^ready journal (resumed from cursor)$' "$DUMP_OUT" || kw_fail "unexpected description: $(head -n 1 "$DUMP_OUT")"
dump_wait 2
sleep 0.3
[[ $(grep -c '^line ' "$DUMP_OUT") == 2 ]] || { cat "$DUMP_OUT" >&2; kw_fail "resume delivered $(dump_count) lines, expected exactly 2"; }
grep '^line ' "$DUMP_OUT" | head -n 1 | grep -q 'DPT=4728 ' || kw_fail "the first resumed line is not the knock on 4728"
grep '^line ' "$DUMP_OUT" | tail -n 1 | grep -q 'DPT=6742 ' || kw_fail "the second resumed line is not the knock on 6742"
dump_stop
kw_pass "restart from the saved cursor delivers exactly the two knocks made while stopped"

# Knocks older than max_age are passed over on resume; a fresh one is delivered.
before=$(kw_journal_count "$MARK")
t_old=$(mono_us)
knock 3721
kw_journal_wait_count $((before + 1)) "$MARK" || kw_fail "the knock never reached the journal"
while (($(mono_us) - t_old < 2000000)); do sleep 0.1; done
dump_start maxage --state-dir "$state" --max-age-ms 1500
grep -q '^ready journal (resumed from cursor)$' "$DUMP_OUT" || kw_fail "unexpected description: $(head -n 1 "$DUMP_OUT")"
knock 4728
dump_wait 1
sleep 0.3
[[ $(dump_count) == 1 && $(dump_count "DPT=4728 ") == 1 ]] || { cat "$DUMP_OUT" >&2; kw_fail "max age: expected only the fresh knock"; }
dump_stop
kw_pass "on resume, a knock older than max_age is not delivered, a fresh one is"

# A broken cursor file means the tail, not a crash and not a replay.
for bogus in garbage long; do
        case $bogus in
        garbage) printf 'this is not a cursor\n' >"$state/journal.cursor" ;;
        long) head -c 6000 /dev/zero | tr '\0' 's' >"$state/journal.cursor" ;;
        esac
        before=$(kw_journal_count "$MARK")
        knock 6742      # before the start: must not be delivered
        kw_journal_wait_count $((before + 1)) "$MARK" || kw_fail "knock never reached the journal"
        dump_start "bogus-$bogus" --state-dir "$state"
        grep -q '^ready journal (from the tail: saved cursor unusable: ' "$DUMP_OUT" ||
                kw_fail "broken cursor ($bogus): unexpected description: $(head -n 1 "$DUMP_OUT")"
        knock 3721
        dump_wait 1
        sleep 0.3
        [[ $(dump_count) == 1 && $(dump_count "DPT=3721 ") == 1 ]] || { cat "$DUMP_OUT" >&2; kw_fail "broken cursor ($bogus): expected only the new knock"; }
        dump_stop
        grep -q '^s=' "$state/journal.cursor" || kw_fail "broken cursor ($bogus) was not replaced by a real one"
done
kw_pass "a broken cursor file (garbage, too long) starts at the tail and is replaced"

# --- 6. a reader without the group sees nothing: it is told, and which group to join ---
if getent passwd nobody >/dev/null && getent group systemd-journal >/dev/null; then
        err=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$SOURCE_DUMP" journal 2>&1) &&
                kw_fail "source-dump without group systemd-journal started: $err"
        [[ $err == *"Permission denied"*"group systemd-journal"* ]] || kw_fail "unhelpful error without the group: $err"
        setpriv --reuid=nobody --regid=nogroup --groups=systemd-journal "$SOURCE_DUMP" journal --grep "$MARK" \
                >"$KW_TMP/dump-group.out" 2>&1 &
        DUMP_PID=$!
        DUMP_OUT=$KW_TMP/dump-group.out
        KW_PIDS+=("$DUMP_PID")
        kw_wait_until 10 grep -q '^ready ' "$DUMP_OUT" || kw_fail "source-dump in group systemd-journal: $(cat "$DUMP_OUT")"
        knock 4728
        dump_wait 1 "DPT=4728 "
        dump_stop
        kw_pass "without group systemd-journal: '$err'; with it, knocks are delivered"

        # "auto" for such a user (no CAP_SYSLOG, so no /dev/kmsg where dmesg_restrict=1):
        # the journal, and the description says why.
        if [[ $(cat /proc/sys/kernel/dmesg_restrict) == 1 ]]; then
                auto_out=$(timeout -s INT 2 setpriv --reuid=nobody --regid=nogroup --groups=systemd-journal \
                        "$SOURCE_DUMP" auto --grep "$MARK" 2>&1 | head -n 1 || true)
                [[ $auto_out == "ready journal (from the tail); chosen as /dev/kmsg cannot be read"* ]] ||
                        kw_fail "auto without CAP_SYSLOG: $auto_out"
                kw_pass "auto without CAP_SYSLOG, in group systemd-journal: '$auto_out'"
        fi
fi

# --- 7. made-up entries (systemd-journal-remote into a directory): what is delivered ----
# Trusted fields can be set this way, so each entry differs from a deliverable one in one
# thing only. Appended while source-dump follows the directory from its tail.
REMOTE=/lib/systemd/systemd-journal-remote
[[ -x $REMOTE ]] || kw_fail "no $REMOTE (apt-get install systemd-journal-remote)"
jdir=$KW_TMP/remote
mkdir -p "$jdir"
boot=$(tr -d '-' </proc/sys/kernel/random/boot_id)
now=$(mono_us)
MARK2="SRC=192.0.2.210 "        # slot 26: no packets, only these entries
msg() {
        printf 'PORT_KNOCKING IN=eth0 OUT= MAC=02:00:00:00:00:01:02:00:00:00:00:02:08:00 %sDST=192.0.2.209 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=%s WINDOW=64240 RES=0x00 SYN URGP=0 ' \
                "$MARK2" "$1"
}
# entry DPT [FIELD=VALUE | -FIELD ...]: an export-format entry of this boot, kernel
# transport, facility 0, with msg DPT, changed as given.
entry() {
        local dpt=$1
        shift
        declare -A f=([__REALTIME_TIMESTAMP]=$(($(date +%s%N) / 1000)) [__MONOTONIC_TIMESTAMP]=$((now - 1000000 + dpt))
                      [_BOOT_ID]=$boot [_TRANSPORT]=kernel [SYSLOG_FACILITY]=0 [SYSLOG_IDENTIFIER]=kernel
                      [PRIORITY]=4 [MESSAGE]=$(msg "$dpt"))
        local kv
        for kv in "$@"; do
                if [[ $kv == -* ]]; then unset "f[${kv#-}]"; else f[${kv%%=*}]=${kv#*=}; fi
        done
        for kv in "${!f[@]}"; do printf '%s=%s\n' "$kv" "${f[$kv]}"; done
        printf '\n'
}
entry 1000 "MESSAGE=knockwatch test: first entry" | "$REMOTE" --split-mode=none -o "$jdir/t.journal" - 2>/dev/null
cursor=$(journalctl -D "$jdir" -o export -n 1 | sed -n 's/^__CURSOR=//p')
[[ -n $cursor ]] || kw_fail "no cursor for the first made-up entry"

DUMP_OUT=$KW_TMP/dump-remote.out
"$SOURCE_DUMP" journal --journal-dir "$jdir" --grep "$MARK2" >"$DUMP_OUT" 2>&1 &
DUMP_PID=$!
KW_PIDS+=("$DUMP_PID")
kw_wait_until 10 grep -q '^ready ' "$DUMP_OUT" || kw_fail "source-dump --journal-dir: $(cat "$DUMP_OUT")"
grep -q "^ready journal $jdir (from the tail)\$" "$DUMP_OUT" || kw_fail "unexpected description: $(head -n 1 "$DUMP_OUT")"
long=$(printf 'X%.0s' $(seq 1800))
{
        entry 1001
        entry 1002 "_BOOT_ID=0123456789abcdef0123456789abcdef"
        entry 1003 "MESSAGE= $(msg 1003)"
        entry 1004 "MESSAGE=$(msg 1004)$long"
        entry 1005 "_TRANSPORT=syslog"
        entry 1006 "SYSLOG_FACILITY=1"
        entry 1007 -SYSLOG_FACILITY
        entry 1008 "__MONOTONIC_TIMESTAMP=$((now + 3600000000))"
        entry 1009 "__MONOTONIC_TIMESTAMP=$((now - 100000000))"
        entry 1010
} | "$REMOTE" --split-mode=none -o "$jdir/t.journal" - 2>/dev/null
dump_wait 1 "DPT=1010 "
dump_stop
got=$(grep '^line ' "$DUMP_OUT" | grep -o 'DPT=10[0-9][0-9]' | tr '\n' ' ')
[[ $got == "DPT=1001 DPT=1004 DPT=1009 DPT=1010 " ]] || { cat "$DUMP_OUT" >&2; kw_fail "made-up entries: delivered $got"; }
read -r _ _ t_a _ < <(grep -m1 'DPT=1001 ' "$DUMP_OUT")
((t_a == now - 1000000 + 1001)) || kw_fail "line time $t_a is not the entry's monotonic time $((now - 1000000 + 1001))"
len=$(grep 'DPT=1004 ' "$DUMP_OUT" | cut -d' ' -f5- | tr -d '\n' | wc -c)
((len == 1281)) || kw_fail "an over-long MESSAGE must be cut to LOGLINE_LINE_MAX + 1 = 1281 bytes, got $len"
kw_pass "made-up entries: other boot, prefix not at 0, syslog transport, facility 1 or none, future time: none delivered; over-long cut to 1281 bytes"

# Resumed from the first entry's cursor with a max age of 50 s: the 100 s old one is not.
mkdir -p "$KW_TMP/state2"
printf '%s\n' "$cursor" >"$KW_TMP/state2/journal.cursor"
DUMP_OUT=$KW_TMP/dump-remote2.out
"$SOURCE_DUMP" journal --journal-dir "$jdir" --grep "$MARK2" --state-dir "$KW_TMP/state2" --max-age-ms 50000 >"$DUMP_OUT" 2>&1 &
DUMP_PID=$!
KW_PIDS+=("$DUMP_PID")
dump_wait 1 "DPT=1010 "
dump_stop
grep -q '^ready journal .* (resumed from cursor)$' "$DUMP_OUT" || kw_fail "unexpected description: $(head -n 1 "$DUMP_OUT")"
got=$(grep '^line ' "$DUMP_OUT" | grep -o 'DPT=10[0-9][0-9]' | tr '\n' ' ')
[[ $got == "DPT=1001 DPT=1004 DPT=1010 " ]] || { cat "$DUMP_OUT" >&2; kw_fail "resume with max age: delivered $got"; }
kw_pass "resumed from a cursor with max age 50 s: the entry 100 s old is passed over"

# --- 8. no inotify instance left: a clear error, not a source that never wakes up -------
# The limit is per user namespace (/proc/sys/user), so this touches nothing outside.
err=$(unshare -Ur sh -c 'echo 0 >/proc/sys/user/max_inotify_instances && exec "$1" journal --journal-dir "$2"' \
        sh "$SOURCE_DUMP" "$jdir" 2>&1) && kw_fail "source-dump started without an inotify instance: $err"
[[ $err == *"cannot watch $jdir for changes: no inotify instance"*"fs.inotify.max_user_instances"* ]] ||
        kw_fail "unhelpful error without inotify instances: $err"
kw_pass "no inotify instance left: '$err'"
