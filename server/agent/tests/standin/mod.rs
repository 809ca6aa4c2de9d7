//! The scripted LLM stand-in: a loopback HTTP server that speaks both provider wire formats,
//! OpenAI Chat Completions (`POST /v1/chat/completions`) and Anthropic Messages
//! (`POST /v1/messages`), and plays a script of turns (`fixtures/llm/README.md`): streamed text,
//! tool calls whose arguments arrive in several fragments, HTTP errors, a malformed chunk, a
//! stream cut in the middle of a tool call. It records every request and checks what a real
//! provider would (the key, the model, streaming asked for, the tools declared) and what Riposte
//! promises (no planted secret in any request).
//!
//! It speaks HTTP/1.1 on a plain Tokio socket rather than through a framework: cutting a stream
//! mid-chunk and sending broken chunks are what it is for, and a framework exists to prevent both.
//! Included with `mod standin;` by the agent's tests, `#[path]` by the CLI's, and run as a
//! process by `cargo run -p riposte_agent --example llm-standin`.

#![allow(dead_code)] // Each test binary that includes this module uses a different part of it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A script: the turns the model plays, in order, one per request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    #[serde(default)]
    pub description: String,
    /// When set, every request must name this model.
    #[serde(default)]
    pub model: Option<String>,
    /// Tools every request must declare.
    #[serde(default)]
    pub require_tools: Vec<String>,
    pub turns: Vec<Turn>,
}

impl Script {
    pub fn load(path: &Path) -> Result<Script, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{} is not a script: {e}", path.display()))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Turn {
    /// A streamed answer: text, tool calls, or both.
    Reply {
        #[serde(default)]
        text: String,
        #[serde(default)]
        tool_calls: Vec<ScriptedCall>,
        /// `end_turn`, `tool_use` or `max_tokens`; by default `tool_use` when there are tool
        /// calls, else `end_turn`.
        #[serde(default)]
        stop: Option<String>,
        #[serde(default)]
        usage: Option<ScriptedUsage>,
        /// Strings that must occur in what the agent sent after the model's previous answer
        /// (tool results, the user's reply): proof the agent fed back what it should.
        #[serde(default)]
        expect: Vec<String>,
        /// Serve this turn this many times (a model that loops).
        #[serde(default)]
        repeat: Option<u32>,
    },
    /// An HTTP error answer.
    HttpError {
        status: u16,
        #[serde(default)]
        retry_after: Option<u64>,
        #[serde(default)]
        message: Option<String>,
        /// Repeat the key the request carried in the message, as some providers do: the client
        /// must never pass it on.
        #[serde(default)]
        echo_key: bool,
    },
    /// A stream whose second event is not JSON.
    Malformed,
    /// Streams the first event, then goes silent for `seconds` before finishing the answer
    /// (a hung model server).
    Stall {
        seconds: u64,
        #[serde(default)]
        text: String,
    },
    /// Streams the text and the start of the first tool call, then drops the connection.
    Cut {
        #[serde(default)]
        text: String,
        tool_calls: Vec<ScriptedCall>,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedCall {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    /// The arguments object.
    #[serde(default)]
    pub arguments: Option<Value>,
    /// Argument text sent as is (e.g. invalid JSON); wins over `arguments`.
    #[serde(default)]
    pub raw_arguments: Option<String>,
}

impl ScriptedCall {
    fn argument_text(&self) -> String {
        match (&self.raw_arguments, &self.arguments) {
            (Some(raw), _) => raw.clone(),
            (None, Some(value)) => value.to_string(),
            (None, None) => "{}".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// What the stand-in checks beyond the script.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The key every request must carry (`Authorization: Bearer` or `x-api-key`).
    pub key: Option<String>,
    /// Values that must never appear in a request body (secrets planted in the workspace).
    pub planted_secrets: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    OpenAi,
    Anthropic,
}

/// One request as received (the key's header is recorded as present or not, never its value).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub format: Option<Format>,
    pub path: String,
    pub had_key: bool,
    pub body: Value,
}

#[derive(Default)]
struct State {
    turns: Vec<Turn>,
    next: usize,
    served_of_current: u32,
    served: usize,
    requests: Vec<Recorded>,
    violations: Vec<String>,
}

/// A running stand-in; stops when dropped.
pub struct Standin {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Standin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Standin {
    /// Listens on `127.0.0.1:port` (0: any free port) and plays `script`.
    pub async fn start(script: Script, options: Options, port: u16) -> std::io::Result<Standin> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            turns: script.turns.clone(),
            ..State::default()
        }));
        let shared = Arc::new((script, options));
        let task_state = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let state = Arc::clone(&task_state);
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _ = serve(socket, &state, &shared.0, &shared.1).await;
                });
            }
        });
        Ok(Standin { addr, state, task })
    }

    /// Base URL for an OpenAI-compatible client (`.../v1`).
    pub fn openai_base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Base URL for an Anthropic client (the SDKs' convention: no `/v1`).
    pub fn anthropic_base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Everything a request did wrong, in order.
    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }

    /// Turns served so far (a repeated turn counts each time).
    pub fn served(&self) -> usize {
        self.state.lock().unwrap().served
    }

    /// Turns of the script not yet played.
    pub fn remaining(&self) -> usize {
        let state = self.state.lock().unwrap();
        state.turns.len().saturating_sub(state.next)
    }
}

/// Every environment variable that chooses a model or holds its key: tests clear them all, so
/// only what a test sets counts.
pub const MODEL_ENV_VARS: &[&str] = &[
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "RIPOSTE_LLM_PROVIDER",
    "RIPOSTE_LLM_MODEL",
    "RIPOSTE_LLM_BASE_URL",
    "RIPOSTE_LLM_API_KEY",
];

/// The stand-in on a free port playing `fixtures/llm/<script>`: it takes only `key`, and fails
/// any request that carries one of `planted` or the key itself.
pub async fn play(script: &str, key: &str, mut planted: Vec<String>) -> Standin {
    // Both crates that include this module sit at server/<crate>.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/llm")
        .join(script);
    let script = Script::load(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    planted.push(key.to_owned());
    Standin::start(
        script,
        Options {
            key: Some(key.to_owned()),
            planted_secrets: planted,
        },
        0,
    )
    .await
    .expect("the LLM stand-in listens on 127.0.0.1")
}

/// A port nothing listens on (bound, then released).
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    listener.local_addr().unwrap().port()
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

const HEAD_CAP: usize = 64 * 1024;
const BODY_CAP: usize = 64 * 1024 * 1024;

async fn read_request(socket: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        if buffer.len() > HEAD_CAP {
            return Ok(None);
        }
        let read = socket.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let path = request_line.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
        .min(BODY_CAP);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let read = socket.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Ok(Some(Request {
        method,
        path,
        headers,
        body,
    }))
}

/// What to send back, decided under the lock, written after it.
enum Answer {
    Error {
        status: u16,
        retry_after: Option<u64>,
        message: String,
    },
    Stream {
        events: Vec<String>,
        cut: bool,
        /// A pause after the first event.
        stall: Option<std::time::Duration>,
    },
}

async fn serve(
    mut socket: TcpStream,
    state: &Mutex<State>,
    script: &Script,
    options: &Options,
) -> std::io::Result<()> {
    socket.set_nodelay(true)?;
    let Some(request) = read_request(&mut socket).await? else {
        return Ok(());
    };
    let answer = decide(&request, state, script, options);
    let format = format_of(&request.path).unwrap_or(Format::OpenAi);
    match answer {
        Answer::Error {
            status,
            retry_after,
            message,
        } => {
            let body = match format {
                Format::OpenAi => {
                    json!({"error": {"message": message, "type": error_type(status), "code": null}})
                }
                Format::Anthropic => {
                    json!({"type": "error", "error": {"type": error_type(status), "message": message}})
                }
            }
            .to_string();
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                reason(status),
                body.len()
            );
            if let Some(secs) = retry_after {
                head.push_str(&format!("retry-after: {secs}\r\n"));
            }
            head.push_str("\r\n");
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(body.as_bytes()).await?;
        }
        Answer::Stream { events, cut, stall } => {
            socket
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
                )
                .await?;
            for (index, event) in events.into_iter().enumerate() {
                if index == 1
                    && let Some(pause) = stall
                {
                    tokio::time::sleep(pause).await;
                }
                socket
                    .write_all(format!("{:x}\r\n{event}\r\n", event.len()).as_bytes())
                    .await?;
                socket.flush().await?;
                tokio::task::yield_now().await;
            }
            if cut {
                // No terminating chunk: the client sees the body end mid-message.
                socket.shutdown().await?;
                return Ok(());
            }
            socket.write_all(b"0\r\n\r\n").await?;
        }
    }
    socket.flush().await?;
    socket.shutdown().await
}

fn format_of(path: &str) -> Option<Format> {
    let path = path.split('?').next().unwrap_or(path);
    match path {
        "/v1/chat/completions" => Some(Format::OpenAi),
        "/v1/messages" => Some(Format::Anthropic),
        _ => None,
    }
}

fn error_type(status: u16) -> &'static str {
    match status {
        401 | 403 => "authentication_error",
        429 => "rate_limit_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        529 => "Overloaded",
        _ => "Error",
    }
}

fn decide(request: &Request, state: &Mutex<State>, script: &Script, options: &Options) -> Answer {
    let mut state = state.lock().unwrap();
    let format = format_of(&request.path);
    let presented_key = match format {
        Some(Format::Anthropic) => request.header("x-api-key").map(str::to_owned),
        _ => request
            .header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned),
    };
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    state.requests.push(Recorded {
        format,
        path: request.path.clone(),
        had_key: presented_key.is_some(),
        body: body.clone(),
    });
    let number = state.requests.len();
    let refuse = |state: &mut State, status: u16, problem: String| {
        state
            .violations
            .push(format!("request {number}: {problem}"));
        Answer::Error {
            status,
            retry_after: None,
            message: format!("stand-in: {problem}"),
        }
    };
    let Some(format) = format else {
        return refuse(&mut state, 404, format!("unknown path {}", request.path));
    };
    if request.method != "POST" {
        return refuse(&mut state, 405, format!("method {}", request.method));
    }
    if let Some(key) = &options.key
        && presented_key.as_deref() != Some(key.as_str())
    {
        return refuse(
            &mut state,
            401,
            "the request did not carry the expected key".to_owned(),
        );
    }
    if format == Format::Anthropic && request.header("anthropic-version").is_none() {
        return refuse(&mut state, 400, "no anthropic-version header".to_owned());
    }
    let text = String::from_utf8_lossy(&request.body);
    if let Some(index) = options
        .planted_secrets
        .iter()
        .position(|secret| !secret.is_empty() && text.contains(secret.as_str()))
    {
        return refuse(
            &mut state,
            400,
            format!("the request carried planted secret #{index}"),
        );
    }
    if body.is_null() {
        return refuse(&mut state, 400, "the body is not JSON".to_owned());
    }
    if body["stream"] != json!(true) {
        return refuse(&mut state, 400, "streaming was not asked for".to_owned());
    }
    if format == Format::OpenAi && body["stream_options"]["include_usage"] != json!(true) {
        return refuse(
            &mut state,
            400,
            "stream_options.include_usage is not set".to_owned(),
        );
    }
    if let Some(model) = &script.model
        && body["model"].as_str() != Some(model.as_str())
    {
        return refuse(
            &mut state,
            400,
            format!("model {} instead of {model}", body["model"]),
        );
    }
    let declared: Vec<&str> = body["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t["function"]["name"].as_str().or(t["name"].as_str()))
                .collect()
        })
        .unwrap_or_default();
    if let Some(missing) = script
        .require_tools
        .iter()
        .find(|tool| !declared.contains(&tool.as_str()))
    {
        return refuse(
            &mut state,
            400,
            format!("tool `{missing}` was not declared"),
        );
    }
    let Some(turn) = state.turns.get(state.next).cloned() else {
        return refuse(&mut state, 400, "the script has no more turns".to_owned());
    };
    let since_last_answer = since_last_answer(&body, format);
    state.served += 1;
    match turn {
        Turn::Reply {
            text,
            tool_calls,
            stop,
            usage,
            expect,
            repeat,
        } => {
            state.served_of_current += 1;
            if state.served_of_current >= repeat.unwrap_or(1).max(1) {
                state.next += 1;
                state.served_of_current = 0;
            }
            if let Some(missing) = expect
                .iter()
                .find(|e| !since_last_answer.contains(e.as_str()))
            {
                return refuse(
                    &mut state,
                    400,
                    format!(
                        "expected `{missing}` in what the agent sent since the model's last answer"
                    ),
                );
            }
            let usage = usage.unwrap_or(ScriptedUsage {
                input_tokens: (request.body.len() / 4) as u64,
                output_tokens: ((text.len()
                    + tool_calls
                        .iter()
                        .map(|c| c.argument_text().len())
                        .sum::<usize>())
                    / 4) as u64
                    + 1,
            });
            let stop = stop.unwrap_or_else(|| {
                if tool_calls.is_empty() {
                    "end_turn"
                } else {
                    "tool_use"
                }
                .to_owned()
            });
            let events = match format {
                Format::OpenAi => openai_events(
                    number,
                    &body,
                    &text,
                    &tool_calls,
                    &stop,
                    usage,
                    Ending::Whole,
                ),
                Format::Anthropic => anthropic_events(
                    number,
                    &body,
                    &text,
                    &tool_calls,
                    &stop,
                    usage,
                    Ending::Whole,
                ),
            };
            Answer::Stream {
                events,
                cut: false,
                stall: None,
            }
        }
        Turn::HttpError {
            status,
            retry_after,
            message,
            echo_key,
        } => {
            state.next += 1;
            let mut message = message.unwrap_or_else(|| reason(status).to_owned());
            if echo_key {
                message.push_str(&format!(
                    " (key presented: {})",
                    presented_key.unwrap_or_default()
                ));
            }
            Answer::Error {
                status,
                retry_after,
                message,
            }
        }
        Turn::Malformed => {
            state.next += 1;
            let events = match format {
                Format::OpenAi => vec![
                    sse(None, &json!({"id": "chatcmpl-bad", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Let me"}, "finish_reason": null}]})),
                    "data: {\"id\": \"chatcmpl-bad\", \"choices\": [{\"delta\": {\"content\": \n\n".to_owned(),
                    "data: [DONE]\n\n".to_owned(),
                ],
                Format::Anthropic => vec![
                    sse(Some("message_start"), &json!({"type": "message_start", "message": {"id": "msg_bad", "type": "message", "role": "assistant", "content": [], "usage": {"input_tokens": 10, "output_tokens": 1}}})),
                    "event: content_block_start\ndata: {\"type\": \"content_block_start\", \"index\": 0, \"content_block\": {\"type\": \n\n".to_owned(),
                    sse(Some("message_stop"), &json!({"type": "message_stop"})),
                ],
            };
            Answer::Stream {
                events,
                cut: false,
                stall: None,
            }
        }
        Turn::Stall { seconds, text } => {
            state.next += 1;
            let usage = ScriptedUsage {
                input_tokens: 10,
                output_tokens: 10,
            };
            let events = match format {
                Format::OpenAi => {
                    openai_events(number, &body, &text, &[], "end_turn", usage, Ending::Whole)
                }
                Format::Anthropic => {
                    anthropic_events(number, &body, &text, &[], "end_turn", usage, Ending::Whole)
                }
            };
            Answer::Stream {
                events,
                cut: false,
                stall: Some(std::time::Duration::from_secs(seconds)),
            }
        }
        Turn::Cut { text, tool_calls } => {
            state.next += 1;
            let usage = ScriptedUsage {
                input_tokens: 10,
                output_tokens: 10,
            };
            let events = match format {
                Format::OpenAi => openai_events(
                    number,
                    &body,
                    &text,
                    &tool_calls,
                    "tool_use",
                    usage,
                    Ending::CutInFirstCall,
                ),
                Format::Anthropic => anthropic_events(
                    number,
                    &body,
                    &text,
                    &tool_calls,
                    "tool_use",
                    usage,
                    Ending::CutInFirstCall,
                ),
            };
            Answer::Stream {
                events,
                cut: true,
                stall: None,
            }
        }
    }
}

/// The JSON text of the messages after the last assistant message of a request.
fn since_last_answer(body: &Value, format: Format) -> String {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let last_assistant = messages
        .iter()
        .rposition(|m| m["role"] == "assistant")
        .map(|i| i + 1)
        .unwrap_or(0);
    let mut text = messages[last_assistant..]
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    if last_assistant == 0 && format == Format::Anthropic {
        text.push_str(&body["system"].to_string());
    }
    text
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ending {
    Whole,
    CutInFirstCall,
}

fn sse(event: Option<&str>, data: &Value) -> String {
    match event {
        Some(name) => format!("event: {name}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}

/// `text` in pieces of at most `size` characters.
fn pieces(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

/// Argument text in three fragments (or fewer for short text), as models stream it.
fn fragments(text: &str) -> Vec<String> {
    let size = text.chars().count().div_ceil(3).max(1);
    pieces(text, size)
}

fn call_id(number: usize, index: usize, call: &ScriptedCall) -> String {
    call.id
        .clone()
        .unwrap_or_else(|| format!("call_{number}_{index}"))
}

fn openai_events(
    number: usize,
    request: &Value,
    text: &str,
    calls: &[ScriptedCall],
    stop: &str,
    usage: ScriptedUsage,
    ending: Ending,
) -> Vec<String> {
    let model = request["model"].clone();
    let id = format!("chatcmpl-standin-{number}");
    let chunk = |delta: Value, finish: Value| {
        sse(
            None,
            &json!({"id": id, "object": "chat.completion.chunk", "created": 1_767_225_600, "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}),
        )
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    for piece in pieces(text, 16) {
        events.push(chunk(json!({"content": piece}), Value::Null));
    }
    for (index, call) in calls.iter().enumerate() {
        events.push(chunk(
            json!({"tool_calls": [{"index": index, "id": call_id(number, index, call), "type": "function",
                                   "function": {"name": call.name, "arguments": ""}}]}),
            Value::Null,
        ));
        let parts = fragments(&call.argument_text());
        let cut_here = ending == Ending::CutInFirstCall;
        for (n, part) in parts.iter().enumerate() {
            if cut_here && n > 0 && n + 1 >= parts.len() {
                break;
            }
            events.push(chunk(
                json!({"tool_calls": [{"index": index, "function": {"arguments": part}}]}),
                Value::Null,
            ));
        }
        if cut_here {
            return events;
        }
    }
    let finish = match stop {
        "tool_use" => "tool_calls",
        "max_tokens" => "length",
        _ => "stop",
    };
    events.push(chunk(json!({}), json!(finish)));
    events.push(sse(
        None,
        &json!({"id": id, "object": "chat.completion.chunk", "created": 1_767_225_600, "model": model, "choices": [],
                "usage": {"prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens,
                          "total_tokens": usage.input_tokens + usage.output_tokens}}),
    ));
    events.push("data: [DONE]\n\n".to_owned());
    events
}

fn anthropic_events(
    number: usize,
    request: &Value,
    text: &str,
    calls: &[ScriptedCall],
    stop: &str,
    usage: ScriptedUsage,
    ending: Ending,
) -> Vec<String> {
    let mut events = vec![
        sse(
            Some("message_start"),
            &json!({"type": "message_start", "message": {"id": format!("msg_standin_{number}"), "type": "message",
                    "role": "assistant", "model": request["model"], "content": [], "stop_reason": null,
                    "stop_sequence": null, "usage": {"input_tokens": usage.input_tokens, "output_tokens": 1}}}),
        ),
        sse(Some("ping"), &json!({"type": "ping"})),
    ];
    let mut index = 0;
    if !text.is_empty() {
        events.push(sse(
            Some("content_block_start"),
            &json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
        ));
        for piece in pieces(text, 16) {
            events.push(sse(
                Some("content_block_delta"),
                &json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}),
            ));
        }
        events.push(sse(
            Some("content_block_stop"),
            &json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    for (n, call) in calls.iter().enumerate() {
        events.push(sse(
            Some("content_block_start"),
            &json!({"type": "content_block_start", "index": index,
                    "content_block": {"type": "tool_use", "id": call_id(number, n, call), "name": call.name, "input": {}}}),
        ));
        let parts = fragments(&call.argument_text());
        let cut_here = ending == Ending::CutInFirstCall;
        for (k, part) in parts.iter().enumerate() {
            if cut_here && k > 0 && k + 1 >= parts.len() {
                break;
            }
            events.push(sse(
                Some("content_block_delta"),
                &json!({"type": "content_block_delta", "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": part}}),
            ));
        }
        if cut_here {
            return events;
        }
        events.push(sse(
            Some("content_block_stop"),
            &json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    events.push(sse(
        Some("message_delta"),
        &json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
                "usage": {"output_tokens": usage.output_tokens}}),
    ));
    events.push(sse(Some("message_stop"), &json!({"type": "message_stop"})));
    events
}
