//! The HTTP API (`docs/engine-api.md`): routes, bearer-token roles, body limits and the one error
//! shape. Handlers only translate between HTTP and `Engine`/`Store` calls.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json};
use futures_util::StreamExt as _;
use riposte_engine_client::wire::{
    ActivityList, AlertList, Health, IntakeResponse, PlaybookList, ProfileList, Role, RuleList,
    RunList, SavePlaybook, SaveProfile, SaveRule, WhoAmI,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::engine::{DEFAULT_WORKSPACE, Engine, check_name, check_profile_name};
use crate::error::EngineError;
use crate::store::RunFilter;

/// The largest request body accepted unless configured otherwise.
pub const DEFAULT_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// The bearer tokens the API accepts. Without an admin token every request is admin (the engine
/// only starts that way on a loopback address).
#[derive(Clone, Default)]
pub struct Tokens {
    pub admin: Option<String>,
    pub read: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("admin", &self.admin.as_ref().map(|_| "[REDACTED]"))
            .field("read", &self.read.as_ref().map(|_| "[REDACTED]"))
            .finish()
    }
}

impl Tokens {
    fn role(&self, presented: Option<&str>) -> Result<Role, EngineError> {
        let Some(admin) = &self.admin else {
            return Ok(Role::Admin);
        };
        let Some(presented) = presented else {
            return Err(EngineError::Unauthorized(
                "this endpoint needs `Authorization: Bearer <token>` (the engine's admin or read token)".into(),
            ));
        };
        let same = |known: &str| bool::from(known.as_bytes().ct_eq(presented.as_bytes()));
        if same(admin) {
            return Ok(Role::Admin);
        }
        if self.read.as_deref().is_some_and(same) {
            return Ok(Role::Read);
        }
        Err(EngineError::Unauthorized(
            "the bearer token is not one this engine accepts".into(),
        ))
    }
}

#[derive(Clone)]
struct AppState {
    engine: Arc<Engine>,
    tokens: Arc<Tokens>,
    body_limit: usize,
}

/// An [`EngineError`] as an HTTP response.
pub struct Failure(EngineError);

impl From<EngineError> for Failure {
    fn from(err: EngineError) -> Self {
        Failure(err)
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(err: crate::store::StoreError) -> Self {
        Failure(err.into())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::warn!(code = self.0.code(), "request failed: {}", self.0);
        }
        (status, Json(self.0.body())).into_response()
    }
}

type Answer<T> = Result<T, Failure>;

/// The API and the console.
pub fn router(engine: Arc<Engine>, tokens: Tokens, body_limit: usize) -> Router {
    let state = AppState {
        engine,
        tokens: Arc::new(tokens),
        body_limit,
    };
    let api = Router::new()
        .route("/api/whoami", get(whoami))
        .route("/api/playbooks", get(list_playbooks))
        .route(
            "/api/playbooks/{name}",
            get(get_playbook).put(save_playbook).delete(delete_playbook),
        )
        .route("/api/playbooks/{name}/versions/{version}", get(get_version))
        .route(
            "/api/playbooks/{name}/versions/{version}/activate",
            post(activate),
        )
        .route("/api/playbooks/{name}/deactivate", post(deactivate))
        .route("/api/rules", get(list_rules))
        .route(
            "/api/rules/{name}",
            get(get_rule).put(save_rule).delete(delete_rule),
        )
        .route("/api/rules/{name}/enable", post(enable_rule))
        .route("/api/rules/{name}/disable", post(disable_rule))
        .route("/api/profiles", get(list_profiles))
        .route(
            "/api/profiles/{name}",
            get(get_profile).put(save_profile).delete(delete_profile),
        )
        .route("/api/alerts", get(list_alerts).post(post_alerts))
        .route("/api/alerts/{id}", get(get_alert))
        .route("/api/alerts/{id}/activity", get(get_activity))
        .route("/api/runs", get(list_runs))
        .route("/api/runs/{id}", get(get_run))
        .fallback(api_not_found)
        .layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .route("/api/health", get(health))
        .merge(crate::console::routes())
        .merge(api)
        .fallback(not_found)
        // Bodies without a length are cut at the limit while read; declared lengths are refused
        // before reading (`limit_declared`).
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limit_declared,
        ))
        .with_state(state)
}

async fn limit_declared(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = declared
        && length > state.body_limit as u64
    {
        // Read (and drop) what the client sends, up to a cap: a client that writes its whole
        // body before reading the answer would otherwise see a broken pipe, not the 413.
        if length <= DRAIN_CAP {
            let mut stream = request.into_body().into_data_stream();
            let mut drained = 0u64;
            while let Some(Ok(chunk)) = stream.next().await {
                drained += chunk.len() as u64;
                if drained > DRAIN_CAP {
                    break;
                }
            }
        }
        return Failure(too_large(state.body_limit)).into_response();
    }
    next.run(request).await
}

/// The most of a refused body the engine reads before answering 413.
const DRAIN_CAP: u64 = 128 * 1024 * 1024;

fn too_large(limit: usize) -> EngineError {
    EngineError::TooLarge(format!(
        "the request body is larger than the {} MiB the engine accepts",
        limit / (1024 * 1024)
    ))
}

async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let presented = bearer(request.headers());
    let role = match state.tokens.role(presented.as_deref()) {
        Ok(role) => role,
        Err(err) => {
            let mut response = Failure(err).into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            return response;
        }
    };
    if role == Role::Read && !matches!(*request.method(), Method::GET | Method::HEAD) {
        return Failure(EngineError::Forbidden(
            "the read-only token may only read: use the admin token to change anything".into(),
        ))
        .into_response();
    }
    request.extensions_mut().insert(role);
    next.run(request).await
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

async fn api_not_found(method: Method, uri: axum::http::Uri) -> Failure {
    Failure(EngineError::NotFound(format!(
        "no endpoint {method} {}: see docs/engine-api.md",
        uri.path()
    )))
}

async fn not_found(uri: axum::http::Uri) -> Failure {
    Failure(EngineError::NotFound(format!(
        "nothing at {}: the API is under /api, the console at /console",
        uri.path()
    )))
}

fn body_bytes(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, EngineError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(limit)
        } else {
            EngineError::BadRequest(format!("cannot read the request body: {rejection}"))
        }
    })
}

/// Parses a JSON body, saying where it went wrong.
fn json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, EngineError> {
    serde_json::from_slice(bytes).map_err(|err| {
        EngineError::BadRequest(format!(
            "the body is not the JSON this endpoint takes: {err}"
        ))
    })
}

/// Parses a JSON body that may hold secrets: the message gives the position only, never the
/// parser's words (which can quote a value).
fn json_quiet<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, EngineError> {
    serde_json::from_slice(bytes).map_err(|err| {
        EngineError::BadRequest(format!(
            "the body is not the JSON this endpoint takes (line {}, column {}): expected {{\"toml\": \"...\", \"secrets\": {{\"field\": \"value\"}}}}",
            err.line(),
            err.column()
        ))
    })
}

fn name(kind: &str, name: &str) -> Result<(), Failure> {
    check_name(kind, name).map_err(Failure)
}

fn number<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, Failure> {
    text.parse().map_err(|_| {
        Failure(EngineError::BadRequest(format!(
            "`{}` is not a {what} number",
            text.chars().take(40).collect::<String>()
        )))
    })
}

// ---------------------------------------------------------------------------------------------

async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        store: state.engine.store.dialect().as_str().into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

async fn whoami(Extension(role): Extension<Role>) -> Json<WhoAmI> {
    Json(WhoAmI { role })
}

async fn list_playbooks(State(state): State<AppState>) -> Answer<Json<PlaybookList>> {
    Ok(Json(PlaybookList {
        playbooks: state.engine.store.list_playbooks().await?,
    }))
}

async fn get_playbook(
    State(state): State<AppState>,
    Path(playbook): Path<String>,
) -> Answer<Response> {
    let detail = state
        .engine
        .store
        .playbook_detail(&playbook)
        .await?
        .ok_or_else(|| EngineError::NotFound(format!("no playbook `{playbook}`")))?;
    Ok(Json(detail).into_response())
}

async fn save_playbook(
    State(state): State<AppState>,
    Path(playbook): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer<Response> {
    name("playbook", &playbook)?;
    let bytes = body_bytes(body, state.body_limit)?;
    let request: SavePlaybook = json(&bytes)?;
    let version = state.engine.save_playbook(&playbook, request).await?;
    Ok((StatusCode::CREATED, Json(version)).into_response())
}

async fn delete_playbook(
    State(state): State<AppState>,
    Path(playbook): Path<String>,
) -> Answer<StatusCode> {
    state.engine.store.delete_playbook(&playbook).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_version(
    State(state): State<AppState>,
    Path((playbook, version)): Path<(String, String)>,
) -> Answer<Response> {
    let version: u32 = number("version", &version)?;
    let found = state
        .engine
        .store
        .playbook_version(&playbook, version)
        .await?
        .ok_or_else(|| {
            EngineError::NotFound(format!("no version {version} of playbook `{playbook}`"))
        })?;
    Ok(Json(found).into_response())
}

async fn activate(
    State(state): State<AppState>,
    Path((playbook, version)): Path<(String, String)>,
) -> Answer<Response> {
    let version: u32 = number("version", &version)?;
    let summary = state.engine.activate(&playbook, version).await?;
    Ok(Json(summary).into_response())
}

async fn deactivate(
    State(state): State<AppState>,
    Path(playbook): Path<String>,
) -> Answer<Response> {
    Ok(Json(state.engine.store.deactivate(&playbook).await?).into_response())
}

async fn list_rules(State(state): State<AppState>) -> Answer<Json<RuleList>> {
    Ok(Json(RuleList {
        rules: state.engine.store.list_rules().await?,
    }))
}

async fn get_rule(State(state): State<AppState>, Path(rule): Path<String>) -> Answer<Response> {
    let found = state
        .engine
        .store
        .rule(&rule)
        .await?
        .ok_or_else(|| EngineError::NotFound(format!("no rule `{rule}`")))?;
    Ok(Json(found).into_response())
}

async fn save_rule(
    State(state): State<AppState>,
    Path(rule): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer<Response> {
    name("rule", &rule)?;
    let bytes = body_bytes(body, state.body_limit)?;
    let request: SaveRule = json(&bytes)?;
    Ok(Json(state.engine.save_rule(&rule, request).await?).into_response())
}

async fn delete_rule(
    State(state): State<AppState>,
    Path(rule): Path<String>,
) -> Answer<StatusCode> {
    state.engine.store.delete_rule(&rule).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn enable_rule(State(state): State<AppState>, Path(rule): Path<String>) -> Answer<Response> {
    Ok(Json(state.engine.set_rule_enabled(&rule, true).await?).into_response())
}

async fn disable_rule(State(state): State<AppState>, Path(rule): Path<String>) -> Answer<Response> {
    Ok(Json(state.engine.set_rule_enabled(&rule, false).await?).into_response())
}

async fn list_profiles(State(state): State<AppState>) -> Answer<Json<ProfileList>> {
    Ok(Json(ProfileList {
        profiles: state.engine.list_profiles().await?,
    }))
}

async fn get_profile(
    State(state): State<AppState>,
    Path(profile): Path<String>,
) -> Answer<Response> {
    Ok(Json(state.engine.profile(&profile).await?).into_response())
}

async fn save_profile(
    State(state): State<AppState>,
    Path(profile): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer<Response> {
    check_profile_name(&profile).map_err(Failure)?;
    let bytes = body_bytes(body, state.body_limit)?;
    let request: SaveProfile = json_quiet(&bytes)?;
    Ok(Json(state.engine.save_profile(&profile, request).await?).into_response())
}

async fn delete_profile(
    State(state): State<AppState>,
    Path(profile): Path<String>,
) -> Answer<StatusCode> {
    state.engine.store.delete_profile(&profile).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct IntakeQuery {
    workspace: Option<String>,
}

async fn post_alerts(
    State(state): State<AppState>,
    query: Result<Query<IntakeQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Answer<Json<IntakeResponse>> {
    let Query(query) = query.map_err(|err| EngineError::BadRequest(err.body_text()))?;
    let workspace = query
        .workspace
        .unwrap_or_else(|| DEFAULT_WORKSPACE.to_string());
    name("workspace", &workspace)?;
    let bytes = body_bytes(body, state.body_limit)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        EngineError::InvalidAlert("the body is not UTF-8 text: send the alert as JSON".into())
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: serde_json::Value = serde_json::from_str(text).map_err(|err| {
        EngineError::InvalidAlert(format!(
            "the body is not valid JSON (line {}, column {}): send one alert object or an array of them",
            err.line(),
            err.column()
        ))
    })?;
    let results = state.engine.intake(value, &workspace).await?;
    Ok(Json(IntakeResponse { results }))
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<i64>,
    state: Option<String>,
    alert: Option<String>,
    playbook: Option<String>,
}

fn limit(query: &ListQuery) -> i64 {
    query.limit.unwrap_or(100).clamp(1, 1000)
}

async fn list_alerts(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Answer<Json<AlertList>> {
    let Query(query) = query.map_err(|err| EngineError::BadRequest(err.body_text()))?;
    Ok(Json(AlertList {
        alerts: state.engine.store.list_alerts(limit(&query)).await?,
    }))
}

async fn get_alert(State(state): State<AppState>, Path(id): Path<String>) -> Answer<Response> {
    let found = state
        .engine
        .store
        .alert(&id)
        .await?
        .ok_or_else(|| EngineError::NotFound(format!("no alert `{id}`")))?;
    Ok(Json(found).into_response())
}

async fn get_activity(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Answer<Json<ActivityList>> {
    if state.engine.store.alert(&id).await?.is_none() {
        return Err(EngineError::NotFound(format!("no alert `{id}`")).into());
    }
    Ok(Json(ActivityList {
        entries: state.engine.store.activity(&id).await?,
        alert_id: id,
    }))
}

async fn list_runs(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Answer<Json<RunList>> {
    let Query(query) = query.map_err(|err| EngineError::BadRequest(err.body_text()))?;
    let run_state = query.state.clone().unwrap_or_default();
    if !["", "queued", "running", "succeeded", "failed"].contains(&run_state.as_str()) {
        return Err(EngineError::BadRequest(format!(
            "`state` is one of queued, running, succeeded, failed; not `{}`",
            run_state.chars().take(40).collect::<String>()
        ))
        .into());
    }
    Ok(Json(RunList {
        runs: state
            .engine
            .store
            .list_runs(
                limit(&query),
                &RunFilter {
                    state: run_state,
                    alert: query.alert.clone().unwrap_or_default(),
                    playbook: query.playbook.clone().unwrap_or_default(),
                },
            )
            .await?,
    }))
}

async fn get_run(State(state): State<AppState>, Path(id): Path<String>) -> Answer<Response> {
    let id: i64 = number("run", &id)?;
    let found = state
        .engine
        .store
        .run(id)
        .await?
        .ok_or_else(|| EngineError::NotFound(format!("no run {id}")))?;
    Ok(Json(found).into_response())
}
