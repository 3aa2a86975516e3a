# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# e2e-totp.sh — a rotating (TOTP) door through the whole daemon, on the real kernel.
#
# The cases of issue 10, "Tests": the door opens with knockwatch knock and with
# scripts/knock (bash and dash); a used window's ports leave totp_ports at once; the same
# sequence sent again from another address in the same window opens nothing; a used
# window's sequence opens nothing again, the next window's does; a wrong key opens
# nothing; a knock straddling a step boundary opens; only totp_ports (and static doors'
# ports) reach the kernel log, so a SYN to another port of the range leaves no line; a key
# file with mode 0644 is refused, naming it. And a ruleset without totp_ports: said once, no
# retry storm, the ports given again once the set is back.
# Slot 51 (198.51.100.161-167, 2001:db8::33:1-7).

# shellcheck source=test/lib.sh
. "${KW_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}/test/lib.sh"
kw_require_root
kw_net_setup 51

DOOR_SPEC="totp key=ssh 4 tcp:20000-59999 step 10s within 5s"
COMMENT="knockwatch ssh: $DOOR_SPEC"
KEYDIR=$KW_TMP/keys
"$KNOCKWATCH" key new ssh --key-dir "$KEYDIR" --no-qr >/dev/null || kw_fail "key new failed"
KEY=$KW_TMP/client.key            # the user's copy (root runs the client here)
cp "$KEYDIR/ssh.key" "$KEY"
chmod 600 "$KEY"
"$KNOCKWATCH" key new other --key-dir "$KW_TMP/otherkeys" --no-qr >/dev/null
WRONG_KEY=$KW_TMP/otherkeys/other.key

cat >"$KW_TMP/totp.nft" <<EOF
table inet knockwatch {
        set ssh4 { type ipv4_addr; flags timeout; timeout 4s; comment "$COMMENT"; }
        set ssh6 { type ipv6_addr; flags timeout; timeout 4s; comment "knockwatch ssh"; }
        set totp_ports { type inet_proto . inet_service; flags timeout; }
        counter knock_logged { }
        counter knock_unlogged { }
        chain input {
                type filter hook input priority filter - 10; policy accept;
                tcp flags & (fin | syn | rst | ack) == syn meta l4proto . th dport @totp_ports counter name knock_logged log prefix "PORT_KNOCKING " level warn
                tcp flags & (fin | syn | rst | ack) == syn meta l4proto . th dport @totp_ports drop
                tcp flags & (fin | syn | rst | ack) == syn tcp dport 20000-59999 counter name knock_unlogged drop
                tcp dport 22 ct state established,related accept
                tcp dport 22 ip saddr @ssh4 accept
                tcp dport 22 ip6 saddr @ssh6 accept
                tcp dport 22 drop
        }
}
EOF
kw_add_secret "$KW_TMP/totp.nft"
kw_ruleset "$KW_TMP/totp.nft"
kw_listen 22
mkdir -p "$KW_TMP/state"
kw_daemon_start --source=kmsg --key-dir="$KEYDIR" --state-dir="$KW_TMP/state" --runtime-dir="$KW_TMP/run"

# knock_at SRC UNIX [KEY]: the door's sequence of that time, from SRC.
knock_at() {
        local src=$1 t=$2 key=${3:-$KEY} step
        for step in $("$KNOCKWATCH" totp ssh --key "$key" --time "$t" --door-spec "$DOOR_SPEC"); do
                kw_syn "$SRV4" "${step#tcp:}" "$src"
        done
}

now() { date +%s; }

wait_open() { # SRC WHAT
        kw_wait_until 3 kw_set_has ssh4 "$1" || kw_fail "$2: $1 was not granted"
        kw_expect "$SRV4" 22 "$1" open
}
stays_shut() { # SRC WHAT
        sleep 1.5
        kw_set_has ssh4 "$1" && kw_fail "$2: $1 was granted"
        kw_expect "$SRV4" 22 "$1" timeout
}
expire() { # SRC
        kw_wait_until 8 kw_set_lacks ssh4 "$1" || kw_fail "the grant of $1 did not expire"
}

# The ports of the live windows are in totp_ports, each with a timeout of its own.
kw_wait_until 3 eval 'kw_srv nft list set inet knockwatch totp_ports | grep -qE "(tcp|6) \. [0-9]"' ||
        kw_fail "totp_ports holds no port"

# --- opens with each client ------------------------------------------------------------

kw_cli "$KNOCKWATCH" knock "$SRV4" --door-spec "$COMMENT" --key "$KEY" --delay 20 ||
        kw_fail "knockwatch knock failed"
wait_open "$CLI4" "knockwatch knock"
kw_pass "a TOTP door opens with knockwatch knock"
expire "$CLI4"

for sh in bash dash; do
        # The previous window is used up: wait for the next step.
        sleep 10
        kw_cli "$sh" "$KW_SRCDIR/scripts/knock" --delay 20 "$SRV4" --door ssh --door-spec "$DOOR_SPEC" --key "$KEY" ||
                kw_fail "scripts/knock under $sh failed"
        wait_open "$CLI4" "scripts/knock under $sh"
        kw_pass "a TOTP door opens with scripts/knock under $sh"
        expire "$CLI4"
done

# --- replays and wrong keys --------------------------------------------------------------

sleep 10
t=$(now)
knock_at "$CLI4" "$t"
wait_open "$CLI4" "a fresh window"
# The used window's ports leave totp_ports at once, all but those a later window shares.
ports_of() { "$KNOCKWATCH" totp ssh --key "$KEY" --time "$1" --door-spec "$DOOR_SPEC" | tr ' ' '\n' | sed 's/^tcp://'; }
keep=" $(ports_of $((t + 10)) | tr '\n' ' ') $(ports_of $((t + 20)) | tr '\n' ' ') $(ports_of $((t + 30)) | tr '\n' ' ') "
for p in $(ports_of "$t"); do
        [[ $keep == *" $p "* ]] && continue
        kw_wait_until 2 eval "! kw_set_has totp_ports 'tcp . $p'" ||
                kw_fail "tcp:$p of the used window is still in totp_ports: $(kw_srv nft list set inet knockwatch totp_ports)"
done
kw_pass "a used window's ports leave totp_ports at once"
knock_at "$CLI4B" "$t"
stays_shut "$CLI4B" "the same sequence from another address"
kw_pass "the same sequence sent again from another address in the same step opens nothing"
expire "$CLI4"
knock_at "$CLI4" "$t"
stays_shut "$CLI4" "a used window again"
knock_at "$CLI4" $((t + 10))
wait_open "$CLI4" "the next window"
kw_pass "a used window's sequence opens nothing again; the next window's does"
expire "$CLI4"

sleep 10
knock_at "$CLI4" "$(now)" "$WRONG_KEY"
stays_shut "$CLI4" "a wrong key"
kw_pass "a wrong key opens nothing"

# --- a knock straddling a step boundary ----------------------------------------------------

# Start 0.2 s before a boundary; four steps 150 ms apart end after it.
while (($(date +%s%N) / 100000000 % 100 != 98)); do sleep 0.02; done
kw_cli "$KNOCKWATCH" knock "$SRV4" --door-spec "$COMMENT" --key "$KEY" --delay 150 ||
        kw_fail "the straddling knock failed"
wait_open "$CLI4" "a knock straddling a step boundary"
kw_pass "a knock straddling a step boundary opens"
expire "$CLI4"

# --- a used window stays used across a restart ---------------------------------------------

sleep 10
t=$(now)
knock_at "$CLI4" "$t"
wait_open "$CLI4" "a window before the restart"
grep -qx -- "\* $((t / 10)) 10" "$KW_TMP/state/totp-ssh.last" ||
        kw_fail "the state file does not hold window $((t / 10)): $(cat "$KW_TMP/state/totp-ssh.last" 2>&1)"
expire "$CLI4"
kw_daemon_stop
kw_daemon_start --source=kmsg --key-dir="$KEYDIR" --state-dir="$KW_TMP/state" --runtime-dir="$KW_TMP/run"
knock_at "$CLI4" "$t"
stays_shut "$CLI4" "a window used before the restart"
# (The window is not even live for the new daemon: it read the success back.)
kw_daemon_log_has "completed window $((t / 10)) of door ssh\." &&
        kw_fail "the restarted daemon accepted window $((t / 10)) again"
kw_pass "a used window stays used across a restart (its success is in the state directory)"

# --- only live ports reach the kernel log ------------------------------------------------------

live=$(kw_srv nft list set inet knockwatch totp_ports | grep -oE '(tcp|6) \. [0-9]+' | awk '{ print $3 }' | tr '\n' ' ')
port=20000
while [[ " $live " == *" $port "* ]]; do port=$((port + 1)); done
mark="kw-e2e-totp $$ ."
printf '%s\n' "$mark" >/dev/kmsg
kw_syn "$SRV4" "$port" "$CLI4"
sleep 1
dmesg --notime | awk -v mark="$mark" 'index($0, mark) { f = 1; next } f' |
        grep -q "SRC=$CLI4 .*DPT=$port " && kw_fail "a SYN to tcp:$port (not live) was logged"
kw_pass "a SYN to a port of the range that is not live leaves no line in the kernel log"

# The ruleset's named counters, in knockwatch status: the knocks logged, the SYN dropped.
status=$(kw_srv "$KNOCKWATCH" status --runtime-dir="$KW_TMP/run")
counted() { # NAME: its packets in status
        sed -n "s/.*[ ,]$1 \([0-9]*\) packet.*/\1/p" <<<"$status"
}
(($(counted knock_logged) >= 16)) || kw_fail "status: knock_logged is not counted: $status"
(($(counted knock_unlogged) >= 1)) || kw_fail "status: knock_unlogged is not counted: $status"
kw_pass "status shows the ruleset's counters: knocks logged, SYNs to the range dropped unlogged"

# --- knockwatch check ----------------------------------------------------------------------------

out=$(kw_srv "$KNOCKWATCH" check --ruleset="$KW_TMP/totp.nft" --key-dir="$KEYDIR" 2>&1) ||
        kw_fail "knockwatch check failed on the TOTP ruleset: $out"
grep -q "rotating: 1 key(s) from the key directory ($KEYDIR): the door's own" <<<"$out" ||
        kw_fail "knockwatch check does not describe the door's keys: $out"
port=$(kw_srv nft list set inet knockwatch totp_ports | grep -oE '(tcp|6) \. [0-9]+' | awk 'NR == 1 { print $3 }')
kw_listen "$port"
kw_wait_until 3 eval 'kw_srv ss -Hltn "sport = :$port" | grep -q .' || kw_fail "no listener on $port"
out=$(kw_srv "$KNOCKWATCH" check --ruleset="$KW_TMP/totp.nft" --key-dir="$KEYDIR" 2>&1)
grep -q "warning: door \"ssh\": tcp:$port, a port of a window live now, is a listening socket" <<<"$out" ||
        kw_fail "knockwatch check did not warn about the listener on live port $port: $out"
kw_pass "knockwatch check names a listening socket on a live window's port"

# --- totp_ports missing --------------------------------------------------------------------------
# Every add to it fails alike: said once, and nothing more is sent until the ruleset changes
# (no retry each second for every port of every key); with the set back, the ports are too.
nft_errors() { kw_srv "$KNOCKWATCH" status --json --runtime-dir="$KW_TMP/run" | jq .daemon.counters.nft_errors; }
{ printf 'table inet knockwatch\ndelete table inet knockwatch\n'; grep -v totp_ports "$KW_TMP/totp.nft"; } >"$KW_TMP/noports.nft"
{ printf 'table inet knockwatch\ndelete table inet knockwatch\n'; cat "$KW_TMP/totp.nft"; } >"$KW_TMP/again.nft"
kw_ruleset "$KW_TMP/noports.nft"
kw_wait_until 3 kw_daemon_log_has 'Could not add tcp:[0-9]+ to set .*the table needs "set totp_ports' ||
        kw_fail "the daemon did not say that totp_ports is missing"
sleep 1.2  # the status file is rewritten at most once a second
e1=$(nft_errors)
sleep 3
e2=$(nft_errors)
[[ -n $e1 && $e1 == "$e2" ]] || kw_fail "with totp_ports missing, the nft errors went on: $e1, then $e2 three seconds later"
kw_ruleset "$KW_TMP/again.nft"
kw_wait_until 3 eval 'kw_srv nft list set inet knockwatch totp_ports | grep -qE "(tcp|6) \. [0-9]"' ||
        kw_fail "with totp_ports back, the live windows' ports were not given again"
kw_wait_until 3 kw_daemon_log_has "Adding ports to set .*totp_ports.* works again" ||
        kw_fail "the daemon did not say that totp_ports works again"
kw_pass "without totp_ports the daemon says so once and waits for the ruleset to change; with it back, the ports are given again"

# --- a key file others can read ---------------------------------------------------------------

kw_daemon_stop
chmod 644 "$KEYDIR/ssh.key"
out=$(kw_srv "$KNOCKWATCH" check --ruleset="$KW_TMP/totp.nft" --key-dir="$KEYDIR" 2>&1) &&
        kw_fail "knockwatch check passed with a key file of mode 0644"
grep -q "error: door \"ssh\": .*$KEYDIR/ssh.key.*0644" <<<"$out" ||
        kw_fail "knockwatch check did not name the key file of mode 0644: $out"
kw_daemon_start --source=kmsg --key-dir="$KEYDIR" --state-dir="$KW_TMP/state" --runtime-dir="$KW_TMP/run"
kw_wait_until 3 kw_daemon_log_has "$KEYDIR/ssh.key.*mode 0644" ||
        kw_fail "the daemon did not refuse the key file with mode 0644, naming it"
kw_pass "a key file with mode 0644 is refused, naming the file"

echo "all TOTP door tests passed"
