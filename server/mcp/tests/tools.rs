//! The MCP server in process, spoken to by rmcp's own client over an in-memory pipe: the tool
//! list and schemas, and each tool against a temporary copy of the demo workspace whose
//! VirusTotal profile points at a loopback stand-in (which checks the API key), with the key
//! planted in the server's secret source. No answer may hold a planted secret.

#[path = "../../../tests/runtime/standins.rs"]
mod standins;

use std::sync::{Arc, Mutex};

use riposte_mcp::{EngineSettings, Options, RealRuns, RiposteMcp};
use riposte_runtime::secrets::EnvSecrets;
use rmcp::model::{CallToolRequestParams, ContentBlock};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt as _};
use serde_json::{Value, json};
use standins::*;

type Client = RunningService<RoleClient, ()>;

fn options(ws: &DemoWorkspace, real_runs: RealRuns, engine_url: Option<String>) -> Options {
    Options {
        root: std::fs::canonicalize(ws.root()).unwrap(),
        real_runs,
        secrets: Arc::new(EnvSecrets::from_vars(secrets::env())),
        engine: EngineSettings {
            url: engine_url,
            token: riposte_engine_client::client::Token::new(secrets::STANDIN_TOKEN),
        },
    }
}

async fn connect(options: Options) -> Client {
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        if let Ok(service) = RiposteMcp::new(options).serve(server_io).await {
            let _ = service.waiting().await;
        }
    });
    ().serve(client_io).await.expect("initialize")
}

/// Calls a tool; returns whether it was a tool error, and its text. Fails the test if a planted
/// secret is in it.
async fn call(client: &Client, tool: &str, arguments: Value) -> (bool, String) {
    let Value::Object(arguments) = arguments else {
        panic!("arguments are an object")
    };
    let result = client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
        .await
        .unwrap_or_else(|err| panic!("{tool}: {err}"));
    let text: String = result
        .content
        .iter()
        .filter_map(|block| match block {
            ContentBlock::Text(text) => Some(text.text.clone()),
            _ => None,
        })
        .collect();
    for secret in secrets::values() {
        assert!(
            !text.contains(secret),
            "{tool} answered with a planted secret:\n{text}"
        );
    }
    assert!(!text.contains(secrets::SENTINEL), "{tool}: {text}");
    (result.is_error == Some(true), text)
}

async fn call_ok(client: &Client, tool: &str, arguments: Value) -> Value {
    let (is_error, text) = call(client, tool, arguments).await;
    assert!(!is_error, "{tool} failed: {text}");
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{tool}: {err}: {text}"))
}

async fn call_err(client: &Client, tool: &str, arguments: Value) -> String {
    let (is_error, text) = call(client, tool, arguments).await;
    assert!(is_error, "{tool} should have failed: {text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_are_listed_with_descriptions_and_schemas() {
    let ws = DemoWorkspace::new();
    let client = connect(options(&ws, RealRuns::Refused, None)).await;
    let info = client.peer_info().expect("server info");
    assert_eq!(
        info.server_info.as_ref().map(|i| i.name.as_str()),
        Some("riposte")
    );
    assert!(
        info.instructions
            .as_deref()
            .unwrap_or("")
            .contains("validate")
    );

    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "describe_integration",
            "docs",
            "get_alert_schema",
            "list_integrations",
            "save",
            "test",
            "validate"
        ]
    );
    for tool in &tools {
        let description = tool.description.as_deref().unwrap_or("");
        assert!(description.len() > 80, "{}: {description}", tool.name);
        assert_eq!(tool.input_schema.get("type"), Some(&json!("object")));
    }
    let test = tools.iter().find(|t| t.name == "test").unwrap();
    let properties = test.input_schema.get("properties").unwrap();
    for field in ["path", "alert_path", "alert", "alert_id", "dry_run"] {
        assert!(properties.get(field).is_some(), "test has no `{field}`");
    }
    assert_eq!(test.input_schema.get("required"), Some(&json!(["path"])));
    client.cancel().await.unwrap();
}

/// `# expect: RP006 8:16` lines of a fixture.
fn expected(text: &str) -> Vec<(String, u64, u64)> {
    let mut want: Vec<_> = text
        .lines()
        .filter_map(|line| line.trim().strip_prefix("# expect: "))
        .map(|spec| {
            let (code, at) = spec.split_once(' ').unwrap();
            let (line, column) = at.split_once(':').unwrap();
            (
                code.to_owned(),
                line.parse().unwrap(),
                column.parse().unwrap(),
            )
        })
        .collect();
    want.sort();
    want
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_reports_each_bad_fixture_by_path_and_by_text() {
    let ws = DemoWorkspace::new();
    let client = connect(options(&ws, RealRuns::Refused, None)).await;
    let bad = repo_root().join("fixtures/playbooks/bad");
    let mut fixtures: Vec<_> = std::fs::read_dir(&bad)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 10);
    for fixture in &fixtures {
        let file = fixture.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(fixture).unwrap();
        ws.add_playbook(&file, &text);
        let by_path = call_ok(
            &client,
            "validate",
            json!({"path": format!("playbooks/{file}")}),
        )
        .await;
        assert_eq!(by_path["playbook"], format!("playbooks/{file}"));
        let mut found: Vec<(String, u64, u64)> = by_path["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                assert!(!d["message"].as_str().unwrap().is_empty());
                assert!(d["fix_available"].is_boolean());
                assert!(d["range"]["end"]["line"].as_u64().is_some());
                (
                    d["code"].as_str().unwrap().to_owned(),
                    d["range"]["start"]["line"].as_u64().unwrap(),
                    d["range"]["start"]["column"].as_u64().unwrap(),
                )
            })
            .collect();
        found.sort();
        assert_eq!(found, expected(&text), "{file}: {by_path:#}");
        assert_eq!(
            by_path["clean"], false,
            "{file} is a failing fixture: {by_path:#}"
        );

        let by_text = call_ok(&client, "validate", json!({"text": text})).await;
        assert_eq!(by_text["diagnostics"], by_path["diagnostics"], "{file}");
        assert_eq!(by_text["playbook"], "<text>");
    }

    // RP008 says where a secret is without repeating it.
    let secret_fixture = call_ok(
        &client,
        "validate",
        json!({"path": "playbooks/RP008-hardcoded-secret.py"}),
    )
    .await
    .to_string();
    assert!(!secret_fixture.contains("c4f1e9a7b2d84e0f9a6b3c5d7e8f1a2b"));
    assert!(!secret_fixture.contains("AKIAIOSFODNN7EXAMPLE"));

    let clean = call_ok(
        &client,
        "validate",
        json!({"path": "playbooks/vt-url-enrichment.py"}),
    )
    .await;
    assert_eq!(clean["clean"], true, "{clean:#}");
    assert_eq!(clean["errors"], 0);
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_are_tool_errors_that_say_what_to_do() {
    let ws = DemoWorkspace::new();
    let client = connect(options(&ws, RealRuns::Refused, None)).await;
    let both = call_err(&client, "validate", json!({"path": "a.py", "text": "x"})).await;
    assert!(both.contains("not both"), "{both}");
    let neither = call_err(&client, "validate", json!({})).await;
    assert!(neither.contains("`path`"), "{neither}");
    let missing = call_err(&client, "validate", json!({"path": "playbooks/nope.py"})).await;
    assert!(missing.contains("playbooks/nope.py"), "{missing}");
    // Outside the workspace: refused, whatever the file holds.
    let outside = call_err(&client, "validate", json!({"path": "/etc/hostname"})).await;
    assert!(outside.contains("outside the workspace"), "{outside}");
    let escape = call_err(&client, "docs", json!({"path": "../../etc/hostname"})).await;
    assert!(
        escape.contains("outside the workspace") || escape.contains("cannot open"),
        "{escape}"
    );
    let write_text = call_err(&client, "docs", json!({"text": "x = 1", "write": true})).await;
    assert!(write_text.contains("needs `path`"), "{write_text}");
    let unknown = call_err(&client, "describe_integration", json!({"name": "Nope"})).await;
    assert!(
        unknown.contains("`Nope`") && unknown.contains("VirusTotal"),
        "{unknown}"
    );
    let no_alert = call_err(
        &client,
        "test",
        json!({"path": "playbooks/vt-url-enrichment.py"}),
    )
    .await;
    assert!(no_alert.contains("exactly one of"), "{no_alert}");

    // Arguments that do not fit the schema are refused before the tool runs, as a tool error
    // the model can read (rmcp's parameter check).
    let refused = call_err(
        &client,
        "validate",
        json!({"path": "playbooks/x.py", "bogus": 1}),
    )
    .await;
    assert!(refused.contains("unknown field `bogus`"), "{refused}");
    let wrong_type = call_err(
        &client,
        "docs",
        json!({"path": "playbooks/x.py", "write": "yes"}),
    )
    .await;
    assert!(wrong_type.contains("invalid type"), "{wrong_type}");
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_render_markdown_with_mermaid_and_write_only_when_asked() {
    let ws = DemoWorkspace::new();
    let client = connect(options(&ws, RealRuns::Refused, None)).await;
    let target = ws.root().join("playbooks/vt-url-enrichment.md");
    std::fs::remove_file(&target).unwrap();
    let shown = call_ok(
        &client,
        "docs",
        json!({"path": "playbooks/vt-url-enrichment.py"}),
    )
    .await;
    let markdown = shown["markdown"].as_str().unwrap();
    assert!(markdown.contains("```mermaid"), "{markdown}");
    assert!(markdown.contains("VirusTotal"), "{markdown}");
    assert_eq!(shown["written"], Value::Null);
    assert!(!target.exists());

    let written = call_ok(
        &client,
        "docs",
        json!({"path": "playbooks/vt-url-enrichment.py", "write": true}),
    )
    .await;
    assert_eq!(written["written"], "playbooks/vt-url-enrichment.md");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), markdown);
    // The committed docs of the demo are what the tool writes.
    assert_eq!(
        std::fs::read_to_string(
            repo_root().join("fixtures/workspace/playbooks/vt-url-enrichment.md")
        )
        .unwrap()
        .replace("\r\n", "\n"),
        markdown
    );

    // A `.md` that links out of the workspace is not written through.
    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::remove_file(&target).unwrap();
    std::os::unix::fs::symlink(outside.path(), &target).unwrap();
    let linked = call_err(
        &client,
        "docs",
        json!({"path": "playbooks/vt-url-enrichment.py", "write": true}),
    )
    .await;
    assert!(linked.contains("outside the workspace"), "{linked}");
    assert_eq!(std::fs::read_to_string(outside.path()).unwrap(), "");

    let broken = call_err(&client, "docs", json!({"text": "def run(:\n"})).await;
    assert!(broken.contains("line 1"), "{broken}");
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integrations_are_described_without_secrets() {
    let ws = DemoWorkspace::new();
    std::fs::write(
        ws.root().join("integrations/broken.toml"),
        "name = \"Broken\"\nbase_url = \"https://x.example\"\n[auth]\nmethod = \"api_key\"\napi_key = \"inline-s3ntinel\"\n",
    )
    .unwrap();
    let client = connect(options(&ws, RealRuns::Refused, None)).await;
    let listed = call_ok(&client, "list_integrations", json!({})).await;
    let integrations = listed["integrations"].as_array().unwrap();
    let vt = integrations
        .iter()
        .find(|i| i["name"] == "VirusTotal")
        .expect("VirusTotal is listed");
    assert_eq!(vt["auth_method"], "api_key");
    assert_eq!(vt["catalog"], "virustotal");
    assert_eq!(vt["secret_fields"][0]["name"], "api_key");
    assert_eq!(
        vt["secret_fields"][0]["env_var"],
        "RIPOSTE_VIRUSTOTAL_API_KEY"
    );
    assert!(integrations.len() >= 6, "{listed:#}");
    let problems = listed["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["path"] == "integrations/broken.toml"),
        "{listed:#}"
    );

    let described = call_ok(
        &client,
        "describe_integration",
        json!({"name": "VirusTotal"}),
    )
    .await;
    let endpoints = described["endpoints"].as_array().unwrap();
    let url_report = endpoints
        .iter()
        .find(|e| e["method"] == "GET" && e["path"] == "/urls/{id}")
        .unwrap_or_else(|| panic!("no GET /urls/{{id}}: {described:#}"));
    assert_eq!(url_report["mutating"], false);
    assert_eq!(
        url_report["required"],
        json!([{"name": "id", "in": "path"}])
    );
    assert!(endpoints.iter().any(|e| e["mutating"] == true));

    let schema = call_ok(&client, "get_alert_schema", json!({})).await;
    let fields: Vec<&str> = schema["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for field in ["id", "title", "severity", "incident_id", "raw"] {
        assert!(fields.contains(&field), "{fields:?}");
    }
    assert!(
        schema["entity_kinds"]
            .as_array()
            .unwrap()
            .contains(&json!("url"))
    );
    assert!(
        schema["evidence_methods"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "urls")
    );
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_is_a_dry_run_by_default_and_real_runs_need_the_operator() {
    let vt = StandIn::start(virustotal(Vec::new())).await;
    let ws = DemoWorkspace::new();
    ws.point("virustotal.toml", &format!("{}/api/v3", vt.url), None);
    ws.add_alert("phish.json", &fixture_alert("graph-phishing-url.json"));
    // A playbook that changes something: asks VirusTotal to rescan each URL (POST /urls).
    ws.add_playbook(
        "rescan.py",
        "\"\"\"Ask VirusTotal to rescan the alert's URLs.\"\"\"\nfrom riposte import Alert, Context\n\n\ndef run(alert: Alert, ctx: Context) -> dict:\n    vt = ctx.integration(\"VirusTotal\")\n    for url in alert.urls():\n        vt.post(\"/urls\", data={\"url\": url.value})\n    return {\"asked\": len(alert.urls())}\n",
    );
    let client = connect(options(&ws, RealRuns::Refused, None)).await;

    let record = call_ok(
        &client,
        "test",
        json!({"path": "playbooks/vt-url-enrichment.py", "alert_path": "alerts/phish.json"}),
    )
    .await;
    assert_eq!(record["status"], "succeeded", "{record:#}");
    assert_eq!(record["dry_run"], true, "{record:#}");
    // Reads were sent, with the key the host holds.
    let received = vt.received();
    assert!(!received.is_empty());
    assert!(
        received
            .iter()
            .all(|r| r.header("x-apikey") == Some(secrets::VT_API_KEY))
    );
    assert!(received.iter().all(|r| r.method == "GET"));
    // A file alert has no remote target: the comment is kept in the record.
    let comments = record["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 1, "{record:#}");
    assert!(
        comments[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("VirusTotal URL reputation"),
        "{record:#}"
    );
    assert_eq!(record["result"], json!({"urls": 1}), "{record:#}");

    // The alert inline, as JSON; the change is planned, not sent.
    let inline = call_ok(
        &client,
        "test",
        json!({"path": "playbooks/rescan.py", "alert": fixture_alert("graph-phishing-url.json")}),
    )
    .await;
    assert_eq!(inline["status"], "succeeded", "{inline:#}");
    assert_eq!(inline["requests"][0]["method"], "POST", "{inline:#}");
    assert_eq!(inline["requests"][0]["outcome"], "planned", "{inline:#}");
    assert_eq!(
        inline["changes"].as_array().map(Vec::len),
        Some(1),
        "{inline:#}"
    );
    assert!(vt.received().iter().all(|r| r.method == "GET"));

    let refused = call_err(
        &client,
        "test",
        json!({"path": "playbooks/rescan.py", "alert_path": "alerts/phish.json", "dry_run": false}),
    )
    .await;
    assert!(refused.contains("--allow-real-runs"), "{refused}");
    assert!(vt.received().iter().all(|r| r.method == "GET"));
    client.cancel().await.unwrap();

    // The operator allowed real runs: the same call runs for real.
    let client = connect(options(&ws, RealRuns::Allowed, None)).await;
    let real = call_ok(
        &client,
        "test",
        json!({"path": "playbooks/rescan.py", "alert_path": "alerts/phish.json", "dry_run": false}),
    )
    .await;
    assert_eq!(real["dry_run"], false, "{real:#}");
    assert_eq!(real["status"], "succeeded", "{real:#}");
    assert_eq!(real["requests"][0]["outcome"], "sent", "{real:#}");
    let posted: Vec<_> = vt
        .received()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].path, "/api/v3/urls");
    assert_eq!(posted[0].header("x-apikey"), Some(secrets::VT_API_KEY));
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_playbook_with_errors_is_blocked_and_a_missing_secret_is_named_not_shown() {
    let ws = DemoWorkspace::new();
    ws.add_alert("phish.json", &fixture_alert("graph-phishing-url.json"));
    ws.add_playbook(
        "bad.py",
        &std::fs::read_to_string(
            repo_root().join("fixtures/playbooks/bad/RP003-external-import.py"),
        )
        .unwrap(),
    );
    let client = connect(options(&ws, RealRuns::Refused, None)).await;
    let blocked = call_ok(
        &client,
        "test",
        json!({"path": "playbooks/bad.py", "alert_path": "alerts/phish.json"}),
    )
    .await;
    assert_eq!(blocked["status"], "blocked", "{blocked:#}");
    client.cancel().await.unwrap();

    let mut no_secrets = options(&ws, RealRuns::Refused, None);
    no_secrets.secrets = Arc::new(EnvSecrets::from_vars(Vec::<(String, String)>::new()));
    let client = connect(no_secrets).await;
    let missing = call_err(
        &client,
        "test",
        json!({"path": "playbooks/vt-url-enrichment.py", "alert_path": "alerts/phish.json"}),
    )
    .await;
    assert!(missing.contains("RIPOSTE_VIRUSTOTAL_API_KEY"), "{missing}");
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_stores_a_version_on_the_engine_or_says_why_not() {
    let ws = DemoWorkspace::new();
    // The demo's riposte.toml names an engine; without one configured, save says so.
    std::fs::write(
        ws.root().join("riposte.toml"),
        "[limits]\nmax_lines = 5000\n",
    )
    .unwrap();
    let client = connect(options(&ws, RealRuns::Refused, None)).await;
    let unconfigured = call_err(
        &client,
        "save",
        json!({"path": "playbooks/vt-url-enrichment.py"}),
    )
    .await;
    assert!(unconfigured.starts_with("not available"), "{unconfigured}");
    client.cancel().await.unwrap();

    // Nothing listens: a clear error, no fake success.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let client = connect(options(&ws, RealRuns::Refused, Some(dead_url))).await;
    let unreachable = call_err(
        &client,
        "save",
        json!({"path": "playbooks/vt-url-enrichment.py"}),
    )
    .await;
    assert!(
        unreachable.contains("cannot reach the engine"),
        "{unreachable}"
    );
    client.cancel().await.unwrap();

    // A loopback stand-in of the engine's `PUT /api/playbooks/{name}` that checks the token
    // and the body.
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let seen = Arc::clone(&got);
    let engine = StandIn::start(Arc::new(move |request: &Received| {
        seen.lock().unwrap().push(request.clone());
        if request.header("authorization")
            != Some(format!("Bearer {}", secrets::STANDIN_TOKEN).as_str())
        {
            return Reply::json(
                401,
                json!({"error": {"code": "unauthorized", "message": "no token"}}),
            );
        }
        let body = request.json();
        Reply::json(
            201,
            json!({
                "name": "vt-url-enrichment",
                "version": 3,
                "active": false,
                "lines": body["source"].as_str().unwrap_or("").lines().count(),
                "errors": 0,
                "warnings": 0,
                "created_at": "2026-11-22T04:00:00Z",
                "source": body["source"],
                "docs": body["docs"],
                "diagnostics": [],
            }),
        )
    }))
    .await;
    let client = connect(options(&ws, RealRuns::Refused, Some(engine.url.clone()))).await;
    let saved = call_ok(
        &client,
        "save",
        json!({"path": "playbooks/vt-url-enrichment.py"}),
    )
    .await;
    assert_eq!(saved["name"], "vt-url-enrichment");
    assert_eq!(saved["version"], 3);
    assert_eq!(saved["active"], false);
    let requests = got.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "PUT");
    assert_eq!(requests[0].path, "/api/playbooks/vt-url-enrichment");
    let body = requests[0].json();
    assert_eq!(
        body["source"],
        std::fs::read_to_string(ws.root().join("playbooks/vt-url-enrichment.py")).unwrap()
    );
    assert!(body["docs"].as_str().unwrap().contains("```mermaid"));
    client.cancel().await.unwrap();
}
