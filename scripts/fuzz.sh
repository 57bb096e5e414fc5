#!/usr/bin/env bash
# Builds every fuzz target in fuzz/ and runs each for SECONDS (default 60), one after
# the other; exits non-zero if any target crashed, leaked, timed out or ran out of
# memory.
#
#   scripts/fuzz.sh            # 60 s a target
#   scripts/fuzz.sh 5          # the short mode CI runs
#   scripts/fuzz.sh 600 flow_state record_json   # chosen targets only
#
# Needs only Rust and crates.io: installs cargo-fuzz if it is missing, and builds on
# the stable toolchain with RUSTC_BOOTSTRAP=1, as cargo-fuzz documents for stable.
# Every target runs even after one fails, so one run reports them all.
# The checked-in seeds in fuzz/corpus/<target>/ are only read; what a run finds goes
# to fuzz/corpus-run/<target>/ (ignored by git) and is reused by the next run. A crash
# is saved under fuzz/artifacts/<target>/; reproduce it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -s none <target> fuzz/artifacts/<target>/<file>
#
# Environment: FUZZ_SANITIZER (default none: the crate forbids unsafe code, so the
# sanitizer costs speed for little; debug assertions and overflow checks stay on),
# CARGO_TARGET_DIR as usual.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
sanitizer="${FUZZ_SANITIZER:-none}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

cd fuzz
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

echo "== cargo fuzz build (${#targets[@]} targets, sanitizer: $sanitizer)"
cargo fuzz build -s "$sanitizer"

dictionary_for() {
  case "$1" in
    uri_parse) echo "-dict=dict/uri.dict" ;;
    record_json | settings_json) echo "-dict=dict/json.dict" ;;
    webauthn_response) echo "-dict=dict/webauthn.dict" ;;
  esac
}

status=0
for target in "${targets[@]}"; do
  echo "== $target: ${seconds}s"
  mkdir -p "corpus-run/$target" "artifacts/$target"
  log="artifacts/$target/last-run.log"
  rc=0
  # shellcheck disable=SC2046
  cargo fuzz run -s "$sanitizer" "$target" "corpus-run/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    $(dictionary_for "$target") >"$log" 2>&1 || rc=$?
  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
  if [ "$rc" -ne 0 ]; then
    grep -E 'panicked at|^==[0-9]+==|^SUMMARY|Test unit written to|^Error' "$log" | head -n 20 || true
    echo "!! $target failed (exit $rc): see fuzz/$log and fuzz/artifacts/$target/"
    status=1
  fi
done
exit "$status"
