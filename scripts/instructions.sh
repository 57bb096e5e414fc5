#!/usr/bin/env bash
# Instructions per sign-in verification, counted by callgrind (repeatable whatever the
# machine is doing): the core's verify, the service on an authenticator-only record,
# and the service on a full record with the AEAD sealer. Each is measured as the
# difference between CALLS verifications and none, so set-up is not counted, less the
# instructions the phone spends making each code.
set -euo pipefail
cd "$(dirname "$0")/.."
calls=${1:-2000}
cargo bench --bench instructions --all-features --no-run 2>/dev/null
binary=$(ls -t target/release/deps/instructions-* | grep -v '\.d$' | head -n 1)
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$binary" "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
declare -A per
for mode in generate core service full; do
    base=$(count "$mode" 0)
    total=$(count "$mode" "$calls")
    per[$mode]=$(( (total - base) / calls ))
done
# The phone's work (making the code) is not the verifier's.
for mode in core service full; do
    per[$mode]=$(( per[$mode] - per[generate] ))
done
echo "| path | instructions per verification | vs core |"
echo "|---|---:|---:|"
for mode in core service full; do
    ratio=$(python3 -c "print(f'{${per[$mode]} / ${per[core]}:.2f}x')")
    echo "| $mode | ${per[$mode]} | $ratio |"
done
