//! What is refused before anything is sent (another host, credential headers, a missing secret,
//! an unsafe secrets file), what happens when the API misbehaves (hangs, refuses connections,
//! answers too much, redirects), and that no secret appears in any error or URL.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use riposte_runtime::http::{HttpConfig, SendError};
use riposte_runtime::secrets::{
    ChainSecrets, EnvSecrets, FileSecrets, SecretSource, SecretString, SecretsError,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "k3y-0f-the-api-5ecret";

/// A secret source that counts how often it is asked.
struct Counting {
    inner: Arc<dyn SecretSource>,
    asked: AtomicUsize,
}

impl SecretSource for Counting {
    fn secret(&self, profile: &str, field: &str) -> Option<SecretString> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        self.inner.secret(profile, field)
    }
}

fn header_profile(base: &str) -> riposte_core::formats::profile::Profile {
    profile(&format!(
        "name = \"VT\"\nbase_url = \"{base}\"\n[auth]\nmethod = \"api_key\"\nheader = \"X-VT-Key\"\n"
    ))
}

fn query_profile(base: &str) -> riposte_core::formats::profile::Profile {
    profile(&format!(
        "name = \"Q\"\nbase_url = \"{base}\"\n[auth]\nmethod = \"api_key\"\nquery = \"apikey\"\n"
    ))
}

async fn ok_server() -> StandIn {
    serve(|_| Reply::json(200, serde_json::json!({"ok": true}))).await
}

/// A port nothing listens on.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// Accepts connections, reads the request, and writes `reply` (raw bytes), then holds the
/// connection open without writing more.
async fn raw_server(reply: impl Into<Vec<u8>>) -> u16 {
    let reply: Arc<[u8]> = reply.into().into();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                let _ = socket.write_all(&reply).await;
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absolute_url_on_another_host_is_refused_before_signing_or_sending() {
    let api = ok_server().await;
    let elsewhere = ok_server().await;
    let source = Arc::new(Counting {
        inner: secrets("VT", &[("api_key", KEY)]),
        asked: AtomicUsize::new(0),
    });
    let vt = integrations(
        vec![header_profile(&api.endpoint("/api/v3"))],
        source.clone(),
        HttpConfig::default(),
    );
    let port = api.addr.port();
    for url in [
        elsewhere.endpoint("/steal"),
        format!("http://localhost:{port}/api/v3/urls/x"),
        format!("https://127.0.0.1:{port}/api/v3/urls/x"),
        format!("http://127.0.0.1.evil.example:{port}/x"),
    ] {
        let err = vt.send(get("VT", &url)).await.unwrap_err();
        assert!(matches!(err, SendError::ForeignHost { .. }), "{url}: {err}");
        let message = err.to_string();
        assert!(message.contains("`VT`"), "{message}");
        assert!(
            message.contains(&format!("http://127.0.0.1:{port}")),
            "{message}"
        );
    }
    let malformed = format!("http://127.0.0.1:{port}.evil.example/x");
    let err = vt.send(get("VT", &malformed)).await.unwrap_err();
    assert!(matches!(err, SendError::InvalidPath { .. }), "{err}");
    assert_eq!(elsewhere.hits(), 0, "nothing reached the other host");
    assert_eq!(api.hits(), 0);
    assert_eq!(source.asked.load(Ordering::SeqCst), 0, "no secret was read");

    // The profile's own origin is fine, as an absolute URL too.
    let response = vt
        .send(get("VT", &api.endpoint("/api/v3/files/abc")))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(api.received()[0].header("x-vt-key"), Some(KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_headers_from_the_playbook_are_refused() {
    let api = ok_server().await;
    let source = Arc::new(Counting {
        inner: secrets("VT", &[("api_key", KEY)]),
        asked: AtomicUsize::new(0),
    });
    let vt = integrations(
        vec![header_profile(&api.endpoint("/api/v3"))],
        source.clone(),
        HttpConfig::default(),
    );
    for header in [
        "Authorization",
        "cookie",
        "X-API-Key",
        "x-vt-key",
        "X-Amz-Date",
        "x-amz-security-token",
        "Proxy-Authorization",
        "Host",
    ] {
        let mut request = get("VT", "/urls/x");
        request.headers = vec![(header.into(), "anything".into())];
        let err = vt.send(request).await.unwrap_err();
        assert!(
            matches!(&err, SendError::ForbiddenHeader { header: h, .. } if *h == header.to_ascii_lowercase()),
            "{header}: {err}"
        );
        assert!(err.to_string().contains("`VT`"), "{err}");
    }
    assert_eq!(api.hits(), 0);
    assert_eq!(source.asked.load(Ordering::SeqCst), 0);

    let mut request = get("VT", "/urls/x");
    request.headers = vec![("Accept".into(), "application/json".into())];
    assert_eq!(vt.send(request).await.unwrap().status, 200);
    assert_eq!(api.received()[0].header("accept"), Some("application/json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_names_profile_field_and_variable_and_sends_nothing() {
    let api = ok_server().await;
    let bearer = profile(&format!(
        "name = \"My API\"\nbase_url = \"{}\"\n[auth]\nmethod = \"bearer\"\n",
        api.endpoint("")
    ));
    let oauth = profile(&format!(
        "name = \"Graph\"\nbase_url = \"{}\"\n[auth]\nmethod = \"oauth2_client_credentials\"\ntoken_url = \"{}\"\n",
        api.endpoint("/v1.0"),
        api.endpoint("/token")
    ));
    let env = Arc::new(EnvSecrets::from_vars([(
        "RIPOSTE_GRAPH_CLIENT_ID",
        "client-id-only",
    )]));
    let all = integrations(vec![bearer.clone(), oauth], env, HttpConfig::default());

    let err = all.send(get("My API", "/x")).await.unwrap_err();
    match &err {
        SendError::MissingSecret {
            profile,
            field,
            env_var,
            where_to_set,
        } => {
            assert_eq!(profile, "My API");
            assert_eq!(field, "token");
            assert_eq!(env_var, "RIPOSTE_MY_API_TOKEN");
            // The environment source's advice: the variable, the secrets file, the editor.
            assert!(where_to_set.contains("--secrets"), "{where_to_set}");
        }
        other => panic!("{other:?}"),
    }
    let message = err.to_string();
    for part in ["`My API`", "`token`", "RIPOSTE_MY_API_TOKEN", "not sent"] {
        assert!(message.contains(part), "{message}");
    }

    let err = all.send(get("Graph", "/me")).await.unwrap_err();
    assert!(
        matches!(&err, SendError::MissingSecret { field, env_var, .. } if field == "client_secret" && env_var == "RIPOSTE_GRAPH_CLIENT_SECRET"),
        "{err:?}"
    );
    assert_eq!(
        api.hits(),
        0,
        "no request without auth, no token request either"
    );

    let missing: Vec<String> = all
        .register_secrets()
        .iter()
        .map(|err| err.to_string())
        .collect();
    assert_eq!(missing.len(), 2, "{missing:?}");
    assert!(matches!(
        all.check_profile("My API"),
        Err(SendError::MissingSecret { .. })
    ));
    assert!(matches!(
        all.check_profile("Nope"),
        Err(SendError::UnknownProfile { .. })
    ));

    // Set through the environment snapshot, the same profile works.
    let env = Arc::new(EnvSecrets::from_vars([("RIPOSTE_MY_API_TOKEN", KEY)]));
    let fixed = integrations(vec![bearer], env, HttpConfig::default());
    fixed.check_profile("My API").unwrap();
    assert_eq!(
        fixed.redactor().redact(&format!("token {KEY}")),
        "token [REDACTED]",
        "checking a profile registers its secrets"
    );
    assert_eq!(fixed.send(get("My API", "/x")).await.unwrap().status, 200);
    assert_eq!(
        api.received()[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secrets_file_must_be_0600_and_outside_the_workspace() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().join("ws");
    std::fs::create_dir_all(workspace.join("integrations")).unwrap();
    let text = format!("[\"VT\"]\napi_key = \"{KEY}\"\n");
    let write = |path: &std::path::Path, mode: u32| {
        std::fs::write(path, &text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };

    let outside = dir.path().join("secrets.toml");
    write(&outside, 0o644);
    let err = FileSecrets::load(&outside, &workspace).unwrap_err();
    assert!(
        matches!(err, SecretsError::Permissions { mode: 0o644, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("chmod 600"), "{err}");
    assert_no_secret(&format!("{err}\n{err:?}"), &[KEY]);

    let inside = workspace.join("secrets.toml");
    write(&inside, 0o600);
    let err = FileSecrets::load(&inside, &workspace).unwrap_err();
    assert!(matches!(err, SecretsError::InsideWorkspace { .. }), "{err}");
    assert!(err.to_string().contains("outside"), "{err}");

    // A link from outside to a file inside is inside.
    let link = dir.path().join("link.toml");
    std::os::unix::fs::symlink(&inside, &link).unwrap();
    let err = FileSecrets::load(&link, &workspace).unwrap_err();
    assert!(matches!(err, SecretsError::InsideWorkspace { .. }), "{err}");
    // So is a workspace reached through a link.
    let ws_link = dir.path().join("ws-link");
    std::os::unix::fs::symlink(&workspace, &ws_link).unwrap();
    let err = FileSecrets::load(&inside, &ws_link).unwrap_err();
    assert!(matches!(err, SecretsError::InsideWorkspace { .. }), "{err}");

    write(&outside, 0o600);
    let file = FileSecrets::load(&outside, &workspace).unwrap();
    assert_no_secret(&format!("{file:?}"), &[KEY]);
    let api = ok_server().await;
    let chain = ChainSecrets::new(vec![
        Arc::new(EnvSecrets::from_vars(Vec::<(String, String)>::new())),
        Arc::new(file),
    ]);
    let vt = integrations(
        vec![header_profile(&api.endpoint(""))],
        Arc::new(chain),
        HttpConfig::default(),
    );
    assert_eq!(vt.send(get("VT", "/x")).await.unwrap().status, 200);
    assert_eq!(api.received()[0].header("x-vt-key"), Some(KEY));

    let missing = FileSecrets::load(&dir.path().join("nope.toml"), &workspace).unwrap_err();
    assert!(matches!(missing, SecretsError::Read { .. }), "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_appears_in_any_error_or_url() {
    let config = HttpConfig {
        max_response_bytes: 1024,
        ..HttpConfig::default()
    };
    let mut texts = Vec::new();
    let describe = |err: SendError| format!("{err}\n{err:?}");

    // Timeout, with the key in the query string.
    let hanging = raw_server(*b"").await;
    let q = integrations(
        vec![query_profile(&format!("http://127.0.0.1:{hanging}"))],
        secrets("Q", &[("api_key", KEY)]),
        config.clone(),
    );
    let mut request = get("Q", "/slow");
    request.timeout = Some(Duration::from_millis(300));
    let err = q.send(request).await.unwrap_err();
    assert!(
        matches!(&err, SendError::Timeout { url, .. } if *url == format!("http://127.0.0.1:{hanging}/slow")),
        "{err:?}"
    );
    texts.push(describe(err));

    // Connection refused.
    let closed = closed_port().await;
    let q = integrations(
        vec![query_profile(&format!("http://127.0.0.1:{closed}"))],
        secrets("Q", &[("api_key", KEY)]),
        config.clone(),
    );
    let err = q.send(get("Q", "/x")).await.unwrap_err();
    assert!(matches!(err, SendError::Network { .. }), "{err:?}");
    texts.push(describe(err));

    // Too large an answer.
    let big = serve(|_| Reply::text(200, "text/plain", &"x".repeat(4096))).await;
    let q = integrations(
        vec![query_profile(&big.endpoint(""))],
        secrets("Q", &[("api_key", KEY)]),
        config.clone(),
    );
    let err = q.send(get("Q", "/big")).await.unwrap_err();
    assert!(matches!(err, SendError::ResponseTooLarge { .. }), "{err:?}");
    texts.push(describe(err));

    // The secret written into a path, a foreign URL and a bad path by a careless playbook.
    q.register_secrets();
    let api = ok_server().await;
    let q = integrations(
        vec![query_profile(&api.endpoint(""))],
        secrets("Q", &[("api_key", KEY)]),
        config.clone(),
    );
    q.register_secrets();
    let response = q.send(get("Q", &format!("/lookup/{KEY}"))).await.unwrap();
    assert!(
        response.url.contains("/lookup/[REDACTED]"),
        "{}",
        response.url
    );
    texts.push(format!("{response:?}"));
    for path in [
        format!("https://evil.example/x?apikey={KEY}&note={KEY}"),
        format!("//evil.example/{KEY}"),
    ] {
        texts.push(describe(q.send(get("Q", &path)).await.unwrap_err()));
    }
    let mut request = get("Q", "/x");
    request.headers = vec![("Authorization".into(), format!("Bearer {KEY}"))];
    texts.push(describe(q.send(request).await.unwrap_err()));

    for text in &texts {
        assert_no_secret(text, &[KEY]);
    }
    assert_eq!(texts.len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_server_does_not_hang_the_caller() {
    // Never answers; answers headers then stalls in the body.
    let silent = raw_server(*b"").await;
    let stalled = raw_server(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc").await;
    for port in [silent, stalled] {
        let vt = integrations(
            vec![header_profile(&format!("http://127.0.0.1:{port}"))],
            secrets("VT", &[("api_key", KEY)]),
            HttpConfig {
                default_timeout: Duration::from_millis(400),
                ..HttpConfig::default()
            },
        );
        let mut request = get("VT", "/x");
        request.timeout = None;
        let started = Instant::now();
        let err = vt.send(request).await.unwrap_err();
        assert!(matches!(err, SendError::Timeout { .. }), "{err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert!(err.to_string().contains("0.4 s"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_timeout_applies_when_the_playbook_sets_none() {
    let silent = raw_server(*b"").await;
    let mut vt = header_profile(&format!("http://127.0.0.1:{silent}"));
    vt.timeout_secs = Some(1);
    let vt = integrations(
        vec![vt],
        secrets("VT", &[("api_key", KEY)]),
        HttpConfig::default(),
    );
    let mut request = get("VT", "/x");
    request.timeout = None;
    let started = Instant::now();
    let err = vt.send(request).await.unwrap_err();
    assert!(matches!(err, SendError::Timeout { after, .. } if after == Duration::from_secs(1)));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_is_a_network_error() {
    let closed = closed_port().await;
    let vt = integrations(
        vec![header_profile(&format!("http://127.0.0.1:{closed}"))],
        secrets("VT", &[("api_key", KEY)]),
        HttpConfig::default(),
    );
    let err = vt.send(get("VT", "/x")).await.unwrap_err();
    assert!(matches!(err, SendError::Network { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("`VT`") && message.contains("connection"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_over_the_limit_is_an_error_with_or_without_a_length() {
    let config = HttpConfig {
        max_response_bytes: 1024,
        ..HttpConfig::default()
    };
    let sized = serve(|_| Reply::text(200, "text/plain", &"y".repeat(2048))).await;
    // Chunked, no content-length: caught while reading.
    let chunk = "x".repeat(1024);
    let chunked = raw_server(
        format!("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n400\r\n{chunk}\r\n400\r\n{chunk}\r\n")
            .into_bytes(),
    )
    .await;
    for base in [sized.endpoint(""), format!("http://127.0.0.1:{chunked}")] {
        let vt = integrations(
            vec![header_profile(&base)],
            secrets("VT", &[("api_key", KEY)]),
            config.clone(),
        );
        let err = vt.send(get("VT", "/big")).await.unwrap_err();
        assert!(
            matches!(err, SendError::ResponseTooLarge { limit: 1024, .. }),
            "{base}: {err:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_handed_back_not_followed() {
    let elsewhere = ok_server().await;
    let target = elsewhere.endpoint("/collect");
    let api = serve(move |_| Reply::empty(302).with_header("location", &target)).await;
    let vt = integrations(
        vec![header_profile(&api.endpoint(""))],
        secrets("VT", &[("api_key", KEY)]),
        HttpConfig::default(),
    );
    let response = vt.send(get("VT", "/x")).await.unwrap();
    assert_eq!(response.status, 302);
    assert_eq!(elsewhere.hits(), 0, "the key never followed a redirect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_profile_lists_the_known_ones() {
    let vt = integrations(
        vec![header_profile("https://www.virustotal.com/api/v3")],
        secrets("VT", &[("api_key", KEY)]),
        HttpConfig::default(),
    );
    let err = vt.send(get("VirusTotal", "/x")).await.unwrap_err();
    assert!(matches!(err, SendError::UnknownProfile { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("`VirusTotal`") && message.contains("`VT`"),
        "{message}"
    );
    assert_eq!(
        vt.check(&get("VT", "/files/x")).unwrap(),
        "https://www.virustotal.com/api/v3/files/x"
    );
}
