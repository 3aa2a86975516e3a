#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-journal.sh — run bench-journal on a million kernel entries of this boot, made
# first by prepare-journal.sh when build/bench-journal does not hold them yet (about two
# minutes, once per boot): `meson test -C build --benchmark bench-journal -v`, or
#   KW_SRCDIR=. KW_BUILDDIR=build bash bench/bench-journal.sh [RUNS]
set -euo pipefail

KW_SRCDIR=${KW_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
KW_BUILDDIR=${KW_BUILDDIR:-$KW_SRCDIR/build}
BENCH_JOURNAL=${BENCH_JOURNAL:-$KW_BUILDDIR/bench/bench-journal}
dir=${BENCH_JOURNAL_DIR:-$KW_BUILDDIR/bench-journal}
count=${BENCH_JOURNAL_COUNT:-1000000}

[[ -x $BENCH_JOURNAL ]] || { echo "bench-journal.sh: no $BENCH_JOURNAL (build first)" >&2; exit 1; }
if [[ ! -x /lib/systemd/systemd-journal-remote ]]; then
        echo "SKIP: bench-journal needs systemd-journal-remote"
        exit 77
fi
want="$(tr -d '-' </proc/sys/kernel/random/boot_id) $count"
if [[ ! -f $dir/prepared || $(cat "$dir/prepared") != "$want" ]]; then
        "$KW_SRCDIR/bench/prepare-journal.sh" "$dir" "$count"
fi
exec "$BENCH_JOURNAL" "$dir" "${1:-3}"
