#!/usr/bin/env python3
"""The engine's load benchmark (docs/performance.md, "Engine"): end-to-end latency from posting an
alert to its run starting, and sustained alerts per second, with a trivial playbook behind one rule,
on a real `riposte serve` with its in-process workers, for SQLite and PostgreSQL.

    cargo build --release --locked --bin riposte
    .venv/bin/python scripts/bench-engine.py [--stores sqlite,postgres] [--latency-alerts 100]
        [--load-alerts 300] [--workers 2]

Latency: alerts are posted one at a time, each after the previous one's run finished (an idle
engine), and two times are taken per alert: until the store says the run started (`started_at`,
set when a worker claims it) and until the playbook's first line reached a loopback witness (which
adds starting CPython in the sandbox). Throughput: `--load-alerts` alerts are posted in batches of
100 as fast as the engine takes them, and the rate is alerts whose run finished per second of wall
time, from the first post to the last run's end. PostgreSQL comes from scripts/postgres.sh
(.cache/postgres-bench), in a fresh database. RIPOSTE_BIN picks the binary (default: the release
build).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "engine"))

from harness import (
    REPO,
    Serve,
    Witness,
    create_postgres_database,
    drop_postgres_database,
    graph_alert,
    new_token,
    secrets_key,
    sqlite_url,
)

TRIVIAL = '''"""Benchmark: the smallest playbook that tells the witness it started."""
from riposte import Alert, Context


def run(alert: Alert, ctx: Context) -> str:
    ctx.integration("Witness").post("/start", json={"alert": alert.id})
    return alert.id
'''

RULE = """name = "bench"
order = 1

[[conditions]]
field = "title"
operator = "contains"
value = "riposte-bench"

[[actions]]
type = "run_playbook"
playbook = "bench-trivial"
"""


def parse_time(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


POSTGRES_DIR = REPO / ".cache" / "postgres-bench"


def postgres(command: str) -> str:
    """scripts/postgres.sh COMMAND on the benchmark's own cluster; `start` returns its URL."""
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "postgres.sh"), command, str(POSTGRES_DIR)], check=True, capture_output=True, text=True
    ).stdout
    return out.strip().split("=", 1)[-1]


def bench_store(store: str, args: argparse.Namespace, tmp: Path) -> dict:
    server = None
    if store == "sqlite":
        db = sqlite_url(tmp / f"bench-{time.monotonic_ns()}.db")
    else:
        server = postgres("start")
        db = create_postgres_database(server, "riposte_bench")
    witness = Witness()
    serve = Serve(
        db=db, admin_token=new_token(), key_hex=secrets_key(), workers=args.workers, workspace=tmp, log_path=tmp / f"serve-{store}.log"
    )
    try:
        serve.start()
        api = serve.api()
        api.put_profile("Witness", witness.profile_toml(), {"token": Witness.TOKEN})
        api.deploy_playbook("bench-trivial", TRIVIAL)
        api.deploy_rule("bench", RULE)

        # Warm-up: the first run pays for caches (CPython's, the page cache's).
        [warm] = api.post_alerts(graph_alert(f"bench-{store}-warm", "riposte-bench warm"))
        api.wait_finished(warm["runs"], 120)

        to_started, to_first_line = [], []
        for i in range(args.latency_alerts):
            alert_id = f"bench-{store}-lat-{i}"
            sent_wall, sent_mono = time.time(), time.monotonic()
            [result] = api.post_alerts(graph_alert(alert_id, f"riposte-bench {i}"))
            [run_id] = result["runs"]
            finished = api.wait_finished([run_id], 120)[run_id]
            assert finished["state"] == "succeeded", finished
            to_started.append(parse_time(finished["started_at"]) - sent_wall)
            first_line = next(t for t, kind, a in witness.snapshot() if a == alert_id and kind == "start")
            to_first_line.append(first_line - sent_mono)

        load = [graph_alert(f"bench-{store}-load-{i}", f"riposte-bench load {i}") for i in range(args.load_alerts)]
        started, started_wall = time.monotonic(), time.time()
        run_ids: list[int] = []
        for batch in range(0, len(load), 100):
            for result in api.post_alerts(load[batch : batch + 100]):
                run_ids += result["runs"]
        posted = time.monotonic()
        finished_runs = api.wait_finished(run_ids, 60 + args.load_alerts * 2)
        # The last run's end as the store recorded it, not when polling noticed it.
        elapsed = max(parse_time(r["finished_at"]) for r in finished_runs.values()) - started_wall
        failed = [r for r in finished_runs.values() if r["state"] != "succeeded"]
        assert not failed, f"{len(failed)} load runs did not succeed, e.g. {failed[0]}"
        return {
            "store": store,
            "started_p50": statistics.median(to_started) * 1000,
            "started_p99": percentile(to_started, 99) * 1000,
            "line_p50": statistics.median(to_first_line) * 1000,
            "line_p99": percentile(to_first_line, 99) * 1000,
            "intake_per_s": len(load) / (posted - started),
            "runs_per_s": len(load) / elapsed,
            "n_latency": len(to_started),
            "n_load": len(load),
        }
    except Exception:
        log = serve.log_path.read_text(errors="replace")[-4000:] if serve.log_path and serve.log_path.exists() else ""
        print(f"--- serve log ({store}):\n{log}", file=sys.stderr)
        raise
    finally:
        serve.stop()
        witness.close()
        if server:
            drop_postgres_database(server, db)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--latency-alerts", type=int, default=100)
    parser.add_argument("--load-alerts", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    release = REPO / "target" / "release" / "riposte"
    os.environ.setdefault("RIPOSTE_BIN", str(release))
    print(f"riposte: {os.environ['RIPOSTE_BIN']}; {os.cpu_count()} cores; {platform.platform()}", file=sys.stderr)

    rows = []
    stores = [s.strip() for s in args.stores.split(",")]
    try:
        with tempfile.TemporaryDirectory(prefix="riposte-bench-") as tmp:
            for store in stores:
                print(f"== {store}", file=sys.stderr)
                rows.append(bench_store(store, args, Path(tmp)))
    finally:
        if "postgres" in stores:
            postgres("stop")

    print(
        "| store | post → run started p50 / p99 | post → playbook's first line p50 / p99 | intake (alerts/s) | sustained (runs finished/s) |"
    )
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['store']} | {r['started_p50']:.1f} / {r['started_p99']:.1f} ms | {r['line_p50']:.1f} / {r['line_p99']:.1f} ms "
            f"| {r['intake_per_s']:.0f} | {r['runs_per_s']:.1f} |"
        )
    print(
        f"\n({rows[0]['n_latency']} alerts one at a time for latency; {rows[0]['n_load']} alerts for throughput; --workers {args.workers})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
