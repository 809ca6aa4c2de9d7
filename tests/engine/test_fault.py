"""The engine's fault test: real `riposte serve` processes, a real store, real kills.

One API process with no in-process workers and two `riposte serve --worker` processes share the
store (an SQLite file, then PostgreSQL). A playbook that reports to a loopback witness at its start
and end and sleeps between them is deployed behind a rule; alerts are posted (some twice); one worker
is killed with SIGKILL while it runs playbooks and a new one is started. Then every accepted alert
must have exactly one run, finished and succeeded, and the witness must show exactly one completed
execution per alert with no two executions of the same alert at once. On PostgreSQL the server is
also restarted mid-run (scripts/postgres.sh restart) and no alert may be lost.

    RIPOSTE_BIN=target/debug/riposte .venv/bin/python -m pytest tests/engine -q
    (scripts/test.sh runs it with the PostgreSQL server it started.)
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from harness import (
    REPO,
    ApiError,
    NotAvailable,
    Serve,
    Witness,
    create_postgres_database,
    drop_postgres_database,
    graph_alert,
    new_token,
    postgres_server_url,
    riposte_bin,
    secrets_key,
    sqlite_url,
    wait_until,
)

ALERTS = 12
DUPLICATES = 4
PLAYBOOK_SLEEP_SECS = 1.5
# Long enough for a lease to expire and the run to go again, with room for a slow shared machine.
FINISH_TIMEOUT_SECS = 240
# A short lease, so a dead worker's runs come back quickly (the engine's minimum is 3 s). The
# PostgreSQL restart keeps the engine's default lease (30 s): a lease shorter than the store's
# outage lets another worker take the run over, which is the lease doing its job, not a fault.
LEASE_SECS = 5

PLAYBOOK = f'''"""Fault test: tells the witness when it starts and ends, sleeping between."""
import time

from riposte import Alert, Context


def run(alert: Alert, ctx: Context) -> None:
    witness = ctx.integration("Witness")
    witness.post("/start", json={{"alert": alert.id}}).raise_for_status()
    time.sleep({PLAYBOOK_SLEEP_SECS})
    witness.post("/end", json={{"alert": alert.id}}).raise_for_status()
'''

RULE = """name = "fault-test"
description = "Every fault-test alert runs the witness playbook."
order = 1

[[conditions]]
field = "title"
operator = "contains"
value = "riposte-fault-test"

[[actions]]
type = "run_playbook"
playbook = "fault-witness"
"""


def store_urls(kind: str, tmp_path: Path):
    """(database URL, server URL or None) for the store under test."""
    if kind == "sqlite":
        return sqlite_url(tmp_path / "engine.db"), None
    server = postgres_server_url()
    if server is None:
        message = 'RIPOSTE_TEST_POSTGRES_URL is not set: start PostgreSQL with `eval "$(bash scripts/postgres.sh start)"`'
        if os.environ.get("CI"):
            pytest.fail(message)
        print(f"\n*** SKIPPING the PostgreSQL fault test: {message} ***")
        pytest.skip(message)
    return create_postgres_database(server, "riposte_fault"), server


class Cluster:
    """The API process and its workers, all stopped at the end of the test."""

    def __init__(self, db: str, tmp_path: Path, lease_secs: int | None):
        self.db = db
        self.lease_secs = lease_secs
        self.tmp_path = tmp_path
        self.admin = new_token()
        self.key = secrets_key()
        self.processes: list[Serve] = []
        self.logs: list[Path] = []

    def _serve(self, name: str, **kwargs) -> Serve:
        log = self.tmp_path / f"{name}.log"
        self.logs.append(log)
        serve = Serve(
            db=self.db,
            admin_token=self.admin,
            key_hex=self.key,
            log_path=log,
            lease_secs=self.lease_secs,
            workspace=self.tmp_path,
            **kwargs,
        )
        self.processes.append(serve)
        return serve.start()

    def api_process(self) -> Serve:
        return self._serve("api", workers=0)

    def worker(self, name: str) -> Serve:
        return self._serve(name, worker_only=True, workers=2)

    def stop(self) -> None:
        for serve in self.processes:
            serve.stop()

    def log_tail(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in self.logs if log.exists())


@pytest.fixture
def witness():
    w = Witness()
    yield w
    w.close()


@pytest.fixture
def riposte_binary():
    """Fails (never skips) when there is no binary to test."""
    try:
        return riposte_bin()
    except FileNotFoundError as e:
        pytest.fail(str(e))


def deploy(api, witness: Witness) -> None:
    api.put_profile("Witness", witness.profile_toml(), {"token": Witness.TOKEN})
    api.deploy_playbook("fault-witness", PLAYBOOK)
    api.deploy_rule("fault-test", RULE)


def post_with_retry(api, alerts, timeout: float = 60) -> list[dict]:
    """Posts like a real sender does: a 503 (store unavailable, e.g. PostgreSQL restarting) or a
    refused connection is retried, anything else is an error."""

    def attempt():
        try:
            return api.post_alerts(alerts)
        except ApiError as e:
            if e.status == 503:
                return None
            raise

    return wait_until("the engine to take the alerts", attempt, timeout, interval=0.5)


def check_outcome(api, witness: Witness, accepted: list[str], killed_at: float | None) -> None:
    """Every accepted alert: exactly one run, succeeded; one completed execution; none overlapping."""
    runs = api.runs(limit=1000)
    by_alert: dict[str, list[dict]] = {}
    for run in runs:
        by_alert.setdefault(run["alert_id"], []).append(run)
    assert sorted(by_alert) == sorted(accepted), "runs exist for exactly the accepted alerts"
    for alert_id in accepted:
        alert_runs = by_alert[alert_id]
        assert len(alert_runs) == 1, f"{alert_id}: {len(alert_runs)} runs: {alert_runs}"
        run = alert_runs[0]
        assert run["state"] == "succeeded", f"{alert_id}: run {run['id']} is {run['state']}: {run.get('error')}"
        assert run["status"] == "succeeded"
        assert run["started_at"] and run["finished_at"] and run["started_at"] <= run["finished_at"]

    events = witness.snapshot()
    assert witness.refused == 0, "the witness refused requests: the engine did not sign them with the profile's token"
    for alert_id in accepted:
        mine = sorted((t, kind) for t, kind, a in events if a == alert_id)
        ends = [t for t, kind in mine if kind == "end"]
        starts = [t for t, kind in mine if kind == "start"]
        assert len(ends) == 1, f"{alert_id}: {len(ends)} completed executions (witness events: {mine})"
        # Attempts of one alert never overlap: each start comes after the previous attempt ended,
        # or, for an attempt that never ended, after its worker was killed.
        previous_end: float | None = None
        for i, start in enumerate(starts):
            if i > 0:
                assert previous_end is not None and start >= previous_end, f"{alert_id}: two executions at once ({mine})"
            following_end = next((t for t, kind in mine if kind == "end" and t >= start), None)
            next_start = starts[i + 1] if i + 1 < len(starts) else None
            if following_end is not None and (next_start is None or following_end <= next_start):
                previous_end = following_end
            else:
                assert killed_at is not None and start <= killed_at, f"{alert_id}: an execution neither ended nor was killed ({mine})"
                previous_end = killed_at
        # And each run's activity log says it finished once.
        finished = [e for e in api.activity(alert_id) if e["kind"] == "run_finished"]
        assert len(finished) == 1, f"{alert_id}: activity shows {len(finished)} finished runs"


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_worker_killed_mid_run(store, tmp_path, witness, riposte_binary):
    db, server = store_urls(store, tmp_path)
    cluster = Cluster(db, tmp_path, lease_secs=LEASE_SECS)
    try:
        try:
            api_serve = cluster.api_process()
        except NotAvailable as e:
            pytest.fail(str(e))
        api = api_serve.api()
        deploy(api, witness)
        victim = cluster.worker("worker-a")
        cluster.worker("worker-b")

        alerts = [graph_alert(f"fault-{store}-{i}", f"riposte-fault-test {i}") for i in range(ALERTS)]
        results = post_with_retry(api, alerts)
        assert [r["outcome"] for r in results] == ["created"] * ALERTS
        assert all(len(r["runs"]) == 1 for r in results), results
        # The same alerts again: duplicates, no new runs.
        again = post_with_retry(api, alerts[:DUPLICATES])
        assert [r["outcome"] for r in again] == ["duplicate"] * DUPLICATES
        assert all(r["runs"] == [] for r in again)

        # Kill worker-a in the middle of playbooks: right after a wave of executions started (all
        # four worker slots are busy then, each about PLAYBOOK_SLEEP_SECS from its end), so no
        # execution is between its `end` and the store hearing of it.
        def wave_started() -> bool:
            starts = [t for t, kind, _ in witness.snapshot() if kind == "start"]
            return len(starts) >= 3 and time.monotonic() - starts[-1] < 0.3

        wait_until("a wave of playbook executions", wave_started, 60, interval=0.02)
        # Worker names are `{host}-{pid}-{slot}`.
        victim_runs = [r["id"] for r in api.runs() if r["state"] == "running" and f"-{victim.pid()}-" in (r.get("worker") or "")]
        assert victim_runs, "worker-a held no run when it was killed: the test would show nothing"
        victim.kill()
        killed_at = time.monotonic()
        cluster.worker("worker-c")

        accepted = [r["id"] for r in results]
        api.wait_finished([run for r in results for run in r["runs"]], FINISH_TIMEOUT_SECS)
        check_outcome(api, witness, accepted, killed_at)
        # The runs the killed worker held went again.
        retried = {r["id"] for r in api.runs() if r["attempt"] > 1}
        assert set(victim_runs) <= retried, f"runs held by the killed worker {victim_runs}, retried {sorted(retried)}"
        starts = sum(1 for e in witness.snapshot() if e[1] == "start")
        print(f"\n{store}: {ALERTS} alerts, {starts} executions, killed worker held runs {victim_runs}, retried {sorted(retried)}")
    except Exception:
        print(cluster.log_tail())
        raise
    finally:
        cluster.stop()
        if server:
            drop_postgres_database(server, db)


def test_postgres_restarted_mid_run(tmp_path, witness, riposte_binary):
    db, server = store_urls("postgres", tmp_path)
    folder = os.environ.get("RIPOSTE_TEST_POSTGRES_DIR")
    if not folder:
        # A server the caller brought (RIPOSTE_TEST_POSTGRES_URL without scripts/postgres.sh) is
        # not ours to restart.
        message = "RIPOSTE_TEST_POSTGRES_DIR is not set: this test restarts the server scripts/postgres.sh started there"
        drop_postgres_database(server, db)
        if os.environ.get("CI"):
            pytest.fail(message)
        print(f"\n*** SKIPPING the PostgreSQL restart test: {message} ***")
        pytest.skip(message)
    cluster = Cluster(db, tmp_path, lease_secs=None)
    try:
        api = cluster.api_process().api()
        deploy(api, witness)
        cluster.worker("worker-a")
        cluster.worker("worker-b")

        first = [graph_alert(f"pg-restart-{i}", f"riposte-fault-test {i}") for i in range(ALERTS // 2)]
        results = post_with_retry(api, first)
        wait_until("playbooks to start", lambda: any(e[1] == "start" for e in witness.snapshot()), 60)
        subprocess.run(["bash", str(REPO / "scripts" / "postgres.sh"), "restart", folder], check=True, stdout=subprocess.DEVNULL)
        # Alerts sent right after the restart: taken once the engine reconnects, never lost.
        second = [graph_alert(f"pg-restart-{i}", f"riposte-fault-test {i}") for i in range(ALERTS // 2, ALERTS)]
        results += post_with_retry(api, second)
        assert all(r["outcome"] == "created" for r in results), results

        accepted = [r["id"] for r in results]
        api.wait_finished([run for r in results for run in r["runs"]], FINISH_TIMEOUT_SECS)
        # A run whose worker lost the database mid-run may run again, but never at the same time
        # and only one execution completes; nobody was killed, so every execution must end.
        check_outcome(api, witness, accepted, killed_at=None)
        starts = sum(1 for e in witness.snapshot() if e[1] == "start")
        print(f"\npostgres restarted mid-run: {len(accepted)} alerts, {starts} executions, all finished once")
    except Exception:
        print(cluster.log_tail())
        raise
    finally:
        cluster.stop()
        drop_postgres_database(server, db)
