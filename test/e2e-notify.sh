#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# e2e-notify: what the Type=notify unit relies on, against a notify socket of our own:
# READY=1 (with a STATUS=) once the doors are read, WATCHDOG=1 at half of WatchdogSec,
# RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM.
. "$KW_SRCDIR/test/lib.sh"
kw_require_root
kw_net_setup 20

kw_test_ruleset "$KW_TMP/rules.nft" 3s 2s
kw_ruleset "$KW_TMP/rules.nft"

sock=$KW_TMP/notify.sock
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    for line in s.recv(4096).decode().splitlines():
        print(line, flush=True)
' "$sock" >"$KW_TMP/notify.log" &
KW_PIDS+=($!)
kw_wait_until 5 test -S "$sock" || kw_fail "the notify socket did not appear"

# notified N TEXT: the notify log has at least N lines equal to TEXT.
notified() { (($(grep -cx "$2" "$KW_TMP/notify.log") >= $1)); }

NOTIFY_SOCKET=$sock WATCHDOG_USEC=1000000 \
        kw_daemon_start --source=kmsg --state-dir="$KW_TMP/state" --runtime-dir="$KW_TMP/run"
kw_wait_until 3 notified 1 READY=1 || kw_fail "no READY=1: $(cat "$KW_TMP/notify.log")"
grep -q "^STATUS=Watching 1 door(s) through kmsg" "$KW_TMP/notify.log" || kw_fail "no STATUS= with READY=1"
kw_pass "READY=1 and STATUS= once the doors are read"

kw_wait_until 3 notified 2 WATCHDOG=1 || kw_fail "no WATCHDOG=1 pings with WatchdogSec=1s"
kw_pass "WATCHDOG=1 pings at half the watchdog interval"

kill -HUP "$KW_DAEMON_PID"
kw_wait_until 3 notified 2 READY=1 || kw_fail "no READY=1 after the reload"
grep -qx RELOADING=1 "$KW_TMP/notify.log" || kw_fail "no RELOADING=1 on SIGHUP"
[[ $(grep -xE 'RELOADING=1|READY=1' "$KW_TMP/notify.log" | tail -n 2 | tr '\n' ' ') == "RELOADING=1 READY=1 " ]] ||
        kw_fail "SIGHUP did not send RELOADING=1 then READY=1"
kw_pass "SIGHUP: RELOADING=1, then READY=1"

kw_daemon_stop
grep -qx STOPPING=1 "$KW_TMP/notify.log" || kw_fail "no STOPPING=1 on SIGTERM"
kw_pass "SIGTERM: STOPPING=1"
