#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-flood.sh — issue 10's flood benchmark: knockwatch on kmsg under a spoofed-SYN flood
# while a real client knocks, on the real kernel. Three namespaces: the server (the door's
# ruleset and knockwatch), the client (knocks with knockwatch's own client every
# BENCH_FLOOD_PACE_MS) and the attacker, joined to the server by a veth of its own, where
# bench/flood-syn sends SYNs from random sources in 198.18.0.0/15 to the server's address.
#
# Each combination of rate × target × door is one run with a fresh ruleset, a fresh log
# secret and a fresh daemon:
#   rate    BENCH_FLOOD_RATES, packets/s offered (default "50000 100000 200000")
#   target  aimed: the door's ports in turn (static: 3721 4728 6742; totp: every port in
#                  the live windows, read from the set totp_ports when the flood starts,
#                  that is an attacker who knows them all: the worst case)
#           spread: a random port in 20000-59999 (the TOTP door's range) per SYN
#   door    static: the shipped rules/knockwatch.nft (60 s grants, 10 s window) with the
#                  run's secret in the log prefix
#           totp:   "totp key=ssh 4 tcp:20000-59999 within 10s", one key per knock
#                  (users u01…, the daemon's --key-dir), the ruleset logging only
#                  SYNs to ports in totp_ports. A row whose run cannot be made (the
#                  daemon did not start, a quiet knock opened nothing) says "NA" and why.
# Per run it prints: the rate flood-syn achieved; the flood's SYNs that reached the input
# hook and the kernel log lines the log rule wrote (two counters the benchmark adds beside
# the rules: bench_flood, bench_logged); the lines knockwatch read and the records it lost
# (status file: lines, lost); real knocks admitted (the daemon's audit lines "CLI granted
# ssh" / "refreshed ssh" after the flood began, against the knocks sent); spurious grants
# (elements of ssh4 other than the client, from `nft list set` after the flood); the
# daemon's CPU (utime+stime over the flood, % of one core), its peak RSS (VmHWM), the
# loss events (how many, how many records each), the detector's evictions; and where the
# machine's time went: busy per CPU (from /proc/stat's idle time, against the wall clock:
# the other fields are tick samples, which miss work done between two ticks), the
# busiest processes (their own utime+stime), flood-syn's own CPU time. "Likely limit"
# names the machine's CPU when the flood fell short of its rate by more than 5 %,
# knockwatch's CPU when the daemon used 80 % of a core or more, and the kernel log ring
# when records were lost. At the end: the machine, kernel, HZ (CONFIG_HZ, or jiffies
# counted in /proc/timer_list), the kernel log ring's size and a Markdown table for the
# README.
#
#   meson test -C build --benchmark bench-flood -v
#   KW_SRCDIR=. KW_BUILDDIR=build bash bench/bench-flood.sh
#
# Knobs (environment): BENCH_FLOOD_RATES (each 1…250000), BENCH_FLOOD_TARGETS ("aimed
# spread"), BENCH_FLOOD_DOORS ("static totp"), BENCH_FLOOD_SECONDS (10, at most 30: each
# flood's length), BENCH_FLOOD_PACE_MS (500, 200…5000: between two real knocks),
# BENCH_FLOOD_KEEP (a directory to copy each run's daemon log, flood-syn output and
# status file to). Every flood is bounded by flood-syn's own caps as well (rate, count,
# time; only into a veth of a namespace with nothing but veths and the loopback).
#
# Floods disturb every other test's timing and fill the one kernel log: the script takes
# /tmp/kw-e2e.lock itself, unless a process it runs under (flock(1)) holds it already.
# Address slot 30 (test/lib.sh): the server 192.0.2.241, the client 192.0.2.242.

if [[ ${1:-} == --knocker ]]; then
        # The client's loop, run by the benchmark inside the client namespace:
        #   --knocker OUT START_US PACE_MS N KNOCKWATCH HOST static
        #   --knocker OUT START_US PACE_MS N KNOCKWATCH HOST totp KEYDIR SPEC
        # Knock i at START_US + i × PACE_MS (realtime µs); one line "i TIME_US STATUS" each.
        out=$2 start=$3 pace=$4 n=$5 kw=$6 host=$7 kind=$8
        for ((i = 0; i < n; i++)); do
                d=$((start + i * pace * 1000 - ${EPOCHREALTIME/./}))
                ((d <= 0)) || sleep "$((d / 1000000)).$(printf '%06d' $((d % 1000000)))"
                t=${EPOCHREALTIME/./}
                if [[ $kind == static ]]; then
                        "$kw" knock --delay 20 "$host" tcp:3721 tcp:4728 tcp:6742 >/dev/null 2>&1
                else
                        "$kw" knock --delay 20 "$host" --door ssh --door-spec "${10}" \
                                --key "$(printf '%s/u%02d.key' "$9" $((i + 1)))" >/dev/null 2>&1
                fi
                echo "$i $t $?" >>"$out"
        done
        exit 0
fi

# shellcheck source=test/lib.sh
. "${KW_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/test/lib.sh"

BF_TMP=$(mktemp -d /tmp/kw-bench-flood.XXXXXX)
trap 'kw_cleanup; rm -rf "$BF_TMP"' EXIT
# Never end silently: name the command that failed (set -e would just stop).
set -E
trap 'echo "FAIL: bench-flood.sh line $LINENO: status $? from: $BASH_COMMAND" >&2' ERR

FLOOD_SYN=${FLOOD_SYN:-$KW_BUILDDIR/bench/flood-syn}
RATES=${BENCH_FLOOD_RATES:-50000 100000 200000}
TARGETS=${BENCH_FLOOD_TARGETS:-aimed spread}
DOORS=${BENCH_FLOOD_DOORS:-static totp}
FLOOD_S=${BENCH_FLOOD_SECONDS:-10}
PACE_MS=${BENCH_FLOOD_PACE_MS:-500}
KEEP=${BENCH_FLOOD_KEEP:-}
NCPU=$(nproc)
SLOT=30
STATIC_PORTS=3721,4728,6742
SPREAD=20000-59999
TOTP_SPEC="totp key=ssh 4 tcp:$SPREAD within 10s"
LOCK=/tmp/kw-e2e.lock

for r in $RATES; do
        [[ $r =~ ^[1-9][0-9]{0,5}$ ]] && ((r <= 250000)) || kw_fail "BENCH_FLOOD_RATES: $r is not 1…250000"
done
for t in $TARGETS; do [[ $t == aimed || $t == spread ]] || kw_fail "BENCH_FLOOD_TARGETS: $t?"; done
for d in $DOORS; do [[ $d == static || $d == totp ]] || kw_fail "BENCH_FLOOD_DOORS: $d?"; done
[[ $FLOOD_S =~ ^[1-9][0-9]?$ ]] && ((FLOOD_S <= 30)) || kw_fail "BENCH_FLOOD_SECONDS must be 1…30"
[[ $PACE_MS =~ ^[1-9][0-9]{2,3}$ ]] && ((PACE_MS >= 200 && PACE_MS <= 5000)) ||
        kw_fail "BENCH_FLOOD_PACE_MS must be 200…5000"
[[ -z $KEEP || -d $KEEP ]] || kw_fail "BENCH_FLOOD_KEEP: $KEEP is not a directory"
KNOCKS=$((FLOOD_S * 1000 / PACE_MS))   # real knocks per run, the last PACE_MS/2 before the end

# ---- the lock ------------------------------------------------------------------------------

# Does a process we run under hold an flock on $LOCK (flock(1) around us)? /proc/locks
# names the holder's PID and the file's inode.
lock_held_above() {
        local ino pid=$$
        ino=$(stat -c %i "$LOCK") || return 1
        while [[ -n $pid ]] && ((pid > 1)); do
                awk -v p="$pid" -v i="$ino" '$2 == "FLOCK" && $5 == p && $6 ~ (":" i "$") { f = 1 }
                                             END { exit !f }' /proc/locks && return 0
                pid=$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
        done
        return 1
}

take_lock() {
        [[ -e $LOCK ]] || : >>"$LOCK"
        if lock_held_above; then
                kw_log "$LOCK is held by a process this runs under"
                return 0
        fi
        exec {BF_LOCK_FD}>>"$LOCK"
        kw_log "waiting for $LOCK"
        flock -w 1800 "$BF_LOCK_FD" || kw_fail "could not take $LOCK in 30 min"
}

# ---- what the machine is -------------------------------------------------------------------

machine() {
        local cpu
        cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
        printf '%s, %s CPUs; kernel %s %s\n' "${cpu:-unknown}" "$(nproc)" "$(uname -r)" "$(uname -m)"
}

# HZ: the kernel's config if it is at hand, else jiffies counted over one second.
kernel_hz() {
        local a b
        if [[ -r /boot/config-$(uname -r) ]]; then
                sed -n 's/^CONFIG_HZ=//p' "/boot/config-$(uname -r)"
                return
        fi
        a=$(awk '/^jiffies:/ { print $2; exit }' /proc/timer_list 2>/dev/null)
        sleep 1
        b=$(awk '/^jiffies:/ { print $2; exit }' /proc/timer_list 2>/dev/null)
        if [[ -n $a && -n $b ]]; then
                # The nearest of the values Kconfig offers.
                awk -v n=$((b - a)) 'BEGIN { split("100 250 300 1000", hz); best = 100
                        for (i in hz) if ((hz[i] - n) ^ 2 < (best - n) ^ 2) best = hz[i]
                        printf "%d (%d jiffies counted in 1 s)\n", best, n }'
        else
                echo unknown
        fi
}

# The kernel log ring's size, klogctl(SYSLOG_ACTION_SIZE_BUFFER) (syslog(2) is system
# call 103 on x86-64).
ring_size() {
        if [[ $(uname -m) == x86_64 ]] && command -v perl >/dev/null; then
                perl -e 'my $n = syscall(103, 10, 0, 0); print $n > 0 ? "$n bytes" : "unknown"'
        else
                echo unknown
        fi
}

# ---- measures ------------------------------------------------------------------------------

# utime+stime of PID in clock ticks (the fields after the ")" of the command name).
proc_ticks() {
        local stat rest
        stat=$(<"/proc/$1/stat") || return 1
        rest=${stat##*) }
        # shellcheck disable=SC2086
        set -- $rest
        echo $((${12} + ${13}))
}

# Every process's "PID COMM TICKS" (utime+stime), to FILE.
procs_sample() {
        cat /proc/[0-9]*/stat 2>/dev/null | awk '{ o = index($0, "("); c = o; for (i = o; i <= length($0); i++) if (substr($0, i, 1) == ")") c = i
               comm = substr($0, o + 1, c - o - 1); gsub(/[^A-Za-z0-9_.:\/-]/, "_", comm)
               split(substr($0, c + 2), f, " "); print $1, comm, f[12] + f[13] }' >"$1"
}

# procs_top BEFORE AFTER SECONDS_US N: the N processes that used the most CPU in between.
procs_top() {
        awk -v c="$(getconf CLK_TCK)" -v us="$3" 'NR == FNR { a[$1] = $3; next }
             { d = $3 - ($1 in a ? a[$1] : 0); if (d > 0) printf "%.1f %s(%s)\n", 100 * d / c / (us / 1e6), $2, $1 }' "$1" "$2" |
                sort -rn | head -n "$4" | awk '{ printf "%s%s %s %%", (NR > 1 ? ", " : ""), $2, $1 } END { print "" }'
}

proc_hwm_kb() {
        awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

# /proc/stat's CPU lines, saved to FILE.
cpu_sample() {
        grep '^cpu' /proc/stat >"$1"
}

# cpu_delta BEFORE AFTER WALL_US: per CPU line ("cpu" is all of them, its figures per CPU)
# "NAME busy user system softirq steal" in % of the wall time between the samples. Busy
# is what the idle time (kept precisely, in nanoseconds) leaves; the split is the kernel's
# tick sampling, which misses work done between two ticks (a reader woken at a tick and
# done before the next), so it adds up to less than busy.
cpu_delta() {
        awk -v us="$3" -v c="$(getconf CLK_TCK)" -v n="$NCPU" '
             NR == FNR { for (i = 2; i <= 9; i++) a[$1, i] = $i; next }
             { for (i = 2; i <= 9; i++) d[i] = $i - a[$1, i]
               w = us / 1e6 * c * ($1 == "cpu" ? n : 1)
               if (w <= 0) w = 1
               printf "%s %.0f %.0f %.0f %.0f %.0f\n", $1, 100 - 100 * (d[5] + d[6]) / w,
                      100 * (d[2] + d[3]) / w, 100 * (d[4] + d[7]) / w, 100 * d[8] / w, 100 * d[9] / w }' "$1" "$2"
}

# status_field DIR KEY: a counter of the daemon's status file (0 if missing).
status_field() {
        local v
        v=$(sed -n "s/^$2=//p" "$1/status" 2>/dev/null | head -n 1)
        echo "${v:-0}"
}

counter_packets() {
        kw_srv nft list counter inet knockwatch "$1" | awk '/packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

# loss_events LINE: from the daemon's log after line LINE, how many times records were
# lost and how many at once (median, largest): a large gap is a reader that did not run
# for a while, many small ones a ring that fills between two wakeups.
loss_events() {
        tail -n +"$(($1 + 1))" "$KW_DAEMON_LOG" | { grep -oE 'kernel log overrun: [0-9]+ records lost' || true; } |
                awk '{ print $4 }' | sort -n |
                awk '{ v[NR] = $1 } END { if (!NR) { print "none"; exit }
                        printf "%d, %d records at once in the median, %d at most\n", NR, v[int((NR + 1) / 2)], v[NR] }'
}

# ---- rulesets ------------------------------------------------------------------------------

# The benchmark's two counters beside a ruleset's rules: bench_flood counts the flood's
# packets at the input hook, bench_logged every packet the log rule matches (a rule of its
# own with the same match, just before the log rule).
add_counters() {
        sed -i -e '/^table inet knockwatch {/a\        counter bench_flood { }\n        counter bench_logged { }' \
               -e '/type filter hook input priority filter - 10; policy accept;/a\                ip saddr 198.18.0.0/15 counter name bench_flood' \
               -e 's/^\([[:space:]]*\)\(.*\) log prefix "PORT_KNOCKING .*$/\1\2 counter name bench_logged\n&/' "$1"
        grep -q 'counter name bench_logged$' "$1" && grep -q 'counter name bench_flood$' "$1" ||
                kw_fail "could not add the benchmark's counters to $1"
}

static_ruleset() {
        cp "$KW_SRCDIR/rules/knockwatch.nft" "$1"
        kw_add_secret "$1"
        add_counters "$1"
}

totp_ruleset() {
        cat >"$1" <<EOF
table inet knockwatch
delete table inet knockwatch
table inet knockwatch {
        set ssh4 { type ipv4_addr; flags timeout; timeout 60s; comment "knockwatch ssh: $TOTP_SPEC"; }
        set ssh6 { type ipv6_addr; flags timeout; timeout 60s; comment "knockwatch ssh"; }
        set totp_ports { type inet_proto . inet_service; flags timeout; }
        chain input {
                type filter hook input priority filter - 10; policy accept;
                meta l4proto . th dport @totp_ports tcp flags & (fin | syn | rst | ack) == syn log prefix "PORT_KNOCKING " level warn
                meta l4proto . th dport @totp_ports drop
                tcp dport 22 ct state established,related accept
                tcp dport 22 ip saddr @ssh4 accept
                tcp dport 22 ip6 saddr @ssh6 accept
                tcp dport 22 drop
        }
}
EOF
        kw_add_secret "$1"
        add_counters "$1"
}

# The live ports of totp_ports, comma-separated, at most 512 (flood-syn's limit).
totp_live_ports() {
        kw_srv nft list set inet knockwatch totp_ports |
                grep -oE '(tcp|6) \. [0-9]+' | awk '{ print $3 }' | sort -un | head -n 512 | paste -sd, -
}

# ---- one run -------------------------------------------------------------------------------

RESULTS=$BF_TMP/results   # one line per run, see run_one's last printf
WARMUP_MISSES=()          # runs whose first warm-up knock was not granted
: >"$RESULTS"

# na DOOR TARGET RATE WHY: a row that could not be measured.
na() {
        local why=${4//$'\t'/ }
        why=${why//|/\\|}   # a cell of the Markdown table
        printf '%s\t%s\t%s\tNA\t%s\n' "$1" "$2" "$3" "$why" >>"$RESULTS"
        echo "   not available: $4"
}

# daemon_start ARGS...: kw_daemon_start (test/lib.sh), but 1 rather than the end of the
# benchmark when the daemon does not become ready (a TOTP door it cannot take yet).
daemon_start() {
        KW_DAEMON_LOG=$KW_TMP/daemon.$((${#KW_PIDS[@]})).log
        ip netns exec "$NS_SRV" "$KNOCKWATCH" --log-target=console --ruleset= "$@" >"$KW_DAEMON_LOG" 2>&1 &
        KW_DAEMON_PID=$!
        KW_PIDS+=("$KW_DAEMON_PID")
        kw_wait_until 10 grep -qs 'knockwatch: ready:' "$KW_DAEMON_LOG"
}

# Stop the daemon however it ends (it may have exited already), and forget it.
daemon_stop_any() {
        [[ -n $KW_DAEMON_PID ]] || return 0
        kill -TERM "$KW_DAEMON_PID" 2>/dev/null || true
        wait "$KW_DAEMON_PID" 2>/dev/null || true
        kw_forget_pid "$KW_DAEMON_PID"
        KW_DAEMON_PID=
}

# warmup_knock DOOR: one knock from the client (u00's key for totp); 0 if the client is in
# ssh4 within 5 s.
warmup_knock() {
        if [[ $1 == static ]]; then
                kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
        else
                kw_cli "$KNOCKWATCH" knock --delay 20 "$SRV4" --door ssh --door-spec "$TOTP_SPEC" \
                        --key "$BF_TMP/keys/ssh/u00.key" >/dev/null 2>&1 || true
        fi
        kw_wait_until 5 kw_set_has ssh4 "$CLI4"
}

run_one() {
        local door=$1 target=$2 rate=$3 run=$4 dir rules why ports pid flood_pid knock_pid
        local t0 t1 ticks0 ticks1 hwm clk status0_lost status0_lines marker
        local -a limits
        local limit flood_in0 flood_in1 logged0 logged1 admitted attempted spurious
        local dcpu mbusy lost lines fs_line pps evicted evicted0

        dir=$BF_TMP/run$run
        mkdir -p "$dir/state" "$dir/run"
        echo "== $door door, $target flood at $rate packets/s for $FLOOD_S s"

        # A fresh secret for each run: no line of an earlier run counts.
        KW_SECRET=$(kw_random_secret 32)
        # shellcheck disable=SC2034 # kw_add_secret (test/lib.sh) uses it
        KW_PREFIX="PORT_KNOCKING $KW_SECRET "
        rules=$dir/rules.nft
        local daemon_args=(--source=kmsg --log-level=info --state-dir="$dir/state" --runtime-dir="$dir/run")
        if [[ $door == static ]]; then
                static_ruleset "$rules"
        else
                totp_ruleset "$rules"
                daemon_args+=(--key-dir="$BF_TMP/keys")
        fi
        kw_ruleset "$rules"
        if ! daemon_start "${daemon_args[@]}"; then
                [[ $door == static ]] && kw_fail "knockwatch did not become ready"
                na "$door" "$target" "$rate" "the daemon did not start with a TOTP door: $(tail -n 1 "$KW_DAEMON_LOG")"
                daemon_stop_any
                return 0
        fi

        # The pipeline works before the flood: a knock with no flood must open. A second
        # try is allowed, but said loudly with the daemon's counters: a clean knock that
        # opens nothing is a finding in itself.
        if ! warmup_knock "$door"; then
                echo "   NOTE: the warm-up knock (no flood) was not granted within 5 s; the daemon's status then:"
                sed 's/^/     /' "$dir/run/status" 2>/dev/null || echo "     (no status file)"
                echo "     log lines counted by the ruleset so far: $(counter_packets bench_logged)"
                WARMUP_MISSES+=("$door $target $rate")
                if ! warmup_knock "$door"; then
                        [[ $door == static ]] && kw_fail "two knocks with no flood did not open the static door"
                        na "$door" "$target" "$rate" "a TOTP knock with no flood opened nothing (daemon log: $(tail -n 1 "$KW_DAEMON_LOG"))"
                        daemon_stop_any
                        return 0
                fi
        fi
        if [[ $target == aimed ]]; then
                if [[ $door == static ]]; then
                        ports=(--ports="$STATIC_PORTS")
                else
                        ports=(--ports="$(totp_live_ports)")
                        [[ ${ports[0]} != --ports= ]] || kw_fail "totp_ports is empty"
                fi
        else
                ports=(--range="$SPREAD")
        fi
        sleep 1.2   # the status file shows the warm-up knock
        pid=$KW_DAEMON_PID
        status0_lost=$(status_field "$dir/run" lost)
        status0_lines=$(status_field "$dir/run" lines)
        evicted0=$(status_field "$dir/run" evictions)
        flood_in0=$(counter_packets bench_flood)
        logged0=$(counter_packets bench_logged)
        marker=$(wc -l <"$KW_DAEMON_LOG")

        # The flood and the knocks, together. flood-syn stops by itself after FLOOD_S s.
        cpu_sample "$dir/cpu0"
        procs_sample "$dir/procs0"
        ticks0=$(proc_ticks "$pid")
        t0=${EPOCHREALTIME/./}
        ip netns exec "$NS_FLD" "$FLOOD_SYN" --rate="$rate" --seconds="$FLOOD_S" "${ports[@]}" \
                kwf1 "$SRV_FLOOD_MAC" "$SRV4" >"$dir/flood.out" 2>&1 &
        flood_pid=$!
        KW_PIDS+=("$flood_pid")
        ip netns exec "$NS_CLI" bash "$0" --knocker "$dir/knocks" $((t0 + PACE_MS * 500)) "$PACE_MS" \
                "$KNOCKS" "$KNOCKWATCH" "$SRV4" "$door" "$BF_TMP/keys/ssh" "$TOTP_SPEC" &
        knock_pid=$!
        KW_PIDS+=("$knock_pid")
        wait "$flood_pid" || kw_fail "flood-syn failed: $(cat "$dir/flood.out")"
        t1=${EPOCHREALTIME/./}
        ticks1=$(proc_ticks "$pid")
        cpu_sample "$dir/cpu1"
        procs_sample "$dir/procs1"
        hwm=$(proc_hwm_kb "$pid")
        kw_forget_pid "$flood_pid"
        wait "$knock_pid" || true
        kw_forget_pid "$knock_pid"
        flood_in1=$(counter_packets bench_flood)
        logged1=$(counter_packets bench_logged)

        sleep 2   # the last knock's grant, and the status file after it
        lost=$(($(status_field "$dir/run" lost) - status0_lost))
        lines=$(($(status_field "$dir/run" lines) - status0_lines))
        evicted=$(($(status_field "$dir/run" evictions) - evicted0))
        attempted=$(wc -l <"$dir/knocks")
        admitted=$(tail -n +"$((marker + 1))" "$KW_DAEMON_LOG" |
                grep -cE "^knockwatch: $CLI4 (granted|refreshed) ssh for" || true)
        ((admitted <= attempted)) || admitted=$attempted
        spurious=$(kw_srv nft list set inet knockwatch ssh4 |
                grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}' | grep -cvxF "$CLI4" || true)
        cp "$dir/run/status" "$dir/status" 2>/dev/null || true
        kw_daemon_stop
        kw_forget_pid "$pid"

        clk=$(getconf CLK_TCK)
        dcpu=$(awk -v d=$((ticks1 - ticks0)) -v c="$clk" -v us=$((t1 - t0)) 'BEGIN { printf "%.1f", 100 * d / c / (us / 1e6) }')
        cpu_delta "$dir/cpu0" "$dir/cpu1" $((t1 - t0)) >"$dir/cpu"
        read -r _ mbusy _ <"$dir/cpu"
        fs_line=$(grep '^flood-syn: ' "$dir/flood.out" | tail -n 1)
        pps=$(sed -n 's/.* pps=\([0-9]*\).*/\1/p' <<<"$fs_line")
        # What most likely limited admission: a flood that fell short of its rate is the
        # machine's CPU (the receive path runs on the sender's CPU); a daemon near a whole
        # core is knockwatch; records lost with the daemon not busy are the ring overwritten
        # between two of its wakeups.
        limits=()
        ((${pps:-0} * 100 >= rate * 95)) || limits+=("machine CPU: the flood reached $((${pps:-0} * 100 / rate)) % of its rate")
        awk -v c="$dcpu" 'BEGIN { exit !(c >= 80) }' && limits+=("knockwatch CPU")
        ((lost == 0)) || limits+=("kernel log ring")
        ((${#limits[@]} > 0)) || limits=(none)
        limit=${limits[0]}
        for ((i = 1; i < ${#limits[@]}; i++)); do limit+="; ${limits[i]}"; done
        if [[ -n $KEEP ]]; then
                cp "$KW_DAEMON_LOG" "$KEEP/$door-$target-$rate.daemon.log" 2>/dev/null || true
                cp "$dir/flood.out" "$KEEP/$door-$target-$rate.flood.out"
                cp "$dir/status" "$KEEP/$door-$target-$rate.status" 2>/dev/null || true
                cp "$dir/knocks" "$KEEP/$door-$target-$rate.knocks"
        fi

        echo "   $fs_line"
        echo "   flood SYNs at the input hook: $((flood_in1 - flood_in0)); log lines written: $((logged1 - logged0)); read by knockwatch: $lines; records lost: $lost"
        echo "   loss events (the daemon's overrun notices): $(loss_events "$marker")"
        echo "   real knocks admitted: $admitted / $attempted; spurious grants: $spurious; sources evicted from the detector: $evicted"
        echo "   knockwatch: ${dcpu} % of a core, peak RSS $((hwm / 1024)).$(((hwm % 1024) * 10 / 1024)) MiB; likely limit: $limit"
        echo "   machine: ${mbusy} % busy of $NCPU cores (from the idle time); per CPU, busy and what the ticks saw (user / system+irq / softirq / steal, % of the time):"
        awk '$1 != "cpu" { printf "     %s %s %% (%s / %s / %s / %s)\n", $1, $2, $3, $4, $5, $6 }' "$dir/cpu"
        echo "   the busiest processes (% of a core): $(procs_top "$dir/procs0" "$dir/procs1" $((t1 - t0)) 6)"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$door" "$target" "$rate" \
                "${pps:-?}" "$((flood_in1 - flood_in0))" "$((logged1 - logged0))" "$lines" "$lost" \
                "$admitted" "$attempted" "$spurious" "$dcpu" "$hwm" "$mbusy" "$limit" >>"$RESULTS"
}

# ---- the table -----------------------------------------------------------------------------

table() {
        echo '| door | flood | packets/s asked → sent | kernel log lines | of which lost | real knocks admitted | spurious grants | knockwatch, % of a core | peak RSS | machine busy | likely limit |'
        echo '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|'
        awk -F'\t' '
                function k(n) { return n >= 1000 ? sprintf("%.0fk", n / 1000) : n }
                function group(n,   s, r) {
                        s = sprintf("%d", n); r = ""
                        while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
                        return s r
                }
                $4 == "NA" { printf "| %s | %s | %s | not available: %s | | | | | | | |\n", $1, $2, k($3), $5; next }
                function pct(part, whole,   p) {
                        p = whole ? 100 * part / whole : 0
                        return p > 0 && p < 1 ? "< 1 %" : sprintf("%.0f %%", p)
                }
                { printf "| %s | %s | %s → %s | %s | %s (%s) | %d / %d | %s | %s %% | %.1f MiB | %s %% | %s |\n",
                         $1, $2, k($3), group($4), group($6), group($8), pct($8, $6), $9, $10,
                         group($11), $12, $13 / 1024, $14, $15 }' "$RESULTS"
}

# ---- main ----------------------------------------------------------------------------------

[[ -x $FLOOD_SYN ]] || kw_fail "no flood-syn at $FLOOD_SYN (build first)"
kw_require_root
take_lock

kw_net_setup "$SLOT"
# The attacker's namespace, with a veth of its own to the server; the server takes the
# spoofed sources (no reverse-path filter; no route back, so nothing is ever answered).
NS_FLD="kw-s$SLOT-fld-$$"
ip netns add "$NS_FLD"
KW_NETNS+=("$NS_FLD")
ip -n "$NS_FLD" link set lo up
ip -n "$NS_SRV" link add kwf0 type veth peer name kwf1 netns "$NS_FLD"
ip -n "$NS_SRV" link set kwf0 up
ip -n "$NS_FLD" link set kwf1 up
kw_srv sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.kwf0.rp_filter=0
SRV_FLOOD_MAC=$(ip -n "$NS_SRV" link show kwf0 | awk '$1 == "link/ether" { print $2 }')
[[ -n $SRV_FLOOD_MAC ]] || kw_fail "no MAC address on kwf0"

if [[ " $DOORS " == *" totp "* ]]; then
        # One key per knock (users u00 for the warm-up, u01… for the knocks of a run):
        # every key's window is used up by its first success.
        for ((i = 0; i <= KNOCKS; i++)); do
                "$KNOCKWATCH" key new ssh --user "$(printf 'u%02d' "$i")" --key-dir "$BF_TMP/keys" --no-qr >/dev/null ||
                        kw_fail "knockwatch key new failed"
        done
fi

HZ_TEXT=$(kernel_hz)
RING=$(ring_size)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
run=0
for door in $DOORS; do
        for target in $TARGETS; do
                for rate in $RATES; do
                        run=$((run + 1))
                        run_one "$door" "$target" "$rate" "$run"
                done
        done
done

echo
echo "== spoofed-SYN floods of $FLOOD_S s from 198.18.0.0/15, knockwatch on kmsg, one real knock every $PACE_MS ms"
echo "machine: $(machine)"
echo "HZ: $HZ_TEXT; kernel log ring: $RING; load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
if ((${#WARMUP_MISSES[@]} > 0)); then
        echo "NOTE: the first warm-up knock, with no flood, was not granted in: $(IFS=,; echo "${WARMUP_MISSES[*]}")"
fi
echo
table
