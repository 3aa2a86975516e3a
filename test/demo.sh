#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# demo: the README's first command shows what it promises, in order (dropped, then
# accepted over IPv4 and IPv6 right after the knock, then dropped again), and leaves
# nothing behind, also when interrupted halfway.
. "$KW_SRCDIR/test/lib.sh"
kw_require_root
export DEMO_NO_BUILD=1 DEMO_BUILDDIR=$KW_BUILDDIR DEMO_TIMEOUT=3s

leftovers() {
        ip netns list | grep -q "knockwatch-demo-.*-$1" && return 0
        pgrep -f "knockwatch-demo\.|$KW_BUILDDIR/knockwatch --source=kmsg --state-dir=/tmp/knockwatch-demo" >/dev/null
}

out=$KW_TMP/demo.out
"$KW_SRCDIR/scripts/demo" >"$out" 2>&1 </dev/null || { cat "$out"; kw_fail "scripts/demo failed"; }
outcomes=$(grep -oE 'DROPPED|ACCEPTED' "$out" | tr '\n' ' ')
[[ $outcomes == "DROPPED ACCEPTED ACCEPTED DROPPED DROPPED " ]] ||
        { cat "$out"; kw_fail "the demo showed: $outcomes"; }
grep -q "granted ssh for 3s" "$out" || kw_fail "the demo does not show knockwatch granting"
grep -q "revoked from ssh (expired)" "$out" || kw_fail "the demo does not show the expiry"
grep -qE "^ +192\.0\.2\.242, [0-9]s left$" "$out" || kw_fail "the demo does not show the grant in knockwatch status"
pid=$(sed -n 's/.*knockwatch-demo-srv-\([0-9]*\).*/\1/p' "$out" | head -n 1)
leftovers "$pid" && kw_fail "the demo left namespaces or processes behind"
kw_pass "the demo shows dropped, accepted (IPv4, IPv6) and dropped again, and cleans up"

# Ctrl-C in a terminal: SIGINT to the demo's whole process group. With job control on,
# the background job gets a group of its own and SIGINT is not ignored in it.
set -m
"$KW_SRCDIR/scripts/demo" >"$out" 2>&1 </dev/null &
demo=$!
set +m
kw_wait_until 20 grep -q "Waiting out the grant" "$out" || kw_fail "the demo did not get to its wait"
pid=$(sed -n 's/.*knockwatch-demo-srv-\([0-9]*\).*/\1/p' "$out" | head -n 1)
kill -INT -- -"$demo"
wait "$demo" || true
grep -q "Interrupted; cleaning up" "$out" || kw_fail "the demo did not say it was interrupted"
leftovers "$pid" && kw_fail "the interrupted demo left namespaces or processes behind"
kw_pass "an interrupted demo cleans up after itself"
