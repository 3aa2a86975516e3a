#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# install-ruleset.sh SOURCE DIR — meson install step: put the example ruleset in
# DIR/knockwatch.nft unless a ruleset is already there (an admin's edits are kept).
# The ruleset holds the secret of the log prefix, which must stay as private as the
# kernel log: mode 0600 (root's when installing as root), never readable by others.
set -eu
src=$1
dir=${DESTDIR:-}$2
mkdir -p "$dir"
if [ -e "$dir/knockwatch.nft" ]; then
        echo "Keeping the existing $dir/knockwatch.nft (the new example is $dir/knockwatch.nft.example)"
        install -m 0600 "$src" "$dir/knockwatch.nft.example"
else
        install -m 0600 "$src" "$dir/knockwatch.nft"
fi
