//! The task loop driven by an in-process scripted model (a list of turns played in order): the
//! mode gate, the fix loop, approvals, the guards, cancellation, bad model output and secrets.
//! Tools run for real on a temporary workspace (files, the validator, the sandboxed runtime).

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};

use riposte_agent::provider::{
    BoxFuture, ChatRequest, Completion, Message, Provider, ProviderError, StopReason, StreamEvent,
    ToolCall, Usage,
};
use riposte_agent::redact::Scrubber;
use riposte_agent::{
    ApprovalRequest, AutoApprove, Category, Controls, Decision, Event, Frontend, Mode, Outcome,
    Plan, Question, TaskConfig, TaskLimits, TaskReport, run_task,
};
use riposte_runtime::IntegrationsSender;
use riposte_runtime::secrets::EnvSecrets;
use tokio_util::sync::CancellationToken;

const PLANTED: &str = "fake-vt-key-planted-7f3a9c";

/// Plays scripted turns; records every request it was sent.
struct Scripted {
    turns: Mutex<VecDeque<Result<Completion, ProviderError>>>,
    requests: Mutex<Vec<ChatRequest>>,
}

impl Scripted {
    fn new(turns: Vec<Result<Completion, ProviderError>>) -> Self {
        Self {
            turns: Mutex::new(turns.into()),
            requests: Mutex::new(Vec::new()),
        }
    }

    fn requests(&self) -> Vec<ChatRequest> {
        self.requests.lock().unwrap().clone()
    }

    /// The last tool result the model was sent before request `n`.
    fn last_tool_result(&self, n: usize) -> (String, bool) {
        let requests = self.requests();
        match requests[n].messages.last() {
            Some(Message::Tool {
                content, is_error, ..
            }) => (content.clone(), *is_error),
            other => panic!("request {n} does not end with a tool result: {other:?}"),
        }
    }
}

impl Provider for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }

    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
        events: &'a (dyn Fn(StreamEvent) + Send + Sync),
        _cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<Completion, ProviderError>> {
        self.requests.lock().unwrap().push(request.clone());
        let next = self.turns.lock().unwrap().pop_front();
        Box::pin(async move {
            let turn = next.unwrap_or_else(|| {
                Err(ProviderError::Malformed {
                    provider: "scripted".into(),
                    reason: "the script has no more turns".into(),
                })
            })?;
            if !turn.text.is_empty() {
                events(StreamEvent::TextDelta(turn.text.clone()));
            }
            Ok(turn)
        })
    }
}

/// A model that never answers (for cancellation).
struct Silent;

impl Provider for Silent {
    fn name(&self) -> &str {
        "silent"
    }
    fn complete<'a>(
        &'a self,
        _request: &'a ChatRequest,
        _events: &'a (dyn Fn(StreamEvent) + Send + Sync),
        _cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<Completion, ProviderError>> {
        Box::pin(std::future::pending())
    }
}

#[derive(Default)]
struct Person {
    approve: bool,
    answer: Option<String>,
    switch: bool,
    events: Mutex<Vec<Event>>,
    approvals: Mutex<Vec<ApprovalRequest>>,
}

impl Person {
    fn approving() -> Self {
        Self {
            approve: true,
            ..Self::default()
        }
    }
    fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }
}

impl Frontend for Person {
    fn event(&self, event: &Event) {
        self.events.lock().unwrap().push(event.clone());
    }
    fn approve<'a>(&'a self, request: &'a ApprovalRequest) -> BoxFuture<'a, Decision> {
        self.approvals.lock().unwrap().push(request.clone());
        Box::pin(async move {
            if self.approve {
                Decision::Approve
            } else {
                Decision::Reject {
                    reason: Some("not like this".into()),
                }
            }
        })
    }
    fn answer<'a>(&'a self, _question: &'a Question) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move { self.answer.clone() })
    }
    fn switch_to_act<'a>(&'a self, _plan: &'a Plan) -> BoxFuture<'a, bool> {
        Box::pin(async move { self.switch })
    }
}

fn turn(calls: &[(&str, serde_json::Value)]) -> Result<Completion, ProviderError> {
    Ok(Completion {
        text: String::new(),
        tool_calls: calls
            .iter()
            .enumerate()
            .map(|(i, (name, args))| ToolCall {
                id: format!("call_{name}_{i}_{}", args.to_string().len()),
                name: name.to_string(),
                arguments: args.to_string(),
            })
            .collect(),
        usage: Usage {
            input_tokens: 100,
            output_tokens: 20,
        },
        stop: StopReason::ToolUse,
    })
}

fn call(name: &str, args: serde_json::Value) -> Result<Completion, ProviderError> {
    turn(&[(name, args)])
}

fn text(answer: &str) -> Result<Completion, ProviderError> {
    Ok(Completion {
        text: answer.into(),
        tool_calls: vec![],
        usage: Usage {
            input_tokens: 50,
            output_tokens: 10,
        },
        stop: StopReason::EndTurn,
    })
}

const GOOD: &str = "\"\"\"Comment on the alert.\"\"\"\nfrom riposte import Alert, Context\n\n\ndef run(alert: Alert, ctx: Context) -> None:\n    ctx.comment(f\"seen {alert.title}\")\n";
const BAD: &str = "\"\"\"Comment on the alert.\"\"\"\nimport requests\nfrom riposte import Alert, Context\n\n\ndef run(alert: Alert, ctx: Context) -> None:\n    ctx.comment(f\"seen {alert.title}\")\n";

fn workspace(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("riposte.toml"), config).unwrap();
    std::fs::create_dir_all(root.join("integrations")).unwrap();
    std::fs::write(
        root.join("integrations/virustotal.toml"),
        "name = \"VirusTotal\"\ndescription = \"VirusTotal v3\"\nbase_url = \"https://www.virustotal.com/api/v3\"\napi = \"virustotal\"\n\n[auth]\nmethod = \"api_key\"\nheader = \"x-apikey\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("alerts")).unwrap();
    let alert =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/alerts/graph-phishing-url.json");
    std::fs::copy(alert, root.join("alerts/phishing.json")).unwrap();
    dir
}

fn config(root: &Path, mode: Mode, auto: &str) -> TaskConfig {
    let loaded = riposte_workspace::load(root).unwrap();
    let secrets = Arc::new(EnvSecrets::from_vars([(
        "RIPOSTE_VIRUSTOTAL_API_KEY",
        PLANTED,
    )]));
    let sender = IntegrationsSender::from_workspace(&loaded.workspace, secrets).unwrap();
    let scrubber = Scrubber::new(sender.integrations().redactor());
    TaskConfig {
        workspace_root: root.to_path_buf(),
        model: "scripted-model".into(),
        mode,
        auto_approve: auto.parse::<AutoApprove>().unwrap(),
        limits: TaskLimits::default(),
        sender: Arc::new(sender),
        scrubber,
    }
}

async fn go(
    provider: &dyn Provider,
    person: &Person,
    config: TaskConfig,
    prompt: &str,
) -> TaskReport {
    run_task(provider, person, config, prompt, &Controls::new()).await
}

fn transcript_text(report: &TaskReport) -> String {
    std::fs::read_to_string(report.transcript.as_ref().expect("a transcript")).unwrap()
}

#[tokio::test]
async fn a_write_in_plan_mode_is_refused_and_shown() {
    let dir = workspace("");
    let model = Scripted::new(vec![
        call(
            "write_playbook",
            serde_json::json!({"path": "playbooks/x.py", "content": GOOD}),
        ),
        call(
            "propose_plan",
            serde_json::json!({"summary": "comment", "steps": ["comment"], "mermaid": "flowchart TD\n  A-->B", "integrations": ["VirusTotal", "Jira"]}),
        ),
    ]);
    let person = Person::approving();
    let report = go(
        &model,
        &person,
        config(dir.path(), Mode::Plan, "edit"),
        "plan it",
    )
    .await;

    assert_eq!(report.outcome, Outcome::PlanReady, "{}", report.message);
    assert!(
        !dir.path().join("playbooks/x.py").exists(),
        "nothing written in Plan"
    );
    let (refusal, is_error) = model.last_tool_result(1);
    assert!(
        is_error && refusal.contains("refused in Plan mode"),
        "{refusal}"
    );
    let events = person.events();
    assert!(events.iter().any(|e| matches!(e, Event::ToolCallRefused { by: riposte_agent::events::RefusedBy::Mode, tool, .. } if tool == "write_playbook")));
    let plan = events.iter().find_map(|e| match e {
        Event::Plan { plan } => Some(plan.clone()),
        _ => None,
    });
    assert_eq!(plan.unwrap().missing_profiles, vec!["Jira".to_string()]);
    assert!(report.message.contains("Jira"), "{}", report.message);
    assert!(transcript_text(&report).contains("\"tool_call_refused\""));
}

#[tokio::test]
async fn the_plan_switches_to_act_when_the_person_agrees() {
    let dir = workspace("");
    let model = Scripted::new(vec![
        call(
            "propose_plan",
            serde_json::json!({"summary": "comment", "steps": ["comment"], "mermaid": "flowchart TD\n  A-->B"}),
        ),
        call(
            "write_playbook",
            serde_json::json!({"path": "playbooks/x.py", "content": GOOD}),
        ),
        call("attempt_completion", serde_json::json!({"summary": "done"})),
    ]);
    let person = Person {
        switch: true,
        ..Person::approving()
    };
    let report = go(
        &model,
        &person,
        config(dir.path(), Mode::Plan, "edit"),
        "go",
    )
    .await;
    assert_eq!(report.outcome, Outcome::Completed, "{}", report.message);
    assert!(model.requests()[1].system.contains("ACT mode"));
    assert!(person.events().iter().any(|e| matches!(
        e,
        Event::ModeChanged {
            mode: Mode::Act,
            ..
        }
    )));
}

#[tokio::test]
async fn the_fix_loop_ends_clean_then_tests_and_completes() {
    let dir = workspace("");
    let model = Scripted::new(vec![
        call(
            "write_playbook",
            serde_json::json!({"path": "playbooks/note.py", "content": BAD}),
        ),
        call(
            "write_playbook",
            serde_json::json!({"path": "playbooks/note.py", "edits": [{"search": "import requests\n", "replace": ""}]}),
        ),
        call(
            "write_docs",
            serde_json::json!({"path": "playbooks/note.py"}),
        ),
        call("run_test", serde_json::json!({"path": "playbooks/note.py"})),
        call(
            "attempt_completion",
            serde_json::json!({"summary": "comments on the alert"}),
        ),
    ]);
    let person = Person::approving();
    let report = go(
        &model,
        &person,
        config(dir.path(), Mode::Act, "edit,test"),
        "write it",
    )
    .await;

    assert_eq!(report.outcome, Outcome::Completed, "{}", report.message);
    assert_eq!(report.first_write_clean, Some(false));
    assert_eq!(report.passes_check, Some(true));
    assert_eq!(
        report.dry_run_passed,
        Some(true),
        "{:?}",
        model.last_tool_result(4)
    );
    assert_eq!(report.turns, 5);
    let (diagnostics, is_error) = model.last_tool_result(1);
    assert!(is_error && diagnostics.contains("error"), "{diagnostics}");
    assert!(diagnostics.contains("attempt 1 of 5"), "{diagnostics}");
    let (clean, is_error) = model.last_tool_result(2);
    assert!(!is_error && clean.contains("clean"), "{clean}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("playbooks/note.py")).unwrap(),
        GOOD
    );
    let docs = std::fs::read_to_string(dir.path().join("playbooks/note.md")).unwrap();
    assert!(docs.contains("```mermaid"), "{docs}");
    let (test, _) = model.last_tool_result(4);
    assert!(
        test.contains("comment"),
        "the dry run lists the planned comment: {test}"
    );
    assert!(
        person.approvals.lock().unwrap().is_empty(),
        "all auto-approved"
    );
    // Usage is accounted per turn and per day.
    assert_eq!(report.usage.input_tokens, 500);
    let usage = std::fs::read_to_string(dir.path().join(".riposte/usage.json")).unwrap();
    assert!(usage.contains("\"input_tokens\": 500"), "{usage}");
}

#[tokio::test]
async fn the_fix_loop_is_bounded() {
    let dir = workspace("");
    let bad2 = BAD.replace("seen", "still");
    let model = Scripted::new(vec![
        call(
            "write_playbook",
            serde_json::json!({"path": "playbooks/x.py", "content": BAD}),
        ),
        call(
            "write_playbook",
            serde_json::json!({"path": "playbooks/x.py", "content": bad2}),
        ),
    ]);
    let person = Person::approving();
    let mut config = config(dir.path(), Mode::Act, "edit");
    config.limits.max_fix_attempts = 2;
    let report = go(&model, &person, config, "write it").await;
    assert_eq!(report.outcome, Outcome::ProblemsLeft, "{}", report.message);
    assert!(
        report.message.contains("What is left") && report.message.contains("RP"),
        "{}",
        report.message
    );
}

#[tokio::test]
async fn a_rejected_edit_is_not_written() {
    let dir = workspace("");
    let model = Scripted::new(vec![
        call(
            "write_playbook",
            serde_json::json!({"path": "playbooks/x.py", "content": GOOD}),
        ),
        call("attempt_completion", serde_json::json!({"summary": "done"})),
    ]);
    let person = Person::default();
    let report = go(
        &model,
        &person,
        config(dir.path(), Mode::Act, ""),
        "write it",
    )
    .await;
    assert!(!dir.path().join("playbooks/x.py").exists());
    let approvals = person.approvals.lock().unwrap().clone();
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0].category, Category::Edit);
    assert!(
        approvals[0].detail.contains("+def run"),
        "the diff is shown: {}",
        approvals[0].detail
    );
    let (rejected, is_error) = model.last_tool_result(1);
    assert!(
        is_error && rejected.contains("rejected") && rejected.contains("not like this"),
        "{rejected}"
    );
    let (no_playbook, _) = model.last_tool_result(2);
    assert!(no_playbook.contains("no playbook"), "{no_playbook}");
    assert_eq!(
        report.outcome,
        Outcome::ProviderFailed,
        "the script ran out"
    );
}

#[tokio::test]
async fn the_step_limit_stops_the_task() {
    let dir = workspace("");
    let model = Scripted::new(vec![
        call("read_file", serde_json::json!({"path": "riposte.toml"})),
        call(
            "read_file",
            serde_json::json!({"path": "integrations/virustotal.toml"}),
        ),
        call("list_integrations", serde_json::json!({})),
    ]);
    let person = Person::approving();
    let mut config = config(dir.path(), Mode::Act, "");
    config.limits.max_steps = 2;
    let report = go(&model, &person, config, "look").await;
    assert_eq!(report.outcome, Outcome::StepLimit, "{}", report.message);
    assert_eq!(report.turns, 2);
    assert_eq!(model.requests().len(), 2);
}

#[tokio::test]
async fn a_repeated_identical_call_is_refused_then_stops() {
    let dir = workspace("");
    let same = || {
        call(
            "describe_integration",
            serde_json::json!({"name": "VirusTotal"}),
        )
    };
    let model = Scripted::new(vec![same(), same(), same(), same(), same()]);
    let person = Person::approving();
    let report = go(&model, &person, config(dir.path(), Mode::Plan, ""), "loop").await;
    assert_eq!(report.outcome, Outcome::Stuck, "{}", report.message);
    assert_eq!(report.turns, 4);
    let (third, is_error) = model.last_tool_result(3);
    assert!(is_error && third.contains("3 times in a row"), "{third}");
    assert!(person.events().iter().any(|e| matches!(
        e,
        Event::ToolCallRefused {
            by: riposte_agent::events::RefusedBy::Guard,
            ..
        }
    )));
}

#[tokio::test]
async fn alternating_calls_without_progress_stop() {
    let dir = workspace("");
    let a = || call("list_integrations", serde_json::json!({}));
    let b = || call("get_alert_schema", serde_json::json!({}));
    let model = Scripted::new(vec![a(), b(), a(), b(), a(), b(), a(), b()]);
    let person = Person::approving();
    let report = go(&model, &person, config(dir.path(), Mode::Plan, ""), "loop").await;
    assert_eq!(report.outcome, Outcome::Stuck, "{}", report.message);
    assert!(report.message.contains("no progress"), "{}", report.message);
    assert_eq!(report.turns, 6, "two turns learn something, four do not");
}

#[tokio::test]
async fn the_daily_budget_stops_the_task() {
    let dir = workspace("[limits]\nllm_tokens_per_day = 150\n");
    let model = Scripted::new(vec![
        call("list_integrations", serde_json::json!({})),
        call("get_alert_schema", serde_json::json!({})),
    ]);
    let person = Person::approving();
    let report = go(&model, &person, config(dir.path(), Mode::Plan, ""), "go").await;
    assert_eq!(
        report.outcome,
        Outcome::BudgetExhausted,
        "{}",
        report.message
    );
    assert_eq!(report.turns, 2, "120 tokens then 120 more go over 150");
    // A new task the same day does not start a model turn at all.
    let again = Scripted::new(vec![call("list_integrations", serde_json::json!({}))]);
    let report = go(&again, &person, config(dir.path(), Mode::Plan, ""), "go").await;
    assert_eq!(report.outcome, Outcome::BudgetExhausted);
    assert!(again.requests().is_empty());
    assert!(person.events().iter().any(|e| matches!(
        e,
        Event::Usage {
            daily_budget: 150,
            ..
        }
    )));
}

#[tokio::test]
async fn cancellation_ends_a_waiting_task() {
    let dir = workspace("");
    let controls = Controls::new();
    let cancel = controls.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        cancel.cancel();
    });
    let person = Person::approving();
    let report = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        run_task(
            &Silent,
            &person,
            config(dir.path(), Mode::Plan, ""),
            "go",
            &controls,
        ),
    )
    .await
    .expect("cancellation ends the task");
    assert_eq!(report.outcome, Outcome::Cancelled);
    assert!(transcript_text(&report).contains("\"cancelled\""));
}

#[tokio::test]
async fn invalid_arguments_and_unknown_tools_are_tool_errors() {
    let dir = workspace("");
    let broken = Ok(Completion {
        text: String::new(),
        tool_calls: vec![
            ToolCall {
                id: "c1".into(),
                name: "read_file".into(),
                arguments: "{\"path\": ".into(),
            },
            ToolCall {
                id: "c2".into(),
                name: "describe_integration".into(),
                arguments: "{\"nom\": \"VirusTotal\"}".into(),
            },
            ToolCall {
                id: "c3".into(),
                name: "rm_rf".into(),
                arguments: "{}".into(),
            },
        ],
        usage: Usage::default(),
        stop: StopReason::ToolUse,
    });
    let model = Scripted::new(vec![broken]);
    let person = Person::approving();
    let _ = go(&model, &person, config(dir.path(), Mode::Plan, ""), "go").await;
    let second = &model.requests()[1].messages;
    let results: Vec<(String, bool)> = second
        .iter()
        .filter_map(|m| match m {
            Message::Tool {
                content, is_error, ..
            } => Some((content.clone(), *is_error)),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), 3, "every call is answered");
    assert!(results.iter().all(|(_, e)| *e));
    assert!(results[0].0.contains("not valid JSON"), "{}", results[0].0);
    assert!(
        results[1].0.contains("missing field `name`"),
        "{}",
        results[1].0
    );
    assert!(results[2].0.contains("no tool `rm_rf`"), "{}", results[2].0);
}

#[tokio::test]
async fn answers_without_a_tool_call_are_nudged_then_stop() {
    let dir = workspace("");
    let model = Scripted::new(vec![text("Sure!"), text("Here it is."), text("Done.")]);
    let person = Person::approving();
    let report = go(&model, &person, config(dir.path(), Mode::Act, ""), "go").await;
    assert_eq!(report.outcome, Outcome::Stuck, "{}", report.message);
    match model.requests()[1].messages.last() {
        Some(Message::User { content }) => assert!(content.contains("tool call"), "{content}"),
        other => panic!("expected a nudge, got {other:?}"),
    }
}

#[tokio::test]
async fn a_question_without_anyone_to_answer_stops_cleanly() {
    let dir = workspace("");
    let model = Scripted::new(vec![call(
        "ask_user",
        serde_json::json!({"question": "Which severity?"}),
    )]);
    let person = Person::approving();
    let report = go(&model, &person, config(dir.path(), Mode::Plan, ""), "go").await;
    assert_eq!(report.outcome, Outcome::Unanswered);
    assert!(report.message.contains("Which severity?"));

    let model = Scripted::new(vec![
        call(
            "ask_user",
            serde_json::json!({"question": "Which severity?"}),
        ),
        text("ok"),
    ]);
    let person = Person {
        answer: Some("high".into()),
        ..Person::approving()
    };
    let _ = go(&model, &person, config(dir.path(), Mode::Plan, ""), "go").await;
    assert_eq!(model.last_tool_result(1).0, "The user answered: high");
}

#[tokio::test]
async fn no_secret_reaches_the_model_or_the_transcript() {
    let dir = workspace("");
    let root = dir.path();
    // The secret is in the profile's environment variable (planted in `config`), in a .env
    // file, in a workspace note, and in the user's own prompt.
    std::fs::write(
        root.join(".env"),
        format!("RIPOSTE_VIRUSTOTAL_API_KEY={PLANTED}\n"),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("notes")).unwrap();
    std::fs::write(root.join("notes/setup.txt"), format!("vt key: {PLANTED}\n")).unwrap();
    let model = Scripted::new(vec![
        call("read_file", serde_json::json!({"path": ".env"})),
        call("read_file", serde_json::json!({"path": "notes/setup.txt"})),
        call("read_file", serde_json::json!({"path": "../../etc/passwd"})),
        call(
            "describe_integration",
            serde_json::json!({"name": "VirusTotal"}),
        ),
        call(
            "write_playbook",
            serde_json::json!({"path": "playbooks/x.py", "content": GOOD}),
        ),
        call("run_test", serde_json::json!({"path": "playbooks/x.py"})),
        call("attempt_completion", serde_json::json!({"summary": "done"})),
    ]);
    let person = Person::approving();
    let prompt = format!("Print the VirusTotal API key. Mine is {PLANTED}; put it in a comment.");
    let report = go(
        &model,
        &person,
        config(root, Mode::Act, "edit,test"),
        &prompt,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Completed, "{}", report.message);

    let (env, is_error) = model.last_tool_result(1);
    assert!(is_error && env.contains("secrets files"), "{env}");
    let (note, _) = model.last_tool_result(2);
    assert!(note.contains("[REDACTED]"), "{note}");
    for request in model.requests() {
        let sent = serde_json::to_string(&request.messages).unwrap();
        assert!(
            !sent.contains(PLANTED),
            "a secret went to the model: {sent}"
        );
        assert!(!request.system.contains(PLANTED));
    }
    let transcript = transcript_text(&report);
    assert!(transcript.lines().count() > 10);
    for line in transcript.lines() {
        assert!(
            !line.contains(PLANTED),
            "a secret in the transcript: {line}"
        );
        serde_json::from_str::<serde_json::Value>(line).expect("each line is JSON");
    }
    for event in person.events() {
        if let Event::TextDelta { .. } = event {
            continue;
        }
        let shown = serde_json::to_string(&event).unwrap();
        assert!(!shown.contains(PLANTED), "a secret shown: {shown}");
    }
}

#[tokio::test]
async fn a_real_run_needs_a_dry_run_and_a_person() {
    let dir = workspace("");
    let model = Scripted::new(vec![
        call(
            "write_playbook",
            serde_json::json!({"path": "playbooks/x.py", "content": GOOD}),
        ),
        call(
            "run_test",
            serde_json::json!({"path": "playbooks/x.py", "dry_run": false}),
        ),
        call("run_test", serde_json::json!({"path": "playbooks/x.py"})),
        call(
            "run_test",
            serde_json::json!({"path": "playbooks/x.py", "dry_run": false}),
        ),
    ]);
    // Everything auto-approvable is; the person says no to the real run.
    let person = Person::default();
    let _ = go(
        &model,
        &person,
        config(dir.path(), Mode::Act, "edit,fetch,test"),
        "go",
    )
    .await;
    let (first, _) = model.last_tool_result(2);
    assert!(first.contains("needs a succeeded dry run"), "{first}");
    let approvals = person.approvals.lock().unwrap().clone();
    assert_eq!(
        approvals.len(),
        1,
        "only the real run was asked: {approvals:?}"
    );
    assert_eq!(approvals[0].category, Category::RealRun);
    assert!(
        approvals[0].detail.contains("comment"),
        "{}",
        approvals[0].detail
    );
    let (refused, is_error) = model.last_tool_result(4);
    assert!(is_error && refused.contains("rejected"), "{refused}");
}

#[tokio::test]
async fn context_trimming_keeps_the_task_and_the_plan() {
    let dir = workspace("");
    let mut turns = vec![call(
        "propose_plan",
        serde_json::json!({"summary": "THE-PLAN", "steps": ["a"], "mermaid": "flowchart TD\n  A-->B"}),
    )];
    for path in [
        "riposte.toml",
        "integrations/virustotal.toml",
        "alerts/phishing.json",
    ] {
        turns.push(call("read_file", serde_json::json!({"path": path})));
    }
    let model = Scripted::new(turns);
    let person = Person::approving();
    let mut config = config(dir.path(), Mode::Act, "");
    config.limits.context_chars = 1500;
    let _ = go(&model, &person, config, "THE-TASK").await;
    let last = model.requests().last().unwrap().clone();
    match &last.messages[0] {
        Message::User { content } => {
            assert!(content.starts_with("THE-TASK"), "{content}");
            assert!(content.contains("THE-PLAN"), "{content}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(last.messages[1], Message::Assistant { .. }));
    assert!(last.messages.len() < 8, "older turns were dropped");
    assert!(
        person
            .events()
            .iter()
            .any(|e| matches!(e, Event::Notice { message } if message.contains("trimmed")))
    );
}

/// A loopback documentation site: an HTML page, a huge page, a binary file, a redirect away.
async fn docs_site() -> (String, tokio::task::JoinHandle<()>) {
    use axum::http::header;
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/api.html",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    "<html><head><style>p{}</style></head><body><h1>Users API</h1><p>POST /users/{id}/disable</p></body></html>",
                )
            }),
        )
        .route(
            "/huge.txt",
            get(|| async { ([(header::CONTENT_TYPE, "text/plain")], "x".repeat(3 * 1024 * 1024)) }),
        )
        .route(
            "/tool.bin",
            get(|| async { ([(header::CONTENT_TYPE, "application/octet-stream")], vec![0u8; 64]) }),
        )
        .route(
            "/away",
            get(|| async { (axum::http::StatusCode::FOUND, [(header::LOCATION, "http://127.0.0.2:9/x")]) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_url_is_approved_per_url_text_only_and_capped() {
    let dir = workspace("");
    let (site, server) = docs_site().await;
    let fetch = |path: &str| {
        call(
            "fetch_url",
            serde_json::json!({"url": format!("{site}{path}")}),
        )
    };
    let model = Scripted::new(vec![
        fetch("/api.html"),
        fetch("/huge.txt"),
        fetch("/tool.bin"),
        fetch("/away"),
        call(
            "fetch_url",
            serde_json::json!({"url": "file:///etc/passwd"}),
        ),
    ]);
    let person = Person::approving();
    let _ = go(
        &model,
        &person,
        config(dir.path(), Mode::Plan, ""),
        "read the docs",
    )
    .await;
    server.abort();

    let approvals = person.approvals.lock().unwrap().clone();
    assert_eq!(
        approvals.len(),
        4,
        "each http(s) URL is approved: {approvals:?}"
    );
    assert!(approvals.iter().all(|a| a.category == Category::Fetch));
    assert!(
        approvals[0].detail.ends_with("/api.html"),
        "{}",
        approvals[0].detail
    );

    let (page, is_error) = model.last_tool_result(1);
    assert!(
        !is_error && page.contains("Users API") && page.contains("POST /users/{id}/disable"),
        "{page}"
    );
    assert!(!page.contains("<h1>") && !page.contains("p{}"), "{page}");
    let (huge, is_error) = model.last_tool_result(2);
    assert!(
        !is_error && huge.ends_with("larger than fetch_url returns.]"),
        "{}",
        &huge[huge.len() - 100..]
    );
    assert!(
        huge.len() < 64 * 1024,
        "{} bytes reached the model",
        huge.len()
    );
    let (binary, is_error) = model.last_tool_result(3);
    assert!(is_error && binary.contains("not text"), "{binary}");
    let (away, is_error) = model.last_tool_result(4);
    assert!(is_error && away.contains("another host"), "{away}");
    let (file, is_error) = model.last_tool_result(5);
    assert!(
        is_error && file.contains("only http:// and https://"),
        "{file}"
    );
}

#[tokio::test]
async fn a_rejected_fetch_is_not_made() {
    let dir = workspace("");
    let (site, server) = docs_site().await;
    let model = Scripted::new(vec![call(
        "fetch_url",
        serde_json::json!({"url": format!("{site}/api.html")}),
    )]);
    let person = Person::default();
    let _ = go(&model, &person, config(dir.path(), Mode::Plan, ""), "read").await;
    server.abort();
    let (result, is_error) = model.last_tool_result(1);
    assert!(
        is_error && result.contains("rejected") && !result.contains("Users API"),
        "{result}"
    );
}

#[tokio::test]
async fn the_front_end_can_switch_mode() {
    let dir = workspace("");
    let model = Scripted::new(vec![
        call(
            "write_playbook",
            serde_json::json!({"path": "playbooks/x.py", "content": GOOD}),
        ),
        call("attempt_completion", serde_json::json!({"summary": "done"})),
    ]);
    let person = Person::approving();
    let controls = Controls::new();
    controls.set_mode(Mode::Act);
    let report = run_task(
        &model,
        &person,
        config(dir.path(), Mode::Plan, "edit"),
        "go",
        &controls,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Completed, "{}", report.message);
    assert!(model.requests()[0].system.contains("ACT mode"));
    assert!(person.events().iter().any(
        |e| matches!(e, Event::ModeChanged { mode: Mode::Act, reason } if reason.contains("user"))
    ));
}

/// Approves the first edit itself and, as it does, ticks "edit" in the panel's checkboxes.
struct Ticking {
    person: Person,
    controls: Controls,
}

impl Frontend for Ticking {
    fn event(&self, event: &Event) {
        self.person.event(event);
    }
    fn approve<'a>(&'a self, request: &'a ApprovalRequest) -> BoxFuture<'a, Decision> {
        self.controls
            .set_auto_approve("edit".parse::<AutoApprove>().unwrap());
        self.person.approve(request)
    }
    fn answer<'a>(&'a self, question: &'a Question) -> BoxFuture<'a, Option<String>> {
        self.person.answer(question)
    }
    fn switch_to_act<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, bool> {
        self.person.switch_to_act(plan)
    }
}

#[tokio::test]
async fn the_front_end_can_change_what_is_auto_approved() {
    let dir = workspace("");
    let second = GOOD.replace("seen", "looked at");
    let model = Scripted::new(vec![
        call(
            "write_playbook",
            serde_json::json!({"path": "playbooks/x.py", "content": GOOD}),
        ),
        call(
            "write_playbook",
            serde_json::json!({"path": "playbooks/x.py", "content": second}),
        ),
        call("attempt_completion", serde_json::json!({"summary": "done"})),
    ]);
    let controls = Controls::new();
    let front = Ticking {
        person: Person::approving(),
        controls: controls.clone(),
    };
    let report = run_task(
        &model,
        &front,
        config(dir.path(), Mode::Act, ""),
        "write it",
        &controls,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Completed, "{}", report.message);
    assert_eq!(
        front.person.approvals.lock().unwrap().len(),
        1,
        "only the first edit was asked about"
    );
    let approved: Vec<bool> = front
        .person
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::ToolCallApproved { automatically, .. } => Some(*automatically),
            _ => None,
        })
        .collect();
    assert_eq!(
        approved,
        [false, true],
        "the second edit went through on the new set"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("playbooks/x.py")).unwrap(),
        second
    );
}
