#!/usr/bin/env bash
# The main job on the demo workspace: build riposte, check every playbook, profile and rule,
# regenerate each playbook's documentation with its flow diagram, report the runtime's sandbox,
# start the embedded engine (SQLite under .cache/engine-demo, 127.0.0.1 at the workspace's
# `[engine] url`) with the demo playbooks and rules deployed and a sample alert posted, then open
# the workspace in code-server with the extension. The engine stops when this script ends;
# RIPOSTE_NO_EDITOR=1 stops before the editor (and so ends at once).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

cargo build --release --locked --bin riposte
riposte="${CARGO_TARGET_DIR:-target}/release/riposte"
workspace=fixtures/workspace

printf '\n== riposte check %s\n' "$workspace"
"$riposte" check "$workspace"

for playbook in "$workspace"/playbooks/*.py; do
  printf '\n== riposte docs %s\n' "$playbook"
  "$riposte" docs "$playbook"
done

printf '\n== riposte doctor (which protections the runtime has here)\n'
"$riposte" doctor || true

printf '\nRead the docs in %s/playbooks/*.md; try `%s check fixtures/playbooks/bad` to see findings.\n' "$workspace" "$riposte"

# The engine: deploy, post an alert, show its runs and activity (scripts/engine-demo.py says how
# to reach it with the CLI and the console). The demo's profiles have no secrets here, so their
# runs end failed with the runtime's message naming the missing secret.
printf '\n== riposte serve with the demo workspace deployed\n'
engine_state=.cache/engine-demo
trap '.venv/bin/python scripts/engine-demo.py stop --state "$engine_state" || true' EXIT
status=0
RIPOSTE_BIN="$riposte" .venv/bin/python scripts/engine-demo.py start --state "$engine_state" || status=$?
if [ "$status" -eq 3 ]; then
  echo "note: this build has no engine (\`riposte serve\` is not available); skipped" >&2
elif [ "$status" -ne 0 ]; then
  echo "error: the engine demo failed (log: $engine_state/serve.log)" >&2
  exit "$status"
fi

if [ -z "${RIPOSTE_NO_EDITOR:-}" ]; then
  bash scripts/open-editor.sh "$workspace"
fi
