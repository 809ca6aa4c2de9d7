"""The Riposte playbook SDK, as the runtime runs it.

This module implements `riposte.pyi` (the contract the language server validates against): the
same classes, members and signatures. A test compares the two, so they cannot drift apart.

It holds no credential and opens no connection. Every integration request, comment, alert update,
log line and step crosses the bridge to the host (two pipes the host opened for this process),
which checks the request, signs it with the profile's secrets, sends it and hands back the answer.
"""

from __future__ import annotations

import json as _json
import time as _time
import _thread

TYPE_CHECKING = False
if TYPE_CHECKING:  # Names used in annotations only; importing `typing` at run time costs a start.
    from types import TracebackType
    from typing import Any, Iterator, Literal, Mapping, Optional, Sequence

    JSON = Any
    EntityKind = Literal[
        "user", "ip", "url", "file", "device", "mailbox", "process", "registry_key", "cloud_resource", "other"
    ]

__all__ = [
    "JSON",
    "EntityKind",
    "RiposteError",
    "HTTPError",
    "IntegrationError",
    "Entity",
    "Alert",
    "Response",
    "Integration",
    "Step",
    "Context",
]

_ENTITY_KINDS = (
    "user", "ip", "url", "file", "device", "mailbox", "process", "registry_key", "cloud_resource", "other"
)


def __getattr__(name: str):
    # `JSON` and `EntityKind` are type aliases in the stub; build them only when a playbook asks.
    if name == "JSON":
        from typing import Any

        return Any
    if name == "EntityKind":
        from typing import Literal

        return Literal[_ENTITY_KINDS]
    raise AttributeError(f"module 'riposte' has no attribute {name!r}")


class RiposteError(Exception):
    """Base class of every error the SDK raises."""


class HTTPError(RiposteError):
    """Raised by `Response.raise_for_status()` for a 4xx or 5xx answer."""

    response: "Response"
    """The response that failed."""

    def __init__(self, message: str, response: "Response" = None) -> None:
        super().__init__(message)
        self.response = response


class IntegrationError(RiposteError):
    """The host refused or could not send an integration request (unknown profile, foreign host, missing secret, timeout)."""


class Entity:
    """One piece of alert evidence, normalised from Graph `evidence` or a Sentinel `Entities` item."""

    kind: EntityKind
    value: str
    id: str
    verdict: Optional[str]
    roles: list[str]
    fields: dict[str, JSON]
    raw: dict[str, JSON]

    def __init__(self, data: dict) -> None:
        self.kind = data.get("kind", "other")
        self.value = data.get("value", "")
        self.id = data.get("id", self.value)
        self.verdict = data.get("verdict")
        self.roles = list(data.get("roles") or [])
        self.fields = dict(data.get("fields") or {})
        self.raw = data.get("raw") or {}

    def get(self, name: str, default: JSON = None) -> JSON:
        """A field from `fields`, or `default` when the source did not give it."""
        return self.fields.get(name, default)

    def __repr__(self) -> str:
        return f"Entity(kind={self.kind!r}, value={self.value!r})"


class Alert:
    """A security alert, normalised from Microsoft Graph `security/alerts_v2` or a Sentinel `SecurityAlert` row."""

    id: str
    title: str
    severity: Literal["informational", "low", "medium", "high", "unknown"]
    status: str
    provider: str
    detection_source: Optional[str]
    description: str
    created: Optional[str]
    incident_id: Optional[str]
    tactics: list[str]
    techniques: list[str]
    recommended_actions: Optional[str]
    url: Optional[str]
    raw: dict[str, JSON]

    def __init__(self, data: dict) -> None:
        # `data` is the host's normalised alert (`riposte_core::alert::Alert` as JSON).
        self.id = data.get("id", "")
        self.title = data.get("title", "")
        self.severity = data.get("severity", "unknown")
        self.status = data.get("status", "")
        self.provider = data.get("provider", "")
        self.detection_source = data.get("detection_source")
        self.description = data.get("description", "")
        self.created = data.get("created")
        self.incident_id = data.get("incident_id")
        self.tactics = list(data.get("tactics") or [])
        self.techniques = list(data.get("techniques") or [])
        self.recommended_actions = data.get("recommended_actions")
        self.url = data.get("url")
        self.raw = data.get("raw") or {}
        self._entities = [Entity(item) for item in data.get("entities") or []]

    def entities(self, kind: Optional[EntityKind] = None) -> list[Entity]:
        """All evidence, or only the evidence of one kind."""
        if kind is None:
            return list(self._entities)
        if kind not in _ENTITY_KINDS:
            raise ValueError(f"unknown entity kind {kind!r}; use one of {', '.join(_ENTITY_KINDS)}")
        return [entity for entity in self._entities if entity.kind == kind]

    def users(self) -> list[Entity]:
        """User accounts in the evidence."""
        return self.entities("user")

    def ips(self) -> list[Entity]:
        """IP addresses in the evidence."""
        return self.entities("ip")

    def urls(self) -> list[Entity]:
        """URLs in the evidence."""
        return self.entities("url")

    def files(self) -> list[Entity]:
        """Files in the evidence (hashes in `fields`)."""
        return self.entities("file")

    def devices(self) -> list[Entity]:
        """Devices (hosts) in the evidence."""
        return self.entities("device")

    def mailboxes(self) -> list[Entity]:
        """Mailboxes and mail messages in the evidence (sender and recipient in `fields`)."""
        return self.entities("mailbox")

    def processes(self) -> list[Entity]:
        """Processes in the evidence (command line in `value`)."""
        return self.entities("process")

    def __repr__(self) -> str:
        return f"Alert(id={self.id!r}, title={self.title!r}, severity={self.severity!r})"


class Response:
    """An integration's answer, as the host received it."""

    status: int
    ok: bool
    headers: Mapping[str, str]
    text: str

    def __init__(self, status: int, headers: dict, text: str, url: str = "", planned: bool = False) -> None:
        self.status = status
        self.ok = status < 400
        self.headers = headers
        self.text = text
        self._url = url
        # A dry run answers a mutating request with a stand-in instead of sending it.
        self._planned = planned

    def json(self) -> JSON:
        """The body parsed as JSON; raises ValueError when it is not JSON."""
        if self._planned:
            return _PlannedObject()
        return _json.loads(self.text)

    def raise_for_status(self) -> None:
        """Raise HTTPError when the status is 400 or more."""
        if self.status >= 400:
            kind = "client error" if self.status < 500 else "server error"
            raise HTTPError(f"HTTP {self.status} ({kind}) for {self._url}", self)

    def __repr__(self) -> str:
        return f"<Response [{self.status}]{' (dry run)' if self._planned else ''}>"


class Integration:
    """An HTTP client bound to one integration profile. Paths are relative to the profile's `base_url`."""

    name: str

    def __init__(self, name: str, context: "Context") -> None:
        self.name = name
        self._context = context

    def get(self, path: str, params: Optional[Mapping[str, Any]] = None, headers: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None) -> Response:
        """Send GET `path` with query `params`."""
        return self._send("GET", path, params, None, None, headers, timeout)

    def post(self, path: str, params: Optional[Mapping[str, Any]] = None, json: JSON = None, data: Optional[Mapping[str, Any]] = None, headers: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None) -> Response:
        """Send POST `path` with a JSON body (`json=`) or a form body (`data=`). Mutating: planned, not sent, in a dry run."""
        return self._send("POST", path, params, json, data, headers, timeout)

    def put(self, path: str, params: Optional[Mapping[str, Any]] = None, json: JSON = None, data: Optional[Mapping[str, Any]] = None, headers: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None) -> Response:
        """Send PUT `path`. Mutating: planned, not sent, in a dry run."""
        return self._send("PUT", path, params, json, data, headers, timeout)

    def patch(self, path: str, params: Optional[Mapping[str, Any]] = None, json: JSON = None, data: Optional[Mapping[str, Any]] = None, headers: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None) -> Response:
        """Send PATCH `path`. Mutating: planned, not sent, in a dry run."""
        return self._send("PATCH", path, params, json, data, headers, timeout)

    def delete(self, path: str, params: Optional[Mapping[str, Any]] = None, json: JSON = None, headers: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None) -> Response:
        """Send DELETE `path`. Mutating: planned, not sent, in a dry run."""
        return self._send("DELETE", path, params, json, None, headers, timeout)

    def _send(self, method, path, params, json, data, headers, timeout) -> Response:
        if not isinstance(path, str):
            raise TypeError(f"path must be a str, not {type(path).__name__}")
        if json is not None and data is not None:
            raise ValueError("give a JSON body (json=) or a form body (data=), not both")
        frame = {
            "op": "request",
            "profile": self.name,
            "method": method,
            "path": path,
            "params": _pairs("params", params),
            "headers": _headers(headers),
        }
        if json is not None:
            frame["json"] = json
        if data is not None:
            frame["data"] = _pairs("data", data)
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
                raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
            frame["timeout"] = float(timeout)
        answer = self._context._call(frame)
        return Response(answer["status"], answer.get("headers", {}), answer.get("text", ""), answer.get("url", ""), answer.get("planned", False))

    def __repr__(self) -> str:
        return f"<Integration {self.name!r}>"


class Step:
    """A node of the run trace, opened by `ctx.step(name)`."""

    name: str

    def __init__(self, name: str, context: "Context") -> None:
        self.name = name
        self._context = context
        self._id: Optional[int] = None

    def __enter__(self) -> "Step":
        self._id = self._context._open_step(self.name)
        return self

    def __exit__(self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        self._context._close_step(self._id, exc_type)


class Context:
    """What a playbook can do besides computing: call integrations, comment, update the alert, log, trace."""

    dry_run: bool

    def __init__(self, bridge: "_Bridge", dry_run: bool, seconds_left: float, profiles: Sequence[str]) -> None:
        self.dry_run = dry_run
        self._bridge = bridge
        self._deadline_at = _time.monotonic() + seconds_left
        self._profiles = frozenset(profiles)
        self._steps = _thread._local()
        self._step_lock = _thread.allocate_lock()
        self._next_step = 0

    @property
    def deadline(self) -> float:
        """Seconds left before the run's time limit."""
        return max(0.0, self._deadline_at - _time.monotonic())

    def integration(self, name: str) -> Integration:
        """An HTTP client bound to the integration profile `name` (a file `integrations/<name>.toml`)."""
        if name not in self._profiles:
            known = ", ".join(sorted(self._profiles)) or "none"
            raise IntegrationError(f"no integration profile is named {name!r} (profiles in this workspace: {known})")
        return Integration(name, self)

    def comment(self, text: str) -> None:
        """Add a comment to the alert (on Graph alerts, `POST alerts_v2/{id}/comments`; otherwise in the run record)."""
        self._call({"op": "comment", "text": str(text)})

    def update_alert(self, status: Optional[str] = None, classification: Optional[str] = None, determination: Optional[str] = None, assigned_to: Optional[str] = None) -> None:
        """Change the alert's status, classification, determination or owner."""
        given = {"status": status, "classification": classification, "determination": determination, "assigned_to": assigned_to}
        fields = {name: str(value) for name, value in given.items() if value is not None}
        if not fields:
            raise ValueError("update_alert() needs at least one of status, classification, determination, assigned_to")
        self._call({"op": "update_alert", "fields": fields})

    def log(self, message: str, **fields: JSON) -> None:
        """Write a line to the run log with structured fields."""
        self._bridge.send({"op": "log", "step": self._current_step(), "message": str(message), "fields": _loggable(fields)})

    def step(self, name: str) -> Step:
        """A context manager that marks a node of the run trace: `with ctx.step("Enrich"):`."""
        return Step(str(name), self)

    # --- plumbing ---------------------------------------------------------------------------

    def _call(self, frame: dict) -> dict:
        frame["step"] = self._current_step()
        return self._bridge.call(frame)

    def _stack(self) -> list:
        stack = getattr(self._steps, "stack", None)
        if stack is None:
            stack = self._steps.stack = []
        return stack

    def _current_step(self) -> Optional[int]:
        stack = self._stack()
        return stack[-1] if stack else None

    def _open_step(self, name: str) -> int:
        with self._step_lock:
            self._next_step += 1
            step_id = self._next_step
        self._bridge.send({"op": "step_start", "step": step_id, "parent": self._current_step(), "name": name})
        self._stack().append(step_id)
        return step_id

    def _close_step(self, step_id: Optional[int], exc_type) -> None:
        stack = self._stack()
        if step_id in stack:
            del stack[stack.index(step_id):]
        error = exc_type.__name__ if exc_type is not None else None
        self._bridge.send({"op": "step_end", "step": step_id, "error": error})


# --- the bridge ------------------------------------------------------------------------------


class _Bridge:
    """JSON lines to and from the host (see the host's `bridge` module for the protocol)."""

    def __init__(self, reader, writer) -> None:
        self._reader = reader
        self._writer = writer
        self._lock = _thread.allocate_lock()
        self._next_id = 0

    def send(self, frame: dict) -> None:
        line = _json.dumps(frame, ensure_ascii=False, separators=(",", ":"), default=repr).encode("utf-8", "replace") + b"\n"
        with self._lock:
            self._write(line)

    def call(self, frame: dict) -> dict:
        with self._lock:
            self._next_id += 1
            frame["id"] = self._next_id
            try:
                line = _json.dumps(frame, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            except (TypeError, ValueError) as error:
                raise TypeError(f"cannot send this {frame['op']} to the host: {error}") from None
            self._write(line.encode("utf-8", "replace") + b"\n")
            answer = self._read()
        if answer.get("id") != frame["id"]:
            raise IntegrationError("the host's answer does not match the request (the bridge is out of step)")
        error = answer.get("error")
        if error is not None:
            raise IntegrationError(error.get("message", "the host refused the request"))
        return answer.get("result") or {}

    def receive(self) -> dict:
        with self._lock:
            return self._read()

    def _write(self, line: bytes) -> None:
        try:
            self._writer.write(line)
            self._writer.flush()
        except (OSError, ValueError) as error:
            raise IntegrationError(f"the bridge to the host is closed ({error})") from None

    def _read(self) -> dict:
        try:
            line = self._reader.readline()
        except (OSError, ValueError) as error:
            raise IntegrationError(f"the bridge to the host is closed ({error})") from None
        if not line:
            raise IntegrationError("the bridge to the host is closed")
        return _json.loads(line)


def _pairs(what: str, mapping) -> list:
    """Query or form parameters as `[name, value]` pairs, the way `requests` encodes them: a list
    or tuple value repeats the name, None leaves the parameter out, anything else becomes `str()`."""
    if mapping is None:
        return []
    if not hasattr(mapping, "items"):
        raise TypeError(f"{what} must be a mapping such as a dict, not {type(mapping).__name__}")
    pairs = []
    for name, value in mapping.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if item is not None:
                pairs.append([str(name), item if isinstance(item, str) else str(item)])
    return pairs


def _headers(mapping) -> list:
    if mapping is None:
        return []
    if not hasattr(mapping, "items"):
        raise TypeError(f"headers must be a mapping such as a dict, not {type(mapping).__name__}")
    return [[str(name), str(value)] for name, value in mapping.items()]


def _loggable(fields: dict) -> dict:
    """Log fields as JSON values; anything JSON cannot hold is logged as its repr()."""
    out = {}
    for name, value in fields.items():
        try:
            _json.dumps(value, allow_nan=False)
            out[name] = value
        except (TypeError, ValueError):
            out[name] = repr(value)
    return out


# --- dry-run stand-ins -----------------------------------------------------------------------


class _PlannedValue(str):
    """A value a dry run could not know because the request that returns it was not sent.

    It reads as `<dry run: path>` and can be indexed further, so that code such as
    `response.json()["result"]["number"]` carries on and the dry run lists every change the real
    run would make.
    """

    def __new__(cls, path: str) -> "_PlannedValue":
        value = super().__new__(cls, f"<dry run: {path}>")
        value._path = path
        return value

    def __getitem__(self, key) -> "_PlannedValue":
        return _PlannedValue(f"{self._path}[{key!r}]")

    def get(self, key, default=None) -> "_PlannedValue":
        return self[key]

    def __iter__(self) -> Iterator:
        return iter(())


class _PlannedObject(dict):
    """The JSON body of a dry run's stand-in answer: `{"dry_run": true}`, where every other key
    gives a `_PlannedValue`."""

    def __init__(self) -> None:
        super().__init__(dry_run=True)

    def __missing__(self, key) -> _PlannedValue:
        return _PlannedValue(f"json()[{key!r}]")

    def get(self, key, default=None):
        return self[key]
