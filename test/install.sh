#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# install: `meson install` into a temporary DESTDIR puts every piece where the prefix
# and systemd say, the unit passes `systemd-analyze verify` and rates 2.0 or better in
# `systemd-analyze security`, the man pages render without a groff warning, the ruleset
# is mode 0600, and a second install keeps an edited ruleset.
. "$KW_SRCDIR/test/lib.sh"

dest=$KW_TMP/dest
options=$(meson introspect "$KW_BUILDDIR" --buildoptions)
opt() { python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]))' "$1" <<<"$options"; }
prefix=$(opt prefix)
sbindir=$(opt sbindir)
sysconfdir=$(opt sysconfdir)
datadir=$(opt datadir)
mandir=$(opt mandir)
unitdir=$(opt systemdsystemunitdir)
[[ $sysconfdir == /* ]] || sysconfdir=$prefix/$sysconfdir
[[ -n $unitdir ]] || unitdir=$(pkg-config --variable=systemdsystemunitdir systemd)

DESTDIR=$dest meson install -C "$KW_BUILDDIR" --no-rebuild --quiet >"$KW_TMP/install.log" 2>&1 ||
        { cat "$KW_TMP/install.log"; kw_fail "meson install failed"; }

bin=$dest$prefix/$sbindir/knockwatch
[[ -x $bin ]] || kw_fail "no executable $bin"
"$bin" --version | grep -qx 'knockwatch [0-9.]*' || kw_fail "installed knockwatch --version is wrong"
kw_pass "binary in $prefix/$sbindir"

ruleset=$dest$sysconfdir/knockwatch/knockwatch.nft
cmp -s "$ruleset" "$KW_SRCDIR/rules/knockwatch.nft" || kw_fail "no ruleset at $sysconfdir/knockwatch/knockwatch.nft"
nft -c -f "$ruleset" || kw_fail "the installed ruleset does not pass nft -c"
kw_pass "ruleset in $sysconfdir/knockwatch"
# It will hold the secret of the log prefix: as private as the kernel log.
mode=$(stat -c %a "$ruleset")
[[ $mode == 600 ]] || kw_fail "the installed ruleset has mode $mode, not 600"
kw_pass "the ruleset is installed with mode 0600"

unit=$dest$unitdir/knockwatch.service
[[ -f $unit ]] || kw_fail "no unit in $unitdir"
grep -qx "ExecStart=$prefix/$sbindir/knockwatch --ruleset=\${CREDENTIALS_DIRECTORY}/knockwatch.nft" "$unit" ||
        kw_fail "ExecStart does not name the installed binary with the ruleset's credential"
grep -qx "LoadCredential=knockwatch.nft:$sysconfdir/knockwatch/knockwatch.nft" "$unit" ||
        kw_fail "the unit does not hand the installed ruleset over (LoadCredential=)"
grep -qE '@[a-z_]+@' "$unit" && kw_fail "unsubstituted @variables@ in the unit"
kw_pass "unit in $unitdir"

for page in man8/knockwatch.8 man5/knockwatch.nft.5; do
        f=$dest$prefix/$mandir/$page
        [[ -f $f ]] || kw_fail "no man page $page"
        warnings=$(groff -man -ww -z "$f" 2>&1)
        [[ -z $warnings ]] || kw_fail "groff warns about $page: $warnings"
done
kw_pass "man pages knockwatch(8) and knockwatch.nft(5) render cleanly"

for s in knock check_knock allow_ssh; do
        [[ -x $dest$prefix/$datadir/knockwatch/scripts/$s ]] || kw_fail "script $s not installed executable"
done
kw_pass "scripts in $datadir/knockwatch/scripts"

# systemd-analyze checks that the binary exists and that man finds the Documentation=
# pages: point it at the installed tree (a copy of the unit naming the DESTDIR binary).
sed "s|=$prefix/$sbindir/knockwatch|=$bin|" "$unit" >"$KW_TMP/knockwatch.service"
verify=$(MANPATH=$dest$prefix/$mandir systemd-analyze verify "$KW_TMP/knockwatch.service" 2>&1) ||
        kw_fail "systemd-analyze verify: $verify"
[[ -z $verify ]] || kw_fail "systemd-analyze verify complains: $verify"
kw_pass "systemd-analyze verify is silent"

exposure=$(systemd-analyze security --offline=true "$unit" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
[[ -n $exposure ]] || kw_fail "no exposure level from systemd-analyze security"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || kw_fail "exposure $exposure is worse than 2.0"
kw_pass "systemd-analyze security rates the unit $exposure (2.0 or better)"

# An admin's edits survive a reinstall; the new example lands next to them.
echo "# edited by the admin" >>"$ruleset"
DESTDIR=$dest meson install -C "$KW_BUILDDIR" --no-rebuild --quiet >"$KW_TMP/install2.log" 2>&1 ||
        kw_fail "second meson install failed"
tail -n 1 "$ruleset" | grep -qx '# edited by the admin' || kw_fail "reinstall overwrote the edited ruleset"
cmp -s "$ruleset.example" "$KW_SRCDIR/rules/knockwatch.nft" || kw_fail "no knockwatch.nft.example beside the kept ruleset"
mode=$(stat -c %a "$ruleset.example")
[[ $mode == 600 ]] || kw_fail "knockwatch.nft.example has mode $mode, not 600"
kw_pass "reinstall keeps an edited ruleset and adds knockwatch.nft.example"
