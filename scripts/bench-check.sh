#!/usr/bin/env bash
# Whole-process comparison: `riposte check FILE` against `ruff check --no-cache --isolated FILE`
# (ruff's default rules) on the same realistic 5,000-line playbook, timed side by side.
#
#   scripts/bench-check.sh            # hyperfine (10 warm-ups, >= 50 runs each), then 30 interleaved runs
#   RUNS=60 HYPERFINE_RUNS=100 scripts/bench-check.sh   # more runs
#   RIPOSTE_BIN=path/to/riposte scripts/bench-check.sh   # time that binary, build nothing
#
# It builds `riposte` in release (into $CARGO_TARGET_DIR, default target/), writes the playbook
# into a temporary copy of the demo workspace's settings and profiles (so integration calls
# resolve as in a real workspace), installs ruff into .venv from scripts/requirements-test.txt,
# and prints the medians and the ratio riposte/ruff. Both tools exit 1 on findings: ignored.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

say() { printf '\n== %s\n' "$*" >&2; }

if [ -n "${RIPOSTE_BIN:-}" ]; then
  # A binary built beforehand, e.g. to compare two builds in turn without rebuilding.
  riposte="$(cd "$(dirname "$RIPOSTE_BIN")" && pwd)/$(basename "$RIPOSTE_BIN")"
else
  say "building riposte (release)"
  cargo build --release --quiet -p riposte_cli --bin riposte
  target_dir="${CARGO_TARGET_DIR:-$repo/target}"
  riposte="$target_dir/release/riposte"
fi
[ -x "$riposte" ] || { echo "no binary at $riposte" >&2; exit 2; }

VENV=.venv
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/ruff" --version 2>/dev/null | grep -qx "ruff $(sed -n 's/^ruff==//p' scripts/requirements-test.txt)"; then
  say "installing ruff into $VENV (scripts/requirements-test.txt)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
fi
ruff="$repo/$VENV/bin/ruff"

if ! command -v hyperfine >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "installing hyperfine (Debian)"
  (apt-get install -y hyperfine >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y hyperfine >/dev/null 2>&1; }) || true
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/playbooks"
cp fixtures/workspace/riposte.toml "$work/"
cp -r fixtures/workspace/integrations fixtures/workspace/apis "$work/"
file="$work/playbooks/generated.py"

say "generating the 5,000-line playbook"
# The same recipe as server/core/benches/check.rs: the demo playbooks copied with every top-level
# name made unique, plus a helper per copy (f-strings, alert reads, an integration call, a
# `# noqa` every seventh copy), then a `run` that calls every copy.
"$VENV/bin/python" - "$file" <<'PY'
import pathlib
import re
import sys

MAX_LINES = 5000
root = pathlib.Path("fixtures/workspace/playbooks")
HEADER = '''"""Generated for benchmarking: the demo workspace's playbooks, copied with unique names."""
import time

from riposte import Alert, Context, HTTPError

'''


def template(text):
    lines = text.splitlines()
    if lines and lines[0].startswith('"""'):
        first = lines.pop(0)
        if not (len(first) > 3 and first.rstrip().endswith('"""')):
            while lines and not lines.pop(0).rstrip().endswith('"""'):
                pass
    body = [l for l in lines if not (l.startswith("import ") or l.startswith("from "))]
    names = []
    for line in body:
        m = re.match(r"def ([A-Za-z_][A-Za-z0-9_]*)", line) or re.match(r"([A-Z_][A-Z0-9_]*)\s*=", line)
        if m:
            names.append(m.group(1))
    return "\n".join(body).strip() + "\n", names


def rename(text, names, suffix):
    if not names:
        return text
    pattern = re.compile(r"(?<![.\w])(" + "|".join(map(re.escape, names)) + r")(?!\w)")
    return pattern.sub(lambda m: f"{m.group(1)}_{suffix}", text)


def helper(copy):
    integration = ["VirusTotal", "Microsoft Graph", "Slack", "Jira", "ServiceNow"][copy % 5]
    noqa = f'    print(f"summary {copy}: {{summary}}")  # noqa: RP014\n' if copy % 7 == 0 else ""
    return (
        f"def summarize_{copy}(alert: Alert, ctx: Context) -> str:\n"
        f'    evidence = [f"{{u.value}}" for u in alert.urls()] + [f"{{ip.value}}" for ip in alert.ips()]\n'
        f'    summary = f"{{alert.title}} [{{alert.severity}}] {{len(evidence)}} items, incident {{alert.incident_id or \'none\'}}"\n'
        f'    client = ctx.integration("{integration}")\n'
        f'    ctx.log("summary", copy={copy}, summary=summary, client=str(client), created=alert.created)\n'
        f"{noqa}    return summary\n\n\n"
    )


templates = [template(p.read_text()) for p in sorted(root.glob("*.py"))]
out, lines, runs, copy = [HEADER], HEADER.count("\n"), [], 0
while True:
    body, names = templates[copy % len(templates)]
    unit = rename(body, names, str(copy)) + "\n\n" + helper(copy)
    unit_lines = unit.count("\n")
    if lines + unit_lines + 8 + len(runs) + 1 > MAX_LINES:
        break
    out.append(unit)
    lines += unit_lines
    runs.append(f"run_{copy}")
    copy += 1
out.append("HANDLERS = [\n" + "".join(f"    {r},\n" for r in runs) + "]\n\n\n")
out.append("def run(alert: Alert, ctx: Context) -> dict:\n    results = {}\n    for handler in HANDLERS:\n"
           "        results[handler.__name__] = handler(alert, ctx)\n    return results\n")
text = "".join(out)
compile(text, sys.argv[1], "exec")  # valid Python, or this fails
pathlib.Path(sys.argv[1]).write_text(text)
print(f"{sys.argv[1]}: {text.count(chr(10))} lines, {len(text.encode())} bytes", file=sys.stderr)
PY

say "what each tool reports on it (one run)"
riposte_status=0
"$riposte" check "$file" > "$work/riposte.out" 2>&1 || riposte_status=$?
ruff_status=0
"$ruff" check --no-cache --isolated "$file" > "$work/ruff.out" 2>&1 || ruff_status=$?
echo "riposte check: exit $riposte_status; last line: $(tail -n 1 "$work/riposte.out")" >&2
echo "ruff check:    exit $ruff_status; last line: $(tail -n 1 "$work/ruff.out")" >&2
if grep -qE ': RP00[12] ' "$work/riposte.out"; then
  echo "the generated playbook has a syntax error or is too long for riposte:" >&2
  cat "$work/riposte.out" >&2
  exit 2
fi
if [ "$riposte_status" -gt 1 ] || [ "$ruff_status" -gt 1 ]; then
  echo "a tool failed (exit codes riposte $riposte_status, ruff $ruff_status)" >&2
  exit 2
fi

echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(date -u +%FT%TZ)"

if command -v hyperfine >/dev/null 2>&1; then
  say "hyperfine: riposte vs ruff, side by side"
  hyperfine -N -i --warmup 10 --min-runs "${HYPERFINE_RUNS:-50}" --export-json "$work/hyperfine.json" \
    -n riposte "$riposte check $file" \
    -n ruff "$ruff check --no-cache --isolated $file"
  python3 - "$work/hyperfine.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
r, f = results["riposte"], results["ruff"]
print(f"hyperfine median riposte check: {r['median'] * 1000:.2f} ms (mean {r['mean'] * 1000:.2f} ± {r['stddev'] * 1000:.2f})")
print(f"hyperfine median ruff check:    {f['median'] * 1000:.2f} ms (mean {f['mean'] * 1000:.2f} ± {f['stddev'] * 1000:.2f})")
print(f"hyperfine ratio riposte/ruff (medians): {r['median'] / f['median']:.2f}")
PY
else
  echo "hyperfine is not installed: only the interleaved loop below" >&2
fi

# hyperfine runs one command's batch, then the other's: on a shared machine the two batches can
# meet different loads. Alternating single runs (ABAB…) sees the same load for both, and the CPU
# time (user + system, from rusage) is barely affected by other processes at all.
say "interleaved: ${RUNS:-30} alternating runs each, medians of wall and CPU time"
python3 - "${RUNS:-30}" "$riposte" "$ruff" "$file" <<'PY'
import os, statistics, subprocess, sys, time

runs, riposte, ruff, file = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
commands = {"riposte": [riposte, "check", file], "ruff": [ruff, "check", "--no-cache", "--isolated", file]}
wall = {name: [] for name in commands}
cpu = {name: [] for name in commands}

def once(cmd):
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(child.pid, 0)  # the child's own rusage, in microseconds
    elapsed = time.perf_counter() - start
    child.returncode = 0  # reaped above
    return elapsed, usage.ru_utime + usage.ru_stime

for cmd in commands.values():  # warm-up: page cache, binaries
    for _ in range(3):
        once(cmd)
for _ in range(runs):
    for name, cmd in commands.items():
        w, c = once(cmd)
        wall[name].append(w)
        cpu[name].append(c)
for name in commands:
    print(f"interleaved median {name + ' check:':15s} {statistics.median(wall[name]) * 1000:.2f} ms wall, "
          f"{statistics.median(cpu[name]) * 1000:.1f} ms CPU (user+system) over {runs} runs")
ratio_wall = statistics.median(wall["riposte"]) / statistics.median(wall["ruff"])
ratio_cpu = statistics.median(cpu["riposte"]) / statistics.median(cpu["ruff"])
print(f"interleaved ratio riposte/ruff (medians): {ratio_wall:.2f} wall, {ratio_cpu:.2f} CPU")
PY
