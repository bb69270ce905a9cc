#!/usr/bin/env bash
# bench/smoke-mips.sh: functional check of the benchmark guests (ctest bench.mips.smoke and
# bench.mips.qemu). No timing: each kernel runs once with a tiny iteration count and must exit
# through isa-debug-exit with success (status 33) and print its exact instruction count.
#   smoke-mips.sh emu  RINGFOLD_BINARY KERNEL_DIR   ringfold --engine=emu; when QEMU is
#                                                   installed its checksum must match QEMU's
#   smoke-mips.sh qemu QEMU_BINARY     KERNEL_DIR   QEMU TCG, with the single-step count check
set -u

mode=${1:?usage: smoke-mips.sh emu|qemu BINARY KERNEL_DIR}
bin=${2:?missing binary}
kdir=${3:?missing kernel directory}
iters=1000
qemu=qemu-system-i386
status=0

run_qemu() {  # kernel append
    timeout 60 "$qemu" -accel tcg -m 64 -display none -serial stdio -monitor none \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot \
        -kernel "$1" -append "$2" </dev/null
}

run_emu() {   # kernel append
    "$bin" run --engine=emu --timeout=60 --mem=64M --serial=stdio --append="$2" "$1" </dev/null
}

if [ "$mode" = qemu ]; then
    qemu=$bin
    if ! command -v "$qemu" >/dev/null 2>&1; then
        echo "SKIP: $qemu not installed"
        exit 77
    fi
fi

for variant in compute memory paging; do
    kernel=$kdir/mips-$variant.elf
    if [ ! -f "$kernel" ]; then
        echo "FAIL $variant: $kernel not built"
        status=1
        continue
    fi
    if [ "$mode" = qemu ]; then
        out=$(run_qemu "$kernel" "iters=$iters verify" 2>&1); rc=$?
    else
        out=$(run_emu "$kernel" "iters=$iters" 2>&1); rc=$?
    fi
    line=$(printf '%s\n' "$out" | grep -a "^mips: variant=$variant ")
    if [ "$rc" -ne 33 ] || [ -z "$line" ]; then
        echo "FAIL $variant ($mode): exit status $rc (want 33); output:"
        printf '%s\n' "$out" | sed 's/^/    /'
        status=1
        continue
    fi
    if [ "$mode" = qemu ] && ! printf '%s\n' "$out" | grep -aq "^mips: verify ok"; then
        echo "FAIL $variant (qemu): no single-step verification line"
        status=1
        continue
    fi
    # insns must be exactly iters * insns_per_iter, as printed by the guest.
    set -- $(printf '%s\n' "$line" | awk '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        print v["iters"], v["insns_per_iter"], v["insns"], v["checksum"] }')
    if [ "$#" -ne 4 ] || [ "$1" != "$iters" ] || [ "$3" != "$(( $1 * $2 ))" ]; then
        echo "FAIL $variant ($mode): bad result line: $line"
        status=1
        continue
    fi
    csum=$4
    if [ "$mode" = emu ] && command -v "$qemu" >/dev/null 2>&1; then
        ref=$(run_qemu "$kernel" "iters=$iters" 2>&1 | grep -a "^mips: variant=$variant " |
              sed -n 's/.*checksum=\([0-9a-fx]*\).*/\1/p')
        if [ "$ref" != "$csum" ]; then
            echo "FAIL $variant (emu): checksum $csum, QEMU computes $ref"
            status=1
            continue
        fi
    fi
    echo "ok   $variant ($mode): $line"
done
exit $status
