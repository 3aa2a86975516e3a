#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-source-kmsg.sh — the kmsg source on the real kernel log (address slot 4).
# A SYN from the client namespace hits a `log prefix "PORT_KNOCKING "` rule in the
# server namespace; source-dump (the kmsg source alone) must deliver that record, in
# kernel form, timed on CLOCK_MONOTONIC between the moments before and after the SYN
# was sent. Lines written to /dev/kmsg from userspace must not be delivered. A restart
# with a state directory resumes exactly after the last record handled; a position
# from another boot, or an unreadable one, starts at the tail; knocks older than
# --max-age are not replayed. Without CAP_SYSLOG the open fails with a message that
# names /dev/kmsg and the capability.
#
# Every assertion is on lines carrying this slot's client address: other tests write
# to the same kernel log at the same time.

. "$KW_SRCDIR/test/lib.sh"
kw_require_root

CLOCK_NOW=$KW_BUILDDIR/test/clock-now
[[ -x $SOURCE_DUMP && -x $CLOCK_NOW ]] || kw_fail "build source-dump and clock-now first"

kw_net_setup 4
cat >"$KW_TMP/rules.nft" <<'EOF'
table inet kwsrc {
        chain input {
                type filter hook input priority filter; policy accept;
                tcp flags & (syn | ack) == syn tcp dport 7000-7029 log prefix "PORT_KNOCKING " drop
        }
}
EOF
kw_ruleset "$KW_TMP/rules.nft"
STATE=$KW_TMP/state
BOOT_ID=$(cat /proc/sys/kernel/random/boot_id)

# dump_start NAME ARGS...: source-dump kmsg for this slot's client, until "ready".
dump_start() { kw_dump_start "$1" kmsg "SRC=$CLI4 " "${@:2}"; }

dump_stop() { kw_dump_stop; }

# The delivered lines, as the destination ports in order: "7006 7007 7008".
ports() {
        sed -n 's/^line .* DPT=\([0-9]*\) .*/\1/p' "$DUMP_OUT" | tr '\n' ' ' | sed 's/ $//'
}
wait_port() {
        kw_wait_until 5 grep -q "^line .* DPT=$1 " "$DUMP_OUT" ||
                kw_fail "no line for DPT=$1 delivered; got: $(cat "$DUMP_OUT")"
}
syn() { kw_syn "$SRV4" "$1" "$CLI4"; }

# --- a real knock: kernel form, exact text, timed on CLOCK_MONOTONIC ---------------------
dump_start live
grep -qx "ready kmsg (/dev/kmsg, from the tail)" "$DUMP_OUT" ||
        kw_fail "unexpected description: $(head -n 1 "$DUMP_OUT")"
t0=$("$CLOCK_NOW")
syn 7000
t1=$("$CLOCK_NOW")
wait_port 7000
read -r _ form t_ev t_read _ < <(grep -m 1 "^line .* DPT=7000 " "$DUMP_OUT")
[[ $form == 0 ]] || kw_fail "form $form, expected 0 (KERNEL)"
line=$(grep -m 1 "^line .* DPT=7000 " "$DUMP_OUT" | cut -d ' ' -f 5-)
[[ $line =~ ^PORT_KNOCKING\ IN=kw0\ OUT=\ MAC=[0-9a-f:]+\ SRC=$CLI4\ DST=$SRV4\ .*\ PROTO=TCP\ SPT=[0-9]+\ DPT=7000\ .*\ SYN\ URGP=0\ $ ]] ||
        kw_fail "unexpected text: '$line'"
# The record is made after t0 (the SYN had not been sent) and before t1 (netprobe had
# returned); mapped on CLOCK_MONOTONIC it must land in between, and not after its read.
((t0 <= t_ev && t_ev <= t1)) ||
        kw_fail "time $t_ev not within [$t0, $t1] (CLOCK_MONOTONIC around the SYN)"
((t_ev <= t_read)) || kw_fail "time $t_ev after read time $t_read"
# Generous: "a few ms" normally; only a clock mix-up (realtime, raw printk) is seconds off.
((t_read - t_ev < 1000000)) || kw_fail "read $((t_read - t_ev)) µs after the event"
kw_pass "real knock delivered in kernel form: sent within [t0, t0+$((t1 - t0)) µs], time at t0+$((t_ev - t0)) µs, read $((t_read - t_ev)) µs later"

# --- userspace writes to /dev/kmsg are not the kernel's --------------------------------
forged="IN=kw0 OUT= MAC=00:00:00:00:00:00:00:00:00:00:00:00:08:00 SRC=$CLI4 DST=$SRV4 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000"
echo "<4>PORT_KNOCKING $forged DPT=7001 WINDOW=64240 RES=0x00 SYN URGP=0 " >/dev/kmsg
echo "<0>PORT_KNOCKING $forged DPT=7002 WINDOW=64240 RES=0x00 SYN URGP=0 " >/dev/kmsg
echo "PORT_KNOCKING $forged DPT=7003 WINDOW=64240 RES=0x00 SYN URGP=0 " >/dev/kmsg
syn 7004 # a real one after them: once it is delivered, the forged ones were read
wait_port 7004
# They are in the kernel log (so the test could fail), each under a userspace facility
# (PRI >> 3 != 0): 12 for "<4>" and for no priority, 8 for "<0>". (dmesg -r does not
# print the record's own priority, so read /dev/kmsg itself.)
kmsg_all() { dd if=/dev/kmsg iflag=nonblock bs=8k 2>/dev/null || true; }
for want in 7001:12 7002:8 7003:12; do
        pri=$(kmsg_all | grep -a "SRC=$CLI4 .*DPT=${want%:*} " | cut -d , -f 1 | tail -n 1)
        [[ $pri == "${want#*:}" ]] || kw_fail "forged line DPT=${want%:*}: priority '${pri}' in /dev/kmsg, expected ${want#*:}"
done
[[ $(ports) == "7000 7004" ]] || kw_fail "delivered: $(ports), expected 7000 7004"
dump_stop
kw_pass "lines written to /dev/kmsg (<4>, <0>, no priority) not delivered"

# --- resume after a restart -----------------------------------------------------------
dump_start resume1 --state-dir "$STATE"
syn 7005
wait_port 7005
dump_stop
[[ -f $STATE/kmsg.position ]] || kw_fail "no position saved in $STATE"
grep -qx "boot_id=$BOOT_ID" "$STATE/kmsg.position" || kw_fail "position without this boot's id: $(cat "$STATE/kmsg.position")"
saved_seq=$(sed -n 's/^seq=//p' "$STATE/kmsg.position")
[[ $(stat -c %a "$STATE") == 700 ]] || kw_fail "state directory mode $(stat -c %a "$STATE")"
t0=$("$CLOCK_NOW")
syn 7006
syn 7007
t1=$("$CLOCK_NOW")
dump_start resume2 --state-dir "$STATE"
grep -qx "ready kmsg (/dev/kmsg, resumed after seq $saved_seq)" "$DUMP_OUT" ||
        kw_fail "unexpected description: $(head -n 1 "$DUMP_OUT") (saved seq $saved_seq)"
syn 7008
wait_port 7008
[[ $(ports) == "7006 7007 7008" ]] || kw_fail "after the restart delivered: $(ports), expected 7006 7007 7008"
# The backlog is timed with the saved offset: still on CLOCK_MONOTONIC.
while read -r _ form t_ev t_read _; do
        [[ $form == 0 ]] || kw_fail "resumed line in form $form"
        ((t0 <= t_ev && t_ev <= t1 && t_ev <= t_read)) ||
                kw_fail "resumed line time $t_ev not within [$t0, $t1] (read at $t_read)"
done < <(grep "^line .* DPT=700[67] " "$DUMP_OUT")
dump_stop
kw_pass "restart resumed after seq $saved_seq: exactly the two knocks made meanwhile, correctly timed"

# --- knocks older than max-age are not replayed ----------------------------------------
syn 7010
sleep 1.5
syn 7011
dump_start maxage --state-dir "$STATE" --max-age-ms 1000
syn 7012
wait_port 7012
[[ $(ports) == "7011 7012" ]] || kw_fail "with --max-age-ms 1000 delivered: $(ports), expected 7011 7012"
grep -q '^notice 0 0 resumed: [0-9]* knock records older than 1000 ms not delivered' "$DUMP_OUT" ||
        kw_fail "no notice about the stale knocks: $(cat "$DUMP_OUT")"
dump_stop
kw_pass "a knock older than max-age not replayed, a younger one delivered"

# --- a position from another boot, or a malformed one: from the tail ---------------------
syn 7013
printf 'boot_id=00000000-0000-4000-8000-000000000000\nseq=1\noffset=0\n' >"$STATE/kmsg.position"
dump_start otherboot --state-dir "$STATE"
grep -qx "ready kmsg (/dev/kmsg, from the tail)" "$DUMP_OUT" ||
        kw_fail "other boot: unexpected description: $(head -n 1 "$DUMP_OUT")"
syn 7014
wait_port 7014
[[ $(ports) == "7014" ]] || kw_fail "other boot id: delivered $(ports), expected only 7014"
dump_stop
grep -qx "boot_id=$BOOT_ID" "$STATE/kmsg.position" || kw_fail "position not rewritten for this boot"
kw_pass "a position from another boot starts at the tail (and is replaced)"

printf 'boot_id=%s\nseq=garbage\n' "$BOOT_ID" >"$STATE/kmsg.position"
syn 7015
dump_start malformed --state-dir "$STATE"
grep -qx "ready kmsg (/dev/kmsg, from the tail)" "$DUMP_OUT" ||
        kw_fail "malformed position: unexpected description: $(head -n 1 "$DUMP_OUT")"
grep -q "^notice 0 0 ignoring the malformed position in $STATE/kmsg.position" "$DUMP_OUT" ||
        kw_fail "no notice about the malformed position: $(cat "$DUMP_OUT")"
syn 7016
wait_port 7016
[[ $(ports) == "7016" ]] || kw_fail "malformed position: delivered $(ports), expected only 7016"
dump_stop
kw_pass "a malformed position is reported and ignored"

# --- without CAP_SYSLOG (kernel.dmesg_restrict=1) --------------------------------------
if [[ $(cat /proc/sys/kernel/dmesg_restrict) == 1 ]]; then
        rc=0
        setpriv --bounding-set -syslog --inh-caps -syslog "$SOURCE_DUMP" kmsg \
                >"$KW_TMP/nocap.out" 2>"$KW_TMP/nocap.err" || rc=$?
        ((rc == 1)) || kw_fail "without CAP_SYSLOG source-dump exited $rc, expected 1"
        grep -q "cannot open /dev/kmsg: Operation not permitted: .*CAP_SYSLOG (kernel.dmesg_restrict=1)" "$KW_TMP/nocap.err" ||
                kw_fail "unexpected error without CAP_SYSLOG: $(cat "$KW_TMP/nocap.err")"
        kw_pass "without CAP_SYSLOG: $(cat "$KW_TMP/nocap.err")"
else
        echo "# kernel.dmesg_restrict=0: the missing-capability case is not testable here"
fi
