//! The engine end to end over HTTP, on SQLite and on PostgreSQL: playbook versions and
//! activation, rules, profiles with sealed secrets, alert intake and idempotency, runs through the
//! real runtime (CPython) with their activity, authentication, limits and bad input.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::*;

const COMMENTING: &str = r#""""Comment on the alert and move it to in progress."""
from riposte import Alert, Context


def run(alert: Alert, ctx: Context) -> dict:
    ctx.comment(f"triaged by the engine: {alert.title}")
    ctx.update_alert(status="inProgress")
    return {"seen": alert.id}
"#;

const BROKEN: &str = "def run(alert, ctx):\n    return (\n";

fn rule_toml(name: &str, playbook: &str, extra_condition: &str) -> String {
    format!(
        r#"name = "{name}"
description = "test rule"
order = 10

[[conditions]]
field = "severity"
operator = "gte"
value = "medium"
{extra_condition}
[[actions]]
type = "run_playbook"
playbook = "{playbook}"
"#
    )
}

async fn save_then_activate(backend: Backend) {
    let h = Harness::start(&backend, Setup::default()).await;
    let saved = h
        .put("/api/playbooks/triage", &json!({"source": COMMENTING}))
        .await;
    assert_eq!(saved.status, 201, "{}", saved.text);
    assert_eq!(saved.body["version"], 1);
    assert_eq!(saved.body["active"], false);
    assert_eq!(saved.body["errors"], 0);
    assert!(saved.body["docs"].as_str().unwrap().contains("triage"));

    // Saved means disabled.
    let shown = h.get("/api/playbooks/triage").await;
    assert_eq!(shown.body["active_version"], Value::Null);

    let activated = h
        .post_empty("/api/playbooks/triage/versions/1/activate")
        .await;
    assert_eq!(activated.status, 200, "{}", activated.text);
    assert_eq!(activated.body["active_version"], 1);

    // A second save keeps version 1 active.
    let again = h
        .put(
            "/api/playbooks/triage",
            &json!({"source": COMMENTING.replace("in progress", "active")}),
        )
        .await;
    assert_eq!(again.body["version"], 2);
    let shown = h.get("/api/playbooks/triage").await;
    assert_eq!(shown.body["active_version"], 1);
    assert_eq!(shown.body["latest_version"], 2);
    assert_eq!(shown.body["versions"].as_array().unwrap().len(), 2);
    let v1 = h.get("/api/playbooks/triage/versions/1").await;
    assert_eq!(v1.body["source"], COMMENTING);

    // A version with errors is kept, with its diagnostics, and cannot be activated.
    let broken = h
        .put("/api/playbooks/triage", &json!({"source": BROKEN}))
        .await;
    assert_eq!(broken.status, 201);
    assert!(
        broken.body["errors"].as_u64().unwrap() >= 1,
        "{}",
        broken.text
    );
    let refused = h
        .post_empty("/api/playbooks/triage/versions/3/activate")
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(refused.code(), "validation_failed");
    assert!(refused.message().contains("cannot be activated"));
    let diagnostics = refused.body["error"]["diagnostics"].as_array().unwrap();
    assert!(!diagnostics.is_empty());
    assert!(diagnostics.iter().all(|d| d["severity"] == "error"));
    assert_eq!(
        h.get("/api/playbooks/triage").await.body["active_version"],
        1
    );

    let deactivated = h.post_empty("/api/playbooks/triage/deactivate").await;
    assert_eq!(deactivated.body["active_version"], Value::Null);

    let missing = h
        .post_empty("/api/playbooks/triage/versions/9/activate")
        .await;
    assert_eq!(missing.status, 404);
    let bad_name = h
        .put("/api/playbooks/..%2Fetc", &json!({"source": COMMENTING}))
        .await;
    assert_eq!(bad_name.status, 400, "{}", bad_name.text);
    let mut h = h;
    h.stop().await;
}

async fn rules_are_checked(backend: Backend) {
    let h = Harness::start(&backend, Setup::default()).await;
    h.deploy("triage", COMMENTING).await;

    let bad_regex = rule_toml(
        "bad",
        "triage",
        "[[conditions]]\nfield = \"title\"\noperator = \"matches\"\nvalue = \"([unclosed\"\n",
    );
    let refused = h.put("/api/rules/bad", &json!({"toml": bad_regex})).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(refused.code(), "validation_failed");
    let diagnostics = refused.body["error"]["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics[0]["code"], "RP102");
    assert!(
        diagnostics[0]["message"]
            .as_str()
            .unwrap()
            .contains("regular expression"),
        "{}",
        refused.text
    );

    let unknown_playbook = h
        .put(
            "/api/rules/lost",
            &json!({"toml": rule_toml("lost", "nope", "")}),
        )
        .await;
    assert_eq!(unknown_playbook.status, 422);
    assert!(unknown_playbook.text.contains("nope"));

    let saved = h
        .put(
            "/api/rules/high",
            &json!({"toml": rule_toml("high", "triage", "")}),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(saved.body["action"], "run_playbook");
    assert_eq!(saved.body["playbook"], "triage");
    assert_eq!(saved.body["enabled"], true);

    // The JSON form gets the same checks.
    let as_json = h
        .put(
            "/api/rules/early",
            &json!({"rule": {"name": "early", "order": 1, "conditions": [], "actions": [{"type": "update_alert", "status": "inProgress"}]}}),
        )
        .await;
    assert_eq!(as_json.status, 200, "{}", as_json.text);
    // The rule's own `name` is a title; the path names it in the engine.
    let titled = rule_toml("Triage anything medium or worse", "triage", "");
    let saved_titled = h
        .put("/api/rules/zz-titled", &json!({"toml": titled}))
        .await;
    assert_eq!(saved_titled.status, 200, "{}", saved_titled.text);
    assert_eq!(
        h.request(Method::DELETE, "/api/rules/zz-titled", Some(ADMIN), None)
            .await
            .status,
        204
    );
    let listed = h.get("/api/rules").await;
    let names: Vec<&str> = listed.body["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["early", "high"], "evaluation order");

    let disabled = h.post_empty("/api/rules/high/disable").await;
    assert_eq!(disabled.body["enabled"], false);
    let enabled = h.post_empty("/api/rules/high/enable").await;
    assert_eq!(enabled.body["enabled"], true);

    // A playbook a rule runs cannot be deleted.
    let conflict = h
        .request(Method::DELETE, "/api/playbooks/triage", Some(ADMIN), None)
        .await;
    assert_eq!(conflict.status, 409, "{}", conflict.text);
    assert!(conflict.message().contains("high"));
    let gone = h
        .request(Method::DELETE, "/api/rules/high", Some(ADMIN), None)
        .await;
    assert_eq!(gone.status, 204);
    let deleted = h
        .request(Method::DELETE, "/api/playbooks/triage", Some(ADMIN), None)
        .await;
    assert_eq!(deleted.status, 204);
    let mut h = h;
    h.stop().await;
}

async fn alert_to_run_with_activity(backend: Backend) {
    let h = Harness::start(&backend, Setup::default()).await;
    h.deploy("triage", COMMENTING).await;
    let saved = h
        .put(
            "/api/rules/medium-up",
            &json!({"toml": rule_toml("medium-up", "triage", "")}),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.text);

    let alert = fixture_alert("graph-phishing-url.json");
    let id = alert["id"].as_str().unwrap().to_string();
    let posted = h.post("/api/alerts", &alert).await;
    assert_eq!(posted.status, 200, "{}", posted.text);
    let result = &posted.body["results"][0];
    assert_eq!(result["outcome"], "created");
    assert_eq!(result["matched_rules"], json!(["medium-up"]));
    let run_id = result["runs"][0].as_i64().unwrap();

    let run = h.wait_run(run_id).await;
    assert_eq!(run["state"], "succeeded", "{run:#}");
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["playbook_version"], 1);
    assert_eq!(run["attempt"], 1);
    assert_eq!(run["record"]["result"], json!({"seen": id}));

    let activity = h.get(&format!("/api/alerts/{id}/activity")).await;
    let kinds: Vec<&str> = activity.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "received",
            "run_queued",
            "run_started",
            "comment",
            "alert_update",
            "run_finished"
        ],
        "{:#}",
        activity.body
    );
    let comment = &activity.body["entries"][3];
    assert!(
        comment["text"]
            .as_str()
            .unwrap()
            .starts_with("triaged by the engine: Email messages containing malicious URL"),
        "{comment}"
    );
    assert_eq!(comment["run_id"], run_id);

    // The same delivery again: nothing new.
    let again = h.post("/api/alerts", &alert).await;
    assert_eq!(again.body["results"][0]["outcome"], "duplicate");
    assert_eq!(again.body["results"][0]["runs"], json!([]));
    let runs = h.get("/api/runs").await;
    assert_eq!(runs.body["runs"].as_array().unwrap().len(), 1);
    // Filtered by playbook, on the engine's side.
    let of_triage = h.get("/api/runs?playbook=triage").await;
    assert_eq!(of_triage.body["runs"][0]["id"], run_id);
    let of_other = h.get("/api/runs?playbook=nothing-here").await;
    assert_eq!(of_other.body["runs"], json!([]));

    // Changed content is an update; the rule listens to alert_created only.
    let mut changed = alert.clone();
    changed["status"] = json!("inProgress");
    let updated = h.post("/api/alerts", &changed).await;
    assert_eq!(updated.body["results"][0]["outcome"], "updated");
    assert_eq!(updated.body["results"][0]["runs"], json!([]));

    // A low-severity alert matches nothing.
    let mut low = alert.clone();
    low["id"] = json!("low-1");
    low["severity"] = json!("low");
    let low = h.post("/api/alerts", &low).await;
    assert_eq!(low.body["results"][0]["matched_rules"], json!([]));

    // The console shows the timeline page (the data comes from the API above).
    let page = h
        .request(Method::GET, &format!("/console/alerts/{id}"), None, None)
        .await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Activity"));
    let mut h = h;
    h.stop().await;
}

async fn intake_bad_input(backend: Backend) {
    let h = Harness::start(&backend, Setup::default()).await;
    let not_json = h
        .request(
            Method::POST,
            "/api/alerts",
            Some(ADMIN),
            Some(b"{not json".to_vec()),
        )
        .await;
    assert_eq!(not_json.status, 422, "{}", not_json.text);
    assert_eq!(not_json.code(), "invalid_alert");

    let not_alert = h.post("/api/alerts", &json!({"hello": "world"})).await;
    assert_eq!(not_alert.status, 422);
    assert!(
        not_alert.message().contains("not a recognised alert"),
        "{}",
        not_alert.text
    );

    // A batch takes the good ones and says which were refused.
    let batch = json!([
        fixture_alert("graph-phishing-url.json"),
        42,
        fixture_alert("sentinel-securityalert-bruteforce.json"),
        fixture_alert("graph-phishing-url.json"),
    ]);
    let taken = h.post("/api/alerts", &batch).await;
    assert_eq!(taken.status, 200, "{}", taken.text);
    let outcomes: Vec<&str> = taken.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["created", "rejected", "created", "duplicate"]);
    assert!(
        taken.body["results"][1]["error"]
            .as_str()
            .unwrap()
            .contains("not an alert")
    );
    assert_eq!(
        h.get("/api/alerts").await.body["alerts"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // An alert flood in one delivery is refused whole, with the limit named.
    let flood: Vec<Value> = (0..1001).map(|i| json!({"id": format!("a{i}")})).collect();
    let refused = h.post("/api/alerts", &Value::Array(flood)).await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.code(), "limit_exceeded");
    assert!(refused.message().contains("1000"));

    // 50 MB: refused before it is read, as JSON.
    let big = vec![b' '; 50 * 1024 * 1024];
    let too_large = h
        .request(Method::POST, "/api/alerts", Some(ADMIN), Some(big))
        .await;
    assert_eq!(too_large.status, 413, "{}", too_large.text);
    assert_eq!(too_large.code(), "payload_too_large");

    let unknown = h.get("/api/nothing-here").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.code(), "not_found");
    let mut h = h;
    h.stop().await;
}

async fn tokens_and_roles(backend: Backend) {
    let h = Harness::start(&backend, Setup::default()).await;
    let health = h.request(Method::GET, "/api/health", None, None).await;
    assert_eq!(health.status, 200);
    assert_eq!(
        health.body["store"],
        match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    );

    let none = h.request(Method::GET, "/api/playbooks", None, None).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.code(), "unauthorized");
    let wrong = h
        .request(
            Method::GET,
            "/api/playbooks",
            Some("not-the-token-at-all"),
            None,
        )
        .await;
    assert_eq!(wrong.status, 401);

    let read = h
        .request(Method::GET, "/api/playbooks", Some(READ), None)
        .await;
    assert_eq!(read.status, 200);
    let who = h
        .request(Method::GET, "/api/whoami", Some(READ), None)
        .await;
    assert_eq!(who.body["role"], "read");
    let write = h
        .request(
            Method::PUT,
            "/api/playbooks/x",
            Some(READ),
            Some(json!({"source": COMMENTING}).to_string().into_bytes()),
        )
        .await;
    assert_eq!(write.status, 403);
    assert_eq!(write.code(), "forbidden");
    let post = h
        .request(
            Method::POST,
            "/api/alerts",
            Some(READ),
            Some(
                fixture_alert("graph-phishing-url.json")
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(post.status, 403);
    assert!(
        h.get("/api/alerts").await.body["alerts"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    h.assert_no_secret(&[ADMIN, READ]);
    let mut h = h;
    h.stop().await;
}

async fn limits_from_riposte_toml(backend: Backend) {
    let setup = Setup {
        riposte_toml: "[limits]\nmax_playbooks = 2\nmax_lines = 40\nmax_active_rules = 1\n".into(),
        ..Setup::default()
    };
    let h = Harness::start(&backend, setup).await;
    h.deploy("one", COMMENTING).await;
    h.deploy("two", COMMENTING).await;
    let third = h
        .put("/api/playbooks/three", &json!({"source": COMMENTING}))
        .await;
    assert_eq!(third.status, 422);
    assert_eq!(third.code(), "limit_exceeded");
    assert!(third.message().contains("max_playbooks"), "{}", third.text);
    // A new version of an existing playbook is not a new playbook.
    assert_eq!(
        h.put("/api/playbooks/two", &json!({"source": COMMENTING}))
            .await
            .status,
        201
    );

    let long = format!("{COMMENTING}{}", "# filler\n".repeat(60));
    let too_long = h.put("/api/playbooks/two", &json!({"source": long})).await;
    assert_eq!(too_long.status, 422);
    assert!(too_long.message().contains("limit"), "{}", too_long.text);

    assert_eq!(
        h.put(
            "/api/rules/r1",
            &json!({"toml": rule_toml("r1", "one", "")})
        )
        .await
        .status,
        200
    );
    let second = h
        .put(
            "/api/rules/r2",
            &json!({"toml": rule_toml("r2", "two", "")}),
        )
        .await;
    assert_eq!(second.status, 422, "{}", second.text);
    assert!(second.message().contains("max_active_rules"));
    let disabled = rule_toml("r2", "two", "").replace("order = 10", "order = 10\nenabled = false");
    assert_eq!(
        h.put("/api/rules/r2", &json!({"toml": disabled}))
            .await
            .status,
        200
    );
    assert_eq!(h.post_empty("/api/rules/r2/enable").await.status, 422);
    let mut h = h;
    h.stop().await;
}

/// An API process that runs nothing and a worker-only process share the queue through the store.
async fn a_worker_only_process_takes_the_runs(backend: Backend) {
    let h = Harness::start(
        &backend,
        Setup {
            workers: 0,
            ..Setup::default()
        },
    )
    .await;
    h.deploy("triage", COMMENTING).await;
    h.put(
        "/api/rules/any",
        &json!({"toml": rule_toml("any", "triage", "")}),
    )
    .await;
    let posted = h
        .post("/api/alerts", &fixture_alert("graph-malware-device.json"))
        .await;
    let run_id = posted.body["results"][0]["runs"][0].as_i64().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(
        h.get(&format!("/api/runs/{run_id}")).await.body["state"],
        "queued"
    );

    let worker = riposte_engine::serve::start(riposte_engine::serve::ServeOptions {
        db: h.db.clone(),
        listen: None,
        workers: 1,
        tokens: Default::default(),
        engine: riposte_engine::EngineOptions {
            workspace: h.root(),
            key: Some(riposte_engine::secrets::SecretBox::from_text(KEY_HEX).unwrap()),
            lease: std::time::Duration::from_secs(10),
            max_attempts: 3,
        },
        body_limit: riposte_engine::api::DEFAULT_BODY_LIMIT,
        poller: None,
    })
    .await
    .unwrap();
    assert!(worker.addr.is_none());
    let run = h.wait_run(run_id).await;
    assert_eq!(run["state"], "succeeded", "{run:#}");
    assert!(run["worker"].as_str().unwrap().ends_with("-0"));
    worker.stop().await;
    let mut h = h;
    h.stop().await;
}

/// An `update_alert` rule acts at intake, in evaluation order, only in the workspaces it lists.
async fn update_alert_rules_act_at_intake(backend: Backend) {
    let h = Harness::start(&backend, Setup::default()).await;
    let rule = r#"name = "assign"
order = 5
workspaces = ["contoso"]

[[conditions]]
field = "title"
operator = "contains"
value = "MALICIOUS url"

[[actions]]
type = "update_alert"
status = "inProgress"
assigned_to = "tier1@contoso.example"
"#;
    assert_eq!(
        h.put("/api/rules/assign", &json!({"toml": rule}))
            .await
            .status,
        200
    );
    let mut alert = fixture_alert("graph-phishing-url.json");
    let other = h.post("/api/alerts?workspace=fabrikam", &alert).await;
    assert_eq!(other.body["results"][0]["matched_rules"], json!([]));

    alert["id"] = json!("contoso-1");
    let posted = h.post("/api/alerts?workspace=contoso", &alert).await;
    assert_eq!(
        posted.body["results"][0]["matched_rules"],
        json!(["assign"])
    );
    let shown = h.get("/api/alerts/contoso-1").await;
    assert_eq!(shown.body["status"], "inprogress");
    assert_eq!(shown.body["workspace"], "contoso");
    let activity = h.get("/api/alerts/contoso-1/activity").await;
    let update = &activity.body["entries"][1];
    assert_eq!(update["kind"], "alert_update");
    assert_eq!(update["rule"], "assign");
    assert_eq!(update["data"]["assigned_to"], "tier1@contoso.example");
    let bad_workspace = h.post("/api/alerts?workspace=../x", &alert).await;
    assert_eq!(bad_workspace.status, 400);
    let mut h = h;
    h.stop().await;
}

on_both_stores!(
    update_alert_rules_act_at_intake,
    a_worker_only_process_takes_the_runs,
    save_then_activate,
    rules_are_checked,
    alert_to_run_with_activity,
    intake_bad_input,
    tokens_and_roles,
    limits_from_riposte_toml,
);

/// SQLite held by another writer past the busy timeout: a clear 503, nothing half-stored, and
/// the same delivery taken once the lock is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_sqlite_file_answers_503() {
    use sqlx::Connection as _;
    let h = Harness::start(&Backend::Sqlite, Setup::default()).await;
    let path = h.root().join("engine.db");
    let mut locker = sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut locker)
        .await
        .unwrap();
    let alert = fixture_alert("graph-phishing-url.json");
    let refused = h.post("/api/alerts", &alert).await;
    assert_eq!(refused.status, 503, "{}", refused.text);
    assert_eq!(refused.code(), "store_unavailable");
    assert!(refused.message().contains("try again"), "{}", refused.text);
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    locker.close().await.unwrap();

    let taken = h.post("/api/alerts", &alert).await;
    assert_eq!(taken.status, 200, "{}", taken.text);
    assert_eq!(taken.body["results"][0]["outcome"], "created");
    let mut h = h;
    h.stop().await;
}
