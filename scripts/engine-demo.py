#!/usr/bin/env python3
"""The embedded engine with the demo workspace deployed: the engine part of scripts/demo.sh, and
the setup of the console's browser test (scripts/console-e2e.sh).

    engine-demo.py start [--state DIR] [--port N]   # start `riposte serve` (SQLite) in the
        background, deploy fixtures/workspace (profiles without secrets, playbooks activated,
        rules), post a sample alert, wait for its runs and show them; writes DIR/engine.json
    engine-demo.py stop [--state DIR]               # stop that engine

State (default .cache/engine-demo): the SQLite store, the admin and read tokens and the key for
secrets at rest (each a 0600 file, generated on first start and kept), serve.log, engine.json.
The demo playbooks call VirusTotal, Graph, Slack…: no secrets are configured here, so their runs end
`failed` with the runtime's message naming the missing secret, which is what the demo shows.
RIPOSTE_BIN picks the binary (default target/debug/riposte).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tomllib
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "engine"))

from harness import REPO, Api, ApiError, NotAvailable, Serve, new_token, riposte_bin, secrets_key, sqlite_url, wait_until

DEMO_WORKSPACE = REPO / "fixtures" / "workspace"
SAMPLE_ALERT = REPO / "fixtures" / "alerts" / "graph-phishing-url.json"


def secret_file(path: Path, make) -> str:
    """The value in `path`, created 0600 on first use (kept so the store's secrets stay readable)."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(make())
    os.chmod(path, 0o600)
    return path.read_text().strip()


def workspace_port(workspace: Path) -> int:
    """The port of `[engine] url` in the workspace's riposte.toml, so the CLI and the editor find it."""
    config = tomllib.loads((workspace / "riposte.toml").read_text())
    url = config.get("engine", {}).get("url", "http://127.0.0.1:7878")
    return urllib.parse.urlsplit(url).port or 80


def running_pid(state: Path) -> int | None:
    pid_file = state / "serve.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text())
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    # Only ever signal the engine this script started, not a recycled pid.
    return pid if b"serve" in cmdline and any(part.endswith(b"riposte") for part in cmdline) else None


def riposte_cli(workspace: Path, base: str, token_file: Path, *args: str) -> None:
    """Runs `riposte ARGS` in the workspace as a person would, with the engine's URL and token file."""
    command = [str(riposte_bin()), *args, "--token-file", str(token_file)]
    shown = " ".join(["riposte", *args, "--token-file", str(token_file)])
    print(f"\n$ RIPOSTE_ENGINE_URL={base} {shown}", flush=True)
    done = subprocess.run(command, cwd=workspace, env={**os.environ, "RIPOSTE_ENGINE_URL": base}, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"`{shown}` exited with {done.returncode}")


def deploy_workspace(api: Api, workspace: Path, base: str, token_file: Path) -> None:
    # The CLI has no profile command: profiles (without secrets) go over the API.
    print("\n== integration profiles (PUT /api/profiles/NAME, no secrets)")
    for profile in sorted((workspace / "integrations").glob("*.toml")):
        name = tomllib.loads(profile.read_text())["name"]
        info = api.put_profile(name, profile.read_text())
        missing = ", ".join(info.get("secrets_missing") or []) or "none"
        print(f"  {name:<32} secrets missing: {missing}")
    riposte_cli(workspace, base, token_file, "deploy", "--activate")
    riposte_cli(workspace, base, token_file, "rule", "deploy")


def show_runs(api: Api, workspace: Path, base: str, token_file: Path, alert_id: str, run_ids: list[int]) -> None:
    if run_ids:
        api.wait_finished(run_ids, timeout=120)
    riposte_cli(workspace, base, token_file, "runs", "--alert", alert_id)
    print(f"\n== activity of alert {alert_id} (GET /api/alerts/ID/activity)")
    for entry in api.activity(alert_id):
        print(f"  {entry['at']}  {entry['kind']:<13} {entry['text']}")


def start(state: Path, workspace: Path, port: int) -> int:
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    token_file = state / "admin-token"
    admin = secret_file(token_file, new_token)
    read = secret_file(state / "read-token", new_token)
    key = secret_file(state / "secrets.key", secrets_key)
    base = f"http://127.0.0.1:{port}"

    if running_pid(state) is None:
        serve = Serve(
            db=sqlite_url(state / "engine.db"),
            admin_token=admin,
            key_hex=key,
            read_token=read,
            port=port,
            workspace=workspace,
            token_file=token_file,
            log_path=state / "serve.log",
        )
        print(f"== riposte serve on {base} (SQLite {state / 'engine.db'}; log {state / 'serve.log'})")
        try:
            serve.start()
        except NotAvailable as e:
            print(f"error: {e}", file=sys.stderr)
            return 3
        except (RuntimeError, TimeoutError) as e:
            print(f"error: the engine did not start: {e}", file=sys.stderr)
            return 1
        (state / "serve.pid").write_text(str(serve.pid()))
    else:
        print(f"== riposte serve already running on {base}")
    api = Api(base, admin)

    print(f"\n== deploying {workspace}")
    deploy_workspace(api, workspace, base, token_file)

    print(f"\n== posting {SAMPLE_ALERT.relative_to(REPO)}")
    alert = json.loads(SAMPLE_ALERT.read_text())
    [result] = api.post_alerts(alert)
    print(f"  alert {result['id']}: {result['outcome']}; rules matched: {', '.join(result['matched_rules']) or 'none'}")
    run_ids = result["runs"]
    if not run_ids:
        # Posted before (a second demo run): show the runs it already has.
        run_ids = [r["id"] for r in api.runs(alert=result["id"])]
    show_runs(api, workspace, base, token_file, result["id"], run_ids)

    console = f"{base}/"
    (state / "engine.json").write_text(
        json.dumps(
            {
                "url": base,
                "console": console,
                "admin_token_file": str(token_file),
                "read_token_file": str(state / "read-token"),
                "alert_id": result["id"],
                "runs": run_ids,
            },
            indent=2,
        )
    )
    print(
        f"""
== the engine is running
  console:      {console}  (it asks for the read token: cat {state / "read-token"})
  admin token:  {token_file} (0600); for the CLI:
                RIPOSTE_ENGINE_URL={base} riposte runs --token-file {token_file}
  stop it:      python3 scripts/engine-demo.py stop --state {state}"""
    )
    return 0


def stop(state: Path) -> int:
    pid = running_pid(state)
    if pid is None:
        print("no demo engine running")
        return 0
    os.kill(pid, signal.SIGTERM)
    try:
        wait_until("the engine to stop", lambda: running_pid(state) is None, 15)
    except TimeoutError:
        os.kill(pid, signal.SIGKILL)
    (state / "serve.pid").unlink(missing_ok=True)
    print(f"stopped the demo engine (pid {pid})")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["start", "stop"])
    parser.add_argument("--state", type=Path, default=REPO / ".cache" / "engine-demo")
    parser.add_argument("--workspace", type=Path, default=DEMO_WORKSPACE, help="the workspace to deploy (default: the demo's)")
    parser.add_argument("--port", type=int, default=None, help="default: the port of [engine] url in the workspace's riposte.toml")
    args = parser.parse_args()
    state = args.state.resolve()
    if args.command == "stop":
        return stop(state)
    try:
        workspace = args.workspace.resolve()
        return start(state, workspace, args.port or workspace_port(workspace))
    except (ApiError, TimeoutError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
