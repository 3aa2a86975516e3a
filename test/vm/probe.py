#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# probe.py — the VM test's network helper, in the image's own python3 (nothing of the
# project's build goes into the VM but the package):
#   probe.py listen PORT                      accept TCP on PORT (IPv4 and IPv6), close at once
#   probe.py connect ADDR PORT [FROM] [SECS]  print open, refused, timeout or error
#   probe.py knock ADDR FROM PORT...          one SYN per port from FROM (- for any), 100 ms apart
#   probe.py expires-ms SET ADDR              time left of ADDR in SET of inet knockwatch (ms)
import re
import socket
import subprocess
import sys
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def listen(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        c.close()


def connect(addr, port, src=None, secs=2.0):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.settimeout(secs)
    try:
        if src and src != "-":
            s.bind((src, 0))
        s.connect((addr, port))
        return "open"
    except ConnectionRefusedError:
        return "refused"
    except (socket.timeout, TimeoutError):
        return "timeout"
    except OSError as e:
        return "error: %s" % e
    finally:
        s.close()


def knock(addr, src, ports):
    # A connect given up after 100 ms: exactly one SYN (TCP would resend it after 1 s).
    for p in ports:
        s = socket.socket(family(addr), socket.SOCK_STREAM)
        if src != "-":
            s.bind((src, 0))
        s.setblocking(False)
        s.connect_ex((addr, p))
        time.sleep(0.1)
        s.close()


UNITS_MS = {"d": 86400000, "h": 3600000, "m": 60000, "s": 1000, "ms": 1}


def expires_ms(set_name, addr):
    out = subprocess.run(["nft", "get", "element", "inet", "knockwatch", set_name,
                          "{ %s }" % addr], capture_output=True, text=True)
    m = re.search(r"expires ((?:\d+(?:ms|d|h|m|s))+)", out.stdout)
    if out.returncode != 0 or not m:
        return None
    return sum(int(n) * UNITS_MS[u] for n, u in re.findall(r"(\d+)(ms|d|h|m|s)", m.group(1)))


def main(argv):
    cmd = argv[1]
    if cmd == "listen":
        listen(int(argv[2]))
    elif cmd == "connect":
        print(connect(argv[2], int(argv[3]), argv[4] if len(argv) > 4 else None,
                      float(argv[5]) if len(argv) > 5 else 2.0))
    elif cmd == "knock":
        knock(argv[2], argv[3], [int(p) for p in argv[4:]])
    elif cmd == "expires-ms":
        ms = expires_ms(argv[2], argv[3])
        if ms is None:
            return 1
        print(ms)
    else:
        print("probe.py: unknown command " + cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
