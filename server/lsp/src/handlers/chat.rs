//! `riposte/chat/*`: the chat panel's requests (`docs/chat-protocol.md`). `status` says which
//! model a task would use and the day's token use; `start` resolves the model (settings, then
//! the environment; the key from the environment, else the editor's `riposte/secret`), gathers
//! the integration secrets the environment lacks from the editor's store, and starts the agent
//! on a task of its own, answering with the chat id at once; `cancel`, `setMode` and
//! `setAutoApprove` steer the running task. `riposte/lm/delta` feeds a `vscode-lm` turn.
//!
//! Log lines name methods and chat ids only: never a prompt, a setting, a secret or an answer.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;

use futures::FutureExt;
use riposte_agent::budget::{self, Budget};
use riposte_agent::provider::settings::{
    Front, ModelChoice, ModelError, ModelSettings, build_provider, choose_model,
};
use riposte_agent::provider::{ApiKey, Provider};
use riposte_agent::{
    AutoApprove, Event, Frontend, Mode, Outcome, TaskConfig, TaskLimits, run_task,
};
use riposte_runtime::secrets::{ChainSecrets, EnvSecrets, MapSecrets, SecretSource};
use serde::Deserialize;
use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::Uri;

use super::commands::CLIENT_TIMEOUT;
use super::commands::request_failed;
use super::test_run::{SECRET_TIMEOUT, ask_secret, secrets_wanted};
use crate::chat::Running;
use crate::chat::lm::EditorModels;
use crate::chat::relay::Relay;
use crate::scheduler::{blocking, panic_message};
use crate::session::Session;

pub const STATUS: &str = "riposte/chat/status";
pub const START: &str = "riposte/chat/start";
pub const CANCEL: &str = "riposte/chat/cancel";
pub const SET_MODE: &str = "riposte/chat/setMode";
pub const SET_AUTO_APPROVE: &str = "riposte/chat/setAutoApprove";
pub const LM_DELTA: &str = "riposte/lm/delta";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusParams {
    #[serde(default)]
    workspace: Option<String>,
    #[serde(default)]
    model: Option<ModelSettings>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartParams {
    #[serde(default)]
    workspace: Option<String>,
    prompt: String,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    auto_approve: Vec<String>,
    #[serde(default)]
    model: Option<ModelSettings>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelParams {
    chat_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetModeParams {
    chat_id: String,
    mode: Mode,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetAutoApproveParams {
    chat_id: String,
    auto_approve: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeltaParams {
    request_id: String,
    text: String,
}

/// `RequestFailed` with the protocol's `data.kind`.
fn chat_error(kind: &str, message: impl Into<String>) -> Error {
    let mut error = request_failed(message);
    error.data = Some(json!({ "kind": kind }));
    error
}

fn model_error(err: &ModelError) -> Error {
    chat_error(err.kind(), err.to_string())
}

/// The protocol's category list. `real_run` is allowed and means nothing: a real run is never
/// auto-approved (`AutoApprove::covers`).
fn auto_approve(categories: &[String]) -> Result<AutoApprove> {
    categories
        .iter()
        .map(|category| category.trim())
        .filter(|category| !category.eq_ignore_ascii_case("real_run"))
        .collect::<Vec<_>>()
        .join(",")
        .parse()
        .map_err(|err: riposte_agent::approval::UnknownCategory| {
            Error::invalid_params(err.to_string())
        })
}

/// The workspace root for a folder URI (or, for `null`, the first workspace folder that is in
/// a Riposte workspace).
fn workspace_root(session: &Session, workspace: Option<&str>) -> Result<PathBuf> {
    let folders = match workspace {
        Some(text) => {
            let uri: Uri = text
                .parse()
                .map_err(|_| Error::invalid_params(format!("`workspace` is not a URI: {text}")))?;
            let path = uri.to_file_path().ok_or_else(|| {
                chat_error(
                    "no_workspace",
                    format!("{text} is not a folder on this machine"),
                )
            })?;
            vec![path.into_owned()]
        }
        None => session.caps().workspace_folders,
    };
    folders
        .iter()
        .find_map(|folder| riposte_workspace::find_root(folder))
        .ok_or_else(|| {
            let looked: Vec<String> = folders.iter().map(|f| f.display().to_string()).collect();
            chat_error(
                "no_workspace",
                if looked.is_empty() {
                    "the editor has no folder open: open the folder with riposte.toml".to_string()
                } else {
                    format!("no riposte.toml at or above {}", looked.join(", "))
                },
            )
        })
}

pub async fn status(session: &Arc<Session>, params: Option<StatusParams>) -> Result<Value> {
    let params = params.unwrap_or_default();
    let settings = params.model.clone().unwrap_or_default();
    let (model, no_model) = match choose_model(&settings, Front::Editor) {
        Ok(choice) => (
            json!({
                "provider": choice.provider_name(),
                "model": choice.model(),
                "baseUrl": choice.base_url(),
                "source": choice.source(),
                "keyNeeded": choice.key_needed(),
            }),
            Value::Null,
        ),
        Err(err) => (Value::Null, Value::String(err.to_string())),
    };
    let usage = match workspace_root(session, params.workspace.as_deref()) {
        Ok(root) => {
            let session = Arc::clone(session);
            blocking(STATUS, move || {
                let limit = session
                    .workspace(Some(&root))
                    .workspace
                    .config
                    .limits
                    .llm_tokens_per_day;
                match Budget::new(&root, limit).used(&budget::today()) {
                    Ok(day) => json!({ "today": day.total(), "dailyBudget": limit }),
                    Err(err) => {
                        json!({ "today": null, "dailyBudget": limit, "error": err.to_string() })
                    }
                }
            })
            .await?
        }
        Err(_) => Value::Null,
    };
    Ok(json!({
        "model": model,
        "noModel": no_model,
        "running": session.chat.running_id(),
        "usage": usage,
    }))
}

pub async fn start(session: &Arc<Session>, params: StartParams) -> Result<Value> {
    if params.prompt.trim().is_empty() {
        return Err(chat_error(
            "empty_prompt",
            "the prompt is empty: say what the playbook should do",
        ));
    }
    let auto_approve = auto_approve(&params.auto_approve)?;
    let reservation = session.chat.reserve().map_err(|running| {
        chat_error(
            "running",
            format!("a task is running ({running}): cancel it before starting another"),
        )
    })?;
    let chat_id = reservation.chat_id().to_string();
    let (provider, config) = prepare(session, &chat_id, &params, auto_approve).await?;
    let running = reservation.keep();
    tracing::info!("{START}: {chat_id} started");
    tokio::spawn(run(
        Arc::clone(session),
        running,
        provider,
        config,
        params.prompt,
    ));
    Ok(json!({ "chatId": chat_id }))
}

/// The model, the key and the task's configuration, or the error `start` answers.
async fn prepare(
    session: &Arc<Session>,
    chat_id: &str,
    params: &StartParams,
    auto_approve: AutoApprove,
) -> Result<(Arc<dyn Provider>, TaskConfig)> {
    let root = workspace_root(session, params.workspace.as_deref())?;
    let settings = params.model.clone().unwrap_or_default();
    let choice = choose_model(&settings, Front::Editor).map_err(|err| model_error(&err))?;
    let (provider, key): (Arc<dyn Provider>, Option<ApiKey>) = match &choice {
        ModelChoice::Http { config, .. } => {
            let key = match choice.env_key() {
                Ok(key) => key,
                Err(missing) => {
                    let params = json!({ "llm": choice.provider_name(), "field": "api_key" });
                    let what = format!("the model key of {chat_id}");
                    match ask_secret(session, params, &what, SECRET_TIMEOUT).await {
                        Some(value) => Some(ApiKey::new(value.expose())),
                        None => return Err(model_error(&missing)),
                    }
                }
            };
            let provider = build_provider(config, key.as_ref()).map_err(|err| model_error(&err))?;
            (provider, key)
        }
        ModelChoice::Editor { model, .. } => (
            Arc::new(EditorModels {
                client: session.client.clone(),
                chat_id: chat_id.to_string(),
                model: model.clone(),
                streams: Arc::clone(&session.chat.lm),
            }),
            None,
        ),
    };
    let secrets = integration_secrets(session, chat_id, &root).await?;
    let model = match choice.model() {
        "" => "the editor's first model".to_string(),
        name => name.to_string(),
    };
    let mode = params.mode.unwrap_or(Mode::Plan);
    let config = blocking(START, move || {
        TaskConfig::for_workspace(
            &root,
            &model,
            mode,
            auto_approve,
            TaskLimits::default(),
            secrets,
            key.as_ref(),
        )
    })
    .await?
    .map_err(|err| request_failed(format!("{err:#}")))?;
    Ok((provider, config))
}

/// The environment's secrets, then the editor's store (asked once per required field the
/// environment lacks, with `"ask": false`: the person is not prompted).
async fn integration_secrets(
    session: &Arc<Session>,
    chat_id: &str,
    root: &std::path::Path,
) -> Result<Arc<dyn SecretSource>> {
    let env = Arc::new(EnvSecrets::from_process_env());
    let wanted = {
        let session = Arc::clone(session);
        let env = Arc::clone(&env);
        let root = root.to_path_buf();
        blocking(START, move || {
            let snapshot = session.workspace(Some(&root));
            secrets_wanted(snapshot.workspace.profiles(), env.as_ref())
        })
        .await?
    };
    let editor = Arc::new(MapSecrets::new());
    for (profile, field) in wanted {
        let params = json!({ "profile": profile, "field": field, "ask": false });
        let what = format!("an integration secret of {chat_id}");
        if let Some(value) = ask_secret(session, params, &what, CLIENT_TIMEOUT).await {
            editor.set(profile, field, value);
        }
    }
    Ok(Arc::new(ChainSecrets::new(vec![env, editor])))
}

/// The task itself, on a tokio task of its own: the LSP loop goes on answering meanwhile.
async fn run(
    session: Arc<Session>,
    running: Running,
    provider: Arc<dyn Provider>,
    config: TaskConfig,
    prompt: String,
) {
    let Running { chat_id, controls } = running;
    let (relay, forwarder) = Relay::start(
        session.client.clone(),
        chat_id.clone(),
        controls.cancel.clone(),
        config.scrubber.clone(),
    );
    let task = run_task(provider.as_ref(), &relay, config, &prompt, &controls);
    let outcome = match AssertUnwindSafe(task).catch_unwind().await {
        Ok(report) => report.outcome.as_str(),
        Err(panic) => {
            tracing::error!("{chat_id} panicked: {}", panic_message(&panic));
            relay.event(&Event::Error {
                message: "the task stopped on an internal error (see the language server's log)"
                    .into(),
            });
            relay.event(&Event::Finished {
                outcome: Outcome::ProblemsLeft,
                message: "internal error".into(),
            });
            "internal error"
        }
    };
    // Free the slot first: a panel that starts again on `finished` must not be told one runs.
    session.chat.release(&chat_id);
    drop(relay);
    forwarder.finish().await;
    tracing::info!("{chat_id} ended: {outcome}");
}

pub async fn cancel(session: &Arc<Session>, params: CancelParams) -> Result<Value> {
    tracing::info!("{CANCEL}: {}", params.chat_id);
    if let Some(controls) = session.chat.controls(&params.chat_id) {
        controls.cancel.cancel();
    }
    Ok(Value::Null)
}

pub async fn set_mode(session: &Arc<Session>, params: SetModeParams) -> Result<Value> {
    tracing::info!("{SET_MODE}: {}", params.chat_id);
    if let Some(controls) = session.chat.controls(&params.chat_id) {
        controls.set_mode(params.mode);
    }
    Ok(Value::Null)
}

pub async fn set_auto_approve(
    session: &Arc<Session>,
    params: SetAutoApproveParams,
) -> Result<Value> {
    tracing::info!("{SET_AUTO_APPROVE}: {}", params.chat_id);
    let auto_approve = auto_approve(&params.auto_approve)?;
    if let Some(controls) = session.chat.controls(&params.chat_id) {
        controls.set_auto_approve(auto_approve);
    }
    Ok(Value::Null)
}

pub fn lm_delta(session: &Session, params: DeltaParams) {
    session.chat.lm.delta(&params.request_id, params.text);
}
