#!/usr/bin/env bash
# The engine console's browser test: starts `riposte serve` on a free loopback port with the demo
# workspace deployed and a sample alert posted (scripts/engine-demo.py, in a temporary folder),
# then drives the console in Debian's headless Chromium with playwright-core
# (tests/console/console.test.mjs), and stops the engine whatever happens.
# Screenshots: tests/console/screenshots/*.png.
#
#   bash scripts/console-e2e.sh      # RIPOSTE_BIN=path uses that binary instead of building one
set -euo pipefail
cd "$(dirname "$0")/.."

if ! [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  printf '\n== installing Debian chromium\n' >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo -n)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq </dev/null >&2
  "${sudo_cmd[@]}" apt-get install -y -qq chromium </dev/null >&2
fi
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund >&2

if [ -z "${RIPOSTE_BIN:-}" ]; then
  cargo build --locked --bin riposte
  RIPOSTE_BIN="${CARGO_TARGET_DIR:-target}/debug/riposte"
fi
export RIPOSTE_BIN

python=.venv/bin/python
[ -x "$python" ] || python=python3
state="$(mktemp -d "${TMPDIR:-/tmp}/riposte-console-XXXXXX")"
cleanup() {
  "$python" scripts/engine-demo.py stop --state "$state" >/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT
port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

printf '\n== engine with the demo workspace (scripts/engine-demo.py)\n' >&2
"$python" scripts/engine-demo.py start --state "$state" --port "$port" >&2

printf '\n== console in headless Chromium (tests/console/console.test.mjs)\n' >&2
rm -f tests/console/screenshots/*.png
RIPOSTE_CONSOLE_STATE="$state/engine.json" node --test --test-concurrency=1 --test-timeout=300000 tests/console/console.test.mjs
