//! OAuth2 client credentials against a loopback token endpoint that checks the client's id and
//! secret and issues short-lived tokens, and an API that accepts only live tokens.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use common::*;
use riposte_core::formats::profile::{Auth, Profile};
use riposte_runtime::http::{HttpConfig, SendError};

const CLIENT_ID: &str = "riposte-client-id";
const CLIENT_SECRET: &str = "cl1ent~secret/with+odd=chars";
const SCOPES: &str = "api.read api.write";

#[derive(Default)]
struct Authority {
    issued: u32,
    live: HashSet<String>,
    expires_in: u64,
    /// The API refuses every token (to see that the client retries once only).
    refuse_all: bool,
}

fn url_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Checks a token request the way an authorization server does (RFC 6749 §2.3.1: the id and
/// secret form-encoded inside HTTP Basic, or in the body).
fn token_endpoint(authority: &Mutex<Authority>, got: &Received) -> Reply {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&got.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let from_basic = got
        .header("authorization")
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            Some((url_decode(id), url_decode(secret)))
        });
    let client = from_basic.or_else(|| Some((field("client_id")?, field("client_secret")?)));
    if got.method != "POST"
        || !got
            .header("content-type")
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
        || field("grant_type").as_deref() != Some("client_credentials")
    {
        return Reply::json(400, serde_json::json!({"error": "invalid_request"}));
    }
    if client != Some((CLIENT_ID.to_string(), CLIENT_SECRET.to_string())) {
        return Reply::json(
            401,
            serde_json::json!({"error": "invalid_client", "error_description": "client authentication failed"}),
        );
    }
    if field("scope").as_deref() != Some(SCOPES) {
        return Reply::json(400, serde_json::json!({"error": "invalid_scope"}));
    }
    let mut authority = authority.lock().unwrap();
    authority.issued += 1;
    let token = format!("access-token-{}-0f9e8d7c", authority.issued);
    authority.live.insert(token.clone());
    Reply::json(
        200,
        serde_json::json!({"access_token": token, "token_type": "Bearer", "expires_in": authority.expires_in}),
    )
}

fn api(authority: &Mutex<Authority>, got: &Received) -> Reply {
    let authority = authority.lock().unwrap();
    let token = got
        .header("authorization")
        .and_then(|value| value.strip_prefix("Bearer "));
    match token {
        Some(token) if !authority.refuse_all && authority.live.contains(token) => {
            Reply::json(200, serde_json::json!({"value": []}))
        }
        _ => Reply::json(
            401,
            serde_json::json!({"error": {"code": "InvalidAuthenticationToken"}}),
        ),
    }
}

struct Setup {
    server: StandIn,
    authority: Arc<Mutex<Authority>>,
    profile: Profile,
}

async fn setup(expires_in: u64) -> Setup {
    let authority = Arc::new(Mutex::new(Authority {
        expires_in,
        ..Default::default()
    }));
    let state = authority.clone();
    let server = serve(move |got| {
        if got.path == "/oauth2/token" {
            token_endpoint(&state, got)
        } else {
            api(&state, got)
        }
    })
    .await;
    let profile = profile(&format!(
        "name = \"Graph\"\nbase_url = \"{}\"\n[auth]\nmethod = \"oauth2_client_credentials\"\ntoken_url = \"{}\"\nscopes = [\"api.read\", \"api.write\"]\n",
        server.endpoint("/v1.0"),
        server.endpoint("/oauth2/token")
    ));
    Setup {
        server,
        authority,
        profile,
    }
}

fn right_secrets() -> Arc<riposte_runtime::secrets::MapSecrets> {
    secrets(
        "Graph",
        &[("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_is_fetched_once_and_shared_by_concurrent_requests() {
    let setup = setup(3600).await;
    let graph = Arc::new(integrations(
        vec![setup.profile.clone()],
        right_secrets(),
        HttpConfig::default(),
    ));
    // Concurrent first requests: one token fetch between them.
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let graph = graph.clone();
            tokio::spawn(async move {
                graph
                    .send(get("Graph", &format!("/security/alerts_v2/{i}")))
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().status, 200);
    }
    for _ in 0..5 {
        assert_eq!(graph.send(get("Graph", "/me")).await.unwrap().status, 200);
    }
    assert_eq!(setup.server.hits_on("/oauth2/token"), 1);
    assert_eq!(setup.authority.lock().unwrap().issued, 1);
    assert_eq!(setup.server.hits() - 1, 15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_is_replaced_shortly_before_it_expires() {
    // expires_in = 4 s: with the margin capped at half the lifetime, replaced after 2 s.
    let setup = setup(4).await;
    let graph = integrations(
        vec![setup.profile.clone()],
        right_secrets(),
        HttpConfig::default(),
    );
    graph.send(get("Graph", "/me")).await.unwrap();
    graph.send(get("Graph", "/me")).await.unwrap();
    assert_eq!(setup.server.hits_on("/oauth2/token"), 1);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(graph.send(get("Graph", "/me")).await.unwrap().status, 200);
    assert_eq!(setup.server.hits_on("/oauth2/token"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_drops_the_token_fetches_a_new_one_and_retries_once() {
    let setup = setup(3600).await;
    let graph = integrations(
        vec![setup.profile.clone()],
        right_secrets(),
        HttpConfig::default(),
    );
    assert_eq!(graph.send(get("Graph", "/me")).await.unwrap().status, 200);

    // The authority revokes the token (as after a secret rotation): 401, new token, retry.
    setup.authority.lock().unwrap().live.clear();
    let response = graph.send(get("Graph", "/me")).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(setup.server.hits_on("/oauth2/token"), 2);
    assert_eq!(setup.server.hits_on("/v1.0/me"), 3);

    // An API that refuses every token: one retry, then the 401 is the answer.
    setup.authority.lock().unwrap().refuse_all = true;
    let response = graph.send(get("Graph", "/me")).await.unwrap();
    assert_eq!(response.status, 401);
    assert_eq!(setup.server.hits_on("/oauth2/token"), 3);
    assert_eq!(setup.server.hits_on("/v1.0/me"), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_client_secret_is_refused_by_the_token_endpoint() {
    let setup = setup(3600).await;
    let wrong = "wrong-client-secret-123";
    let graph = integrations(
        vec![setup.profile.clone()],
        secrets(
            "Graph",
            &[("client_id", CLIENT_ID), ("client_secret", wrong)],
        ),
        HttpConfig::default(),
    );
    let err = graph.send(get("Graph", "/me")).await.unwrap_err();
    assert!(matches!(err, SendError::Token { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("`Graph`"), "{message}");
    assert!(message.contains("invalid_client"), "{message}");
    assert!(message.contains("RIPOSTE_GRAPH_CLIENT_SECRET"), "{message}");
    assert_no_secret(&message, &[wrong, CLIENT_SECRET]);
    assert_no_secret(&format!("{err:?}"), &[wrong, CLIENT_SECRET]);
    assert_eq!(
        setup.server.hits_on("/v1.0/me"),
        0,
        "no API request without a token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_shows_in_errors_debug_or_redacted_text() {
    let setup = setup(3600).await;
    // The API is down (nothing listens there) but the token endpoint works.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut down = setup.profile.clone();
    down.base_url = closed_url;
    let graph = integrations(vec![down], right_secrets(), HttpConfig::default());
    let err = graph.send(get("Graph", "/me")).await.unwrap_err();
    assert!(matches!(err, SendError::Network { .. }), "{err:?}");
    assert_eq!(setup.server.hits_on("/oauth2/token"), 1);
    let token = setup
        .authority
        .lock()
        .unwrap()
        .live
        .iter()
        .next()
        .unwrap()
        .clone();
    let everything = format!("{err}\n{err:?}\n{graph:?}");
    assert_no_secret(&everything, &[&token, CLIENT_SECRET, CLIENT_ID]);
    assert_eq!(
        graph.redactor().redact(&format!("echo: {token}")),
        "echo: [REDACTED]"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_endpoint_must_be_https_or_loopback() {
    let setup = setup(3600).await;
    let mut plain = setup.profile.clone();
    plain.auth = Auth::Oauth2ClientCredentials {
        token_url: "http://login.example.com/oauth2/token".into(),
        scopes: vec![],
    };
    let graph = integrations(vec![plain], right_secrets(), HttpConfig::default());
    let err = graph.send(get("Graph", "/me")).await.unwrap_err();
    assert!(matches!(err, SendError::InvalidProfile { .. }), "{err:?}");
    assert!(err.to_string().contains("token_url"), "{err}");
    assert_eq!(setup.server.hits(), 0);
}
