#!/bin/bash
# Build ringfold's default Linux guest from Debian packages: OUTDIR/bzImage-686,
# OUTDIR/bzImage-686-pae (Debian's 32-bit 6.1 kernels) and OUTDIR/initrd.gz (busybox
# userland + guests/linux/init.sh). Re-running reuses OUTDIR/debs and skips up-to-date steps.
#
# Environment: RF_KERNEL_ABI=6.1.0-50 pins the kernel ABI (default: the one that
# Debian's linux-image-686 metapackage depends on); RF_REFRESH=1 asks apt again even
# when .deb files are already cached.
set -euo pipefail

prog=build-image.sh
die() { echo "$prog: $*" >&2; exit 1; }

[ $# -eq 1 ] || { echo "usage: $prog OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1/debs" "$1/unpack"
out=$(cd "$1" && pwd)
debs=$out/debs

for tool in apt-get apt-cache dpkg dpkg-deb gzip python3 md5sum sha256sum seq; do
    command -v "$tool" >/dev/null || die "missing host tool: $tool"
done

# as_root CMD...: the two apt steps that change the host need root (sudo when not root)
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# cached PATTERN: newest cached .deb matching PATTERN (empty when none)
cached() {
    ls -t "$debs"/$1 2>/dev/null | head -n1 || true
}

# ensure_i386: apt knows i386 packages (adds the architecture and updates the lists once)
ensure_i386() {
    if ! dpkg --print-foreign-architectures | grep -qx i386 && [ "$(dpkg --print-architecture)" != i386 ]; then
        echo "$prog: adding the i386 architecture to dpkg (dpkg --add-architecture i386)"
        as_root dpkg --add-architecture i386 || die "cannot add the i386 architecture"
        as_root apt-get update -qq || true
    fi
    if ! apt-cache show --no-all-versions linux-image-686:i386 >/dev/null 2>&1; then
        as_root apt-get update -qq || true
        apt-cache show --no-all-versions linux-image-686:i386 >/dev/null 2>&1 ||
            die "cannot fetch packages: apt has no i386 package lists (apt-get update failed?)"
    fi
}

# fetch PKG: download PKG (an i386 package) into $debs
fetch() {
    local log=$out/apt-download.log
    echo "$prog: downloading $1"
    if ! (cd "$debs" && apt-get download "$1:i386") > "$log" 2>&1; then
        die "cannot fetch package $1: $(grep -m1 '^E:' "$log" || echo 'apt-get download failed') (log: $log)"
    fi
}

abi=${RF_KERNEL_ABI:-}
kdeb=$(cached "linux-image-${abi:-6.1.*}-686_*_i386.deb")
pdeb=$(cached "linux-image-${abi:-6.1.*}-686-pae_*_i386.deb")
bdeb=$(cached "busybox-static_*_i386.deb")
if [ -z "$kdeb" ] || [ -z "$pdeb" ] || [ -z "$bdeb" ] || [ "${RF_REFRESH:-0}" = 1 ]; then
    ensure_i386
    if [ -z "$abi" ]; then
        abi=$(apt-cache show --no-all-versions linux-image-686:i386 |
              sed -n 's/^Depends:.*linux-image-\(6\.1\.[0-9]*-[0-9]*\)-686.*/\1/p' | head -n1)
        [ -n "$abi" ] || die "cannot fetch packages: linux-image-686:i386 does not name a 6.1 kernel"
    fi
    kdeb=$(cached "linux-image-$abi-686_*_i386.deb")
    pdeb=$(cached "linux-image-$abi-686-pae_*_i386.deb")
    [ -n "$kdeb" ] || { fetch "linux-image-$abi-686"; kdeb=$(cached "linux-image-$abi-686_*_i386.deb"); }
    [ -n "$pdeb" ] || { fetch "linux-image-$abi-686-pae"; pdeb=$(cached "linux-image-$abi-686-pae_*_i386.deb"); }
    if [ -z "$bdeb" ] || [ "${RF_REFRESH:-0}" = 1 ]; then
        rm -f "$debs"/busybox-static_*_i386.deb
        fetch busybox-static; bdeb=$(cached "busybox-static_*_i386.deb")
    fi
    [ -n "$kdeb" ] && [ -n "$pdeb" ] && [ -n "$bdeb" ] || die "cannot fetch packages: downloads missing in $debs"
fi

# newer OUTPUT INPUT...: true when OUTPUT exists and is newer than every INPUT
newer() {
    local o=$1 i; shift
    [ -e "$o" ] || return 1
    for i in "$@"; do [ "$o" -nt "$i" ] || return 1; done
}

# unpack DEB: RF_DIR = its unpacked tree under $out/unpack (dpkg-deb -x, no root needed)
unpack() {
    local name dir
    name=$(basename "$1" .deb)
    dir=$out/unpack/$name
    if ! newer "$dir/.stamp" "$1"; then
        rm -rf "$dir"
        mkdir -p "$dir"
        dpkg-deb -x "$1" "$dir" || die "cannot unpack $1"
        touch "$dir/.stamp"
    fi
    RF_DIR=$dir
}

# the kernels: Debian's /boot/vmlinuz-* files are bzImages (the i386 ones carry an
# Authenticode signature after the syssize*16 bytes of protected-mode code; harmless)
for pair in "686:$kdeb" "686-pae:$pdeb"; do
    flavour=${pair%%:*} deb=${pair#*:}
    if ! newer "$out/bzImage-$flavour" "$deb" || ! newer "$out/config-$flavour" "$deb"; then
        unpack "$deb"
        src=$(ls "$RF_DIR"/boot/vmlinuz-* 2>/dev/null | head -n1)
        [ -n "$src" ] || die "no /boot/vmlinuz-* in $deb"
        # the config answers "is X built in?" (Debian's System.map is a placeholder: the
        # real one is in the -dbg package; /proc/kallsyms in the guest serves, with nokaslr)
        cp "$RF_DIR"/boot/config-* "$out/config-$flavour" || die "no config in $deb"
        cp "$src" "$out/bzImage-$flavour.tmp" && mv "$out/bzImage-$flavour.tmp" "$out/bzImage-$flavour"
        echo "$prog: $out/bzImage-$flavour <- $(basename "$src")"
    fi
done

# the initramfs
inputs=("$bdeb" "$here/init.sh" "$here/workloads.sh" "$here/initrd.spec" "$here/mkcpio.py" "$0")
if ! newer "$out/initrd.gz" "${inputs[@]}"; then
    unpack "$bdeb"
    bb=$RF_DIR/bin/busybox
    [ -x "$bb" ] || die "no /bin/busybox in $bdeb"
    stage=$out/initrd.stage
    rm -rf "$stage" && mkdir -p "$stage/ck"
    # Expected sums of the checksum workload, made here with the host's own coreutils
    # from the same deterministic sources the guest uses (workloads.sh: wl_checksum).
    ( cd "$stage/ck" &&
      dd if=/dev/zero of=zero.bin bs=64k count=128 2>/dev/null &&
      seq 1 200000 > seq.txt &&
      { md5sum zero.bin seq.txt && sha256sum zero.bin seq.txt; } > ../expected.sums ) ||
        die "cannot compute the expected checksums"
    rm -rf "$stage/ck"
    sed -e "s|@BUSYBOX@|$bb|" -e "s|@GUESTDIR@|$here|g" -e "s|@STAGE@|$stage|g" \
        "$here/initrd.spec" > "$stage/initrd.spec"
    python3 "$here/mkcpio.py" "$stage/initrd.spec" "$stage/initrd.cpio" || die "cannot write the cpio archive"
    gzip -n -9 < "$stage/initrd.cpio" > "$out/initrd.gz.tmp" && mv "$out/initrd.gz.tmp" "$out/initrd.gz"
    echo "$prog: $out/initrd.gz ($(stat -c %s "$out/initrd.gz") bytes, busybox $(basename "$bdeb" .deb))"
fi

echo "$prog: ready: $out/bzImage-686 $out/bzImage-686-pae $out/initrd.gz"
