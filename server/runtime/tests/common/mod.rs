//! Shared by the `auth_*` tests: loopback servers (the stand-ins' recording server from
//! `tests/runtime/standins.rs`) that answer what the test's check decides, profiles, secrets, and
//! the Python test tools.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use riposte_core::catalog::HttpMethod;
use riposte_core::formats::profile::Profile;
use riposte_runtime::http::{HttpConfig, Integrations, OutgoingRequest, RequestBody};
use riposte_runtime::secrets::{MapSecrets, SecretSource};

#[path = "../../../../tests/runtime/standins.rs"]
mod standins;

pub use standins::{Received, Reply, StandIn};

/// A loopback HTTP server that records every request and answers with `check`'s reply (run on a
/// blocking thread, so it may start a Python process).
pub async fn serve(check: impl Fn(&Received) -> Reply + Send + Sync + 'static) -> StandIn {
    StandIn::start(Arc::new(check)).await
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
