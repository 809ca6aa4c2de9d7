//! API key (header and query), HTTP Basic and Bearer against loopback servers that check the
//! credentials and refuse wrong ones.

mod common;

use base64::Engine;
use common::*;
use riposte_runtime::http::HttpConfig;

const KEY: &str = "vt-key-0123456789abcdef";
const USER: &str = "soc-bot";
const PASSWORD: &str = "pa$$ w0rd:with-colon";
const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzb2MifQ.c2lnbmF0dXJl";

/// Answers 200 with what it checked when `ok`, else 401.
fn verdict(ok: bool) -> Reply {
    if ok {
        Reply::json(200, serde_json::json!({"ok": true}))
    } else {
        Reply::json(401, serde_json::json!({"error": "unauthorized"}))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_in_a_header_is_sent_and_checked() {
    let server = serve(|got| {
        verdict(got.header("x-apikey") == Some(KEY) && got.path == "/api/v3/urls/abc")
            // A server echoing the key must not hand it back to the playbook.
            .with_header("x-apikey", KEY)
            .with_header("set-cookie", "session=abcdef123456")
            .with_header("x-request-id", "r-1")
    })
    .await;
    let vt = profile(&format!(
        "name = \"VirusTotal\"\nbase_url = \"{}\"\n[auth]\nmethod = \"api_key\"\nheader = \"x-apikey\"\n",
        server.endpoint("/api/v3")
    ));
    let ok = integrations(
        vec![vt.clone()],
        secrets("VirusTotal", &[("api_key", KEY)]),
        HttpConfig::default(),
    );
    let response = ok.send(get("VirusTotal", "/urls/abc")).await.unwrap();
    assert_eq!(response.status, 200);
    assert!(
        response
            .headers
            .iter()
            .any(|(n, v)| n == "x-request-id" && v == "r-1")
    );
    assert!(
        !response
            .headers
            .iter()
            .any(|(n, _)| n == "x-apikey" || n == "set-cookie"),
        "{:?}",
        response.headers
    );
    assert_no_secret(&format!("{response:?}"), &[KEY]);

    let wrong = integrations(
        vec![vt],
        secrets("VirusTotal", &[("api_key", "wrong-key-000000")]),
        HttpConfig::default(),
    );
    let response = wrong.send(get("VirusTotal", "/urls/abc")).await.unwrap();
    assert_eq!(
        response.status, 401,
        "a wrong key is the server's 401, not a success"
    );
    assert_eq!(server.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_in_the_query_is_sent_and_redacted_from_the_url() {
    let server = serve(|got| {
        if got.param("key").as_deref() == Some(KEY) && got.param("q").as_deref() == Some("a b") {
            Reply::json(200, serde_json::json!({"ok": true}))
        } else {
            Reply::empty(403)
        }
    })
    .await;
    let shodan = profile(&format!(
        "name = \"Shodan\"\nbase_url = \"{}\"\n[auth]\nmethod = \"api_key\"\nquery = \"key\"\n",
        server.endpoint("")
    ));
    let ok = integrations(
        vec![shodan.clone()],
        secrets("Shodan", &[("api_key", KEY)]),
        HttpConfig::default(),
    );
    let mut request = get("Shodan", "/shodan/host/search");
    request.query = vec![("q".into(), "a b".into())];
    let response = ok.send(request.clone()).await.unwrap();
    assert_eq!(response.status, 200);
    assert!(response.url.contains("key=[REDACTED]"), "{}", response.url);
    assert_no_secret(&response.url, &[KEY]);

    let wrong = integrations(
        vec![shodan],
        secrets("Shodan", &[("api_key", "not-the-key-1234")]),
        HttpConfig::default(),
    );
    assert_eq!(wrong.send(request).await.unwrap().status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_is_sent_and_checked() {
    let server = serve(|got| {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
        );
        verdict(got.header("authorization") == Some(expected.as_str()))
    })
    .await;
    let jira = profile(&format!(
        "name = \"Jira\"\nbase_url = \"{}\"\n[auth]\nmethod = \"basic\"\n",
        server.endpoint("/rest/api/3")
    ));
    let ok = integrations(
        vec![jira.clone()],
        secrets("Jira", &[("username", USER), ("password", PASSWORD)]),
        HttpConfig::default(),
    );
    let response = ok
        .send(post_json(
            "Jira",
            "/issue",
            serde_json::json!({"fields": {"summary": "x"}}),
        ))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    // The encoded pair is as secret as the password.
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    assert_eq!(
        ok.redactor().redact(&format!("sent Basic {encoded}")),
        "sent Basic [REDACTED]"
    );

    let wrong = integrations(
        vec![jira],
        secrets(
            "Jira",
            &[("username", USER), ("password", "wrong password")],
        ),
        HttpConfig::default(),
    );
    let response = wrong.send(get("Jira", "/myself")).await.unwrap();
    assert_eq!(response.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_is_sent_and_checked() {
    let server = serve(|got| {
        verdict(got.header("authorization") == Some(format!("Bearer {TOKEN}").as_str()))
    })
    .await;
    let slack = profile(&format!(
        "name = \"Slack\"\nbase_url = \"{}\"\n[auth]\nmethod = \"bearer\"\n",
        server.endpoint("/api")
    ));
    let ok = integrations(
        vec![slack.clone()],
        secrets("Slack", &[("token", TOKEN)]),
        HttpConfig::default(),
    );
    let response = ok
        .send(post_json(
            "Slack",
            "/chat.postMessage",
            serde_json::json!({"text": "hi"}),
        ))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    let received = server.received();
    assert_eq!(received[0].header("content-type"), Some("application/json"));
    assert_eq!(received[0].body, br#"{"text":"hi"}"#);

    let wrong = integrations(
        vec![slack],
        secrets("Slack", &[("token", "xoxb-wrong-token")]),
        HttpConfig::default(),
    );
    assert_eq!(
        wrong.send(get("Slack", "/auth.test")).await.unwrap().status,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_echoing_the_credential_does_not_hand_it_to_the_playbook() {
    // Like httpbin's /anything: the request's headers and URL come back in the body.
    let server = serve(|got| {
        Reply::json(
            200,
            serde_json::json!({"headers": got.headers, "url": got.target()}),
        )
        .with_header("x-echo", got.header("authorization").unwrap_or_default())
    })
    .await;
    let base = server.endpoint("");
    let profiles = vec![
        profile(&format!(
            "name = \"B\"\nbase_url = \"{base}\"\n[auth]\nmethod = \"bearer\"\n"
        )),
        profile(&format!(
            "name = \"U\"\nbase_url = \"{base}\"\n[auth]\nmethod = \"basic\"\n"
        )),
        profile(&format!(
            "name = \"Q\"\nbase_url = \"{base}\"\n[auth]\nmethod = \"api_key\"\nquery = \"k\"\n"
        )),
    ];
    let map = riposte_runtime::secrets::MapSecrets::new();
    map.set("B", "token", TOKEN.into());
    map.set("U", "username", USER.into());
    map.set("U", "password", PASSWORD.into());
    map.set("Q", "api_key", KEY.into());
    let all = integrations(profiles, std::sync::Arc::new(map), HttpConfig::default());
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    for name in ["B", "U", "Q"] {
        let response = all.send(get(name, "/anything")).await.unwrap();
        assert_eq!(response.status, 200);
        let body = String::from_utf8(response.body.clone()).unwrap();
        assert!(body.contains("[REDACTED]"), "{name}: {body}");
        assert_no_secret(
            &format!("{body}\n{:?}", response.headers),
            &[TOKEN, KEY, &encoded, PASSWORD],
        );
    }
}
