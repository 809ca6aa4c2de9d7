//! Anthropic Messages, streamed with native tool use. The stream is typed SSE events:
//! `message_start` (input usage), `content_block_start` (a text or `tool_use` block),
//! `content_block_delta` (`text_delta`, `input_json_delta`), `content_block_stop`,
//! `message_delta` (stop reason, output usage), `message_stop`; `ping` and `error` besides.

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::config::{ApiKey, ConfigError, ProviderConfig};
use super::transport::{ChunkProblem, Transport, endpoint, secret_header};
use super::{
    BoxFuture, ChatRequest, Completion, Message, Price, Provider, ProviderError, StopReason,
    StreamEvent, ToolCall, Usage,
};

const NAME: &str = "anthropic";
const API_VERSION: &str = "2023-06-01";

/// The Messages API.
#[derive(Debug)]
pub struct Anthropic {
    transport: Transport,
    url: url::Url,
    headers: HeaderMap,
    price: Option<Price>,
}

impl Anthropic {
    pub fn new(config: &ProviderConfig, key: Option<ApiKey>) -> Result<Self, ConfigError> {
        // The SDKs' base URL has no `/v1`; accept one too, as people paste either.
        let base = config.base_url().trim_end_matches('/');
        let path = if base.ends_with("/v1") {
            "messages"
        } else {
            "v1/messages"
        };
        let url = endpoint(base, path)?;
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(API_VERSION),
        );
        if let Some(key) = &key {
            headers.insert(
                HeaderName::from_static("x-api-key"),
                secret_header(key.expose())?,
            );
        }
        Ok(Anthropic {
            transport: Transport::new(NAME, config, key)?,
            url,
            headers,
            price: config.effective_price(),
        })
    }

    async fn run(
        &self,
        request: &ChatRequest,
        events: &(dyn Fn(StreamEvent) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<Completion, ProviderError> {
        let body = request_body(request);
        let response = self
            .transport
            .post(&self.url, &self.headers, &body, events, cancel)
            .await?;
        let mut stream = self.transport.events(response)?;
        let mut turn = Turn::default();
        while let Some(event) = stream.next(cancel).await? {
            if event.data.trim().is_empty() {
                continue;
            }
            let data: Value =
                serde_json::from_str(&event.data).map_err(|e| ProviderError::Malformed {
                    provider: NAME.to_owned(),
                    reason: format!("a `{}` event is not JSON ({e})", event.event),
                })?;
            // The `type` in the data is authoritative; the SSE event name is a copy of it.
            let kind = data
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or(event.event.as_str())
                .to_owned();
            match turn.absorb(&kind, &data, events) {
                Ok(Flow::Continue) => {}
                Ok(Flow::Stop) => break,
                Err(problem) => return Err(self.transport.chunk_error(problem)),
            }
        }
        turn.finish().map_err(|reason| self.transport.cut(reason))
    }
}

impl Provider for Anthropic {
    fn name(&self) -> &str {
        NAME
    }

    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
        events: &'a (dyn Fn(StreamEvent) + Send + Sync),
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<Completion, ProviderError>> {
        Box::pin(self.run(request, events, cancel))
    }

    fn price(&self) -> Option<Price> {
        self.price
    }
}

/// The Messages request for `request`. Tool results go back as `tool_result` blocks in a user
/// turn; consecutive user-side messages are merged, since the API wants turns to alternate and
/// tool results first in the turn after the `tool_use`.
pub(crate) fn request_body(request: &ChatRequest) -> Value {
    let mut turns: Vec<(&str, Vec<Value>)> = Vec::new();
    for message in &request.messages {
        let (role, blocks) = match message {
            Message::User { content } => ("user", text_block(content)),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                let mut blocks = text_block(content);
                for call in tool_calls {
                    blocks.push(json!({
                        "type": "tool_use",
                        "id": call.id,
                        "name": call.name,
                        "input": tool_input(&call.arguments),
                    }));
                }
                ("assistant", blocks)
            }
            Message::Tool {
                call_id,
                content,
                is_error,
            } => (
                "user",
                vec![json!({
                    "type": "tool_result",
                    "tool_use_id": call_id,
                    "content": content,
                    "is_error": is_error,
                })],
            ),
        };
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last_role, last_blocks)) if *last_role == role => last_blocks.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(role, blocks)| json!({"role": role, "content": blocks}))
        .collect();
    let mut body = json!({
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": messages,
        "stream": true,
    });
    if !request.system.is_empty() {
        body["system"] = json!(request.system);
    }
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": tool.parameters,
                })
            })
            .collect();
    }
    body
}

/// The API refuses empty text blocks.
fn text_block(text: &str) -> Vec<Value> {
    if text.is_empty() {
        Vec::new()
    } else {
        vec![json!({"type": "text", "text": text})]
    }
}

/// `tool_use.input` must be an object: arguments the model sent as invalid JSON (answered as a
/// tool error by the agent) go back as their raw text inside one.
fn tool_input(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(value @ Value::Object(_)) => value,
        _ => json!({ "invalid_arguments": arguments }),
    }
}

enum Flow {
    Continue,
    Stop,
}

enum Block {
    Text,
    ToolUse {
        id: String,
        name: String,
        input: String,
    },
    /// Thinking and other blocks this agent does not ask for: skipped.
    Other,
}

#[derive(Default)]
struct Turn {
    text: String,
    blocks: BTreeMap<u64, Block>,
    usage: Usage,
    stop: Option<String>,
    stopped: bool,
}

fn index_of(data: &Value) -> Result<u64, ChunkProblem> {
    data.get("index")
        .and_then(Value::as_u64)
        .ok_or_else(|| ChunkProblem::Shape("a content block event has no `index`".to_owned()))
}

impl Turn {
    fn absorb(
        &mut self,
        kind: &str,
        data: &Value,
        events: &(dyn Fn(StreamEvent) + Send + Sync),
    ) -> Result<Flow, ChunkProblem> {
        match kind {
            "message_start" => {
                let usage = &data["message"]["usage"];
                self.usage.input_tokens = input_tokens(usage);
                self.usage.output_tokens = usage["output_tokens"].as_u64().unwrap_or(0);
            }
            "content_block_start" => {
                let index = index_of(data)?;
                let block = &data["content_block"];
                let new = match block.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        if let Some(text) = block.get("text").and_then(Value::as_str)
                            && !text.is_empty()
                        {
                            self.text.push_str(text);
                            events(StreamEvent::TextDelta(text.to_owned()));
                        }
                        Block::Text
                    }
                    Some("tool_use") => {
                        let id = block["id"].as_str().unwrap_or_default().to_owned();
                        let name = block["name"].as_str().unwrap_or_default().to_owned();
                        if id.is_empty() || name.is_empty() {
                            return Err(ChunkProblem::Shape(
                                "a tool_use block has no id or name".to_owned(),
                            ));
                        }
                        events(StreamEvent::ToolCallStarted {
                            id: id.clone(),
                            name: name.clone(),
                        });
                        // `input` starts as `{}` and is then streamed as JSON text.
                        let input = match block.get("input") {
                            Some(Value::Object(map)) if !map.is_empty() => {
                                Value::Object(map.clone()).to_string()
                            }
                            _ => String::new(),
                        };
                        Block::ToolUse { id, name, input }
                    }
                    Some(_) => Block::Other,
                    None => {
                        return Err(ChunkProblem::Shape(
                            "a content block has no `type`".to_owned(),
                        ));
                    }
                };
                self.blocks.insert(index, new);
            }
            "content_block_delta" => {
                let index = index_of(data)?;
                let delta = &data["delta"];
                match (
                    self.blocks.get_mut(&index),
                    delta.get("type").and_then(Value::as_str),
                ) {
                    (Some(Block::Text), Some("text_delta")) => {
                        let text = delta["text"].as_str().unwrap_or_default();
                        if !text.is_empty() {
                            self.text.push_str(text);
                            events(StreamEvent::TextDelta(text.to_owned()));
                        }
                    }
                    (Some(Block::ToolUse { input, .. }), Some("input_json_delta")) => {
                        input.push_str(delta["partial_json"].as_str().unwrap_or_default());
                    }
                    (Some(Block::Other), _) => {}
                    (None, _) => {
                        return Err(ChunkProblem::Shape(format!(
                            "a delta for content block {index}, which was never started"
                        )));
                    }
                    (Some(_), other) => {
                        return Err(ChunkProblem::Shape(format!(
                            "a `{}` delta does not fit its content block",
                            other.unwrap_or("untyped")
                        )));
                    }
                }
            }
            "content_block_stop" | "ping" => {}
            "message_delta" => {
                if let Some(reason) = data["delta"]["stop_reason"].as_str() {
                    self.stop = Some(reason.to_owned());
                }
                // `output_tokens` here is the running total for the message.
                if let Some(output) = data["usage"]["output_tokens"].as_u64() {
                    self.usage.output_tokens = output;
                }
                let input = input_tokens(&data["usage"]);
                if input > 0 {
                    self.usage.input_tokens = input;
                }
            }
            "message_stop" => {
                self.stopped = true;
                return Ok(Flow::Stop);
            }
            "error" => {
                let error = &data["error"];
                let message = error["message"].as_str().unwrap_or("no message");
                let kind = error["type"].as_str().unwrap_or("error");
                return Err(ChunkProblem::Reported(
                    format!("{kind}: {message}").chars().take(400).collect(),
                ));
            }
            // New event types are to be ignored, per the API's versioning policy.
            _ => {}
        }
        Ok(Flow::Continue)
    }

    fn finish(self) -> Result<Completion, String> {
        let in_tool_call = self
            .blocks
            .values()
            .any(|b| matches!(b, Block::ToolUse { .. }));
        if !self.stopped {
            return Err(if in_tool_call {
                "the stream closed in the middle of a tool call".to_owned()
            } else {
                "the stream closed before the answer finished".to_owned()
            });
        }
        let tool_calls: Vec<ToolCall> = self
            .blocks
            .into_values()
            .filter_map(|block| match block {
                Block::ToolUse { id, name, input } => Some(ToolCall {
                    id,
                    name,
                    arguments: if input.trim().is_empty() {
                        "{}".to_owned()
                    } else {
                        input
                    },
                }),
                _ => None,
            })
            .collect();
        let stop = match self.stop.as_deref() {
            Some("end_turn") | Some("stop_sequence") => StopReason::EndTurn,
            Some("tool_use") => StopReason::ToolUse,
            Some("max_tokens") => StopReason::MaxTokens,
            Some(other) => StopReason::Other(other.to_owned()),
            None => StopReason::Other("none given".to_owned()),
        };
        Ok(Completion {
            text: self.text,
            tool_calls,
            usage: self.usage,
            stop,
        })
    }
}

/// Input tokens, cached ones included: they count toward the budget too.
fn input_tokens(usage: &Value) -> u64 {
    [
        "input_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    ]
    .iter()
    .filter_map(|field| usage[*field].as_u64())
    .sum()
}
