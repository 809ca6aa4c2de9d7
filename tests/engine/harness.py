"""Driving a real `riposte serve` from Python: the fault test, the load benchmark, the demo and the
console's browser test all start engines, deploy playbooks and rules, post alerts and wait for runs
through this one module (standard library only, HTTP over loopback as any client would).

The engine's API is docs/engine-api.md; the bodies are server/engine_client/src/wire.rs.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FINISHED = ("succeeded", "failed")


class NotAvailable(RuntimeError):
    """`riposte serve` answered that it is not available in this build."""


class ApiError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: Any):
        self.status = status
        self.body = body
        code = body.get("error", {}).get("code") if isinstance(body, dict) else None
        message = body.get("error", {}).get("message") if isinstance(body, dict) else body
        super().__init__(f"{method} {path} answered {status} {code or ''}: {message}")


def riposte_bin() -> Path:
    """`RIPOSTE_BIN`, else the debug build (what scripts/test.sh builds)."""
    path = Path(os.environ.get("RIPOSTE_BIN", REPO / "target" / "debug" / "riposte"))
    if not path.is_file():
        raise FileNotFoundError(f"no riposte binary at {path}: run `cargo build --bin riposte` or set RIPOSTE_BIN")
    return path.resolve()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_token() -> str:
    return secrets.token_hex(24)


def wait_until(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    """Polls `check` until it returns something truthy; raises with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (OSError, ApiError) as e:
            last_error = e
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


class Api:
    """A JSON client for one engine and one bearer token."""

    def __init__(self, base_url: str, token: str | None):
        self.base_url = base_url.rstrip("/")
        self.token = token

    def request(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw.decode(errors="replace")
            raise ApiError(method, path, e.code, parsed) from None
        return json.loads(raw) if raw else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    # --- the calls the tools here make --------------------------------------------------------

    def health(self) -> dict:
        return self.get("/api/health")

    def deploy_playbook(self, name: str, source: str) -> int:
        """Saves a new version and activates it; returns the version."""
        saved = self.request("PUT", f"/api/playbooks/{quote(name)}", {"source": source})
        version = saved["version"]
        self.request("POST", f"/api/playbooks/{quote(name)}/versions/{version}/activate")
        return version

    def deploy_rule(self, name: str, toml: str) -> dict:
        return self.request("PUT", f"/api/rules/{quote(name)}", {"toml": toml})

    def put_profile(self, name: str, toml: str, secret_fields: dict[str, str] | None = None) -> dict:
        return self.request("PUT", f"/api/profiles/{quote(name)}", {"toml": toml, "secrets": secret_fields or {}})

    def post_alerts(self, alerts: Any) -> list[dict]:
        return self.request("POST", "/api/alerts", alerts)["results"]

    def runs(self, limit: int = 1000, alert: str | None = None) -> list[dict]:
        query = {"limit": str(limit)}
        if alert is not None:
            query["alert"] = alert
        return self.get("/api/runs?" + urllib.parse.urlencode(query))["runs"]

    def run(self, run_id: int) -> dict:
        return self.get(f"/api/runs/{run_id}")

    def activity(self, alert_id: str) -> list[dict]:
        return self.get(f"/api/alerts/{quote(alert_id)}/activity")["entries"]

    def wait_finished(self, run_ids: list[int], timeout: float) -> dict[int, dict]:
        """Waits until every run in `run_ids` is succeeded or failed; returns them by id."""
        wanted = set(run_ids)

        def done() -> dict[int, dict] | None:
            by_id = {r["id"]: r for r in self.runs(limit=1000) if r["id"] in wanted}
            if len(by_id) == len(wanted) and all(r["state"] in FINISHED for r in by_id.values()):
                return by_id
            return None

        return wait_until(f"{len(wanted)} runs to finish", done, timeout, interval=0.2)


def quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


@dataclass
class Serve:
    """One `riposte serve` process (an API process, or `--worker` only), in its own process group
    so a kill takes its playbook children with it and nothing outlives the test."""

    db: str
    admin_token: str
    key_hex: str
    read_token: str | None = None
    port: int | None = None
    workers: int | None = None
    worker_only: bool = False
    # Seconds a worker's lease lasts (`--lease`); short in the fault test so dead workers' runs
    # come back quickly.
    lease_secs: int | None = None
    workspace: Path | None = None
    # Given: the admin token is handed over as `--token-file` (as an operator would) instead of
    # RIPOSTE_ENGINE_TOKEN in the environment.
    token_file: Path | None = None
    log_path: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        assert self.port is not None
        return f"http://127.0.0.1:{self.port}"

    def api(self, token: str | None = None) -> Api:
        return Api(self.base_url, token or self.admin_token)

    def command(self) -> list[str]:
        cmd = [str(riposte_bin()), "serve", "--db", self.db]
        if self.worker_only:
            cmd.append("--worker")
        else:
            if self.port is None:
                self.port = free_port()
            cmd += ["--listen", f"127.0.0.1:{self.port}"]
        if self.workers is not None:
            cmd += ["--workers", str(self.workers)]
        if self.workspace is not None:
            cmd += ["--workspace", str(self.workspace)]
        if self.token_file is not None:
            cmd += ["--token-file", str(self.token_file)]
        if self.lease_secs is not None:
            cmd += ["--lease", str(self.lease_secs)]
        return cmd

    def start(self, timeout: float = 60) -> Serve:
        env = {**os.environ, **self.extra_env, "RIPOSTE_ENGINE_KEY": self.key_hex}
        if self.token_file is None:
            env["RIPOSTE_ENGINE_TOKEN"] = self.admin_token
        else:
            env.pop("RIPOSTE_ENGINE_TOKEN", None)
        if self.read_token:
            env["RIPOSTE_ENGINE_READ_TOKEN"] = self.read_token
        with open(self.log_path or os.devnull, "ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True
            )
        if self.worker_only:
            # A worker has no port to ask; it has started when it is still alive a moment later
            # (a bad flag, store URL or key ends it at once).
            time.sleep(0.5)
            self._check_alive()
        else:
            wait_until(f"riposte serve on {self.base_url}", self._healthy, timeout)
        return self

    def _check_alive(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            text = self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""
            if "not available" in text:
                raise NotAvailable(f"`riposte serve` is not available in this build: {text.strip()[-300:]}")
            raise RuntimeError(f"riposte serve exited with {self.process.returncode}; its log ({self.log_path}):\n{text[-4000:]}")

    def _healthy(self) -> bool:
        self._check_alive()
        try:
            return self.api().health().get("status") == "ok"
        except (OSError, ApiError):
            return False

    def kill(self) -> None:
        """kill -9 of the process alone, as a crash or the OOM killer would: its playbook children
        run in their own sessions and must go with it (the runtime's parent-death signal)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)


def graph_alert(alert_id: str, title: str, base: str = "graph-phishing-url.json") -> dict:
    """A fixture Graph alert with its id and title replaced (distinct alerts for load and faults)."""
    alert = json.loads((REPO / "fixtures" / "alerts" / base).read_text())
    alert["id"] = alert_id
    alert["title"] = title
    return alert


def secrets_key() -> str:
    """A fresh key for secrets at rest: 32 bytes as 64 hex digits."""
    return secrets.token_hex(32)


# --- stores -------------------------------------------------------------------------------------


def sqlite_url(path: Path) -> str:
    return f"sqlite:{path}"


def postgres_server_url() -> str | None:
    """The server scripts/postgres.sh started for the tests (scripts/test.sh exports it)."""
    return os.environ.get("RIPOSTE_TEST_POSTGRES_URL") or None


def _psql() -> str:
    for candidate in [*sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"), reverse=True), Path("/usr/bin/psql")]:
        if candidate.is_file():
            return str(candidate)
    raise FileNotFoundError("psql not found (scripts/postgres.sh installs PostgreSQL)")


def create_postgres_database(server_url: str, prefix: str) -> str:
    """A fresh database on the test server; returns its URL. Each test gets its own."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    subprocess.run([_psql(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", server_url, "-c", f"CREATE DATABASE {name}"], check=True)
    parts = urllib.parse.urlsplit(server_url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def drop_postgres_database(server_url: str, database_url: str) -> None:
    name = urllib.parse.urlsplit(database_url).path.lstrip("/")
    subprocess.run(
        [_psql(), "-X", "-q", "-d", server_url, "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# --- a loopback stand-in that playbooks call -----------------------------------------------------


class Witness:
    """A loopback HTTP service a test playbook calls through its integration profile (`bearer`):
    it checks the token the engine signed the request with and records, per alert, when each
    attempt of a run started and ended, so a test can see runs that happened twice or overlapped."""

    TOKEN = "fake-witness-token-for-tests"

    def __init__(self) -> None:
        import http.server
        import threading

        self.events: list[tuple[float, str, str]] = []  # (monotonic time, "start"|"end", alert id)
        self.refused = 0
        self._lock = threading.Lock()
        witness = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.headers.get("Authorization") != f"Bearer {Witness.TOKEN}":
                    with witness._lock:
                        witness.refused += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                kind = self.path.strip("/")
                with witness._lock:
                    witness.events.append((time.monotonic(), kind, str(body.get("alert"))))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def profile_toml(self, name: str = "Witness") -> str:
        return (
            f'name = "{name}"\n'
            'description = "Loopback witness of the fault test: records run starts and ends"\n'
            f'base_url = "http://127.0.0.1:{self.port}"\n'
            "\n[auth]\n"
            'method = "bearer"\n'
        )

    def snapshot(self) -> list[tuple[float, str, str]]:
        with self._lock:
            return list(self.events)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
