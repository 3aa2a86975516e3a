#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# docs-examples: every ruleset the documentation shows loads, and knockwatch reads from it
# exactly the doors its set comments declare. No packets: one network namespace (slot 16).
#
#   docs/MIGRATION.md     every ```nft block (each is a complete ruleset)
#   man/knockwatch.nft.5  every .EX/.EE block that starts with "table" or "define" (a
#                         complete ruleset); a block of sets only is loaded inside
#                         "table inet knockwatch { … }", a block of rules only is checked
#                         (nft -c) inside a chain
#
# For each ruleset: `nft -c -f` passes on an empty ruleset, `nft -f` loads it,
# `knockwatch check` exits 0 and prints "door NAME: SEQUENCE" for every set comment
# "knockwatch NAME: SEQUENCE", and no other door. The guide's copy of the shipped
# ruleset must be rules/knockwatch.nft (whose chain is at "priority filter - 10").
. "$KW_SRCDIR/test/lib.sh"
kw_require_root

MIGRATION=$KW_SRCDIR/docs/MIGRATION.md
MANPAGE=$KW_SRCDIR/man/knockwatch.nft.5
NS=kw-s16-docs-$$
ip netns add "$NS"
KW_NETNS+=("$NS")
in_ns() { ip netns exec "$NS" "$@"; }

# extract_markdown FILE OUTDIR: each ```nft block to OUTDIR/md-N.nft, its first line's
# number in OUTDIR/md-N.line.
extract_markdown() {
        awk -v out="$2" '
                /^```nft[[:space:]]*$/ { n++; f = out "/md-" n ".nft"; print NR + 1 > (out "/md-" n ".line"); inblock = 1; next }
                /^```/ && inblock { close(f); inblock = 0; next }
                inblock { print > f }
                END { if (inblock) { print "unterminated ```nft block" > "/dev/stderr"; exit 1 } }
        ' "$1"
}

# extract_man FILE OUTDIR: each .EX/.EE block to OUTDIR/man-N.raw (roff text), its first
# line's number in OUTDIR/man-N.line.
extract_man() {
        awk -v out="$2" '
                /^\.EX/ { n++; f = out "/man-" n ".raw"; print NR + 1 > (out "/man-" n ".line"); inblock = 1; printf "" > f; next }
                /^\.EE/ && inblock { close(f); inblock = 0; next }
                inblock { print > f }
        ' "$1"
}

# unroff FILE: the text a reader sees for the few escapes the examples use. Any other
# backslash, except one that ends a line (nft's line continuation), is an error.
unroff() {
        local text
        text=$(sed -e 's/\\e/\\/g' -e 's/\\-/-/g' -e 's/\\(dq/"/g' -e "s/\\\\(aq/'/g" -e 's/\\&//g' "$1")
        if grep -n '\\.' <<<"$text" >&2; then
                return 1
        fi
        printf '%s\n' "$text"
}

# expected_doors FILE: "door NAME: SEQUENCE" for every declaring set comment, sorted.
expected_doors() {
        grep -o 'comment "knockwatch [^":]*: [^"]*"' "$1" | sed -E 's/^comment "knockwatch ([^:]*): (.*)"$/door \1: \2/' |
                sort || true
}

# check_ruleset FILE WHERE: load FILE into the empty namespace and check its doors.
check_ruleset() {
        local file=$1 where=$2 out rc=0 want got
        in_ns nft flush ruleset
        in_ns nft -c -f "$file" 2>"$KW_TMP/nft.err" ||
                kw_fail "$where: nft -c -f rejects it: $(cat "$KW_TMP/nft.err")"
        in_ns nft -f "$file" 2>"$KW_TMP/nft.err" || kw_fail "$where: nft -f failed: $(cat "$KW_TMP/nft.err")"
        # The namespace cannot read nf_log_all_netns (only the host's can), so check takes it
        # as 1 and wants a secret in the log prefix: load the example again with this test's.
        sed "s/log prefix \"PORT_KNOCKING \"/log prefix \"$KW_PREFIX\"/" "$file" >"$file.secret"
        in_ns nft -f "$file.secret" 2>"$KW_TMP/nft.err" ||
                kw_fail "$where: nft -f with a secret prefix failed: $(cat "$KW_TMP/nft.err")"
        # A rotating door opens for nobody without keys: one for each door key it names.
        local keydir=$KW_TMP/keys.$RANDOM name
        for name in $(grep -o 'totp key=[a-z0-9_-]*' "$file" | sed 's/totp key=//' | sort -u); do
                "$KNOCKWATCH" key new "$name" --key-dir "$keydir" --no-qr >/dev/null ||
                        kw_fail "$where: knockwatch key new $name failed"
        done
        out=$(in_ns "$KNOCKWATCH" check --key-dir="$keydir" 2>&1) || rc=$?
        ((rc == 0)) || kw_fail "$where: knockwatch check exits $rc:
$out"
        want=$(expected_doors "$file")
        [[ -n $want ]] || kw_fail "$where: no set declares a door"
        got=$(grep '^door ' <<<"$out" | sort || true)
        [[ $got == "$want" ]] || kw_fail "$where: knockwatch check shows the doors
$got
but the set comments declare
$want
(knockwatch check said:
$out)"
        DOORS=$(awk -F'[ :]' '{ printf "%s%s", (NR > 1 ? " " : ""), $2 }' <<<"$want")
}

# --- docs/MIGRATION.md ---------------------------------------------------------------

mkdir "$KW_TMP/md" "$KW_TMP/man"
extract_markdown "$MIGRATION" "$KW_TMP/md" || kw_fail "cannot read the nft blocks of $MIGRATION"
n_md=0
shipped_copy=
for f in "$KW_TMP"/md/md-*.nft; do
        [[ -e $f ]] || break
        n_md=$((n_md + 1))
        where="docs/MIGRATION.md line $(cat "${f%.nft}.line")"
        check_ruleset "$f" "$where"
        kw_pass "$where: loads; knockwatch check accepts the doors $DOORS"
        grep -q 'comment "knockwatch ssh: tcp:3721 tcp:4728 tcp:6742 within' "$f" && shipped_copy=$f
done
# Two today: the old recipe's ruleset and the knockd example.
((n_md >= 2)) || kw_fail "only $n_md \`\`\`nft block(s) found in $MIGRATION"

# The guide's copy of the shipped ruleset gives the kernel the same listing as the file.
[[ -n $shipped_copy ]] || kw_fail "$MIGRATION has no copy of the shipped ruleset (door ssh on 3721 4728 6742)"
cp "$KW_SRCDIR/rules/knockwatch.nft" "$KW_TMP/shipped.nft"
in_ns nft flush ruleset
in_ns nft -f "$KW_TMP/shipped.nft" || kw_fail "the shipped ruleset does not load"
in_ns nft list table inet knockwatch >"$KW_TMP/shipped.list"
in_ns nft flush ruleset
in_ns nft -f "$shipped_copy" || kw_fail "the guide's copy does not load"
in_ns nft list table inet knockwatch >"$KW_TMP/copy.list"
diff -u "$KW_TMP/shipped.list" "$KW_TMP/copy.list" >"$KW_TMP/diff" ||
        kw_fail "the guide's copy of rules/knockwatch.nft (line $(cat "${shipped_copy%.nft}.line")) differs from it:
$(cat "$KW_TMP/diff")"
kw_pass "the guide's copy of rules/knockwatch.nft is the shipped ruleset"

# --- man/knockwatch.nft.5 ----------------------------------------------------------------

extract_man "$MANPAGE" "$KW_TMP/man"
n_full=0 n_sets=0 n_rules=0
for raw in "$KW_TMP"/man/man-*.raw; do
        [[ -e $raw ]] || break
        line=$(cat "${raw%.raw}.line")
        where="man/knockwatch.nft.5 line $line"
        f=${raw%.raw}.nft
        unroff "$raw" >"$f" || kw_fail "$where: a roff escape this test does not know (above)"
        first=$(grep -m1 -v '^[[:space:]]*\(#.*\)\?$' "$f" || true)
        case $first in
        table* | define*)
                n_full=$((n_full + 1))
                check_ruleset "$f" "$where"
                kw_pass "$where: loads; knockwatch check accepts the doors $DOORS"
                ;;
        set\ *)
                n_sets=$((n_sets + 1))
                # Sets alone: a bare log rule (every packet) stands in for the log rules.
                { echo 'table inet knockwatch {'; cat "$f"
                  echo "chain kwlog { type filter hook input priority filter; log prefix \"$KW_PREFIX\"; }"
                  echo '}'; } >"$f.table"
                check_ruleset "$f.table" "$where (in table inet knockwatch)"
                kw_pass "$where: the sets load; knockwatch check accepts the doors $DOORS"
                ;;
        tcp\ * | udp\ * | icmp\ * | icmpv6\ * | ip\ * | ip6\ * | meta\ * | iifname\ *)
                n_rules=$((n_rules + 1))
                { echo 'table inet kwdocs {'; echo 'chain input {'
                  echo 'type filter hook input priority filter; policy accept;'
                  cat "$f"; echo '}'; echo '}'; } >"$f.chain"
                in_ns nft flush ruleset
                in_ns nft -c -f "$f.chain" 2>"$KW_TMP/nft.err" ||
                        kw_fail "$where: the rules do not pass nft -c in a chain: $(cat "$KW_TMP/nft.err")"
                kw_pass "$where: the rules pass nft -c in a chain"
                ;;
        esac
done
((n_full >= 2)) || kw_fail "only $n_full complete ruleset(s) found in $MANPAGE"
((n_sets >= 1 && n_rules >= 1)) || kw_fail "expected a block of sets and a block of rules in $MANPAGE"
