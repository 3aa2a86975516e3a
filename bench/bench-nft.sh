#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-nft.sh — run bench-nft in a network namespace of its own, with a ruleset made
# for it: `meson test -C build --benchmark bench-nft -v`, or by hand as root:
#   KW_SRCDIR=. KW_BUILDDIR=build bash bench/bench-nft.sh [ITERATIONS]

. "$KW_SRCDIR/test/lib.sh"
if [[ $(id -u) != 0 ]]; then
        echo "SKIP: bench-nft needs root"
        exit 77
fi

BENCH_NFT=${BENCH_NFT:-$KW_BUILDDIR/bench/bench-nft}
[[ -x $BENCH_NFT ]] || kw_fail "no bench-nft at $BENCH_NFT (build first)"

NS="kw-s1-bench-$$"
ip netns add "$NS"
KW_NETNS+=("$NS")
cat >"$KW_TMP/bench.nft" <<NFT
table inet kwbench {
        set allow4 { type ipv4_addr; flags timeout; timeout 1m; }
        set allow6 { type ipv6_addr; flags timeout; timeout 1m; }
        chain input {
                type filter hook input priority filter; policy accept;
                tcp dport 22 ip saddr @allow4 accept
                tcp dport 22 ip6 saddr @allow6 accept
                tcp dport 22 drop
        }
}
NFT
ip netns exec "$NS" nft -f "$KW_TMP/bench.nft" || kw_fail "nft -f failed"
ip netns exec "$NS" "$BENCH_NFT" "$@" || kw_fail "bench-nft failed"
