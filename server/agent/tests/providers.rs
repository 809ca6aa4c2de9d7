//! Both provider wire formats against the scripted stand-in over loopback: streaming, tool calls
//! assembled from fragments, usage, each failure mapped to its `ProviderError`, retries,
//! cancellation, and the key kept out of every error and `Debug`.

mod standin;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use riposte_agent::provider::anthropic::Anthropic;
use riposte_agent::provider::openai::OpenAiCompatible;
use riposte_agent::provider::{
    ApiKey, ChatRequest, ConfigError, KeySource, Limits, Message, Provider, ProviderConfig,
    ProviderError, ProviderKind, RetryPolicy, StopReason, StreamEvent, ToolCall, ToolSpec, Usage,
};
use serde_json::{Value, json};
use standin::{Options, Script, Standin};
use tokio_util::sync::CancellationToken;

const KEY: &str = "sk-standin-test-key-0123456789-not-real";
const MODEL: &str = "scripted-model";
const KINDS: [ProviderKind; 2] = [ProviderKind::OpenaiCompatible, ProviderKind::Anthropic];

fn script(turns: Value) -> Script {
    serde_json::from_value(json!({"model": MODEL, "require_tools": ["read_file"], "turns": turns}))
        .expect("test script parses")
}

async fn start(turns: Value) -> Standin {
    Standin::start(
        script(turns),
        Options {
            key: Some(KEY.to_owned()),
            planted_secrets: vec!["planted-secret-value-42".to_owned()],
        },
        0,
    )
    .await
    .expect("the stand-in starts")
}

fn config(kind: ProviderKind, base_url: String) -> ProviderConfig {
    let mut config = ProviderConfig::from_env(kind, MODEL);
    config.base_url = Some(base_url);
    config.key = KeySource::Value(ApiKey::new(KEY));
    config.retry = RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    };
    config
}

fn base_url(kind: ProviderKind, standin: &Standin) -> String {
    match kind {
        ProviderKind::OpenaiCompatible => standin.openai_base_url(),
        ProviderKind::Anthropic => standin.anthropic_base_url(),
    }
}

fn provider(kind: ProviderKind, standin: &Standin) -> Arc<dyn Provider> {
    config(kind, base_url(kind, standin))
        .build()
        .expect("the provider builds")
}

fn request() -> ChatRequest {
    ChatRequest {
        model: MODEL.to_owned(),
        system: "You write Riposte playbooks.".to_owned(),
        messages: vec![Message::User {
            content: "Enrich URLs with VirusTotal.".to_owned(),
        }],
        tools: vec![ToolSpec {
            name: "read_file".to_owned(),
            description: "Read a workspace file".to_owned(),
            parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}),
        }],
        max_tokens: 1024,
    }
}

/// Runs one turn, collecting the streamed events.
async fn complete(
    provider: &dyn Provider,
    request: &ChatRequest,
) -> (
    Result<riposte_agent::provider::Completion, ProviderError>,
    Vec<StreamEvent>,
) {
    let seen = Mutex::new(Vec::new());
    let events = |event: StreamEvent| seen.lock().unwrap().push(event);
    let result = provider
        .complete(request, &events, &CancellationToken::new())
        .await;
    (result, seen.into_inner().unwrap())
}

fn assert_no_key(error: &ProviderError) {
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(KEY), "the key leaked into {shown}");
    assert!(
        !shown.contains("0123456789"),
        "part of the key leaked into {shown}"
    );
}

#[tokio::test]
async fn streamed_text_arrives_in_deltas_with_usage() {
    for kind in KINDS {
        let standin = start(json!([{
            "kind": "reply",
            "text": "I need the VirusTotal profile. Which severity should trigger the comment?",
            "usage": {"input_tokens": 321, "output_tokens": 17}
        }]))
        .await;
        let (result, events) = complete(&*provider(kind, &standin), &request()).await;
        let completion = result.unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(
            completion.text,
            "I need the VirusTotal profile. Which severity should trigger the comment?"
        );
        let deltas: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::TextDelta(text) => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert!(deltas.len() > 1, "{kind:?}: text came in one piece");
        assert_eq!(deltas.concat(), completion.text);
        assert!(completion.tool_calls.is_empty());
        assert_eq!(completion.stop, StopReason::EndTurn);
        assert_eq!(
            completion.usage,
            Usage {
                input_tokens: 321,
                output_tokens: 17
            }
        );
        assert_eq!(standin.violations(), Vec::<String>::new());
    }
}

#[tokio::test]
async fn tool_calls_are_assembled_from_fragments() {
    let first = json!({"path": "integrations/virustotal.toml"});
    let second = json!({"path": "playbooks/vt-url-enrichment.py", "note": "a longer argument so that it streams in \"several\" fragments"});
    for kind in KINDS {
        let standin = start(json!([{
            "kind": "reply",
            "text": "Reading both files.",
            "tool_calls": [
                {"id": "call_a", "name": "read_file", "arguments": first},
                {"id": "call_b", "name": "read_file", "arguments": second}
            ]
        }]))
        .await;
        let (result, events) = complete(&*provider(kind, &standin), &request()).await;
        let completion = result.unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(completion.stop, StopReason::ToolUse, "{kind:?}");
        assert_eq!(completion.text, "Reading both files.");
        let ids: Vec<&str> = completion
            .tool_calls
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(ids, ["call_a", "call_b"], "{kind:?}");
        let parsed: Vec<Value> = completion
            .tool_calls
            .iter()
            .map(|c| serde_json::from_str(&c.arguments).expect("arguments are whole JSON"))
            .collect();
        assert_eq!(parsed, [first.clone(), second.clone()], "{kind:?}");
        let started: Vec<StreamEvent> = events
            .into_iter()
            .filter(|e| matches!(e, StreamEvent::ToolCallStarted { .. }))
            .collect();
        assert_eq!(
            started,
            [
                StreamEvent::ToolCallStarted {
                    id: "call_a".into(),
                    name: "read_file".into()
                },
                StreamEvent::ToolCallStarted {
                    id: "call_b".into(),
                    name: "read_file".into()
                },
            ],
            "{kind:?}"
        );
        assert!(completion.usage.input_tokens > 0 && completion.usage.output_tokens > 0);
        assert_eq!(standin.violations(), Vec::<String>::new());
    }
}

#[tokio::test]
async fn a_conversation_is_sent_in_each_wire_format() {
    let mut conversation = request();
    conversation.messages.extend([
        Message::Assistant {
            content: String::new(),
            tool_calls: vec![
                ToolCall {
                    id: "call_1".into(),
                    name: "read_file".into(),
                    arguments: r#"{"path": "a.py"}"#.into(),
                },
                ToolCall {
                    id: "call_2".into(),
                    name: "read_file".into(),
                    arguments: r#"{"path": "#.into(),
                },
            ],
        },
        Message::Tool {
            call_id: "call_1".into(),
            content: "print('a')".into(),
            is_error: false,
        },
        Message::Tool {
            call_id: "call_2".into(),
            content: "the arguments are not valid JSON".into(),
            is_error: true,
        },
        Message::User {
            content: "Carry on.".into(),
        },
    ]);
    for kind in KINDS {
        let standin = start(json!([{"kind": "reply", "text": "Done."}])).await;
        let (result, _) = complete(&*provider(kind, &standin), &conversation).await;
        result.unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        let body = standin.requests()[0].body.clone();
        assert_eq!(body["model"], MODEL);
        assert_eq!(body["max_tokens"], 1024);
        match kind {
            ProviderKind::OpenaiCompatible => {
                let messages = body["messages"].as_array().unwrap();
                assert_eq!(
                    messages[0],
                    json!({"role": "system", "content": "You write Riposte playbooks."})
                );
                assert_eq!(
                    messages[2]["tool_calls"][1]["function"]["arguments"],
                    r#"{"path": "#
                );
                assert_eq!(messages[2]["content"], Value::Null);
                assert_eq!(
                    messages[3],
                    json!({"role": "tool", "tool_call_id": "call_1", "content": "print('a')"})
                );
                assert_eq!(
                    messages[4]["content"],
                    "ERROR: the arguments are not valid JSON"
                );
                assert_eq!(messages[5], json!({"role": "user", "content": "Carry on."}));
                assert_eq!(body["tools"][0]["type"], "function");
                assert_eq!(
                    body["tools"][0]["function"]["parameters"]["required"][0],
                    "path"
                );
            }
            ProviderKind::Anthropic => {
                assert_eq!(body["system"], "You write Riposte playbooks.");
                let messages = body["messages"].as_array().unwrap();
                assert_eq!(
                    messages.len(),
                    3,
                    "tool results and the next user text form one turn"
                );
                assert_eq!(messages[1]["content"][0]["input"], json!({"path": "a.py"}));
                assert_eq!(
                    messages[1]["content"][1]["input"],
                    json!({"invalid_arguments": r#"{"path": "#})
                );
                let results = messages[2]["content"].as_array().unwrap();
                assert_eq!(
                    results[0],
                    json!({"type": "tool_result", "tool_use_id": "call_1", "content": "print('a')", "is_error": false})
                );
                assert_eq!(results[1]["is_error"], true);
                assert_eq!(results[2], json!({"type": "text", "text": "Carry on."}));
                assert_eq!(body["tools"][0]["input_schema"]["required"][0], "path");
            }
        }
        assert_eq!(standin.violations(), Vec::<String>::new());
    }
}

#[tokio::test]
async fn a_refused_key_is_unauthorized_and_never_repeated() {
    for kind in KINDS {
        let standin = start(json!([{"kind": "http_error", "status": 401, "message": "Incorrect API key provided", "echo_key": true}])).await;
        let (result, _) = complete(&*provider(kind, &standin), &request()).await;
        let error = result.expect_err("a 401 fails");
        assert!(
            matches!(error, ProviderError::Unauthorized { status: 401, .. }),
            "{kind:?}: {error:?}"
        );
        assert!(error.to_string().contains("check the API key"), "{error}");
        assert_no_key(&error);
        assert_eq!(
            standin.requests().len(),
            1,
            "{kind:?}: a 401 is not retried"
        );
    }
}

#[tokio::test]
async fn a_wrong_key_is_refused_by_the_stand_in() {
    for kind in KINDS {
        let standin = start(json!([{"kind": "reply", "text": "never sent"}])).await;
        let mut config = config(kind, base_url(kind, &standin));
        config.key = KeySource::Value(ApiKey::new("sk-some-other-key-for-the-test"));
        let (result, _) = complete(&*config.build().unwrap(), &request()).await;
        assert!(
            matches!(result, Err(ProviderError::Unauthorized { .. })),
            "{kind:?}"
        );
        assert_eq!(standin.violations().len(), 1);
    }
}

#[tokio::test]
async fn rate_limits_wait_for_retry_after_then_succeed() {
    for kind in KINDS {
        let standin = start(json!([
            {"kind": "http_error", "status": 429, "retry_after": 1, "message": "Rate limit reached"},
            {"kind": "reply", "text": "Back again."}
        ]))
        .await;
        let started = Instant::now();
        let (result, events) = complete(&*provider(kind, &standin), &request()).await;
        assert_eq!(
            result.unwrap_or_else(|e| panic!("{kind:?}: {e}")).text,
            "Back again."
        );
        // The wait is announced, with why and how long.
        let retries: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::Retrying {
                    reason,
                    after,
                    attempt,
                    ..
                } => Some((reason.clone(), *after, *attempt)),
                _ => None,
            })
            .collect();
        assert_eq!(retries.len(), 1, "{kind:?}: {retries:?}");
        assert!(retries[0].0.contains("rate limited"), "{retries:?}");
        assert_eq!(retries[0].1, Duration::from_secs(1));
        assert_eq!(retries[0].2, 2);
        // The backoff is 10 ms: waiting a second means the header was honoured.
        assert!(
            started.elapsed() >= Duration::from_millis(950),
            "{kind:?}: retry-after ignored"
        );
        assert_eq!(standin.requests().len(), 2);
    }
}

#[tokio::test]
async fn rate_limits_that_last_end_as_rate_limited() {
    for kind in KINDS {
        let standin = start(json!([
            {"kind": "http_error", "status": 429, "message": "slow down"},
            {"kind": "http_error", "status": 429, "message": "slow down"},
            {"kind": "http_error", "status": 429, "retry_after": 2, "message": "slow down"}
        ]))
        .await;
        let (result, _) = complete(&*provider(kind, &standin), &request()).await;
        let error = result.expect_err("three 429s exhaust three attempts");
        assert!(
            matches!(
                error,
                ProviderError::RateLimited {
                    retry_after_secs: Some(2),
                    ..
                }
            ),
            "{kind:?}: {error:?}"
        );
        assert!(error.to_string().contains("retry after 2 s"), "{error}");
        assert_eq!(standin.requests().len(), 3);
    }
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_is_not_waited_for() {
    let standin = start(json!([{"kind": "http_error", "status": 429, "retry_after": 3600}])).await;
    let started = Instant::now();
    let (result, _) = complete(
        &*provider(ProviderKind::OpenaiCompatible, &standin),
        &request(),
    )
    .await;
    assert!(matches!(
        result,
        Err(ProviderError::RateLimited {
            retry_after_secs: Some(3600),
            ..
        })
    ));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(standin.requests().len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried() {
    for kind in KINDS {
        let standin = start(json!([
            {"kind": "http_error", "status": 500, "message": "upstream hiccup"},
            {"kind": "http_error", "status": 529, "message": "Overloaded"},
            {"kind": "reply", "text": "Recovered."}
        ]))
        .await;
        let (result, _) = complete(&*provider(kind, &standin), &request()).await;
        assert_eq!(
            result.unwrap_or_else(|e| panic!("{kind:?}: {e}")).text,
            "Recovered."
        );
        assert_eq!(standin.requests().len(), 3);
    }
}

#[tokio::test]
async fn server_errors_that_last_carry_the_message_without_the_key() {
    for kind in KINDS {
        let standin = start(json!([
            {"kind": "http_error", "status": 500, "message": "boom", "echo_key": true},
            {"kind": "http_error", "status": 502, "message": "boom", "echo_key": true},
            {"kind": "http_error", "status": 503, "message": "model is loading", "echo_key": true}
        ]))
        .await;
        let (result, _) = complete(&*provider(kind, &standin), &request()).await;
        let error = result.expect_err("three 5xx exhaust three attempts");
        let ProviderError::Http {
            status, message, ..
        } = &error
        else {
            panic!("{kind:?}: {error:?}");
        };
        assert_eq!(*status, 503);
        assert!(message.starts_with("model is loading"), "{message}");
        assert!(
            message.contains("[REDACTED]"),
            "the echoed key is scrubbed: {message}"
        );
        assert_no_key(&error);
    }
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let standin =
        start(json!([{"kind": "http_error", "status": 400, "message": "max_tokens is too large"}]))
            .await;
    let (result, _) = complete(&*provider(ProviderKind::Anthropic, &standin), &request()).await;
    let error = result.expect_err("a 400 fails");
    assert_eq!(
        error.to_string(),
        "anthropic answered 400: max_tokens is too large"
    );
    assert_eq!(standin.requests().len(), 1);
}

#[tokio::test]
async fn a_malformed_chunk_is_malformed() {
    for kind in KINDS {
        let standin = start(json!([{"kind": "malformed"}])).await;
        let (result, _) = complete(&*provider(kind, &standin), &request()).await;
        let error = result.expect_err("broken JSON fails");
        assert!(
            matches!(error, ProviderError::Malformed { .. }),
            "{kind:?}: {error:?}"
        );
        assert!(error.to_string().contains("not JSON"), "{error}");
    }
}

#[tokio::test]
async fn a_stream_cut_mid_tool_call_is_stream_cut() {
    for kind in KINDS {
        let standin = start(json!([{
            "kind": "cut",
            "text": "Writing the playbook now.",
            "tool_calls": [{"name": "read_file", "arguments": {"path": "playbooks/a-long-name-for-the-test.py"}}]
        }]))
        .await;
        let (result, events) = complete(&*provider(kind, &standin), &request()).await;
        let error = result.expect_err("a cut stream fails");
        assert!(
            matches!(error, ProviderError::StreamCut { .. }),
            "{kind:?}: {error:?}"
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, StreamEvent::ToolCallStarted { .. }))
        );
        assert_no_key(&error);
    }
}

#[tokio::test]
async fn a_provider_that_is_down_is_unreachable() {
    let port = standin::closed_port().await;
    for kind in KINDS {
        let url = match kind {
            ProviderKind::OpenaiCompatible => format!("http://127.0.0.1:{port}/v1"),
            ProviderKind::Anthropic => format!("http://127.0.0.1:{port}"),
        };
        let provider = config(kind, url).build().unwrap();
        let (result, _) = complete(&*provider, &request()).await;
        let error = result.expect_err("nothing listens");
        let ProviderError::Unreachable { url, reason } = &error else {
            panic!("{kind:?}: {error:?}");
        };
        assert!(url.contains(&format!("127.0.0.1:{port}")), "{url}");
        assert!(reason.contains("Connection refused"), "{reason}");
        assert!(!reason.contains("client error ("), "{reason}");
        assert_no_key(&error);
    }
}

#[tokio::test]
async fn cancellation_stops_a_retry_wait() {
    for kind in KINDS {
        let standin = start(json!([
            {"kind": "http_error", "status": 429, "retry_after": 4},
            {"kind": "reply", "text": "too late"}
        ]))
        .await;
        let provider = provider(kind, &standin);
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            trigger.cancel();
        });
        let started = Instant::now();
        let request = request();
        let result = provider.complete(&request, &|_| {}, &cancel).await;
        assert!(
            matches!(result, Err(ProviderError::Cancelled)),
            "{kind:?}: {result:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{kind:?}: cancel waited for the retry"
        );
        assert_eq!(standin.requests().len(), 1);
    }
}

#[tokio::test]
async fn a_cancelled_turn_sends_nothing() {
    let standin = start(json!([{"kind": "reply", "text": "unused"}])).await;
    let cancel = CancellationToken::new();
    cancel.cancel();
    let request = request();
    let result = provider(ProviderKind::Anthropic, &standin)
        .complete(&request, &|_| {}, &cancel)
        .await;
    assert!(matches!(result, Err(ProviderError::Cancelled)));
    assert_eq!(standin.requests().len(), 0);
}

#[tokio::test]
async fn the_stand_in_refuses_a_request_carrying_a_planted_secret() {
    let standin = start(json!([{"kind": "reply", "text": "unused"}])).await;
    let mut leaky = request();
    leaky.messages.push(Message::User {
        content: "my VirusTotal key is planted-secret-value-42".to_owned(),
    });
    let (result, _) = complete(&*provider(ProviderKind::OpenaiCompatible, &standin), &leaky).await;
    assert!(matches!(
        result,
        Err(ProviderError::Http { status: 400, .. })
    ));
    assert_eq!(
        standin.violations(),
        ["request 1: the request carried planted secret #0"]
    );
}

#[test]
fn no_key_in_any_debug() {
    let config = config(
        ProviderKind::OpenaiCompatible,
        "http://127.0.0.1:9/v1".to_owned(),
    );
    let key = Some(ApiKey::new(KEY));
    let openai = OpenAiCompatible::new(&config, key.clone()).unwrap();
    let anthropic = Anthropic::new(&config, key.clone()).unwrap();
    for shown in [
        format!("{config:?}"),
        format!("{key:?}"),
        format!("{openai:?}"),
        format!("{anthropic:?}"),
    ] {
        assert!(!shown.contains(KEY), "{shown}");
        assert!(!shown.contains("0123456789"), "{shown}");
    }
    assert_eq!(openai.name(), "openai-compatible");
    assert_eq!(anthropic.name(), "anthropic");
}

#[test]
fn prices_come_from_the_list_or_the_configuration() {
    let mut config = ProviderConfig::from_env(ProviderKind::Anthropic, "claude-sonnet-4-5");
    assert_eq!(config.effective_price().unwrap().output_per_million, 15.0);
    config.model = "llama3.1:8b".to_owned();
    assert_eq!(config.effective_price(), None);
}

#[tokio::test]
async fn a_silent_model_server_times_out() {
    for kind in KINDS {
        let standin =
            start(json!([{"kind": "stall", "seconds": 5, "text": "thinking hard about it"}])).await;
        let mut config = config(kind, base_url(kind, &standin));
        config.limits = Limits {
            idle_timeout: Duration::from_millis(300),
            ..Limits::default()
        };
        let started = Instant::now();
        let (result, _) = complete(&*config.build().unwrap(), &request()).await;
        let error = result.expect_err("a stalled stream fails");
        assert!(
            matches!(error, ProviderError::StreamCut { .. }),
            "{kind:?}: {error:?}"
        );
        assert!(
            error.to_string().contains("nothing arrived for 300ms"),
            "{error}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{kind:?}: waited for the stall"
        );
    }
}

#[tokio::test]
async fn an_answer_larger_than_the_cap_is_cut() {
    for kind in KINDS {
        let standin = start(json!([{"kind": "reply", "text": "long answer ".repeat(500)}])).await;
        let mut config = config(kind, base_url(kind, &standin));
        config.limits = Limits {
            max_response_bytes: 2_000,
            ..Limits::default()
        };
        let (result, _) = complete(&*config.build().unwrap(), &request()).await;
        let error = result.expect_err("an answer over the cap fails");
        assert!(
            error.to_string().contains("2000-byte cap"),
            "{kind:?}: {error}"
        );
    }
}

#[test]
fn a_missing_key_names_the_variable_to_set() {
    let unset = "RIPOSTE_PROVIDER_TEST_KEY_THAT_IS_NEVER_SET";
    let mut anthropic = ProviderConfig::from_env(ProviderKind::Anthropic, "claude-sonnet-4-5");
    anthropic.key = KeySource::Env(unset.to_owned());
    let Err(error) = anthropic.build() else {
        panic!("built without a key");
    };
    assert!(matches!(error, ConfigError::MissingKey { .. }));
    assert!(error.to_string().contains(unset), "{error}");

    let mut openai = ProviderConfig::from_env(ProviderKind::OpenaiCompatible, "gpt-4.1");
    openai.key = KeySource::Env(unset.to_owned());
    assert!(openai.build().is_err(), "the public endpoint needs a key");
    // A local server (Ollama, llama.cpp) needs none.
    openai.base_url = Some("http://127.0.0.1:11434/v1".to_owned());
    assert_eq!(openai.resolve_key().unwrap(), None);
    assert!(openai.build().is_ok());

    openai.model = " ".to_owned();
    assert!(matches!(
        openai.build(),
        Err(ConfigError::MissingModel { .. })
    ));
}
