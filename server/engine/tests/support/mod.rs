//! The engine under test: a real `riposte serve` engine (API, workers) on 127.0.0.1:0 over a
//! real store, SQLite in a temporary folder or a fresh database on the PostgreSQL server named by
//! `RIPOSTE_TEST_POSTGRES_URL`, spoken to over real HTTP. Every answer body is kept so a test can
//! assert that no secret appears in any of them.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use riposte_engine::EngineOptions;
use riposte_engine::api::{DEFAULT_BODY_LIMIT, Tokens};
use riposte_engine::secrets::SecretBox;
use riposte_engine::serve::{Running, ServeOptions, start};
use serde_json::Value;

pub const ADMIN: &str = "test-admin-token-0123456789";
pub const READ: &str = "test-read-token-0123456789";
pub const KEY_HEX: &str = "5c1e0a7d3b9f24681ace0b2d4f6a8c1e3b5d7f9021436587a9cbedf012345678";

/// Where the store lives.
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// The PostgreSQL server for tests, or `None` (loudly) when there is none; under `CI` a
    /// missing server fails the test instead.
    pub fn postgres() -> Option<Backend> {
        match std::env::var("RIPOSTE_TEST_POSTGRES_URL") {
            Ok(url) if !url.trim().is_empty() => Some(Backend::Postgres(url)),
            _ => {
                if std::env::var_os("CI").is_some() {
                    panic!(
                        "CI is set but RIPOSTE_TEST_POSTGRES_URL is not: start PostgreSQL with scripts/postgres.sh"
                    );
                }
                eprintln!(
                    "\n*** SKIPPED: RIPOSTE_TEST_POSTGRES_URL is not set, the PostgreSQL variant of this test did not run ***\n"
                );
                None
            }
        }
    }

    /// A store URL of its own for one test.
    pub async fn fresh_url(&self, dir: &Path) -> String {
        match self {
            Backend::Sqlite => format!("sqlite:{}", dir.join("engine.db").display()),
            Backend::Postgres(server) => {
                use sqlx::Connection as _;
                sqlx::any::install_default_drivers();
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .subsec_nanos();
                let name = format!(
                    "riposte_test_{}_{}_{nanos}",
                    std::process::id(),
                    COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                );
                let mut conn = sqlx::AnyConnection::connect(server)
                    .await
                    .expect("connect to RIPOSTE_TEST_POSTGRES_URL");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create a test database");
                let mut url = url::Url::parse(server).expect("a postgres:// URL");
                url.set_path(&format!("/{name}"));
                url.to_string()
            }
        }
    }
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// One engine, its workspace folder and an HTTP client.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub db: String,
    pub running: Option<Running>,
    pub client: reqwest::Client,
    /// Every answer body received.
    pub bodies: Mutex<Vec<String>>,
}

/// How to start the engine.
pub struct Setup {
    pub riposte_toml: String,
    pub workers: usize,
    pub key: bool,
    pub lease: Duration,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            riposte_toml: String::new(),
            workers: 1,
            key: true,
            lease: Duration::from_secs(10),
        }
    }
}

/// An answer: status and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }
}

impl Harness {
    pub async fn start(backend: &Backend, setup: Setup) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("riposte.toml"), &setup.riposte_toml).unwrap();
        let db = backend.fresh_url(dir.path()).await;
        let mut harness = Harness {
            dir,
            url: String::new(),
            db,
            running: None,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            bodies: Mutex::new(Vec::new()),
        };
        harness.boot(&setup).await;
        harness
    }

    async fn boot(&mut self, setup: &Setup) {
        let running = start(ServeOptions {
            db: self.db.clone(),
            listen: Some("127.0.0.1:0".parse().unwrap()),
            workers: setup.workers,
            tokens: Tokens {
                admin: Some(ADMIN.into()),
                read: Some(READ.into()),
            },
            engine: EngineOptions {
                workspace: self.dir.path().to_path_buf(),
                key: setup.key.then(|| SecretBox::from_text(KEY_HEX).unwrap()),
                lease: setup.lease,
                max_attempts: 3,
            },
            body_limit: DEFAULT_BODY_LIMIT,
            poller: None,
        })
        .await
        .expect("the engine starts");
        self.url = format!("http://{}", running.addr.unwrap());
        self.running = Some(running);
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    pub fn engine(&self) -> &riposte_engine::Engine {
        &self.running.as_ref().unwrap().engine
    }

    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.expect("the engine answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        self.bodies.lock().unwrap().push(text.clone());
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, body, text }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.request(reqwest::Method::GET, path, Some(ADMIN), None)
            .await
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> Answer {
        self.request(
            method,
            path,
            Some(ADMIN),
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Answer {
        self.send(reqwest::Method::PUT, path, body).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(reqwest::Method::POST, path, body).await
    }

    pub async fn post_empty(&self, path: &str) -> Answer {
        self.request(reqwest::Method::POST, path, Some(ADMIN), None)
            .await
    }

    /// Saves and activates a playbook; returns the version.
    pub async fn deploy(&self, name: &str, source: &str) -> u64 {
        let saved = self
            .put(
                &format!("/api/playbooks/{name}"),
                &serde_json::json!({"source": source}),
            )
            .await;
        assert_eq!(saved.status, 201, "{}", saved.text);
        let version = saved.body["version"].as_u64().unwrap();
        let activated = self
            .post_empty(&format!(
                "/api/playbooks/{name}/versions/{version}/activate"
            ))
            .await;
        assert_eq!(activated.status, 200, "{}", activated.text);
        version
    }

    /// Waits until the run is finished (or the time is up) and returns it.
    pub async fn wait_run(&self, id: i64) -> Value {
        for _ in 0..600 {
            let run = self.get(&format!("/api/runs/{id}")).await;
            let state = run.body["state"].as_str().unwrap_or_default().to_string();
            if state == "succeeded" || state == "failed" {
                return run.body;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("run {id} did not finish in 60 s");
    }

    /// Asserts that no answer so far contained any of `secrets`.
    pub fn assert_no_secret(&self, secrets: &[&str]) {
        let bodies = self.bodies.lock().unwrap();
        assert!(!bodies.is_empty());
        for body in bodies.iter() {
            for secret in secrets {
                assert!(
                    !body.contains(secret),
                    "a response carried a secret: {body}"
                );
            }
        }
    }
}

pub fn fixture_alert(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/alerts")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs a test body against SQLite, then against PostgreSQL when a server is configured.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::support::Backend::Sqlite).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(backend) = $crate::support::Backend::postgres() {
                        super::$name(backend).await;
                    }
                }
            }
        )*
    };
}
