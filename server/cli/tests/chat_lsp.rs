//! The chat relay end to end (`docs/chat-protocol.md`): the real `riposte lsp` over stdio, a test
//! client that plays the chat panel (it answers `riposte/chat/approve`, `switchToAct` and, for
//! `vscode-lm`, `riposte/lm/complete` itself), the scripted LLM stand-in on loopback
//! (`fixtures/llm/*.json`) and the demo workspace's API stand-ins. Every case also checks that
//! nothing the client received holds a planted secret or the model key.

// The harness serves several test files; this one uses part of it.
#[allow(dead_code)]
#[path = "lsp_e2e/harness.rs"]
mod harness;
#[path = "../../agent/tests/standin/mod.rs"]
mod standin;
#[path = "../../../tests/runtime/standins.rs"]
mod standins;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use harness::{Options, Server, uri};
use serde_json::{Value, json};
use standins::{Apis, DemoWorkspace, fixture_alert, repo_root, secrets};

const LLM_KEY: &str = "sk-standin-llm-key-s3ntinel-chat-51c0";
const MODEL: &str = "riposte-standin";
const VT_PROMPT: &str = "Comment VirusTotal verdicts for the URLs of an alert.";

/// Every model setting of the environment blanked (empty counts as unset), so only what a test
/// gives counts.
fn no_model_env() -> Vec<(String, String)> {
    standin::MODEL_ENV_VARS
        .iter()
        .map(|name| (name.to_string(), String::new()))
        .collect()
}

/// The panel's side of the connection: chat messages in the order they came, answered by the
/// test; everything else is left to the harness (which answers `riposte/secret` from its list).
struct Panel {
    server: Server,
    /// Chat messages read ahead while waiting for something else, in order.
    ahead: VecDeque<Value>,
    /// Notifications other than events (`riposte/lm/cancel`), as `run` met them.
    notes: Vec<Value>,
}

fn is_chat(message: &Value) -> bool {
    message["method"]
        .as_str()
        .is_some_and(|m| m.starts_with("riposte/chat/") || m.starts_with("riposte/lm/"))
}

impl Panel {
    fn new(server: Server) -> Panel {
        Panel {
            server,
            ahead: VecDeque::new(),
            notes: Vec::new(),
        }
    }

    fn next(&mut self) -> Value {
        if let Some(message) = self.ahead.pop_front() {
            return message;
        }
        self.server.wait("a chat message", is_chat)
    }

    /// Sends a request and returns its response; chat messages meanwhile are kept for later
    /// (never answered by the harness).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.server.send_request(method, params);
        loop {
            let message = self.server.wait(&format!("the answer to {method}"), |m| {
                is_chat(m) || (m.get("method").is_none() && m["id"] == json!(id))
            });
            if message.get("method").is_none() {
                return message;
            }
            self.ahead.push_back(message);
        }
    }

    fn start(&mut self, params: Value) -> String {
        let response = self.request("riposte/chat/start", params);
        response["result"]["chatId"]
            .as_str()
            .unwrap_or_else(|| panic!("start failed: {response}"))
            .to_string()
    }

    fn respond(&mut self, request: &Value, result: Value) {
        self.server
            .send(&json!({ "jsonrpc": "2.0", "id": request["id"], "result": result }));
    }

    /// Reads until an event `accept` takes; what came before it (and the event) stays queued.
    fn wait_event(&mut self, accept: impl Fn(&Value) -> bool) {
        let mut seen = Vec::new();
        loop {
            let message = self.next();
            let found = message["method"] == "riposte/chat/event" && accept(&message);
            seen.push(message);
            if found {
                break;
            }
        }
        for message in seen.into_iter().rev() {
            self.ahead.push_front(message);
        }
    }

    /// Plays the task `chat_id` to its `finished` event: `answer` decides each request (`None`
    /// leaves it unanswered). Returns every event of the task and the requests it made.
    fn run(
        &mut self,
        chat_id: &str,
        mut answer: impl FnMut(&mut Panel, &Value) -> Option<Value>,
    ) -> (Vec<Value>, Vec<Value>) {
        let mut events = Vec::new();
        let mut requests = Vec::new();
        loop {
            let message = self.next();
            if message["method"] == "riposte/chat/event" {
                assert_eq!(message["params"]["chatId"], chat_id, "{message}");
                let event = message["params"]["event"].clone();
                events.push(event.clone());
                if event["type"] == "finished" {
                    return (events, requests);
                }
            } else if message.get("id").is_some() {
                requests.push(message.clone());
                if let Some(result) = answer(self, &message) {
                    self.respond(&message, result);
                }
            } else {
                self.notes.push(message);
            }
        }
    }

    /// Everything the server sent, checked for secrets.
    fn assert_no_secret(&self) {
        let all = self.server.transcript.lock().unwrap().clone();
        for value in secrets::values()
            .iter()
            .copied()
            .chain([LLM_KEY, secrets::SENTINEL])
        {
            assert!(!all.contains(value), "a secret reached the client: {value}");
        }
    }
}

/// The panel's usual answers: approve everything, switch to Act when `switch`.
fn approving(switch: bool) -> impl FnMut(&mut Panel, &Value) -> Option<Value> {
    move |_, request| match request["method"].as_str() {
        Some("riposte/chat/approve") => Some(json!({ "decision": "approve" })),
        Some("riposte/chat/switchToAct") => Some(json!({ "switch": switch })),
        Some("riposte/chat/ask") => Some(json!({ "text": null })),
        _ => Some(Value::Null),
    }
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// `expected` occurs in `events`' types in this order (others may come between).
fn assert_in_order(events: &[Value], expected: &[&str]) {
    let all = types(events);
    let mut at = 0;
    for want in expected {
        match all[at..].iter().position(|t| t == want) {
            Some(offset) => at += offset + 1,
            None => panic!("no `{want}` after position {at} in {all:?}"),
        }
    }
}

/// The demo workspace pointed at the API stand-ins, with its secrets in the environment.
struct Bench {
    _apis: Apis,
    ws: DemoWorkspace,
    root: PathBuf,
    env: Vec<(String, String)>,
}

async fn bench() -> Bench {
    let apis = Apis::start(Vec::new()).await;
    let ws = DemoWorkspace::new();
    ws.point_all(&apis);
    ws.add_alert(
        "graph-phishing-url.json",
        &fixture_alert("graph-phishing-url.json"),
    );
    let root = ws.root().canonicalize().unwrap();
    let mut env = no_model_env();
    env.extend(secrets::env());
    Bench {
        _apis: apis,
        ws,
        root,
        env,
    }
}

async fn llm(script: &str) -> standin::Standin {
    let planted = secrets::values().iter().map(|s| s.to_string()).collect();
    standin::play(script, LLM_KEY, planted).await
}

fn panel(
    root: &Path,
    env: Vec<(String, String)>,
    secrets: Vec<((String, String), String)>,
) -> Panel {
    Panel::new(Server::start(
        root,
        Options {
            env,
            secrets,
            ..Options::default()
        },
    ))
}

fn openai_start(root: &Path, llm: &standin::Standin, prompt: &str, mode: &str) -> Value {
    json!({
        "workspace": uri(root),
        "prompt": prompt,
        "mode": mode,
        "autoApprove": [],
        "model": { "provider": "openai", "model": MODEL, "baseUrl": llm.openai_base_url() },
    })
}

fn vt_prompt() -> String {
    std::fs::read_to_string(repo_root().join("fixtures/prompts/vt-url-comment.md")).unwrap()
}

// ---------------------------------------------------------------------------------------------

#[test]
fn without_a_model_status_says_how_and_start_is_refused_with_a_kind() {
    let ws = DemoWorkspace::new();
    let root = ws.root().canonicalize().unwrap();
    let mut panel = panel(&root, no_model_env(), Vec::new());
    let status = panel.request(
        "riposte/chat/status",
        json!({ "workspace": uri(&root), "model": null }),
    );
    let status = &status["result"];
    assert!(status["model"].is_null(), "{status}");
    let how = status["noModel"].as_str().unwrap();
    for hint in [
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "Ollama",
        "RIPOSTE_LLM_MODEL",
        "vscode-lm",
    ] {
        assert!(how.contains(hint), "{hint}: {how}");
    }
    assert!(status["running"].is_null());
    assert_eq!(status["usage"]["dailyBudget"], 8_000_000);
    assert_eq!(status["usage"]["today"], 0);

    let start = |panel: &mut Panel, params: Value| panel.request("riposte/chat/start", params);
    let refused = start(
        &mut panel,
        json!({ "workspace": uri(&root), "prompt": VT_PROMPT, "mode": "plan", "autoApprove": [], "model": null }),
    );
    assert_eq!(refused["error"]["code"], -32803, "{refused}");
    assert_eq!(refused["error"]["data"]["kind"], "no_model", "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("OPENAI_API_KEY")
    );

    let model = json!({ "provider": "cohere", "model": "m", "baseUrl": null });
    let refused = start(
        &mut panel,
        json!({ "workspace": uri(&root), "prompt": VT_PROMPT, "model": model }),
    );
    assert_eq!(refused["error"]["data"]["kind"], "bad_model", "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cohere")
    );

    let model = json!({ "provider": "anthropic", "model": "claude", "baseUrl": null });
    let status = panel.request(
        "riposte/chat/status",
        json!({ "workspace": uri(&root), "model": model }),
    );
    assert_eq!(
        status["result"]["model"],
        json!({ "provider": "anthropic", "model": "claude", "baseUrl": "https://api.anthropic.com", "source": "settings", "keyNeeded": true })
    );
    let refused = start(
        &mut panel,
        json!({ "workspace": uri(&root), "prompt": VT_PROMPT, "model": model }),
    );
    assert_eq!(refused["error"]["data"]["kind"], "no_key", "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ANTHROPIC_API_KEY"),
        "{refused}"
    );

    let refused = start(
        &mut panel,
        json!({ "workspace": uri(&root), "prompt": "  ", "model": model }),
    );
    assert_eq!(
        refused["error"]["data"]["kind"], "empty_prompt",
        "{refused}"
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let refused = start(
        &mut panel,
        json!({ "workspace": uri(&elsewhere.path().canonicalize().unwrap()), "prompt": VT_PROMPT, "model": model }),
    );
    assert_eq!(
        refused["error"]["data"]["kind"], "no_workspace",
        "{refused}"
    );
    let refused = start(&mut panel, json!({ "workspace": uri(&root) }));
    assert_eq!(refused["error"]["code"], -32602, "no prompt: {refused}");
    let refused = start(
        &mut panel,
        json!({ "prompt": VT_PROMPT, "autoApprove": ["edit", "deploy"] }),
    );
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    panel.assert_no_secret();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_session_in_plan_mode_with_every_step_approved() {
    let bench = bench().await;
    let llm = llm("vt-url-comment.json").await;
    let mut env = bench.env.clone();
    env.push(("RIPOSTE_LLM_API_KEY".into(), LLM_KEY.into()));
    let mut panel = panel(&bench.root, env, Vec::new());
    let chat_id = panel.start(openai_start(&bench.root, &llm, &vt_prompt(), "plan"));
    assert_eq!(chat_id, "chat-1");
    let (events, requests) = panel.run(&chat_id, approving(true));
    let context = format!("{:?}\nviolations: {:?}", types(&events), llm.violations());
    assert_eq!(llm.violations(), Vec::<String>::new(), "{context}");
    assert_eq!(llm.remaining(), 0, "{context}");
    assert_in_order(
        &events,
        &[
            "task_started",
            "plan",
            "approval_requested",
            "file_written",
            "diagnostics",
            "test_run",
            "usage",
            "finished",
        ],
    );
    let find = |kind: &str| events.iter().find(|e| e["type"] == kind).unwrap().clone();
    assert_eq!(find("task_started")["mode"], "plan");
    assert!(
        find("plan")["plan"]["mermaid"]
            .as_str()
            .unwrap()
            .starts_with("flowchart")
    );
    let approval = find("approval_requested");
    assert_eq!(approval["request"]["category"], "edit");
    assert!(
        approval["request"]["detail"]
            .as_str()
            .unwrap()
            .contains("+def run"),
        "{approval}"
    );
    let test_run = find("test_run");
    assert_eq!(test_run["dry_run"], true, "{test_run}");
    assert_eq!(test_run["status"], "succeeded", "{test_run}");
    let finished = events.last().unwrap();
    assert_eq!(finished["outcome"], "completed", "{context}");

    let methods: Vec<&str> = requests
        .iter()
        .map(|r| r["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods[0], "riposte/chat/switchToAct", "{methods:?}");
    assert!(
        methods[1..].iter().all(|m| *m == "riposte/chat/approve"),
        "{methods:?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r["params"]["request"]["category"] == "test"),
        "the dry run was asked about: {methods:?}"
    );
    assert!(requests.iter().all(|r| r["params"]["chatId"] == chat_id));

    let playbook = "playbooks/vt-url-comment.py";
    assert!(bench.root.join(playbook).is_file());
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_riposte"))
        .args(["check", playbook])
        .current_dir(&bench.root)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let status = panel.request(
        "riposte/chat/status",
        json!({ "workspace": uri(&bench.root), "model": null }),
    );
    assert!(status["result"]["running"].is_null(), "{status}");
    assert!(
        status["result"]["usage"]["today"].as_u64().unwrap() > 0,
        "the task's tokens count: {status}"
    );
    panel.assert_no_secret();
    drop(bench.ws);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticking_auto_approve_mid_task_stops_the_questions() {
    let bench = bench().await;
    let llm = llm("vt-url-comment.json").await;
    let mut env = bench.env.clone();
    env.push(("RIPOSTE_LLM_API_KEY".into(), LLM_KEY.into()));
    let mut panel = panel(&bench.root, env, Vec::new());
    let chat_id = panel.start(openai_start(&bench.root, &llm, &vt_prompt(), "act"));
    let id = chat_id.clone();
    let (events, requests) = panel.run(&chat_id, move |panel, request| {
        if request["method"] == "riposte/chat/approve" {
            let answer = panel.request(
                "riposte/chat/setAutoApprove",
                json!({ "chatId": id, "autoApprove": ["edit", "test"] }),
            );
            assert!(answer["result"].is_null(), "{answer}");
            Some(json!({ "decision": "approve" }))
        } else {
            Some(Value::Null)
        }
    });
    assert_eq!(llm.violations(), Vec::<String>::new());
    assert_eq!(
        events.last().unwrap()["outcome"],
        "completed",
        "{:?}",
        types(&events)
    );
    assert_eq!(requests.len(), 1, "only the first edit was asked about");
    let approved: Vec<bool> = events
        .iter()
        .filter(|e| e["type"] == "tool_call_approved")
        .map(|e| e["automatically"].as_bool().unwrap())
        .collect();
    assert!(approved.len() >= 3, "{approved:?}");
    assert!(
        !approved[0] && approved[1..].iter().all(|a| *a),
        "{approved:?}"
    );
    panel.assert_no_secret();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_ends_a_pending_approval_and_one_task_runs_at_a_time() {
    let bench = bench().await;
    let llm = llm("vt-url-comment.json").await;
    let mut env = bench.env.clone();
    env.push(("RIPOSTE_LLM_API_KEY".into(), LLM_KEY.into()));
    let mut panel = panel(&bench.root, env, Vec::new());
    let params = openai_start(&bench.root, &llm, &vt_prompt(), "act");
    let chat_id = panel.start(params.clone());
    let id = chat_id.clone();
    let (events, requests) = panel.run(&chat_id, move |panel, request| {
        assert_eq!(request["method"], "riposte/chat/approve");
        let second = panel.request("riposte/chat/start", params.clone());
        assert_eq!(second["error"]["data"]["kind"], "running", "{second}");
        assert!(second["error"]["message"].as_str().unwrap().contains(&id));
        let status = panel.request(
            "riposte/chat/status",
            json!({ "workspace": null, "model": null }),
        );
        assert_eq!(status["result"]["running"], id.as_str());
        let cancelled = panel.request("riposte/chat/cancel", json!({ "chatId": id }));
        assert!(cancelled["result"].is_null(), "{cancelled}");
        None
    });
    assert_eq!(requests.len(), 1);
    assert_eq!(
        events.last().unwrap()["outcome"],
        "cancelled",
        "{:?}",
        types(&events)
    );
    assert!(
        !bench.root.join("playbooks/vt-url-comment.py").exists(),
        "the edit waiting for approval was not made"
    );
    // Cancelling what has ended, or an unknown id, is not an error.
    for id in [chat_id.as_str(), "chat-99"] {
        let answer = panel.request("riposte/chat/cancel", json!({ "chatId": id }));
        assert!(answer["result"].is_null(), "{answer}");
    }
    panel.assert_no_secret();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integration_secrets_missing_from_the_environment_come_from_the_editors_store() {
    let bench = bench().await;
    let llm = llm("vt-url-comment.json").await;
    let mut env: Vec<(String, String)> = bench
        .env
        .iter()
        .filter(|(name, _)| name != "RIPOSTE_VIRUSTOTAL_API_KEY")
        .cloned()
        .collect();
    env.push(("RIPOSTE_LLM_API_KEY".into(), LLM_KEY.into()));
    let mut panel = panel(
        &bench.root,
        env,
        vec![(
            ("VirusTotal".into(), "api_key".into()),
            secrets::VT_API_KEY.into(),
        )],
    );
    let mut params = openai_start(&bench.root, &llm, &vt_prompt(), "act");
    params["autoApprove"] = json!(["edit", "test"]);
    let chat_id = panel.start(params);
    let (events, requests) = panel.run(&chat_id, approving(true));
    // The dry run reached the VirusTotal stand-in with the editor's key (the script's last turn
    // expects it to have succeeded).
    assert_eq!(
        llm.violations(),
        Vec::<String>::new(),
        "{:?}",
        types(&events)
    );
    assert_eq!(events.last().unwrap()["outcome"], "completed");
    assert!(requests.is_empty(), "edits and tests were auto-approved");
    let asked: Vec<&Value> = panel
        .server
        .server_requests
        .iter()
        .filter(|r| r["method"] == "riposte/secret")
        .collect();
    // Every required field the environment lacks, once each, from the store only; none it has.
    let fields: Vec<(String, String)> = asked
        .iter()
        .map(|r| {
            assert_eq!(r["params"]["ask"], false, "{r}");
            (
                r["params"]["profile"].as_str().unwrap().to_string(),
                r["params"]["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut unique = fields.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), fields.len(), "{fields:?}");
    assert!(
        fields.contains(&("VirusTotal".into(), "api_key".into())),
        "{fields:?}"
    );
    assert!(
        !fields
            .iter()
            .any(|(profile, _)| profile == "Jira" || profile == "Slack"),
        "the environment has those: {fields:?}"
    );
    panel.assert_no_secret();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_in_plan_mode_is_refused_and_the_panel_sees_it() {
    let bench = bench().await;
    let llm = llm("bad-plan-mode-write.json").await;
    let mut env = bench.env.clone();
    env.push(("RIPOSTE_LLM_API_KEY".into(), LLM_KEY.into()));
    let mut panel = panel(&bench.root, env, Vec::new());
    let chat_id = panel.start(openai_start(&bench.root, &llm, VT_PROMPT, "plan"));
    let (events, requests) = panel.run(&chat_id, approving(false));
    assert_eq!(llm.violations(), Vec::<String>::new());
    let refused = events
        .iter()
        .find(|e| e["type"] == "tool_call_refused")
        .unwrap_or_else(|| panic!("{:?}", types(&events)));
    assert_eq!(refused["by"], "mode");
    assert_eq!(refused["tool"], "write_playbook");
    assert_eq!(events.last().unwrap()["outcome"], "plan_ready");
    assert_eq!(requests.len(), 1, "only the switch to Act was asked");
    assert!(!bench.root.join("playbooks/too-early.py").exists());
    panel.assert_no_secret();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_editors_models_answer_each_turn() {
    let bench = bench().await;
    let mut panel = panel(&bench.root, bench.env.clone(), Vec::new());
    let params = json!({
        "workspace": uri(&bench.root),
        "prompt": VT_PROMPT,
        "mode": "plan",
        "autoApprove": [],
        "model": { "provider": "vscode-lm", "model": "copilot-gpt-4o", "baseUrl": null },
    });
    let status = panel.request(
        "riposte/chat/status",
        json!({ "workspace": uri(&bench.root), "model": params["model"] }),
    );
    assert_eq!(status["result"]["model"]["provider"], "vscode-lm");
    assert_eq!(status["result"]["model"]["keyNeeded"], false);

    let chat_id = panel.start(params.clone());
    let plan = json!({
        "summary": "Comment VirusTotal verdicts for the alert's URLs.",
        "steps": ["GET /urls/{id} on VirusTotal for each URL", "Comment the verdicts"],
        "mermaid": "flowchart TD\n  A[Alert] --> B[GET /urls/id]\n  B --> C[Comment]",
        "integrations": ["VirusTotal"],
    });
    let (events, requests) = panel.run(&chat_id, |panel, request| match request["method"].as_str() {
        Some("riposte/lm/complete") => {
            let turn = &request["params"];
            assert_eq!(turn["model"], "copilot-gpt-4o");
            assert_eq!(turn["messages"][0]["role"], "user");
            assert!(turn["messages"][0]["content"].as_str().unwrap().contains("VirusTotal"));
            assert!(turn["tools"].as_array().unwrap().iter().any(|t| t["name"] == "propose_plan"));
            assert!(turn["system"].as_str().unwrap().len() > 100);
            assert!(turn["maxTokens"].as_u64().unwrap() > 0);
            let request_id = turn["requestId"].as_str().unwrap().to_string();
            panel.server.notify(
                "riposte/lm/delta",
                json!({ "requestId": request_id, "text": "Planning the lookups. " }),
            );
            // The delta is shown before the turn is answered.
            panel.wait_event(|m| {
                m["params"]["event"]["type"] == "text_delta"
                    && m["params"]["event"]["text"] == "Planning the lookups. "
            });
            Some(json!({
                "text": "Planning the lookups.",
                "toolCalls": [{ "id": "call-1", "name": "propose_plan", "arguments": plan.to_string() }],
                "usage": { "inputTokens": 1200, "outputTokens": 310 },
                "stop": "tool_use",
            }))
        }
        Some("riposte/chat/switchToAct") => Some(json!({ "switch": false })),
        other => panic!("unexpected request {other:?}"),
    });
    assert_in_order(
        &events,
        &["task_started", "text_delta", "usage", "plan", "finished"],
    );
    assert_eq!(events[0]["provider"], "vscode-lm");
    assert_eq!(events.last().unwrap()["outcome"], "plan_ready");
    assert_eq!(requests[0]["params"]["requestId"], "lm-1");
    assert_eq!(requests[0]["params"]["chatId"], chat_id);
    let usage = events.iter().find(|e| e["type"] == "usage").unwrap();
    assert_eq!(usage["turn"]["input_tokens"], 1200);

    // The editor cannot run the model: the task ends as the provider's failure, with its words.
    let chat_id = panel.start(params);
    assert_eq!(chat_id, "chat-2");
    let (events, _) = panel.run(&chat_id, |panel, request| {
        assert_eq!(request["method"], "riposte/lm/complete");
        panel.server.send(&json!({
            "jsonrpc": "2.0",
            "id": request["id"],
            "error": { "code": -32803, "message": "no chat model matches copilot-gpt-4o", "data": { "kind": "no_model" } },
        }));
        None
    });
    let error = events
        .iter()
        .find(|e| e["type"] == "error")
        .unwrap_or_else(|| panic!("{:?}", types(&events)));
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("no chat model matches copilot-gpt-4o"),
        "{error}"
    );
    assert_eq!(events.last().unwrap()["outcome"], "provider_failed");
    panel.assert_no_secret();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_mode_takes_effect_before_the_next_turn() {
    let bench = bench().await;
    let mut panel = panel(&bench.root, bench.env.clone(), Vec::new());
    let chat_id = panel.start(json!({
        "workspace": uri(&bench.root),
        "prompt": VT_PROMPT,
        "mode": "plan",
        "model": { "provider": "vscode-lm", "model": "", "baseUrl": null },
    }));
    let id = chat_id.clone();
    let mut systems = Vec::new();
    let (events, _) = panel.run(&chat_id, |panel, request| {
        assert_eq!(request["method"], "riposte/lm/complete");
        systems.push(request["params"]["system"].as_str().unwrap().to_string());
        if systems.len() == 1 {
            let switched = panel.request(
                "riposte/chat/setMode",
                json!({ "chatId": id, "mode": "act" }),
            );
            assert!(switched["result"].is_null(), "{switched}");
            // The panel's other controls: a bad category is refused, an unknown task ignored.
            let bad = panel.request(
                "riposte/chat/setAutoApprove",
                json!({ "chatId": id, "autoApprove": ["deploy"] }),
            );
            assert_eq!(bad["error"]["code"], -32602, "{bad}");
            let elsewhere = panel.request(
                "riposte/chat/setAutoApprove",
                json!({ "chatId": "chat-99", "autoApprove": ["edit"] }),
            );
            assert!(elsewhere["result"].is_null(), "{elsewhere}");
            Some(json!({
                "text": "Looking.",
                "toolCalls": [{ "id": "c1", "name": "list_integrations", "arguments": "{}" }],
            }))
        } else {
            panel.server.send(&json!({
                "jsonrpc": "2.0",
                "id": request["id"],
                "error": { "code": -32803, "message": "the person closed the model picker", "data": { "kind": "refused" } },
            }));
            None
        }
    });
    assert_eq!(systems.len(), 2);
    assert!(
        !systems[0].contains("ACT mode"),
        "the first turn is in Plan"
    );
    assert!(systems[1].contains("ACT mode"), "the second turn is in Act");
    let changed = events
        .iter()
        .find(|e| e["type"] == "mode_changed")
        .unwrap_or_else(|| panic!("{:?}", types(&events)));
    assert_eq!(changed["mode"], "act");
    assert_eq!(events.last().unwrap()["outcome"], "provider_failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_an_editor_model_turn_tells_the_editor() {
    let bench = bench().await;
    let mut panel = panel(&bench.root, bench.env.clone(), Vec::new());
    let chat_id = panel.start(json!({
        "workspace": uri(&bench.root),
        "prompt": VT_PROMPT,
        "model": { "provider": "vscode-lm", "model": "", "baseUrl": null },
    }));
    let id = chat_id.clone();
    let (events, requests) = panel.run(&chat_id, move |panel, request| {
        assert_eq!(request["method"], "riposte/lm/complete");
        let cancelled = panel.request("riposte/chat/cancel", json!({ "chatId": id }));
        assert!(cancelled["result"].is_null());
        None
    });
    assert_eq!(events.last().unwrap()["outcome"], "cancelled");
    let request_id = requests[0]["params"]["requestId"].clone();
    let notice = match panel.notes.pop() {
        Some(notice) => notice,
        None => panel.next(),
    };
    assert_eq!(notice["method"], "riposte/lm/cancel", "{notice}");
    assert_eq!(notice["params"]["requestId"], request_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_key_comes_from_the_editor_and_goes_nowhere_else() {
    let bench = bench().await;
    let llm = llm("bad-plan-mode-write.json").await;
    // The harness answers `riposte/secret` by (profile, field): a model key request has no profile.
    let mut panel = panel(
        &bench.root,
        bench.env.clone(),
        vec![((String::new(), "api_key".into()), LLM_KEY.into())],
    );
    let chat_id = panel.start(json!({
        "workspace": uri(&bench.root),
        "prompt": VT_PROMPT,
        "mode": "plan",
        "autoApprove": [],
        "model": { "provider": "anthropic", "model": MODEL, "baseUrl": llm.anthropic_base_url() },
    }));
    let (events, _) = panel.run(&chat_id, approving(false));
    assert_eq!(
        llm.violations(),
        Vec::<String>::new(),
        "the stand-in took the key"
    );
    assert_eq!(llm.remaining(), 0);
    assert_eq!(events.last().unwrap()["outcome"], "plan_ready");
    let asked: Vec<&Value> = panel
        .server
        .server_requests
        .iter()
        .filter(|r| r["method"] == "riposte/secret" && r["params"].get("llm").is_some())
        .collect();
    assert_eq!(asked.len(), 1);
    assert_eq!(
        asked[0]["params"],
        json!({ "llm": "anthropic", "field": "api_key" })
    );
    panel.assert_no_secret();
    let log = panel.server.stderr.lock().unwrap().clone();
    assert!(!log.contains(LLM_KEY), "the key is not logged");
}

// ---------------------------------------------------------------------------------------------
// `riposte generate`, the terminal front end of the same controls: Ctrl-C cancels the task.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_in_generate_cancels_the_task_and_keeps_its_transcript() {
    use std::io::{BufRead as _, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    let bench = bench().await;
    let llm = llm("vt-url-comment.json").await;
    let root = bench.root.display().to_string();
    let base_url = llm.openai_base_url();
    let mut child = Command::new(env!("CARGO_BIN_EXE_riposte"))
        .args([
            "generate",
            "--workspace",
            &root,
            "--provider",
            "openai",
            "--base-url",
            &base_url,
            "--model",
            MODEL,
            "--act",
            "--prompt",
            VT_PROMPT,
        ])
        .envs(bench.env.iter().cloned())
        .env("RIPOSTE_LLM_API_KEY", LLM_KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = Arc::new(Mutex::new(String::new()));
    {
        let stderr = Arc::clone(&stderr);
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut buffer = Vec::new();
            // The approval prompt has no newline: read what comes, byte by byte.
            while reader.read_until(b' ', &mut buffer).is_ok_and(|n| n > 0) {
                stderr
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer));
                buffer.clear();
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stderr.lock().unwrap().contains("Approve?") {
        assert!(
            Instant::now() < deadline,
            "no approval prompt: {}",
            stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Ctrl-C while the person is being asked; stdin stays open (no answer ever comes).
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let context = format!("{stdout}\n{}", stderr.lock().unwrap());
    assert_eq!(output.status.code(), Some(1), "{context}");
    assert!(stdout.contains("cancelled: cancelled"), "{context}");
    let transcript = stdout
        .lines()
        .find_map(|line| line.strip_prefix("transcript: "))
        .unwrap_or_else(|| panic!("no transcript: {context}"));
    let lines = std::fs::read_to_string(transcript).unwrap();
    assert!(
        lines.lines().last().unwrap().contains("\"cancelled\""),
        "the transcript ends with the cancel: {lines}"
    );
    assert!(!bench.root.join("playbooks/vt-url-comment.py").exists());
    assert!(!context.contains(LLM_KEY));
}
