"""The Riposte playbook SDK: the only module a playbook imports besides the standard library.

This stub is the contract. The language server validates playbooks against it, the agent reads it,
and the runtime's `riposte` module implements exactly this surface. Credentials never enter the
Python process: every integration request crosses the bridge to the host, which signs and sends it.
"""

from types import TracebackType
from typing import Any, Iterator, Literal, Mapping, Optional, Sequence

JSON = Any
"""A JSON-serialisable value: dict, list, str, int, float, bool or None."""

EntityKind = Literal[
    "user", "ip", "url", "file", "device", "mailbox", "process", "registry_key", "cloud_resource", "other"
]


class RiposteError(Exception):
    """Base class of every error the SDK raises."""


class HTTPError(RiposteError):
    """Raised by `Response.raise_for_status()` for a 4xx or 5xx answer."""

    response: "Response"
    """The response that failed."""


class IntegrationError(RiposteError):
    """The host refused or could not send an integration request (unknown profile, foreign host, missing secret, timeout)."""


class Entity:
    """One piece of alert evidence, normalised from Graph `evidence` or a Sentinel `Entities` item."""

    kind: EntityKind
    """What the evidence is: user, ip, url, file, device, mailbox, process, registry_key, cloud_resource or other."""
    value: str
    """The evidence's main value: the UPN, address, URL, file name, host name, mailbox address, command line or key."""
    id: str
    """A stable identifier: the URL-safe base64 of `value` without padding for URLs (VirusTotal's URL id), otherwise `value`."""
    verdict: Optional[str]
    """The source's verdict (`malicious`, `suspicious`, `noThreatsFound`, `unknown`) when it gives one."""
    roles: list[str]
    """Roles the evidence plays in the alert (for example `attacker`, `compromised`, `contextual`)."""
    fields: dict[str, JSON]
    """Kind-specific fields in snake_case: `upn`, `object_id`, `sha256`, `sha1`, `md5`, `path`, `device_id`, `sender`, `recipient`, …"""
    raw: dict[str, JSON]
    """The evidence exactly as the source sent it."""

    def get(self, name: str, default: JSON = None) -> JSON:
        """A field from `fields`, or `default` when the source did not give it."""
        ...


class Alert:
    """A security alert, normalised from Microsoft Graph `security/alerts_v2` or a Sentinel `SecurityAlert` row."""

    id: str
    """The alert's identifier in its source."""
    title: str
    """The alert's display title."""
    severity: Literal["informational", "low", "medium", "high", "unknown"]
    """Severity, lower-cased."""
    status: str
    """Status as the source names it, lower-cased (`new`, `inProgress` becomes `inprogress`, `resolved`)."""
    provider: str
    """The product that raised it: Graph `serviceSource` or Sentinel `ProductName`."""
    detection_source: Optional[str]
    """Graph `detectionSource` or Sentinel `ProviderName`, when given."""
    description: str
    """The alert's description ('' when absent)."""
    created: Optional[str]
    """Creation time as an ISO 8601 string."""
    incident_id: Optional[str]
    """The incident the alert belongs to, when known."""
    tactics: list[str]
    """MITRE ATT&CK tactics (Graph `category` or Sentinel `Tactics`)."""
    techniques: list[str]
    """MITRE ATT&CK technique ids (`T1564.001`)."""
    recommended_actions: Optional[str]
    """The source's recommended actions text."""
    url: Optional[str]
    """A link to the alert in its portal."""
    raw: dict[str, JSON]
    """The alert exactly as the source sent it."""

    def entities(self, kind: Optional[EntityKind] = None) -> list[Entity]:
        """All evidence, or only the evidence of one kind."""
        ...

    def users(self) -> list[Entity]:
        """User accounts in the evidence."""
        ...

    def ips(self) -> list[Entity]:
        """IP addresses in the evidence."""
        ...

    def urls(self) -> list[Entity]:
        """URLs in the evidence."""
        ...

    def files(self) -> list[Entity]:
        """Files in the evidence (hashes in `fields`)."""
        ...

    def devices(self) -> list[Entity]:
        """Devices (hosts) in the evidence."""
        ...

    def mailboxes(self) -> list[Entity]:
        """Mailboxes and mail messages in the evidence (sender and recipient in `fields`)."""
        ...

    def processes(self) -> list[Entity]:
        """Processes in the evidence (command line in `value`)."""
        ...


class Response:
    """An integration's answer, as the host received it."""

    status: int
    """HTTP status code."""
    ok: bool
    """True for a status below 400."""
    headers: Mapping[str, str]
    """Response headers (lower-cased names; credentials and cookies are never passed on)."""
    text: str
    """The body decoded as UTF-8 (invalid bytes replaced)."""

    def json(self) -> JSON:
        """The body parsed as JSON; raises ValueError when it is not JSON."""
        ...

    def raise_for_status(self) -> None:
        """Raise HTTPError when the status is 400 or more."""
        ...


class Integration:
    """An HTTP client bound to one integration profile. Paths are relative to the profile's `base_url`."""

    name: str
    """The profile's name."""

    def get(self, path: str, params: Optional[Mapping[str, Any]] = None, headers: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None) -> Response:
        """Send GET `path` with query `params`."""
        ...

    def post(self, path: str, params: Optional[Mapping[str, Any]] = None, json: JSON = None, data: Optional[Mapping[str, Any]] = None, headers: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None) -> Response:
        """Send POST `path` with a JSON body (`json=`) or a form body (`data=`). Mutating: planned, not sent, in a dry run."""
        ...

    def put(self, path: str, params: Optional[Mapping[str, Any]] = None, json: JSON = None, data: Optional[Mapping[str, Any]] = None, headers: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None) -> Response:
        """Send PUT `path`. Mutating: planned, not sent, in a dry run."""
        ...

    def patch(self, path: str, params: Optional[Mapping[str, Any]] = None, json: JSON = None, data: Optional[Mapping[str, Any]] = None, headers: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None) -> Response:
        """Send PATCH `path`. Mutating: planned, not sent, in a dry run."""
        ...

    def delete(self, path: str, params: Optional[Mapping[str, Any]] = None, json: JSON = None, headers: Optional[Mapping[str, str]] = None, timeout: Optional[float] = None) -> Response:
        """Send DELETE `path`. Mutating: planned, not sent, in a dry run."""
        ...


class Step:
    """A node of the run trace, opened by `ctx.step(name)`."""

    name: str
    """The step's name as shown in the trace."""

    def __enter__(self) -> "Step": ...
    def __exit__(self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]) -> None: ...


class Context:
    """What a playbook can do besides computing: call integrations, comment, update the alert, log, trace."""

    deadline: float
    """Seconds left before the run's time limit."""
    dry_run: bool
    """True when mutating calls are planned, not sent."""

    def integration(self, name: str) -> Integration:
        """An HTTP client bound to the integration profile `name` (a file `integrations/<name>.toml`)."""
        ...

    def comment(self, text: str) -> None:
        """Add a comment to the alert (on Graph alerts, `POST alerts_v2/{id}/comments`; otherwise in the run record)."""
        ...

    def update_alert(self, status: Optional[str] = None, classification: Optional[str] = None, determination: Optional[str] = None, assigned_to: Optional[str] = None) -> None:
        """Change the alert's status, classification, determination or owner."""
        ...

    def log(self, message: str, **fields: JSON) -> None:
        """Write a line to the run log with structured fields."""
        ...

    def step(self, name: str) -> Step:
        """A context manager that marks a node of the run trace: `with ctx.step("Enrich"):`."""
        ...

