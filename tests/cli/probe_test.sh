#!/usr/bin/env bash
# `ringfold probe`: the report, --json (valid JSON), --record, --engine=NAME exit statuses,
# and bad options (one line, status 2). Holds on any host, with or without /dev/kvm.
# usage: probe_test.sh RINGFOLD
set -u
rf=$1
out=$(mktemp) && trap 'rm -f "$out"' EXIT

expect() {   # expect STATUS PATTERN -- command...
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
    [ "$(wc -l <"$out")" -eq 1 ] || { echo "FAIL: expected one line"; cat "$out"; exit 1; }
}

expect 0 '^auto picks: (emu|raw|kvm) because' -- "$rf" probe
for want in '^CPU' '^/dev/kvm' '^KVM module' '^KVM-PVM' '^test guests' '^KVM decision' '^  emu  yes'; do
    grep -Eq -- "$want" "$out" || { echo "FAIL: the report lacks /$want/"; cat "$out"; exit 1; }
done

expect 0 '"kvm_decision"' -- "$rf" probe --json
python3 - "$out" <<'PY' || exit 1
import json, sys
j = json.load(open(sys.argv[1]))
assert set(j) >= {"host", "kvm_decision", "engines", "auto"}, j.keys()
assert [e["name"] for e in j["engines"]][-1] == "emu"
assert j["auto"]["engine"] in ("emu", "raw", "kvm"), j["auto"]
d = j["kvm_decision"]
assert not d["hw_virt"] or (j["host"]["cpuid_vmx"] or j["host"]["cpuid_svm"]), d
PY

expect 0 '^api_version = ' -- "$rf" probe --record

expect 0 '^emu: yes' -- "$rf" probe --engine=emu --paged
one_line
expect 0 '^emu: yes' -- "$rf" probe --engine=emu
one_line
"$rf" probe --engine=kvm >"$out" 2>&1
st=$?
{ [ $st -eq 0 ] || [ $st -eq 1 ]; } || { echo "FAIL: --engine=kvm exited $st"; cat "$out"; exit 1; }
grep -Eq '^kvm: (yes|no): ' "$out" || { echo "FAIL: --engine=kvm said"; cat "$out"; exit 1; }
one_line

expect 2 "^ringfold probe: --engine: unknown engine 'bogus'" -- "$rf" probe --engine=bogus
one_line
expect 2 "^ringfold probe: unknown option '--frobnicate'" -- "$rf" probe --frobnicate
one_line
expect 2 'needs --engine' -- "$rf" probe --paged
one_line
echo "cli probe: ok"
