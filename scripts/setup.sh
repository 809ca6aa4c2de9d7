#!/usr/bin/env bash
# Installs what building and testing Riposte needs on a fresh Debian machine with a Rust toolchain
# (rustup, cargo) and Python 3. Idempotent: each step checks before it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*" >&2; }

if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target (core must build for the browser)"
    rustup target add wasm32-unknown-unknown
  fi
  for component in rustfmt clippy; do
    rustup component list --installed | grep -q "^$component" || rustup component add "$component"
  done
else
  echo "warning: rustup not found; the wasm32 build check needs the wasm32-unknown-unknown target" >&2
fi

if ! cargo nextest --version >/dev/null 2>&1; then
  say "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

# Python packages the test suites use as independent implementations and baselines.
VENV=.venv
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV for test tools"
  python3 -m venv "$VENV"
fi
stamp="$VENV/.requirements-installed"
if [ ! -f "$stamp" ] || ! cmp -s scripts/requirements-test.txt "$stamp"; then
  say "installing Python test tools (scripts/requirements-test.txt)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
  cp scripts/requirements-test.txt "$stamp"
fi
