#!/usr/bin/env bash
# The main job on the demo workspace: build riposte, check every playbook, profile and rule, and
# regenerate each playbook's documentation with its flow diagram.
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

printf '\nDone. Read the docs in %s/playbooks/*.md; try `%s check fixtures/playbooks/bad` to see findings.\n' "$workspace" "$riposte"
