#!/usr/bin/env bash
# Validates `riposte check --format sarif` with Microsoft's SARIF Multitool, including the rules
# GitHub code scanning applies on upload (--rule-kind Gh). The tool comes from the npm registry
# and is cached in .cache/; any error or warning it reports fails this script.
set -euo pipefail
cd "$(dirname "$0")/.."

version=5.7.0
tool_dir=.cache/sarif-multitool-$version
tool=$tool_dir/package/Sarif.Multitool
if [ ! -x "$tool" ]; then
  mkdir -p "$tool_dir"
  (cd "$tool_dir" && npm pack --silent "@microsoft/sarif-multitool-linux@$version" >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz)
  chmod +x "$tool"
fi

riposte=${RIPOSTE:-target/debug/riposte}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Findings of every rule, from the failing fixtures, plus a clean workspace.
"$riposte" check --format sarif fixtures/playbooks/bad fixtures/profiles/bad fixtures/rules/bad > "$work/findings.sarif" || true
"$riposte" check --format sarif fixtures/workspace > "$work/clean.sarif"

export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
for log in findings clean; do
  "$tool" validate "$work/$log.sarif" --output "$work/$log.report.sarif" --log ForceOverwrite --rule-kind "Sarif;Gh" >/dev/null
  python3 - "$work/$log.report.sarif" "$log" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
run = report["runs"][0]
rules = {r["id"]: r for r in run["tool"]["driver"].get("rules", [])}
problems = [r for r in run.get("results", []) if r.get("level", "warning") in ("error", "warning")]
for r in problems:
    template = rules.get(r["ruleId"], {}).get("messageStrings", {}).get(r["message"].get("id"), {}).get("text", "")
    print(f"{r['ruleId']}: {template} {r['message'].get('arguments')}")
if problems:
    sys.exit(f"SARIF validation of {sys.argv[2]}.sarif: {len(problems)} problems")
print(f"SARIF validation of {sys.argv[2]}.sarif: valid for SARIF 2.1.0 and GitHub code scanning")
PY
done
