//! Hawk against a loopback server that verifies the MAC (and payload hash) with the `hawk`
//! crate's server side, and mohawk (tests/runtime/hawk_mohawk.py) as an independent check.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use common::*;
use riposte_runtime::http::{FixedClock, HttpConfig};

const HAWK_ID: &str = "dh37fgj492je";
const HAWK_KEY: &str = "werxhqb98rpaxn39848xrunpaw3489ruxnpa98w4rxn";

fn host_and_port(got: &Received) -> (String, u16) {
    let host = got.header("host").unwrap();
    let (name, port) = host.rsplit_once(':').unwrap();
    (name.to_string(), port.parse().unwrap())
}

fn content_type(got: &Received) -> String {
    got.header("content-type")
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The server side of Hawk with the `hawk` crate: MAC, payload hash (required when there is a
/// body), timestamp within a minute.
fn hawk_crate_accepts(got: &Received, key: &str) -> bool {
    let Some(value) = got
        .header("authorization")
        .and_then(|v| v.strip_prefix("Hawk "))
    else {
        return false;
    };
    let Ok(header) = value.parse::<hawk::Header>() else {
        return false;
    };
    if header.id.as_deref() != Some(HAWK_ID) {
        return false;
    }
    let algorithm = hawk::DigestAlgorithm::Sha256;
    let hash = (!got.body.is_empty())
        .then(|| hawk::PayloadHasher::hash(content_type(got), algorithm, &got.body).unwrap());
    let (host, port) = host_and_port(got);
    hawk::RequestBuilder::new(&got.method, &host, port, &got.target())
        .hash(hash.as_deref())
        .request()
        .validate_header(
            &header,
            &hawk::Key::new(key.as_bytes(), algorithm).unwrap(),
            Duration::from_secs(60),
        )
}

/// mohawk's verdict on what `got` carries (with `body` standing in for the received body).
fn mohawk_verdict(got: &Received, body: &[u8], algorithm: &str) -> (bool, String) {
    let (host, port) = host_and_port(got);
    run_python(
        "hawk_mohawk.py",
        &serde_json::json!({
            "header": got.header("authorization").unwrap_or_default(),
            "url": format!("http://{host}:{port}{}", got.target()),
            "method": got.method,
            "body_b64": base64::engine::general_purpose::STANDARD.encode(body),
            "content_type": got.header("content-type").unwrap_or_default(),
            "id": HAWK_ID,
            "key": HAWK_KEY,
            "algorithm": algorithm,
        }),
    )
}

fn hawk_profile(server: &StandIn, algorithm: &str) -> riposte_core::formats::profile::Profile {
    profile(&format!(
        "name = \"Hawk API\"\nbase_url = \"{}\"\n[auth]\nmethod = \"hawk\"\nalgorithm = \"{algorithm}\"\n",
        server.endpoint("/api")
    ))
}

fn hawk_secrets(key: &str) -> Arc<riposte_runtime::secrets::MapSecrets> {
    secrets("Hawk API", &[("hawk_id", HAWK_ID), ("hawk_key", key)])
}

async fn hawk_crate_server() -> StandIn {
    serve(|got| {
        if hawk_crate_accepts(got, HAWK_KEY) {
            Reply::json(200, serde_json::json!({"ok": true}))
        } else {
            Reply::empty(401).with_header("www-authenticate", "Hawk")
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sha256_requests_verify_with_the_hawk_crate_server() {
    let server = hawk_crate_server().await;
    let api = integrations(
        vec![hawk_profile(&server, "sha256")],
        hawk_secrets(HAWK_KEY),
        HttpConfig::default(),
    );
    let mut request = get("Hawk API", "/resource/1");
    request.query = vec![("a".into(), "1".into()), ("b".into(), "x y".into())];
    assert_eq!(api.send(request).await.unwrap().status, 200);
    let response = api
        .send(post_json(
            "Hawk API",
            "/resource",
            serde_json::json!({"alert": "phish", "score": 9}),
        ))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    let post = &server.received()[1];
    assert!(
        post.header("authorization").unwrap().contains("hash=\""),
        "a request with a body carries its payload hash"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_hawk_key_is_refused() {
    let server = hawk_crate_server().await;
    let api = integrations(
        vec![hawk_profile(&server, "sha256")],
        hawk_secrets("the-wrong-key-entirely-0000000000"),
        HttpConfig::default(),
    );
    let response = api.send(get("Hawk API", "/resource/1")).await.unwrap();
    assert_eq!(
        response.status, 401,
        "a wrong key is the server's 401, not a success"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mohawk_accepts_our_header_and_rejects_a_tampered_body() {
    let server = hawk_crate_server().await;
    let api = integrations(
        vec![hawk_profile(&server, "sha256")],
        hawk_secrets(HAWK_KEY),
        HttpConfig::default(),
    );
    api.send(get("Hawk API", "/resource/1?x=2")).await.unwrap();
    api.send(post_json(
        "Hawk API",
        "/resource",
        serde_json::json!({"alert": "phish"}),
    ))
    .await
    .unwrap();
    let received = server.received();
    let (ok, out) = mohawk_verdict(&received[0], &received[0].body, "sha256");
    assert!(ok, "mohawk refused our GET: {out}");
    let (ok, out) = mohawk_verdict(&received[1], &received[1].body, "sha256");
    assert!(ok, "mohawk refused our POST: {out}");
    let (ok, out) = mohawk_verdict(&received[1], br#"{"alert":"benign"}"#, "sha256");
    assert!(!ok, "mohawk accepted a tampered body: {out}");
    assert!(out.contains("MisComputedContentHash"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sha1_profiles_verify_with_mohawk() {
    // The hawk crate has no SHA-1; mohawk is this server's verifier.
    let server = serve(|got| {
        if mohawk_verdict(got, &got.body, "sha1").0 {
            Reply::json(200, serde_json::json!({"ok": true}))
        } else {
            Reply::empty(401)
        }
    })
    .await;
    let api = integrations(
        vec![hawk_profile(&server, "sha1")],
        hawk_secrets(HAWK_KEY),
        HttpConfig::default(),
    );
    let response = api
        .send(post_json("Hawk API", "/items", serde_json::json!({"n": 1})))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(
        api.send(get("Hawk API", "/items")).await.unwrap().status,
        200
    );

    let wrong = integrations(
        vec![hawk_profile(&server, "sha1")],
        hawk_secrets("not-the-key-at-all-123456"),
        HttpConfig::default(),
    );
    assert_eq!(
        wrong.send(get("Hawk API", "/items")).await.unwrap().status,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_and_nonce_come_from_the_clock() {
    let server = hawk_crate_server().await;
    let now = UNIX_EPOCH
        + Duration::from_secs(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        );
    let config = HttpConfig {
        clock: Arc::new(FixedClock {
            time: now,
            nonce: "fixed-nonce-1".into(),
        }),
        ..HttpConfig::default()
    };
    let api = integrations(
        vec![hawk_profile(&server, "sha256")],
        hawk_secrets(HAWK_KEY),
        config,
    );
    assert_eq!(api.send(get("Hawk API", "/r")).await.unwrap().status, 200);
    let header = server.received()[0]
        .header("authorization")
        .unwrap()
        .to_string();
    let ts = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert!(header.contains(&format!("ts=\"{ts}\"")), "{header}");
    assert!(header.contains("nonce=\"fixed-nonce-1\""), "{header}");
    assert!(
        header.starts_with(&format!("Hawk id=\"{HAWK_ID}\"")),
        "{header}"
    );
}
