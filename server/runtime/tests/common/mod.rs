//! Shared by the `auth_*` tests: loopback servers that record what they receive and answer what
//! the test's check decides, profiles, secrets, and the Python test tools.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use riposte_core::catalog::HttpMethod;
use riposte_core::formats::profile::Profile;
use riposte_runtime::http::{HttpConfig, Integrations, OutgoingRequest, RequestBody};
use riposte_runtime::secrets::{MapSecrets, SecretSource};

/// What a loopback server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
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

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.target.split_once('?')?.1;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn json(status: u16, value: serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(&value).unwrap(),
        }
    }

    pub fn text(status: u16, text: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: text.as_bytes().to_vec(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

type Check = dyn Fn(&Received) -> Reply + Send + Sync;

/// A loopback HTTP server (axum) that records every request and answers with `check`'s reply.
/// `check` runs on a blocking thread, so it may start a Python process.
pub struct Server {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Server {
    pub async fn start(check: impl Fn(&Received) -> Reply + Send + Sync + 'static) -> Self {
        let check: Arc<Check> = Arc::new(check);
        let received = Arc::new(Mutex::new(Vec::new()));
        let recorded = received.clone();
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let check = check.clone();
            let recorded = recorded.clone();
            async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, 64 * 1024 * 1024)
                    .await
                    .unwrap_or_default()
                    .to_vec();
                let got = Received {
                    method: parts.method.to_string(),
                    target: parts
                        .uri
                        .path_and_query()
                        .map(|pq| pq.to_string())
                        .unwrap_or_default(),
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
                let reply = tokio::task::spawn_blocking(move || check(&got))
                    .await
                    .unwrap_or_else(|_| Reply::text(500, "the test's check panicked"));
                let mut response = axum::response::Response::builder().status(reply.status);
                for (name, value) in &reply.headers {
                    response = response.header(name, value);
                }
                response.body(axum::body::Body::from(reply.body)).unwrap()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, received }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn hits(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    pub fn hits_on(&self, path: &str) -> usize {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path() == path)
            .count()
    }
}

/// A profile from TOML, which must be valid.
pub fn profile(toml: &str) -> Profile {
    let (profile, diagnostics) = Profile::parse(toml);
    profile.unwrap_or_else(|| panic!("invalid test profile: {diagnostics:?}\n{toml}"))
}

pub fn secrets(profile: &str, fields: &[(&str, &str)]) -> Arc<MapSecrets> {
    let map = MapSecrets::new();
    for (field, value) in fields {
        map.set(profile, *field, (*value).into());
    }
    Arc::new(map)
}

pub fn integrations(
    profiles: Vec<Profile>,
    secrets: Arc<dyn SecretSource>,
    config: HttpConfig,
) -> Integrations {
    Integrations::new(profiles, secrets, config).expect("HTTP client")
}

pub fn get(profile: &str, path: &str) -> OutgoingRequest {
    OutgoingRequest {
        profile: profile.into(),
        method: HttpMethod::Get,
        path: path.into(),
        query: Vec::new(),
        headers: Vec::new(),
        body: RequestBody::Empty,
        timeout: Some(Duration::from_secs(20)),
    }
}

pub fn post_json(profile: &str, path: &str, value: serde_json::Value) -> OutgoingRequest {
    OutgoingRequest {
        method: HttpMethod::Post,
        body: RequestBody::Json(value),
        ..get(profile, path)
    }
}

/// The repository (or scratch workspace) root: where `.venv` and `tests/runtime` live.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The test tools' Python (`<repo>/.venv/bin/python`, made by scripts/setup.sh). Missing is a
/// failure, not a skip: these tests are the independent check of our signatures.
pub fn python() -> PathBuf {
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup.sh (it creates .venv with botocore and mohawk from scripts/requirements-test.txt)",
        python.display()
    );
    python
}

/// Runs `tests/runtime/<script>` with `input` on stdin; returns (success, stdout).
pub fn run_python(script: &str, input: &serde_json::Value) -> (bool, String) {
    use std::io::Write;
    let path = repo_root().join("tests/runtime").join(script);
    let mut child = Command::new(python())
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {}: {err}", path.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "{script}: {stderr}\nrun scripts/setup.sh to install the Python test tools"
    );
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() && stdout.is_empty() {
        panic!("{script} failed: {stderr}");
    }
    (output.status.success(), stdout)
}

/// Asserts `text` holds none of `secrets`.
pub fn assert_no_secret(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "a secret leaked into: {text}\n(secret: {secret})"
        );
    }
}
