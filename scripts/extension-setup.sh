#!/usr/bin/env bash
# Installs what the extension's end-to-end suite needs, from the package registries only:
#   - Node 24 (the npm package `node@24`) in .cache/node24 (code-server refuses Node 20),
#   - Debian's chromium (the browser) and libkrb5-dev (code-server's `kerberos` module builds
#     from source), only when missing,
#   - code-server in .cache/code-server,
#   - the extension's own npm dependencies (npm ci) when node_modules is missing or stale.
# Idempotent: each step checks before it installs. Node 24 and code-server go to
# $RIPOSTE_E2E_CACHE (default: .cache/ in the repo; CI points it outside the clone so later runs on
# the same machine reuse them). Prints two lines last: Node 24's bin folder and the code-server
# launcher, for callers to use.
set -euo pipefail
cd "$(dirname "$0")/.."

CODE_SERVER_VERSION=4.139.1
NODE_MAJOR=24
CACHE="${RIPOSTE_E2E_CACHE:-.cache}"
NODE_DIR="$CACHE/node$NODE_MAJOR"
CS_DIR="$CACHE/code-server"

say() { printf '\n== %s\n' "$*" >&2; }

# --- Debian packages -----------------------------------------------------------------------------
missing=()
for pkg in libkrb5-dev chromium; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq >&2
  # A half-finished upgrade elsewhere on the machine blocks every install ("Unmet dependencies"):
  # let apt finish it first.
  "${sudo_cmd[@]}" apt-get check >/dev/null 2>&1 || "${sudo_cmd[@]}" apt-get install -y -qq -f >&2
  "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >&2
fi

# --- Node 24 -------------------------------------------------------------------------------------
node24="$NODE_DIR/node_modules/node/bin/node"
if ! [ -x "$node24" ] || ! "$node24" --version 2>/dev/null | grep -q "^v$NODE_MAJOR\."; then
  say "installing Node $NODE_MAJOR (npm package node@$NODE_MAJOR) into $NODE_DIR"
  mkdir -p "$NODE_DIR"
  [ -f "$NODE_DIR/package.json" ] || echo '{"private": true}' > "$NODE_DIR/package.json"
  npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error "node@$NODE_MAJOR" >&2
fi
node_bin="$(cd "$NODE_DIR/node_modules/node/bin" && pwd)"

# --- code-server ---------------------------------------------------------------------------------
cs_pkg="$CS_DIR/node_modules/code-server/package.json"
if ! [ -f "$cs_pkg" ] || ! grep -q "\"version\": \"$CODE_SERVER_VERSION\"" "$cs_pkg" \
  || ! [ -d "$CS_DIR/node_modules/code-server/lib/vscode/node_modules" ]; then
  say "installing code-server@$CODE_SERVER_VERSION into $CS_DIR (a few minutes: native modules build)"
  mkdir -p "$CS_DIR"
  [ -f "$CS_DIR/package.json" ] || echo '{"private": true}' > "$CS_DIR/package.json"
  PATH="$node_bin:$PATH" npm install --prefix "$CS_DIR" --no-audit --no-fund --loglevel=error \
    --unsafe-perm "code-server@$CODE_SERVER_VERSION" >&2
fi

# --- the extension's own dependencies ------------------------------------------------------------
stamp=node_modules/.package-lock.stamp
if ! [ -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  say "npm ci (the extension's dependencies)"
  npm ci --no-audit --no-fund --loglevel=error >&2
  cp package-lock.json "$stamp"
fi

echo "$node_bin"
echo "$(cd "$CS_DIR/node_modules/.bin" && pwd)/code-server"
