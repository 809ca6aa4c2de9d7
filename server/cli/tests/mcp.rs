//! `riposte mcp` end to end: the real binary on stdin/stdout, spoken to in raw JSON-RPC lines as
//! an MCP client would (initialize, tools/list, tool calls), with a secret planted in its
//! environment that no answer may contain; malformed lines do not end the session; `save` against
//! a dead engine is a tool error, not a success. (The tools' behaviour in depth, with rmcp's own
//! client, is in `server/mcp/tests/`.)

#[path = "../../../tests/runtime/standins.rs"]
mod standins;

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};
use standins::*;

/// Long enough for a cold dry run of a playbook on a busy machine.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

struct Session {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    next_id: u64,
}

impl Session {
    fn start(args: &[&str], cwd: &std::path::Path, env: &[(String, String)]) -> Session {
        let mut child = Command::new(env!("CARGO_BIN_EXE_riposte"))
            .arg("mcp")
            .args(args)
            .current_dir(cwd)
            .env_remove("RIPOSTE_ENGINE_URL")
            .envs(env.iter().cloned())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut session = Session {
            child,
            stdin,
            lines,
            next_id: 0,
        };
        let init = session.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "riposte-e2e", "version": "0"}
            }),
        );
        assert_eq!(init["result"]["serverInfo"]["name"], "riposte", "{init}");
        assert!(
            init["result"]["capabilities"]["tools"].is_object(),
            "{init}"
        );
        session.send_line(
            &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
        );
        session
    }

    fn send_line(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).unwrap();
        self.stdin.write_all(b"\n").unwrap();
        self.stdin.flush().unwrap();
    }

    /// The next line the server writes, as JSON; no planted secret may be in it.
    fn read(&mut self) -> Value {
        let line = self
            .lines
            .recv_timeout(ANSWER_TIMEOUT)
            .expect("the server answered in time");
        assert!(
            !line.contains(secrets::SENTINEL),
            "a secret reached the MCP client: {line}"
        );
        serde_json::from_str(&line).unwrap_or_else(|err| panic!("{err}: {line}"))
    }

    /// Sends a request and returns the response with its id (skipping notifications).
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send_line(
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string(),
        );
        loop {
            let message = self.read();
            if message["id"] == json!(id) {
                return message;
            }
        }
    }

    /// Calls a tool: (is it a tool error, its text).
    fn call(&mut self, tool: &str, arguments: Value) -> (bool, String) {
        let response = self.request("tools/call", json!({"name": tool, "arguments": arguments}));
        let result = &response["result"];
        assert!(result.is_object(), "{tool}: {response}");
        let text = result["content"][0]["text"]
            .as_str()
            .unwrap_or_else(|| panic!("{tool}: {response}"))
            .to_owned();
        (result["isError"] == json!(true), text)
    }

    /// Closes stdin and expects the server to exit cleanly.
    fn finish(mut self) {
        drop(self.stdin);
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut stderr = String::new();
                if let Some(mut pipe) = self.child.stderr.take() {
                    std::io::Read::read_to_string(&mut pipe, &mut stderr).unwrap();
                }
                assert!(!stderr.contains(secrets::SENTINEL), "{stderr}");
                assert!(
                    status.success(),
                    "riposte mcp exited with {status}: {stderr}"
                );
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("riposte mcp did not exit after its stdin closed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_client_lists_tools_validates_tests_and_cannot_fake_a_save() {
    let vt = StandIn::start(virustotal(Vec::new())).await;
    let ws = DemoWorkspace::new();
    ws.point("virustotal.toml", &format!("{}/api/v3", vt.url), None);
    ws.add_alert("phish.json", &fixture_alert("graph-phishing-url.json"));
    let bad = repo_root().join("fixtures/playbooks/bad/RP006-unknown-endpoint.py");
    ws.add_playbook(
        "unknown-endpoint.py",
        &std::fs::read_to_string(bad).unwrap(),
    );
    // Point the workspace's engine at a port where nothing listens.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let config = std::fs::read_to_string(ws.root().join("riposte.toml")).unwrap();
    let config = config.replace("http://127.0.0.1:8787", &dead);
    std::fs::write(ws.root().join("riposte.toml"), config).unwrap();

    // Started inside the workspace (found from the current folder), the planted secrets in its
    // environment as a user's shell would have them.
    let playbooks = ws.root().join("playbooks");
    let mut session =
        tokio::task::block_in_place(|| Session::start(&[], &playbooks, &secrets::env()));

    let listed = session.request("tools/list", json!({}));
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for tool in [
        "validate",
        "docs",
        "list_integrations",
        "describe_integration",
        "get_alert_schema",
        "test",
        "save",
    ] {
        assert!(names.contains(&tool), "{tool} missing: {names:?}");
    }

    let (is_error, text) =
        session.call("validate", json!({"path": "playbooks/unknown-endpoint.py"}));
    assert!(!is_error, "{text}");
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["diagnostics"][0]["code"], "RP006", "{report:#}");
    assert_eq!(report["diagnostics"][0]["range"]["start"]["line"], 8);

    let (is_error, text) = session.call("describe_integration", json!({"name": "VirusTotal"}));
    assert!(!is_error, "{text}");
    assert!(text.contains("/urls/{id}"), "{text}");

    let (is_error, text) = tokio::task::block_in_place(|| {
        session.call(
            "test",
            json!({"path": "playbooks/vt-url-enrichment.py", "alert_path": "alerts/phish.json"}),
        )
    });
    assert!(!is_error, "{text}");
    let record: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(record["status"], "succeeded", "{record:#}");
    assert_eq!(record["dry_run"], true);
    assert!(
        vt.received()
            .iter()
            .all(|r| r.header("x-apikey") == Some(secrets::VT_API_KEY)),
        "the host signed the reads with the key from the environment"
    );

    let (is_error, text) = session.call(
        "test",
        json!({"path": "playbooks/vt-url-enrichment.py", "alert_path": "alerts/phish.json", "dry_run": false}),
    );
    assert!(is_error && text.contains("--allow-real-runs"), "{text}");

    let (is_error, text) = session.call("save", json!({"path": "playbooks/vt-url-enrichment.py"}));
    assert!(is_error, "save without an engine must fail: {text}");
    assert!(text.contains("cannot reach the engine"), "{text}");

    session.finish();
}

#[test]
fn malformed_lines_do_not_end_the_session() {
    let ws = DemoWorkspace::new();
    let mut session = Session::start(
        &["--workspace", &ws.root().display().to_string()],
        std::path::Path::new("/"),
        &[],
    );
    // Not JSON: rmcp skips the line without an answer (there is no id to answer to).
    session.send_line("this is not json {");
    session.send_line("\u{7f}\u{1}\u{2}");
    // JSON, but not a JSON-RPC message: answered with -32600.
    session.send_line(r#"{"jsonrpc": "2.0", "id": 99, "method": 5}"#);
    let invalid = session.read();
    assert_eq!(invalid["error"]["code"], -32600, "{invalid}");
    // An unknown method and an unknown tool get errors, and the session goes on.
    let unknown = session.request("no/such/method", json!({}));
    assert!(unknown["error"]["code"].is_i64(), "{unknown}");
    let (is_error, text) = session.call("get_alert_schema", json!({}));
    assert!(!is_error, "{text}");
    assert!(text.contains("entity_kinds"), "{text}");
    session.finish();
}

#[test]
fn outside_a_workspace_it_says_how_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_riposte"))
        .arg("mcp")
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--workspace"), "{stderr}");
    assert!(output.stdout.is_empty(), "nothing but protocol on stdout");
}

/// `riposte serve` on a free loopback port (SQLite in a temporary folder), killed when dropped.
struct Engine {
    child: Child,
    url: String,
    _store: tempfile::TempDir,
}

impl Engine {
    fn start(workspace: &std::path::Path, token: &str) -> Engine {
        let store = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_riposte"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--db")
            .arg(format!(
                "sqlite:{}",
                store.path().join("engine.db").display()
            ))
            .arg("--workspace")
            .arg(workspace)
            .env("RIPOSTE_ENGINE_TOKEN", token)
            .env_remove("RIPOSTE_ENGINE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("riposte serve starts");
        let engine = Engine {
            child,
            url,
            _store: store,
        };
        let client = engine.client(token);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while client.block_on(client.client().health()).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "riposte serve did not answer"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        engine
    }

    fn client(&self, token: &str) -> riposte_engine_client::client::BlockingClient {
        use riposte_engine_client::client::{BlockingClient, EngineTarget, Token};
        BlockingClient::new(&EngineTarget::new(&self.url, Token::new(token))).unwrap()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn save_stores_a_disabled_version_on_a_real_engine() {
    let token = "engine-token-s3ntinel-31f0";
    let ws = DemoWorkspace::new();
    let engine = Engine::start(ws.root(), token);
    let env = vec![
        ("RIPOSTE_ENGINE_URL".to_string(), engine.url.clone()),
        ("RIPOSTE_ENGINE_TOKEN".to_string(), token.to_string()),
    ];
    let mut session = Session::start(
        &["--workspace", &ws.root().display().to_string()],
        ws.root(),
        &env,
    );
    let (is_error, text) = session.call("save", json!({"path": "playbooks/vt-url-enrichment.py"}));
    assert!(!is_error, "{text}");
    let saved: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(saved["name"], "vt-url-enrichment", "{saved:#}");
    assert_eq!(saved["version"], 1, "{saved:#}");
    assert_eq!(saved["active"], false, "{saved:#}");
    assert_eq!(saved["errors"], 0, "{saved:#}");
    let (is_error, text) = session.call("save", json!({"path": "playbooks/vt-url-enrichment.py"}));
    assert!(!is_error, "{text}");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["version"], 2);
    session.finish();

    // What the engine holds: the file as it is, never activated by the model.
    let client = engine.client(token);
    let detail = client
        .block_on(client.client().playbook("vt-url-enrichment"))
        .unwrap();
    assert_eq!(detail.summary.active_version, None);
    assert_eq!(detail.summary.latest_version, 2);
    let version = client
        .block_on(client.client().playbook_version("vt-url-enrichment", 2))
        .unwrap();
    assert_eq!(
        version.source,
        std::fs::read_to_string(ws.playbook("vt-url-enrichment.py")).unwrap()
    );
    assert!(version.docs.contains("```mermaid"), "{}", version.docs);
}
