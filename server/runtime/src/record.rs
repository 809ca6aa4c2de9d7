//! The run record: everything a run did, as `riposte test --format json` prints it, the language
//! server's `riposte.test` returns it and the engine will store it. Nothing in it holds a secret:
//! URLs are redacted by the HTTP layer and every string passes the sender's redactor before the
//! record is handed out ([`RunRecord::redact`]).

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::bridge::FrameInfo;
use crate::run::Validation;
use crate::sandbox::Isolation;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// `run()` returned a JSON-serialisable value (or None).
    Succeeded,
    /// `run()` raised an exception.
    Failed,
    /// The run's wall-clock limit passed; the whole process group was killed.
    Timeout,
    /// The playbook ran out of its memory limit (MemoryError, or the process died of it).
    Memory,
    /// The process died of a signal it was not sent for a limit (or the run was cancelled).
    Killed,
    /// The run did not start because validation found errors, or the sandbox refused what the
    /// playbook tried (`blocked_by` says which).
    Blocked,
    /// The bridge broke: garbage, an oversized frame, or closed before `run()` ended.
    BridgeError,
    /// `run()` returned something JSON cannot hold.
    OutputError,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Timeout => "timeout",
            Status::Memory => "memory",
            Status::Killed => "killed",
            Status::Blocked => "blocked",
            Status::BridgeError => "bridge_error",
            Status::OutputError => "output_error",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What stopped a `blocked` run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockedBy {
    /// Error-level diagnostics: the playbook never started.
    Validation,
    /// The sandbox refused an operation and the playbook ended on that refusal.
    Sandbox,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    /// The playbook as the user names it (relative to the workspace root when inside it).
    pub playbook: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<BlockedBy>,
    /// One sentence: why the run ended as it did (absent when it succeeded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub dry_run: bool,
    /// UTC, RFC 3339.
    pub started_at: String,
    /// From the start of the run (validation included) to the record.
    pub duration_ms: f64,
    pub alert: AlertInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python: Option<PythonInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isolation: Option<Isolation>,
    pub limits: LimitsInfo,
    /// Steps, requests, comments, updates and logs as they nested, in order.
    pub trace: Vec<TraceNode>,
    pub requests: Vec<RequestRecord>,
    pub comments: Vec<CommentRecord>,
    pub updates: Vec<UpdateRecord>,
    pub logs: Vec<LogRecord>,
    /// Log lines past the most a record keeps.
    #[serde(skip_serializing_if = "is_zero")]
    pub logs_dropped: usize,
    /// What the real run would change (a dry run) or changed (a real run), in order.
    pub changes: Vec<ChangeRecord>,
    /// `run()`'s return value.
    pub result: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorRecord>,
    /// What the playbook printed on stdout and stderr.
    pub printed: OutputRecord,
    /// Error-level findings that blocked the run (with `blocked_by: validation`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<DiagnosticRecord>,
    /// The same findings with their source, for callers that render diagnostics themselves.
    #[serde(skip)]
    pub validation: Option<Validation>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertInfo {
    pub id: String,
    pub title: String,
    /// `graph` or `security_alert`.
    pub shape: String,
    /// Where it came from: `file <path>` or `graph <profile>`.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PythonInfo {
    pub executable: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LimitsInfo {
    pub timeout_secs: f64,
    pub memory_mb: u64,
    pub output_bytes: usize,
}

/// A node of the trace. Leaves point into the record's lists by index, with a one-line `label`
/// for viewers that show the tree alone.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TraceNode {
    Step(StepNode),
    Request {
        index: usize,
        #[serde(skip_serializing_if = "String::is_empty")]
        label: String,
    },
    Comment {
        index: usize,
        #[serde(skip_serializing_if = "String::is_empty")]
        label: String,
    },
    Update {
        index: usize,
        #[serde(skip_serializing_if = "String::is_empty")]
        label: String,
    },
    Log {
        index: usize,
        #[serde(skip_serializing_if = "String::is_empty")]
        label: String,
    },
}

impl TraceNode {
    pub fn request(index: usize) -> Self {
        TraceNode::Request {
            index,
            label: String::new(),
        }
    }
    pub fn comment(index: usize) -> Self {
        TraceNode::Comment {
            index,
            label: String::new(),
        }
    }
    pub fn update(index: usize) -> Self {
        TraceNode::Update {
            index,
            label: String::new(),
        }
    }
    pub fn log(index: usize) -> Self {
        TraceNode::Log {
            index,
            label: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepNode {
    pub name: String,
    /// Since the playbook started.
    pub started_ms: f64,
    /// `None` while the step was still open when the run ended.
    pub duration_ms: Option<f64>,
    /// The exception type that left the step, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub children: Vec<TraceNode>,
}

/// What happened to a request, comment or update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Sent, and answered (whatever the status).
    Sent,
    /// A dry run: recorded and answered with a stand-in instead of sent.
    Planned,
    /// No remote target (the alert came from a file): kept in this record only.
    Recorded,
    /// Refused by the host, or no answer (see `error`).
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestRecord {
    pub profile: String,
    pub method: String,
    /// The URL requested (or that would have been), credentials and signed parameters redacted.
    pub url: String,
    pub outcome: Outcome,
    /// Whether the request changes something (so a dry run plans it rather than sending it).
    pub mutating: bool,
    /// `outcome == planned`, for readers that look for a flag.
    pub planned: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub duration_ms: f64,
    /// Size of the answer's body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_bytes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Sent on the run's behalf (fetching the alert, a Graph comment), not by the playbook.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub by_host: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommentRecord {
    pub text: String,
    /// `graph <profile>` or `record`.
    pub target: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpdateRecord {
    pub fields: Map<String, Value>,
    pub target: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogRecord {
    /// Since the playbook started.
    pub at_ms: f64,
    pub message: String,
    pub fields: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeRecord {
    /// `request`, `comment` or `update_alert`.
    pub kind: &'static str,
    pub outcome: Outcome,
    /// One line: `POST https://… (Jira)`, `comment: "…"`, `update alert: status=inProgress`.
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorRecord {
    /// The exception's type (`KeyError`, `riposte.HTTPError`); for other ends, what ended the run.
    #[serde(rename = "type")]
    pub type_name: String,
    pub message: String,
    /// Innermost last, without the runtime's own frames; `in_playbook` marks the playbook's lines.
    pub traceback: Vec<FrameInfo>,
    /// The traceback as Python prints it, with the playbook's workspace path.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct OutputRecord {
    /// What the playbook printed (decoded as UTF-8, invalid bytes replaced), at most
    /// `limits.output_bytes` of each stream.
    pub stdout: String,
    pub stderr: String,
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiagnosticRecord {
    pub code: String,
    pub severity: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl RunRecord {
    /// An empty record of a run that has not happened yet.
    pub fn new(playbook: String, dry_run: bool, started_at: String, limits: LimitsInfo) -> Self {
        Self {
            playbook,
            status: Status::Failed,
            blocked_by: None,
            message: None,
            dry_run,
            started_at,
            duration_ms: 0.0,
            alert: AlertInfo {
                id: String::new(),
                title: String::new(),
                shape: String::new(),
                source: String::new(),
            },
            python: None,
            isolation: None,
            limits,
            trace: Vec::new(),
            requests: Vec::new(),
            comments: Vec::new(),
            updates: Vec::new(),
            logs: Vec::new(),
            logs_dropped: 0,
            changes: Vec::new(),
            result: Value::Null,
            error: None,
            printed: OutputRecord::default(),
            diagnostics: Vec::new(),
            validation: None,
        }
    }

    /// The requests, comments and updates that change something, for a person to approve.
    pub fn planned_changes(&self) -> impl Iterator<Item = &ChangeRecord> {
        self.changes
            .iter()
            .filter(|change| change.outcome == Outcome::Planned)
    }

    /// Gives each leaf of the trace its one-line label (`GET https://… → 200`, `comment: "…"`).
    pub fn label_trace(&mut self) {
        let mut trace = std::mem::take(&mut self.trace);
        for node in &mut trace {
            self.label_node(node);
        }
        self.trace = trace;
    }

    fn label_node(&self, node: &mut TraceNode) {
        let short = |text: &str| -> String {
            let first = text.lines().next().unwrap_or("");
            let mut shown: String = first.chars().take(100).collect();
            if shown.len() < text.len() {
                shown.push('…');
            }
            shown
        };
        match node {
            TraceNode::Step(step) => {
                for child in &mut step.children {
                    self.label_node(child);
                }
            }
            TraceNode::Request { index, label } => {
                if let Some(request) = self.requests.get(*index) {
                    *label = match (request.outcome, request.status) {
                        (Outcome::Planned, _) => {
                            format!("{} {} (planned)", request.method, request.url)
                        }
                        (_, Some(status)) => {
                            format!("{} {} → {status}", request.method, request.url)
                        }
                        _ => format!("{} {} (failed)", request.method, request.url),
                    };
                }
            }
            TraceNode::Comment { index, label } => {
                if let Some(comment) = self.comments.get(*index) {
                    *label = format!("comment: \"{}\"", short(&comment.text));
                }
            }
            TraceNode::Update { index, label } => {
                if let Some(update) = self.updates.get(*index) {
                    let fields: Vec<String> = update
                        .fields
                        .iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect();
                    *label = format!("update alert: {}", fields.join(", "));
                }
            }
            TraceNode::Log { index, label } => {
                if let Some(log) = self.logs.get(*index) {
                    *label = format!("log: {}", short(&log.message));
                }
            }
        }
    }

    /// Passes every string in the record through `redact` (a secret's value becomes a mask
    /// wherever it would have been written). Keys of JSON objects included.
    pub fn redact(&mut self, redact: &dyn Fn(&str) -> String) {
        let mut walk = |s: &mut String| {
            let masked = redact(s);
            if masked != *s {
                *s = masked;
            }
        };
        walk(&mut self.playbook);
        if let Some(message) = &mut self.message {
            walk(message);
        }
        walk(&mut self.alert.id);
        walk(&mut self.alert.title);
        walk(&mut self.alert.source);
        for node in &mut self.trace {
            redact_node(node, &mut walk);
        }
        for request in &mut self.requests {
            walk(&mut request.url);
            walk(&mut request.profile);
            if let Some(error) = &mut request.error {
                walk(error);
            }
        }
        for comment in &mut self.comments {
            walk(&mut comment.text);
            walk(&mut comment.target);
            if let Some(error) = &mut comment.error {
                walk(error);
            }
        }
        for update in &mut self.updates {
            redact_map(&mut update.fields, &mut walk);
            if let Some(error) = &mut update.error {
                walk(error);
            }
        }
        for log in &mut self.logs {
            walk(&mut log.message);
            redact_map(&mut log.fields, &mut walk);
        }
        for change in &mut self.changes {
            walk(&mut change.description);
        }
        redact_value(&mut self.result, &mut walk);
        if let Some(error) = &mut self.error {
            walk(&mut error.type_name);
            walk(&mut error.message);
            walk(&mut error.text);
            for frame in &mut error.traceback {
                walk(&mut frame.file);
                walk(&mut frame.function);
                walk(&mut frame.code);
            }
        }
        walk(&mut self.printed.stdout);
        walk(&mut self.printed.stderr);
        for diagnostic in &mut self.diagnostics {
            walk(&mut diagnostic.message);
        }
    }
}

fn redact_node(node: &mut TraceNode, walk: &mut dyn FnMut(&mut String)) {
    match node {
        TraceNode::Step(step) => {
            walk(&mut step.name);
            for child in &mut step.children {
                redact_node(child, walk);
            }
        }
        TraceNode::Request { label, .. }
        | TraceNode::Comment { label, .. }
        | TraceNode::Update { label, .. }
        | TraceNode::Log { label, .. } => walk(label),
    }
}

fn redact_map(map: &mut Map<String, Value>, walk: &mut dyn FnMut(&mut String)) {
    let entries = std::mem::take(map);
    for (mut key, mut value) in entries {
        walk(&mut key);
        redact_value(&mut value, walk);
        map.insert(key, value);
    }
}

fn redact_value(value: &mut Value, walk: &mut dyn FnMut(&mut String)) {
    match value {
        Value::String(s) => walk(s),
        Value::Array(items) => items.iter_mut().for_each(|item| redact_value(item, walk)),
        Value::Object(map) => redact_map(map, walk),
        _ => {}
    }
}

/// `SystemTime` as RFC 3339 UTC with milliseconds, without a date-time crate.
pub fn rfc3339(time: std::time::SystemTime) -> String {
    let since = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        let at = |secs| std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        assert_eq!(rfc3339(at(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(at(951_782_400)), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(at(1_767_225_599)), "2025-12-31T23:59:59.000Z");
    }
}
