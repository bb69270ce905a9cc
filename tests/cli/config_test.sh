#!/usr/bin/env bash
# `ringfold run --config FILE` (issue 5): a config file runs the demo guest with its kernel path
# taken relative to the file; command-line options override the file; a bad file gets one
# line naming FILE:LINE and status 2.
# usage: config_test.sh RINGFOLD DEMO_KERNEL DEMO_VMCFG
set -u
rf=$(realpath "$1") demo=$(realpath "$2") vmcfg=$(realpath "$3")
dir=$(mktemp -d) && trap 'rm -rf "$dir"' EXIT
out=$dir/out

expect() {   # expect STATUS LINES-PATTERN -- command...
    local want=$1 pat=$2; shift 3
    "$@" >"$out" 2>&1 </dev/null
    local got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: '$*' exited $got, expected $want"; cat "$out"; exit 1
    fi
    if ! grep -Eq -- "$pat" "$out"; then
        echo "FAIL: '$*' output does not match /$pat/"; cat "$out"; exit 1
    fi
}
one_line() {
    [ "$(wc -l <"$out")" -eq 1 ] || { echo "FAIL: expected one line:"; cat "$out"; exit 1; }
}

# The sample config beside the kernel, run from elsewhere: kernel = demo.elf is found beside
# the file, not in the current folder.
mkdir "$dir/vm"
cp "$vmcfg" "$dir/vm/demo.vmcfg"
ln -s "$demo" "$dir/vm/demo.elf"
cfg=$dir/vm/demo.vmcfg
cd /
expect 0 'guest reset' -- "$rf" run --config "$cfg"
grep -q "^ringfold: engine emu (named in $cfg:[0-9]*)" "$out" ||
    { echo "FAIL: the start line does not say the file chose the engine"; cat "$out"; exit 1; }
expect 0 "^engine: emu \(named in $cfg:[0-9]*\)" -- "$rf" run --config="$cfg" --stats
grep -q '^emu: ' "$out" || { echo "FAIL: --stats from the command line printed no engine stats"; cat "$out"; exit 1; }

# stats = yes in the file does the same as --stats.
{ cat "$vmcfg"; echo "stats = yes"; } >"$dir/vm/stats.vmcfg"
expect 0 '^engine: emu \(named in ' -- "$rf" run --config "$dir/vm/stats.vmcfg"

# The command line overrides the file: the engine (auto picks one of its own, with its reason),
# and the kernel (the sys_triple image would triple-fault; a positional kernel replaces the
# file's, relative to the current folder).
expect 0 '^ringfold: engine [a-z]+ \(auto: ' -- "$rf" run --config "$cfg" --engine=auto --timeout=60
if "$rf" probe --engine=raw >/dev/null 2>&1; then
    expect 0 '^ringfold: engine raw \(named with --engine\)' -- "$rf" run --config "$cfg" --engine=raw
fi
cd "$dir/vm"
expect 0 'guest reset' -- "$rf" run --config demo.vmcfg ./demo.elf
cd /
expect 2 "^ringfold: --mem: cannot parse '5X'" -- "$rf" run --config "$cfg" --mem=5X
one_line

# Errors in the file: one line, FILE:LINE, status 2.
bad=$dir/vm/bad.vmcfg
printf '# a typo\nengine = emu\nmemory = 64M\n' >"$bad"
expect 2 "^ringfold: $bad:3: unknown key 'memory'" -- "$rf" run --config "$bad" "$demo"
one_line
printf 'engine = emu\nmem = 5X\n' >"$bad"
expect 2 "^ringfold: $bad:2: mem: cannot parse '5X' \(e.g. 128M, 1G\)" -- "$rf" run --config "$bad" "$demo"
one_line
printf 'engine = vmx\n' >"$bad"
expect 2 "^ringfold: $bad:1: engine: unknown engine 'vmx'" -- "$rf" run --config "$bad" "$demo"
one_line
printf 'mem = 32M\nengine = emu\nmem = 64M\n' >"$bad"
expect 2 "^ringfold: $bad:3: mem: set twice \(first at line 1\)" -- "$rf" run --config "$bad" "$demo"
one_line
printf 'stats = perhaps\n' >"$bad"
expect 2 "^ringfold: $bad:1: stats: 'perhaps' is not yes or no" -- "$rf" run --config "$bad" "$demo"
one_line
printf 'kernel = missing.elf\n' >"$bad"
expect 2 "^ringfold: $dir/vm/missing.elf: .*No such file" -- "$rf" run --config "$bad"
one_line
expect 2 "^ringfold: $dir/none.vmcfg: cannot read: No such file or directory" -- "$rf" run --config "$dir/none.vmcfg" "$demo"
one_line
expect 2 '^ringfold: --config: given twice' -- "$rf" run --config "$cfg" --config "$cfg"
one_line
echo "cli config: ok"
