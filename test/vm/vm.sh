#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vm.sh — knockwatch's Debian package, tested in a Debian 12 virtual machine: Debian's own
# 6.1 kernel, systemd 252 as PID 1, the package installed with apt from a fresh build.
#
#   vm.sh test [WORKDIR]   build the .deb, check it and lintian, build the image, boot it
#                          under qemu (TCG), run guest-test.sh inside, report its checks
#                          (meson test --suite vm runs this; WORKDIR is BUILDDIR/vm)
#   vm.sh image WORKDIR    only build WORKDIR/vm.img (with the .deb in it)
#   vm.sh boot WORKDIR     boot WORKDIR/vm.img on this terminal, log in as root (no
#                          password), look around; "poweroff" ends it (README.md here)
#
# The base root filesystem (mmdebstrap, minbase and what the test uses, not what the
# package depends on) is cached in BUILDDIR/vm-cache, keyed by its package list and the
# apt sources; everything else is built anew each time. Exit 77 ("skipped: why") where
# qemu, Debian's kernel or the archive is missing, except in CI (CI=true), where the
# tools are installed by scripts/install-deps and their absence is a failure.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KW_SRCDIR=${KW_SRCDIR:-$(cd "$HERE/../.." && pwd)}
KW_BUILDDIR=${KW_BUILDDIR:-$KW_SRCDIR/build}
SUITE=bookworm
# In the image besides minbase: what the test itself uses. Not nftables, nor any library
# of knockwatch's: those must come from the package's Depends, or the test fails.
BASE_PACKAGES=systemd,systemd-sysv,udev,kmod,iproute2,python3
QEMU_TIMEOUT=540

mode=${1:-test}
WORK=${2:-$KW_BUILDDIR/vm}
CACHE=$KW_BUILDDIR/vm-cache
T0=$SECONDS

say() { printf '%s\n' "$*"; }
ok() { say "ok - $*"; }
fail() {
        say "FAIL: $*"
        exit 1
}
skip() {
        [[ ${CI:-} == true ]] && fail "$* (in CI the vm tier must run: scripts/install-deps installs what it needs)"
        say "skipped: $*"
        exit 77
}
phase() { say "# vm: $1 ($((SECONDS - T0)) s so far)"; }
trap 'say "FAIL: vm.sh line $LINENO: a command failed (status $?)"' ERR

# ---- What the tier needs --------------------------------------------------------------------
prerequisites() {
        local c
        [[ $(id -u) == 0 ]] || skip "the vm tier needs root (mmdebstrap, chroot, mkfs.ext4 -d of a root filesystem)"
        for c in qemu-system-x86_64 mmdebstrap dpkg-buildpackage dh lintian mkfs.ext4 debugfs unshare; do
                command -v "$c" >/dev/null || skip "no $c (apt-get install qemu-system-x86 mmdebstrap debhelper dpkg-dev lintian e2fsprogs)"
        done
        KVER=$(find /boot -maxdepth 1 -name 'vmlinuz-6.1.0-*-amd64' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
        [[ -n $KVER ]] || skip "no Debian 12 kernel /boot/vmlinuz-6.1.0-*-amd64 (apt-get install linux-image-amd64)"
        [[ -r /boot/initrd.img-$KVER && -d /lib/modules/$KVER ]] || skip "no initrd or modules for $KVER"
        SOURCES=/etc/apt/sources.list.d/debian.sources
        [[ -f $SOURCES ]] || SOURCES=/etc/apt/sources.list
        [[ -f $SOURCES ]] || skip "no apt sources on this machine"
        local uri
        uri=$(sed -n -e 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' \
                -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\).*/\2/p' "$SOURCES" | head -n 1)
        [[ -n $uri ]] || skip "no Debian mirror in $SOURCES"
        timeout 30 /usr/lib/apt/apt-helper download-file "${uri%/}/dists/$SUITE/Release" "$WORK/Release" >/dev/null 2>&1 ||
                skip "the Debian archive ($uri) cannot be reached"
        rm -f "$WORK/Release"
}

# ---- The package: built from a copy of the tree, so the work tree stays as it is --------------
build_deb() {
        local src=$WORK/pkg/knockwatch t=$SECONDS
        rm -rf "$WORK/pkg"
        mkdir -p "$src"
        tar -C "$KW_SRCDIR" --exclude-vcs --exclude='./build*' --exclude='./obj-*' -cf - . | tar -C "$src" -xf -
        (cd "$src" && dpkg-buildpackage -us -uc -b) >"$WORK/pkg/build.log" 2>&1 ||
                { tail -n 30 "$WORK/pkg/build.log"; fail "dpkg-buildpackage -us -uc -b failed (log: $WORK/pkg/build.log)"; }
        DEB=$(find "$WORK/pkg" -maxdepth 1 -name 'knockwatch_*_amd64.deb' | head -n 1)
        [[ -n $DEB ]] || fail "dpkg-buildpackage made no knockwatch_*_amd64.deb"
        ok "dpkg-buildpackage -us -uc -b built $(basename "$DEB") in $((SECONDS - t)) s"
}

check_deb() {
        local contents f depends conffiles out rc
        contents=$(dpkg-deb -c "$DEB")
        for f in ./usr/sbin/knockwatch ./lib/systemd/system/knockwatch.service \
                ./usr/share/man/man8/knockwatch.8.gz ./usr/share/man/man5/knockwatch.nft.5.gz \
                ./usr/share/knockwatch/scripts/knock ./usr/share/knockwatch/scripts/check_knock \
                ./usr/share/knockwatch/scripts/allow_ssh ./etc/knockwatch/knockwatch.nft; do
                grep -q " $f\$" <<<"$contents" || fail "the package lacks $f"
        done
        ok "the package holds the binary, the unit in /lib/systemd/system, the man pages, the scripts, the ruleset"
        grep -q '^-rw------- root/root .* \./etc/knockwatch/knockwatch\.nft$' <<<"$contents" ||
                fail "the ruleset in the package is not -rw------- root/root: $(grep knockwatch.nft <<<"$contents")"
        conffiles=$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles)
        [[ $conffiles == /etc/knockwatch/knockwatch.nft ]] || fail "conffiles is '$conffiles'"
        ok "/etc/knockwatch/knockwatch.nft is a conffile of mode 0600 root:root"
        depends=$(dpkg-deb -f "$DEB" Depends)
        [[ ", $depends," == *", nftables,"* && $depends == *libnftnl* && $depends == *libsystemd0* ]] ||
                fail "Depends lacks nftables or a library: $depends"
        ok "Depends: $depends"
        rc=0
        out=$(lintian -I --fail-on error,warning "$DEB" 2>&1) || rc=$?
        out=$(grep -v 'running with root privileges' <<<"$out" || true)
        ((rc == 0)) || fail "lintian reports errors or warnings (status $rc): $out"
        ok "lintian: no errors, no warnings${out:+; }$(tr '\n' ';' <<<"$out" | sed 's/;$//')"
}

# ---- The base root filesystem, cached ----------------------------------------------------------
base_tarball() {
        local key t=$SECONDS
        key=$( { echo "$SUITE minbase $BASE_PACKAGES"; mmdebstrap --version; cat "$SOURCES"; } | sha256sum | cut -c1-16)
        BASE=$CACHE/base-$key.tar
        if [[ -s $BASE ]]; then
                say "# vm: base root filesystem from the cache ($BASE)"
                return
        fi
        mkdir -p "$CACHE"
        rm -f "$CACHE"/base-*.tar
        mmdebstrap --variant=minbase --format=tar --include="$BASE_PACKAGES" "$SUITE" "$BASE.tmp" "$SOURCES" \
                >"$CACHE/mmdebstrap.log" 2>&1 ||
                { tail -n 20 "$CACHE/mmdebstrap.log"; rm -f "$BASE.tmp"; fail "mmdebstrap failed (log: $CACHE/mmdebstrap.log)"; }
        mv "$BASE.tmp" "$BASE"
        say "# vm: base root filesystem built with mmdebstrap in $((SECONDS - t)) s, cached as $BASE"
}

# ---- The image: base + the package (with apt, from the archive) + the test -------------------
build_image() {
        local root=$WORK/root t=$SECONDS
        rm -rf "$root" "$WORK/vm.img"
        mkdir -p "$root"
        tar -C "$root" -xf "$BASE"
        [[ ! -e $root/usr/sbin/nft ]] || fail "the base image already has nft: a missing Depends would go unnoticed"

        cp "$DEB" "$root/tmp/"
        cp -L /etc/resolv.conf "$root/etc/resolv.conf"
        printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
        chmod 755 "$root/usr/sbin/policy-rc.d"
        unshare --mount --fork /bin/sh -ec '
                root=$1 deb=$2
                mount -t proc proc "$root/proc"
                mount --rbind /dev "$root/dev"
                mount -t sysfs sysfs "$root/sys"
                export DEBIAN_FRONTEND=noninteractive
                chroot "$root" apt-get -q update
                chroot "$root" apt-get -q install -y --no-install-recommends "/tmp/$deb"
                chroot "$root" apt-get clean
        ' install "$root" "$(basename "$DEB")" >"$WORK/apt-install.log" 2>&1 ||
                { tail -n 20 "$WORK/apt-install.log"; fail "apt-get install of the package into the image failed (log: $WORK/apt-install.log)"; }
        rm -rf "$root/tmp/$(basename "$DEB")" "$root/usr/sbin/policy-rc.d" "$root/etc/resolv.conf" "$root"/var/lib/apt/lists/*
        ok "apt installed the package into a Debian 12 minbase, with $(chroot "$root" dpkg-query -W -f='${Package} ${Version}, ' nftables libnftnl11 libmnl0 | sed 's/, $//') from its Depends"

        # The kernel's modules (nf_tables, veth, ...): without them nft fails in the VM.
        mkdir -p "$root/usr/lib/modules"
        cp -a "/lib/modules/$KVER" "$root/usr/lib/modules/"
        echo kw-vm >"$root/etc/hostname"
        chroot "$root" passwd -dq root
        # apt's timers must not hold the dpkg lock when the test purges the package.
        ln -sf /dev/null "$root/etc/systemd/system/apt-daily.timer"
        ln -sf /dev/null "$root/etc/systemd/system/apt-daily-upgrade.timer"
        install -d -m 0755 "$root/opt/kw-vm"
        install -m 0755 "$HERE/guest-test.sh" "$HERE/probe.py" "$HERE/forge.py" "$root/opt/kw-vm/"
        install -m 0644 "$HERE/kw-vm-test.service" "$root/etc/systemd/system/"

        truncate -s 3G "$WORK/vm.img"
        mkfs.ext4 -q -F -L kw-vm -d "$root" "$WORK/vm.img"
        rm -rf "$root"
        say "# vm: image $WORK/vm.img built in $((SECONDS - t)) s (kernel $KVER)"
}

qemu_args() {
        QEMU=(qemu-system-x86_64 -accel tcg -smp 2 -m 2048 -nodefaults -no-reboot
                -kernel "/boot/vmlinuz-$KVER" -initrd "/boot/initrd.img-$KVER"
                -drive "file=$WORK/vm.img,format=raw,if=virtio" -device virtio-rng-pci)
}

# ---- Boot, run the guest test, read its log back from the image -----------------------------
run_vm() {
        local t=$SECONDS rc=0 fails
        qemu_args
        rm -f "$WORK/console.log" "$WORK/guest.log"
        timeout "$QEMU_TIMEOUT" "${QEMU[@]}" -display none -monitor none -serial "file:$WORK/console.log" \
                -append "console=ttyS0 root=/dev/vda rw panic=1 quiet systemd.mask=serial-getty@ttyS0.service systemd.wants=kw-vm-test.service" ||
                rc=$?
        say "# vm: qemu ran $((SECONDS - t)) s (status $rc)"
        debugfs -R "cat /root/kw-vm.log" "$WORK/vm.img" >"$WORK/guest.log" 2>/dev/null || true
        cat "$WORK/guest.log"
        ((rc != 124)) || { tail -n 30 "$WORK/console.log"; fail "the VM did not power off within $QEMU_TIMEOUT s"; }
        grep -qx '# kw-vm: guest test finished' "$WORK/guest.log" ||
                { tail -n 30 "$WORK/console.log"; fail "the guest test did not finish (no final marker; console: $WORK/console.log)"; }
        fails=$(grep -c '^FAIL' "$WORK/guest.log" || true)
        ((fails == 0)) || fail "$fails check(s) failed in the VM"
        ok "all $(grep -c '^ok - ' "$WORK/guest.log") checks in the VM passed"
}

mkdir -p "$WORK"
case $mode in
test)
        prerequisites
        phase "Debian 12 VM test, kernel $KVER"
        build_deb
        check_deb
        base_tarball
        build_image
        run_vm
        say "# vm: done in $((SECONDS - T0)) s"
        ;;
image)
        prerequisites
        build_deb
        base_tarball
        build_image
        say "Boot it with: $0 boot $WORK"
        ;;
boot)
        KVER=$(find /boot -maxdepth 1 -name 'vmlinuz-6.1.0-*-amd64' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
        [[ -f $WORK/vm.img ]] || fail "no $WORK/vm.img: run $0 image $WORK first"
        qemu_args
        exec "${QEMU[@]}" -display none -serial mon:stdio -append "console=ttyS0 root=/dev/vda rw panic=1 quiet"
        ;;
*)
        say "usage: $0 test|image|boot [WORKDIR]" >&2
        exit 2
        ;;
esac
