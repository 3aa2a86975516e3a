#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# e2e-migration: the drop-in scripts for the old recipe, on the real kernel (slot 15).
#
# The old recipe: iptables LOG rules, syslog routing kern.warning to
# /var/log/iptables.log, `check_knock &` from a boot script (a 15-second polling loop that
# called allow_ssh), and `allow_ssh IP` (an iptables rule, a 60-second sleep, a delete).
# Here, in a private mount namespace (lib-journal.sh) with a tmpfs over /var/log:
#   1. a real rsyslogd writes kern.warning to /var/log/iptables.log, as the recipe said;
#      `check_knock /var/log/iptables.log &` follows that file, loads the ruleset itself
#      (the knockwatch table is missing), and a knock opens TCP 22 for the knocking
#      address only, until the (shortened) set timeout; SIGTERM stops it with status 0;
#   2. `allow_ssh IP` prints its "added" line and returns at once, leaving no process
#      behind; the element is in the set with the given timeout, a real connection from
#      IP gets through, and after the timeout it is dropped again and the running daemon
#      logged the expiry; bad arguments give one stderr line and status 2 (1 for what
#      fails at run time);
#   3. `check_knock &` with no argument reads /dev/kmsg, although /var/log/iptables.log
#      exists; it, `check_knock --kmsg` and `check_knock --journal` (a real
#      systemd-journald) open the door too;
#   4. the old iptables firewall (policy DROP) next to the knockwatch table, as the
#      guide (docs/MIGRATION.md) says to keep it.
. "$KW_SRCDIR/test/lib-journal.sh" "$@"
. "$KW_SRCDIR/test/lib-rsyslog.sh"
kw_require_root
kw_net_setup 15

CHECK_KNOCK=$KW_SRCDIR/scripts/check_knock
ALLOW_SSH=$KW_SRCDIR/scripts/allow_ssh
KNOCK_SH=$KW_SRCDIR/scripts/knock
# Two more addresses of this slot's client, for allow_ssh. The IPv6 one is deprecated, so
# the kernel never picks it as the source of the client's knocks.
ALLOW4=192.0.2.$((15 * 8 + 4))
ALLOW6=2001:db8::f:4
ip -n "$NS_CLI" addr add "$ALLOW4/24" dev kw1
ip -n "$NS_CLI" addr add "$ALLOW6/64" dev kw1 nodad preferred_lft 0

# The shipped ruleset with 4 s grants and a 5 s window (the old client's three knocks
# half a second apart fit in it easily).
RULESET=$KW_TMP/knockwatch.nft
kw_test_ruleset "$RULESET" 4s 5s
kw_listen 22

# /var/log of this mount namespace only: the recipe's file at the recipe's path. The
# journal directory is made here so that lib-journal's tmpfs goes on it, not over /var/log.
mount -t tmpfs -o mode=0755 tmpfs /var/log || kw_fail "cannot mount a tmpfs on /var/log"
mkdir /var/log/journal
IPTABLES_LOG=/var/log/iptables.log

# journald first: the audit trail of `knockwatch grant` (allow_ssh) goes to the journal.
kw_journald_start

# check_knock_start NAME ARGS...: `check_knock ARGS &` in the server namespace, as a boot
# script runs it. check_knock execs knockwatch, so $! is the daemon: kw_daemon_stop
# SIGTERMs it and requires status 0.
check_knock_start() {
        local name=$1
        shift
        KW_DAEMON_LOG=$KW_TMP/check_knock.$name.log
        ip netns exec "$NS_SRV" env KNOCKWATCH="$KNOCKWATCH" KNOCKWATCH_RULESET="$RULESET" \
                STATE_DIRECTORY="$KW_TMP/state.$name" RUNTIME_DIRECTORY="$KW_TMP/run.$name" \
                "$CHECK_KNOCK" "$@" >"$KW_DAEMON_LOG" 2>&1 &
        KW_DAEMON_PID=$!
        KW_PIDS+=("$KW_DAEMON_PID")
        kw_wait_until 10 grep -q 'knockwatch: ready:' "$KW_DAEMON_LOG" ||
                kw_fail "check_knock $* did not start knockwatch"
        [[ $(cat "/proc/$KW_DAEMON_PID/comm") == knockwatch ]] ||
                kw_fail "the background job of check_knock is $(cat "/proc/$KW_DAEMON_PID/comm"), not knockwatch"
}

# knock_opens SRV CLI CLI_OTHER SET KNOCK...: the knock (a command run in the client
# namespace) puts CLI in SET, TCP 22 opens for CLI and stays dropped for CLI_OTHER, and
# after the set's timeout it is dropped for CLI again and the daemon logged the expiry.
knock_opens() {
        local srv=$1 cli=$2 other=$3 set=$4
        shift 4
        kw_expect "$srv" 22 "$cli" timeout
        kw_cli "$@" >/dev/null || kw_fail "knock failed: $*"
        kw_wait_until 3 kw_set_has "$set" "$cli" || kw_fail "$cli not in set $set after a correct knock"
        kw_expect "$srv" 22 "$cli" open
        kw_expect "$srv" 22 "$other" timeout
        kw_set_has "$set" "$other" && kw_fail "$other was granted without knocking"
        kw_daemon_log_has "$cli granted ssh for 4s" || kw_fail "no grant logged for $cli"
        kw_wait_until 8 kw_set_lacks "$set" "$cli" || kw_fail "$cli still in $set after the timeout"
        kw_expect "$srv" 22 "$cli" timeout
        kw_wait_until 3 kw_daemon_log_has "$cli revoked from ssh \(expired\)" || kw_fail "expiry of $cli not logged"
}

# --- 1. check_knock /var/log/iptables.log & ------------------------------------------

# The recipe's one line, `kern.warning /var/log/iptables.log` (the file root:adm 0640 as
# Debian's rsyslog.conf makes it).
kw_rsyslog_start "$IPTABLES_LOG" "$KW_TMP/log.sock" kern.warning
kw_srv nft list table inet knockwatch >/dev/null 2>&1 && kw_fail "the server namespace has a knockwatch table already"
check_knock_start file "$IPTABLES_LOG"
kw_srv nft list table inet knockwatch >/dev/null 2>&1 || kw_fail "check_knock did not load $RULESET"
grep -q "ready: .* through file $IPTABLES_LOG" "$KW_DAEMON_LOG" ||
        kw_fail "check_knock $IPTABLES_LOG does not follow it: $(grep 'ready:' "$KW_DAEMON_LOG")"
kw_pass "check_knock $IPTABLES_LOG & loads the missing ruleset and follows the file"

# The old client's way: three TCP knocks half a second apart.
knock_opens "$SRV4" "$CLI4" "$CLI4B" ssh4 "$KNOCK_SH" --delay 500 "$SRV4" tcp:3721 tcp:4728 tcp:6742
grep -q "kernel: .*PORT_KNOCKING .*SRC=$CLI4 .*DPT=6742 " "$IPTABLES_LOG" ||
        kw_fail "the knock is not in $IPTABLES_LOG: rsyslog did not carry it"
kw_pass "a knock through rsyslog's $IPTABLES_LOG opens TCP 22 for $CLI4 only, for the set's 4 s"

# --- 2. allow_ssh, next to the running daemon --------------------------------------

# run_allow_ssh ARGS...: allow_ssh in the server namespace, with a 3 s grant; sets RC,
# OUT, ERR. KW_MIGRATION_MARK is in the environment of allow_ssh and of anything it starts.
MARK=kw-migration-$$-$RANDOM
run_allow_ssh() {
        RC=0
        ip netns exec "$NS_SRV" env KNOCKWATCH="$KNOCKWATCH" ALLOW_SSH_TIMEOUT="${TIMEOUT:-3s}" \
                KW_MIGRATION_MARK="$MARK" ${DOOR:+ALLOW_SSH_DOOR="$DOOR"} \
                "$ALLOW_SSH" "$@" >"$KW_TMP/out" 2>"$KW_TMP/err" || RC=$?
        OUT=$(<"$KW_TMP/out")
        ERR=$(<"$KW_TMP/err")
}

# Processes that inherited allow_ssh's environment (it, or anything it left running).
marked_processes() {
        grep -lsa "KW_MIGRATION_MARK=$MARK" /proc/[0-9]*/environ || true
}

# allow_ssh_opens ADDR SET: allow_ssh ADDR opens TCP 22 to ADDR for 3 s, then the kernel
# closes it and the daemon logs the expiry.
allow_ssh_opens() {
        local addr=$1 set=$2 element
        kw_expect "${3:-$SRV4}" 22 "$addr" timeout
        run_allow_ssh "$addr"
        ((RC == 0)) || kw_fail "allow_ssh $addr: status $RC: $ERR"
        [[ -z $ERR ]] || kw_fail "allow_ssh $addr: unexpected stderr: $ERR"
        # "Nov 23 00:04:27 allow_ssh: 192.0.2.124 added for 3s (…)"
        local re="^[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} allow_ssh: $addr added for 3s "
        [[ $OUT =~ $re ]] || kw_fail "allow_ssh $addr printed: $OUT"
        [[ $(wc -l <"$KW_TMP/out") == 1 ]] || kw_fail "allow_ssh $addr printed more than one line: $OUT"
        # Still granted: allow_ssh returned well before the grant's end, and nothing of it
        # is left running to revoke it.
        kw_set_has "$set" "$addr" || kw_fail "allow_ssh $addr returned but $addr is not in $set"
        [[ -z $(marked_processes) ]] || kw_fail "allow_ssh left processes behind: $(marked_processes)"
        element=$(kw_srv nft get element inet knockwatch "$set" "{ $addr }")
        [[ $element == *"$addr timeout 3s expires "* ]] || kw_fail "the element is not a 3 s grant: $element"
        kw_expect "${3:-$SRV4}" 22 "$addr" open
        kw_wait_until 6 kw_set_lacks "$set" "$addr" || kw_fail "$addr still in $set after 3 s"
        kw_expect "${3:-$SRV4}" 22 "$addr" timeout
        kw_wait_until 3 kw_daemon_log_has "$addr revoked from ssh \(expired\)" ||
                kw_fail "the running daemon did not log the expiry of $addr"
        kw_journal_wait "$addr granted ssh for 3s (manual)"
        kw_journal_wait "$addr revoked from ssh (expired)"
}

allow_ssh_opens "$ALLOW4" ssh4
kw_pass "allow_ssh $ALLOW4: one \"added\" line, returns at once with nothing left running, 3 s element, TCP 22 open then dropped, expiry logged by the daemon and in the journal"
allow_ssh_opens "$ALLOW6" ssh6 "$SRV6"
kw_pass "allow_ssh $ALLOW6 (IPv6) the same"

# allow_ssh_fails STATUS TEXT ARGS...: one stderr line holding TEXT, nothing on stdout,
# status STATUS, and neither of the allow_ssh addresses in a set.
allow_ssh_fails() {
        local status=$1 text=$2
        shift 2
        run_allow_ssh "$@"
        ((RC == status)) || kw_fail "allow_ssh $*: status $RC, expected $status (stderr: $ERR)"
        [[ -z $OUT ]] || kw_fail "allow_ssh $*: unexpected stdout: $OUT"
        [[ $(wc -l <"$KW_TMP/err") == 1 ]] || kw_fail "allow_ssh $*: expected one stderr line, got: $ERR"
        [[ $ERR == *"$text"* ]] || kw_fail "allow_ssh $*: stderr does not say \"$text\": $ERR"
        # (Other tests' knocks reach this daemon too: look at this test's addresses only.)
        if kw_set_has ssh4 "$ALLOW4" || kw_set_has ssh6 "$ALLOW6"; then
                kw_fail "allow_ssh $* added an element"
        fi
}
allow_ssh_fails 2 'Usage: allow_ssh IP'
allow_ssh_fails 2 'Usage: allow_ssh IP' "$ALLOW4" "$ALLOW6"
allow_ssh_fails 2 'Usage: allow_ssh IP' ''
allow_ssh_fails 2 '"-x"' -x
allow_ssh_fails 2 'Usage: allow_ssh IP' -x "$ALLOW4"
allow_ssh_fails 2 '"foo"' foo
allow_ssh_fails 2 '"192.0.2.300"' 192.0.2.300
allow_ssh_fails 2 '"192.0.2.1;id"' '192.0.2.1;id'
DOOR=nosuch allow_ssh_fails 1 '"nosuch"' "$ALLOW4"
TIMEOUT=31d allow_ssh_fails 2 '"31d"' "$ALLOW4"
# No knockwatch table at all (the client namespace has none): a failure at run time.
RC=0
ip netns exec "$NS_CLI" env KNOCKWATCH="$KNOCKWATCH" "$ALLOW_SSH" "$ALLOW4" >"$KW_TMP/out" 2>"$KW_TMP/err" || RC=$?
[[ $RC == 1 && ! -s $KW_TMP/out && $(wc -l <"$KW_TMP/err") == 1 ]] ||
        kw_fail "allow_ssh without a knockwatch table: status $RC, stdout $(cat "$KW_TMP/out"), stderr $(cat "$KW_TMP/err")"
[[ -z $(marked_processes) ]] || kw_fail "allow_ssh left processes behind: $(marked_processes)"
kw_pass "allow_ssh: bad arguments give one stderr line and status 2; no door or no table, status 1"

kw_daemon_stop
kw_pass "check_knock's daemon stops on SIGTERM with status 0"
kw_rsyslog_stop

# check_knock's own argument errors: one line, status 2, nothing started.
for args in "relative/iptables.log" "--bogus" "$IPTABLES_LOG --kmsg"; do
        RC=0
        # shellcheck disable=SC2086 # one case per word list
        ip netns exec "$NS_SRV" env KNOCKWATCH="$KNOCKWATCH" "$CHECK_KNOCK" $args >"$KW_TMP/out" 2>"$KW_TMP/err" || RC=$?
        [[ $RC == 2 && ! -s $KW_TMP/out && $(wc -l <"$KW_TMP/err") == 1 ]] ||
                kw_fail "check_knock $args: status $RC, stdout $(cat "$KW_TMP/out"), stderr $(cat "$KW_TMP/err")"
done
kw_pass "check_knock: bad arguments give one stderr line and status 2"

# --- 3. check_knock & (no argument), --kmsg, --journal -------------------------------

[[ -s $IPTABLES_LOG ]] || kw_fail "$IPTABLES_LOG is gone"
check_knock_start auto
grep -q "ready: .* through kmsg" "$KW_DAEMON_LOG" ||
        kw_fail "check_knock without arguments: $(grep 'ready:' "$KW_DAEMON_LOG")"
knock_opens "$SRV6" "$CLI6" "$CLI6B" ssh6 "$KNOCKWATCH" knock --delay 20 "$SRV6" tcp:3721 tcp:4728 tcp:6742
kw_daemon_stop
kw_pass "check_knock & reads /dev/kmsg, not the stale $IPTABLES_LOG: an IPv6 knock opens TCP 22 for $CLI6 only, until the timeout; SIGTERM exits 0"

check_knock_start kmsg --kmsg
grep -q "ready: .* through kmsg" "$KW_DAEMON_LOG" || kw_fail "check_knock --kmsg: $(grep 'ready:' "$KW_DAEMON_LOG")"
kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "check_knock --kmsg: $CLI4 not in ssh4 after a correct knock"
kw_expect "$SRV4" 22 "$CLI4" open
kw_daemon_stop
kw_wait_until 8 kw_set_lacks ssh4 "$CLI4" || kw_fail "$CLI4 still in ssh4 after the timeout"
kw_pass "check_knock --kmsg: a knock opens TCP 22 for $CLI4; SIGTERM exits 0"

check_knock_start journal --journal
grep -q "ready: .* through journal" "$KW_DAEMON_LOG" || kw_fail "check_knock --journal: $(grep 'ready:' "$KW_DAEMON_LOG")"
knock_opens "$SRV4" "$CLI4" "$CLI4B" ssh4 "$KNOCKWATCH" knock --delay 20 "$SRV4" tcp:3721 tcp:4728 tcp:6742
kw_daemon_stop
kw_pass "check_knock --journal (a real journald): a knock opens TCP 22 for $CLI4 only, until the timeout; SIGTERM exits 0"

# --- 4. the old firewall script, migrated (iptables next to the knockwatch table) ----

# The old script's INPUT chain (Debian's iptables is iptables-nft: a table of its own),
# with its LOG rules deleted as docs/MIGRATION.md says. Two things must hold, both said
# in the guide: the knockwatch chain must see the knocks before iptables' policy drops
# them, and iptables must let TCP 22 through so that the knockwatch table decides.
# Base chains of the same priority run newest first, so a firewall script run after
# the knockwatch table was loaded (at boot, or rerun) goes first: the guide's answer is
# "priority filter - 10" on the knockwatch chain.
command -v iptables >/dev/null || kw_fail "iptables is not installed (package iptables)"

# ruleset_priority OUT PRIORITY: the test ruleset with its input chain at PRIORITY.
ruleset_priority() {
        sed -E "s/(type filter hook input priority )[^;]*;/\1$2;/" "$RULESET" >"$1"
        grep -q "hook input priority $2;" "$1" || kw_fail "could not set the chain's priority to $2"
}

# old_firewall: the script's INPUT chain, made anew (so it is newer than the knockwatch
# table, as when the script runs after the ruleset was loaded).
old_firewall() {
        kw_srv nft delete table ip filter 2>/dev/null || true
        kw_srv iptables -P INPUT DROP
        kw_srv iptables -A INPUT -i lo -j ACCEPT
        kw_srv iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
}

# The shipped priority, the firewall script run after the table was loaded: iptables
# drops the knocks before they are logged.
ruleset_priority "$KW_TMP/prio-filter.nft" filter
kw_ruleset "$KW_TMP/prio-filter.nft"
old_firewall
check_knock_start firewall --kmsg
kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
sleep 1
kw_set_has ssh4 "$CLI4" && kw_fail "knocks were seen through an iptables policy DROP that runs first"
kw_pass "at the same priority, an iptables script run after the table was loaded hides the knocks (why the guide says filter - 10)"

# "priority filter - 10": the knockwatch chain runs first whatever the order of loading.
ruleset_priority "$KW_TMP/prio-early.nft" "filter - 10"
kw_ruleset "$KW_TMP/prio-early.nft"
old_firewall
kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "$CLI4 not in ssh4 with the chain at filter - 10"
kw_expect "$SRV4" 22 "$CLI4" timeout
kw_pass "with priority filter - 10 the knock is seen; iptables' policy DROP still drops the granted $CLI4"

kw_srv iptables -A INPUT -p tcp --dport 22 -j ACCEPT
kw_expect "$SRV4" 22 "$CLI4" open
kw_expect "$SRV4" 22 "$CLI4B" timeout
kw_wait_until 8 kw_set_lacks ssh4 "$CLI4" || kw_fail "$CLI4 still in ssh4 after the timeout"
kw_expect "$SRV4" 22 "$CLI4" timeout
kw_daemon_stop
kw_pass "with iptables accepting TCP 22, the knockwatch table alone decides: $CLI4 in while granted, $CLI4B never"
