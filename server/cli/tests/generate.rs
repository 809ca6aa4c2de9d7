//! `riposte generate` and `riposte eval` as a person or a script uses them: the real binary
//! against the scripted LLM stand-in on loopback (`server/agent/tests/standin/`). Model
//! configuration problems, provider failures, questions and approvals on stdin, the JSON event
//! stream, and eval's report. The seed sessions themselves are `generate_seeds.rs`.

#[path = "../../../tests/runtime/standins.rs"]
mod standins;

#[path = "../../agent/tests/standin/mod.rs"]
mod standin;

use std::path::Path;
use std::process::Stdio;

use serde_json::json;
use standins::*;
use tokio::io::AsyncWriteExt as _;

const LLM_KEY: &str = "sk-standin-llm-key-s3ntinel-c0de";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn all(&self) -> String {
        format!("exit {}\n{}\n{}", self.code, self.stdout, self.stderr)
    }
}

/// `riposte ARGS` in `cwd` with `stdin` fed in (then closed) and only `env` for the model.
async fn riposte(args: &[&str], cwd: &Path, env: &[(&str, &str)], stdin: &str) -> Run {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_riposte"));
    for var in standin::MODEL_ENV_VARS {
        command.env_remove(var);
    }
    let mut child = command
        .args(args)
        .current_dir(cwd)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        child.wait_with_output(),
    )
    .await
    .expect("riposte finished")
    .unwrap();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    for text in [&run.stdout, &run.stderr] {
        assert!(
            !text.contains(LLM_KEY),
            "the model key was printed:\n{text}"
        );
        assert!(
            !text.contains(secrets::SENTINEL),
            "a secret was printed:\n{text}"
        );
    }
    run
}

/// A stand-in playing `turns` (the `fixtures/llm` format), checking the key and that no planted
/// secret reaches it.
async fn model(turns: serde_json::Value) -> (standin::Standin, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script.json");
    std::fs::write(&path, json!({"model": "m", "turns": turns}).to_string()).unwrap();
    let mut planted: Vec<String> = secrets::values().iter().map(|s| s.to_string()).collect();
    planted.push(LLM_KEY.into());
    let llm = standin::Standin::start(
        standin::Script::load(&path).unwrap(),
        standin::Options {
            key: Some(LLM_KEY.into()),
            planted_secrets: planted,
        },
        0,
    )
    .await
    .unwrap();
    (llm, dir)
}

fn reply(calls: serde_json::Value) -> serde_json::Value {
    json!({"kind": "reply", "text": "", "tool_calls": calls})
}

const GOOD: &str = "\"\"\"Comment on the alert.\"\"\"\nfrom riposte import Alert, Context\n\n\ndef run(alert: Alert, ctx: Context) -> None:\n    ctx.comment(f\"seen: {alert.title}\")\n";

fn openai(llm: &standin::Standin) -> Vec<String> {
    vec![
        "--provider".into(),
        "openai".into(),
        "--base-url".into(),
        llm.openai_base_url(),
        "--model".into(),
        "m".into(),
    ]
}

fn generate_args<'a>(ws: &'a str, model: &'a [String], extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["generate", "--workspace", ws];
    args.extend(model.iter().map(String::as_str));
    args.extend_from_slice(extra);
    args
}

#[tokio::test]
async fn without_a_model_it_says_how_to_configure_one() {
    let ws = DemoWorkspace::new();
    let run = riposte(&["generate", "--prompt", "enrich URLs"], ws.root(), &[], "").await;
    assert_eq!(run.code, 2, "{}", run.all());
    for hint in [
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "Ollama",
        "--base-url",
        "RIPOSTE_LLM_MODEL",
    ] {
        assert!(run.stderr.contains(hint), "{hint}: {}", run.all());
    }
    let run = riposte(
        &["generate", "--prompt", "x", "--provider", "openai"],
        ws.root(),
        &[("OPENAI_API_KEY", LLM_KEY)],
        "",
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("--model"), "{}", run.all());
}

#[tokio::test]
async fn bad_usage_exits_2() {
    let ws = DemoWorkspace::new();
    let root = ws.root().display().to_string();
    let env = [("RIPOSTE_LLM_API_KEY", LLM_KEY)];
    let base = [
        "--provider",
        "openai",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--model",
        "m",
    ];
    let mut args = vec![
        "generate",
        "--workspace",
        &root,
        "--prompt",
        "x",
        "--auto-approve",
        "edit,deploy",
    ];
    args.extend_from_slice(&base);
    let run = riposte(&args, ws.root(), &env, "").await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("`deploy` is not an approval category"),
        "{}",
        run.all()
    );

    let mut args = vec!["generate", "--workspace", &root, "--prompt", "  "];
    args.extend_from_slice(&base);
    let run = riposte(&args, ws.root(), &env, "").await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("prompt is empty"), "{}", run.all());

    let run = riposte(
        &[
            "generate",
            "--prompt",
            "x",
            "--provider",
            "cohere",
            "--model",
            "m",
        ],
        ws.root(),
        &env,
        "",
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("--provider cohere"), "{}", run.all());
}

#[tokio::test]
async fn a_refused_key_is_a_configuration_error() {
    let ws = DemoWorkspace::new();
    let root = ws.root().display().to_string();
    let (llm, _dir) = model(json!([{"kind": "http_error", "status": 401, "echo_key": true}])).await;
    let model_args = openai(&llm);
    let run = riposte(
        &generate_args(&root, &model_args, &["--prompt", "x"]),
        ws.root(),
        &[("RIPOSTE_LLM_API_KEY", LLM_KEY)],
        "",
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stdout.contains("refused the key"), "{}", run.all());
    // The transcript has the failure, and not the key the provider echoed.
    let transcripts = ws.root().join(".riposte/transcripts");
    let entry = std::fs::read_dir(&transcripts)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let text = std::fs::read_to_string(entry.path()).unwrap();
    assert!(
        text.contains("provider_failed") && !text.contains(LLM_KEY),
        "{text}"
    );
}

#[tokio::test]
async fn an_unreachable_model_stops_with_a_clear_message() {
    let ws = DemoWorkspace::new();
    let root = ws.root().display().to_string();
    let port = standin::closed_port().await;
    let model_args = vec![
        "--provider".to_string(),
        "ollama".into(),
        "--base-url".into(),
        format!("http://127.0.0.1:{port}/v1"),
        "--model".into(),
        "m".into(),
    ];
    let run = riposte(
        &generate_args(&root, &model_args, &["--prompt", "x"]),
        ws.root(),
        &[],
        "",
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains("cannot reach the model"),
        "{}",
        run.all()
    );
}

#[tokio::test]
async fn a_question_fails_a_non_interactive_run_and_is_answered_on_stdin() {
    let ws = DemoWorkspace::new();
    let root = ws.root().display().to_string();
    let ask = json!([reply(
        json!([{"name": "ask_user", "arguments": {"question": "Which Jira project?", "choices": ["SOC", "SEC"]}}])
    )]);
    let (llm, _dir) = model(ask.clone()).await;
    let model_args = openai(&llm);
    let run = riposte(
        &generate_args(
            &root,
            &model_args,
            &["--prompt", "open a Jira issue", "--non-interactive"],
        ),
        ws.root(),
        &[("RIPOSTE_LLM_API_KEY", LLM_KEY)],
        "",
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stdout.contains("Which Jira project?"), "{}", run.all());

    // Interactive: the answer (a choice's number) goes back to the model.
    let mut turns = ask.as_array().unwrap().clone();
    turns.push(json!({"kind": "reply", "text": "", "expect": ["The user answered: SEC"], "tool_calls": [
        {"name": "propose_plan", "arguments": {"summary": "open an issue in SEC", "steps": ["create the issue"], "mermaid": "flowchart TD\n  A[Alert] --> B[Jira issue]", "integrations": ["Jira", "PagerDuty"]}}
    ]}));
    let (llm, _dir) = model(json!(turns)).await;
    let model_args = openai(&llm);
    let run = riposte(
        &generate_args(&root, &model_args, &["--prompt", "open a Jira issue"]),
        ws.root(),
        &[("RIPOSTE_LLM_API_KEY", LLM_KEY)],
        "2\n",
    )
    .await;
    assert_eq!(llm.violations(), Vec::<String>::new(), "{}", run.all());
    assert_eq!(run.code, 0, "the plan is ready: {}", run.all());
    assert!(
        run.stdout.contains("```mermaid\nflowchart TD"),
        "{}",
        run.all()
    );
    assert!(
        run.stdout.contains("missing profile: PagerDuty"),
        "{}",
        run.all()
    );
    assert!(run.stdout.contains("plan_ready"), "{}", run.all());
}

#[tokio::test]
async fn approvals_are_read_from_stdin() {
    let ws = DemoWorkspace::new();
    let root = ws.root().display().to_string();
    let write = json!({"name": "write_playbook", "arguments": {"path": "playbooks/note.py", "content": GOOD}});
    let (llm, _dir) = model(json!([
        reply(json!([write])),
        {"kind": "reply", "text": "", "expect": ["rejected", "only comment on high severity"], "tool_calls": [write]},
        {"kind": "reply", "text": "", "expect": ["clean"], "tool_calls": [{"name": "attempt_completion", "arguments": {"summary": "comments"}}]}
    ]))
    .await;
    let model_args = openai(&llm);
    let run = riposte(
        &generate_args(
            &root,
            &model_args,
            &["--prompt", "comment on alerts", "--act"],
        ),
        ws.root(),
        &[("RIPOSTE_LLM_API_KEY", LLM_KEY)],
        "only comment on high severity\ny\n",
    )
    .await;
    assert_eq!(llm.violations(), Vec::<String>::new(), "{}", run.all());
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr.contains("create playbooks/note.py"),
        "the approval is asked: {}",
        run.all()
    );
    assert!(
        run.stderr.contains("+def run"),
        "with the diff: {}",
        run.all()
    );
    assert!(
        run.stdout
            .contains("refused (Person): only comment on high severity"),
        "{}",
        run.all()
    );
    assert_eq!(
        std::fs::read_to_string(ws.root().join("playbooks/note.py")).unwrap(),
        GOOD
    );
    assert!(run.stdout.contains("completed: comments"), "{}", run.all());
}

#[tokio::test]
async fn the_json_format_streams_every_event_then_the_report() {
    let ws = DemoWorkspace::new();
    let root = ws.root().display().to_string();
    let (llm, _dir) = model(json!([
        {"kind": "reply", "text": "Writing it.", "tool_calls": [{"name": "write_playbook", "arguments": {"path": "playbooks/note.py", "content": GOOD}}]},
        reply(json!([{"name": "attempt_completion", "arguments": {"summary": "done"}}]))
    ]))
    .await;
    let model_args = openai(&llm);
    let run = riposte(
        &generate_args(
            &root,
            &model_args,
            &[
                "--prompt",
                "x",
                "--act",
                "--auto-approve",
                "edit",
                "--non-interactive",
                "--format",
                "json",
            ],
        ),
        ws.root(),
        &[("RIPOSTE_LLM_API_KEY", LLM_KEY)],
        "",
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    for expected in [
        "task_started",
        "text_delta",
        "tool_call_proposed",
        "tool_call_approved",
        "file_written",
        "diagnostics",
        "usage",
        "finished",
    ] {
        assert!(types.contains(&expected), "{expected} in {types:?}");
    }
    let report = lines.last().unwrap();
    assert_eq!(report["type"], "report");
    assert_eq!(report["outcome"], "completed");
    assert_eq!(report["first_write_clean"], true);
    assert_eq!(report["turns"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_reports_each_prompt() {
    let apis = Apis::start(Vec::new()).await;
    let ws = DemoWorkspace::new();
    ws.point_all(&apis);
    ws.add_alert(
        "graph-phishing-url.json",
        &fixture_alert("graph-phishing-url.json"),
    );
    let script = repo_root().join("fixtures/llm/vt-url-comment.json");
    let mut planted: Vec<String> = secrets::values().iter().map(|s| s.to_string()).collect();
    planted.push(LLM_KEY.into());
    let llm = standin::Standin::start(
        standin::Script::load(&script).unwrap(),
        standin::Options {
            key: Some(LLM_KEY.into()),
            planted_secrets: planted,
        },
        0,
    )
    .await
    .unwrap();
    let prompts = repo_root().join("fixtures/prompts").display().to_string();
    let workspace = ws.root().display().to_string();
    let base_url = llm.openai_base_url();
    let mut env: Vec<(String, String)> = secrets::env();
    env.push(("RIPOSTE_LLM_API_KEY".into(), LLM_KEY.into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = riposte(
        &[
            "eval",
            "--prompts",
            &prompts,
            "--workspace",
            &workspace,
            "--only",
            "vt-url-comment",
            "--provider",
            "openai",
            "--base-url",
            &base_url,
            "--model",
            "riposte-standin",
            "--format",
            "json",
        ],
        ws.root(),
        &env,
        "",
    )
    .await;
    assert_eq!(llm.violations(), Vec::<String>::new(), "{}", run.all());
    assert_eq!(run.code, 0, "{}", run.all());
    let rows: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let row = &rows[0];
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(row["prompt"], "vt-url-comment");
    assert_eq!(row["outcome"], "completed", "{row}");
    assert_eq!(
        row["clean_on_first_write"], false,
        "the seed's first draft has a mistake"
    );
    assert_eq!(row["passes_check"], true);
    assert_eq!(row["dry_run_passed"], true);
    assert!(row["turns"].as_u64().unwrap() >= 8, "{row}");
    assert!(row["tokens"].as_u64().unwrap() > 0, "{row}");
    // The workspace itself is untouched: eval works on copies.
    assert!(!ws.root().join("playbooks/vt-url-comment.py").exists());
}
