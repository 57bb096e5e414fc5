#!/usr/bin/env bash
# The mfa-kit-axum web example, walked through in real headless Chromium (Debian's
# package, never a downloaded browser), driven by playwright-core. Installs what it
# needs: apt's chromium if missing, then `npm ci` in crates/mfa-kit-axum/browser-tests.
# Screenshots go to target/browser-tests/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  echo "== installing Debian's chromium"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium
fi
if ! version=$("$chromium" --version 2>/dev/null); then
  echo "ERROR: Chromium at $chromium cannot be started; the browser test cannot run." >&2
  exit 1
fi
echo "== $version"
command -v npm >/dev/null || { echo "ERROR: node and npm are needed for the browser test." >&2; exit 1; }

echo "== building the web example"
cargo build -p mfa-kit-axum --example web
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

echo "== npm ci"
cd crates/mfa-kit-axum/browser-tests
npm ci --no-audit --no-fund --loglevel=error

echo "== browser test"
export CHROMIUM="$chromium"
export WEB_BIN="$target_dir/debug/examples/web"
export SCREENSHOT_DIR="$root/target/browser-tests"
node --test --test-reporter=spec walkthrough.test.mjs
echo "screenshots: $SCREENSHOT_DIR"
