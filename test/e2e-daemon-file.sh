#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# e2e-daemon-file: the whole path through a syslog file that a real rsyslogd writes (its
# Debian defaults: imklog, RFC 3339 lines, kern.* to a 0640 root:adm file). Knocks from
# the client namespace open TCP 22 for the knocking address only; the file is followed
# through rename rotation; a line with another syslog tag opens nothing. It also pins
# down what the man page says the file source cannot do: with "kern.*", a local user's
# "<4>kernel: ..." datagram is written as a kernel line and counts; with the filter the
# man page recommends ($inputname == "imklog"), it never reaches the file.
. "$KW_SRCDIR/test/lib.sh"
. "$KW_SRCDIR/test/lib-rsyslog.sh"
kw_require_root
kw_net_setup 12

kw_test_ruleset "$KW_TMP/rules.nft" 3s 2s
kw_ruleset "$KW_TMP/rules.nft"
kw_listen 22
mkdir -m 0755 "$KW_TMP/log"
log=$KW_TMP/log/kern.log

# forge TAG ADDR: the whole sequence for ADDR through the syslog socket, as any local user
# may send it.
forge() {
        local port
        for port in 3721 4728 6742; do
                kw_syslog_send "<4>$1 $(kw_fake_line "$2" "$port")"
        done
}

kw_rsyslog_start "$log"
kw_daemon_start --source="file:$log" --state-dir="$KW_TMP/state" --runtime-dir="$KW_TMP/run"
kw_daemon_log_has "cannot prove|cannot tell" || kw_fail "no warning that a text file proves nothing"

kw_expect "$SRV4" 22 "$CLI4" timeout
kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "$CLI4 not granted through the file"
kw_expect "$SRV4" 22 "$CLI4" open
kw_expect "$SRV4" 22 "$CLI4B" timeout
grep -q "kernel: .*PORT_KNOCKING .*SRC=$CLI4 .*DPT=6742" "$log" || kw_fail "the knock is not in $log"
kw_pass "IPv4 knock through rsyslog's file opens TCP 22 for $CLI4 only"

kw_knock "$SRV6" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 3 kw_set_has ssh6 "$CLI6" || kw_fail "$CLI6 not granted through the file"
kw_expect "$SRV6" 22 "$CLI6" open
kw_expect "$SRV6" 22 "$CLI6B" timeout
kw_pass "IPv6 knock through the file opens TCP 22 for $CLI6 only"

kw_wait_until 6 kw_set_lacks ssh4 "$CLI4" || kw_fail "grant did not expire"
kw_expect "$SRV4" 22 "$CLI4" timeout
kw_wait_until 2 kw_daemon_log_has "$CLI4 revoked from ssh \(expired\)" || kw_fail "expiry not logged"
kw_pass "the grant expires and the port drops again"

kw_check_no_false_opens 1.1
kw_wait_until 6 kw_set_lacks ssh4 "$CLI4" || kw_fail "grant did not expire"

# Lines under another tag are not the kernel's: nothing opens.
forge "sshd[12]:" "$CLI4B"
forge "kernel[1]:" "$CLI4B"
kw_wait_until 3 grep -q "sshd\[12\]: PORT_KNOCKING .*SRC=$CLI4B .*DPT=6742" "$log" ||
        kw_fail "the forged lines did not reach the file"
sleep 0.5
kw_set_has ssh4 "$CLI4B" && kw_fail "lines tagged sshd[12]:/kernel[1]: opened the door"
kw_daemon_log_has "syslog tag is not kernel:" || kw_fail "the wrong tag was not the reason given"
kw_pass "a sequence under another syslog tag opens nothing"

# Rename rotation (logrotate without copytruncate): rsyslog reopens on HUP.
mv "$log" "$log.1"
kw_rsyslog_hup
kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "no grant after rename rotation"
[[ -s $log ]] || kw_fail "rsyslog did not start a new $log"
kw_pass "knocks still open after rename rotation"

# The documented weakness: with "kern.*", any local user can write a kernel-tagged line.
forge "kernel:" "$CLI4B"
kw_wait_until 3 kw_set_has ssh4 "$CLI4B" ||
        kw_fail "a forged kernel: line did not count: update the man page's warning"
kw_pass "as documented, with kern.* a forged 'kernel:' datagram counts (file source weakness)"
kw_daemon_stop
kw_rsyslog_stop

# The man page's remedy: only lines that came in through imklog reach the file.
log2=$KW_TMP/log/kernel-only.log
kw_srv nft flush set inet knockwatch ssh4
kw_rsyslog_start "$log2" "$KW_TMP/log2.sock" 'if $inputname == "imklog" and $syslogfacility-text == "kern" then'
kw_daemon_start --source="file:$log2" --state-dir="$KW_TMP/state2" --runtime-dir="$KW_TMP/run2"
forge "kernel:" "$CLI4B"
kw_knock "$SRV4" tcp:3721 tcp:4728 tcp:6742
kw_wait_until 3 kw_set_has ssh4 "$CLI4" || kw_fail "no grant through the imklog-only file"
sleep 0.5
kw_set_has ssh4 "$CLI4B" && kw_fail "a forged kernel: datagram opened the door despite the filter"
grep -q "SRC=$CLI4B" "$log2" && kw_fail "the forged datagram reached the imklog-only file"
kw_pass "with the recommended rsyslog filter, forged kernel: datagrams never reach the file"

kw_daemon_stop
kw_rsyslog_stop
