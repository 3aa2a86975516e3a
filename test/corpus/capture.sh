#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# capture.sh — capture real netfilter LOG lines from the running kernel for the parser
# corpus (test/corpus/real-*.txt). Not a test: run it by hand, as root, after a build:
#
#   KW_SRCDIR=$PWD KW_BUILDDIR=$PWD/build test/corpus/capture.sh OUTDIR
#
# Uses address slot 31 (test/lib.sh). Each packet sent is declared with the result the
# parser must give for the line(s) it produces; lines are read back from /dev/kmsg by
# sequence number, so each is labelled with the packet that caused it (fragments, which
# prerouting logs before reassembly, are labelled "ignore"). The same records are also
# taken as dmesg prints them and as a real rsyslogd (imkmsg) writes them in the RFC 3339
# and the traditional file formats. Output: OUTDIR/real-{kernel,dmesg,syslog-rfc3339,syslog-traditional}.txt
# in the corpus format of test/corpus/README.md.
# (rsyslogd/imkmsg writes no "[ secs]" stamp; the fixtures' rsyslog lines, from imklog, do.)
set -euo pipefail
out=$(realpath "${1:?usage: capture.sh OUTDIR}")
mkdir -p "$out"
. "$KW_SRCDIR/test/lib.sh"
kw_require_root
kw_net_setup 31
# Our own scratch directory (not KW_TMP: other tests' cleanups may sweep /tmp/kw-test.*).
W=$(mktemp -d /var/tmp/kwcap31.XXXXXX)
trap 'kw_cleanup; rm -rf "$W"' EXIT

# Real rsyslogd reading /dev/kmsg (non-destructive, unlike imklog's /proc/kmsg).
mkdir -p "$W/rsyslog"
cat >"$W/rsyslog/rsyslog.conf" <<EOF
global(workDirectory="$W/rsyslog")
module(load="imkmsg")
kern.* action(type="omfile" file="$W/rsyslog/rfc.log" template="RSYSLOG_FileFormat")
kern.* action(type="omfile" file="$W/rsyslog/trad.log" template="RSYSLOG_TraditionalFileFormat")
EOF
rsyslogd -n -f "$W/rsyslog/rsyslog.conf" -i "$W/rsyslog/pid" &
KW_PIDS+=($!)

# The client rejects TCP to 3721 with an ICMP error, so the server logs an ICMP
# destination-unreachable that quotes a SYN to a knock port.
kw_cli nft -f - <<'EOF'
table inet kwcapcli { chain input { type filter hook input priority 0; tcp dport 3721 reject; }; }
EOF

ruleset() { # ruleset LOGSTATEMENT
        kw_srv nft -f - <<EOF
flush ruleset
table inet kwcap {
        chain pre {
                type filter hook prerouting priority -450;
                ip frag-off & 0x3fff != 0 $1
        }
        chain input {
                type filter hook input priority 0;
                tcp dport { 3721, 4728, 6742 } $1
                udp dport { 3721, 4728, 6742 } $1
                ip protocol tcp ip length < 40 $1
                icmp type { echo-request, destination-unreachable } $1
                icmpv6 type { echo-request, destination-unreachable } $1
                exthdr frag exists $1
        }
}
EOF
}

kmsg_all() { dd if=/dev/kmsg iflag=nonblock bs=16384 2>/dev/null || true; }
last_seq() { kmsg_all | tail -n 1 | cut -d, -f2; }

SEQ0=$(last_seq)
LABELS=$W/labels # "SEQ_FROM SEQ_TO LABEL"
: >"$LABELS"

# send LABEL CMD...: run CMD (in the client namespace unless it starts with "srv"), then
# record which kmsg records it produced.
send() {
        local label=$1 from to
        shift
        from=$(last_seq)
        if [[ $1 == srv ]]; then
                shift
                kw_srv "$@" >/dev/null 2>&1 || true
        elif declare -F "$1" >/dev/null; then
                "$@" >/dev/null 2>&1 || true
        else
                kw_cli "$@" >/dev/null 2>&1 || true
        fi
        sleep 0.3
        to=$(last_seq)
        echo "$from $to $label" >>"$LABELS"
}

# IPv6 TCP segments with any flags (hping3 speaks IPv4 only): a raw socket with the
# kernel filling in the checksum.
tcp6() { # tcp6 FLAGS(int) DPORT
        kw_cli python3 - "$SRV6" "$CLI6" "$1" "$2" <<'EOF'
import socket, struct, sys
dst, src, flags, dport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP)
s.setsockopt(socket.IPPROTO_IPV6, 7, 16)  # IPV6_CHECKSUM: offset of the TCP checksum
s.bind((src, 0))
hdr = struct.pack("!HHIIBBHHH", 40123, dport, 1000, 0, 5 << 4, flags, 8192, 0, 0)
s.sendto(hdr, (dst, 0))
EOF
}
FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE=64 CWR=128

c4=$CLI4 c6=$CLI6

phase() { # phase LOGSTATEMENT
        ruleset "$1"
        # IPv4 TCP
        send "knock $c4 tcp:3721" "$NETPROBE" connect "$SRV4" 3721 - 100
        send "knock $c4 tcp:4728" hping3 -c 1 -S -p 4728 "$SRV4"
        send "ignore" hping3 -c 1 -S -A -p 3721 "$SRV4"
        send "ignore" hping3 -c 1 -A -p 3721 "$SRV4"
        send "ignore" hping3 -c 1 -R -p 3721 "$SRV4"
        send "ignore" hping3 -c 1 -F -p 3721 "$SRV4"
        send "ignore" hping3 -c 1 -F -P -U -A -p 6742 "$SRV4"
        send "ignore" hping3 -c 1 -S -R -p 6742 "$SRV4"
        send "ignore" hping3 -c 1 -S -F -p 6742 "$SRV4"
        send "knock $c4 tcp:6742" hping3 -c 1 -S -X -Y -p 6742 "$SRV4"
        send "knock $c4 tcp:6742" hping3 -c 1 -S -P -U -p 6742 "$SRV4"
        send "ignore" hping3 -c 1 -p 6742 "$SRV4"
        send "ignore" hping3 -c 1 -0 -H 6 -d 4 "$SRV4"
        # IPv6 TCP
        send "knock $c6 tcp:3721" "$NETPROBE" connect "$SRV6" 3721 "$CLI6" 100
        send "knock $c6 tcp:4728" tcp6 $SYN 4728
        send "ignore" tcp6 $((SYN | ACK)) 3721
        send "ignore" tcp6 $ACK 3721
        send "ignore" tcp6 $RST 3721
        send "ignore" tcp6 $FIN 3721
        send "ignore" tcp6 $((FIN | PSH | URG | ACK)) 6742
        send "knock $c6 tcp:6742" tcp6 $((SYN | ECE | CWR)) 6742
        # UDP
        send "knock $c4 udp:4728" bash -c "echo -n hello >/dev/udp/$SRV4/4728"
        send "knock $c4 udp:6742" bash -c "echo -n >/dev/udp/$SRV4/6742"
        send "knock $c6 udp:4728" nc -u -w 0 -s "$CLI6" "$SRV6" 4728 <<<hello
        # ICMP echo requests of several sizes; 3000 is fragmented on the wire
        for n in 0 1 56 123 1472 3000; do
                send "knock $c4 ping:$n" ping -c 1 -W 1 -s "$n" "$SRV4"
        done
        for n in 0 50 1452 3000; do
                send "knock $c6 ping:$n" ping -6 -c 1 -W 1 -I "$CLI6" -s "$n" "$SRV6"
        done
        # ICMP errors quoting a packet to a knock port (TCP SYN and UDP)
        send "ignore" srv "$NETPROBE" connect "$CLI4" 3721 - 100
        sleep 1 # ICMP error rate limit
        send "ignore" srv bash -c "echo -n x >/dev/udp/$CLI4/4728"
        send "ignore" srv "$NETPROBE" connect "$CLI6" 3721 - 100
        sleep 1
        send "ignore" srv bash -c "echo -n x >/dev/udp/$CLI6/4728"
        sleep 1
}

phase 'log prefix "PORT_KNOCKING "'
phase 'log prefix "PORT_KNOCKING " flags all'

# Level info changes only the record priority; other prefixes are not ours.
ruleset 'log prefix "PORT_KNOCKING " level info'
send "knock $c4 tcp:3721" "$NETPROBE" connect "$SRV4" 3721 - 100
send "knock $c6 tcp:3721" "$NETPROBE" connect "$SRV6" 3721 "$CLI6" 100
ruleset 'log prefix "PORT_KNOCKING_X "'
send "reject ENOMSG" "$NETPROBE" connect "$SRV4" 3721 - 100
send "reject ENOMSG" "$NETPROBE" connect "$SRV6" 3721 "$CLI6" 100
ruleset 'log'
send "reject ENOMSG" "$NETPROBE" connect "$SRV4" 3721 - 100
ruleset 'log prefix "PORT_KNOCKING X "'
send "reject ENOMSG" "$NETPROBE" connect "$SRV4" 3721 - 100
sleep 1

# Our records: facility 0 (the kernel), after SEQ0, mentioning a slot-31 address.
mine='192\.0\.2\.25[0-5]|2001:0db8:0000:0000:0000:0000:001f:'
kmsg_all | awk -F';' -v s0="$SEQ0" -v re="$mine" '
        { split($1, h, ","); if (h[2] + 0 > s0 + 0 && int(h[1] / 8) == 0 && $0 ~ re) print }' \
        >"$W/records"

# label SEQ: the label of the send that produced record SEQ.
awk -v labels="$LABELS" '
        BEGIN { while ((getline l < labels) > 0) { split(l, f, " "); n++; lo[n] = f[1]; hi[n] = f[2];
                sub(/^[^ ]+ [^ ]+ /, "", l); lab[n] = l } }
        {
                split($0, parts, ";"); split(parts[1], h, ","); seq = h[2] + 0
                text = substr($0, index($0, ";") + 1)
                label = "UNLABELLED"
                for (i = 1; i <= n; i++) if (seq > lo[i] + 0 && seq <= hi[i] + 0) label = lab[i]
                # Fragments logged before reassembly: an IPv4 fragment (MF or FRAG:) or an
                # IPv6 one (FRAG:) carries no usable size.
                if (text ~ / (MF|FRAG:[0-9]+) /) label = "ignore"
                # An ICMP error is never a knock, whatever it quotes.
                if (text ~ /PROTO=ICMP(v6)? TYPE=(3|1) /) label = "ignore"
                printf "%s\t%d\t%s\t%s\n", label, h[3], h[1], text
        }' "$W/records" >"$W/labelled"

# KERNEL form: the record text.
{
        echo "# Real lines captured by capture.sh on $(uname -r), /dev/kmsg record text."
        awk -F'\t' '{ printf "%s | %s\n", $1, $4 }' "$W/labelled"
} >"$out/real-kernel.txt"
dmesg >"$W/dmesg.log"

# dmesg, rsyslog: find each record's message in their output and give it the same label.
kill -TERM "$(cat "$W/rsyslog/pid")"
sleep 1
for f in dmesg.log:dmesg rsyslog/rfc.log:syslog-rfc3339 rsyslog/trad.log:syslog-traditional; do
        awk -F'\t' '
                FNR == NR { label[$4] = $1; next }
                {
                        i = index($0, "kernel: "); msg = i ? substr($0, i + 8) : $0
                        sub(/^\[ *[0-9]+\.[0-9]+\] /, "", msg)
                        if (msg in label) printf "%s | %s\n", label[msg], $0
                }' "$W/labelled" "$W/${f%%:*}" >"$W/out-${f#*:}"
        {
                echo "# Real lines captured by capture.sh on $(uname -r), as ${f%%:*} has them."
                cat "$W/out-${f#*:}"
        } >"$out/real-${f#*:}.txt"
done
wc -l "$out"/real-*.txt
