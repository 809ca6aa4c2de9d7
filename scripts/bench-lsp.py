#!/usr/bin/env python3
"""Benchmark `riposte lsp`: diagnostics latency while typing, and memory with many open playbooks.

    cargo build --release --bin riposte
    python3 scripts/bench-lsp.py target/release/riposte

1. Latency: opens a 5,000-line playbook in a copy of the demo workspace, applies 200
   single-character edits (typing code in the middle of the file, so most versions have a
   syntax error to recover from), and times each `didChange` until the `publishDiagnostics` for
   that version arrives. Debounce is 0. Each edit waits for its diagnostics before the next.
2. Memory: a fresh server opens 100 playbooks (the demo playbooks under 100 names), waits for all
   their diagnostics, and reads VmRSS (and the peak, VmHWM) from /proc/<pid>/status.

Targets (issue 3): p50 <= 10 ms, p99 <= 30 ms, RSS <= 100 MB. Exits 1 when one is missed.
Standard library only; the client's own overhead (JSON encoding, a pipe) is inside the figures.
RIPOSTE_BENCH_LOG=debug RIPOSTE_BENCH_STDERR=FILE keep the server's log (it times each check).
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from queue import Empty, Queue

REPO = Path(__file__).resolve().parents[1]
EDITS = 200
LINES = 5000
OPEN_PLAYBOOKS = 100


class Server:
    def __init__(self, binary: str, root: Path):
        self.process = subprocess.Popen(
            [binary, "lsp", "--log-level", os.environ.get("RIPOSTE_BENCH_LOG", "warn")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(os.environ["RIPOSTE_BENCH_STDERR"], "w") if "RIPOSTE_BENCH_STDERR" in os.environ else subprocess.DEVNULL,
        )
        self.messages: Queue = Queue()
        self.seen: dict = {}
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root.as_uri(),
                "workspaceFolders": [{"uri": root.as_uri(), "name": "bench"}],
                "capabilities": {},
                "initializationOptions": {"debounceMs": 0},
            },
        )
        self.notify("initialized", {})

    def _read(self):
        stream = self.process.stdout
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    self.messages.put(None)
                    return
                line = line.strip()
                if not line:
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            self.messages.put(json.loads(stream.read(length)))

    def send(self, message: dict):
        body = json.dumps(message).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def notify(self, method: str, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params):
        self.next_id += 1
        request_id = self.next_id
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        return self.wait(lambda m: m.get("id") == request_id and "method" not in m)

    def wait(self, accept, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
            except Empty:
                raise TimeoutError("no answer from the server") from None
            if message is None:
                raise RuntimeError("the server exited")
            if accept(message):
                return message
            if "method" in message and "id" in message:
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})

    def open(self, uri: str, text: str):
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
        )

    def published(self, uri: str, version: int):
        key = (uri, version)
        if key in self.seen:
            return self.seen.pop(key)

        def accept(message):
            if message.get("method") != "textDocument/publishDiagnostics":
                return False
            params = message["params"]
            if (params["uri"], params.get("version")) == key:
                return True
            self.seen[(params["uri"], params.get("version"))] = message
            return False

        return self.wait(accept)

    def rss_kib(self) -> tuple[int, int]:
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])

    def stop(self):
        self.request("shutdown", None)
        self.notify("exit", None)
        self.process.wait(timeout=10)


def big_playbook() -> str:
    """A 5,000-line playbook built from realistic helpers (integrations, alert evidence, steps)."""
    head = [
        '"""Benchmark playbook: many helpers that enrich evidence and comment on the alert."""',
        "from riposte import Alert, Context",
        "",
        "",
    ]
    helper = [
        "def enrich_{n}(alert: Alert, ctx: Context) -> int:",
        '    vt = ctx.integration("VirusTotal")',
        "    found = 0",
        '    with ctx.step("Enrich {n}"):',
        "        for url in alert.urls():",
        '            response = vt.get(f"/urls/{{url.id}}")',
        "            if response.status == 404:",
        '                ctx.log("unknown URL", url=url.value, helper={n})',
        "                continue",
        "            found += 1",
        "    return found",
        "",
        "",
    ]
    run = [
        "def run(alert: Alert, ctx: Context) -> dict:",
        "    total = 0",
        "    total += enrich_0(alert, ctx)",
        '    ctx.comment(f"{total} URLs enriched")',
        '    return {"total": total}',
    ]
    lines = list(head)
    n = 0
    while len(lines) + len(helper) + len(run) <= LINES:
        lines.extend(line.format(n=n) for line in helper)
        n += 1
    lines.extend(run)
    while len(lines) < LINES:
        lines.append("# padding")
    return "\n".join(lines[:LINES]) + "\n"


def workspace() -> Path:
    root = Path(tempfile.mkdtemp(prefix="riposte-bench-")).resolve() / "workspace"
    shutil.copytree(REPO / "fixtures" / "workspace", root)
    return root


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    rank = max(1, round(fraction * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


def latency(binary: str) -> dict:
    root = workspace()
    server = Server(binary, root)
    text = big_playbook()
    assert text.count("\n") == LINES
    uri = (root / "playbooks" / "bench.py").as_uri()
    server.open(uri, text)
    first = server.published(uri, 1)
    assert not first["params"]["diagnostics"], first["params"]["diagnostics"][:3]
    # Type a statement, character by character, at the start of `enrich_200`'s body.
    line = text.splitlines().index("def enrich_200(alert: Alert, ctx: Context) -> int:") + 1
    typed = ('    ctx.log("typing", n=1)\n' * 20)[:EDITS]
    row, column = line, 0
    samples = []
    for index, character in enumerate(typed):
        version = index + 2
        change = {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [
                {
                    "range": {
                        "start": {"line": row, "character": column},
                        "end": {"line": row, "character": column},
                    },
                    "text": character,
                }
            ],
        }
        started = time.perf_counter()
        server.notify("textDocument/didChange", change)
        server.published(uri, version)
        samples.append((time.perf_counter() - started) * 1000)
        if character == "\n":
            row, column = row + 1, 0
        else:
            column += 1
    server.stop()
    shutil.rmtree(root.parent, ignore_errors=True)
    return {
        "edits": len(samples),
        "p50_ms": percentile(samples, 0.50),
        "p99_ms": percentile(samples, 0.99),
        "mean_ms": statistics.fmean(samples),
        "max_ms": max(samples),
    }


def memory(binary: str) -> dict:
    root = workspace()
    server = Server(binary, root)
    demos = sorted((root / "playbooks").glob("*.py"))
    texts = [path.read_text() for path in demos]
    uris = []
    for index in range(OPEN_PLAYBOOKS):
        path = root / "playbooks" / f"open-{index:03}.py"
        path.write_text(texts[index % len(texts)])
        uris.append(path.as_uri())
    # Start the server once the files exist, as an editor opening a workspace would.
    server.stop()
    server = Server(binary, root)
    for index, uri in enumerate(uris):
        server.open(uri, texts[index % len(texts)])
    for uri in uris:
        server.published(uri, 1)
    time.sleep(0.5)
    rss, peak = server.rss_kib()
    total_lines = sum(texts[i % len(texts)].count("\n") for i in range(OPEN_PLAYBOOKS))
    server.stop()
    shutil.rmtree(root.parent, ignore_errors=True)
    return {"open_playbooks": OPEN_PLAYBOOKS, "lines": total_lines, "rss_mib": rss / 1024, "peak_mib": peak / 1024}


def main() -> int:
    binary = sys.argv[1] if len(sys.argv) > 1 else str(REPO / "target" / "release" / "riposte")
    if not Path(binary).is_file():
        print(f"{binary} does not exist: cargo build --release --bin riposte", file=sys.stderr)
        return 2
    timing = latency(binary)
    print(
        f"didChange -> publishDiagnostics, {LINES}-line playbook, {timing['edits']} single-character edits, debounce 0:"
        f" p50 {timing['p50_ms']:.2f} ms, p99 {timing['p99_ms']:.2f} ms"
        f" (mean {timing['mean_ms']:.2f} ms, max {timing['max_ms']:.2f} ms)"
    )
    used = memory(binary)
    print(
        f"{used['open_playbooks']} open playbooks ({used['lines']} lines): "
        f"VmRSS {used['rss_mib']:.1f} MiB (peak VmHWM {used['peak_mib']:.1f} MiB)"
    )
    missed = []
    if timing["p50_ms"] > 10:
        missed.append("p50 > 10 ms")
    if timing["p99_ms"] > 30:
        missed.append("p99 > 30 ms")
    if used["rss_mib"] * 1024 * 1024 > 100e6:
        missed.append("RSS > 100 MB")
    if missed:
        print("targets missed: " + ", ".join(missed), file=sys.stderr)
        return 1
    print("targets met: p50 <= 10 ms, p99 <= 30 ms, RSS <= 100 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
