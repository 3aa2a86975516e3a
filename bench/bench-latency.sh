#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-latency.sh — knock-to-grant latency through each log source, on the real kernel:
# a client namespace knocks (the shipped ruleset, 2 s grants) on a server namespace running
# knockwatch at --log-level=debug, and knock-timer pairs the time the last SYN was sent
# with the daemon's "latency:" line for the commit of that grant. Per source it prints
# median, p90, p99 and max of
#   whole path     T_COMMIT - T_SEND  the last SYN's connect() to the commit's ACK
#   log route      T_READ - T_SEND    until knockwatch has read the LOG line
#   knockwatch     T_COMMIT - T_READ  parse, detect, nft batch, ACK (with debug logging)
#   journald       T_LOG - T_SEND     journal only: until journald stored the entry (its
#                                     monotonic stamp); the rest of the route is journald
#                                     waiting to tell readers. (kmsg's T_LOG is the kernel's
#                                     stamp mapped by knockwatch's estimate: not shown; a
#                                     file's T_LOG is its read time.)
# and the machine and load average it ran on. All times CLOCK_MONOTONIC, which every
# network namespace shares.
#
#   meson test -C build --benchmark bench-latency -v        (all three sources)
#   KW_SRCDIR=. KW_BUILDDIR=build bash bench/bench-latency.sh [kmsg|file|journal|all]
#
# Each source runs as its own invocation of this script (the journal one re-executes
# itself in a private mount namespace, see test/lib-journal.sh); "all" runs the three in
# turn and prints one table. Knobs (environment): BENCH_LATENCY_COUNT (100 knocks per
# source, at most 10000), BENCH_LATENCY_GAP_MS (the pause after a commit, plus as much
# again at random, so that sends fall anywhere in the periods that batch the log: 50 ms
# for kmsg and file, whose readers wake on a 4 ms timer tick; 250 ms for the journal,
# where journald tells readers of new entries 250 ms after the first one, on a 250 ms
# grid), BENCH_LATENCY_STEP_MS (20: between the SYNs of one knock),
# BENCH_LATENCY_DEADLINE_S (300 per source), BENCH_LATENCY_KEEP (a directory to copy
# the records and the daemon's log to). The file source needs rsyslog and nobody else
# reading /proc/kmsg. Address slot 29 (test/lib.sh).

mode=${1:-all}
case $mode in
journal)
        # shellcheck source=test/lib-journal.sh
        . "${KW_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/test/lib-journal.sh" "$@"
        ;;
kmsg | file | all)
        # shellcheck source=test/lib.sh
        . "${KW_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/test/lib.sh"
        ;;
*)
        echo "usage: bench-latency.sh [kmsg|file|journal|all]" >&2
        exit 64
        ;;
esac

# Our own scratch directory, beside lib.sh's KW_TMP (other tests' cleanups may sweep
# /tmp/kw-test.*, and a run takes minutes): records, ruleset, kern.log, daemon state.
BL_TMP=$(mktemp -d /tmp/kw-bench-latency.XXXXXX)
trap 'kw_cleanup; rm -rf "$BL_TMP"' EXIT

KNOCK_TIMER=${KNOCK_TIMER:-$KW_BUILDDIR/bench/knock-timer}
COUNT=${BENCH_LATENCY_COUNT:-100}
STEP_MS=${BENCH_LATENCY_STEP_MS:-20}
DEADLINE_S=${BENCH_LATENCY_DEADLINE_S:-300}
[[ $COUNT =~ ^[1-9][0-9]{0,3}$|^10000$ ]] || kw_fail "BENCH_LATENCY_COUNT must be 1…10000"
SLOT=29
KNOCK_PORTS=3721,4728,6742

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

machine() {
        local cpu
        cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
        printf '%s, %s CPUs; kernel %s %s\n' "${cpu:-unknown}" "$(nproc)" "$(uname -r)" "$(uname -m)"
}

# stats FILE: "n median p90 p99 max" (nearest rank) of the numbers in FILE, one a line.
stats() {
        sort -n "$1" | awk '
                { v[NR] = $1 }
                function rank(p,   i) { i = int((p * NR + 99) / 100); return v[i < 1 ? 1 : i] }
                END { if (NR) print NR, rank(50), rank(90), rank(99), v[NR]; else print 0, "-", "-", "-", "-" }'
}

ms() {
        if [[ $1 == - ]]; then
                echo "—"
        else
                awk -v u="$1" 'BEGIN { printf "%.3f ms", u / 1000 }'
        fi
}

# table_rows SOURCE RECORDS: the markdown rows of one source from knock-timer's records
# (ADDR T_SEND T_LOG T_READ T_COMMIT N); each row is column END minus column START.
table_rows() {
        local source=$1 records=$2 row label end start n med p90 p99 max
        local -a rows=(
                'whole path: send → commit|5|2'
                'log route: send → read|4|2'
                'knockwatch: read → commit|6|0'
                'send → journald stored it|3|2'
        )
        for row in "${rows[@]}"; do
                IFS='|' read -r label end start <<<"$row"
                [[ $source != journal && $label == "send → journald stored it" ]] && continue
                awk -v e="$end" -v s="$start" '{ print $e - (s ? $s : 0) }' "$records" >"$records.col"
                read -r n med p90 p99 max < <(stats "$records.col")
                printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$source" "$label" "$n" \
                        "$(ms "$med")" "$(ms "$p90")" "$(ms "$p99")" "$(ms "$max")"
        done
}

table_head() {
        echo '| source | measure | n | median | p90 | p99 | max |'
        echo '|---|---|--:|--:|--:|--:|--:|'
}

run_all() {
        local results=$BL_TMP/results source rc before after
        mkdir -p "$results"
        before=$(loadavg)
        for source in kmsg file journal; do
                rc=0
                BENCH_LATENCY_RESULTS=$results bash "$0" "$source" || rc=$?
                ((rc == 0 || rc == 77)) || kw_fail "bench-latency $source failed (status $rc)"
                ((rc == 0)) || echo "$source: skipped" >>"$results/skipped"
        done
        after=$(loadavg)

        echo
        echo "== knock-to-grant latency, all sources"
        echo "machine: $(machine)"
        echo "load average before: $before; after: $after"
        echo "knocks per source: $COUNT (after 3 warm-up knocks), ${STEP_MS} ms between SYNs"
        [[ -f $results/skipped ]] && cat "$results/skipped"
        echo
        table_head
        for source in kmsg file journal; do
                [[ -s $results/$source.records ]] && table_rows "$source" "$results/$source.records"
        done
        return 0
}

run_source() {
        local source=$1 spec froms=() host gap before after records last
        [[ -x $KNOCK_TIMER ]] || kw_fail "no knock-timer at $KNOCK_TIMER (build first)"
        kw_require_root
        kw_net_setup "$SLOT"
        # Five knocking addresses take turns: CLI4 and the slot's last four.
        froms=("$CLI4")
        for host in 4 5 6 7; do
                froms+=("192.0.2.$((SLOT * 8 + host))")
                ip -n "$NS_CLI" addr add "${froms[-1]}/24" dev kw1
        done

        kw_test_ruleset "$BL_TMP/rules.nft" 2s 2s
        kw_ruleset "$BL_TMP/rules.nft"
        case $source in
        kmsg)
                spec=kmsg
                ;;
        file)
                # shellcheck source=test/lib-rsyslog.sh
                . "$KW_SRCDIR/test/lib-rsyslog.sh"
                kw_rsyslog_start "$BL_TMP/kern.log"
                spec=file:$BL_TMP/kern.log
                ;;
        journal)
                kw_journald_start
                spec=journal
                ;;
        esac
        kw_daemon_start --source="$spec" --state-dir="$BL_TMP/state" --runtime-dir="$BL_TMP/run"

        records=$BL_TMP/$source.records
        if [[ $source == journal ]]; then
                gap=${BENCH_LATENCY_GAP_MS:-250}
        else
                gap=${BENCH_LATENCY_GAP_MS:-50}
        fi
        before=$(loadavg)
        kw_cli "$KNOCK_TIMER" --count="$COUNT" --warmup=3 --gap-ms="$gap" --step-ms="$STEP_MS" \
                --deadline-s="$DEADLINE_S" "$KW_DAEMON_LOG" "$SRV4" "$KNOCK_PORTS" \
                "$(IFS=,; echo "${froms[*]}")" >"$records" ||
                kw_fail "knock-timer failed after $(wc -l <"$records") knocks"
        after=$(loadavg)

        # The commit line is the daemon's word; the kernel set must agree. The last grant
        # is a few ms old (knock-timer exits right after it), far inside its 2 s.
        last=$(tail -n 1 "$records" | cut -d' ' -f1)
        kw_set_has ssh4 "$last" || kw_fail "$last is not in set ssh4 right after its commit"
        [[ $(wc -l <"$records") == "$COUNT" ]] || kw_fail "expected $COUNT records, got $(wc -l <"$records")"
        kw_daemon_stop

        echo "== knock-to-grant latency, source $source (--source=$spec), $COUNT knocks, gap $gap-$((2 * gap)) ms"
        echo "machine: $(machine)"
        echo "load average before: $before; after: $after"
        table_head
        table_rows "$source" "$records"
        if [[ -n ${BENCH_LATENCY_RESULTS:-} ]]; then
                cp "$records" "$BENCH_LATENCY_RESULTS/$source.records"
        fi
        if [[ -n ${BENCH_LATENCY_KEEP:-} ]]; then
                cp "$records" "$BENCH_LATENCY_KEEP/$source.records"
                cp "$KW_DAEMON_LOG" "$BENCH_LATENCY_KEEP/$source.daemon.log" || true
        fi
}

if [[ $mode == all ]]; then
        run_all
else
        run_source "$mode"
fi
