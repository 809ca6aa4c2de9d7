#!/usr/bin/env bash
# The extension's end-to-end suite: installs what it needs (scripts/extension-setup.sh: Node 24,
# code-server, Debian's chromium), packages the extension with the riposte binary, installs the
# .vsix into code-server on 127.0.0.1 and drives it with playwright-core in headless Chromium.
# Screenshots: tests/extension/artifacts/*.png.
#
#   bash scripts/extension-e2e.sh             # the full suite
#   E2E_SUBSET=ci bash scripts/extension-e2e.sh   # the subset CI runs (scripts/test.sh)
#   E2E_KEEP=1 ...                            # keep the temporary workspace and user data
#
# RIPOSTE_SERVER_BINARY=path packages that binary instead of building target/debug/riposte.
set -euo pipefail
cd "$(dirname "$0")/.."

setup_out="$(bash scripts/extension-setup.sh)"
node24_bin="$(printf '%s\n' "$setup_out" | tail -n 2 | head -n 1)"
code_server="$(printf '%s\n' "$setup_out" | tail -n 1)"

if [ -z "${RIPOSTE_SERVER_BINARY:-}" ]; then
  printf '\n== cargo build --bin riposte (the server bundled into the .vsix)\n' >&2
  cargo build --locked --bin riposte
  export RIPOSTE_SERVER_BINARY=target/debug/riposte
fi
printf '\n== cargo build --example llm-standin (the scripted model the chat spec talks to)\n' >&2
cargo build --locked -p riposte_agent --example llm-standin

printf '\n== npm run package\n' >&2
npm run --silent package >&2

printf '\n== e2e: code-server + Chromium\n' >&2
rm -f tests/extension/artifacts/*.png
CODE_SERVER="$code_server" \
NODE24_BIN="$node24_bin" \
RIPOSTE_VSIX="$PWD/riposte.vsix" \
LLM_STANDIN="$PWD/target/debug/examples/llm-standin" \
  node --test --test-concurrency=1 --test-timeout=900000 tests/extension/e2e.test.mjs tests/extension/engine.e2e.test.mjs tests/extension/chat.e2e.test.mjs
