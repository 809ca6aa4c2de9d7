"""Runs one playbook inside the sandboxed child; the host writes this file to the run's folder.

    python -I -S -B -X utf8 bootstrap.py SDK_DIR

File descriptor 3 carries the host's frames, 4 carries ours (JSON lines; the host's `bridge`
module documents the protocol). stdin, stdout and stderr belong to the playbook: the host keeps a
capped copy of what it prints. This file reports what happened; the host decides the run's status.
"""

import builtins
import os
import sys

BRIDGE_IN, BRIDGE_OUT = 3, 4

# Imports that hand a playbook raw memory and native calls. Validation (RP010) refuses them in the
# source; this refuses them however they are reached (`__import__` built from strings, say). The
# kernel sandbox (seccomp, Landlock, a network namespace) holds even without this hook: it only
# makes the refusal clear.
BLOCKED_IMPORTS = frozenset({"ctypes", "_ctypes", "cffi", "_cffi_backend"})

# Audit events the sandbox is likely to refuse, and what they attempt, to explain an EPERM.
WATCHED_EVENTS = {
    "os.fork": "start a process (os.fork)",
    "os.forkpty": "start a process (os.forkpty)",
    "os.posix_spawn": "start a process (os.posix_spawn)",
    "os.exec": "replace the interpreter (os.exec*)",
    "os.spawn": "start a process (os.spawn*)",
    "os.system": "run a shell command (os.system)",
    "subprocess.Popen": "start a process (subprocess)",
    "socket.__new__": "open a socket",
    "socket.bind": "listen on the network",
    "socket.connect": "open a network connection",
    "socket.getaddrinfo": "resolve a host name",
    "os.kill": "signal a process",
    "os.killpg": "signal a process group",
}

# What a connection attempt fails with where there is no network, rather than with EPERM.
NETWORK_ERRNOS = {"ENETUNREACH", "EHOSTUNREACH", "EADDRNOTAVAIL", "ECONNREFUSED", "ETIMEDOUT"}
NETWORK_ATTEMPTS = {
    WATCHED_EVENTS[event] for event in ("socket.__new__", "socket.bind", "socket.connect", "socket.getaddrinfo")
}


class Sandbox:
    """What the playbook tried that the sandbox is there to stop."""

    def __init__(self):
        self.last_attempt = None
        self.refused_import = None

    def audit(self, event, args):
        if event == "import":
            name = args[0] if args else ""
            if name.partition(".")[0] in BLOCKED_IMPORTS:
                self.refused_import = name
                raise PermissionError(
                    f"the sandbox does not allow importing {name}: playbooks cannot load native code"
                )
        elif event in WATCHED_EVENTS:
            self.last_attempt = WATCHED_EVENTS[event]

    def explain(self, error):
        """Why the sandbox is the reason `error` ended the run, or None when it is not."""
        if isinstance(error, PermissionError) and self.refused_import is not None:
            return {"operation": f"import {self.refused_import}", "message": str(error)}
        if not isinstance(error, OSError):
            return None
        import errno

        code = errno.errorcode.get(error.errno or 0, "")
        if code in ("EPERM", "EACCES"):
            if error.filename is not None:
                operation = f"access {error.filename}"
            else:
                operation = self.last_attempt or "a system call"
            return {"operation": operation, "message": f"{type(error).__name__}: {error}"}
        network = self.last_attempt in NETWORK_ATTEMPTS
        if network and (code in NETWORK_ERRNOS or type(error).__name__ == "gaierror"):
            return {"operation": self.last_attempt, "message": f"{type(error).__name__}: {error}"}
        return None


def main():
    sdk_dir = sys.argv[1]
    sandbox = Sandbox()
    sys.addaudithook(sandbox.audit)
    sys.path.insert(0, sdk_dir)
    import riposte

    reader = open(BRIDGE_IN, "rb", buffering=65536)
    writer = open(BRIDGE_OUT, "wb", buffering=65536)
    bridge = riposte._Bridge(reader, writer)
    start = bridge.receive()
    playbook = start["playbook"]
    names = Names(playbook["path"], playbook.get("display_path") or playbook["path"], sdk_dir)
    ctx = riposte.Context(bridge, bool(start["dry_run"]), float(start["seconds_left"]), start.get("profiles", []))
    alert = riposte.Alert(start["alert"])
    max_result = int(start.get("max_result_bytes", 4 << 20))

    try:
        module = type(sys)("playbook")
        module.__file__ = playbook["path"]
        module.__builtins__ = builtins  # the module, as in a script run directly
        sys.modules["playbook"] = module
        code = compile(playbook["source"], playbook["path"], "exec", dont_inherit=True)
        exec(code, module.__dict__)
        run = module.__dict__.get("run")
        if not callable(run):
            raise TypeError("the playbook has no top-level `def run(alert, ctx)`")
        value = run(alert, ctx)
    except BaseException as error:  # noqa: BLE001 - everything the playbook raises is reported
        report = describe(error, names, playbook["source"])
        explained = sandbox.explain(error)
        del error
        finish(bridge, {"op": "done", "outcome": "raised", "error": report, "sandbox": explained})
        return

    try:
        import json

        encoded = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as error:
        message = f"run() returned a value that is not JSON-serialisable: {error}"
        finish(bridge, {"op": "done", "outcome": "unserialisable", "message": message, "type": type(value).__name__})
        return
    if len(encoded) > max_result:
        message = f"run() returned {len(encoded):,} characters of JSON; a run's output is at most {max_result:,}"
        finish(bridge, {"op": "done", "outcome": "unserialisable", "message": message, "type": type(value).__name__})
        return
    finish(bridge, {"op": "done", "outcome": "returned", "value": value})


class Names:
    """How files appear in tracebacks: the playbook by its workspace path, the SDK as `riposte/…`."""

    def __init__(self, playbook_path, display_path, sdk_dir):
        self.playbook_path = playbook_path
        self.display_path = display_path
        self.sdk_prefix = sdk_dir.rstrip("/") + "/"
        self.bootstrap = os.path.abspath(__file__)

    def show(self, filename):
        if filename == self.playbook_path:
            return self.display_path
        if filename.startswith(self.sdk_prefix):
            return filename[len(self.sdk_prefix):]
        return filename


def describe(error, names, source):
    """The exception as the record keeps it: type, message, the frames and Python's usual text."""
    chain = []
    seen = set()
    current = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            current = current.__context__
        else:
            current = None

    # Where each exception passed, innermost last, without the bootstrap's own frames. Frames are
    # read before anything is formatted: after a MemoryError, clearing them gives memory back.
    stacks = []
    for exc in chain:
        frames = []
        tb = exc.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if code.co_filename != names.bootstrap:
                frames.append((code.co_filename, tb.tb_lineno, code.co_name))
            tb = tb.tb_next
        stacks.append(frames)
    if isinstance(error, MemoryError):
        for exc in chain:
            tb = exc.__traceback__
            while tb is not None:
                try:
                    tb.tb_frame.clear()
                except RuntimeError:
                    pass  # a frame still running (the bootstrap's own) cannot be cleared
                tb = tb.tb_next

    import linecache

    # The playbook was compiled from the text the host sent; the sandbox may not let us read the file.
    lines = source.splitlines(True)
    linecache.cache[names.playbook_path] = (len(source), None, lines, names.playbook_path)

    def line_of(filename, lineno):
        return linecache.getline(filename, lineno).strip()

    def headline(exc):
        kind = type(exc)
        name = kind.__qualname__ if kind.__module__ in ("builtins", "__main__") else f"{kind.__module__}.{kind.__qualname__}"
        text = safe_str(exc)
        return name, text

    blocks = []
    for index in range(len(chain) - 1, -1, -1):
        exc, frames = chain[index], stacks[index]
        name, text = headline(exc)
        block = []
        if frames:
            block.append("Traceback (most recent call last):")
            for filename, lineno, function in frames:
                block.append(f'  File "{names.show(filename)}", line {lineno}, in {function}')
                code = line_of(filename, lineno)
                if code:
                    block.append(f"    {code}")
        block.append(f"{name}: {text}" if text else name)
        blocks.append("\n".join(block))
        if index > 0:
            outer = chain[index - 1]
            if outer.__cause__ is exc:
                blocks.append("\nThe above exception was the direct cause of the following exception:\n")
            else:
                blocks.append("\nDuring handling of the above exception, another exception occurred:\n")

    name, text = headline(error)
    return {
        "type": name,
        "message": text,
        "traceback": [
            {
                "file": names.show(filename),
                "line": lineno,
                "function": function,
                "code": line_of(filename, lineno),
                "in_playbook": filename == names.playbook_path,
            }
            for filename, lineno, function in stacks[0]
        ],
        "text": "\n".join(blocks),
    }


def safe_str(exc):
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - a broken __str__ must not hide the exception itself
        return f"<{type(exc).__name__} whose str() failed>"


def finish(bridge, frame):
    try:
        bridge.send(frame)
    except BaseException:  # noqa: BLE001 - the host sees the closed bridge and says so
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001
            pass
    # Leave at once: threads the playbook left running must not hold the run open.
    os._exit(0)


if __name__ == "__main__":
    main()
