//! The engine's HTTP API as data: every request and response body that `riposte serve` accepts
//! and answers, shared by the engine (which serves them) and its clients (CLI, language server,
//! MCP). `docs/engine-api.md` says which endpoint carries which type; keep the two in step.
//!
//! Times are RFC 3339 strings in UTC. Secrets only ever travel towards the engine
//! ([`SaveProfile::secrets`]); no response type has a field that could hold one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Every error response: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ApiError,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable and machine-readable; see [`error_code`].
    pub code: String,
    /// For people: says what was wrong and what to do.
    pub message: String,
    /// The findings behind a `validation_failed` answer (a rule's RP102 problems, a playbook's
    /// error-level diagnostics on activation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Diagnostic>,
}

/// The values of [`ApiError::code`].
pub mod error_code {
    /// 400: the body is not the JSON (or TOML) the endpoint takes.
    pub const BAD_REQUEST: &str = "bad_request";
    /// 401: no bearer token, or not a token the engine knows.
    pub const UNAUTHORIZED: &str = "unauthorized";
    /// 403: the read-only token on an endpoint that changes something.
    pub const FORBIDDEN: &str = "forbidden";
    /// 404: no such playbook, version, rule, profile, alert or run.
    pub const NOT_FOUND: &str = "not_found";
    /// 409: the change conflicts with what is stored (a rule points at the playbook, an immutable
    /// profile field, a name taken).
    pub const CONFLICT: &str = "conflict";
    /// 413: the body is larger than the engine accepts.
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    /// 422: well-formed but invalid (diagnostics attached when there are some).
    pub const VALIDATION_FAILED: &str = "validation_failed";
    /// 422: an alert that is neither a Graph alert nor a SecurityAlert row.
    pub const INVALID_ALERT: &str = "invalid_alert";
    /// 422: a configured limit (playbooks, lines, active rules, batch size) would be exceeded.
    pub const LIMIT_EXCEEDED: &str = "limit_exceeded";
    /// 503: the store cannot be reached or is locked; retry later (nothing was changed).
    pub const STORE_UNAVAILABLE: &str = "store_unavailable";
    /// 501: the feature is not available in this engine.
    pub const NOT_AVAILABLE: &str = "not_available";
    /// 500: a bug; the message says nothing secret.
    pub const INTERNAL: &str = "internal";
}

/// A finding, as the engine reports it (lines and columns are 1-based, columns in characters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// `RP001`…
    pub code: String,
    /// `error`, `warning` or `info`.
    pub severity: String,
    pub message: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
}

/// `GET /api/health` (no token needed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// `sqlite` or `postgres`.
    pub store: String,
    /// The engine's version (`riposte --version`).
    pub version: String,
}

/// `GET /api/whoami`: which role the presented token has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhoAmI {
    pub role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything.
    Admin,
    /// `GET` only.
    Read,
}

// ---------------------------------------------------------------------------------------------
// Playbooks

/// `PUT /api/playbooks/{name}`: stores a new version, always disabled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavePlaybook {
    /// The Python source.
    pub source: String,
    /// Its documentation (Markdown). The engine generates it from the source when absent.
    #[serde(default)]
    pub docs: Option<String>,
}

/// One playbook as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaybookSummary {
    pub name: String,
    /// The active version, if any; runs use it.
    pub active_version: Option<u32>,
    /// The newest version.
    pub latest_version: u32,
    pub created_at: String,
    pub updated_at: String,
}

/// `GET /api/playbooks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaybookList {
    pub playbooks: Vec<PlaybookSummary>,
}

/// A version as listed (no source).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionSummary {
    pub version: u32,
    pub active: bool,
    pub lines: u32,
    /// Error-level diagnostics: a version with any cannot be activated.
    pub errors: u32,
    pub warnings: u32,
    pub created_at: String,
}

/// `GET /api/playbooks/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaybookDetail {
    #[serde(flatten)]
    pub summary: PlaybookSummary,
    /// Newest first.
    pub versions: Vec<VersionSummary>,
}

/// `PUT /api/playbooks/{name}` (201) and `GET /api/playbooks/{name}/versions/{version}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaybookVersion {
    pub name: String,
    #[serde(flatten)]
    pub summary: VersionSummary,
    pub source: String,
    pub docs: String,
    /// The validation result of this version, as stored when it was saved.
    pub diagnostics: Vec<Diagnostic>,
}

// ---------------------------------------------------------------------------------------------
// Automation rules

/// `PUT /api/rules/{name}`: the rule as the TOML text of a `rules/<name>.toml` file, or as the
/// same rule in JSON (`rule`). Exactly one of the two.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SaveRule {
    #[serde(default)]
    pub toml: Option<String>,
    #[serde(default)]
    pub rule: Option<serde_json::Value>,
}

/// One rule as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleInfo {
    pub name: String,
    pub enabled: bool,
    pub order: u32,
    /// `alert_created` or `alert_updated`.
    pub trigger: String,
    /// The rule in JSON (the `riposte_core` automation rule format).
    pub rule: serde_json::Value,
    /// The TOML text it was saved from (generated when it was saved as JSON).
    pub toml: String,
    /// `run_playbook` or `update_alert`.
    pub action: String,
    /// The playbook a `run_playbook` rule runs.
    pub playbook: Option<String>,
    /// Why the rule cannot fire right now (its playbook was deleted or has no active version).
    pub problem: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// `GET /api/rules`, in evaluation order (ascending `order`, then name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleList {
    pub rules: Vec<RuleInfo>,
}

// ---------------------------------------------------------------------------------------------
// Integration profiles

/// `PUT /api/profiles/{name}`: creates a profile, or updates one. `base_url` and `auth.method`
/// cannot change once created (409). Secrets are merged into what is stored: a field not given
/// keeps its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveProfile {
    /// The text of an `integrations/<name>.toml` file (no secrets in it).
    pub toml: String,
    /// Secret fields for the profile's auth method (`api_key`, `client_secret`, …). Write-only.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

/// A profile as the engine shows it: never a secret value, only which fields are set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileInfo {
    pub name: String,
    pub description: String,
    pub base_url: String,
    pub auth_method: String,
    pub toml: String,
    /// Names of the secret fields that have a stored value.
    pub secrets_set: Vec<String>,
    /// Names of the secret fields the auth method needs that have none.
    pub secrets_missing: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// `GET /api/profiles`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileList {
    pub profiles: Vec<ProfileInfo>,
}

// ---------------------------------------------------------------------------------------------
// Alerts

/// `POST /api/alerts` answers one entry per alert sent, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntakeResponse {
    pub results: Vec<IntakeResult>,
}

/// What became of one alert of a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntakeResult {
    /// Position in the batch (0 for a single alert).
    pub index: usize,
    /// The alert's id (absent when it could not be read).
    pub id: Option<String>,
    pub outcome: IntakeOutcome,
    /// Runs queued for it by this delivery.
    #[serde(default)]
    pub runs: Vec<i64>,
    /// Rules that matched, in evaluation order.
    #[serde(default)]
    pub matched_rules: Vec<String>,
    /// Why it was rejected.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntakeOutcome {
    /// New alert: `alert_created` rules evaluated.
    Created,
    /// Known id with changed content: stored, `alert_updated` rules evaluated.
    Updated,
    /// The same content again: nothing happened.
    Duplicate,
    /// Not an alert; see `error`.
    Rejected,
}

/// One alert as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertSummary {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub status: String,
    pub provider: String,
    /// `graph` or `security_alert`.
    pub source: String,
    /// The workspace it was delivered for.
    pub workspace: String,
    pub received_at: String,
    pub updated_at: String,
}

/// `GET /api/alerts` (newest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertList {
    pub alerts: Vec<AlertSummary>,
}

/// `GET /api/alerts/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertDetail {
    #[serde(flatten)]
    pub summary: AlertSummary,
    /// The alert exactly as it was delivered (latest delivery).
    pub raw: serde_json::Value,
}

/// One entry of an alert's activity log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityEntry {
    pub id: i64,
    pub at: String,
    /// `received` (first delivery), `updated` (changed content), `rule_matched` (a rule matched
    /// but queued nothing: its playbook has no active version), `run_queued`, `run_started`,
    /// `run_requeued` (its worker stopped; lease expired), `run_finished`, `comment` and
    /// `alert_update` (made by a run, or by an `update_alert` rule).
    pub kind: String,
    /// For people.
    pub text: String,
    pub run_id: Option<i64>,
    pub rule: Option<String>,
    /// Structured detail (the fields of an alert update, a run's status).
    #[serde(default)]
    pub data: serde_json::Value,
}

/// `GET /api/alerts/{id}/activity` (oldest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityList {
    pub alert_id: String,
    pub entries: Vec<ActivityEntry>,
}

// ---------------------------------------------------------------------------------------------
// Runs

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Waiting for a worker.
    Queued,
    /// A worker holds its lease.
    Running,
    /// The run record's status is `succeeded`.
    Succeeded,
    /// The playbook ran and did not succeed (the record's status says how), or the run could
    /// not start, or it ran out of attempts.
    Failed,
}

/// One run as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub id: i64,
    pub alert_id: String,
    pub rule: String,
    pub playbook: String,
    /// The playbook version it ran (set when a worker claims it: the active one then).
    pub playbook_version: Option<u32>,
    pub state: RunState,
    /// The run record's status (`succeeded`, `failed`, `timeout`, `blocked`, …) once finished.
    pub status: Option<String>,
    /// Why it failed, for people.
    pub error: Option<String>,
    pub attempt: u32,
    pub worker: Option<String>,
    pub queued_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

/// `GET /api/runs` (newest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunList {
    pub runs: Vec<RunSummary>,
}

/// `GET /api/runs/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetail {
    #[serde(flatten)]
    pub summary: RunSummary,
    /// The runtime's run record (JSON, already redacted by the runtime) once finished.
    pub record: Option<serde_json::Value>,
}
