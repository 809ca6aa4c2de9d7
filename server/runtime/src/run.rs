//! One run, start to record: validate (through `core`), load the alert, check the profiles the
//! playbook names, start the child, serve the bridge until `run()` ends or a limit is reached,
//! then decide the status and build the record.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use riposte_core::alert::Alert;
use riposte_core::catalog::{HttpMethod, Lookup, PathPattern, resolve_request_path};
use riposte_core::workspace::ProfileEntry;
use riposte_core::{Severity, SourceFile};
use serde_json::{Map, Value, json};
use tokio::io::AsyncBufRead;

use crate::bridge::{self, BridgeError, ChildFrame, Done, MAX_FRAME_BYTES};
use crate::child::{self, Captured, RunDir};
use crate::http::{IncomingResponse, OutgoingRequest, RequestBody};
use crate::interpreter;
use crate::record::*;
use crate::sandbox::{self, ResourceLimits};
use crate::sender::{FailureKind, SendFailure};
use crate::{AlertInput, Progress, RunError, RunRequest};

/// Bounds on what a child can make the host keep, whatever it sends.
pub mod caps {
    /// Requests a run may make (a runaway loop must not hammer an API).
    pub const REQUESTS: usize = 10_000;
    pub const LOGS: usize = 10_000;
    pub const STEPS: usize = 10_000;
    /// Steps nest at most this deep in the trace.
    pub const STEP_DEPTH: usize = 64;
    pub const COMMENTS: usize = 1_000;
    pub const UPDATES: usize = 1_000;
    /// The longest log message or comment a record keeps (longer ones are cut and marked).
    pub const TEXT_BYTES: usize = 64 * 1024;
    /// The largest response body handed to the playbook.
    pub const RESPONSE_BYTES: usize = 8 * 1024 * 1024;
    /// The largest return value (as JSON text).
    pub const RESULT_BYTES: usize = 4 * 1024 * 1024;
}

/// The default profile an `--alert-id` is fetched through.
pub const DEFAULT_GRAPH_PROFILE: &str = "Microsoft Graph";

/// Where comments and alert updates go.
#[derive(Debug, Clone)]
enum AlertTarget {
    /// The alert came from a file: the run record only.
    Record,
    /// The alert came from Graph through this profile.
    Graph { profile: String, alert_path: String },
}

impl AlertTarget {
    fn describe(&self) -> String {
        match self {
            AlertTarget::Record => "record".into(),
            AlertTarget::Graph { profile, .. } => format!("graph {profile}"),
        }
    }
}

pub async fn run(request: RunRequest) -> Result<RunRecord, RunError> {
    let clock = Instant::now();
    let started_at = rfc3339(SystemTime::now());
    let loaded = &request.workspace;
    let config = &loaded.workspace.config;

    // The playbook, validated first: nothing runs past an error-level finding.
    let source_text = match &request.source {
        Some(text) => text.clone(),
        None => {
            let bytes = riposte_workspace::read_bytes(&request.playbook)
                .map_err(|err| RunError::Playbook(err.to_string()))?;
            String::from_utf8(bytes).map_err(|_| {
                RunError::Playbook(format!(
                    "{} is not valid UTF-8; playbooks are UTF-8 Python",
                    request.playbook.display()
                ))
            })?
        }
    };
    let (source, diagnostics) =
        riposte_core::check_playbook_bytes(source_text.as_bytes(), &loaded.workspace);
    let display_path = request.display_path.clone().unwrap_or_else(|| {
        let root = std::fs::canonicalize(&loaded.root).unwrap_or_else(|_| loaded.root.clone());
        let path =
            std::fs::canonicalize(&request.playbook).unwrap_or_else(|_| request.playbook.clone());
        if path.starts_with(&root) {
            riposte_workspace::relative(&root, &path)
        } else {
            path.display().to_string()
        }
    });
    let timeout = request
        .timeout
        .unwrap_or(Duration::from_secs(config.limits.run_timeout_secs.max(1)));
    let limits_info = LimitsInfo {
        timeout_secs: timeout.as_secs_f64(),
        memory_mb: config.limits.memory_mb,
        output_bytes: child::OUTPUT_CAP,
    };
    let mut record = RunRecord::new(
        display_path.clone(),
        request.dry_run,
        started_at,
        limits_info,
    );

    let errors: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .cloned()
        .collect();
    if !errors.is_empty() {
        record.status = Status::Blocked;
        record.blocked_by = Some(BlockedBy::Validation);
        record.message = Some(format!(
            "validation found {} error{}; fix {} before running the playbook (`riposte check` lists {})",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
            if errors.len() == 1 { "it" } else { "them" },
            if errors.len() == 1 { "it" } else { "them" },
        ));
        record.diagnostics = errors
            .iter()
            .map(|d| {
                let at = source.position(d.range.start());
                DiagnosticRecord {
                    code: d.rule.code().to_string(),
                    severity: d.severity.as_str().to_string(),
                    line: at.line,
                    column: at.column,
                    message: d.message.clone(),
                }
            })
            .collect();
        record.validation = Some(Validation {
            source,
            diagnostics: errors,
        });
        record.duration_ms = ms(clock.elapsed());
        finish_record(&mut record, &request);
        return Ok(record);
    }

    // Every profile the playbook names must be usable before anything is sent.
    for profile in crate::profiles_used(source.text(), &loaded.workspace) {
        request
            .sender
            .check_profile(&profile)
            .map_err(|failure| profile_error(&profile, failure))?;
    }

    // The alert.
    let mut host_requests = Vec::new();
    let (alert, target, alert_source) = load_alert(&request, &mut host_requests).await?;
    record.alert = AlertInfo {
        id: alert.id.clone(),
        title: alert.title.clone(),
        shape: alert.source.as_str().to_string(),
        source: alert_source,
    };
    record.requests.extend(host_requests);

    let interpreter = interpreter::resolve(
        config
            .python
            .executable
            .as_deref()
            .map(|exe| resolve_executable(exe, &loaded.root))
            .as_deref(),
    )
    .map_err(|err| RunError::Python(err.to_string()))?;
    record.python = Some(PythonInfo {
        executable: interpreter.executable.display().to_string(),
        version: interpreter.version.clone(),
    });

    let alert_json =
        serde_json::to_value(&alert).map_err(|err| RunError::Alert(err.to_string()))?;
    let dir = RunDir::create()
        .map_err(|err| RunError::Io(format!("cannot create the run's folder: {err}")))?;
    let limits = ResourceLimits::new(config.limits.memory_mb, timeout.as_secs_f64());
    let deadline = tokio::time::Instant::now() + timeout.saturating_sub(clock.elapsed());
    let started = child::start(&interpreter, &dir, limits, &dir.bootstrap(), &[dir.sdk()])
        .map_err(|err| {
            RunError::Io(format!(
                "cannot start {}: {err}",
                interpreter.executable.display()
            ))
        })?;
    record.isolation = Some(started.isolation);
    let child::Started {
        mut child,
        pid,
        to_child,
        mut from_child,
        stdout,
        stderr,
        ..
    } = started;

    let playbook_path = std::fs::canonicalize(&request.playbook)
        .unwrap_or_else(|_| request.playbook.clone())
        .display()
        .to_string();
    let start_frame = json!({
        "op": "start",
        "protocol": bridge::PROTOCOL_VERSION,
        "playbook": {"path": playbook_path, "display_path": display_path, "source": source_text},
        "alert": alert_json,
        "dry_run": request.dry_run,
        "seconds_left": deadline.saturating_duration_since(tokio::time::Instant::now()).as_secs_f64(),
        "profiles": loaded.workspace.profile_names().collect::<Vec<_>>(),
        "max_result_bytes": caps::RESULT_BYTES,
    });

    let progress = ProgressState::shared();
    let ticker = request.progress.clone().map(|sink| {
        let state = Arc::clone(&progress);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_millis(200));
            loop {
                interval.tick().await;
                let snapshot = state.lock().map(|s| s.snapshot(clock)).ok();
                if let Some(snapshot) = snapshot {
                    sink(&snapshot);
                }
            }
        })
    });

    let mut session = Session {
        request: &request,
        target,
        started: Instant::now(),
        record: &mut record,
        trace: TraceBuilder::default(),
        progress: Arc::clone(&progress),
    };
    let mut to_child = to_child;
    let ended = {
        let serve = session.serve(&start_frame, &mut from_child, &mut to_child);
        let cancelled = wait_cancelled(request.cancel.clone());
        tokio::select! {
            outcome = serve => Ended::Bridge(outcome),
            _ = tokio::time::sleep_until(deadline) => Ended::Timeout,
            _ = cancelled => Ended::Cancelled,
        }
    };
    let trace = std::mem::take(&mut session.trace);
    drop(session);
    if let Some(ticker) = ticker {
        ticker.abort();
    }

    // Let a child that reported its end leave by itself; otherwise (or if it lingers) kill the group.
    let grace = match &ended {
        Ended::Bridge(Ok(_)) | Ended::Bridge(Err(BridgeError::Closed(_))) => Duration::from_secs(2),
        _ => Duration::ZERO,
    };
    let exit = match tokio::time::timeout(grace, child.wait()).await {
        Ok(Ok(status)) => {
            sandbox::kill_group(pid);
            Some(status)
        }
        _ => {
            sandbox::kill_group(pid);
            child.wait().await.ok()
        }
    };
    drop(to_child);
    drop(from_child);
    let stdout = stdout.finish(Duration::from_secs(1)).await;
    let stderr = stderr.finish(Duration::from_secs(1)).await;
    drop(dir);

    record.trace = trace.finish();
    record.printed = output_record(&stdout, &stderr);
    record.label_trace();
    decide(&mut record, ended, exit, &stderr, timeout);
    record.duration_ms = ms(clock.elapsed());
    finish_record(&mut record, &request);
    Ok(record)
}

/// Redaction, last: every string of the record passes the sender's redactor.
fn finish_record(record: &mut RunRecord, request: &RunRequest) {
    let sender = Arc::clone(&request.sender);
    record.redact(&move |text: &str| sender.redact(text));
}

fn profile_error(profile: &str, failure: SendFailure) -> RunError {
    match failure.kind {
        FailureKind::MissingSecret => RunError::Secret(failure.message),
        _ => RunError::Profile(format!(
            "integration profile `{profile}`: {}",
            failure.message
        )),
    }
}

/// `python.executable` relative to the workspace when it names a path; as given otherwise.
fn resolve_executable(configured: &str, root: &Path) -> String {
    if configured.contains('/') && !configured.starts_with('/') {
        root.join(configured).display().to_string()
    } else {
        configured.to_string()
    }
}

async fn wait_cancelled(cancel: Option<crate::Cancel>) {
    match cancel {
        Some(cancel) => cancel.cancelled().await,
        None => std::future::pending().await,
    }
}

/// How the session ended, before the exit status is known.
enum Ended {
    Bridge(Result<Done, BridgeError>),
    Timeout,
    Cancelled,
}

/// The status, message and error from what was seen.
fn decide(
    record: &mut RunRecord,
    ended: Ended,
    exit: Option<std::process::ExitStatus>,
    stderr: &Captured,
    timeout: Duration,
) {
    use std::os::unix::process::ExitStatusExt;
    let stderr_text = stderr.text();
    let out_of_memory = stderr_text.contains("MemoryError")
        || stderr_text.contains("Cannot allocate memory")
        || stderr_text.contains("out of memory");
    let last_words = stderr_text
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map(|line| line.trim().chars().take(200).collect::<String>());
    let (status, message, error) = match ended {
        Ended::Timeout => (
            Status::Timeout,
            format!(
                "the run passed its time limit of {}; every process of the run was killed",
                seconds(timeout)
            ),
            None,
        ),
        Ended::Cancelled => (
            Status::Killed,
            "the run was cancelled; every process of the run was killed".to_string(),
            None,
        ),
        Ended::Bridge(Ok(Done::Returned { value })) => {
            record.result = value;
            record.status = Status::Succeeded;
            record.message = None;
            return;
        }
        Ended::Bridge(Ok(Done::Unserialisable { message, type_name })) => (
            Status::OutputError,
            message.clone(),
            Some(ErrorRecord {
                type_name: if type_name.is_empty() {
                    "OutputError".into()
                } else {
                    type_name
                },
                message,
                traceback: Vec::new(),
                text: String::new(),
            }),
        ),
        Ended::Bridge(Ok(Done::Raised { error, sandbox })) => {
            let headline = if error.message.is_empty() {
                error.type_name.clone()
            } else {
                format!("{}: {}", error.type_name, error.message)
            };
            let at = error
                .traceback
                .iter()
                .rev()
                .find(|frame| frame.in_playbook)
                .map(|frame| format!(" (line {} of the playbook)", frame.line))
                .unwrap_or_default();
            let error_record = ErrorRecord {
                type_name: error.type_name.clone(),
                message: error.message.clone(),
                traceback: error.traceback.clone(),
                text: error.text.clone(),
            };
            if let Some(refusal) = sandbox {
                record.blocked_by = Some(BlockedBy::Sandbox);
                (
                    Status::Blocked,
                    format!(
                        "the sandbox refused to {}{at}: {}",
                        refusal.operation, refusal.message
                    ),
                    Some(error_record),
                )
            } else if error.type_name == "MemoryError" {
                (
                    Status::Memory,
                    format!(
                        "the playbook ran out of memory{at}: the limit is {} MiB (`limits.memory_mb` in riposte.toml)",
                        record.limits.memory_mb
                    ),
                    Some(error_record),
                )
            } else {
                (
                    Status::Failed,
                    format!("{headline}{at}"),
                    Some(error_record),
                )
            }
        }
        Ended::Bridge(Err(bridge_error)) => {
            let signal = exit.and_then(|status| status.signal());
            let code = exit.and_then(|status| status.code());
            let words = last_words
                .as_deref()
                .map(|w| format!("; it last printed `{w}`"))
                .unwrap_or_default();
            match (signal, &bridge_error) {
                (Some(_), _) | (None, BridgeError::Closed(_)) if out_of_memory => (
                    Status::Memory,
                    format!(
                        "the playbook process ran out of memory: the limit is {} MiB (`limits.memory_mb` in riposte.toml){words}",
                        record.limits.memory_mb
                    ),
                    None,
                ),
                (Some(signal), BridgeError::Closed(_)) if signal == libc::SIGXCPU => (
                    Status::Timeout,
                    "the playbook process used up its CPU time limit and was killed".to_string(),
                    None,
                ),
                (Some(signal), BridgeError::Closed(_)) => (
                    Status::Killed,
                    format!(
                        "the playbook process was killed by {}{}{words}",
                        signal_name(signal),
                        match signal {
                            libc::SIGSYS => " (a system call the sandbox forbids)",
                            libc::SIGXFSZ => " (a file over the size limit)",
                            libc::SIGKILL => " (possibly the kernel's out-of-memory killer)",
                            _ => "",
                        }
                    ),
                    None,
                ),
                _ => {
                    let exited = match code {
                        Some(code) => format!(" (the process exited with code {code}{words})"),
                        None => String::new(),
                    };
                    (Status::BridgeError, format!("{bridge_error}{exited}"), None)
                }
            }
        }
    };
    record.status = status;
    record.message = Some(message);
    if error.is_some() {
        record.error = error;
    }
}

fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGSYS => "SIGSYS",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}

fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{secs:.0} s")
    } else {
        format!("{secs:.1} s")
    }
}

fn output_record(stdout: &Captured, stderr: &Captured) -> OutputRecord {
    OutputRecord {
        stdout: stdout.text(),
        stderr: stderr.text(),
        stdout_bytes: stdout.total,
        stderr_bytes: stderr.total,
        stdout_truncated: stdout.truncated(),
        stderr_truncated: stderr.truncated(),
    }
}

pub(crate) fn ms(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

// --- the alert ----------------------------------------------------------------------------------

async fn load_alert(
    request: &RunRequest,
    host_requests: &mut Vec<RequestRecord>,
) -> Result<(Alert, AlertTarget, String), RunError> {
    match &request.alert {
        AlertInput::File(path) => {
            let bytes = riposte_workspace::read_bytes(path)
                .map_err(|err| RunError::Alert(err.to_string()))?;
            let text = String::from_utf8(bytes).map_err(|_| {
                RunError::Alert(format!(
                    "{} is not UTF-8 text; an alert file is JSON",
                    path.display()
                ))
            })?;
            let alert = Alert::from_json(&text)
                .map_err(|err| RunError::Alert(format!("{}: {err}", path.display())))?;
            Ok((
                alert,
                AlertTarget::Record,
                format!("file {}", path.display()),
            ))
        }
        AlertInput::Json { text, label } => {
            let alert =
                Alert::from_json(text).map_err(|err| RunError::Alert(format!("{label}: {err}")))?;
            Ok((alert, AlertTarget::Record, label.clone()))
        }
        AlertInput::Graph { profile, id } => {
            let profile = profile.as_deref().unwrap_or(DEFAULT_GRAPH_PROFILE);
            let Some(entry) = request.workspace.workspace.profile(profile) else {
                let known: Vec<_> = request.workspace.workspace.profile_names().collect();
                return Err(RunError::Profile(format!(
                    "no integration profile is named `{profile}` to fetch alert {id} from (profiles: {}); add integrations/microsoft-graph.toml or pass --alert-source",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            };
            if id.is_empty() {
                return Err(RunError::Alert("the alert id is empty".into()));
            }
            request
                .sender
                .check_profile(profile)
                .map_err(|failure| profile_error(profile, failure))?;
            let alert_path = graph_alert_path(&entry.profile.base_url, id);
            let outgoing = OutgoingRequest {
                profile: profile.to_string(),
                method: HttpMethod::Get,
                path: alert_path.clone(),
                query: Vec::new(),
                headers: vec![("accept".into(), "application/json".into())],
                body: RequestBody::Empty,
                timeout: None,
            };
            let shown = planned_url(entry, &alert_path, &[]);
            let started = Instant::now();
            let answer = request.sender.send(outgoing).await;
            let duration_ms = ms(started.elapsed());
            match answer {
                Ok(response) => {
                    host_requests.push(RequestRecord {
                        profile: profile.to_string(),
                        method: "GET".into(),
                        url: response.url.clone(),
                        outcome: Outcome::Sent,
                        mutating: false,
                        planned: false,
                        status: Some(response.status),
                        duration_ms,
                        response_bytes: Some(response.body.len()),
                        error: None,
                        by_host: true,
                    });
                    if !(200..300).contains(&response.status) {
                        return Err(RunError::Alert(format!(
                            "fetching alert {id} through `{profile}` answered HTTP {}{}",
                            response.status,
                            graph_error_message(&response.body)
                                .map(|m| format!(": {m}"))
                                .unwrap_or_default()
                        )));
                    }
                    let text = String::from_utf8_lossy(&response.body);
                    let alert = Alert::from_json(&text).map_err(|err| {
                        RunError::Alert(format!("alert {id} from `{profile}`: {err}"))
                    })?;
                    Ok((
                        alert,
                        AlertTarget::Graph {
                            profile: profile.to_string(),
                            alert_path,
                        },
                        format!("graph {profile}"),
                    ))
                }
                Err(failure) => {
                    let _ = shown;
                    Err(match failure.kind {
                        FailureKind::MissingSecret => RunError::Secret(failure.message),
                        _ => RunError::Alert(format!(
                            "cannot fetch alert {id} through `{profile}`: {}",
                            failure.message
                        )),
                    })
                }
            }
        }
    }
}

/// `/security/alerts_v2/{id}` under a base URL that names the API version (`…/v1.0`), or
/// `/v1.0/security/alerts_v2/{id}` under a bare host.
fn graph_alert_path(base_url: &str, id: &str) -> String {
    let base_path = url::Url::parse(base_url)
        .map(|u| u.path().trim_end_matches('/').to_string())
        .unwrap_or_default();
    let id: String = id
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if base_path.is_empty() {
        format!("/v1.0/security/alerts_v2/{id}")
    } else {
        format!("/security/alerts_v2/{id}")
    }
}

/// Graph's `{"error": {"message": …}}`, shortened.
fn graph_error_message(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let message = value.get("error")?.get("message")?.as_str()?;
    Some(message.chars().take(300).collect())
}

// --- requests -----------------------------------------------------------------------------------

/// Whether a request changes something, for the dry run: the catalog's word when the profile has
/// one (Slack's `conversations.list` and AWS `List*` actions are reads sent with POST), the
/// method's convention otherwise. When the catalog cannot tell which endpoint it is, any candidate
/// that changes something makes the request count as changing.
pub fn is_mutating(
    entry: &ProfileEntry,
    method: HttpMethod,
    path: &str,
    action: Option<&str>,
) -> bool {
    let Some(catalog) = entry.catalog.as_deref() else {
        return method.is_mutating();
    };
    let path = match url::Url::parse(path) {
        Ok(absolute) if absolute.has_host() => match absolute.query() {
            Some(query) => format!("{}?{query}", absolute.path()),
            None => absolute.path().to_string(),
        },
        _ => path.to_string(),
    };
    let base_path = url::Url::parse(&entry.profile.base_url)
        .map(|u| u.path().trim_end_matches('/').to_string())
        .unwrap_or_default();
    match catalog.lookup(
        method,
        &PathPattern::parse_literal(&path),
        &base_path,
        action,
    ) {
        Lookup::Found(endpoint) => endpoint.mutating,
        Lookup::Ambiguous { candidates } if !candidates.is_empty() => {
            candidates.iter().any(|endpoint| endpoint.mutating)
        }
        _ => method.is_mutating(),
    }
}

/// The URL a request goes to (for the record when it is not sent): the profile's base URL, the
/// request path resolved under it, and the query parameters.
fn planned_url(entry: &ProfileEntry, path: &str, query: &[(String, String)]) -> String {
    let mut url = match url::Url::parse(path) {
        Ok(absolute) if absolute.has_host() => absolute.to_string(),
        _ => match url::Url::parse(&entry.profile.base_url) {
            Ok(base) => format!(
                "{}{}",
                base.origin().ascii_serialization(),
                resolve_request_path(base.path(), path)
            ),
            Err(_) => format!("{}{path}", entry.profile.base_url),
        },
    };
    if !query.is_empty() {
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&encoded);
    }
    url
}

// --- the session --------------------------------------------------------------------------------

struct Session<'a> {
    request: &'a RunRequest,
    target: AlertTarget,
    /// When the playbook started (trace and log times count from here).
    started: Instant,
    record: &'a mut RunRecord,
    trace: TraceBuilder,
    progress: Arc<Mutex<ProgressState>>,
}

impl Session<'_> {
    async fn serve<R, W>(
        &mut self,
        start: &Value,
        reader: &mut R,
        writer: &mut W,
    ) -> Result<Done, BridgeError>
    where
        R: AsyncBufRead + Unpin,
        W: tokio::io::AsyncWrite + Unpin,
    {
        bridge::write_frame(writer, start).await?;
        let mut line = Vec::new();
        loop {
            if !bridge::read_frame(reader, &mut line, MAX_FRAME_BYTES).await? {
                return Err(BridgeError::Closed(String::new()));
            }
            let frame = ChildFrame::parse(&line)?;
            let reply = match frame {
                ChildFrame::Done(done) => return Ok(done),
                ChildFrame::Request {
                    id,
                    step,
                    profile,
                    method,
                    path,
                    params,
                    headers,
                    json,
                    data,
                    timeout,
                } => {
                    let body = match (json, data) {
                        (Some(json), _) => RequestBody::Json(json),
                        (None, Some(form)) => RequestBody::Form(form),
                        (None, None) => RequestBody::Empty,
                    };
                    let answer = self
                        .request_op(step, profile, &method, path, params, headers, body, timeout)
                        .await;
                    reply(id, answer)
                }
                ChildFrame::Comment { id, step, text } => {
                    let answer = self.comment_op(step, text).await;
                    reply(id, answer)
                }
                ChildFrame::UpdateAlert { id, step, fields } => {
                    let answer = self.update_op(step, fields).await;
                    reply(id, answer)
                }
                ChildFrame::Log {
                    step,
                    message,
                    fields,
                } => {
                    self.log_op(step, message, fields);
                    continue;
                }
                ChildFrame::StepStart { step, parent, name } => {
                    let at = ms(self.started.elapsed());
                    self.trace.start(step, parent, cut(name), at);
                    if let Ok(mut progress) = self.progress.lock() {
                        progress.step = self.trace.current_name();
                    }
                    continue;
                }
                ChildFrame::StepEnd { step, error } => {
                    let at = ms(self.started.elapsed());
                    if let Some(step) = step {
                        self.trace.end(step, error, at);
                    }
                    if let Ok(mut progress) = self.progress.lock() {
                        progress.step = self.trace.current_name();
                    }
                    continue;
                }
            };
            bridge::write_frame(writer, &reply).await?;
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn request_op(
        &mut self,
        step: Option<u64>,
        profile: String,
        method: &str,
        path: String,
        query: Vec<(String, String)>,
        headers: Vec<(String, String)>,
        body: RequestBody,
        timeout: Option<f64>,
    ) -> Result<Value, String> {
        let Some(method) = HttpMethod::parse(method) else {
            return Err(format!("`{method}` is not a method integrations send"));
        };
        let workspace = &self.request.workspace.workspace;
        let Some(entry) = workspace.profile(&profile) else {
            return Err(format!("no integration profile is named `{profile}`"));
        };
        if self.record.requests.len() >= caps::REQUESTS {
            return Err(format!(
                "this run already made {} requests, the most one run may make",
                caps::REQUESTS
            ));
        }
        let timeout = match timeout {
            None => None,
            Some(secs) => match Duration::try_from_secs_f64(secs) {
                Ok(duration) if secs > 0.0 => Some(duration),
                _ => {
                    return Err(format!(
                        "timeout={secs} is not a positive number of seconds"
                    ));
                }
            },
        };
        let action = query
            .iter()
            .chain(match &body {
                RequestBody::Form(form) => form.iter(),
                _ => [].iter(),
            })
            .find(|(name, _)| name == "Action")
            .map(|(_, value)| value.clone());
        let mutating = is_mutating(entry, method, &path, action.as_deref());
        let index = self.record.requests.len();

        let outgoing = OutgoingRequest {
            profile: profile.clone(),
            method,
            path: path.clone(),
            query: query.clone(),
            headers,
            body,
            timeout,
        };

        if self.request.dry_run && mutating {
            let checked = self.request.sender.check(&outgoing);
            let (url, outcome, error) = match checked {
                Ok(Some(url)) => (url, Outcome::Planned, None),
                Ok(None) => (planned_url(entry, &path, &query), Outcome::Planned, None),
                Err(failure) => (
                    planned_url(entry, &path, &query),
                    Outcome::Failed,
                    Some(failure.message),
                ),
            };
            self.record.requests.push(RequestRecord {
                profile: profile.clone(),
                method: method.as_str().to_string(),
                url: url.clone(),
                outcome,
                mutating,
                planned: outcome == Outcome::Planned,
                status: None,
                duration_ms: 0.0,
                response_bytes: None,
                error: error.clone(),
                by_host: false,
            });
            self.trace.leaf(step, TraceNode::request(index));
            if let Some(message) = error {
                return Err(message);
            }
            self.record.changes.push(ChangeRecord {
                kind: "request",
                outcome: Outcome::Planned,
                description: format!("{} {url} ({profile})", method.as_str()),
            });
            self.count_request(true);
            return Ok(json!({
                "status": 200,
                "headers": {"content-type": "application/json"},
                "text": "{\"dry_run\": true}",
                "url": url,
                "planned": true,
            }));
        }

        let started = Instant::now();
        let answer = self.request.sender.send(outgoing).await;
        let duration_ms = ms(started.elapsed());
        self.trace.leaf(step, TraceNode::request(index));
        self.count_request(false);
        match answer {
            Ok(response) => {
                let reply = response_reply(&response);
                self.record.requests.push(RequestRecord {
                    profile: profile.clone(),
                    method: method.as_str().to_string(),
                    url: response.url.clone(),
                    outcome: Outcome::Sent,
                    mutating,
                    planned: false,
                    status: Some(response.status),
                    duration_ms,
                    response_bytes: Some(response.body.len()),
                    error: reply.as_ref().err().cloned(),
                    by_host: false,
                });
                if mutating {
                    self.record.changes.push(ChangeRecord {
                        kind: "request",
                        outcome: Outcome::Sent,
                        description: format!(
                            "{} {} ({profile}) → {}",
                            method.as_str(),
                            response.url,
                            response.status
                        ),
                    });
                }
                reply
            }
            Err(failure) => {
                self.record.requests.push(RequestRecord {
                    profile: profile.clone(),
                    method: method.as_str().to_string(),
                    url: planned_url(entry, &path, &query),
                    outcome: Outcome::Failed,
                    mutating,
                    planned: false,
                    status: None,
                    duration_ms,
                    response_bytes: None,
                    error: Some(failure.message.clone()),
                    by_host: false,
                });
                Err(failure.message)
            }
        }
    }

    async fn comment_op(&mut self, step: Option<u64>, text: String) -> Result<Value, String> {
        if self.record.comments.len() >= caps::COMMENTS {
            return Err(format!(
                "this run already made {} comments, the most one run may make",
                caps::COMMENTS
            ));
        }
        let index = self.record.comments.len();
        let (outcome, error) = match (&self.target, self.request.dry_run) {
            (AlertTarget::Record, _) => (Outcome::Recorded, None),
            (AlertTarget::Graph { .. }, true) => (Outcome::Planned, None),
            (
                AlertTarget::Graph {
                    profile,
                    alert_path,
                },
                false,
            ) => {
                let body = json!({"@odata.type": "microsoft.graph.security.alertComment", "comment": text});
                let path = format!("{alert_path}/comments");
                let (profile, path) = (profile.clone(), path);
                match self
                    .host_request(&profile, HttpMethod::Post, &path, body)
                    .await
                {
                    Ok(()) => (Outcome::Sent, None),
                    Err(message) => (Outcome::Failed, Some(message)),
                }
            }
        };
        let target = self.target.describe();
        self.record.comments.push(CommentRecord {
            text: cut(text.clone()),
            target: target.clone(),
            outcome,
            error: error.clone(),
        });
        self.record.changes.push(ChangeRecord {
            kind: "comment",
            outcome,
            description: format!("comment on the alert ({target}): {}", one_line(&text, 160)),
        });
        self.trace.leaf(step, TraceNode::comment(index));
        match error {
            Some(message) => Err(format!("could not comment on the alert: {message}")),
            None => Ok(json!({})),
        }
    }

    async fn update_op(
        &mut self,
        step: Option<u64>,
        fields: Map<String, Value>,
    ) -> Result<Value, String> {
        if self.record.updates.len() >= caps::UPDATES {
            return Err(format!(
                "this run already made {} alert updates, the most one run may make",
                caps::UPDATES
            ));
        }
        const KNOWN: [(&str, &str); 4] = [
            ("status", "status"),
            ("classification", "classification"),
            ("determination", "determination"),
            ("assigned_to", "assignedTo"),
        ];
        let mut graph_body = Map::new();
        for (name, value) in &fields {
            let Some((_, graph_name)) = KNOWN.iter().find(|(known, _)| known == name) else {
                return Err(format!("`{name}` is not a field update_alert() changes"));
            };
            if !value.is_string() {
                return Err(format!("update_alert({name}=…) takes a string"));
            }
            graph_body.insert((*graph_name).to_string(), value.clone());
        }
        let index = self.record.updates.len();
        let (outcome, error) = match (&self.target, self.request.dry_run) {
            (AlertTarget::Record, _) => (Outcome::Recorded, None),
            (AlertTarget::Graph { .. }, true) => (Outcome::Planned, None),
            (
                AlertTarget::Graph {
                    profile,
                    alert_path,
                },
                false,
            ) => {
                let (profile, path) = (profile.clone(), alert_path.clone());
                match self
                    .host_request(
                        &profile,
                        HttpMethod::Patch,
                        &path,
                        Value::Object(graph_body),
                    )
                    .await
                {
                    Ok(()) => (Outcome::Sent, None),
                    Err(message) => (Outcome::Failed, Some(message)),
                }
            }
        };
        let target = self.target.describe();
        let summary = fields
            .iter()
            .map(|(name, value)| format!("{name}={}", value.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(", ");
        self.record.updates.push(UpdateRecord {
            fields,
            target: target.clone(),
            outcome,
            error: error.clone(),
        });
        self.record.changes.push(ChangeRecord {
            kind: "update_alert",
            outcome,
            description: format!("update the alert ({target}): {summary}"),
        });
        self.trace.leaf(step, TraceNode::update(index));
        match error {
            Some(message) => Err(format!("could not update the alert: {message}")),
            None => Ok(json!({})),
        }
    }

    /// A request the host makes for the run (a Graph comment or update), recorded as such.
    async fn host_request(
        &mut self,
        profile: &str,
        method: HttpMethod,
        path: &str,
        body: Value,
    ) -> Result<(), String> {
        let outgoing = OutgoingRequest {
            profile: profile.to_string(),
            method,
            path: path.to_string(),
            query: Vec::new(),
            headers: Vec::new(),
            body: RequestBody::Json(body),
            timeout: None,
        };
        let started = Instant::now();
        let answer = self.request.sender.send(outgoing).await;
        let duration_ms = ms(started.elapsed());
        let url = self
            .request
            .workspace
            .workspace
            .profile(profile)
            .map(|entry| planned_url(entry, path, &[]))
            .unwrap_or_else(|| path.to_string());
        let (record, result) = match answer {
            Ok(response) => {
                let ok = (200..300).contains(&response.status);
                let error = (!ok).then(|| {
                    format!(
                        "HTTP {}{}",
                        response.status,
                        graph_error_message(&response.body)
                            .map(|m| format!(": {m}"))
                            .unwrap_or_default()
                    )
                });
                (
                    RequestRecord {
                        profile: profile.to_string(),
                        method: method.as_str().to_string(),
                        url: response.url.clone(),
                        outcome: Outcome::Sent,
                        mutating: true,
                        planned: false,
                        status: Some(response.status),
                        duration_ms,
                        response_bytes: Some(response.body.len()),
                        error: error.clone(),
                        by_host: true,
                    },
                    error.map_or(Ok(()), Err),
                )
            }
            Err(failure) => (
                RequestRecord {
                    profile: profile.to_string(),
                    method: method.as_str().to_string(),
                    url,
                    outcome: Outcome::Failed,
                    mutating: true,
                    planned: false,
                    status: None,
                    duration_ms,
                    response_bytes: None,
                    error: Some(failure.message.clone()),
                    by_host: true,
                },
                Err(failure.message),
            ),
        };
        self.record.requests.push(record);
        result
    }

    fn log_op(&mut self, step: Option<u64>, message: String, fields: Map<String, Value>) {
        if self.record.logs.len() >= caps::LOGS {
            self.record.logs_dropped += 1;
            return;
        }
        let index = self.record.logs.len();
        self.record.logs.push(LogRecord {
            at_ms: ms(self.started.elapsed()),
            message: cut(message),
            fields,
        });
        self.trace.leaf(step, TraceNode::log(index));
    }

    fn count_request(&self, planned: bool) {
        if let Ok(mut progress) = self.progress.lock() {
            progress.requests += 1;
            if planned {
                progress.planned += 1;
            }
        }
    }
}

/// A reply frame from an operation's answer.
fn reply(id: u64, answer: Result<Value, String>) -> Value {
    match answer {
        Ok(result) => json!({"op": "reply", "id": id, "result": result}),
        Err(message) => json!({
            "op": "reply",
            "id": id,
            "error": {"type": "IntegrationError", "message": message},
        }),
    }
}

/// What the playbook receives of a response: status, headers (never credentials or cookies), the
/// body as text, and the redacted URL.
fn response_reply(response: &IncomingResponse) -> Result<Value, String> {
    if response.body.len() > caps::RESPONSE_BYTES {
        return Err(format!(
            "the response to {} is {} bytes; a playbook receives at most {} MiB",
            response.url,
            response.body.len(),
            caps::RESPONSE_BYTES >> 20
        ));
    }
    let mut headers: Map<String, Value> = Map::new();
    for (name, value) in &response.headers {
        let name = name.to_ascii_lowercase();
        if matches!(
            name.as_str(),
            "set-cookie" | "cookie" | "authorization" | "proxy-authorization" | "www-authenticate"
        ) {
            continue;
        }
        match headers.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(value);
            }
            _ => {
                headers.insert(name, Value::String(value.clone()));
            }
        }
    }
    Ok(json!({
        "status": response.status,
        "headers": headers,
        "text": String::from_utf8_lossy(&response.body),
        "url": response.url,
        "planned": false,
    }))
}

/// Keeps at most [`caps::TEXT_BYTES`] of a text, cut on a character boundary and marked.
fn cut(mut text: String) -> String {
    if text.len() > caps::TEXT_BYTES {
        let mut end = caps::TEXT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("… [cut]");
    }
    text
}

/// The first line of a text, at most `max` characters.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let first = text.lines().next().unwrap_or("");
    let mut shown: String = first.chars().take(max).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    format!("\"{shown}\"")
}

// --- the trace ----------------------------------------------------------------------------------

#[derive(Default)]
struct TraceBuilder {
    root: Vec<Item>,
    steps: HashMap<u64, StepBuild>,
    /// Open steps, innermost last (for the progress line).
    open: Vec<u64>,
}

struct StepBuild {
    name: String,
    depth: usize,
    started_ms: f64,
    ended_ms: Option<f64>,
    error: Option<String>,
    children: Vec<Item>,
}

enum Item {
    Step(u64),
    Leaf(TraceNode),
}

impl TraceBuilder {
    fn start(&mut self, id: u64, parent: Option<u64>, name: String, at: f64) {
        let depth = parent
            .and_then(|parent| self.steps.get(&parent))
            .map_or(1, |parent| parent.depth + 1);
        if self.steps.contains_key(&id)
            || self.steps.len() >= caps::STEPS
            || depth > caps::STEP_DEPTH
        {
            return; // what happens inside goes to the nearest recorded step
        }
        self.steps.insert(
            id,
            StepBuild {
                name,
                depth,
                started_ms: at,
                ended_ms: None,
                error: None,
                children: Vec::new(),
            },
        );
        self.children_of(parent).push(Item::Step(id));
        self.open.push(id);
    }

    fn end(&mut self, id: u64, error: Option<String>, at: f64) {
        if let Some(step) = self.steps.get_mut(&id)
            && step.ended_ms.is_none()
        {
            step.ended_ms = Some(at);
            step.error = error;
        }
        self.open.retain(|open| *open != id);
    }

    fn leaf(&mut self, step: Option<u64>, node: TraceNode) {
        self.children_of(step).push(Item::Leaf(node));
    }

    fn current_name(&self) -> Option<String> {
        self.open
            .last()
            .and_then(|id| self.steps.get(id))
            .map(|step| step.name.clone())
    }

    fn children_of(&mut self, step: Option<u64>) -> &mut Vec<Item> {
        match step {
            Some(id) if self.steps.contains_key(&id) => {
                &mut self.steps.get_mut(&id).expect("checked above").children
            }
            _ => &mut self.root,
        }
    }

    fn finish(mut self) -> Vec<TraceNode> {
        let root = std::mem::take(&mut self.root);
        self.build(root)
    }

    fn build(&mut self, items: Vec<Item>) -> Vec<TraceNode> {
        items
            .into_iter()
            .filter_map(|item| match item {
                Item::Leaf(node) => Some(node),
                Item::Step(id) => {
                    // A step is removed as it is built, so no cycle can form; depth is bounded
                    // by `start`.
                    let step = self.steps.remove(&id)?;
                    let children = self.build(step.children);
                    Some(TraceNode::Step(StepNode {
                        name: step.name,
                        started_ms: step.started_ms,
                        duration_ms: step
                            .ended_ms
                            .map(|end| ((end - step.started_ms) * 1000.0).round() / 1000.0),
                        error: step.error,
                        children,
                    }))
                }
            })
            .collect()
    }
}

// --- progress -----------------------------------------------------------------------------------

#[derive(Default)]
struct ProgressState {
    requests: usize,
    planned: usize,
    step: Option<String>,
}

impl ProgressState {
    fn shared() -> Arc<Mutex<ProgressState>> {
        Arc::new(Mutex::new(ProgressState::default()))
    }

    fn snapshot(&self, clock: Instant) -> Progress {
        Progress {
            elapsed: clock.elapsed(),
            requests: self.requests,
            planned: self.planned,
            step: self.step.clone(),
        }
    }
}

/// The validation result of a blocked run, for callers that show diagnostics their own way.
#[derive(Debug, Clone)]
pub struct Validation {
    pub source: SourceFile,
    pub diagnostics: Vec<riposte_core::Diagnostic>,
}
