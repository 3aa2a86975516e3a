#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# prepare-journal.sh — build the input of bench-journal: a journal file holding COUNT
# (default 1,000,000) kernel LOG entries of the current boot, made deterministically by
# systemd-journal-remote from a generated export stream (no journald involved).
#
#   bench/prepare-journal.sh [DIR [COUNT]]      DIR defaults to build/bench-journal
#
# Every entry has _TRANSPORT=kernel, SYSLOG_FACILITY=0, this boot's _BOOT_ID and a
# __MONOTONIC_TIMESTAMP in the past of this boot, so the journal source delivers all of
# them (with max_age 0). MESSAGEs are real LOG line shapes (TCP SYN, UDP, ICMP echo over
# IPv4, TCP SYN over IPv6) with varying addresses, ports and IDs, so the journal holds
# a million distinct data objects as a busy one would. Keep DIR out of git: it is
# several hundred MB. A journal made in an earlier boot must be made again.
set -euo pipefail

dir=${1:-build/bench-journal}
count=${2:-1000000}
remote=/lib/systemd/systemd-journal-remote
[[ -x $remote ]] || { echo "prepare-journal: $remote missing (apt-get install systemd-journal-remote)" >&2; exit 1; }
if [[ ! $count =~ ^[0-9]+$ ]] || ((count == 0)); then
        echo "prepare-journal: bad COUNT '$count'" >&2
        exit 64
fi

mkdir -p "$dir"
rm -f "$dir"/*.journal "$dir"/*.journal~ "$dir/prepared"

boot_id=$(tr -d '-' </proc/sys/kernel/random/boot_id)
# CLOCK_BOOTTIME in µs; CLOCK_MONOTONIC is at most that. The entries end a minute before
# now and are 10 µs apart.
read -r uptime _ </proc/uptime
mono_end=$(awk -v u="$uptime" 'BEGIN { printf "%.0f", u * 1000000 - 60000000 }')
real_end=$(($(date +%s%N) / 1000 - 60000000))
((mono_end > count * 10)) || { echo "prepare-journal: the machine has not been up long enough" >&2; exit 1; }

awk -v n="$count" -v boot="$boot_id" -v mono_end="$mono_end" -v real_end="$real_end" '
BEGIN {
        mac = "52:54:00:12:34:56:52:54:00:65:43:21:08:00"
        mac6 = "52:54:00:12:34:56:52:54:00:65:43:21:86:dd"
        for (i = 0; i < n; i++) {
                back = (n - i) * 10
                src = sprintf("198.51.%d.%d", int(i / 250) % 250, i % 250 + 1)
                spt = 32768 + (i * 7919) % 28000
                id = (i * 104729) % 65536
                kind = i % 4
                if (kind == 0)
                        msg = sprintf("PORT_KNOCKING IN=eth0 OUT= MAC=%s SRC=%s DST=203.0.113.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=%d DF PROTO=TCP SPT=%d DPT=3721 WINDOW=64240 RES=0x00 SYN URGP=0 ", mac, src, id, spt)
                else if (kind == 1)
                        msg = sprintf("PORT_KNOCKING IN=eth0 OUT= MAC=%s SRC=%s DST=203.0.113.1 LEN=33 TOS=0x00 PREC=0x00 TTL=64 ID=%d DF PROTO=UDP SPT=%d DPT=4728 LEN=13 ", mac, src, id, spt)
                else if (kind == 2)
                        msg = sprintf("PORT_KNOCKING IN=eth0 OUT= MAC=%s SRC=%s DST=203.0.113.1 LEN=151 TOS=0x00 PREC=0x00 TTL=64 ID=%d PROTO=ICMP TYPE=8 CODE=0 ID=%d SEQ=1 ", mac, src, id, spt)
                else
                        msg = sprintf("PORT_KNOCKING IN=eth0 OUT= MAC=%s SRC=2001:0db8:0000:0000:0000:0000:%04x:%04x DST=2001:0db8:0000:0000:0000:0000:0000:0001 LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=%d PROTO=TCP SPT=%d DPT=6742 WINDOW=64800 RES=0x00 SYN URGP=0 ", mac6, int(i / 65536), i % 65536, id * 7, spt)
                # %.0f, since %d may stop at 2^31 in mawk
                printf "__REALTIME_TIMESTAMP=%.0f\n__MONOTONIC_TIMESTAMP=%.0f\n_BOOT_ID=%s\n_TRANSPORT=kernel\nSYSLOG_FACILITY=0\nSYSLOG_IDENTIFIER=kernel\nPRIORITY=4\n_HOSTNAME=bench\n_SOURCE_MONOTONIC_TIMESTAMP=%.0f\nMESSAGE=%s\n\n",
                        real_end - back, mono_end - back, boot, mono_end - back - 3000, msg
        }
}' | "$remote" --split-mode=none -o "$dir/bench.journal" -

# For bench-journal.sh: what this directory holds, so it is made again only when needed.
echo "$boot_id $count" >"$dir/prepared"
echo "prepare-journal: $count entries in $(du -sh "$dir" | cut -f1) at $dir (boot $boot_id)"
