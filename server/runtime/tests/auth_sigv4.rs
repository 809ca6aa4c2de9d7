//! AWS Signature V4 against a loopback server that recomputes every signature independently with
//! botocore (tests/runtime/sigv4_botocore.py) from what it received, and refuses a mismatch.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use common::*;
use riposte_core::catalog::HttpMethod;
use riposte_runtime::http::{FixedClock, HttpConfig, RequestBody};
use riposte_runtime::secrets::MapSecrets;

const ACCESS_KEY: &str = "AKIDEXAMPLE0RIPOSTE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SESSION_TOKEN: &str = "FwoGZXIvYXdzEXAMPLEsessionTOKEN//////////wEaDO";

/// Headers the HTTP stack adds on its own, outside what the client signs.
const TRANSPORT_HEADERS: &[&str] = &[
    "host",
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "accept",
    "content-length",
    "user-agent",
    "accept-encoding",
    "connection",
    // Recomputed by botocore's S3 signer.
    "x-amz-content-sha256",
];

/// What botocore signs for `got` with the real credentials, at the request's own x-amz-date.
fn botocore_authorization(got: &Received, service: &str, session_token: Option<&str>) -> String {
    let headers: serde_json::Map<String, serde_json::Value> = got
        .headers
        .iter()
        .filter(|(name, _)| !TRANSPORT_HEADERS.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone().into()))
        .collect();
    let input = serde_json::json!({
        "method": got.method,
        "url": format!("http://{}{}", got.header("host").unwrap(), got.target()),
        "headers": headers,
        "body_b64": base64::engine::general_purpose::STANDARD.encode(&got.body),
        "region": "us-east-1",
        "service": service,
        "access_key_id": ACCESS_KEY,
        "secret_access_key": SECRET_KEY,
        "session_token": session_token,
        "amz_date": got.header("x-amz-date").unwrap_or("19700101T000000Z"),
    });
    let (ok, out) = run_python("sigv4_botocore.py", &input);
    assert!(ok, "botocore failed: {out}");
    out
}

/// The stand-in for IAM: accepts a request only when botocore computes the same signature.
async fn iam(session_token: Option<&'static str>) -> StandIn {
    aws_service("iam", session_token).await
}

async fn aws_service(service: &'static str, session_token: Option<&'static str>) -> StandIn {
    serve(move |got| {
        let expected = botocore_authorization(got, service, session_token);
        let token_ok = got.header("x-amz-security-token") == session_token;
        if got.header("authorization") == Some(expected.as_str()) && token_ok {
            Reply::text(200, "text/plain", "<ListUsersResponse/>")
        } else {
            Reply::text(
                403,
                "text/plain",
                "<Error><Code>SignatureDoesNotMatch</Code></Error>",
            )
        }
    })
    .await
}

fn fixed_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_225_600) // 2026-01-01T00:00:00Z
}

fn config() -> HttpConfig {
    HttpConfig {
        clock: Arc::new(FixedClock {
            time: fixed_time(),
            nonce: "unused".into(),
        }),
        ..HttpConfig::default()
    }
}

fn aws_secrets(secret_key: &str, session_token: Option<&str>) -> Arc<MapSecrets> {
    let map = secrets(
        "AWS IAM",
        &[
            ("access_key_id", ACCESS_KEY),
            ("secret_access_key", secret_key),
        ],
    );
    if let Some(token) = session_token {
        map.set("AWS IAM", "session_token", token.into());
    }
    map
}

fn iam_profile(server: &StandIn) -> riposte_core::formats::profile::Profile {
    profile(&format!(
        "name = \"AWS IAM\"\nbase_url = \"{}\"\n[auth]\nmethod = \"aws_sigv4\"\nregion = \"us-east-1\"\nservice = \"iam\"\n",
        server.endpoint("/")
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_api_get_matches_botocore_byte_for_byte() {
    let server = iam(None).await;
    let aws = integrations(
        vec![iam_profile(&server)],
        aws_secrets(SECRET_KEY, None),
        config(),
    );
    let mut request = get("AWS IAM", "/");
    request.query = vec![
        ("Action".into(), "ListUsers".into()),
        ("Version".into(), "2010-05-08".into()),
        ("PathPrefix".into(), "/division abc/sub+team/".into()),
    ];
    let response = aws.send(request).await.unwrap();
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );

    let got = &server.received()[0];
    assert_eq!(got.header("x-amz-date"), Some("20260101T000000Z"));
    let ours = got.header("authorization").unwrap();
    assert_eq!(ours, botocore_authorization(got, "iam", None));
    assert!(ours.starts_with(&format!(
        "AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20260101/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature="
    )));
    assert!(!response.url.contains(SECRET_KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_body_with_a_session_token_matches_botocore() {
    let server = iam(Some(SESSION_TOKEN)).await;
    let aws = integrations(
        vec![iam_profile(&server)],
        aws_secrets(SECRET_KEY, Some(SESSION_TOKEN)),
        config(),
    );
    let request = riposte_runtime::http::OutgoingRequest {
        method: HttpMethod::Post,
        body: RequestBody::Form(vec![
            ("Action".into(), "AttachUserPolicy".into()),
            ("UserName".into(), "mallory".into()),
            (
                "PolicyArn".into(),
                "arn:aws:iam::aws:policy/AWSDenyAll".into(),
            ),
            ("Version".into(), "2010-05-08".into()),
        ]),
        ..get("AWS IAM", "/")
    };
    let response = aws.send(request).await.unwrap();
    assert_eq!(response.status, 200);
    let got = &server.received()[0];
    assert_eq!(
        got.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(got.header("x-amz-security-token"), Some(SESSION_TOKEN));
    let ours = got.header("authorization").unwrap();
    assert_eq!(
        ours,
        botocore_authorization(got, "iam", Some(SESSION_TOKEN))
    );
    assert!(ours.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"));
    // The session token is a credential: never handed back, redacted wherever it is written.
    assert_eq!(
        aws.redactor()
            .redact(&format!("x-amz-security-token: {SESSION_TOKEN}")),
        "x-amz-security-token: [REDACTED]"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_body_and_an_encoded_path_match_botocore() {
    let server = iam(None).await;
    let aws = integrations(
        vec![iam_profile(&server)],
        aws_secrets(SECRET_KEY, None),
        config(),
    );
    let mut request = post_json(
        "AWS IAM",
        "/2015-03-31/functions/triage fn/invocations",
        serde_json::json!({"alert": "é", "n": [1, 2]}),
    );
    request.headers = vec![("X-Custom-Trace".into(), "  a   b ".into())];
    let response = aws.send(request).await.unwrap();
    assert_eq!(response.status, 200);
    let got = &server.received()[0];
    assert_eq!(got.path, "/2015-03-31/functions/triage%20fn/invocations");
    assert_eq!(
        got.header("authorization").unwrap(),
        botocore_authorization(got, "iam", None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_key_is_refused() {
    let server = iam(None).await;
    let aws = integrations(
        vec![iam_profile(&server)],
        aws_secrets("wJalrXUtnFEMI/K7MDENG+bPxRfiCYWRONGKEY", None),
        config(),
    );
    let mut request = get("AWS IAM", "/");
    request.query = vec![("Action".into(), "ListUsers".into())];
    let response = aws.send(request).await.unwrap();
    assert_eq!(
        response.status, 403,
        "a wrong key is the server's 403, not a success"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_uses_the_clock() {
    let server = iam(None).await;
    // The real clock: x-amz-date is now, and the signature still verifies.
    let aws = integrations(
        vec![iam_profile(&server)],
        aws_secrets(SECRET_KEY, None),
        HttpConfig::default(),
    );
    let before = SystemTime::now();
    let response = aws.send(get("AWS IAM", "/")).await.unwrap();
    assert_eq!(response.status, 200);
    let date = server.received()[0]
        .header("x-amz-date")
        .unwrap()
        .to_string();
    let year: u64 = date[..4].parse().unwrap();
    let this_year = 1970 + before.duration_since(UNIX_EPOCH).unwrap().as_secs() / 31_556_952;
    assert!(year.abs_diff(this_year) <= 1, "{date}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_requests_follow_s3_rules_and_match_botocore() {
    let server = aws_service("s3", None).await;
    let s3 = profile(&format!(
        "name = \"AWS S3\"\nbase_url = \"{}\"\n[auth]\nmethod = \"aws_sigv4\"\nregion = \"us-east-1\"\nservice = \"s3\"\n",
        server.endpoint("/")
    ));
    let map = secrets(
        "AWS S3",
        &[
            ("access_key_id", ACCESS_KEY),
            ("secret_access_key", SECRET_KEY),
        ],
    );
    let aws = integrations(vec![s3], map, config());
    let mut listing = get("AWS S3", "/riposte-logs");
    listing.query = vec![
        ("list-type".into(), "2".into()),
        ("prefix".into(), "AWSLogs/2026/01/a b".into()),
    ];
    assert_eq!(aws.send(listing).await.unwrap().status, 200);
    let object = get("AWS S3", "/riposte-logs/AWSLogs/2026/01/a b.json.gz");
    assert_eq!(aws.send(object).await.unwrap().status, 200);
    let put = riposte_runtime::http::OutgoingRequest {
        method: HttpMethod::Put,
        ..post_json(
            "AWS S3",
            "/riposte-logs/notes/case 1.json",
            serde_json::json!({"case": 1}),
        )
    };
    assert_eq!(aws.send(put).await.unwrap().status, 200);

    for got in server.received() {
        assert_eq!(
            got.header("authorization").unwrap(),
            botocore_authorization(&got, "s3", None)
        );
        let payload_hash = got.header("x-amz-content-sha256").unwrap();
        let expected = ring::digest::digest(&ring::digest::SHA256, &got.body);
        let expected: String = expected
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(payload_hash, expected);
    }
}
