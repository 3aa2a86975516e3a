# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# test-totp-cli.sh — the client side of TOTP doors, without a network: "knockwatch
# totp", scripts/knock --print-steps under bash and under dash, and an independent
# implementation in Python's hmac module (when python3 is there) all print the same
# steps for the vectors of knockwatch.nft(5) and for a freshly made key; the bad
# arguments of each give one line and the right status; "knockwatch key new" writes
# 0600 files in 0700 directories, never over an existing file, and draws its QR code
# with qrencode fed on its standard input (a recording stand-in, and the real one when
# Debian's qrencode is installed), or draws none when there is no qrencode.

set -euo pipefail

KW_SRCDIR=${KW_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
KW_BUILDDIR=${KW_BUILDDIR:-$KW_SRCDIR/build}
KNOCKWATCH=${KNOCKWATCH:-$KW_BUILDDIR/knockwatch}
SCRIPT=$KW_SRCDIR/scripts/knock
TMP=$(mktemp -d /tmp/kw-test-totp-cli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

fail() {
        printf 'FAIL: %s\n' "$*" >&2
        exit 1
}
pass() { printf 'ok - %s\n' "$*"; }

[[ -x $KNOCKWATCH ]] || fail "no knockwatch at $KNOCKWATCH (build first)"
for tool in dash openssl base32 od; do
        command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/install-deps)"
done

KEY1=$TMP/key1
printf 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n' >"$KEY1"   # "12345678901234567890"
chmod 600 "$KEY1"
KEY2=$TMP/key2
printf 'AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPQ====\n' >"$KEY2"   # bytes 0..31
chmod 600 "$KEY2"

# An implementation that shares nothing with ours but the text of the derivation.
reference() { # KEYFILE DOOR UNIX STEP PROTO LO HI COUNT
        python3 - "$@" <<'EOF'
import base64, hashlib, hmac, sys
keyfile, door, unix, step, proto, lo, hi, count = sys.argv[1:]
text = open(keyfile).read().strip().upper()
key = base64.b32decode(text + "=" * (-len(text) % 8))
t, lo, hi, count = int(unix) // int(step), int(lo), int(hi), int(count)
ports, rnd = [], 0
while len(ports) < count:
    msg = "knockwatch-totp-v1:%s:%d" % (door, t) + (":%d" % rnd if rnd else "")
    h = hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()
    for j in range(9):
        p = lo + int(h[7 * j:7 * j + 7], 16) % (hi - lo + 1)
        if len(ports) < count and p not in ports:
            ports.append(p)
    rnd += 1
print(" ".join("%s:%d" % (proto, p) for p in ports))
EOF
}
have_python=0
command -v python3 >/dev/null && python3 -c 'import hmac, hashlib, base64' 2>/dev/null && have_python=1

# check KEYFILE DOOR UNIX STEP PROTO LO HI COUNT EXPECTED: every implementation agrees.
check() {
        local key=$1 door=$2 unix=$3 step=$4 proto=$5 lo=$6 hi=$7 count=$8 want=$9 got sh spec
        spec="totp key=k $count $proto:$lo-$hi step ${step}s"
        got=$("$KNOCKWATCH" totp "$door" --key "$key" --time "$unix" --door-spec "$spec") ||
                fail "knockwatch totp $door $unix failed"
        [[ $got == "$want" ]] || fail "knockwatch totp $door at $unix: $got, expected $want"
        got=$("$KNOCKWATCH" totp "$door" --key "$key" --time "$unix" --count "$count" \
                --range "$proto:$lo-$hi" --step "${step}s") || fail "knockwatch totp --count failed"
        [[ $got == "$want" ]] || fail "knockwatch totp --count $count at $unix: $got"
        got=$("$KNOCKWATCH" totp --key "$key" --time "$unix" \
                --door-spec "knockwatch $door: $spec within 1s") || fail "knockwatch totp (comment) failed"
        [[ $got == "$want" ]] || fail "knockwatch totp with the whole comment at $unix: $got"
        for sh in bash dash; do
                got=$("$sh" "$SCRIPT" --print-steps --door "$door" --key "$key" --time "$unix" \
                        --door-spec "$spec") || fail "$sh scripts/knock --print-steps failed"
                [[ $got == "$want" ]] || fail "$sh scripts/knock at $unix: $got, expected $want"
        done
        if ((have_python)); then
                got=$(reference "$key" "$door" "$unix" "$step" "$proto" "$lo" "$hi" "$count")
                [[ $got == "$want" ]] || fail "python3 reference at $unix: $got, expected $want"
        fi
}

# --- 1. the published vectors (knockwatch.nft(5), TOTP VECTORS; test-totp.c) ------------

check "$KEY1" ssh 59 30 tcp 20000 59999 4 "tcp:43570 tcp:49017 tcp:58203 tcp:53621"
check "$KEY1" ssh 1111111109 30 tcp 20000 59999 4 "tcp:44859 tcp:50870 tcp:57780 tcp:26636"
check "$KEY1" ssh 1234567890 30 tcp 20000 59999 4 "tcp:29748 tcp:22546 tcp:36787 tcp:28162"
check "$KEY1" ssh 2000000000 30 tcp 20000 59999 4 "tcp:55693 tcp:58622 tcp:39874 tcp:35412"
# T = 930: the nine chunks give seven ports, the eighth comes from the ":1" message.
check "$KEY1" ssh 27900 30 tcp 1000 1999 8 "tcp:1147 tcp:1000 tcp:1322 tcp:1935 tcp:1642 tcp:1354 tcp:1822 tcp:1163"
check "$KEY2" vpn 1700000000 60 udp 40000 49999 6 "udp:46134 udp:41379 udp:42322 udp:48065 udp:43863 udp:43480"
check "$KEY1" a 0 10 tcp 1 1000 2 "tcp:196 tcp:404"
# The last second of a step and the first of the next.
check "$KEY1" ssh 89 30 tcp 20000 59999 4 "$("$KNOCKWATCH" totp ssh --key "$KEY1" --time 60 --count 4 --range tcp:20000-59999)"
[[ $("$KNOCKWATCH" totp ssh --key "$KEY1" --time 89 --count 4 --range tcp:20000-59999) != \
   $("$KNOCKWATCH" totp ssh --key "$KEY1" --time 90 --count 4 --range tcp:20000-59999) ]] ||
        fail "the steps did not change at a step boundary"
if ((have_python)); then
        pass "the vectors: knockwatch totp, scripts/knock (bash, dash) and Python's hmac agree"
else
        pass "the vectors: knockwatch totp and scripts/knock (bash, dash) agree (python3 absent: no third implementation)"
fi

# The vectors as knockwatch.nft(5) prints them are these: every one recomputed.
MAN=$KW_SRCDIR/man/knockwatch.nft.5
n_man=0
while IFS='|' read -r which door range count step unix steps; do
        key=$([[ $which == first ]] && echo "$KEY1" || echo "$KEY2")
        got=$("$KNOCKWATCH" totp "$door" --key "$key" --time "$unix" --count "$count" --range "$range" --step "$step")
        [[ $got == "$steps" ]] || fail "knockwatch.nft(5) says $door at $unix is \"$steps\"; knockwatch totp says $got"
        n_man=$((n_man + 1))
done < <(sed -n '/^\.SS Test vectors/,/^\.EE/p' "$MAN" | sed 's/\\-/-/g' | awk '
        /^(first|second) key, door / {
                if (unix != "") print which "|" door "|" range "|" count "|" step "|" unix "|" steps
                unix = ""
                which = $1; door = $4; sub(/,$/, "", door); range = $5; sub(/,$/, "", range)
                count = $7; sub(/,$/, "", count); step = $9; sub(/:$/, "", step)
                next
        }
        /^  unix / {
                if (unix != "") print which "|" door "|" range "|" count "|" step "|" unix "|" steps
                unix = $2; steps = ""
                for (i = 5; i <= NF; i++) steps = steps (steps == "" ? "" : " ") $i
                next
        }
        /^      +(tcp|udp):/ { for (i = 1; i <= NF; i++) steps = steps " " $i; next }
        END { if (unix != "") print which "|" door "|" range "|" count "|" step "|" unix "|" steps }')
((n_man == 7)) || fail "found $n_man vectors in knockwatch.nft(5), expected 7"
pass "the $n_man vectors printed in knockwatch.nft(5) are what knockwatch totp computes"

# Without --time: now, the same in both (retried once if a step boundary fell between).
for _ in 1 2; do
        a=$("$KNOCKWATCH" totp ssh --key "$KEY1" --door-spec "totp key=ssh 4 tcp:20000-59999")
        b=$(dash "$SCRIPT" --print-steps --door ssh --key "$KEY1" --door-spec "totp key=ssh 4 tcp:20000-59999")
        [[ $a == "$b" ]] && break
done
[[ $a == "$b" ]] || fail "now: knockwatch totp says $a, scripts/knock $b"
pass "without --time both use the clock and agree ($a)"

# --- 2. a fresh key from "knockwatch key new" --------------------------------------------

KEYDIR=$TMP/keys
out=$("$KNOCKWATCH" key new ssh --key-dir "$KEYDIR" --no-qr) || fail "key new failed"
file=$KEYDIR/ssh.key
[[ $out == *"key file: $file"* ]] || fail "key new did not name the file: $out"
b32=$(sed -n 's/^base32: *//p' <<<"$out")
hex=$(sed -n 's/^hex: *//p' <<<"$out")
[[ $b32 =~ ^[A-Z2-7]{32}$ ]] || fail "key new: base32 \"$b32\""
[[ $hex =~ ^[0-9a-f]{40}$ ]] || fail "key new: hex \"$hex\""
[[ $(<"$file") == "$b32" ]] || fail "the key file does not hold the key printed"
[[ $(printf '%s' "$b32" | base32 -d | od -An -v -tx1 | tr -d ' \n') == "$hex" ]] ||
        fail "base32 and hex of the new key differ"
[[ $(stat -c %a "$file") == 600 && $(stat -c %a "$KEYDIR") == 700 ]] ||
        fail "modes: file $(stat -c %a "$file"), directory $(stat -c %a "$KEYDIR")"
[[ $(stat -c %u "$file") == "$(id -u)" ]] || fail "the key file is not ours"
[[ $out == *"LoadCredential=knockwatch.key.ssh:$file"* ]] || fail "key new: no LoadCredential line: $out"
cp -p "$file" "$TMP/fresh.key"
for t in 0 1000000 1750000000; do
        check "$TMP/fresh.key" ssh "$t" 30 tcp 20000 59999 4 \
                "$("$KNOCKWATCH" totp ssh --key "$TMP/fresh.key" --time "$t" --count 4 --range tcp:20000-59999)"
done
pass "key new: 0600 in 0700, base32 and hex of one 20-byte key; the implementations agree on it"

before=$(<"$file")
RC=0
err=$("$KNOCKWATCH" key new ssh --key-dir "$KEYDIR" --no-qr 2>&1 >/dev/null) || RC=$?
if ((RC != 1)) || [[ $err != *"$file exists already; not overwriting it"* ]]; then
        fail "key new over a key: $RC $err"
fi
[[ $(<"$file") == "$before" ]] || fail "key new changed an existing key"
out=$("$KNOCKWATCH" key new ssh --user alice --key-dir "$KEYDIR" --no-qr) || fail "key new --user failed"
[[ -f $KEYDIR/ssh/alice.key && $(stat -c %a "$KEYDIR/ssh") == 700 && $(stat -c %a "$KEYDIR/ssh/alice.key") == 600 ]] ||
        fail "key new --user: $(ls -la "$KEYDIR/ssh")"
[[ $out == *"LoadCredential=knockwatch.key.ssh.d:$KEYDIR/ssh"* ]] || fail "key new --user: $out"
chmod 755 "$KEYDIR"
RC=0
err=$("$KNOCKWATCH" key new other --key-dir "$KEYDIR" --no-qr 2>&1 >/dev/null) || RC=$?
if ((RC != 1)) || [[ $err != *"$KEYDIR"*"mode 0755"* ]]; then
        fail "key new into a 0755 directory: $RC $err"
fi
chmod 700 "$KEYDIR"
pass "key new: never over a key, --user makes KEYNAME/NAME.key, refuses a directory others can read"

# bad_key STATUS TEXT ARGS...: one line naming the fault.
bad_key() {
        local status=$1 text=$2 rc=0 err
        shift 2
        err=$("$KNOCKWATCH" key "$@" 2>&1 >/dev/null) || rc=$?
        ((rc == status)) || fail "key $*: status $rc, expected $status ($err)"
        [[ $(wc -l <<<"$err") == 1 && $err == "knockwatch key: "*"$text"* ]] || fail "key $*: said: $err"
}
bad_key 2 'expected "key new KEYNAME"'
bad_key 2 'expected "key new KEYNAME"' old ssh
bad_key 2 'missing KEYNAME' new
bad_key 2 'invalid KEYNAME "../x"' new ../x --key-dir "$KEYDIR"
bad_key 2 'invalid KEYNAME "Ssh"' new Ssh --key-dir "$KEYDIR"
bad_key 2 'invalid --user "a.b"' new ssh --user a.b --key-dir "$KEYDIR"
bad_key 2 '--key-dir takes an absolute path' new ssh --key-dir keys
bad_key 2 'unexpected argument "x"' new ssh x --key-dir "$KEYDIR"
bad_key 2 'unknown option "--bogus"' new ssh --bogus
pass "key: bad arguments give one line and status 2"

# --- 3. the QR code -------------------------------------------------------------------------

# A stand-in qrencode that records its arguments and its standard input.
mkdir -p "$TMP/fakebin"
cat >"$TMP/fakebin/qrencode" <<EOF
#!/bin/sh
printf '%s\n' "\$@" >"$TMP/qr.args"
cat >"$TMP/qr.stdin"
echo "[QR CODE]"
EOF
chmod 755 "$TMP/fakebin/qrencode"
out=$(PATH="$TMP/fakebin:/usr/bin:/bin" "$KNOCKWATCH" key new qr1 --key-dir "$KEYDIR") || fail "key new with qrencode failed"
b32=$(sed -n 's/^base32: *//p' <<<"$out")
[[ $out == *"[QR CODE]"* ]] || fail "no QR code drawn: $out"
[[ $(<"$TMP/qr.stdin") == "$b32" ]] || fail "qrencode was not given the key on its stdin"
[[ $(tr '\n' ' ' <"$TMP/qr.args") == "-t UTF8 " ]] || fail "qrencode's arguments: $(cat "$TMP/qr.args")"
grep -q "$b32" "$TMP/qr.args" && fail "the key was on qrencode's command line"
rm -f "$TMP/qr.stdin"
PATH="$TMP/fakebin:/usr/bin:/bin" "$KNOCKWATCH" key new qr2 --key-dir "$KEYDIR" --no-qr >/dev/null
[[ ! -e $TMP/qr.stdin ]] || fail "--no-qr ran qrencode"
# No qrencode on PATH: no code, and no complaint.
mkdir -p "$TMP/emptybin"
err=$(PATH="$TMP/emptybin" "$KNOCKWATCH" key new qr3 --key-dir "$KEYDIR" 2>&1 >"$TMP/out3") ||
        fail "key new without qrencode failed: $err"
[[ -z $err && $(wc -l <"$TMP/out3") == 4 ]] || fail "key new without qrencode: $err $(cat "$TMP/out3")"
pass "key new: qrencode (a stand-in) gets the key on stdin, never in argv; --no-qr and no qrencode draw nothing"

if command -v qrencode >/dev/null && [[ $(command -v qrencode) != "$TMP"/* ]]; then
        out=$("$KNOCKWATCH" key new qr4 --key-dir "$KEYDIR") || fail "key new with Debian's qrencode failed"
        if (($(wc -l <<<"$out") <= 20)) || [[ $out != *"█"* ]]; then
                fail "Debian's qrencode drew no code: $out"
        fi
        pass "key new: Debian's qrencode draws the code"
else
        echo "skipped: Debian's qrencode is not installed: the real QR code is not drawn here"
fi

# --- 4. bad arguments of "knockwatch totp" and of scripts/knock --------------------------------

bad_totp() { # STATUS TEXT ARGS...
        local status=$1 text=$2 rc=0 err
        shift 2
        err=$("$KNOCKWATCH" totp "$@" 2>&1 >/dev/null) || rc=$?
        ((rc == status)) || fail "totp $*: status $rc, expected $status ($err)"
        [[ $(wc -l <<<"$err") == 1 && $err == "knockwatch totp: "*"$text"* ]] || fail "totp $*: said: $err"
}
SPEC="totp key=ssh 4 tcp:20000-59999"
bad_totp 2 'the door'"'"'s name is part of the derivation' --key "$KEY1" --door-spec "$SPEC"
bad_totp 2 'no door: give --door-spec' ssh --key "$KEY1"
bad_totp 2 '--count and --range go together' ssh --key "$KEY1" --count 4
bad_totp 2 '--door-spec excludes' ssh --key "$KEY1" --door-spec "$SPEC" --count 4
bad_totp 2 '--door-spec column 14: expected a step count from 2 to 8, got "9"' ssh --key "$KEY1" --door-spec "totp key=ssh 9 tcp:20000-59999"
bad_totp 2 'invalid --count or --range: port range "tcp:1-999" holds too few ports' ssh --key "$KEY1" --count 4 --range tcp:1-999
bad_totp 2 'invalid --count, --range or --step: step "5s" must be whole seconds' ssh --key "$KEY1" --count 4 --range tcp:1-1000 --step 5s
bad_totp 2 '--door: door name may contain only a-z' 's;h' --key "$KEY1" --door-spec "$SPEC"
bad_totp 2 'declares no totp door' --key "$KEY1" --door-spec "knockwatch ssh: tcp:1 tcp:2 within 1s"
bad_totp 2 'differ' vpn --key "$KEY1" --door-spec "knockwatch ssh: $SPEC within 1s"
bad_totp 2 'invalid --time "-1"' ssh --key "$KEY1" --door-spec "$SPEC" --time -1
bad_totp 2 'no key: give --key FILE' ssh --door-spec "$SPEC"
bad_totp 1 "cannot open key file $TMP/none" ssh --key "$TMP/none" --door-spec "$SPEC"
chmod 644 "$KEY1"
bad_totp 1 "key file $KEY1 is readable by group or others (mode 0644)" ssh --key "$KEY1" --door-spec "$SPEC"
chmod 600 "$KEY1"
printf 'not base32!\n' >"$TMP/bad.key"
chmod 600 "$TMP/bad.key"
bad_totp 1 "key file $TMP/bad.key is not base32" ssh --key "$TMP/bad.key" --door-spec "$SPEC"
pass "totp: bad arguments give one line naming the fault, status 2 (usage) or 1 (the key)"

bad_script() { # SHELL STATUS TEXT ARGS...
        local sh=$1 status=$2 text=$3 rc=0 err
        shift 3
        err=$("$sh" "$SCRIPT" "$@" 2>&1 >/dev/null) || rc=$?
        ((rc == status)) || fail "$sh knock $*: status $rc, expected $status ($err)"
        [[ $(wc -l <<<"$err") == 1 && $err == "knock: "*"$text"* ]] || fail "$sh knock $*: said: $err"
}
for sh in bash dash; do
        bad_script "$sh" 2 'the door'"'"'s name is part of the derivation' --print-steps --key "$KEY1" --door-spec "$SPEC"
        bad_script "$sh" 2 'expected a step count from 2 to 8, got "9"' --print-steps --door ssh --key "$KEY1" --door-spec "totp key=ssh 9 tcp:20000-59999"
        bad_script "$sh" 2 'holds too few ports' --print-steps --door ssh --key "$KEY1" --door-spec "totp key=ssh 4 tcp:1-999"
        bad_script "$sh" 2 'step "5s" must be whole seconds' --print-steps --door ssh --key "$KEY1" --door-spec "totp key=ssh 4 tcp:1-1000 step 5s"
        bad_script "$sh" 2 'window "31s" must be from 1ms to the step' --print-steps --door ssh --key "$KEY1" --door-spec "$SPEC within 31s"
        bad_script "$sh" 2 'declares no totp door' --print-steps --key "$KEY1" --door-spec "knockwatch ssh: tcp:1 tcp:2 within 1s"
        bad_script "$sh" 2 'differ' --print-steps --door vpn --key "$KEY1" --door-spec "knockwatch ssh: $SPEC within 1s"
        bad_script "$sh" 2 'steps and --door-spec exclude each other' 192.0.2.1 tcp:1 tcp:2 --door ssh --key "$KEY1" --door-spec "$SPEC"
        bad_script "$sh" 2 '--key, --door, --time and --print-steps go with --door-spec' 192.0.2.1 tcp:1 --key "$KEY1"
        bad_script "$sh" 2 'no key: give --key FILE' --print-steps --door ssh --door-spec "$SPEC"
        bad_script "$sh" 1 "cannot open key file $TMP/none" --print-steps --door ssh --key "$TMP/none" --door-spec "$SPEC"
        chmod 644 "$KEY1"
        bad_script "$sh" 1 "key file $KEY1 is readable by group or others" --print-steps --door ssh --key "$KEY1" --door-spec "$SPEC"
        chmod 600 "$KEY1"
        bad_script "$sh" 1 "key file $TMP/bad.key is not base32" --print-steps --door ssh --key "$TMP/bad.key" --door-spec "$SPEC"
        printf 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOI=\n' >"$TMP/short.key"
        chmod 600 "$TMP/short.key"
        bad_script "$sh" 1 "holds 19 bytes" --print-steps --door ssh --key "$TMP/short.key" --door-spec "$SPEC"
        printf 'MZ======\n' >"$TMP/noncanon.key"
        chmod 600 "$TMP/noncanon.key"
        bad_script "$sh" 1 "is not base32" --print-steps --door ssh --key "$TMP/noncanon.key" --door-spec "$SPEC"
done
pass "scripts/knock (bash, dash): bad TOTP arguments give one line naming the fault"

echo "all TOTP client tests passed"
