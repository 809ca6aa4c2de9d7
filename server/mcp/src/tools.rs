//! What each tool does with its arguments: resolve paths inside the workspace, call the crate that
//! does the work (`riposte_core`, `riposte_runtime`, `riposte_engine_client`) and shape the
//! answer as JSON for a model. Errors are [`ToolError`]s whose text says what to do next; the
//! server turns them into MCP tool errors (`isError: true`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use riposte_core::{Diagnostic, Severity, SourceFile, describe};
use riposte_engine_client::client::{EngineClient, EngineTarget};
use riposte_engine_client::wire::SavePlaybook;
use riposte_runtime::{AlertInput, IntegrationsSender, RequestSender as _, RunRequest};
use riposte_workspace::LoadedWorkspace;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{Options, RealRuns};

/// Why a tool call did not do what it was asked; the text is what the model reads.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ToolError(String);

impl ToolError {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

type ToolResult = Result<Value, ToolError>;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateArgs {
    /// The playbook file, relative to the workspace root (`playbooks/enrich.py`). Give this or
    /// `text`.
    #[serde(default)]
    pub path: Option<String>,
    /// The playbook's Python source, to check text that is not saved yet. Give this or `path`.
    #[serde(default)]
    pub text: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocsArgs {
    /// The playbook file, relative to the workspace root. Give this or `text`.
    #[serde(default)]
    pub path: Option<String>,
    /// The playbook's Python source. Give this or `path`.
    #[serde(default)]
    pub text: Option<String>,
    /// The playbook's name in the document (default: the file's stem, or `playbook` for text).
    #[serde(default)]
    pub name: Option<String>,
    /// Also write the Markdown next to the playbook (`playbooks/<name>.md`). Needs `path`.
    #[serde(default)]
    pub write: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribeIntegrationArgs {
    /// The profile's name, exactly as `ctx.integration("…")` takes it (see `list_integrations`).
    pub name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestArgs {
    /// The playbook file, relative to the workspace root (`playbooks/enrich.py`).
    pub path: String,
    /// A saved alert file (a Microsoft Graph `security/alerts_v2` alert or a Sentinel
    /// `SecurityAlert` row as JSON), relative to the workspace root (`alerts/phish.json`). Give
    /// exactly one of `alert_path`, `alert` and `alert_id`.
    #[serde(default)]
    pub alert_path: Option<String>,
    /// The alert itself: a JSON object in either shape (or its JSON text).
    #[serde(default)]
    pub alert: Option<Value>,
    /// Fetch the alert by id from Microsoft Graph through the `Microsoft Graph` profile (or
    /// `alert_source`).
    #[serde(default)]
    pub alert_id: Option<String>,
    /// The Graph profile to fetch `alert_id` through.
    #[serde(default)]
    pub alert_source: Option<String>,
    /// Plan every request that changes data, every comment and alert update instead of making
    /// them (reads are still sent). Default true. `false` makes a real run, which the server
    /// refuses unless its operator started it with `--allow-real-runs`.
    #[serde(default)]
    pub dry_run: Option<bool>,
    /// The run's time limit in seconds (default: `limits.run_timeout_secs` of riposte.toml).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveArgs {
    /// The playbook file, relative to the workspace root (`playbooks/enrich.py`); its stem is the
    /// playbook's name on the engine.
    pub path: String,
}

/// The workspace as it is on disk now: the agent may have added a profile since the last call.
fn load(options: &Options) -> Result<LoadedWorkspace, ToolError> {
    riposte_workspace::load(&options.root)
        .map_err(|err| ToolError::new(format!("cannot load the workspace: {err}")))
}

/// `path` (relative to the root, or absolute) as an existing file inside the workspace.
fn resolve(options: &Options, path: &str) -> Result<PathBuf, ToolError> {
    let joined = options.root.join(path);
    let canonical = std::fs::canonicalize(&joined).map_err(|err| {
        ToolError::new(format!(
            "cannot open `{path}` in the workspace ({err}); paths are relative to the workspace root {}",
            options.root.display()
        ))
    })?;
    if !canonical.starts_with(&options.root) {
        return Err(ToolError::new(format!(
            "`{path}` is outside the workspace {}; this server only reads and writes files inside it",
            options.root.display()
        )));
    }
    if !canonical.is_file() {
        return Err(ToolError::new(format!("`{path}` is not a file")));
    }
    Ok(canonical)
}

fn shown(options: &Options, path: &Path) -> String {
    riposte_workspace::relative(&options.root, path)
}

/// A playbook given by path or text, read and checked.
struct Playbook {
    /// The canonical file, when given by path.
    file: Option<PathBuf>,
    display: String,
    source: SourceFile,
    diagnostics: Vec<Diagnostic>,
}

fn playbook(
    options: &Options,
    loaded: &LoadedWorkspace,
    path: Option<&str>,
    text: Option<&str>,
) -> Result<Playbook, ToolError> {
    match (path, text) {
        (Some(path), None) => {
            let file = resolve(options, path)?;
            let bytes = riposte_workspace::read_bytes(&file)
                .map_err(|err| ToolError::new(err.to_string()))?;
            let (source, diagnostics) =
                riposte_core::check_playbook_bytes(&bytes, &loaded.workspace);
            Ok(Playbook {
                display: shown(options, &file),
                file: Some(file),
                source,
                diagnostics,
            })
        }
        (None, Some(text)) => {
            let source = SourceFile::new(text);
            let diagnostics = riposte_core::check_playbook(&source, &loaded.workspace);
            Ok(Playbook {
                file: None,
                display: "<text>".into(),
                source,
                diagnostics,
            })
        }
        (Some(_), Some(_)) => Err(ToolError::new("give either `path` or `text`, not both")),
        (None, None) => Err(ToolError::new(
            "give the playbook: `path` (relative to the workspace root) or `text` (its source)",
        )),
    }
}

/// One diagnostic for a model: code, severity, 1-based range in characters, message, and whether
/// a fix is available (the fix itself is applied in the editor or with `riposte check --fix`).
fn diagnostic_json(source: &SourceFile, diagnostic: &Diagnostic) -> Value {
    json!({
        "code": diagnostic.rule.code(),
        "name": diagnostic.rule.name(),
        "severity": diagnostic.severity,
        "message": diagnostic.message,
        "range": {
            "start": source.position(diagnostic.range.start()),
            "end": source.position(diagnostic.range.end()),
        },
        "fix_available": diagnostic.fix.is_some(),
        "fix": diagnostic.fix.as_ref().map(|fix| fix.title.clone()),
    })
}

fn count(diagnostics: &[Diagnostic], severity: Severity) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity == severity)
        .count()
}

pub fn validate(options: &Options, args: &ValidateArgs) -> ToolResult {
    let loaded = load(options)?;
    let playbook = playbook(options, &loaded, args.path.as_deref(), args.text.as_deref())?;
    let errors = count(&playbook.diagnostics, Severity::Error);
    let warnings = count(&playbook.diagnostics, Severity::Warning);
    Ok(json!({
        "playbook": playbook.display,
        "clean": playbook.diagnostics.is_empty(),
        "errors": errors,
        "warnings": warnings,
        "diagnostics": playbook
            .diagnostics
            .iter()
            .map(|d| diagnostic_json(&playbook.source, d))
            .collect::<Vec<_>>(),
    }))
}

pub fn docs(options: &Options, args: &DocsArgs) -> ToolResult {
    if args.write && args.path.is_none() {
        return Err(ToolError::new(
            "`write` needs `path`: the Markdown is written next to the playbook file",
        ));
    }
    let loaded = load(options)?;
    let playbook = playbook(options, &loaded, args.path.as_deref(), args.text.as_deref())?;
    let name = match (&args.name, &playbook.file) {
        (Some(name), _) => name.clone(),
        (None, Some(file)) => file
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default(),
        (None, None) => "playbook".into(),
    };
    let markdown = riposte_core::docs::render(&name, &playbook.source, &loaded.workspace)
        .map_err(|err| ToolError::new(format!("{}: {err}", playbook.display)))?;
    let written = match (&playbook.file, args.write) {
        (Some(file), true) => {
            let target = file.with_extension("md");
            // An existing `.md` may be a link; it must not lead the write out of the workspace.
            if let Ok(existing) = std::fs::canonicalize(&target)
                && !existing.starts_with(&options.root)
            {
                return Err(ToolError::new(format!(
                    "{} leads outside the workspace; not written",
                    shown(options, &target)
                )));
            }
            std::fs::write(&target, &markdown).map_err(|err| {
                ToolError::new(format!("cannot write {}: {err}", shown(options, &target)))
            })?;
            Some(shown(options, &target))
        }
        _ => None,
    };
    Ok(json!({ "markdown": markdown, "written": written }))
}

pub fn list_integrations(options: &Options) -> ToolResult {
    let loaded = load(options)?;
    // Profiles that do not parse are not in the workspace; say so, or the model would write a
    // second one.
    let problems: Vec<Value> = loaded
        .files
        .iter()
        .filter(|file| {
            file.path
                .starts_with(options.root.join(riposte_workspace::INTEGRATIONS_DIR))
        })
        .flat_map(|file| {
            file.diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| {
                    json!({
                        "path": shown(options, &file.path),
                        "code": d.rule.code(),
                        "message": d.message,
                        "line": file.source.position(d.range.start()).line,
                    })
                })
        })
        .collect();
    Ok(json!({
        "integrations": describe::integrations(&loaded.workspace),
        "problems": problems,
    }))
}

pub fn describe_integration(options: &Options, args: &DescribeIntegrationArgs) -> ToolResult {
    let loaded = load(options)?;
    match describe::integration(&loaded.workspace, &args.name) {
        Some(description) => Ok(serde_json::to_value(description).expect("serialises")),
        None => {
            let names: Vec<&str> = loaded.workspace.profile_names().collect();
            let known = if names.is_empty() {
                "the workspace has no integration profiles (integrations/<name>.toml)".to_string()
            } else {
                format!("the workspace has: {}", names.join(", "))
            };
            Err(ToolError::new(format!(
                "no integration profile named `{}`; {known}",
                args.name
            )))
        }
    }
}

pub fn alert_schema() -> ToolResult {
    Ok(serde_json::to_value(describe::alert_schema()).expect("serialises"))
}

pub async fn test(options: &Options, args: TestArgs) -> ToolResult {
    let dry_run = args.dry_run.unwrap_or(true);
    if !dry_run && options.real_runs == RealRuns::Refused {
        return Err(ToolError::new(
            "not allowed: a real run sends the requests that change data, comments and updates the alert, and this server was started without --allow-real-runs. Make a dry run (`dry_run: true`) and show its planned changes to the user; a person who wants real runs from this client restarts the server with `riposte mcp --allow-real-runs`",
        ));
    }
    let timeout = match args.timeout_secs {
        None => None,
        Some(secs) if secs > 0.0 && secs.is_finite() => Some(Duration::from_secs_f64(secs)),
        Some(secs) => {
            return Err(ToolError::new(format!(
                "`timeout_secs` {secs} is not a positive number of seconds"
            )));
        }
    };
    let playbook = resolve(options, &args.path)?;
    let alert = match (args.alert_path, args.alert, args.alert_id) {
        (Some(path), None, None) => AlertInput::File(resolve(options, &path)?),
        (None, Some(alert), None) => AlertInput::Json {
            text: match alert {
                Value::String(text) => text,
                other => other.to_string(),
            },
            label: "the alert given".into(),
        },
        (None, None, Some(id)) => AlertInput::Graph {
            profile: args.alert_source,
            id,
        },
        _ => {
            return Err(ToolError::new(
                "give exactly one of `alert_path` (a saved alert file), `alert` (the alert as JSON) and `alert_id` (fetched from Graph); `get_alert_schema` describes what a playbook sees",
            ));
        }
    };
    let loaded = load(options)?;
    let sender =
        IntegrationsSender::from_workspace(&loaded.workspace, Arc::clone(&options.secrets))
            .map_err(ToolError::new)?;
    let sender = Arc::new(sender);
    let request = RunRequest {
        display_path: Some(shown(options, &playbook)),
        playbook,
        source: None,
        workspace: Arc::new(loaded),
        alert,
        dry_run,
        timeout,
        sender: Arc::clone(&sender) as Arc<dyn riposte_runtime::RequestSender>,
        progress: None,
        cancel: None,
    };
    // The record is already redacted by the run; the whole answer passes through the redactor
    // once more because it goes to a model.
    match riposte_runtime::run_playbook(request).await {
        Ok(record) => {
            let text = serde_json::to_string(&record).expect("a run record serialises");
            serde_json::from_str(&sender.redact(&text))
                .map_err(|err| ToolError::new(format!("the run record could not be shown: {err}")))
        }
        Err(err) => Err(ToolError::new(
            sender.redact(&format!("the run did not start: {err}")),
        )),
    }
}

pub async fn save(options: &Options, args: &SaveArgs) -> ToolResult {
    let file = resolve(options, &args.path)?;
    let display = shown(options, &file);
    let name = match file.file_stem().and_then(|s| s.to_str()) {
        Some(stem) if file.extension().is_some_and(|e| e == "py") => stem.to_owned(),
        _ => {
            return Err(ToolError::new(format!(
                "{display} is not a Python playbook (`playbooks/<name>.py`)"
            )));
        }
    };
    let loaded = load(options)?;
    let url = options
        .engine
        .url
        .clone()
        .or_else(|| loaded.workspace.config.engine.url.clone())
        .filter(|url| !url.trim().is_empty())
        .ok_or_else(|| {
            ToolError::new(
                "not available: no engine is configured. Set RIPOSTE_ENGINE_URL (and RIPOSTE_ENGINE_TOKEN) in the server's environment or `[engine] url` in riposte.toml, with the engine running (`riposte serve`)",
            )
        })?;
    let bytes =
        riposte_workspace::read_bytes(&file).map_err(|err| ToolError::new(err.to_string()))?;
    let source = String::from_utf8(bytes)
        .map_err(|_| ToolError::new(format!("{display} is not valid UTF-8; save it as UTF-8")))?;
    // The engine generates the docs itself when these cannot be rendered (a syntax error).
    let docs =
        riposte_core::docs::render(&name, &SourceFile::new(source.as_str()), &loaded.workspace)
            .ok();
    let client = EngineClient::new(&EngineTarget::new(&url, options.engine.token.clone()))
        .map_err(|err| ToolError::new(err.to_string()))?;
    let saved = client
        .save_playbook(&name, &SavePlaybook { source, docs })
        .await
        .map_err(|err| ToolError::new(format!("{display} was not saved: {err}")))?;
    Ok(json!({
        "name": saved.name,
        "version": saved.summary.version,
        "active": saved.summary.active,
        "errors": saved.summary.errors,
        "warnings": saved.summary.warnings,
        "diagnostics": saved.diagnostics,
        "engine": client.url(),
        "note": "stored disabled: a person activates a version on the engine (`riposte deploy --activate` or the console) before rules can run it",
    }))
}
