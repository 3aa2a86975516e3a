#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-completion: the bash completion of knockwatch, loaded as bash loads it (on its
# own, and through bash-completion's loader where that is installed), driven by calling
# the completion function with COMP_LINE and COMP_POINT set as bash sets them:
#   - "knockwatch st" completes to status, "knockwatch " to every command;
#   - a command's options ("status --j"), an option's values ("--log-level=",
#     "--source=file:/PATH", "--table VALUE"), knock steps;
#   - door names come from `knockwatch check` (a stand-in here, printing hostile lines
#     too): only real door names are offered, --table is passed on only when it is a
#     plain table name, and nothing it prints is ever run;
#   - every option each command's --help lists is completed for it;
#   - meson installs the file into the directory bash-completion.pc names.
set -euo pipefail

KW_SRCDIR=${KW_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
KW_BUILDDIR=${KW_BUILDDIR:-$KW_SRCDIR/build}
COMPLETION=$KW_SRCDIR/shell-completion/bash/knockwatch
TMP=$(mktemp -d /tmp/kw-test-completion.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

fail() {
        printf 'FAIL: %s\n' "$*" >&2
        exit 1
}
pass() { printf 'ok - %s\n' "$*"; }

# A stand-in knockwatch for `check`: real door lines and lines that must not count.
mkdir "$TMP/bin"
cat >"$TMP/bin/knockwatch" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >>"$TMP/calls"
[ "\$1" = check ] || exit 2
cat <<'LINES'
table inet knockwatch: 3 door(s), 1 error(s), 0 warning(s)
door ssh: tcp:3721 tcp:4728 tcp:6742 within 10s
  IPv4 set ssh4, grants last 1m
door web-2: udp:9 tcp:7 ping:5 within 2s
door mail_1:
error: set "x": door evil: names door "nobody"
  door indented: tcp:1 tcp:2 within 1s
door \$(touch $TMP/pwned): tcp:1
door \`touch $TMP/pwned2\`: tcp:1
door BIG: tcp:1
door a;b: tcp:1
door abcdefghijklmnopqrstuvwxyz0123456: tcp:1
door noseparator
LINES
exit 1
EOF
chmod 0755 "$TMP/bin/knockwatch"
export PATH="$TMP/bin:$PATH"

# complete LINE: COMPREPLY for LINE with the cursor at its end, one reply per line, sorted.
complete_line() {
        COMP_LINE=$1
        COMP_POINT=${#1}
        # COMP_WORDS/COMP_CWORD as bash splits them (the function reads COMP_LINE, but
        # keep them right for any helper that looks)
        read -ra COMP_WORDS <<<"$1"
        [[ $1 == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMPREPLY=()
        _knockwatch knockwatch "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]-}"
        ((${#COMPREPLY[@]} == 0)) || printf '%s\n' "${COMPREPLY[@]}" | sort
}

# expect LINE REPLY...: the replies are exactly these.
expect() {
        local line=$1 got want
        shift
        got=$(complete_line "$line")
        want=$( (($# == 0)) || printf '%s\n' "$@" | sort)
        [[ $got == "$want" ]] || fail "completing '$line': expected [$(echo $want)], got [$(echo $got)]"
}

run_cases() {
        local mode=$1

        expect "knockwatch st" status
        expect "knockwatch " run check status metrics grant revoke parse knock totp key
        expect "knockwatch gr" grant
        pass "$mode: \"knockwatch st\" completes to status; all commands offered"

        expect "knockwatch status --j" --json --json=pretty --json=short
        expect "knockwatch status --json=p" pretty
        expect "knockwatch grant --ti" --timeout=
        expect "knockwatch grant ssh 192.0.2.7 --t" --table= --timeout=
        expect "knockwatch metrics --" --runtime-dir= --help
        expect "knockwatch --so" --source=
        expect "knockwatch --source=k" kmsg
        expect "knockwatch --log-level=" err warning notice info debug
        expect "knockwatch --log-level=d" debug
        expect "knockwatch status --table " inet:knockwatch inet: ip: ip6:
        expect "knockwatch status --table=inet:k" knockwatch
        expect "knockwatch --exec-on-g" --exec-on-grant=
        expect "knockwatch --key" --key-dir=
        expect "knockwatch check --" --table= --ruleset= --key-dir= --help
        expect "knockwatch key " new
        expect "knockwatch key new ssh --u" --user=
        expect "knockwatch knock host --door" --door-spec= --door=
        pass "$mode: options of a command, and their values (after = and as the next word)"

        mkdir -p "$TMP/logs/sub"
        : >"$TMP/logs/kern.log"
        expect "knockwatch --source=file:$TMP/logs/k" "$TMP/logs/kern.log"
        expect "knockwatch --metrics-file=$TMP/logs/s" "$TMP/logs/sub"
        expect "knockwatch parse $TMP/logs/ke" "$TMP/logs/kern.log"
        pass "$mode: paths after --source=file:, --metrics-file= and for parse"

        expect "knockwatch knock host.example " tcp: udp: ping:
        expect "knockwatch knock host.example tcp:3721 u" udp:
        expect "knockwatch knock -" -4 -6 --delay= --verbose --help --then --key= --door-spec= --count= --range= --step= --door= --time=
        expect "knockwatch knock --delay 20 host tcp:1 p" ping:
        pass "$mode: knock steps tcp: udp: ping:, and knock's options"

        : >"$TMP/calls"
        expect "knockwatch grant " ssh web-2 mail_1
        expect "knockwatch revoke w" web-2
        expect "knockwatch grant ssh " ""
        [[ ! -e $TMP/pwned && ! -e $TMP/pwned2 ]] || fail "text from knockwatch check was run"
        [[ $(sort -u "$TMP/calls") == check ]] || fail "knockwatch was called with: $(cat "$TMP/calls")"
        : >"$TMP/calls"
        expect "knockwatch grant --table=ip:other " ssh web-2 mail_1
        expect "knockwatch grant --table=inet:\$(touch$TMP/pwned3) " ssh web-2 mail_1
        [[ $(cat "$TMP/calls") == "check --table=ip:other"$'\n'"check" ]] ||
                fail "--table was not passed on (only) when plain: $(cat "$TMP/calls")"
        [[ ! -e $TMP/pwned3 ]] || fail "a --table value was run"
        pass "$mode: door names from knockwatch check, only real ones; hostile lines never run"
}

# --- on its own ------------------------------------------------------------------------------
(
        # shellcheck source=/dev/null
        . "$COMPLETION"
        [[ $(complete -p knockwatch) == "complete -F _knockwatch knockwatch" ]] ||
                fail "complete -p knockwatch: $(complete -p knockwatch 2>&1)"
        pass "the file loads in a plain bash and registers _knockwatch for knockwatch"
        run_cases "plain bash"

        # Every long option a command's --help names is completed for that command (the
        # daemon's for "knockwatch --help", whose command summaries count for any command),
        # so that the two cannot drift apart.
        real=$KW_BUILDDIR/knockwatch
        if [[ ! -x $real ]]; then
                echo "skipped: options against --help: no $real (build first)"
        else
                all=" $(for v in "" check status metrics grant revoke parse knock totp key; do
                        _knockwatch_options "$v"; done | sed 's/=.*//' | tr '\n' ' ') "
                for v in "" check status metrics grant revoke parse knock totp key; do
                        offered=" $(_knockwatch_options "$v" | sed 's/=.*//' | tr '\n' ' ') "
                        words=$v
                        [[ $v == key ]] && words="key new"
                        # the options of the lines that begin with one, up to the description
                        # (two spaces on), not those named in prose
                        # shellcheck disable=SC2086 # "key new": two words on purpose
                        for o in $("$real" $words --help 2>&1 | grep -E -- '^ +(-[a-zA-Z0-9], )?--' |
                                   sed -E 's/^ +//; s/  .*//' | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
                                [[ $offered == *" $o "* ]] && continue
                                [[ -z $v && $all == *" $o "* ]] && continue
                                fail "knockwatch ${v:-(the daemon)} --help names $o, which the completion does not offer"
                        done
                done
                pass "every option each command's --help names is completed"
        fi
)

# --- through bash-completion's loader, as installed ---------------------------------------------
if [[ -r /usr/share/bash-completion/bash_completion ]]; then
        (
                mkdir -p "$TMP/user/completions"
                ln -s "$COMPLETION" "$TMP/user/completions/knockwatch"
                export BASH_COMPLETION_USER_DIR=$TMP/user
                set +eu
                # shellcheck source=/dev/null
                . /usr/share/bash-completion/bash_completion
                set -eu
                complete -p knockwatch >/dev/null 2>&1 && fail "knockwatch completion loaded before asked for"
                __load_completion knockwatch || fail "bash-completion's loader did not find the file"
                [[ $(complete -p knockwatch) == "complete -F _knockwatch knockwatch" ]] ||
                        fail "after the loader: $(complete -p knockwatch 2>&1)"
                pass "bash-completion's loader loads it on demand"
                run_cases "with bash-completion"
        )
else
        echo "note: bash-completion is not installed; only the plain bash load was tested"
fi

# --- meson installs it where bash-completion.pc says ------------------------------------------------
if [[ -d $KW_BUILDDIR/meson-info ]]; then
        want=$(pkg-config --variable=completionsdir bash-completion 2>/dev/null || true)
        dest=$(meson introspect "$KW_BUILDDIR" --installed |
                jq -r --arg src "$COMPLETION" 'to_entries[] | select(.key == $src) | .value')
        [[ -n $dest ]] || fail "meson does not install $COMPLETION"
        if [[ -n $want ]]; then
                [[ $dest == "$want/knockwatch" ]] || fail "installed to $dest, bash-completion.pc says $want"
        else
                [[ $dest == */share/bash-completion/completions/knockwatch ]] || fail "installed to $dest"
        fi
        pass "meson installs it to $dest"
fi
