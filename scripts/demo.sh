#!/usr/bin/env bash
# The main job on the demo workspace: build riposte, check every playbook, profile and rule,
# regenerate each playbook's documentation with its flow diagram, report the runtime's sandbox,
# then open the workspace in code-server with the extension (RIPOSTE_NO_EDITOR=1
# stops before the editor).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

cargo build --release --locked --bin riposte
riposte=target/release/riposte
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
if [ -z "${RIPOSTE_NO_EDITOR:-}" ]; then
  exec bash scripts/open-editor.sh "$workspace"
fi
