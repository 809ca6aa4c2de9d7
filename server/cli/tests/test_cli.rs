//! `riposte test` and `riposte doctor` as a user runs them: the real binary, a temporary copy of
//! the demo workspace pointing at loopback stand-ins of its APIs (which check credentials), and
//! secrets in `RIPOSTE_<PROFILE>_<FIELD>` environment variables. Exit codes: 0 succeeded, 1 the run
//! did not succeed, 2 bad usage or input, 3 blocked by validation.

#[path = "../../../tests/runtime/standins.rs"]
mod standins;

use std::path::Path;
use std::process::Stdio;

use serde_json::Value;
use standins::*;

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|err| panic!("{err}: {}", self.stdout))
    }
}

/// Runs `riposte ARGS` with the stand-ins' secrets in the environment (and `extra`), stdin closed.
async fn riposte(args: &[&str], cwd: &Path, env: &[(String, String)]) -> Outcome {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_riposte"))
        .args(args)
        .current_dir(cwd)
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let outcome = Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    for text in [&outcome.stdout, &outcome.stderr] {
        assert!(
            !text.contains(secrets::SENTINEL),
            "a secret reached the output of riposte {args:?}:\n{text}"
        );
    }
    outcome
}

fn alert(name: &str) -> String {
    repo_root()
        .join("fixtures/alerts")
        .join(name)
        .display()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_demo_playbook_dry_run_then_real_run() {
    let apis = Apis::start(vec![internal_phishing_alert()]).await;
    let ws = DemoWorkspace::new();
    ws.point_all(&apis);
    let env = secrets::env();
    let cases = [
        ("vt-url-enrichment.py", alert("graph-phishing-url.json"), 0),
        ("jira-issue.py", alert("graph-malware-device.json"), 1),
        (
            "servicenow-ticket.py",
            alert("sentinel-securityalert-phishing.json"),
            1,
        ),
        (
            "aws-iam-block-user.py",
            alert("graph-aws-iam-suspicious.json"),
            4,
        ),
    ];
    for (playbook, alert, planned) in &cases {
        let path = format!("playbooks/{playbook}");
        let dry = riposte(
            &[
                "test",
                &path,
                "--alert",
                alert,
                "--dry-run",
                "--format",
                "json",
            ],
            ws.root(),
            &env,
        )
        .await;
        assert_eq!(
            dry.code, 0,
            "{playbook} dry run: {}{}",
            dry.stdout, dry.stderr
        );
        let record = dry.json();
        assert_eq!(record["status"], "succeeded", "{playbook}");
        assert_eq!(record["dry_run"], true);
        let planned_requests = record["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["outcome"] == "planned")
            .count();
        assert_eq!(planned_requests, *planned, "{playbook}: {record:#}");

        let real = riposte(&["test", &path, "--alert", alert, "--yes"], ws.root(), &env).await;
        assert_eq!(
            real.code, 0,
            "{playbook} real run: {}{}",
            real.stdout, real.stderr
        );
        assert!(real.stdout.contains("\nsucceeded in "), "{}", real.stdout);
        assert!(!real.stdout.contains("Changes the real run would make"));
    }
    // What the real runs sent (the dry runs sent only reads).
    assert_eq!(apis.virustotal.received().len(), 2);
    assert_eq!(apis.jira.lines(), vec!["POST /rest/api/3/issue"]);
    assert_eq!(
        apis.servicenow.lines(),
        vec!["POST /api/now/table/incident"]
    );
    let aws_actions: Vec<_> = apis
        .aws
        .received()
        .iter()
        .map(|r| r.param("Action").unwrap_or_default())
        .collect();
    assert_eq!(
        aws_actions,
        vec![
            "ListAccessKeys",
            "AttachUserPolicy",
            "DeleteLoginProfile",
            "ListAccessKeys",
            "UpdateAccessKey",
            "UpdateAccessKey"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graph_alert_by_id_with_comments_sent_back() {
    let apis = Apis::start(vec![internal_phishing_alert()]).await;
    let ws = DemoWorkspace::new();
    ws.point_all(&apis);
    let env = secrets::env();
    let id = "fa6c1d9f5e-2b7a-4c3e-9d84-1f0a6b2c7e95";
    let playbook = ws
        .playbook("phishing-sender-disable.py")
        .display()
        .to_string();
    let root = ws.root().display().to_string();
    let elsewhere = tempfile::tempdir().unwrap();

    let dry = riposte(
        &[
            "test",
            &playbook,
            "--alert-id",
            id,
            "--workspace",
            &root,
            "--dry-run",
        ],
        elsewhere.path(),
        &env,
    )
    .await;
    assert_eq!(dry.code, 0, "{}{}", dry.stdout, dry.stderr);
    let text = &dry.stdout;
    assert!(text.contains("Changes the real run would make\n"), "{text}");
    assert!(text.contains("PATCH http://127.0.0.1:"), "{text}");
    assert!(
        text.contains("/revokeSignInSessions (Microsoft Graph)"),
        "{text}"
    );
    assert!(text.contains("/api/chat.postMessage (Slack)"), "{text}");
    assert!(
        text.contains("comment on the alert (graph Microsoft Graph): \"Phishing alert"),
        "{text}"
    );
    assert!(apis.slack.received().is_empty());

    let real = riposte(
        &[
            "test",
            &playbook,
            "--alert-id",
            id,
            "--alert-source",
            "Microsoft Graph",
            "--workspace",
            &root,
            "--yes",
            "--format",
            "json",
        ],
        elsewhere.path(),
        &env,
    )
    .await;
    assert_eq!(real.code, 0, "{}{}", real.stdout, real.stderr);
    let record = real.json();
    assert_eq!(record["comments"][0]["outcome"], "sent");
    assert_eq!(record["alert"]["source"], "graph Microsoft Graph");
    let comments: Vec<_> = apis
        .graph
        .lines()
        .into_iter()
        .filter(|l| l.ends_with("/comments"))
        .collect();
    assert_eq!(
        comments,
        vec![format!("POST /v1.0/security/alerts_v2/{id}/comments")]
    );
    assert_eq!(apis.slack.lines(), vec!["POST /api/chat.postMessage"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_for_input_problems_and_failures() {
    let apis = Apis::start(Vec::new()).await;
    let standin = StandIn::start(misbehaving()).await;
    let ws = DemoWorkspace::new();
    ws.point_all(&apis).add_standin_profile(&standin.url);
    let env = secrets::env();
    let vt = "playbooks/vt-url-enrichment.py";

    // Blocked by validation: 3, and the diagnostics as `riposte check` prints them.
    let hostile = repo_root().join("fixtures/playbooks/hostile/ctypes-import.py");
    let blocked = riposte(
        &[
            "test",
            &hostile.display().to_string(),
            "--alert",
            &alert("graph-phishing-url.json"),
            "--workspace",
            ".",
            "--dry-run",
        ],
        ws.root(),
        &env,
    )
    .await;
    assert_eq!(blocked.code, 3, "{}{}", blocked.stdout, blocked.stderr);
    assert!(
        blocked.stdout.contains(":2:8: RP010 [error] `ctypes`"),
        "{}",
        blocked.stdout
    );
    assert!(
        blocked.stdout.contains("2 | import ctypes\n"),
        "{}",
        blocked.stdout
    );
    assert!(
        blocked.stdout.contains("\nblocked after "),
        "{}",
        blocked.stdout
    );
    let blocked_json = riposte(
        &[
            "test",
            &hostile.display().to_string(),
            "--alert",
            &alert("graph-phishing-url.json"),
            "--workspace",
            ".",
            "--dry-run",
            "--format",
            "json",
        ],
        ws.root(),
        &env,
    )
    .await;
    assert_eq!(blocked_json.code, 3);
    assert_eq!(blocked_json.json()["blocked_by"], "validation");
    assert_eq!(blocked_json.json()["diagnostics"][0]["code"], "RP010");

    // An alert that is not JSON, or neither shape: 2.
    let not_json = ws.root().join("not-json.json");
    std::fs::write(&not_json, "<alert/>").unwrap();
    let neither = ws.root().join("neither.json");
    std::fs::write(&neither, r#"{"value": [{"id": "x"}]}"#).unwrap();
    for (file, expected) in [
        (&not_json, "is not valid JSON"),
        (&neither, "This looks like a list response with 1 item(s)"),
    ] {
        let outcome = riposte(
            &[
                "test",
                vt,
                "--alert",
                &file.display().to_string(),
                "--dry-run",
            ],
            ws.root(),
            &env,
        )
        .await;
        assert_eq!(outcome.code, 2, "{}{}", outcome.stdout, outcome.stderr);
        assert!(outcome.stderr.contains(expected), "{}", outcome.stderr);
    }

    // A missing secret: 2, naming the profile and the field, before anything is sent.
    let without_vt: Vec<_> = env
        .iter()
        .filter(|(k, _)| k != "RIPOSTE_VIRUSTOTAL_API_KEY")
        .cloned()
        .collect();
    let missing = riposte(
        &[
            "test",
            vt,
            "--alert",
            &alert("graph-phishing-url.json"),
            "--dry-run",
        ],
        ws.root(),
        &without_vt,
    )
    .await;
    assert_eq!(missing.code, 2, "{}{}", missing.stdout, missing.stderr);
    assert!(
        missing
            .stderr
            .contains("integration `VirusTotal` needs the secret `api_key`"),
        "{}",
        missing.stderr
    );
    assert!(apis.virustotal.received().is_empty());

    // A real run without --yes and without a terminal: 2, and nothing runs.
    let unconfirmed = riposte(
        &[
            "test",
            "playbooks/jira-issue.py",
            "--alert",
            &alert("graph-phishing-url.json"),
        ],
        ws.root(),
        &env,
    )
    .await;
    assert_eq!(unconfirmed.code, 2);
    assert!(
        unconfirmed
            .stderr
            .contains("pass --yes to confirm it, or --dry-run"),
        "{}",
        unconfirmed.stderr
    );
    assert!(apis.jira.received().is_empty());

    // A run that fails: 1, with the traceback at the playbook's line.
    ws.add_playbook(
        "fails.py",
        "\"\"\"Fails.\"\"\"\nfrom riposte import Alert, Context\n\n\ndef run(alert: Alert, ctx: Context) -> None:\n    ctx.integration(\"Stand-in\").get(\"/status/500\").raise_for_status()\n",
    );
    let failed = riposte(
        &[
            "test",
            "playbooks/fails.py",
            "--alert",
            &alert("graph-phishing-url.json"),
            "--dry-run",
        ],
        ws.root(),
        &env,
    )
    .await;
    assert_eq!(failed.code, 1, "{}{}", failed.stdout, failed.stderr);
    assert!(
        failed
            .stdout
            .contains("File \"playbooks/fails.py\", line 6, in run"),
        "{}",
        failed.stdout
    );
    assert!(
        failed.stdout.contains("\nfailed after "),
        "{}",
        failed.stdout
    );

    // A run that times out: 1.
    let looping = repo_root().join("fixtures/playbooks/hostile/infinite-loop.py");
    let timeout = riposte(
        &[
            "test",
            &looping.display().to_string(),
            "--alert",
            &alert("graph-phishing-url.json"),
            "--workspace",
            ".",
            "--dry-run",
            "--timeout",
            "1",
        ],
        ws.root(),
        &env,
    )
    .await;
    assert_eq!(timeout.code, 1);
    assert!(
        timeout.stdout.contains("timeout after "),
        "{}",
        timeout.stdout
    );
    assert!(
        timeout.stdout.contains("time limit of 1 s"),
        "{}",
        timeout.stdout
    );

    // Bad usage: 2.
    let usage = riposte(&["test", vt], ws.root(), &env).await;
    assert_eq!(usage.code, 2);
    assert!(usage.stderr.contains("--alert"), "{}", usage.stderr);
}

/// The host's environment holds the secrets; the playbook cannot read it through /proc.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secrets_in_the_host_environment_stay_there() {
    let ws = DemoWorkspace::new();
    let playbook = repo_root().join("fixtures/playbooks/hostile/read-host-environment.py");
    let outcome = riposte(
        &[
            "test",
            &playbook.display().to_string(),
            "--alert",
            &alert("graph-phishing-url.json"),
            "--workspace",
            ".",
            "--dry-run",
            "--format",
            "json",
        ],
        ws.root(),
        &secrets::env(),
    )
    .await;
    assert_eq!(outcome.code, 1, "{}{}", outcome.stdout, outcome.stderr);
    assert_eq!(outcome.json()["blocked_by"], "sandbox");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_each_protection() {
    let ws = DemoWorkspace::new();
    let outcome = riposte(&["doctor", "--workspace", "."], ws.root(), &[]).await;
    for topic in [
        "python",
        "network",
        "filesystem",
        "processes",
        "privileges",
        "limits",
        "timeout",
    ] {
        assert!(
            outcome.stdout.lines().any(|line| line.starts_with(topic)),
            "no {topic} line:\n{}",
            outcome.stdout
        );
    }
    // On a machine with every protection (Linux with Landlock, as CI's), all lines are on.
    let all_on = outcome.stdout.lines().all(|line| line.contains(" ok "));
    assert_eq!(outcome.code == 0, all_on, "{}", outcome.stdout);
    let json = riposte(
        &["doctor", "--workspace", ".", "--format", "json"],
        ws.root(),
        &[],
    )
    .await;
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["lines"].as_array().unwrap().len(), 7);
}
