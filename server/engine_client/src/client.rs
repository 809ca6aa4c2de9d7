//! A client of the engine's HTTP API (`docs/engine-api.md`): one base URL and bearer token, every
//! endpoint as a typed method over the `wire` types, and errors that say what went wrong in words
//! an operator can act on — the engine's own error code and message with the HTTP status, or
//! "cannot reach the engine at … — is `riposte serve` running?".
//!
//! Used by the CLI (`riposte deploy`, `riposte runs`, `riposte rule …`, through [`BlockingClient`]),
//! the language server (`riposte.save`, `riposte.deploy`, the extension's views) and the MCP
//! server. Every request has a timeout and every answer a size cap, so a wrong URL pointing at
//! something that is not the engine cannot hang or flood the caller. The token never appears in
//! an error, a `Debug` output or a log line.

use std::fmt;
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::wire::{
    ActivityList, AlertDetail, AlertList, Diagnostic, ErrorBody, Health, IntakeResponse,
    PlaybookDetail, PlaybookList, PlaybookSummary, PlaybookVersion, ProfileInfo, ProfileList,
    RuleInfo, RuleList, RunDetail, RunList, SavePlaybook, SaveProfile, SaveRule, WhoAmI,
};

/// Where `riposte serve` listens unless told otherwise.
pub const DEFAULT_URL: &str = "http://127.0.0.1:7878";
/// The environment variable naming the engine's URL.
pub const URL_ENV: &str = "RIPOSTE_ENGINE_URL";
/// The environment variable holding the engine's bearer token.
pub const TOKEN_ENV: &str = "RIPOSTE_ENGINE_TOKEN";
/// How long one request may take, connection included, unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read: a page of runs with their records, or a playbook with its docs.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// The largest error body read: an error is a short JSON object.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// The engine's bearer token. Its `Debug` and `Display` never show the value.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// `None` for an empty or blank value: no token is not the same as an empty one.
    pub fn new(value: impl Into<String>) -> Option<Token> {
        let value = value.into().trim().to_string();
        (!value.is_empty()).then_some(Token(value))
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Why a call to the engine did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL given for the engine is not one.
    #[error("`{url}` is not a usable engine URL: {reason}")]
    BadUrl { url: String, reason: String },
    /// Nothing answered: connection refused, DNS failure, TLS failure.
    #[error("cannot reach the engine at {url} — is `riposte serve` running? ({detail})")]
    Unreachable { url: String, detail: String },
    /// The engine took longer than the timeout.
    #[error("the engine at {url} did not answer within {} s", .after.as_secs())]
    Timeout { url: String, after: Duration },
    /// The engine answered with an error (`{"error": {"code", "message"}}`).
    #[error("{}", describe_api_error(.url, *.status, .code, .message))]
    Api {
        url: String,
        status: u16,
        code: String,
        message: String,
        /// The findings behind a `validation_failed` answer.
        diagnostics: Vec<Diagnostic>,
    },
    /// The answer was larger than the cap.
    #[error("the answer from {url} is larger than {} MiB; is that the engine?", .limit / (1024 * 1024))]
    TooLarge { url: String, limit: usize },
    /// The answer was not what the API promises.
    #[error(
        "the answer from {url} is not what the engine's API sends ({detail}); is that the engine, and the same version as this `riposte`?"
    )]
    Decode { url: String, detail: String },
}

fn describe_api_error(url: &str, status: u16, code: &str, message: &str) -> String {
    match status {
        401 => format!(
            "the engine at {url} refused the token ({status} {code}): {message} — set {TOKEN_ENV} or pass --token-file with the engine's token"
        ),
        403 => format!(
            "the engine at {url} refused this with the given token ({status} {code}): {message} — a read-only token cannot change anything; use the admin token"
        ),
        _ => format!("the engine at {url} answered {status} {code}: {message}"),
    }
}

impl ClientError {
    /// The HTTP status the engine answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The engine's error code (`not_found`, `validation_failed`, …), if it answered one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The findings the engine attached to its refusal.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ClientError::Api { diagnostics, .. } => diagnostics,
            _ => &[],
        }
    }

    /// True when the engine was reached and refused the request on its merits (4xx other than
    /// authentication), as opposed to not being reachable, refusing the token or failing itself.
    pub fn is_refusal(&self) -> bool {
        matches!(self, ClientError::Api { status, .. } if (400..500).contains(status) && *status != 401 && *status != 403)
    }
}

/// Where the engine is and how to authenticate to it.
#[derive(Debug, Clone)]
pub struct EngineTarget {
    /// The base URL, without a trailing slash (`http://127.0.0.1:7878`).
    pub url: String,
    pub token: Option<Token>,
    pub timeout: Duration,
}

impl EngineTarget {
    pub fn new(url: &str, token: Option<Token>) -> EngineTarget {
        EngineTarget {
            url: url.trim().trim_end_matches('/').to_string(),
            token,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// The engine's API, asynchronously (Tokio).
#[derive(Debug, Clone)]
pub struct EngineClient {
    display: String,
    token: Option<Token>,
    timeout: Duration,
    http: reqwest::Client,
}

impl EngineClient {
    pub fn new(target: &EngineTarget) -> Result<EngineClient, ClientError> {
        let bad = |reason: &str| ClientError::BadUrl {
            url: without_credentials(&target.url),
            reason: reason.to_string(),
        };
        if !target.url.contains("://") {
            return Err(bad(&format!(
                "write it with its scheme, http or https (http://{})",
                target.url
            )));
        }
        let base = url::Url::parse(&target.url).map_err(|err| bad(&err.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(bad("the engine speaks http or https"));
        }
        if base.host_str().is_none() {
            return Err(bad("there is no host in it"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(bad(
                "credentials do not belong in the URL; the token comes from RIPOSTE_ENGINE_TOKEN or --token-file",
            ));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(bad("it should be the engine's base URL, without ? or #"));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(target.timeout.min(Duration::from_secs(10)))
            .timeout(target.timeout)
            // A redirect would carry the token to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("riposte/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| bad(&format!("cannot build an HTTP client: {err}")))?;
        let display = base.as_str().trim_end_matches('/').to_string();
        Ok(EngineClient {
            display,
            token: target.token.clone(),
            timeout: target.timeout,
            http,
        })
    }

    /// The engine's base URL as shown in messages.
    pub fn url(&self) -> &str {
        &self.display
    }

    fn endpoint(&self, path_and_query: &str) -> Result<url::Url, ClientError> {
        // The base may carry a path (behind a reverse proxy): keep it, and append the API's path.
        let mut joined = self.display.clone();
        joined.push_str(path_and_query);
        url::Url::parse(&joined).map_err(|err| ClientError::BadUrl {
            url: joined.clone(),
            reason: err.to_string(),
        })
    }

    /// One call: `method path` with an optional JSON body, the answer decoded as `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&(dyn ErasedBody + Sync)>,
    ) -> Result<T, ClientError> {
        let bytes = self.call_raw(method, path_and_query, body).await?;
        let bytes = if bytes.is_empty() {
            b"null".to_vec()
        } else {
            bytes
        };
        serde_json::from_slice(&bytes).map_err(|err| ClientError::Decode {
            url: self.display.clone(),
            detail: err.to_string(),
        })
    }

    /// One call, the answer's bytes as they came (at most [`MAX_RESPONSE_BYTES`]).
    pub async fn call_raw(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&(dyn ErasedBody + Sync)>,
    ) -> Result<Vec<u8>, ClientError> {
        let url = self.endpoint(path_and_query)?;
        let mut request = self
            .http
            .request(method, url)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        if let Some(body) = body {
            let json = body.to_json().map_err(|err| ClientError::Decode {
                url: self.display.clone(),
                detail: format!("cannot encode the request: {err}"),
            })?;
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(json);
        }
        let mut response = request
            .send()
            .await
            .map_err(|err| self.transport_error(&err))?;
        let status = response.status();
        let limit = if status.is_success() {
            MAX_RESPONSE_BYTES
        } else {
            MAX_ERROR_BYTES
        };
        let mut bytes = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > limit {
                        if status.is_success() {
                            return Err(ClientError::TooLarge {
                                url: self.display.clone(),
                                limit,
                            });
                        }
                        break;
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(err) => return Err(self.transport_error(&err)),
            }
        }
        if status.is_success() {
            return Ok(bytes);
        }
        Err(self.api_error(status, &bytes))
    }

    fn transport_error(&self, err: &reqwest::Error) -> ClientError {
        if err.is_timeout() {
            return ClientError::Timeout {
                url: self.display.clone(),
                after: self.timeout,
            };
        }
        // The innermost cause says what happened ("Connection refused"); reqwest's own text
        // repeats the URL, which the message already names.
        let mut detail = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(inner) = source {
            detail = inner.to_string();
            source = inner.source();
        }
        ClientError::Unreachable {
            url: self.display.clone(),
            detail,
        }
    }

    fn api_error(&self, status: reqwest::StatusCode, bytes: &[u8]) -> ClientError {
        let (code, message, diagnostics) = match serde_json::from_slice::<ErrorBody>(bytes) {
            Ok(body) => (body.error.code, body.error.message, body.error.diagnostics),
            Err(_) => {
                // Not the engine's error shape (a proxy, or another server on that port): say so,
                // with a short, printable excerpt of what came back.
                let text: String = String::from_utf8_lossy(bytes)
                    .chars()
                    .filter(|c| !c.is_control() || *c == ' ')
                    .take(200)
                    .collect();
                let reason = status.canonical_reason().unwrap_or("error");
                let message = if text.trim().is_empty() {
                    format!("{reason} (no error body; is that the engine?)")
                } else {
                    format!("{reason}: {}", text.trim())
                };
                ("http_error".to_string(), message, Vec::new())
            }
        };
        ClientError::Api {
            url: self.display.clone(),
            status: status.as_u16(),
            code,
            message,
            diagnostics,
        }
    }
}

/// Query of `GET /api/runs`.
#[derive(Debug, Clone, Default)]
pub struct RunQuery {
    pub limit: Option<u32>,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub state: Option<String>,
    pub alert: Option<String>,
    pub playbook: Option<String>,
}

impl RunQuery {
    fn to_query(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(limit) = self.limit {
            query.append_pair("limit", &limit.to_string());
        }
        if let Some(state) = &self.state {
            query.append_pair("state", state);
        }
        if let Some(alert) = &self.alert {
            query.append_pair("alert", alert);
        }
        if let Some(playbook) = &self.playbook {
            query.append_pair("playbook", playbook);
        }
        let query = query.finish();
        if query.is_empty() {
            query
        } else {
            format!("?{query}")
        }
    }
}

/// The endpoints of `docs/engine-api.md`, one method each.
impl EngineClient {
    pub async fn health(&self) -> Result<Health, ClientError> {
        self.call(Method::GET, "/api/health", None).await
    }

    pub async fn whoami(&self) -> Result<WhoAmI, ClientError> {
        self.call(Method::GET, "/api/whoami", None).await
    }

    pub async fn list_playbooks(&self) -> Result<PlaybookList, ClientError> {
        self.call(Method::GET, "/api/playbooks", None).await
    }

    /// Stores a new version, disabled.
    pub async fn save_playbook(
        &self,
        name: &str,
        body: &SavePlaybook,
    ) -> Result<PlaybookVersion, ClientError> {
        let path = format!("/api/playbooks/{}", segment(name));
        self.call(Method::PUT, &path, Some(body)).await
    }

    pub async fn playbook(&self, name: &str) -> Result<PlaybookDetail, ClientError> {
        let path = format!("/api/playbooks/{}", segment(name));
        self.call(Method::GET, &path, None).await
    }

    pub async fn delete_playbook(&self, name: &str) -> Result<(), ClientError> {
        let path = format!("/api/playbooks/{}", segment(name));
        self.call_raw(Method::DELETE, &path, None).await.map(drop)
    }

    pub async fn playbook_version(
        &self,
        name: &str,
        version: u32,
    ) -> Result<PlaybookVersion, ClientError> {
        let path = format!("/api/playbooks/{}/versions/{version}", segment(name));
        self.call(Method::GET, &path, None).await
    }

    pub async fn activate(&self, name: &str, version: u32) -> Result<PlaybookSummary, ClientError> {
        let path = format!(
            "/api/playbooks/{}/versions/{version}/activate",
            segment(name)
        );
        self.call(Method::POST, &path, None).await
    }

    pub async fn deactivate(&self, name: &str) -> Result<PlaybookSummary, ClientError> {
        let path = format!("/api/playbooks/{}/deactivate", segment(name));
        self.call(Method::POST, &path, None).await
    }

    pub async fn list_rules(&self) -> Result<RuleList, ClientError> {
        self.call(Method::GET, "/api/rules", None).await
    }

    pub async fn save_rule(&self, name: &str, body: &SaveRule) -> Result<RuleInfo, ClientError> {
        let path = format!("/api/rules/{}", segment(name));
        self.call(Method::PUT, &path, Some(body)).await
    }

    pub async fn rule(&self, name: &str) -> Result<RuleInfo, ClientError> {
        let path = format!("/api/rules/{}", segment(name));
        self.call(Method::GET, &path, None).await
    }

    pub async fn delete_rule(&self, name: &str) -> Result<(), ClientError> {
        let path = format!("/api/rules/{}", segment(name));
        self.call_raw(Method::DELETE, &path, None).await.map(drop)
    }

    pub async fn enable_rule(&self, name: &str) -> Result<RuleInfo, ClientError> {
        let path = format!("/api/rules/{}/enable", segment(name));
        self.call(Method::POST, &path, None).await
    }

    pub async fn disable_rule(&self, name: &str) -> Result<RuleInfo, ClientError> {
        let path = format!("/api/rules/{}/disable", segment(name));
        self.call(Method::POST, &path, None).await
    }

    pub async fn list_profiles(&self) -> Result<ProfileList, ClientError> {
        self.call(Method::GET, "/api/profiles", None).await
    }

    /// Creates or updates a profile; `body.secrets` travel to the engine and nowhere else.
    pub async fn save_profile(
        &self,
        name: &str,
        body: &SaveProfile,
    ) -> Result<ProfileInfo, ClientError> {
        let path = format!("/api/profiles/{}", segment(name));
        self.call(Method::PUT, &path, Some(body)).await
    }

    pub async fn profile(&self, name: &str) -> Result<ProfileInfo, ClientError> {
        let path = format!("/api/profiles/{}", segment(name));
        self.call(Method::GET, &path, None).await
    }

    pub async fn delete_profile(&self, name: &str) -> Result<(), ClientError> {
        let path = format!("/api/profiles/{}", segment(name));
        self.call_raw(Method::DELETE, &path, None).await.map(drop)
    }

    /// Delivers one alert or an array of them (`alerts` as JSON), for `workspace` (default
    /// `default`).
    pub async fn post_alerts(
        &self,
        alerts: &serde_json::Value,
        workspace: Option<&str>,
    ) -> Result<IntakeResponse, ClientError> {
        let path = match workspace {
            Some(workspace) => format!(
                "/api/alerts?{}",
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("workspace", workspace)
                    .finish()
            ),
            None => "/api/alerts".to_string(),
        };
        self.call(Method::POST, &path, Some(alerts)).await
    }

    pub async fn list_alerts(&self, limit: Option<u32>) -> Result<AlertList, ClientError> {
        let path = match limit {
            Some(limit) => format!("/api/alerts?limit={limit}"),
            None => "/api/alerts".to_string(),
        };
        self.call(Method::GET, &path, None).await
    }

    pub async fn alert(&self, id: &str) -> Result<AlertDetail, ClientError> {
        let path = format!("/api/alerts/{}", segment(id));
        self.call(Method::GET, &path, None).await
    }

    pub async fn activity(&self, alert_id: &str) -> Result<ActivityList, ClientError> {
        let path = format!("/api/alerts/{}/activity", segment(alert_id));
        self.call(Method::GET, &path, None).await
    }

    pub async fn list_runs(&self, query: &RunQuery) -> Result<RunList, ClientError> {
        let path = format!("/api/runs{}", query.to_query());
        self.call(Method::GET, &path, None).await
    }

    pub async fn run(&self, id: i64) -> Result<RunDetail, ClientError> {
        let path = format!("/api/runs/{id}");
        self.call(Method::GET, &path, None).await
    }
}

/// `url` as it may be shown: any `user:password@` taken out.
fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// A request body: anything serialisable, behind a trait object so [`EngineClient::call`] stays
/// one non-generic path for every endpoint's body.
pub trait ErasedBody {
    fn to_json(&self) -> Result<Vec<u8>, serde_json::Error>;
}

impl<T: Serialize> ErasedBody for T {
    fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

/// Percent-encodes one path segment (a playbook or rule name, an id).
pub fn segment(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// The client for callers without an async runtime (the CLI): each call runs on a runtime of its
/// own, one thread, for as long as the call takes.
#[derive(Debug)]
pub struct BlockingClient {
    client: EngineClient,
    runtime: tokio::runtime::Runtime,
}

impl BlockingClient {
    pub fn new(target: &EngineTarget) -> Result<BlockingClient, ClientError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| ClientError::BadUrl {
                url: target.url.clone(),
                reason: format!("cannot start the I/O runtime: {err}"),
            })?;
        // reqwest's client must be built inside the runtime it is used on.
        let client = {
            let _guard = runtime.enter();
            EngineClient::new(target)?
        };
        Ok(BlockingClient { client, runtime })
    }

    pub fn client(&self) -> &EngineClient {
        &self.client
    }

    /// Runs one of the client's calls to completion: `c.block_on(c.client().list_runs(&q))`.
    pub fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        self.runtime.block_on(future)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    use super::*;

    /// A one-connection HTTP server on loopback that answers `status` with `body` and hands back
    /// the request it received.
    async fn answer_once(
        status: &'static str,
        body: Vec<u8>,
    ) -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            // Headers, then the body by Content-Length.
            loop {
                let n = stream.read(&mut buffer).await.unwrap();
                request.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let head = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&body).await;
            let _ = stream.shutdown().await;
            String::from_utf8_lossy(&request).into_owned()
        });
        (url, task)
    }

    fn client(url: &str) -> EngineClient {
        EngineClient::new(&EngineTarget::new(url, Token::new("fake-admin-token"))).unwrap()
    }

    #[tokio::test]
    async fn sends_the_token_and_the_body_and_reads_the_answer() {
        let body = br#"{"name":"triage","active_version":3,"latest_version":4,"created_at":"t","updated_at":"t"}"#;
        let (url, server) = answer_once("200 OK", body.to_vec()).await;
        let summary = client(&url).activate("triage", 3).await.unwrap();
        assert_eq!(summary.active_version, Some(3));
        let request = server.await.unwrap();
        assert!(
            request.starts_with("POST /api/playbooks/triage/versions/3/activate HTTP/1.1"),
            "{request}"
        );
        assert!(
            request.contains("authorization: Bearer fake-admin-token"),
            "{request}"
        );

        let (url, server) = answer_once("201 Created", br#"{"name":"a b","version":1,"active":false,"lines":1,"errors":0,"warnings":0,"created_at":"t","source":"x","docs":"d","diagnostics":[]}"#.to_vec()).await;
        let saved = client(&url)
            .save_playbook(
                "a b",
                &SavePlaybook {
                    source: "x".into(),
                    docs: Some("d".into()),
                },
            )
            .await
            .unwrap();
        assert_eq!(saved.summary.version, 1);
        let request = server.await.unwrap();
        assert!(
            request.starts_with("PUT /api/playbooks/a%20b HTTP/1.1"),
            "{request}"
        );
        assert!(
            request.ends_with(r#"{"source":"x","docs":"d"}"#),
            "{request}"
        );
    }

    #[tokio::test]
    async fn an_engine_error_keeps_its_status_code_message_and_diagnostics() {
        let body = br#"{"error":{"code":"validation_failed","message":"version 2 has 1 error","diagnostics":[{"code":"RP001","severity":"error","message":"no run","line":1,"column":1,"end_line":1,"end_column":2}]}}"#;
        let (url, _server) = answer_once("422 Unprocessable Entity", body.to_vec()).await;
        let err = client(&url).activate("triage", 2).await.unwrap_err();
        assert_eq!(err.status(), Some(422));
        assert_eq!(err.code(), Some("validation_failed"));
        assert_eq!(err.diagnostics().len(), 1);
        assert!(err.is_refusal());
        assert_eq!(
            err.to_string(),
            format!("the engine at {url} answered 422 validation_failed: version 2 has 1 error")
        );
    }

    #[tokio::test]
    async fn a_refused_token_says_where_the_token_comes_from_and_never_shows_it() {
        let body = br#"{"error":{"code":"unauthorized","message":"wrong bearer token"}}"#;
        let (url, _server) = answer_once("401 Unauthorized", body.to_vec()).await;
        let err = client(&url).list_playbooks().await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("the engine at {url} refused the token (401")),
            "{text}"
        );
        assert!(text.contains(TOKEN_ENV), "{text}");
        assert!(!text.contains("fake-admin-token"));
        assert!(!format!("{err:?}").contains("fake-admin-token"));
        assert!(!err.is_refusal());
    }

    #[tokio::test]
    async fn something_that_is_not_the_engine_is_named_as_such() {
        let (url, _server) = answer_once("404 Not Found", b"<html>nginx</html>".to_vec()).await;
        let err = client(&url)
            .list_runs(&RunQuery::default())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("http_error"));
        assert!(err.to_string().contains("<html>nginx</html>"), "{err}");

        let (url, _server) = answer_once("200 OK", b"<html>hello</html>".to_vec()).await;
        let err = client(&url)
            .list_runs(&RunQuery::default())
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::Decode { .. }), "{err:?}");
        assert!(err.to_string().contains("is that the engine"), "{err}");
    }

    #[tokio::test]
    async fn an_answer_beyond_the_cap_is_refused() {
        let body = vec![b' '; MAX_RESPONSE_BYTES + 10];
        let (url, _server) = answer_once("200 OK", body).await;
        let err = client(&url)
            .list_runs(&RunQuery::default())
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::TooLarge { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn nothing_listening_asks_whether_the_engine_runs() {
        // Bind then drop: the port is free and nothing listens on it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let err = client(&url).health().await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "cannot reach the engine at {url} — is `riposte serve` running?"
            )),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let _hold = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(stream);
        });
        let mut target = EngineTarget::new(&url, None);
        target.timeout = Duration::from_millis(300);
        let err = EngineClient::new(&target)
            .unwrap()
            .health()
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
    }

    #[test]
    fn urls_that_cannot_be_the_engine_are_refused_up_front() {
        for (url, says) in [
            ("127.0.0.1:7878", "http or https"),
            ("ftp://127.0.0.1", "http or https"),
            ("http://admin:pw@127.0.0.1:7878", "credentials"),
            ("http://127.0.0.1:7878/?x=1", "without ? or #"),
            ("http://", "not a usable engine URL"),
        ] {
            let err = EngineClient::new(&EngineTarget::new(url, None)).unwrap_err();
            assert!(err.to_string().contains(says), "{url}: {err}");
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
        let ok = EngineClient::new(&EngineTarget::new("http://127.0.0.1:7878/", None)).unwrap();
        assert_eq!(ok.url(), "http://127.0.0.1:7878");
    }

    #[test]
    fn run_queries_and_names_are_encoded() {
        let query = RunQuery {
            limit: Some(5),
            state: None,
            alert: Some("a/b c".into()),
            playbook: Some("vt enrich".into()),
        };
        assert_eq!(
            query.to_query(),
            "?limit=5&alert=a%2Fb+c&playbook=vt+enrich"
        );
        assert_eq!(RunQuery::default().to_query(), "");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
        assert!(Token::new("  ").is_none());
    }
}
