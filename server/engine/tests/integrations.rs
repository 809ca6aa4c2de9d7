//! Profiles and their secrets through the engine: sealed at rest, never answered, used by runs
//! (the runtime signs requests to a loopback stand-in that checks the key) and by the Graph
//! poller (a loopback Graph that checks the bearer token, pages with `@odata.nextLink` and sees
//! the `lastUpdateDateTime` filter move with the persisted watermark).

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use riposte_engine::poller::{PollerOptions, round};
use serde_json::json;
use support::*;

const API_KEY: &str = "fake-standin-api-key-7f3e";
const GRAPH_TOKEN: &str = "fake-graph-bearer-token-91ac";

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(String, String)>>>);

/// A loopback API that answers only with the right key, and remembers what it got.
async fn standin() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .route(
            "/check",
            get(
                |State(seen): State<Seen>,
                 headers: HeaderMap,
                 Query(q): Query<Vec<(String, String)>>| async move {
                    let key = headers
                        .get("x-apikey")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    let id = q
                        .iter()
                        .find(|(k, _)| k == "id")
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default();
                    seen.0.lock().unwrap().push((key.clone(), id));
                    if key == API_KEY {
                        (StatusCode::OK, axum::Json(json!({"verdict": "clean"})))
                    } else {
                        (
                            StatusCode::UNAUTHORIZED,
                            axum::Json(json!({"error": "bad key"})),
                        )
                    }
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

const CHECKING: &str = r#""""Ask the stand-in about the alert and comment its verdict."""
from riposte import Alert, Context


def run(alert: Alert, ctx: Context) -> None:
    api = ctx.integration("Stand")
    answer = api.get("/check", params={"id": alert.id})
    answer.raise_for_status()
    ctx.comment(f"stand-in verdict: {answer.json()['verdict']}")
"#;

fn stand_profile(url: &str) -> String {
    format!(
        "name = \"Stand\"\ndescription = \"loopback stand-in\"\nbase_url = \"{url}\"\n\n[auth]\nmethod = \"api_key\"\nheader = \"x-apikey\"\n"
    )
}

async fn secrets_are_sealed_and_used_by_runs(backend: Backend) {
    let (url, seen) = standin().await;
    let h = Harness::start(&backend, Setup::default()).await;

    // Unknown secret fields are refused, without echoing values.
    let wrong_field = h
        .put(
            "/api/profiles/Stand",
            &json!({"toml": stand_profile(&url), "secrets": {"password": API_KEY}}),
        )
        .await;
    assert_eq!(wrong_field.status, 422, "{}", wrong_field.text);
    assert!(wrong_field.message().contains("api_key"));

    let saved = h
        .put(
            "/api/profiles/Stand",
            &json!({"toml": stand_profile(&url), "secrets": {"api_key": API_KEY}}),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(saved.body["secrets_set"], json!(["api_key"]));
    assert_eq!(saved.body["secrets_missing"], json!([]));
    assert_eq!(saved.body["auth_method"], "api_key");

    // base_url and the auth method are fixed once created.
    let moved = h
        .put(
            "/api/profiles/Stand",
            &json!({"toml": stand_profile("http://127.0.0.1:1"), "secrets": {}}),
        )
        .await;
    assert_eq!(moved.status, 409, "{}", moved.text);
    // Updating the description keeps the stored secret.
    let described = stand_profile(&url).replace("loopback stand-in", "the stand-in");
    let kept = h
        .put(
            "/api/profiles/Stand",
            &json!({"toml": described, "secrets": {}}),
        )
        .await;
    assert_eq!(kept.status, 200, "{}", kept.text);
    assert_eq!(kept.body["secrets_set"], json!(["api_key"]));
    assert_eq!(kept.body["description"], "the stand-in");

    h.deploy("check", CHECKING).await;
    let rule = "name = \"all\"\n[[actions]]\ntype = \"run_playbook\"\nplaybook = \"check\"\n";
    assert_eq!(
        h.put("/api/rules/all", &json!({"toml": rule})).await.status,
        200
    );
    let alert = fixture_alert("sentinel-securityalert-bruteforce.json");
    let id = alert["SystemAlertId"].as_str().unwrap().to_string();
    let posted = h.post("/api/alerts", &alert).await;
    let run_id = posted.body["results"][0]["runs"][0].as_i64().unwrap();
    let run = h.wait_run(run_id).await;
    assert_eq!(run["state"], "succeeded", "{run:#}");
    assert_eq!(
        seen.0.lock().unwrap().clone(),
        [(API_KEY.to_string(), id.clone())]
    );
    let activity = h.get(&format!("/api/alerts/{id}/activity")).await;
    assert!(
        activity.text.contains("stand-in verdict: clean"),
        "{}",
        activity.text
    );

    // Read everything there is to read, then look for the secret in every answer.
    for path in [
        "/api/profiles".to_string(),
        "/api/profiles/Stand".to_string(),
        format!("/api/runs/{run_id}"),
        "/api/runs".to_string(),
        format!("/api/alerts/{id}"),
        "/api/playbooks/check".to_string(),
        "/api/rules".to_string(),
        "/console".to_string(),
    ] {
        assert_eq!(h.get(&path).await.status, 200, "{path}");
    }
    h.assert_no_secret(&[API_KEY, ADMIN, READ, KEY_HEX]);
    // At rest: not in the SQLite file in clear.
    if let Backend::Sqlite = backend {
        let mut h = h;
        h.stop().await;
        for file in std::fs::read_dir(h.root()).unwrap() {
            let path = file.unwrap().path();
            if path.to_string_lossy().contains("engine.db") {
                let bytes = std::fs::read(&path).unwrap();
                let found = bytes
                    .windows(API_KEY.len())
                    .any(|w| w == API_KEY.as_bytes());
                assert!(!found, "the secret is in {} in clear", path.display());
            }
        }
    } else {
        let mut h = h;
        h.stop().await;
    }
}

async fn secrets_need_a_key(backend: Backend) {
    let (url, _) = standin().await;
    let h = Harness::start(
        &backend,
        Setup {
            key: false,
            ..Setup::default()
        },
    )
    .await;
    let refused = h
        .put(
            "/api/profiles/Stand",
            &json!({"toml": stand_profile(&url), "secrets": {"api_key": API_KEY}}),
        )
        .await;
    assert_eq!(refused.status, 501, "{}", refused.text);
    assert!(refused.message().contains("RIPOSTE_ENGINE_KEY"));
    // A profile without secrets is fine.
    let plain = h
        .put("/api/profiles/Stand", &json!({"toml": stand_profile(&url)}))
        .await;
    assert_eq!(plain.status, 200, "{}", plain.text);
    assert_eq!(plain.body["secrets_missing"], json!(["api_key"]));
    // A run that needs the missing secret fails saying where the engine takes it from.
    let cleared = std::env::var_os("RIPOSTE_STAND_API_KEY").is_none();
    assert!(
        cleared,
        "RIPOSTE_STAND_API_KEY is set in the test's environment"
    );
    h.deploy("check", CHECKING).await;
    let rule = "name = \"all\"\n[[actions]]\ntype = \"run_playbook\"\nplaybook = \"check\"\n";
    assert_eq!(
        h.put("/api/rules/all", &json!({"toml": rule})).await.status,
        200
    );
    let posted = h
        .post(
            "/api/alerts",
            &fixture_alert("sentinel-securityalert-bruteforce.json"),
        )
        .await;
    let run_id = posted.body["results"][0]["runs"][0].as_i64().unwrap();
    let run = h.wait_run(run_id).await;
    assert_eq!(run["state"], "failed", "{run:#}");
    let text = run.to_string();
    assert!(
        text.contains("needs the secret `api_key`")
            && text.contains("PUT /api/profiles/Stand")
            && text.contains("RIPOSTE_STAND_API_KEY"),
        "{run:#}"
    );
    h.assert_no_secret(&[API_KEY]);
    let mut h = h;
    h.stop().await;
}

#[derive(Clone, Default)]
struct Graph {
    filters: Arc<Mutex<Vec<String>>>,
    base: Arc<Mutex<String>>,
}

/// A loopback Microsoft Graph: two pages of alerts for an authorised caller.
async fn graph() -> (String, Graph) {
    let state = Graph::default();
    let app = Router::new()
        .route(
            "/v1.0/security/alerts_v2",
            get(
                |State(graph): State<Graph>, headers: HeaderMap, Query(q): Query<Vec<(String, String)>>| async move {
                    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
                    if auth != format!("Bearer {GRAPH_TOKEN}") {
                        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": {"message": "no"}})));
                    }
                    let alert = |id: &str, updated: &str| {
                        let mut a = fixture_alert("graph-phishing-url.json");
                        a["id"] = json!(id);
                        a["lastUpdateDateTime"] = json!(updated);
                        a
                    };
                    if q.iter().any(|(k, _)| k == "$skiptoken") {
                        return (StatusCode::OK, axum::Json(json!({"value": [alert("g3", "2026-11-20T10:00:03Z")]})));
                    }
                    let filter = q.iter().find(|(k, _)| k == "$filter").map(|(_, v)| v.clone()).unwrap_or_default();
                    graph.filters.lock().unwrap().push(filter);
                    let next = format!("{}/v1.0/security/alerts_v2?$skiptoken=page2", graph.base.lock().unwrap());
                    (StatusCode::OK, axum::Json(json!({
                        "value": [alert("g1", "2026-11-20T10:00:01Z"), alert("g2", "2026-11-20T10:00:02Z")],
                        "@odata.nextLink": next,
                    })))
                },
            ),
        )
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    *state.base.lock().unwrap() = url.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, state)
}

async fn poller_pages_and_keeps_a_watermark(backend: Backend) {
    let (url, graph) = graph().await;
    let h = Harness::start(&backend, Setup::default()).await;
    let profile = format!(
        "name = \"Microsoft Graph\"\nbase_url = \"{url}/v1.0\"\n\n[auth]\nmethod = \"bearer\"\n"
    );
    let saved = h
        .put(
            "/api/profiles/graph",
            &json!({"toml": profile, "secrets": {"token": GRAPH_TOKEN}}),
        )
        .await;
    // The file's name must match the path.
    assert_eq!(saved.status, 400, "{}", saved.text);
    let saved = h
        .put(
            "/api/profiles/Microsoft%20Graph",
            &json!({"toml": profile, "secrets": {"token": GRAPH_TOKEN}}),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(saved.body["name"], "Microsoft Graph");

    let options = PollerOptions {
        profile: "Microsoft Graph".into(),
        interval: Duration::from_secs(60),
        workspace: "default".into(),
        since: Some("2026-11-20T00:00:00Z".into()),
    };
    let taken = round(h.engine(), &options).await.unwrap();
    assert_eq!(taken, 3);
    let alerts = h.get("/api/alerts").await;
    let mut ids: Vec<&str> = alerts.body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["g1", "g2", "g3"]);

    // The next round starts at the watermark; what it reads again is a duplicate.
    round(h.engine(), &options).await.unwrap();
    assert_eq!(
        graph.filters.lock().unwrap().clone(),
        [
            "lastUpdateDateTime ge 2026-11-20T00:00:00Z",
            "lastUpdateDateTime ge 2026-11-20T10:00:03Z"
        ]
    );
    assert_eq!(
        h.get("/api/alerts").await.body["alerts"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let activity = h.get("/api/alerts/g1/activity").await;
    let received = activity.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "received")
        .count();
    assert_eq!(received, 1);
    h.assert_no_secret(&[GRAPH_TOKEN]);
    let mut h = h;
    h.stop().await;
}

on_both_stores!(
    secrets_are_sealed_and_used_by_runs,
    secrets_need_a_key,
    poller_pages_and_keeps_a_watermark,
);
