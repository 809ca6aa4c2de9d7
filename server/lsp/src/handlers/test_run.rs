//! `riposte.test {uri, alert, dryRun}`: runs a playbook on an alert through `riposte_runtime` and
//! answers its run record. This file only wires the editor to the runtime: it reads the arguments,
//! gathers the secrets the playbook's profiles need (environment first, then the client's
//! `riposte/secret`), runs, and reports progress. Everything a run decides is the runtime's.
//!
//! A real run happens only when the arguments say `"dryRun": false`; anything else is a dry run.
//! Secret values go into a [`MapSecrets`] and nowhere else: they are never logged, and the record
//! the runtime hands back has already passed its redactor.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use riposte_core::formats::profile::secret_env_var;
use riposte_core::workspace::ProfileEntry;
use riposte_runtime::secrets::{ChainSecrets, EnvSecrets, MapSecrets, SecretSource, SecretString};
use riposte_runtime::{
    AlertInput, Cancel, DEFAULT_GRAPH_PROFILE, IntegrationsSender, Progress, ProgressSink,
    RunRequest,
};
use riposte_workspace::LoadedWorkspace;
use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::{ProgressToken, Uri};

use super::commands::{request_failed, uri_argument};
use crate::documents::Placement;
use crate::scheduler::blocking;
use crate::session::Session;

/// How long the client may take to answer `riposte/secret`. Longer than other requests to the
/// client: when nothing is stored, the editor asks the person, who has to type the secret.
pub const SECRET_TIMEOUT: Duration = Duration::from_secs(120);

/// `riposte/secret`: the server asks the editor for one secret field of a profile.
enum SecretRequest {}

impl tower_lsp_server::ls_types::request::Request for SecretRequest {
    type Params = Value;
    /// Read as a `Value` (not a typed answer): a deserialisation error would quote the value.
    type Result = Value;
    const METHOD: &'static str = "riposte/secret";
}

const USAGE: &str = "riposte.test takes {\"uri\": \"file:///…/playbooks/x.py\", \"alert\": {\"kind\": \"file\", \"path\": \"alerts/a.json\"} or {\"kind\": \"id\", \"id\": \"…\", \"source\": \"Microsoft Graph\"}, \"dryRun\": true}";

/// What the arguments ask for.
struct TestArgs {
    uri: Uri,
    alert: AlertArg,
    dry_run: bool,
}

enum AlertArg {
    File(String),
    Id { id: String, source: Option<String> },
}

fn parse(argument: &Value) -> Result<TestArgs> {
    let uri = uri_argument(argument).ok_or_else(|| Error::invalid_params(USAGE))?;
    let alert = match argument.get("alert") {
        Some(Value::String(path)) => AlertArg::File(path.clone()),
        Some(alert) => match alert.get("kind").and_then(Value::as_str) {
            Some("file") => AlertArg::File(
                alert
                    .get("path")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Error::invalid_params(USAGE))?
                    .to_string(),
            ),
            Some("id") => AlertArg::Id {
                id: alert
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .ok_or_else(|| Error::invalid_params(USAGE))?
                    .to_string(),
                source: alert
                    .get("source")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            },
            _ => return Err(Error::invalid_params(USAGE)),
        },
        None => return Err(Error::invalid_params(USAGE)),
    };
    // Only an explicit `false` makes a real run.
    let dry_run = argument.get("dryRun").and_then(Value::as_bool) != Some(false);
    Ok(TestArgs {
        uri,
        alert,
        dry_run,
    })
}

/// Everything read from disk and the session before the run.
struct Prepared {
    playbook: PathBuf,
    source: Option<String>,
    workspace: Arc<LoadedWorkspace>,
    alert: AlertInput,
    /// `(profile, field)` of every required secret the environment does not hold.
    wanted: Vec<(String, String)>,
}

pub async fn test(
    session: &Arc<Session>,
    argument: &Value,
    progress_token: Option<ProgressToken>,
) -> Result<Value> {
    let args = parse(argument)?;
    let env = Arc::new(EnvSecrets::from_process_env());
    let prepared = {
        let session = Arc::clone(session);
        let env = Arc::clone(&env);
        let uri = args.uri.clone();
        let alert = args.alert;
        blocking("riposte.test", move || prepare(&session, &uri, alert, &env)).await??
    };

    // Ask the editor for what the environment lacks; `null` leaves it missing, and the runtime
    // then refuses to start with a message naming the profile, the field and the variable.
    let editor = Arc::new(MapSecrets::new());
    for (profile, field) in &prepared.wanted {
        let params = json!({ "profile": profile, "field": field });
        let what = format!(
            "`{field}` for `{profile}` ({} is unset)",
            secret_env_var(profile, field)
        );
        if let Some(value) = ask_secret(session, params, &what, SECRET_TIMEOUT).await {
            editor.set(profile.clone(), field.clone(), value);
        }
    }
    let secrets: Arc<dyn SecretSource> = Arc::new(ChainSecrets::new(vec![env, editor]));
    let sender = IntegrationsSender::from_workspace(&prepared.workspace.workspace, secrets)
        .map_err(request_failed)?;

    let name = prepared
        .playbook
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (progress, reporter) = progress_reporter(session, progress_token, &name, args.dry_run);
    let cancel = Cancel::new();
    // The handler's future is dropped when the client cancels the request: the run ends with it.
    let _cancel_on_drop = CancelOnDrop(cancel.clone());
    let request = RunRequest {
        playbook: prepared.playbook,
        source: prepared.source,
        display_path: None,
        workspace: prepared.workspace,
        alert: prepared.alert,
        dry_run: args.dry_run,
        timeout: None,
        sender: Arc::new(sender),
        progress,
        cancel: Some(cancel),
    };
    tracing::info!(
        "riposte.test: {} run of {name}",
        if args.dry_run { "dry" } else { "real" }
    );
    // On a worker thread of the multi-threaded runtime, not the blocking pool: the child is tied
    // to the thread that starts it (PR_SET_PDEATHSIG), and worker threads live as long as the
    // server, while idle blocking-pool threads are retired.
    let outcome = tokio::spawn(riposte_runtime::run_playbook(request)).await;
    if let Some(reporter) = reporter {
        // The run dropped its progress sink: the reporter sends `end` and stops.
        let _ = reporter.await;
    }
    let record = outcome
        .map_err(|err| request_failed(format!("the run ended unexpectedly: {err}")))?
        .map_err(|err| request_failed(err.to_string()))?;
    tracing::info!("riposte.test: {name} {}", record.status);
    serde_json::to_value(&record)
        .map_err(|err| request_failed(format!("cannot serialise the run record: {err}")))
}

/// `$/progress` on the token the client gave with the request (none: no progress). The runtime
/// calls the sink from a task about five times a second; the latest snapshot is reported.
fn progress_reporter(
    session: &Session,
    token: Option<ProgressToken>,
    name: &str,
    dry_run: bool,
) -> (Option<ProgressSink>, Option<tokio::task::JoinHandle<()>>) {
    let Some(token) = token else {
        return (None, None);
    };
    let client = session.client.clone();
    let title = format!("{} of {name}", if dry_run { "Dry run" } else { "Run" });
    let (sender, mut receiver) = tokio::sync::watch::channel(String::new());
    let task = tokio::spawn(async move {
        let ongoing = client.progress(token, title).begin().await;
        while receiver.changed().await.is_ok() {
            let message = receiver.borrow_and_update().clone();
            ongoing.report(message).await;
        }
        ongoing.finish().await;
    });
    let sink: ProgressSink = Arc::new(move |progress: &Progress| {
        sender.send_replace(describe(progress));
    });
    (Some(sink), Some(task))
}

fn describe(progress: &Progress) -> String {
    let mut text = format!("{:.1} s", progress.elapsed.as_secs_f64());
    if progress.requests > 0 {
        text.push_str(&format!(
            ", {} request{}",
            progress.requests,
            if progress.requests == 1 { "" } else { "s" }
        ));
        if progress.planned > 0 {
            text.push_str(&format!(" ({} planned)", progress.planned));
        }
    }
    if let Some(step) = &progress.step {
        text.push_str(&format!(", step: {step}"));
    }
    text
}

struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

fn prepare(session: &Session, uri: &Uri, alert: AlertArg, env: &EnvSecrets) -> Result<Prepared> {
    let placement = Placement::of(uri);
    let playbook = placement
        .path
        .clone()
        .ok_or_else(|| request_failed(format!("{} is not a file URI", uri.as_str())))?;
    if playbook.extension().is_none_or(|e| e != "py") {
        return Err(request_failed(format!(
            "{} is not a Python playbook",
            playbook.display()
        )));
    }
    let root = placement.root.clone().ok_or_else(|| {
        request_failed(format!(
            "no Riposte workspace (riposte.toml) at or above {}",
            playbook.display()
        ))
    })?;
    let snapshot = session.workspace(Some(&root));
    if let Some(error) = &snapshot.load_error {
        return Err(request_failed(format!(
            "cannot read the workspace {}: {error}",
            root.display()
        )));
    }
    if let Some(error) = &snapshot.config_error {
        return Err(request_failed(format!(
            "riposte.toml has an error ({}); fix it before running a playbook",
            error.message
        )));
    }

    // The open buffer when there is one (it may be ahead of the file); else the file.
    let source = session
        .snapshot(uri)
        .map(|open| open.source.text().to_string());
    let text = match &source {
        Some(text) => text.clone(),
        None => riposte_workspace::read_bytes(&playbook)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .map_err(|err| request_failed(err.to_string()))?,
    };

    let workspace = &snapshot.workspace;
    let mut profiles = riposte_runtime::profiles_used(&text, workspace);
    let alert = match alert {
        AlertArg::File(path) => {
            let path = Path::new(&path);
            AlertInput::File(if path.is_absolute() {
                path.to_path_buf()
            } else {
                root.join(path)
            })
        }
        AlertArg::Id { id, source } => {
            let through = source
                .clone()
                .unwrap_or_else(|| DEFAULT_GRAPH_PROFILE.to_string());
            if !profiles.contains(&through) {
                profiles.push(through);
            }
            AlertInput::Graph {
                profile: source,
                id,
            }
        }
    };
    // An unknown profile is left out: the runtime names it itself.
    let wanted = secrets_wanted(
        profiles.iter().filter_map(|name| workspace.profile(name)),
        env,
    );
    let loaded = LoadedWorkspace {
        root,
        has_config: true,
        workspace: workspace.clone(),
        files: snapshot.files.clone(),
        playbooks: snapshot.playbooks.clone(),
    };
    Ok(Prepared {
        playbook,
        source,
        workspace: Arc::new(loaded),
        alert,
        wanted,
    })
}

/// The required secret fields of `profiles` that `env` does not hold, as (profile, field): what
/// the server asks the editor for.
pub(super) fn secrets_wanted<'a>(
    profiles: impl Iterator<Item = &'a ProfileEntry>,
    env: &dyn SecretSource,
) -> Vec<(String, String)> {
    let mut wanted = Vec::new();
    for entry in profiles {
        let name = &entry.profile.name;
        for field in entry.profile.auth.secret_fields() {
            if field.required && env.secret(name, field.name).is_none() {
                wanted.push((name.clone(), field.name.to_string()));
            }
        }
    }
    wanted
}

/// One secret from the editor: `params` says which (`{"profile", "field"}` for a profile's field,
/// with `"ask": false` to answer from the store only; `{"llm", "field"}` for a model key;
/// `{"engine", "field": "token"}` for the engine's token).
/// `None` when declined, not answered `within`, or not a string. Neither the value nor the answer
/// is ever logged; `what` names the secret in log lines (never a value). `within` is
/// [`SECRET_TIMEOUT`] when the editor may ask the person, [`CLIENT_TIMEOUT`] when it answers from
/// its store.
///
/// [`CLIENT_TIMEOUT`]: super::commands::CLIENT_TIMEOUT
pub async fn ask_secret(
    session: &Session,
    params: Value,
    what: &str,
    within: Duration,
) -> Option<SecretString> {
    let answer =
        tokio::time::timeout(within, session.client.send_request::<SecretRequest>(params)).await;
    match answer {
        Ok(Ok(answer)) => {
            let value = answer.get("value").and_then(Value::as_str).unwrap_or("");
            if value.is_empty() {
                tracing::info!("riposte/secret: the editor has no value for {what}");
                None
            } else {
                Some(SecretString::new(value))
            }
        }
        Ok(Err(_)) => {
            tracing::warn!("riposte/secret for {what} failed in the client");
            None
        }
        Err(_) => {
            tracing::warn!(
                "the client did not answer riposte/secret for {what} within {} s",
                within.as_secs()
            );
            None
        }
    }
}
