//! The engine (`riposte serve`) from the editor: `riposte.save` and `riposte.deploy` store the
//! playbook in the engine, and the `riposte.engine.*` commands read what the extension's engine
//! views show (playbooks with versions, automation rules, runs, a run, an alert's activity) and
//! activate or deactivate a playbook. The HTTP is `riposte_engine_client`'s; this file picks the
//! engine and its token, validates before saving, and turns answers and errors into JSON.
//!
//! Which engine: the argument's `engineUrl` (the extension's `riposte.engine.url` setting), then
//! `RIPOSTE_ENGINE_URL` in the server's environment, then `[engine] url` in `riposte.toml`, then
//! `http://127.0.0.1:7878`. The token: `RIPOSTE_ENGINE_TOKEN` in the server's environment, else
//! `riposte/secret` `{"engine": URL, "field": "token"}` to the client (kept in its secret store),
//! else none (an engine on loopback without a token accepts that). The token is never logged and
//! never part of an answer.

use std::path::PathBuf;
use std::sync::Arc;

use riposte_core::{Severity, SourceFile, check_playbook};
use riposte_engine_client::client::{
    ClientError, DEFAULT_URL, EngineClient, EngineTarget, RunQuery, TOKEN_ENV, Token, URL_ENV,
};
use riposte_engine_client::wire::SavePlaybook;
use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::Uri;

use super::commands::{CLIENT_TIMEOUT, request_failed, uri_argument};
use super::test_run::ask_secret;
use crate::convert;
use crate::documents::Placement;
use crate::scheduler::blocking;
use crate::session::Session;

pub const PLAYBOOKS: &str = "riposte.engine.playbooks";
pub const RULES: &str = "riposte.engine.rules";
pub const RUNS: &str = "riposte.engine.runs";
pub const RUN: &str = "riposte.engine.run";
pub const ACTIVITY: &str = "riposte.engine.activity";
pub const ACTIVATE: &str = "riposte.engine.activate";
pub const DEACTIVATE: &str = "riposte.engine.deactivate";

/// The `riposte.engine.*` commands, advertised with the others.
pub const COMMANDS: &[&str] = &[PLAYBOOKS, RULES, RUNS, RUN, ACTIVITY, ACTIVATE, DEACTIVATE];

/// Whether a save also activates the version it stored.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Then {
    KeepDisabled,
    Activate,
}

/// `riposte.save {uri}` (`Then::KeepDisabled`) and `riposte.deploy {uri}` (`Then::Activate`).
pub async fn save(session: &Arc<Session>, argument: &Value, then: Then) -> Result<Value> {
    let uri = uri_argument(argument).ok_or_else(|| {
        Error::invalid_params(
            "riposte.save and riposte.deploy take the playbook: {\"uri\": \"file:///…/playbooks/x.py\", \"engineUrl\"?: \"http://…\"}",
        )
    })?;
    let prepared = {
        let session = Arc::clone(session);
        let uri = uri.clone();
        blocking("riposte.save", move || prepare(&session, &uri)).await??
    };
    let client = connect(session, argument, prepared.configured_url.as_deref()).await?;
    let name = prepared.name;
    let saved = client
        .save_playbook(&name, &prepared.body)
        .await
        .map_err(engine_error)?;
    let version = saved.summary.version;
    tracing::info!("saved {name} as version {version} on {}", client.url());
    let mut status = "disabled";
    if then == Then::Activate {
        client
            .activate(&name, version)
            .await
            .map_err(engine_error)?;
        status = "active";
        tracing::info!("activated {name} version {version} on {}", client.url());
    }
    let message = match then {
        Then::KeepDisabled => format!(
            "{name} is saved on {} as version {version}, disabled. Deploy/Activate turns it on.",
            client.url()
        ),
        Then::Activate => format!(
            "{name} version {version} is active on {}: the automation rules that name it run it on matching alerts.",
            client.url()
        ),
    };
    Ok(json!({
        "name": name,
        "version": version,
        "status": status,
        "engine": client.url(),
        "warnings": saved.summary.warnings,
        "message": message,
    }))
}

/// What a save sends, read and checked off the async runtime.
struct Prepared {
    name: String,
    body: SavePlaybook,
    configured_url: Option<String>,
}

fn prepare(session: &Session, uri: &Uri) -> Result<Prepared> {
    let placement = Placement::of(uri);
    let path: PathBuf = placement
        .path
        .clone()
        .ok_or_else(|| request_failed(format!("{} is not a file URI", uri.as_str())))?;
    let name = path
        .file_stem()
        .and_then(|stem| stem.to_str())
        .filter(|_| path.extension().is_some_and(|e| e == "py"))
        .ok_or_else(|| request_failed(format!("{} is not a Python playbook", path.display())))?
        .to_string();
    let snapshot = session.workspace(placement.root.as_deref());
    if let Some(error) = &snapshot.config_error {
        return Err(request_failed(format!(
            "riposte.toml has an error ({}); fix it before saving a playbook",
            error.message
        )));
    }
    // The open buffer when there is one (it may be ahead of the file); else the file.
    let source = match session.snapshot(uri) {
        Some(open) => (*open.source).clone(),
        None => {
            let bytes = riposte_workspace::read_bytes(&path)
                .map_err(|err| request_failed(err.to_string()))?;
            let (source, invalid) = SourceFile::from_bytes(&bytes);
            if invalid.is_some() || bytes.contains(&0) {
                return Err(request_failed(format!(
                    "{} is not UTF-8 text",
                    path.display()
                )));
            }
            source
        }
    };
    let diagnostics = check_playbook(&source, &snapshot.workspace);
    let errors: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    if !errors.is_empty() {
        let encoding = session.encoding();
        let listed: Vec<String> = errors
            .iter()
            .take(5)
            .map(|d| {
                let at = source.position(d.range.start());
                format!("line {} {}: {}", at.line, d.rule.code(), d.message)
            })
            .collect();
        return Err(Error {
            code: ErrorCode::ServerError(-32803),
            message: format!(
                "{name} is not saved: it has {} error{} (fix them first, the Problems view lists them): {}",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" },
                listed.join("; ")
            )
            .into(),
            data: Some(json!({
                "diagnostics": errors.iter().map(|d| json!({
                    "code": d.rule.code(),
                    "severity": d.severity.as_str(),
                    "message": d.message,
                    "range": convert::range(&source, d.range, encoding),
                })).collect::<Vec<_>>(),
            })),
        });
    }
    let docs = riposte_core::docs::render(&name, &source, &snapshot.workspace)
        .map_err(|error| request_failed(format!("{name}: {error}")))?;
    Ok(Prepared {
        name,
        body: SavePlaybook {
            source: source.text().to_string(),
            docs: Some(docs),
        },
        configured_url: snapshot.workspace.config.engine.url.clone(),
    })
}

/// The `riposte.engine.*` commands.
pub async fn execute(session: &Arc<Session>, command: &str, argument: &Value) -> Result<Value> {
    let configured = configured_url(session, argument);
    let client = connect(session, argument, configured.as_deref()).await?;
    let text = |key: &str| {
        argument
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let required = |key: &str, usage: &str| {
        text(key)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| Error::invalid_params(format!("{command} takes {usage}")))
    };
    let value = match command {
        PLAYBOOKS => {
            // With each playbook's versions: the view shows them under it.
            let list = client.list_playbooks().await.map_err(engine_error)?;
            let mut playbooks = Vec::with_capacity(list.playbooks.len());
            for summary in list.playbooks {
                let detail = client.playbook(&summary.name).await.map_err(engine_error)?;
                playbooks.push(detail);
            }
            json!({ "engine": client.url(), "playbooks": playbooks })
        }
        RULES => {
            let list = client.list_rules().await.map_err(engine_error)?;
            json!({ "engine": client.url(), "rules": list.rules })
        }
        RUNS => {
            let limit = argument
                .get("limit")
                .and_then(Value::as_u64)
                .map(|n| n.clamp(1, 1000) as u32);
            let query = RunQuery {
                limit: limit.or(Some(50)),
                state: text("state"),
                alert: text("alert"),
                playbook: text("playbook"),
            };
            let list = client.list_runs(&query).await.map_err(engine_error)?;
            json!({ "engine": client.url(), "runs": list.runs })
        }
        RUN => {
            let id = argument.get("id").and_then(Value::as_i64).ok_or_else(|| {
                Error::invalid_params(format!("{command} takes {{\"id\": <run id>}}"))
            })?;
            let run = client.run(id).await.map_err(engine_error)?;
            serde_json::to_value(run).map_err(|err| request_failed(err.to_string()))?
        }
        ACTIVITY => {
            let alert = required("alert", "{\"alert\": \"<alert id>\"}")?;
            let activity = client.activity(&alert).await.map_err(engine_error)?;
            serde_json::to_value(activity).map_err(|err| request_failed(err.to_string()))?
        }
        ACTIVATE => {
            let name = required("name", "{\"name\": \"<playbook>\", \"version\"?: N}")?;
            let version = match argument.get("version").and_then(Value::as_u64) {
                Some(v) => u32::try_from(v)
                    .map_err(|_| Error::invalid_params("version is out of range"))?,
                None => {
                    client
                        .playbook(&name)
                        .await
                        .map_err(engine_error)?
                        .summary
                        .latest_version
                }
            };
            let summary = client
                .activate(&name, version)
                .await
                .map_err(engine_error)?;
            json!({
                "name": name,
                "version": version,
                "status": "active",
                "summary": summary,
                "message": format!("{name} version {version} is active on {}", client.url()),
            })
        }
        DEACTIVATE => {
            let name = required("name", "{\"name\": \"<playbook>\"}")?;
            let summary = client.deactivate(&name).await.map_err(engine_error)?;
            json!({
                "name": name,
                "status": "inactive",
                "summary": summary,
                "message": format!("{name} is deactivated on {}: rules that name it queue nothing", client.url()),
            })
        }
        other => {
            return Err(Error::invalid_params(format!(
                "unknown engine command `{other}`"
            )));
        }
    };
    Ok(value)
}

/// `[engine] url` of the workspace the argument's `uri` is in, or of the first open workspace.
fn configured_url(session: &Session, argument: &Value) -> Option<String> {
    let root = uri_argument(argument)
        .and_then(|uri| Placement::of(&uri).root)
        .or_else(|| session.roots().into_iter().next());
    root.and_then(|root| {
        session
            .workspace(Some(&root))
            .workspace
            .config
            .engine
            .url
            .clone()
    })
}

/// The client for the engine the argument, the environment or `riposte.toml` names.
async fn connect(
    session: &Session,
    argument: &Value,
    configured: Option<&str>,
) -> Result<EngineClient> {
    let non_empty = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let url = non_empty(
        argument
            .get("engineUrl")
            .and_then(Value::as_str)
            .map(str::to_string),
    )
    .or_else(|| non_empty(std::env::var(URL_ENV).ok()))
    .or_else(|| non_empty(configured.map(str::to_string)))
    .unwrap_or_else(|| DEFAULT_URL.to_string());
    let mut target = EngineTarget::new(&url, None);
    target.token = match std::env::var(TOKEN_ENV).ok().and_then(Token::new) {
        Some(token) => Some(token),
        None => ask_token(session, &target.url).await,
    };
    EngineClient::new(&target).map_err(engine_error)
}

/// The engine's token from the editor's secret store (never a prompt), or `None`.
async fn ask_token(session: &Session, url: &str) -> Option<Token> {
    let params = json!({ "engine": url, "field": "token" });
    let token = ask_secret(session, params, "the engine token", CLIENT_TIMEOUT).await?;
    Token::new(token.expose().to_string())
}

/// An engine error as a JSON-RPC error: the client's words (which name the engine, the status and
/// the engine's own message), with the status, code and diagnostics as data for the extension.
fn engine_error(err: ClientError) -> Error {
    tracing::warn!("engine: {err}");
    Error {
        code: ErrorCode::ServerError(-32803),
        message: err.to_string().into(),
        data: Some(json!({
            "engineStatus": err.status(),
            "engineCode": err.code(),
            "diagnostics": err.diagnostics(),
        })),
    }
}
