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

step "tests"
cargo nextest run --workspace --locked --no-fail-fast
# nextest does not run doctests
cargo test --workspace --doc --locked

step "SARIF output validates (SARIF 2.1.0 + GitHub code scanning rules)"
cargo build --locked --bin riposte
bash scripts/validate-sarif.sh
