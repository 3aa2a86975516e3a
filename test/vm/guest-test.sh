#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# guest-test.sh — the end-to-end test inside the Debian 12 VM (kernel 6.1, systemd 252 as
# PID 1), run once by kw-vm-test.service; the VM powers off when it ends. knockwatch is
# there only as the package installed it. It runs in the VM's own network namespace, as
# the real unit does; a client namespace "cli" is joined to it by a veth pair:
#
#    VM (root netns): kwv0 192.0.2.1/24 2001:db8::1   knockwatch.service, a listener on 22
#    netns cli:       kwv1 192.0.2.2 (knocks)  .3 (never knocks)  .4 .5 (knock later)  2001:db8::2
#
# Every check prints "ok - ..." or "FAIL: ..." to /root/kw-vm.log and the serial console;
# the last line is "# kw-vm: guest test finished". The host (test/vm/vm.sh) reads the log
# back from the image.

LOG=/root/kw-vm.log
HERE=/opt/kw-vm
RULESET=/etc/knockwatch/knockwatch.nft
TIMEOUT_S=20            # the grant time the test writes into the ruleset
SRV4=192.0.2.1 SRV6=2001:db8::1
CLI4=192.0.2.2 NEVER4=192.0.2.3 LATE4=192.0.2.4 SECRET4=192.0.2.5 CLI6=2001:db8::2
FORGED4=198.51.100.77 FORGED4B=198.51.100.78
FAILED=0
STARTED=$SECONDS

exec >>"$LOG" 2>&1
cd /

say() {
        echo "$*"
        echo "$*" >/dev/ttyS0 2>/dev/null || true
}
ok() { say "ok - $*"; }
fail() {
        say "FAIL: $*"
        FAILED=1
}
# fatal MESSAGE: a failure after which nothing else can be checked.
fatal() {
        fail "$*"
        exit 1
}
finish() {
        if ((FAILED)); then
                echo "# --- diagnostics ---"
                {
                        systemctl status --no-pager knockwatch
                        journalctl --no-pager -b -u knockwatch -n 60
                        nft list ruleset
                } 2>&1 | sed 's/^/# /'
        fi
        say "# kw-vm: $((SECONDS - STARTED)) s in the guest"
        say "# kw-vm: guest test finished"
        sync
}
trap finish EXIT

# wait_until SECONDS CMD...: run CMD every 100 ms until it succeeds; 1 on timeout.
wait_until() {
        local deadline=$((SECONDS + $1))
        shift
        while ((SECONDS <= deadline)); do
                "$@" && return 0
                sleep 0.1
        done
        return 1
}

cli() { ip netns exec cli "$@"; }
# port FROM: what a TCP connect from FROM (in cli) to port 22 finds: open, timeout, refused.
port() { cli python3 "$HERE/probe.py" connect "$([[ $1 == *:* ]] && echo "$SRV6" || echo "$SRV4")" 22 "$1" 2; }
# expect_port FROM WORD WHAT: the connect from FROM must find WORD.
expect_port() {
        local got
        got=$(port "$1")
        if [[ $got == "$2" ]]; then
                ok "$3 (port 22 from $1: $got)"
        else
                fail "$3 (port 22 from $1: expected $2, got $got)"
        fi
}
knock() {
        local from=$1 to=$SRV4
        [[ $from == *:* ]] && to=$SRV6
        cli python3 "$HERE/probe.py" knock "$to" "$from" 3721 4728 6742
}
set_of() { [[ $1 == *:* ]] && echo ssh6 || echo ssh4; }
granted() { nft get element inet knockwatch "$(set_of "$1")" "{ $1 }" >/dev/null 2>&1; }
not_granted() { ! granted "$1"; }
expires_ms() { python3 "$HERE/probe.py" expires-ms "$(set_of "$1")" "$1"; }
main_pid() { systemctl show -p MainPID --value knockwatch; }
# record EVENT SOURCE: the fields of knockwatch's audit records of EVENT for SOURCE.
record() {
        journalctl -q --no-pager -t knockwatch KNOCKWATCH_EVENT="$1" KNOCKWATCH_SOURCE="$2" -o export |
                grep -aE '^KNOCKWATCH_[A-Z_]+=' | sort -u | tr '\n' ' '
}
# expect_record WHAT EVENT SOURCE FIELD=VALUE...
expect_record() {
        local what=$1 event=$2 src=$3 got field missing=
        shift 3
        wait_until 10 eval 'test -n "$(record "$event" "$src")"'
        got=$(record "$event" "$src")
        for field in "$@"; do
                [[ " $got" == *" $field "* ]] || missing+=" $field"
        done
        if [[ -z $got ]]; then
                fail "$what: no journal record KNOCKWATCH_EVENT=$event KNOCKWATCH_SOURCE=$src"
        elif [[ -n $missing ]]; then
                fail "$what: the record lacks$missing (has: $got)"
        else
                ok "$what: $got"
        fi
}
kernel_log_has() { journalctl -q --no-pager -k -o cat | grep -aq "$1"; }
# daemon_log_count TEXT: how many lines of the unit's log in this boot contain TEXT.
daemon_log_count() { journalctl -q --no-pager -b -u knockwatch -o cat | grep -ac "$1"; }

say "# kw-vm: $(uname -r), $(systemctl --version | head -n 1), $(dpkg-query -W -f='${Package} ${Version}' knockwatch)"
say "# kw-vm: net.netfilter.nf_log_all_netns=$(cat /proc/sys/net/netfilter/nf_log_all_netns) (the test sets it to 1 only for the forgery checks)"

# ---- The package as it was installed -----------------------------------------------------
[[ $(stat -c '%a %U:%G' "$RULESET") == "600 root:root" ]] &&
        ok "$RULESET is mode 0600 root:root" ||
        fail "$RULESET is $(stat -c '%a %U:%G' "$RULESET"), not 0600 root:root"
dpkg-query -W -f='${Conffiles}\n' knockwatch | grep -q "^ $RULESET " &&
        ok "$RULESET is a conffile" || fail "$RULESET is not a conffile"
[[ -f /lib/systemd/system/knockwatch.service ]] && ok "the unit is /lib/systemd/system/knockwatch.service" ||
        fail "no /lib/systemd/system/knockwatch.service"
state=$(systemctl is-enabled knockwatch 2>&1)
[[ $state == disabled ]] && ok "the package leaves knockwatch.service disabled" ||
        fail "knockwatch.service is '$state' after installation, not disabled"
state=$(systemctl is-active knockwatch 2>&1)
[[ $state == inactive ]] && ok "the package did not start knockwatch" || fail "knockwatch is '$state' after boot"
# An unprivileged user cannot read the ruleset (it will hold the log prefix's secret).
setpriv --reuid=65534 --regid=65534 --clear-groups cat "$RULESET" >/dev/null 2>&1 &&
        fail "uid 65534 can read $RULESET" || ok "uid 65534 cannot read $RULESET"

# ---- The network: the VM and a client namespace --------------------------------------------
ip netns add cli
ip link add kwv0 type veth peer name kwv1 netns cli
ip addr add "$SRV4/24" dev kwv0
ip addr add "$SRV6/64" dev kwv0 nodad
ip link set kwv0 up
ip -n cli link set lo up
for a in "$CLI4" "$NEVER4" "$LATE4" "$SECRET4"; do ip -n cli addr add "$a/24" dev kwv1; done
ip -n cli addr add "$CLI6/64" dev kwv1 nodad
ip -n cli link set kwv1 up
python3 "$HERE/probe.py" listen 22 &
wait_until 10 eval '[[ $(port "$NEVER4") == open ]]' ||
        fatal "the client cannot reach the listener on port 22 (before knockwatch): $(port "$NEVER4")"
ok "without knockwatch, port 22 is open to the client (a python3 listener in the VM)"

# ---- Start it as an admin would: a shorter grant, then enable --now ------------------------
sed -i "s/timeout 60s/timeout ${TIMEOUT_S}s/" "$RULESET"
grep -q "timeout ${TIMEOUT_S}s" "$RULESET" || fatal "could not shorten the grant time in $RULESET"
systemctl enable --now knockwatch || fatal "systemctl enable --now knockwatch failed"
[[ $(systemctl is-active knockwatch) == active ]] || fatal "knockwatch is not active after enable --now"
nft list table inet knockwatch >/dev/null 2>&1 || fatal "the unit did not load the knockwatch table"
ok "systemctl enable --now knockwatch: active, the unit loaded the table"

pid=$(main_pid)
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")
nnp=$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$pid/status")
((uid >= 61184 && uid <= 65519)) && ok "the daemon runs as a dynamic user (uid $uid)" ||
        fail "the daemon runs as uid $uid, not a dynamic user (61184-65519)"
[[ $capeff == 0000000400001000 ]] && ok "CapEff is $capeff: cap_net_admin and cap_syslog only" ||
        fail "CapEff is $capeff, not 0000000400001000 (cap_net_admin, cap_syslog)"
[[ $nnp == 1 ]] && ok "NoNewPrivs: 1" || fail "NoNewPrivs is '$nnp'"
exposure=$(systemd-analyze security --no-pager knockwatch.service 2>&1 |
        sed -n 's/.*Overall exposure level for knockwatch.service: \([0-9.]*\).*/\1/p')
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.0) }' &&
        ok "systemd-analyze security rates the running unit $exposure" ||
        fail "systemd-analyze security rates the unit '${exposure:-?}', not 2.0 or better"

# ---- Knock: dropped before, accepted after, for the knocking address only ------------------
expect_port "$CLI4" timeout "before a knock the port is dropped"
knock "$CLI4"
wait_until 5 granted "$CLI4" && ok "a knock from $CLI4 is granted in ssh4" || fail "the knock from $CLI4 was not granted"
expect_port "$CLI4" open "after the knock the port is open"
expect_port "$NEVER4" timeout "a source that never knocked is still dropped"
knock "$CLI6"
wait_until 5 granted "$CLI6" && expect_port "$CLI6" open "an IPv6 knock opens the port over IPv6" ||
        fail "the IPv6 knock from $CLI6 was not granted"
expect_record "the grant is in the journal" grant "$CLI4" KNOCKWATCH_DOOR=ssh \
        "KNOCKWATCH_SET=inet knockwatch ssh4" "KNOCKWATCH_TIMEOUT_SEC=$TIMEOUT_S" KNOCKWATCH_REASON=sequence

# ---- A second knock restarts the element's time on 6.1 -------------------------------------
# Let the time left fall to TIMEOUT_S - 6 s, knock again, and read it again.
before= after=
deadline=$((SECONDS + TIMEOUT_S))
while ((SECONDS < deadline)); do
        left=$(expires_ms "$CLI4") || break
        ((left <= (TIMEOUT_S - 6) * 1000)) && { before=$left; break; }
        sleep 0.5
done
knock "$CLI4"
deadline=$((SECONDS + 5))
while ((SECONDS < deadline)); do
        after=$(expires_ms "$CLI4") && ((after > ${before:-0} + 3000)) && break
        sleep 0.2
done
if ((${before:-0} > 0 && ${after:-0} >= (TIMEOUT_S - 3) * 1000)); then
        ok "a second knock restarts the element's time: ${before} ms left before, ${after} ms after"
else
        fail "a second knock did not restart the element's time: ${before:-?} ms left before, ${after:-?} ms after (timeout ${TIMEOUT_S}s)"
fi
expect_record "the refresh is in the journal" refresh "$CLI4" KNOCKWATCH_DOOR=ssh KNOCKWATCH_REASON=sequence

# ---- systemctl reload and restart, with the live grant kept --------------------------------
pid=$(main_pid)
hups=$(daemon_log_count SIGHUP)
if systemctl reload knockwatch; then
        [[ $(systemctl is-active knockwatch) == active && $(main_pid) == "$pid" ]] &&
                ok "systemctl reload knockwatch: still active, same process" ||
                fail "after systemctl reload: $(systemctl is-active knockwatch), MainPID $(main_pid) (was $pid)"
        wait_until 5 eval '(($(daemon_log_count SIGHUP) > hups))' &&
                ok "the daemon re-read its doors on SIGHUP" || fail "no SIGHUP reload in the daemon's log"
else
        fail "systemctl reload knockwatch failed: $(journalctl -q --no-pager -b -u knockwatch -n 3 -o cat)"
fi
granted "$CLI4" && expect_port "$CLI4" open "the live grant works after the reload" ||
        fail "the grant of $CLI4 is gone after the reload"

systemctl restart knockwatch || fail "systemctl restart knockwatch failed"
[[ $(systemctl is-active knockwatch) == active && $(main_pid) != "$pid" ]] &&
        ok "systemctl restart knockwatch: active, a new process" ||
        fail "after systemctl restart: $(systemctl is-active knockwatch), MainPID $(main_pid) (was $pid)"
granted "$CLI4" && expect_port "$CLI4" open "the live grant works after the restart" ||
        fail "the grant of $CLI4 is gone after the restart"
knock "$LATE4"
wait_until 5 granted "$LATE4" && ok "the restarted daemon grants a new knock ($LATE4)" ||
        fail "the restarted daemon did not grant the knock from $LATE4"

# ---- The grant runs out -----------------------------------------------------------------------
wait_until $((TIMEOUT_S + 5)) not_granted "$CLI4" && ok "the grant of $CLI4 expired by itself" ||
        fail "the grant of $CLI4 did not expire within ${TIMEOUT_S}s"
expect_port "$CLI4" timeout "after the timeout the port is dropped again"
expect_record "the expiry is in the journal" revoke "$CLI4" KNOCKWATCH_DOOR=ssh KNOCKWATCH_REASON=expired

# ---- Debian's firewall reload: nftables.service with the stock /etc/nftables.conf -----------
head -n 5 /etc/nftables.conf | grep -qx 'flush ruleset' || fail "/etc/nftables.conf does not begin with flush ruleset"
knock "$CLI4"
wait_until 5 granted "$CLI4" || fail "the knock from $CLI4 before the nftables restart was not granted"
t0=$(date +%s%N)
if systemctl restart nftables; then
        if wait_until 5 nft list table inet knockwatch >/dev/null 2>&1; then
                ok "knockwatch put its table back $((($(date +%s%N) - t0) / 1000000)) ms after systemctl restart nftables"
        else
                fail "systemctl restart nftables (flush ruleset) removed the knockwatch table and nothing put it back"
        fi
        expect_port "$NEVER4" timeout "after systemctl restart nftables, a source that never knocked is dropped"
        wait_until 3 granted "$CLI4" &&
                expect_port "$CLI4" open "after systemctl restart nftables, the live grant is back and works" ||
                fail "after systemctl restart nftables, the live grant of $CLI4 is not back in ssh4"
else
        fail "systemctl restart nftables failed"
fi
if ! nft list table inet knockwatch >/dev/null 2>&1; then
        say "# (the test loads $RULESET again itself to go on)"
        nft -f "$RULESET"
        sleep 2
fi

# ---- Forged knocks from an unprivileged user's own network namespace ------------------------
# forge SRC PREFIX: as uid 65534, in a user and network namespace of its own (unshare -rn),
# a veth pair, a log rule with PREFIX on the knock ports, and SYNs from the spoofed
# address SRC to 192.0.2.1 injected with AF_PACKET.
forge() {
        setpriv --reuid=65534 --regid=65534 --clear-groups -- unshare -rn /bin/sh -ec '
                ip link add eth0 type veth peer name eth1
                ip link set eth0 up
                ip link set eth1 up
                ip addr add 192.0.2.1/24 dev eth0
                echo "table inet forge { chain pre { type filter hook prerouting priority -300; tcp dport { 3721, 4728, 6742 } log prefix \"$2\"; }; }" | nft -f -
                mac=$(ip link show eth0 | sed -n "s|.*link/ether \([0-9a-f:]*\).*|\1|p")
                python3 "$3/forge.py" eth1 "$mac" "$1" 192.0.2.1 3721 4728 6742
        ' forge "$1" "$2" "$HERE"
}
# expect_forgery_refused SRC PREFIX WHAT
expect_forgery_refused() {
        if ! forge "$1" "$2"; then
                fail "$3: the unprivileged user could not send the forged knocks (test setup)"
                return
        fi
        if ! wait_until 5 kernel_log_has "SRC=$1 DST=192.0.2.1 .*DPT=6742"; then
                fail "$3: the forged SYNs from $1 never reached the kernel log (test setup)"
                return
        fi
        sleep 2
        not_granted "$1" && ok "$3: nothing granted to $1" || fail "$3: the forged knocks granted $1"
}
nf_log_all_netns=$(cat /proc/sys/net/netfilter/nf_log_all_netns)
echo 1 >/proc/sys/net/netfilter/nf_log_all_netns
expect_forgery_refused "$FORGED4" "PORT_KNOCKING " \
        "forged knocks of uid 65534 with nf_log_all_netns=1 and the shipped ruleset"

# The ruleset as the documentation asks for it: a secret in the log prefix.
secret=kw$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
sed -i "s/log prefix \"PORT_KNOCKING \"/log prefix \"PORT_KNOCKING $secret \"/" "$RULESET"
reloads=$(daemon_log_count reloaded)
nft -f "$RULESET" || fail "the ruleset with a secret prefix does not load"
wait_until 5 eval '(($(daemon_log_count reloaded) > reloads))'
knock "$SECRET4"
wait_until 5 granted "$SECRET4" && ok "with a secret in the log prefix, a real knock is granted ($SECRET4)" ||
        fail "with a secret in the log prefix, the real knock from $SECRET4 was not granted"
expect_forgery_refused "$FORGED4B" "PORT_KNOCKING " \
        "forged knocks of uid 65534 with nf_log_all_netns=1 and a secret prefix"
echo "$nf_log_all_netns" >/proc/sys/net/netfilter/nf_log_all_netns

# ---- A rotating door under the shipped unit: its key through LoadCredential= ------------------
# The dynamic user cannot read root's key directory; systemd 252 hands the key over as a
# credential (the drop-in of knockwatch(8), KEY FILES). The shipped ruleset's commented
# door is enabled, the key made with `knockwatch key new`, and the client knocks it.
if knockwatch key new ssh-totp --no-qr >/tmp/key-new.log 2>&1 &&
        [[ $(stat -c '%a %U' /etc/knockwatch/keys/ssh-totp.key) == "600 root" ]]; then
        ok "knockwatch key new ssh-totp wrote /etc/knockwatch/keys/ssh-totp.key, mode 0600, root's"
else
        fail "knockwatch key new ssh-totp: $(tail -n 2 /tmp/key-new.log) ($(stat -c '%a %U' /etc/knockwatch/keys/ssh-totp.key 2>&1))"
fi
sed -i -e 's/^\(\s*\)# set ssh_totp4 {/\1set ssh_totp4 {/' \
        -e 's/^\(\s*\)#         \(type ipv4_addr\|flags timeout\|timeout [0-9]*s\|comment "knockwatch ssh-totp.*\)$/\1        \2/' \
        -e 's/^\(\s*\)# }$/\1}/' \
        -e 's/^\(\s*\)tcp dport $ssh_port ip6 saddr @ssh6 accept$/&\n\1tcp dport $ssh_port ip saddr @ssh_totp4 accept/' "$RULESET"
grep -q '^\s*set ssh_totp4 {' "$RULESET" && grep -q 'ip saddr @ssh_totp4 accept' "$RULESET" &&
        ! grep -q '^\s*#\s*timeout' "$RULESET" ||
        fail "could not enable the rotating door in $RULESET"
mkdir -p /etc/systemd/system/knockwatch.service.d
printf '[Service]\nLoadCredential=knockwatch.key.ssh-totp:/etc/knockwatch/keys/ssh-totp.key\n' \
        >/etc/systemd/system/knockwatch.service.d/keys.conf
systemctl daemon-reload
nft -f "$RULESET" || fail "the ruleset with the rotating door does not load"
out=$(knockwatch check 2>&1) && grep -q "rotating: 1 key(s) from the key directory" <<<"$out" &&
        ok "knockwatch check accepts the rotating door and finds its key" ||
        fail "knockwatch check on the rotating door: $out"
systemctl restart knockwatch || fail "systemctl restart knockwatch (with the key's drop-in) failed"
# (nft prints the protocol as a number where /etc/protocols is missing, as in a minbase)
if wait_until 5 eval 'nft list set inet knockwatch totp_ports | grep -qE "(tcp|6) \. [0-9]"'; then
        ok "the daemon (a dynamic user) read its key from \$CREDENTIALS_DIRECTORY and fills totp_ports"
else
        fail "totp_ports stays empty: $(journalctl -q --no-pager -b -u knockwatch -n 5 -o cat | tr '\n' ' ')"
fi
(($(daemon_log_count "no key for door key") == 0)) || fail "the daemon could not find the key"
granted_totp() { nft get element inet knockwatch ssh_totp4 "{ $CLI4 }" >/dev/null 2>&1; }
cp /etc/knockwatch/keys/ssh-totp.key /tmp/client.key
if cli knockwatch knock "$SRV4" --door-spec "totp key=ssh-totp 4 tcp:20000-59999" --key /tmp/client.key \
        --door ssh-totp >/tmp/knock.log 2>&1; then
        wait_until 5 granted_totp && ok "a TOTP knock from $CLI4 is granted in ssh_totp4 under systemd" ||
                fail "the TOTP knock from $CLI4 was not granted: $(journalctl -q --no-pager -b -u knockwatch -n 5 -o cat | tr '\n' ' ')"
else
        fail "knockwatch knock (TOTP) failed: $(cat /tmp/knock.log)"
fi
[[ -s /var/lib/private/knockwatch/totp-ssh-totp.last ]] &&
        ok "the window's success is in /var/lib/knockwatch/totp-ssh-totp.last" ||
        fail "no /var/lib/private/knockwatch/totp-ssh-totp.last after the TOTP grant"

# ---- The clock set back an hour: the windows follow it -----------------------------------------
# A clock stepped back (an admin's `date`, a bad time server) moves the live windows 120 steps
# back. The daemon looks at the realtime clock at least every 5 s of the monotonic one, so
# they follow within seconds. The key that succeeded "an hour later" opens nothing until the
# clock is past its success again (its windows are not even logged); a user's key that never
# succeeded opens at once. That key reaches the daemon through the directory form of
# LoadCredential= (ops.d in knockwatch(8)).
if knockwatch key new ssh-totp --user alice --no-qr >/tmp/key-alice.log 2>&1 &&
        [[ $(stat -c '%a %U' /etc/knockwatch/keys/ssh-totp/alice.key) == "600 root" ]]; then
        ok "knockwatch key new ssh-totp --user alice wrote /etc/knockwatch/keys/ssh-totp/alice.key, mode 0600"
else
        fail "knockwatch key new ssh-totp --user alice: $(tail -n 2 /tmp/key-alice.log)"
fi
printf 'LoadCredential=knockwatch.key.ssh-totp.d:/etc/knockwatch/keys/ssh-totp\n' \
        >>/etc/systemd/system/knockwatch.service.d/keys.conf
systemctl daemon-reload
systemctl restart knockwatch || fail "systemctl restart knockwatch (with alice's key) failed"
knockwatch revoke ssh-totp "$CLI4" >/tmp/revoke.log 2>&1 || fail "knockwatch revoke ssh-totp $CLI4: $(cat /tmp/revoke.log)"
totp_knock() {
        cli knockwatch knock "$SRV4" --door-spec "totp key=ssh-totp 4 tcp:20000-59999" --key "$1" \
                --door ssh-totp >/tmp/knock.log 2>&1 || fail "knockwatch knock --key $1 failed: $(cat /tmp/knock.log)"
}
cp /etc/knockwatch/keys/ssh-totp/alice.key /tmp/alice.key
clock_before=$(date +%s)
date -s "@$((clock_before - 3600))" >/dev/null || fail "could not set the VM's clock back"
sleep 6   # the longest the daemon goes without looking at the realtime clock, and a second
totp_knock /tmp/client.key
wait_until 3 granted_totp &&
        fail "an hour back, the key whose success is an hour later opened the door again" ||
        ok "the clock set back an hour: the key that succeeded later opens nothing"
totp_knock /tmp/alice.key
wait_until 5 granted_totp &&
        ok "the clock set back an hour: within 6 s the windows follow it, and alice's knock is granted" ||
        fail "the clock set back an hour: alice's knock of the new windows was not granted: $(journalctl -q --no-pager -b -u knockwatch -n 5 -o cat | tr '\n' ' ')"
date -s "@$(($(date +%s) + 3600))" >/dev/null || fail "could not put the VM's clock forward again"

# ---- apt purge leaves nothing behind ---------------------------------------------------------
[[ -d /var/lib/private/knockwatch && -L /var/lib/knockwatch ]] &&
        ok "knockwatch's state is in /var/lib/private/knockwatch, /var/lib/knockwatch links to it" ||
        fail "no state directory /var/lib/private/knockwatch with the link /var/lib/knockwatch"
if apt-get purge -y knockwatch >/tmp/purge.log 2>&1; then
        ok "apt-get purge knockwatch"
else
        fail "apt-get purge knockwatch failed: $(tail -n 3 /tmp/purge.log)"
fi
left=
for f in /var/lib/knockwatch /var/lib/private/knockwatch /etc/knockwatch/knockwatch.nft \
        /lib/systemd/system/knockwatch.service /usr/sbin/knockwatch \
        /etc/systemd/system/multi-user.target.wants/knockwatch.service; do
        [[ -e $f || -L $f ]] && left+=" $f"
done
others=$(find /etc/knockwatch -mindepth 1 -not -path '/etc/knockwatch/keys*' 2>/dev/null)
[[ -z $left && -z $others ]] && ok "after the purge nothing is left (state, ruleset, unit, enablement)" ||
        fail "left behind by the purge:$left $others"
# The users' keys were made by the admin (knockwatch key new), not by the package: purge
# keeps them, as it keeps the admin's drop-in.
[[ -f /etc/knockwatch/keys/ssh-totp.key ]] && ok "purge keeps the admin's keys in /etc/knockwatch/keys" ||
        fail "purge removed the admin's keys"
systemctl is-active --quiet knockwatch && fail "knockwatch still runs after the purge" ||
        ok "knockwatch no longer runs"
