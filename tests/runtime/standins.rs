//! Loopback stand-ins of the APIs the demo playbooks call, for `riposte test` end to end.
//!
//! Each stand-in is a real HTTP server on 127.0.0.1 that records what it receives and answers like
//! the real API would, after checking the request's credentials the way the real API does (a
//! missing or wrong API key, Basic password, bearer token or SigV4 credential gets a 401/403).
//! [`DemoWorkspace`] is a temporary copy of `fixtures/workspace` whose profiles point at them.
//!
//! Included with `#[path]` by the runtime's and the CLI's tests; it uses only their shared
//! dev-dependencies (axum, tokio, serde_json, tempfile).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// Secrets the stand-ins accept. Each holds `SENTINEL`, so a test can look for it in every output.
pub mod secrets {
    pub const SENTINEL: &str = "s3ntinel";
    pub const VT_API_KEY: &str = "vt-key-s3ntinel-4f1c9a";
    pub const GRAPH_CLIENT_ID: &str = "graph-client-7c2e";
    pub const GRAPH_CLIENT_SECRET: &str = "graph-secret-s3ntinel-91bd";
    /// The access token the Graph stand-in hands out (a token is a secret too).
    pub const GRAPH_TOKEN: &str = "graph-token-s3ntinel-e0a4";
    pub const SLACK_TOKEN: &str = "xoxb-s3ntinel-5d6e";
    pub const JIRA_USER: &str = "soc-bot@contoso.com";
    pub const JIRA_PASSWORD: &str = "jira-token-s3ntinel-2b7f";
    pub const SNOW_USER: &str = "svc-riposte";
    pub const SNOW_PASSWORD: &str = "snow-pass-s3ntinel-8e1d";
    pub const AWS_ACCESS_KEY_ID: &str = "AKIAS3NTINEL0EXAMPLE";
    pub const AWS_SECRET_ACCESS_KEY: &str = "aws-secret-s3ntinel-wJalrXUtnFEMI";
    pub const STANDIN_TOKEN: &str = "standin-token-s3ntinel-77aa";

    /// Every secret, as `RIPOSTE_<PROFILE>_<FIELD>` environment variables.
    pub fn env() -> Vec<(String, String)> {
        [
            ("RIPOSTE_VIRUSTOTAL_API_KEY", VT_API_KEY),
            ("RIPOSTE_MICROSOFT_GRAPH_CLIENT_ID", GRAPH_CLIENT_ID),
            ("RIPOSTE_MICROSOFT_GRAPH_CLIENT_SECRET", GRAPH_CLIENT_SECRET),
            ("RIPOSTE_SLACK_TOKEN", SLACK_TOKEN),
            ("RIPOSTE_JIRA_USERNAME", JIRA_USER),
            ("RIPOSTE_JIRA_PASSWORD", JIRA_PASSWORD),
            ("RIPOSTE_SERVICENOW_USERNAME", SNOW_USER),
            ("RIPOSTE_SERVICENOW_PASSWORD", SNOW_PASSWORD),
            ("RIPOSTE_AWS_IAM_ACCESS_KEY_ID", AWS_ACCESS_KEY_ID),
            ("RIPOSTE_AWS_IAM_SECRET_ACCESS_KEY", AWS_SECRET_ACCESS_KEY),
            ("RIPOSTE_STAND_IN_TOKEN", STANDIN_TOKEN),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Every secret value (for "no secret in any output" checks).
    pub fn values() -> Vec<&'static str> {
        vec![
            VT_API_KEY,
            GRAPH_CLIENT_SECRET,
            GRAPH_TOKEN,
            SLACK_TOKEN,
            JIRA_PASSWORD,
            SNOW_PASSWORD,
            AWS_SECRET_ACCESS_KEY,
            STANDIN_TOKEN,
        ]
    }
}

/// One request a stand-in received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// Query and form parameters (form body first).
    pub fn param(&self, name: &str) -> Option<String> {
        let form = String::from_utf8_lossy(&self.body).into_owned();
        [form.as_str(), self.query.as_str()]
            .into_iter()
            .flat_map(|text| text.split('&'))
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| decode(v))
    }

    /// The path and query as sent (`/v1.0/users?$top=5`).
    pub fn target(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }

    /// `GET /v1.0/users/x`
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// What a stand-in answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering (a hanging API).
    pub delay: Option<Duration>,
}

impl Reply {
    pub fn json(status: u16, value: Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(&value).unwrap(),
            delay: None,
        }
    }

    pub fn text(status: u16, content_type: &str, text: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: text.as_bytes().to_vec(),
            delay: None,
        }
    }

    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: None,
        }
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

pub type Handler = Arc<dyn Fn(&Received) -> Reply + Send + Sync>;

/// A running stand-in.
pub struct StandIn {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub addr: std::net::SocketAddr,
    log: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    pub async fn start(handler: Handler) -> StandIn {
        let log = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&log);
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let handler = Arc::clone(&handler);
            let recorded = Arc::clone(&recorded);
            async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, 64 * 1024 * 1024)
                    .await
                    .unwrap_or_default()
                    .to_vec();
                let got = Received {
                    method: parts.method.to_string(),
                    path: parts.uri.path().to_string(),
                    query: parts.uri.query().unwrap_or_default().to_string(),
                    headers: parts
                        .headers
                        .iter()
                        .map(|(n, v)| {
                            (
                                n.as_str().to_string(),
                                String::from_utf8_lossy(v.as_bytes()).into_owned(),
                            )
                        })
                        .collect(),
                    body,
                };
                recorded.lock().unwrap().push(got.clone());
                // On a blocking thread: a handler may run a Python process to check a signature.
                let reply = tokio::task::spawn_blocking(move || handler(&got))
                    .await
                    .unwrap_or_else(|_| {
                        Reply::text(500, "text/plain", "the test's handler panicked")
                    });
                if let Some(delay) = reply.delay {
                    tokio::time::sleep(delay).await;
                }
                let mut response = axum::response::Response::builder().status(reply.status);
                for (name, value) in &reply.headers {
                    response = response.header(name, value);
                }
                response.body(axum::body::Body::from(reply.body)).unwrap()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let url = format!("http://{addr}");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        StandIn {
            url,
            addr,
            log,
            task,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    pub fn hits(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    /// How many requests went to `path` (the query aside).
    pub fn hits_on(&self, path: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    /// `METHOD path` of everything received, in order.
    pub fn lines(&self) -> Vec<String> {
        self.received().iter().map(Received::line).collect()
    }
}

// --- the APIs ----------------------------------------------------------------------------------

fn unauthorized(what: &str) -> Reply {
    Reply::json(
        401,
        json!({"error": {"code": "Unauthorized", "message": what}}),
    )
}

fn bearer_is(got: &Received, token: &str) -> bool {
    got.header("authorization") == Some(format!("Bearer {token}").as_str())
}

fn basic_is(got: &Received, user: &str, password: &str) -> bool {
    got.header("authorization")
        == Some(format!("Basic {}", base64(format!("{user}:{password}").as_bytes())).as_str())
}

/// VirusTotal v3 (`x-apikey`): URL reports; ids in `unknown` are 404.
pub fn virustotal(unknown: Vec<String>) -> Handler {
    Arc::new(move |got| {
        if got.header("x-apikey") != Some(secrets::VT_API_KEY) {
            return Reply::json(
                401,
                json!({"error": {"code": "WrongCredentialsError", "message": "Wrong API key"}}),
            );
        }
        match (got.method.as_str(), got.path.strip_prefix("/api/v3/urls/")) {
            ("GET", Some(id)) if unknown.iter().any(|u| u == id) => Reply::json(
                404,
                json!({"error": {"code": "NotFoundError", "message": "URL not found"}}),
            ),
            ("GET", Some(id)) if !id.is_empty() => Reply::json(
                200,
                json!({"data": {"id": id, "type": "url", "attributes": {
                    "last_analysis_stats": {"malicious": 7, "suspicious": 2, "harmless": 60, "undetected": 10}
                }}}),
            ),
            _ => Reply::json(404, json!({"error": {"code": "NotFoundError"}})),
        }
    })
}

/// Microsoft Graph v1.0 behind a client-credentials token endpoint at
/// `/contoso.onmicrosoft.com/oauth2/v2.0/token`: users, sign-in sessions, and `alerts` (by id)
/// for `security/alerts_v2`.
pub fn graph(alerts: Vec<Value>) -> Handler {
    Arc::new(move |got| {
        if got.path.ends_with("/oauth2/v2.0/token") {
            let id = got.param("client_id");
            let secret = got.param("client_secret");
            let basic = basic_is(got, secrets::GRAPH_CLIENT_ID, secrets::GRAPH_CLIENT_SECRET);
            let posted = id.as_deref() == Some(secrets::GRAPH_CLIENT_ID)
                && secret.as_deref() == Some(secrets::GRAPH_CLIENT_SECRET);
            if got.param("grant_type").as_deref() != Some("client_credentials")
                || !(basic || posted)
            {
                return Reply::json(
                    401,
                    json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret"}),
                );
            }
            return Reply::json(
                200,
                json!({"token_type": "Bearer", "expires_in": 3599, "access_token": secrets::GRAPH_TOKEN}),
            );
        }
        if !bearer_is(got, secrets::GRAPH_TOKEN) {
            return unauthorized("InvalidAuthenticationToken");
        }
        let segments: Vec<&str> = got.path.trim_start_matches('/').split('/').collect();
        match (got.method.as_str(), segments.as_slice()) {
            ("GET", ["v1.0", "users", upn]) => {
                if upn.ends_with("@contoso.com") {
                    let local = upn.split('@').next().unwrap_or_default();
                    Reply::json(
                        200,
                        json!({"id": format!("id-{local}"), "accountEnabled": true}),
                    )
                } else {
                    Reply::json(
                        404,
                        json!({"error": {"code": "Request_ResourceNotFound", "message": "no such user"}}),
                    )
                }
            }
            ("PATCH", ["v1.0", "users", _]) if got.json() == json!({"accountEnabled": false}) => {
                Reply::empty(204)
            }
            ("POST", ["v1.0", "users", _, "revokeSignInSessions"]) => {
                Reply::json(200, json!({"value": true}))
            }
            (method, ["v1.0", "security", "alerts_v2", id, rest @ ..]) => {
                let Some(alert) = alerts.iter().find(|a| a["id"] == *id) else {
                    return Reply::json(
                        404,
                        json!({"error": {"code": "NotFound", "message": format!("alert {id} not found")}}),
                    );
                };
                match (method, rest) {
                    ("GET", []) => Reply::json(200, alert.clone()),
                    ("PATCH", []) => Reply::json(200, alert.clone()),
                    ("POST", ["comments"]) if got.json()["comment"].is_string() => {
                        Reply::json(200, json!({"value": [got.json()]}))
                    }
                    _ => Reply::json(400, json!({"error": {"code": "BadRequest"}})),
                }
            }
            _ => Reply::json(
                400,
                json!({"error": {"code": "BadRequest", "message": got.line()}}),
            ),
        }
    })
}

/// Slack Web API (bearer): `chat.postMessage`.
pub fn slack() -> Handler {
    Arc::new(|got| {
        if !bearer_is(got, secrets::SLACK_TOKEN) {
            return Reply::json(200, json!({"ok": false, "error": "invalid_auth"}));
        }
        match (got.method.as_str(), got.path.as_str()) {
            ("POST", "/api/chat.postMessage") if got.json()["channel"].is_string() => {
                Reply::json(200, json!({"ok": true, "ts": "1700000000.000100"}))
            }
            _ => Reply::json(200, json!({"ok": false, "error": "unknown_method"})),
        }
    })
}

/// Jira Cloud (Basic): create issue. `fail_first` answers the first creation with a 503.
pub fn jira(fail_first: bool) -> Handler {
    let attempts = Arc::new(Mutex::new(0usize));
    Arc::new(move |got| {
        if !basic_is(got, secrets::JIRA_USER, secrets::JIRA_PASSWORD) {
            return unauthorized("Basic authentication failed");
        }
        match (got.method.as_str(), got.path.as_str()) {
            ("POST", "/rest/api/3/issue") => {
                let mut n = attempts.lock().unwrap();
                *n += 1;
                if fail_first && *n == 1 {
                    return Reply::json(503, json!({"errorMessages": ["try again"]}));
                }
                if got.json()["fields"]["project"]["key"] != "SOC" {
                    return Reply::json(400, json!({"errors": {"project": "required"}}));
                }
                Reply::json(201, json!({"id": "10042", "key": "SOC-42"}))
            }
            _ => Reply::json(404, json!({"errorMessages": ["not found"]})),
        }
    })
}

/// ServiceNow Table API (Basic): create incident.
pub fn servicenow() -> Handler {
    Arc::new(|got| {
        if !basic_is(got, secrets::SNOW_USER, secrets::SNOW_PASSWORD) {
            return unauthorized("User Not Authenticated");
        }
        match (got.method.as_str(), got.path.as_str()) {
            ("POST", "/api/now/table/incident") if got.json()["correlation_id"].is_string() => {
                Reply::json(
                    201,
                    json!({"result": {"number": "INC0010042", "sys_id": "9d385017c611228701d22104cc95c371"}}),
                )
            }
            _ => Reply::json(400, json!({"error": {"message": "bad request"}})),
        }
    })
}

/// AWS IAM Query API (SigV4): attach policy, delete login profile, list and update access keys.
/// The signature's shape and credential scope are checked here; the signature itself is checked
/// against botocore in the HTTP layer's own tests.
pub fn aws_iam() -> Handler {
    Arc::new(|got| {
        let auth = got.header("authorization").unwrap_or_default();
        let scope = format!(
            "AWS4-HMAC-SHA256 Credential={}/",
            secrets::AWS_ACCESS_KEY_ID
        );
        if !auth.starts_with(&scope)
            || !auth.contains("/us-east-1/iam/aws4_request")
            || !auth.contains("Signature=")
            || got.header("x-amz-date").is_none()
        {
            return Reply::text(
                403,
                "text/xml",
                "<ErrorResponse><Error><Code>InvalidClientTokenId</Code></Error></ErrorResponse>",
            );
        }
        let action = got.param("Action").unwrap_or_default();
        let user = got.param("UserName").unwrap_or_default();
        let ok = |action: &str, inner: &str| {
            Reply::text(
                200,
                "text/xml",
                &format!(
                    "<{action}Response xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">{inner}<ResponseMetadata><RequestId>7a62c49f</RequestId></ResponseMetadata></{action}Response>"
                ),
            )
        };
        match (got.method.as_str(), action.as_str()) {
            ("POST", "AttachUserPolicy")
                if got.param("PolicyArn").as_deref()
                    == Some("arn:aws:iam::aws:policy/AWSDenyAll") =>
            {
                ok("AttachUserPolicy", "")
            }
            ("POST", "DeleteLoginProfile") => Reply::text(
                404,
                "text/xml",
                "<ErrorResponse><Error><Code>NoSuchEntity</Code></Error></ErrorResponse>",
            ),
            ("GET", "ListAccessKeys") => ok(
                "ListAccessKeys",
                &format!(
                    "<ListAccessKeysResult><AccessKeyMetadata><member><UserName>{user}</UserName><AccessKeyId>AKIAOLDKEY000000001</AccessKeyId><Status>Active</Status></member><member><UserName>{user}</UserName><AccessKeyId>AKIAOLDKEY000000002</AccessKeyId><Status>Active</Status></member></AccessKeyMetadata></ListAccessKeysResult>"
                ),
            ),
            ("POST", "UpdateAccessKey") if got.param("Status").as_deref() == Some("Inactive") => {
                ok("UpdateAccessKey", "")
            }
            _ => Reply::text(
                400,
                "text/xml",
                "<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>",
            ),
        }
    })
}

/// A misbehaving API (bearer): `/hang` never answers in time, `/status/500` fails, `/invalid-json`
/// claims JSON and is not, `/echo` answers what it got.
pub fn misbehaving() -> Handler {
    Arc::new(|got| {
        if !bearer_is(got, secrets::STANDIN_TOKEN) {
            return unauthorized("bad token");
        }
        match got.path.as_str() {
            "/hang" => Reply::json(200, json!({"late": true})).after(Duration::from_secs(30)),
            "/status/500" => Reply::json(500, json!({"error": "internal"})),
            "/invalid-json" => Reply::text(200, "application/json", "{\"half\": "),
            _ => Reply::json(
                200,
                json!({"method": got.method, "path": got.path, "query": got.query, "body": String::from_utf8_lossy(&got.body)}),
            ),
        }
    })
}

// --- a workspace pointing at them ---------------------------------------------------------------

/// The repository's root.
pub fn repo_root() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("fixtures").is_dir() {
        assert!(
            dir.pop(),
            "no fixtures/ above {}",
            env!("CARGO_MANIFEST_DIR")
        );
    }
    dir
}

/// A temporary copy of `fixtures/workspace`.
pub struct DemoWorkspace {
    pub dir: tempfile::TempDir,
}

impl DemoWorkspace {
    pub fn new() -> DemoWorkspace {
        let dir = tempfile::Builder::new()
            .prefix("riposte-ws-")
            .tempdir()
            .unwrap();
        copy_dir(&repo_root().join("fixtures/workspace"), dir.path());
        DemoWorkspace { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn playbook(&self, name: &str) -> PathBuf {
        self.root().join("playbooks").join(name)
    }

    /// Points the profile in `integrations/<file>` at `base_url` (and its token URL, if it has
    /// one, at `token_url`).
    pub fn point(&self, file: &str, base_url: &str, token_url: Option<&str>) -> &Self {
        let path = self.root().join("integrations").join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text
            .lines()
            .map(|line| {
                if line.starts_with("base_url = ") {
                    format!("base_url = \"{base_url}\"")
                } else if line.starts_with("token_url = ")
                    && let Some(token_url) = token_url
                {
                    format!("token_url = \"{token_url}\"")
                } else {
                    line.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(path, text + "\n").unwrap();
        self
    }

    /// Points every demo profile at the stand-ins.
    pub fn point_all(&self, apis: &Apis) -> &Self {
        self.point(
            "virustotal.toml",
            &format!("{}/api/v3", apis.virustotal.url),
            None,
        )
        .point(
            "microsoft-graph.toml",
            &format!("{}/v1.0", apis.graph.url),
            Some(&format!(
                "{}/contoso.onmicrosoft.com/oauth2/v2.0/token",
                apis.graph.url
            )),
        )
        .point("slack.toml", &format!("{}/api", apis.slack.url), None)
        .point("jira.toml", &apis.jira.url, None)
        .point("servicenow.toml", &apis.servicenow.url, None)
        .point("aws-iam.toml", &apis.aws.url, None)
    }

    /// Adds `integrations/stand-in.toml` (bearer) pointing at `url`.
    pub fn add_standin_profile(&self, url: &str) -> &Self {
        std::fs::write(
            self.root().join("integrations/stand-in.toml"),
            format!(
                "name = \"Stand-in\"\ndescription = \"A misbehaving API\"\nbase_url = \"{url}\"\ntimeout_secs = 5\n\n[auth]\nmethod = \"bearer\"\n"
            ),
        )
        .unwrap();
        self
    }

    /// Writes `playbooks/<name>` and returns its path.
    pub fn add_playbook(&self, name: &str, source: &str) -> PathBuf {
        let path = self.playbook(name);
        std::fs::write(&path, source).unwrap();
        path
    }

    /// Writes `alerts/<name>` (outside the fixtures) and returns its path.
    pub fn add_alert(&self, name: &str, alert: &Value) -> PathBuf {
        let dir = self.root().join("alerts");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(alert).unwrap()).unwrap();
        path
    }
}

/// Every stand-in the demo playbooks need.
pub struct Apis {
    pub virustotal: StandIn,
    pub graph: StandIn,
    pub slack: StandIn,
    pub jira: StandIn,
    pub servicenow: StandIn,
    pub aws: StandIn,
}

impl Apis {
    /// `graph_alerts` are the alerts Graph knows by id.
    pub async fn start(graph_alerts: Vec<Value>) -> Apis {
        Apis {
            virustotal: StandIn::start(virustotal(Vec::new())).await,
            graph: StandIn::start(graph(graph_alerts)).await,
            slack: StandIn::start(slack()).await,
            jira: StandIn::start(jira(false)).await,
            servicenow: StandIn::start(servicenow()).await,
            aws: StandIn::start(aws_iam()).await,
        }
    }
}

/// A fixture alert, parsed.
pub fn fixture_alert(name: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join("fixtures/alerts").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The phishing alert with an internal sender, so the sender-disabling playbook has work to do.
pub fn internal_phishing_alert() -> Value {
    let mut alert = fixture_alert("graph-phishing-url.json");
    let text = serde_json::to_string(&alert).unwrap().replace(
        "payroll@fabrikam-payroll.example",
        "megan.bowen@contoso.com",
    );
    alert = serde_json::from_str(&text).unwrap();
    alert
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Standard base64 with padding (for expected Basic headers).
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
