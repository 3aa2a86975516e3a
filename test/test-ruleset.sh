#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-ruleset: ruleset_load_file() (knockwatch/ruleset.c, through test/ruleset-load) in a
# network namespace of its own: the shipped ruleset and a small one load and their tables
# are there; a syntax error fails naming the file and the line; a file that fails half-way
# loads nothing; a missing, unreadable, group- or world-writable, foreign-owned file, a
# directory and a FIFO are refused with a message naming the file; without CAP_NET_ADMIN
# the message is nft's own. Writes no kernel log lines; slot 32's namespace name.
. "$KW_SRCDIR/test/lib.sh"
kw_require_root
RULESET_LOAD=${RULESET_LOAD:-$KW_BUILDDIR/test/ruleset-load}
[[ -x $RULESET_LOAD ]] || kw_fail "no ruleset-load at $RULESET_LOAD (build first)"

NS="kw-s32-ruleset-$$"
ip netns add "$NS"
KW_NETNS+=("$NS")
in_ns() { ip netns exec "$NS" "$@"; }

# load FILE [AS_USER]: run the loader; sets rc, out and err.
load() {
        local -a cmd=("$RULESET_LOAD" "$1")
        [[ -n ${2:-} ]] && cmd=(setpriv --reuid="$2" --regid="$2" --clear-groups --inh-caps=-all -- "${cmd[@]}")
        rc=0
        timeout 10 ip netns exec "$NS" "${cmd[@]}" >"$KW_TMP/out" 2>"$KW_TMP/err" || rc=$?
        out=$(cat "$KW_TMP/out")
        err=$(cat "$KW_TMP/err")
}

# expect_refused FILE RC TEXT... [-- AS_USER]: exit status RC, one line on stderr holding every TEXT.
expect_refused() {
        local file=$1 want=$2 user='' text
        shift 2
        local texts=()
        while (($#)); do
                if [[ $1 == -- ]]; then
                        user=$2
                        break
                fi
                texts+=("$1")
                shift
        done
        load "$file" "$user"
        ((rc != 124)) || kw_fail "loading $file hung"
        ((rc == want)) || kw_fail "loading $file: exit $rc, expected $want (stderr: $err)"
        [[ $(wc -l <"$KW_TMP/err") == 1 ]] || kw_fail "loading $file: expected one line on stderr, got: $err"
        for text in "${texts[@]}"; do
                [[ $err == *"$text"* ]] || kw_fail "loading $file: the message does not say '$text': $err"
        done
}

table_exists() { in_ns nft list table "$@" >/dev/null 2>&1; }

mkdir -m 0755 "$KW_TMP/rules"
good=$KW_TMP/rules/good.nft
cat >"$good" <<'EOF'
table inet kwrs
delete table inet kwrs
table inet kwrs {
        set ssh4 { type ipv4_addr; flags timeout; timeout 60s; comment "knockwatch ssh: tcp:1 tcp:3 tcp:2 within 5s"; }
        chain input {
                type filter hook input priority filter - 10; policy accept;
                tcp dport 22 ip saddr @ssh4 accept
        }
}
EOF
chmod 0640 "$good"

# --- files that load ---------------------------------------------------------------------
load "$good"
((rc == 0)) && [[ $out == loaded && -z $err ]] || kw_fail "the good file did not load: rc $rc, $out $err"
table_exists inet kwrs || kw_fail "the good file loaded, but table inet kwrs is not there"
grep -q 'comment "knockwatch ssh: tcp:1 tcp:3 tcp:2 within 5s"' <<<"$(in_ns nft list set inet kwrs ssh4)" ||
        kw_fail "set ssh4 is not as the file says"
load "$good"
((rc == 0)) || kw_fail "loading the good file a second time failed: $err"
kw_pass "a good file loads (twice), and its table and set are in the kernel"

in_ns nft delete table inet kwrs
ln -s "$good" "$KW_TMP/rules/link.nft"
load "$KW_TMP/rules/link.nft"
((rc == 0)) && table_exists inet kwrs || kw_fail "a symbolic link to the good file did not load: $err"
kw_pass "a symbolic link to a good file loads"

install -m 0600 "$KW_SRCDIR/rules/knockwatch.nft" "$KW_TMP/rules/knockwatch.nft"
load "$KW_TMP/rules/knockwatch.nft"
((rc == 0)) && table_exists inet knockwatch || kw_fail "the shipped rules/knockwatch.nft did not load: $err"
in_ns nft list set inet knockwatch ssh4 >/dev/null || kw_fail "the shipped ruleset has no set ssh4 after loading"
kw_pass "the shipped rules/knockwatch.nft loads and creates table inet knockwatch"

# --- nft refuses the file ------------------------------------------------------------------
bad=$KW_TMP/rules/syntax.nft
printf 'table inet kwbad {\n        chain c {\n                tcp dport 22 acept\n        }\n}\n' >"$bad"
expect_refused "$bad" 74 "$bad:3:" "syntax error"
[[ $err != *"/proc/self/fd"* ]] || kw_fail "the message names /proc/self/fd instead of the file: $err"
table_exists inet kwbad && kw_fail "a file with a syntax error created its table"
kw_pass "a syntax error fails with exit EBADMSG and one line naming the file and line 3: $err"

half=$KW_TMP/rules/half.nft
cat >"$half" <<'EOF'
table inet kwhalf {
        set s4 { type ipv4_addr; }
}
add element inet kwhalf nosuchset { 192.0.2.1 }
EOF
expect_refused "$half" 74 "$half:4:" "Error:"
table_exists inet kwhalf && kw_fail "a file that failed on line 4 still created the table of lines 1-3"
kw_pass "a file that fails half-way loads nothing (one transaction): $err"

# --- refused before nft sees it -------------------------------------------------------------
expect_refused "$KW_TMP/rules/missing.nft" 2 "Ruleset $KW_TMP/rules/missing.nft does not exist"
kw_pass "a missing file: exit ENOENT, the message names it"

cp "$good" "$KW_TMP/rules/group.nft"
chmod 0664 "$KW_TMP/rules/group.nft"
expect_refused "$KW_TMP/rules/group.nft" 1 "$KW_TMP/rules/group.nft" "writable by its group" "0664" "chmod go-w"
cp "$good" "$KW_TMP/rules/world.nft"
chmod 0646 "$KW_TMP/rules/world.nft"
expect_refused "$KW_TMP/rules/world.nft" 1 "$KW_TMP/rules/world.nft" "writable by every user" "0646"
kw_pass "a group- or world-writable file is refused, naming the file, the mode and the fix"

cp "$good" "$KW_TMP/rules/foreign.nft"
chown 65534 "$KW_TMP/rules/foreign.nft"
expect_refused "$KW_TMP/rules/foreign.nft" 1 "$KW_TMP/rules/foreign.nft" "owned by uid 65534"
kw_pass "a file owned by another user is refused"

expect_refused "$KW_TMP/rules" 21 "$KW_TMP/rules is a directory"
mkfifo "$KW_TMP/rules/fifo.nft"
expect_refused "$KW_TMP/rules/fifo.nft" 22 "$KW_TMP/rules/fifo.nft is not a regular file"
kw_pass "a directory and a FIFO are refused (without hanging)"

# As an unprivileged user: a root file it cannot read; its own file, without CAP_NET_ADMIN.
chmod 0755 "$KW_TMP"
install -m 0600 "$good" "$KW_TMP/rules/secret.nft"
expect_refused "$KW_TMP/rules/secret.nft" 13 "Cannot open ruleset $KW_TMP/rules/secret.nft: Permission denied" -- 65534
install -m 0600 -o 65534 "$good" "$KW_TMP/rules/own.nft"
in_ns nft delete table inet kwrs
expect_refused "$KW_TMP/rules/own.nft" 1 "$KW_TMP/rules/own.nft" "Operation not permitted" -- 65534
table_exists inet kwrs && kw_fail "an unprivileged load created the table"
kw_pass "unreadable: EACCES naming the file; without CAP_NET_ADMIN: EPERM with nft's own message: $err"
