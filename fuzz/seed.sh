#!/usr/bin/env bash
# Seeds the fuzz corpora from the repository's fixtures (the corpus folders are gitignored).
#   check_playbook     <- fixtures/playbooks/**/*.py (good, bad and fixed playbooks)
#   workspace_formats  <- fixtures/workspace/** (riposte.toml, profiles, rules, OpenAPI),
#                         fixtures/profiles/**, fixtures/rules/**, fixtures/alerts/*.json
# Files are named by content hash, as libFuzzer names its own, so re-running adds nothing twice.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fixtures="$here/../fixtures"

seed() {
    local target="$1" pattern="$2"
    shift 2
    local dir="$here/corpus/$target"
    mkdir -p "$dir"
    local count=0
    while IFS= read -r -d '' file; do
        cp "$file" "$dir/$(sha1sum "$file" | cut -d' ' -f1)"
        count=$((count + 1))
    done < <(find -L "$@" -type f -regextype posix-extended -regex "$pattern" -print0)
    echo "$target: $count seed files -> $(ls "$dir" | wc -l) in corpus/$target"
}

seed check_playbook '.*\.py' "$fixtures/playbooks"
seed workspace_formats '.*\.(toml|json)' "$fixtures/workspace" "$fixtures/profiles" "$fixtures/rules" "$fixtures/alerts"
