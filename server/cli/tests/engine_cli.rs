//! The engine's clients end to end: a real `riposte serve` (SQLite in a temp folder, an admin
//! token, loopback) and the real `riposte` binary as a user runs it — `riposte deploy`, `riposte
//! rule …`, `riposte runs` — and `riposte lsp`'s `riposte.save` / `riposte.deploy` and engine
//! views. A fixture alert posted to the engine must show up as a run everywhere.

// Shared with lsp_e2e.rs, which uses more of it.
#[allow(dead_code)]
#[path = "lsp_e2e/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use riposte_engine_client::client::{BlockingClient, EngineTarget, Token};
use serde_json::{Value, json};

const TOKEN: &str = "fake-admin-token-for-tests";

const HELLO: &str = r#""""Comment on every alert about a malicious URL."""
from riposte import Alert, Context


def run(alert: Alert, ctx: Context) -> None:
    ctx.comment(f"seen by riposte: {alert.title}")
"#;

const RULE: &str = r#"name = "hello-url"
order = 10

[[conditions]]
field = "title"
operator = "contains"
value = "malicious URL"

[[actions]]
type = "run_playbook"
playbook = "hello"
"#;

/// A workspace with one clean playbook, one with an error, and one rule.
fn workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap().join("ws");
    std::fs::create_dir_all(root.join("playbooks")).unwrap();
    std::fs::create_dir_all(root.join("rules")).unwrap();
    std::fs::write(root.join("riposte.toml"), "").unwrap();
    std::fs::write(root.join("playbooks/hello.py"), HELLO).unwrap();
    std::fs::write(root.join("rules/hello-url.toml"), RULE).unwrap();
    (dir, root)
}

/// `riposte serve` on a free loopback port, killed when dropped.
struct Engine {
    child: Child,
    url: String,
}

impl Engine {
    fn start(workspace: &Path, store: &Path) -> Engine {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_riposte"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--db")
            .arg(format!("sqlite:{}", store.join("engine.db").display()))
            .arg("--workspace")
            .arg(workspace)
            .env("RIPOSTE_ENGINE_TOKEN", TOKEN)
            .env_remove("RIPOSTE_ENGINE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("riposte serve starts");
        let engine = Engine { child, url };
        let client = engine.client(Some(TOKEN));
        let deadline = Instant::now() + Duration::from_secs(60);
        while client.block_on(client.client().health()).is_err() {
            assert!(Instant::now() < deadline, "riposte serve did not answer");
            std::thread::sleep(Duration::from_millis(100));
        }
        engine
    }

    fn client(&self, token: Option<&str>) -> BlockingClient {
        BlockingClient::new(&EngineTarget::new(&self.url, token.and_then(Token::new))).unwrap()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn riposte(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Outcome {
    let output = Command::new(env!("CARGO_BIN_EXE_riposte"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RIPOSTE_ENGINE_URL")
        .env_remove("RIPOSTE_ENGINE_TOKEN")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let outcome = Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(
        !outcome.stdout.contains(TOKEN) && !outcome.stderr.contains(TOKEN),
        "the token reached the output of riposte {args:?}"
    );
    outcome
}

fn alert_with_id(id: &str) -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/alerts/graph-phishing-url.json");
    let mut alert: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    alert["id"] = json!(id);
    alert
}

/// Waits until the engine's run for `alert` has finished, and answers its `riposte runs
/// --format json` entry.
fn finished_run(cwd: &Path, env: &[(&str, &str)], alert: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = riposte(&["runs", "--alert", alert, "--format", "json"], cwd, env);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let runs: Value = serde_json::from_str(&out.stdout).unwrap();
        if let Some(run) = runs
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["state"] == "succeeded" || r["state"] == "failed")
        {
            return run.clone();
        }
        assert!(Instant::now() < deadline, "no finished run: {runs:#}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn deploy_rule_alert_and_the_run_shows_in_riposte_runs() {
    let (_dir, root) = workspace();
    let store = tempfile::tempdir().unwrap();
    let engine = Engine::start(&root, store.path());
    let env = [
        ("RIPOSTE_ENGINE_URL", engine.url.as_str()),
        ("RIPOSTE_ENGINE_TOKEN", TOKEN),
    ];

    // Saved disabled first, then activated.
    let out = riposte(&["deploy", "playbooks/hello.py"], &root, &env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("hello: saved as version 1") && out.stdout.contains("(disabled)"),
        "{}",
        out.stdout
    );
    let out = riposte(&["deploy", "--activate", "--format", "json"], &root, &env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let saved: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(saved[0]["playbook"], "hello");
    assert_eq!(saved[0]["version"], 2);
    assert_eq!(saved[0]["state"], "active");
    let detail = engine.client(Some(TOKEN));
    let detail = detail.block_on(detail.client().playbook("hello")).unwrap();
    assert_eq!(detail.summary.active_version, Some(2));
    assert_eq!(detail.versions.len(), 2);

    let out = riposte(&["rule", "deploy"], &root, &env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("hello-url: saved"), "{}", out.stdout);
    let out = riposte(&["rule", "list"], &root, &env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("hello-url"))
        .unwrap();
    assert!(line.contains("yes") && line.ends_with("hello"), "{line}");

    let client = engine.client(Some(TOKEN));
    let intake = client
        .block_on(
            client
                .client()
                .post_alerts(&alert_with_id("cli-alert-1"), None),
        )
        .unwrap();
    assert_eq!(
        intake.results[0].matched_rules,
        vec!["hello-url".to_string()]
    );

    let run = finished_run(&root, &env, "cli-alert-1");
    assert_eq!(run["state"], "succeeded", "{run:#}");
    assert_eq!(run["playbook"], "hello");
    assert_eq!(run["playbook_version"], 2);
    let id = run["id"].as_i64().unwrap().to_string();

    let out = riposte(&["runs"], &root, &env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let row = out
        .stdout
        .lines()
        .find(|l| l.contains("cli-alert-1"))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(
        row.contains("succeeded") && row.contains("hello v2"),
        "{row}"
    );
    let out = riposte(&["runs", "--playbook", "other"], &root, &env);
    assert!(out.stdout.starts_with("no runs yet"), "{}", out.stdout);

    let out = riposte(&["runs", &id], &root, &env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("comment   seen by riposte: Email messages containing malicious URL"),
        "{}",
        out.stdout
    );

    // Rule changes, then the playbook is deactivated.
    let out = riposte(&["rule", "disable", "hello-url"], &root, &env);
    assert_eq!((out.code, out.stdout.trim()), (0, "hello-url: disabled"));
    let out = riposte(&["rule", "enable", "no-such-rule"], &root, &env);
    assert_eq!(out.code, 1, "a refusal is exit 1: {}", out.stderr);
    assert!(out.stderr.contains("404 not_found"), "{}", out.stderr);
    let out = riposte(
        &["deploy", "--deactivate", "playbooks/hello.py"],
        &root,
        &env,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let detail = engine.client(Some(TOKEN));
    let detail = detail.block_on(detail.client().playbook("hello")).unwrap();
    assert_eq!(detail.summary.active_version, None);
    let out = riposte(&["rule", "delete", "hello-url"], &root, &env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = riposte(&["rule", "list", "--format", "json"], &root, &env);
    assert_eq!(out.stdout.trim(), "[]");
}

#[test]
fn runs_follow_prints_a_new_run_as_it_happens() {
    use std::io::{BufRead as _, BufReader};
    let (_dir, root) = workspace();
    let store = tempfile::tempdir().unwrap();
    let engine = Engine::start(&root, store.path());
    let env = [
        ("RIPOSTE_ENGINE_URL", engine.url.as_str()),
        ("RIPOSTE_ENGINE_TOKEN", TOKEN),
    ];
    assert_eq!(riposte(&["deploy", "--activate"], &root, &env).code, 0);
    assert_eq!(riposte(&["rule", "deploy"], &root, &env).code, 0);

    let mut follow = Command::new(env!("CARGO_BIN_EXE_riposte"))
        .args(["runs", "--follow", "--format", "json"])
        .current_dir(&root)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = follow.stdout.take().unwrap();
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let client = engine.client(Some(TOKEN));
    client
        .block_on(
            client
                .client()
                .post_alerts(&alert_with_id("follow-alert"), None),
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut states = Vec::new();
    while !states.contains(&"succeeded".to_string()) {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no succeeded run followed; saw {states:?}"));
        let run: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(run["alert_id"], "follow-alert");
        states.push(run["state"].as_str().unwrap().to_string());
    }
    let _ = follow.kill();
    let _ = follow.wait();
}

#[test]
fn refusals_come_before_the_engine_and_say_what_to_do() {
    let (_dir, root) = workspace();
    std::fs::write(
        root.join("playbooks/broken.py"),
        "from riposte import Alert, Context\nimport requests\n\ndef nope(alert: Alert, ctx: Context) -> None:\n    pass\n",
    )
    .unwrap();
    // Nothing listens here: an error-level playbook is refused before any request.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nowhere = format!("http://127.0.0.1:{port}");
    let out = riposte(
        &["deploy", "playbooks/broken.py", "--engine", &nowhere],
        &root,
        &[],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("broken: not saved"), "{}", out.stderr);
    assert!(
        out.stderr.contains("RP0"),
        "the diagnostics are shown: {}",
        out.stderr
    );

    let out = riposte(
        &["deploy", "playbooks/hello.py", "--engine", &nowhere],
        &root,
        &[],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "cannot reach the engine at {nowhere} — is `riposte serve` running?"
        )),
        "{}",
        out.stderr
    );
    let out = riposte(
        &["runs"],
        &root,
        &[("RIPOSTE_ENGINE_URL", "127.0.0.1:7878")],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("write it with its scheme"),
        "{}",
        out.stderr
    );

    // `riposte rule CODE` still explains check rules, and a subcommand is not a code.
    let out = riposte(&["rule", "RP003"], &root, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("RP003"), "{}", out.stdout);
    let out = riposte(&["rule", "list", "RP003"], &root, &[]);
    assert_eq!(out.code, 2, "list takes no code: {}", out.stderr);

    let store = tempfile::tempdir().unwrap();
    let engine = Engine::start(&root, store.path());
    let out = riposte(
        &["runs"],
        &root,
        &[
            ("RIPOSTE_ENGINE_URL", engine.url.as_str()),
            ("RIPOSTE_ENGINE_TOKEN", "fake-wrong-token"),
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("refused the token (401"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("fake-wrong-token"));
}

// ---------------------------------------------------------------------------------------------
// The language server

fn execute(server: &mut harness::Server, command: &str, argument: Value) -> Value {
    server.request(
        "workspace/executeCommand",
        json!({ "command": command, "arguments": [argument] }),
    )
}

#[test]
fn the_language_server_saves_deploys_and_shows_the_engine() {
    let (_dir, root) = workspace();
    let store = tempfile::tempdir().unwrap();
    let engine = Engine::start(&root, store.path());
    // The token comes from the editor's secret store through `riposte/secret`.
    let mut server = harness::Server::start(
        &root,
        harness::Options {
            secrets: vec![((String::new(), "token".into()), TOKEN.into())],
            env: vec![("RIPOSTE_ENGINE_URL".into(), engine.url.clone())],
            ..harness::Options::default()
        },
    );
    let path = root.join("playbooks/hello.py");
    // The buffer is ahead of the file: the buffer is what is saved.
    let edited = HELLO.replace("seen by riposte", "seen from the editor");
    let uri = server.open(&path, "python", &edited);

    let saved = execute(&mut server, "riposte.save", json!({ "uri": uri }));
    let result = &saved["result"];
    assert_eq!(result["status"], "disabled", "{saved:#}");
    assert_eq!(result["version"], 1);
    assert_eq!(result["engine"], engine.url.as_str());
    let asked: Vec<&Value> = server
        .server_requests
        .iter()
        .filter(|r| r["method"] == "riposte/secret")
        .collect();
    assert_eq!(
        asked[0]["params"],
        json!({ "engine": engine.url, "field": "token" })
    );
    let client = engine.client(Some(TOKEN));
    let stored = client
        .block_on(client.client().playbook_version("hello", 1))
        .unwrap();
    assert!(stored.source.contains("seen from the editor"));
    assert!(
        stored.docs.contains("```mermaid"),
        "docs are sent: {}",
        stored.docs
    );
    assert!(!stored.summary.active);

    let deployed = execute(&mut server, "riposte.deploy", json!({ "uri": uri }));
    assert_eq!(deployed["result"]["status"], "active", "{deployed:#}");
    assert_eq!(deployed["result"]["version"], 2);

    // A playbook with errors is refused with them, and nothing is stored.
    let broken = server.open(
        &root.join("playbooks/broken.py"),
        "python",
        "from riposte import Alert, Context\n\ndef nope(alert: Alert, ctx: Context) -> None:\n    pass\n",
    );
    let refused = execute(&mut server, "riposte.save", json!({ "uri": broken }));
    assert_eq!(refused["error"]["code"], -32803, "{refused:#}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("broken is not saved: it has"),
        "{message}"
    );
    assert!(
        !refused["error"]["data"]["diagnostics"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let list = client.block_on(client.client().list_playbooks()).unwrap();
    assert_eq!(list.playbooks.len(), 1);

    // The views' data.
    let rule = client.block_on(client.client().save_rule(
        "hello-url",
        &riposte_engine_client::wire::SaveRule {
            toml: Some(RULE.into()),
            rule: None,
        },
    ));
    assert!(rule.unwrap().enabled);
    client
        .block_on(
            client
                .client()
                .post_alerts(&alert_with_id("lsp-alert"), None),
        )
        .unwrap();
    let playbooks = execute(&mut server, "riposte.engine.playbooks", json!({}));
    let hello = &playbooks["result"]["playbooks"][0];
    assert_eq!(hello["name"], "hello", "{playbooks:#}");
    assert_eq!(hello["active_version"], 2);
    assert_eq!(hello["versions"].as_array().unwrap().len(), 2);
    let rules = execute(&mut server, "riposte.engine.rules", json!({}));
    assert_eq!(
        rules["result"]["rules"][0]["name"], "hello-url",
        "{rules:#}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let run = loop {
        let runs = execute(
            &mut server,
            "riposte.engine.runs",
            json!({ "alert": "lsp-alert" }),
        );
        let runs = runs["result"]["runs"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if let Some(run) = runs.iter().find(|r| r["state"] == "succeeded") {
            break run.clone();
        }
        assert!(Instant::now() < deadline, "no run: {runs:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let detail = execute(
        &mut server,
        "riposte.engine.run",
        json!({ "id": run["id"] }),
    );
    assert_eq!(
        detail["result"]["record"]["status"], "succeeded",
        "{detail:#}"
    );
    let activity = execute(
        &mut server,
        "riposte.engine.activity",
        json!({ "alert": "lsp-alert" }),
    );
    let kinds: Vec<&str> = activity["result"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"comment"), "{kinds:?}");

    let off = execute(
        &mut server,
        "riposte.engine.deactivate",
        json!({ "name": "hello" }),
    );
    assert_eq!(off["result"]["status"], "inactive", "{off:#}");
    let on = execute(
        &mut server,
        "riposte.engine.activate",
        json!({ "name": "hello" }),
    );
    assert_eq!(on["result"]["version"], 2, "{on:#}");

    // Without the token the engine's refusal is shown in its words.
    let anonymous = execute(
        &mut server,
        "riposte.engine.deactivate",
        json!({ "name": "hello", "engineUrl": format!("{}/", engine.url) }),
    );
    assert!(
        anonymous["result"].is_object(),
        "the same engine: {anonymous:#}"
    );
    let transcript = server.transcript.lock().unwrap().clone();
    assert!(!transcript.contains(TOKEN), "the token reached a message");
}

#[test]
fn the_language_server_says_when_the_engine_is_not_there() {
    let (_dir, root) = workspace();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = harness::Server::start(&root, harness::Options::default());
    let uri = harness::uri(&root.join("playbooks/hello.py"));
    let nowhere = format!("http://127.0.0.1:{port}");
    let response = execute(
        &mut server,
        "riposte.save",
        json!({ "uri": uri, "engineUrl": nowhere }),
    );
    assert_eq!(response["error"]["code"], -32803, "{response:#}");
    let message = response["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "cannot reach the engine at {nowhere} — is `riposte serve` running?"
        )),
        "{message}"
    );
}
