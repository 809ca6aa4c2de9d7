//! A small LSP client for the end-to-end tests: starts the real `riposte lsp`, speaks
//! `Content-Length` framed JSON-RPC over its stdio, answers the server's own requests, and waits
//! for messages with timeouts (a hung server fails a test; it never hangs the suite).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const TIMEOUT: Duration = Duration::from_secs(60);

/// How the test client answers `workspace/configuration`.
#[derive(Clone)]
pub enum Configuration {
    /// With this `riposte` section.
    Answer(Value),
    /// Never: the server must time out and go on.
    Never,
}

pub struct Options {
    pub capabilities: Value,
    pub initialization_options: Value,
    pub configuration: Configuration,
    pub env: Vec<(String, String)>,
    pub args: Vec<String>,
    /// How the client answers `riposte/secret`: `(profile, field)` → value; anything else gets
    /// `null`.
    pub secrets: Vec<((String, String), String)>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            capabilities: json!({}),
            initialization_options: json!({ "debounceMs": 0 }),
            configuration: Configuration::Answer(Value::Null),
            env: Vec::new(),
            args: Vec::new(),
            secrets: Vec::new(),
        }
    }
}

pub struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    messages: Receiver<Value>,
    next_id: i64,
    configuration: Configuration,
    secrets: Vec<((String, String), String)>,
    /// Every message the server sent, as it came (bodies, in order).
    pub transcript: Arc<Mutex<String>>,
    /// Requests the server sent to the client, in order.
    pub server_requests: Vec<Value>,
    /// Notifications seen while waiting for something else.
    pub backlog: Vec<Value>,
    pub stderr: Arc<Mutex<String>>,
    pub initialize_result: Value,
}

/// A copy of the demo workspace, at a canonical path (URIs must match what the server resolves).
pub fn demo_workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let root = dir.path().canonicalize().unwrap().join("workspace");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/workspace"),
        &root,
    );
    (dir, root)
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

pub fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

pub fn fixture(relative: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures")
            .join(relative),
    )
    .unwrap()
}

impl Server {
    /// Starts `riposte lsp` and runs `initialize` / `initialized` with a workspace folder.
    pub fn start(root: &Path, options: Options) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_riposte"));
        command
            .arg("lsp")
            .args(&options.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("RIPOSTE_LOG");
        for (key, value) in &options.env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("riposte lsp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let stderr_pipe = child.stderr.take().unwrap();
        let (sender, messages) = mpsc::channel();
        let transcript = Arc::new(Mutex::new(String::new()));
        {
            let transcript = Arc::clone(&transcript);
            std::thread::spawn(move || read_messages(stdout, sender, &transcript));
        }
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let stderr = Arc::clone(&stderr);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
                    let mut all = stderr.lock().unwrap();
                    all.push_str(&line);
                    all.push('\n');
                }
            });
        }
        let mut server = Server {
            child,
            stdin: Some(stdin),
            messages,
            next_id: 0,
            configuration: options.configuration.clone(),
            secrets: options.secrets.clone(),
            transcript,
            server_requests: Vec::new(),
            backlog: Vec::new(),
            stderr,
            initialize_result: Value::Null,
        };
        let response = server.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": uri(root),
                "workspaceFolders": [{ "uri": uri(root), "name": "workspace" }],
                "capabilities": options.capabilities,
                "initializationOptions": options.initialization_options,
            }),
        );
        server.initialize_result = response["result"].clone();
        assert!(
            server.initialize_result.is_object(),
            "initialize failed: {response}"
        );
        server.notify("initialized", json!({}));
        server
    }

    pub fn send(&mut self, message: &Value) {
        let body = serde_json::to_vec(message).unwrap();
        self.send_raw(
            &[
                format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes(),
                &body,
            ]
            .concat(),
        );
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(bytes).expect("the server reads its stdin");
        stdin.flush().unwrap();
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Sends a request and returns the whole response message (`result` or `error`).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params);
        self.response(id)
    }

    pub fn send_request(&mut self, method: &str, params: Value) -> i64 {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        id
    }

    pub fn response(&mut self, id: i64) -> Value {
        self.wait(&format!("the response to request {id}"), |message| {
            message.get("id") == Some(&json!(id)) && message.get("method").is_none()
        })
    }

    /// Waits for a message the predicate accepts, answering server requests meanwhile; other
    /// messages go to the backlog.
    pub fn wait(&mut self, what: &str, mut accept: impl FnMut(&Value) -> bool) -> Value {
        self.wait_for(what, TIMEOUT, &mut accept)
            .unwrap_or_else(|| {
                panic!(
                    "timed out waiting for {what}; stderr:\n{}",
                    self.stderr.lock().unwrap()
                )
            })
    }

    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        accept: &mut dyn FnMut(&Value) -> bool,
    ) -> Option<Value> {
        if let Some(index) = self.backlog.iter().position(&mut *accept) {
            return Some(self.backlog.remove(index));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = match self.messages.recv_timeout(left) {
                Ok(message) => message,
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "the server exited while waiting for {what}; stderr:\n{}",
                    self.stderr.lock().unwrap()
                ),
            };
            if accept(&message) {
                return Some(message);
            }
            if message.get("method").is_some() && message.get("id").is_some() {
                self.answer(message);
            } else {
                self.backlog.push(message);
            }
        }
    }

    fn answer(&mut self, request: Value) {
        let id = request["id"].clone();
        let result = match request["method"].as_str().unwrap_or_default() {
            "workspace/configuration" => match &self.configuration {
                Configuration::Answer(section) => json!([section]),
                Configuration::Never => {
                    self.server_requests.push(request);
                    return;
                }
            },
            "workspace/applyEdit" => json!({ "applied": true }),
            "riposte/secret" => {
                let params = &request["params"];
                let key = (
                    params["profile"].as_str().unwrap_or_default().to_string(),
                    params["field"].as_str().unwrap_or_default().to_string(),
                );
                self.secrets
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map_or(Value::Null, |(_, value)| json!({ "value": value }))
            }
            _ => Value::Null,
        };
        self.server_requests.push(request);
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "result": result }));
    }

    /// Opens a document and returns its URI.
    pub fn open(&mut self, path: &Path, language: &str, text: &str) -> String {
        let uri = uri(path);
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": language, "version": 1, "text": text } }),
        );
        uri
    }

    /// The next `publishDiagnostics` for `uri` (of `version`, when given).
    pub fn diagnostics(&mut self, uri: &str, version: Option<i64>) -> Vec<Value> {
        let message = self.wait(
            &format!("diagnostics for {uri} (version {version:?})"),
            |message| {
                message["method"] == "textDocument/publishDiagnostics"
                    && message["params"]["uri"] == uri
                    && version.is_none_or(|v| message["params"]["version"] == v)
            },
        );
        message["params"]["diagnostics"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// `shutdown` then `exit`; returns how the process ended.
    pub fn shutdown(mut self) -> ExitStatus {
        let response = self.request("shutdown", Value::Null);
        assert!(response.get("error").is_none(), "{response}");
        self.notify("exit", Value::Null);
        self.wait_exit()
    }

    pub fn wait_exit(mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn close_stdin(mut self) -> ExitStatus {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit at the end of its input"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_messages(stdout: impl Read, sender: mpsc::Sender<Value>, transcript: &Mutex<String>) {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut length = None;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length:") {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let Some(length) = length else { return };
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        {
            let mut all = transcript.lock().unwrap();
            all.push_str(&String::from_utf8_lossy(&body));
            all.push('\n');
        }
        let message: Value = serde_json::from_slice(&body).expect("the server sends JSON");
        if sender.send(message).is_err() {
            return;
        }
    }
}

/// The `(line, character)` of a needle's first occurrence, in UTF-16 units.
pub fn position_of(text: &str, needle: &str) -> (u32, u32) {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the text"));
    let before = &text[..offset];
    let line = before.matches('\n').count() as u32;
    let column = before.rsplit('\n').next().unwrap().encode_utf16().count() as u32;
    (line, column)
}

pub fn at(uri: &str, (line, character): (u32, u32)) -> Value {
    json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } })
}
