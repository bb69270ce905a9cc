#!/bin/bash
# Print the Linux/x86 boot protocol setup header of bzImage files (the facts a bzImage
# loader needs), read with od. Field offsets and meanings: the kernel's
# Documentation/arch/x86/boot.rst, "The Real-Mode Kernel Header" (all little-endian).
# usage: inspect-bzimage.sh BZIMAGE...
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: inspect-bzimage.sh BZIMAGE..." >&2; exit 2; }

# u OFFSET SIZE: unsigned little-endian integer of SIZE (1, 2, 4 or 8) bytes at OFFSET
u() {
    od -An -t "u$2" -j "$(($1))" -N "$2" --endian=little "$f" | tr -d ' '
}

hex() { printf '0x%x' "$1"; }

for f in "$@"; do
    [ -r "$f" ] || { echo "inspect-bzimage.sh: cannot read $f" >&2; exit 1; }
    size=$(stat -c %s "$f")
    [ "$size" -ge 1024 ] || { echo "inspect-bzimage.sh: $f: too small for a bzImage" >&2; exit 1; }
    [ "$(u 0x1fe 2)" -eq $((0xaa55)) ] || { echo "inspect-bzimage.sh: $f: no 0xAA55 boot_flag at 0x1fe" >&2; exit 1; }
    [ "$(u 0x202 4)" -eq $((0x53726448)) ] || { echo "inspect-bzimage.sh: $f: no \"HdrS\" at 0x202 (pre-2.00 kernel)" >&2; exit 1; }

    setup_sects=$(u 0x1f1 1)
    [ "$setup_sects" -ne 0 ] || setup_sects=4     # boot.rst: 0 means 4
    version=$(u 0x206 2)
    loadflags=$(u 0x211 1)
    xloadflags=$(u 0x236 2)
    pm_offset=$(( (setup_sects + 1) * 512 ))

    echo "== $f ($size bytes)"
    printf '%-20s %s\n' \
        "setup_sects" "$setup_sects (real-mode part: $pm_offset bytes = boot sector + setup)" \
        "protocol version" "$((version >> 8)).$(printf %02d $((version & 0xff))) ($(hex "$version"))" \
        "jump->header end" "$(hex $((0x202 + $(u 0x201 1))))  (copy 0x1f1..this into boot_params.hdr)" \
        "syssize" "$(u 0x1f4 4) paragraphs = $(( $(u 0x1f4 4) * 16 )) bytes of protected-mode code" \
        "pm code in file" "offset $pm_offset, $((size - pm_offset)) bytes" \
        "loadflags" "$(hex "$loadflags") (LOADED_HIGH=$((loadflags & 1)), CAN_USE_HEAP=$(((loadflags >> 7) & 1)))" \
        "code32_start" "$(hex "$(u 0x214 4)")" \
        "kernel_version ptr" "$(hex "$(u 0x20e 2)") -> \"$(dd if="$f" bs=1 skip=$(( $(u 0x20e 2) + 0x200 )) count=200 2>/dev/null | tr '\0' '\n' | head -n1)\"" \
        "heap_end_ptr" "$(hex "$(u 0x224 2)")" \
        "initrd_addr_max" "$(hex "$(u 0x22c 4)")" \
        "kernel_alignment" "$(hex "$(u 0x230 4)")" \
        "relocatable_kernel" "$(u 0x234 1)" \
        "min_alignment" "$(u 0x235 1) (2^n = $(hex $((1 << $(u 0x235 1)))))" \
        "xloadflags" "$(hex "$xloadflags") (KERNEL_64=$((xloadflags & 1)), CAN_BE_LOADED_ABOVE_4G=$(((xloadflags >> 1) & 1)), EFI_HANDOVER_32=$(((xloadflags >> 2) & 1)))" \
        "cmdline_size" "$(u 0x238 4)" \
        "payload_offset" "$(hex "$(u 0x248 4)") length $(u 0x24c 4)" \
        "pref_address" "$(hex "$(u 0x258 8)")" \
        "init_size" "$(hex "$(u 0x260 4)") ($(( $(u 0x260 4) >> 20 )) MiB from the load address)" \
        "handover_offset" "$(hex "$(u 0x264 4)")" \
        "kernel_info_offset" "$(hex "$(u 0x268 4)")"
done
