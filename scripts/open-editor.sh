#!/usr/bin/env bash
# Opens the demo workspace in code-server on loopback with the Riposte extension installed:
# the editor an author uses, in a browser. Packages the extension around the release binary,
# installs it into a private code-server profile (.cache/demo-editor) and serves until Ctrl-C.
#
#   bash scripts/open-editor.sh [WORKSPACE]      # default: fixtures/workspace
#   RIPOSTE_EDITOR_PORT=8080                      # the port on 127.0.0.1
set -euo pipefail
cd "$(dirname "$0")/.."

workspace="${1:-fixtures/workspace}"
port="${RIPOSTE_EDITOR_PORT:-8080}"
setup_out="$(bash scripts/extension-setup.sh)"
node24_bin="$(printf '%s\n' "$setup_out" | tail -n 2 | head -n 1)"
code_server="$(printf '%s\n' "$setup_out" | tail -n 1)"

[ -x target/release/riposte ] || cargo build --release --locked --bin riposte
RIPOSTE_SERVER_BINARY=target/release/riposte npm run --silent package >&2

profile=.cache/demo-editor
mkdir -p "$profile/user-data" "$profile/extensions"
PATH="$node24_bin:$PATH" "$code_server" --install-extension riposte.vsix --force \
  --user-data-dir "$profile/user-data" --extensions-dir "$profile/extensions" >&2

printf '\n== Riposte in code-server: http://127.0.0.1:%s/?folder=%s  (Ctrl-C to stop)\n' "$port" "$(cd "$workspace" && pwd)"
exec env PATH="$node24_bin:$PATH" "$code_server" --auth none --bind-addr "127.0.0.1:$port" \
  --disable-telemetry --disable-update-check --disable-workspace-trust \
  --user-data-dir "$profile/user-data" --extensions-dir "$profile/extensions" "$workspace"
