#!/usr/bin/env bash
# Runs every check CI runs: formatting, lints, the wasm32 build of the core, and all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "core builds for wasm32-unknown-unknown"
cargo build -p riposte_core --target wasm32-unknown-unknown --locked

step "PostgreSQL for the engine's tests (scripts/postgres.sh, 127.0.0.1, stopped at exit)"
# A URL given by the caller is used as is; otherwise a throwaway cluster under .cache/.
if [ -z "${RIPOSTE_TEST_POSTGRES_URL:-}" ]; then
  export RIPOSTE_TEST_POSTGRES_DIR="${RIPOSTE_TEST_POSTGRES_DIR:-$PWD/.cache/postgres-test}"
  eval "$(bash scripts/postgres.sh start "$RIPOSTE_TEST_POSTGRES_DIR")"
  trap 'bash scripts/postgres.sh stop "$RIPOSTE_TEST_POSTGRES_DIR" || true' EXIT
fi
export RIPOSTE_TEST_POSTGRES_URL

step "tests"
cargo nextest run --workspace --locked --no-fail-fast
# nextest does not run doctests
cargo test --workspace --doc --locked

# The binary the following steps drive (nextest builds it too, but say so rather than rely on it).
cargo build --locked --bin riposte

step "SARIF output validates (SARIF 2.1.0 + GitHub code scanning rules)"
bash scripts/validate-sarif.sh

step "language server through an independent client (pytest-lsp)"
# pytest exits 5 when it collected no tests: that is a failure here, as any other non-zero code.
status=0
RIPOSTE_BIN="$PWD/target/debug/riposte" .venv/bin/python -m pytest tests/lsp -q || status=$?
if [ "$status" -ne 0 ]; then
  [ "$status" -eq 5 ] && echo "tests/lsp: no tests were collected" >&2
  exit "$status"
fi

step "engine fault test: kill -9 a worker mid-run, restart PostgreSQL mid-run (tests/engine)"
status=0
RIPOSTE_BIN="$PWD/target/debug/riposte" .venv/bin/python -m pytest tests/engine -q -p no:cacheprovider || status=$?
if [ "$status" -ne 0 ]; then
  [ "$status" -eq 5 ] && echo "tests/engine: no tests were collected" >&2
  exit "$status"
fi

step "engine console in headless Chromium (tests/console)"
RIPOSTE_BIN="$PWD/target/debug/riposte" bash scripts/console-e2e.sh

step "VS Code extension: npm ci, typecheck, lint, unit tests; e2e in code-server + Chromium"
# Node 24 and code-server are cached outside the clone so later CI runs on this machine reuse them.
export RIPOSTE_E2E_CACHE="${RIPOSTE_E2E_CACHE:-$HOME/.cache/riposte-e2e}"
bash scripts/extension-setup.sh >/dev/null   # npm ci; Node 24, Chromium, code-server for the e2e
npm test
RIPOSTE_SERVER_BINARY=target/debug/riposte bash scripts/extension-e2e.sh
