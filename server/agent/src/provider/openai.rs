//! OpenAI Chat Completions, streamed with native tool calls: OpenAI, Azure OpenAI, Ollama,
//! vLLM, llama.cpp server, LM Studio and LiteLLM all speak it. Tool calls arrive as deltas keyed
//! by `index` (id and name in the first, argument text in fragments after); usage comes in the
//! last chunk when `stream_options.include_usage` is set; `data: [DONE]` ends the stream.

use std::collections::BTreeMap;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::config::{ApiKey, ConfigError, KeyHeader, ProviderConfig};
use super::transport::{ChunkProblem, Transport, endpoint, secret_header};
use super::{
    BoxFuture, ChatRequest, Completion, Message, Price, Provider, ProviderError, StopReason,
    StreamEvent, ToolCall, Usage,
};

const NAME: &str = "openai-compatible";

/// A Chat Completions endpoint.
#[derive(Debug)]
pub struct OpenAiCompatible {
    transport: Transport,
    url: url::Url,
    headers: HeaderMap,
    price: Option<Price>,
}

impl OpenAiCompatible {
    pub fn new(config: &ProviderConfig, key: Option<ApiKey>) -> Result<Self, ConfigError> {
        let url = endpoint(config.base_url(), "chat/completions")?;
        let mut headers = HeaderMap::new();
        // Azure OpenAI takes its API keys in `api-key`, not as a bearer token.
        let azure = url
            .host_str()
            .is_some_and(|host| host.ends_with(".openai.azure.com"));
        let key_header = match &config.key_header {
            KeyHeader::Bearer if azure => KeyHeader::Named("api-key".to_owned()),
            other => other.clone(),
        };
        if let Some(key) = &key {
            match &key_header {
                KeyHeader::Bearer => {
                    headers.insert(
                        AUTHORIZATION,
                        secret_header(&format!("Bearer {}", key.expose()))?,
                    );
                }
                KeyHeader::Named(name) => {
                    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                        ConfigError::Client(format!("`{name}` is not a header name"))
                    })?;
                    headers.insert(name, secret_header(key.expose())?);
                }
            }
        }
        Ok(OpenAiCompatible {
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
            let data = event.data.trim();
            if data.is_empty() {
                continue;
            }
            if data == "[DONE]" {
                break;
            }
            let chunk: Value = serde_json::from_str(data).map_err(|e| self.malformed(e))?;
            turn.absorb(&chunk, events)
                .map_err(|problem| self.transport.chunk_error(problem))?;
        }
        turn.finish().map_err(|reason| self.transport.cut(reason))
    }

    fn malformed(&self, error: serde_json::Error) -> ProviderError {
        ProviderError::Malformed {
            provider: NAME.to_owned(),
            reason: format!("a chunk is not JSON ({error})"),
        }
    }
}

impl Provider for OpenAiCompatible {
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

/// The Chat Completions request for `request`.
pub(crate) fn request_body(request: &ChatRequest) -> Value {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.is_empty() {
        messages.push(json!({"role": "system", "content": request.system}));
    }
    for message in &request.messages {
        messages.push(match message {
            Message::User { content } => json!({"role": "user", "content": content}),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                let mut out = json!({
                    "role": "assistant",
                    // `null`, not "", beside tool calls: some servers reject an empty string.
                    "content": if content.is_empty() && !tool_calls.is_empty() { Value::Null } else { json!(content) },
                });
                if !tool_calls.is_empty() {
                    out["tool_calls"] = tool_calls
                        .iter()
                        .map(|call| {
                            json!({
                                "id": call.id,
                                "type": "function",
                                "function": {"name": call.name, "arguments": call.arguments},
                            })
                        })
                        .collect();
                }
                out
            }
            Message::Tool {
                call_id,
                content,
                is_error,
            } => json!({
                "role": "tool",
                "tool_call_id": call_id,
                // The format has no error flag: say it in the text.
                "content": if *is_error { format!("ERROR: {content}") } else { content.clone() },
            }),
        });
    }
    let mut body = json!({
        "model": request.model,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    // OpenAI's reasoning models refuse `max_tokens`; every other server knows only it.
    let limit = if is_reasoning_model(&request.model) {
        "max_completion_tokens"
    } else {
        "max_tokens"
    };
    body[limit] = json!(request.max_tokens);
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                    },
                })
            })
            .collect();
    }
    body
}

fn is_reasoning_model(model: &str) -> bool {
    let model = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    ["o1", "o3", "o4", "gpt-5"]
        .iter()
        .any(|prefix| model.starts_with(prefix))
}

#[derive(Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
    announced: bool,
}

/// One turn as its chunks arrive.
#[derive(Default)]
struct Turn {
    text: String,
    calls: BTreeMap<u64, PartialCall>,
    usage: Usage,
    finish: Option<String>,
}

impl Turn {
    fn absorb(
        &mut self,
        chunk: &Value,
        events: &(dyn Fn(StreamEvent) + Send + Sync),
    ) -> Result<(), ChunkProblem> {
        if let Some(error) = chunk.get("error") {
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .or_else(|| error.as_str())
                .unwrap_or("no message");
            return Err(ChunkProblem::Reported(message.chars().take(400).collect()));
        }
        if let Some(usage) = chunk.get("usage").filter(|u| !u.is_null()) {
            self.usage = Usage {
                input_tokens: usage["prompt_tokens"].as_u64().unwrap_or(0),
                output_tokens: usage["completion_tokens"].as_u64().unwrap_or(0),
            };
        }
        let choices = match chunk.get("choices") {
            None | Some(Value::Null) => return Ok(()),
            Some(Value::Array(choices)) => choices,
            Some(_) => return Err(ChunkProblem::Shape("`choices` is not a list".to_owned())),
        };
        // One completion is asked for (no `n`): choice 0 is the answer.
        let Some(choice) = choices.first() else {
            return Ok(());
        };
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish = Some(reason.to_owned());
        }
        let Some(delta) = choice.get("delta").filter(|d| !d.is_null()) else {
            return Ok(());
        };
        if !delta.is_object() {
            return Err(ChunkProblem::Shape("`delta` is not an object".to_owned()));
        }
        if let Some(text) = delta.get("content").and_then(Value::as_str)
            && !text.is_empty()
        {
            self.text.push_str(text);
            events(StreamEvent::TextDelta(text.to_owned()));
        }
        match delta.get("tool_calls") {
            None | Some(Value::Null) => {}
            Some(Value::Array(calls)) => {
                for (position, call) in calls.iter().enumerate() {
                    self.absorb_call(position, call, events)?;
                }
            }
            Some(_) => {
                return Err(ChunkProblem::Shape("`tool_calls` is not a list".to_owned()));
            }
        }
        Ok(())
    }

    fn absorb_call(
        &mut self,
        position: usize,
        call: &Value,
        events: &(dyn Fn(StreamEvent) + Send + Sync),
    ) -> Result<(), ChunkProblem> {
        if !call.is_object() {
            return Err(ChunkProblem::Shape(
                "a tool call is not an object".to_owned(),
            ));
        }
        // Servers that send each call whole in one chunk sometimes leave out `index`.
        let index = call
            .get("index")
            .and_then(Value::as_u64)
            .unwrap_or(position as u64);
        let next_number = self.calls.len();
        let partial = self.calls.entry(index).or_default();
        if let Some(id) = call.get("id").and_then(Value::as_str)
            && !id.is_empty()
        {
            partial.id = id.to_owned();
        }
        let function = call.get("function");
        if let Some(name) = function.and_then(|f| f.get("name")).and_then(Value::as_str) {
            partial.name.push_str(name);
        }
        if let Some(arguments) = function.and_then(|f| f.get("arguments")) {
            match arguments {
                Value::String(text) => partial.arguments.push_str(text),
                Value::Null => {}
                // Some servers send the arguments as an object rather than JSON text.
                other => partial.arguments.push_str(&other.to_string()),
            }
        }
        if partial.id.is_empty() && !partial.name.is_empty() {
            partial.id = format!("call_{next_number}");
        }
        if !partial.announced && !partial.name.is_empty() {
            partial.announced = true;
            events(StreamEvent::ToolCallStarted {
                id: partial.id.clone(),
                name: partial.name.clone(),
            });
        }
        Ok(())
    }

    fn finish(self) -> Result<Completion, String> {
        let Some(finish) = self.finish else {
            return Err(if self.calls.is_empty() {
                "the stream closed before the answer finished".to_owned()
            } else {
                "the stream closed in the middle of a tool call".to_owned()
            });
        };
        let mut tool_calls = Vec::with_capacity(self.calls.len());
        for partial in self.calls.into_values() {
            if partial.name.is_empty() {
                return Err("a tool call arrived without a name".to_owned());
            }
            tool_calls.push(ToolCall {
                id: partial.id,
                name: partial.name,
                arguments: if partial.arguments.trim().is_empty() {
                    "{}".to_owned()
                } else {
                    partial.arguments
                },
            });
        }
        let stop = match finish.as_str() {
            // Some servers (older Ollama, llama.cpp) say "stop" after tool calls.
            "stop" if !tool_calls.is_empty() => StopReason::ToolUse,
            "stop" => StopReason::EndTurn,
            "tool_calls" | "function_call" => StopReason::ToolUse,
            "length" => StopReason::MaxTokens,
            other => StopReason::Other(other.to_owned()),
        };
        Ok(Completion {
            text: self.text,
            tool_calls,
            usage: self.usage,
            stop,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(model: &str) -> ChatRequest {
        ChatRequest {
            model: model.to_owned(),
            system: String::new(),
            messages: vec![Message::User {
                content: "hi".to_owned(),
            }],
            tools: Vec::new(),
            max_tokens: 99,
        }
    }

    #[test]
    fn reasoning_models_get_max_completion_tokens() {
        let body = request_body(&request("gpt-5-mini"));
        assert_eq!(body["max_completion_tokens"], 99);
        assert!(body.get("max_tokens").is_none());
        let body = request_body(&request("qwen2.5-coder:7b"));
        assert_eq!(body["max_tokens"], 99);
        assert!(body.get("tools").is_none(), "no tools, no `tools` field");
        assert_eq!(
            body["messages"].as_array().unwrap().len(),
            1,
            "no empty system message"
        );
    }

    #[test]
    fn azure_keys_go_in_api_key() {
        let mut config =
            ProviderConfig::from_env(super::super::ProviderKind::OpenaiCompatible, "gpt-4o");
        config.base_url = Some(
            "https://contoso.openai.azure.com/openai/deployments/gpt4o?api-version=2024-10-21"
                .to_owned(),
        );
        let provider = OpenAiCompatible::new(&config, Some(ApiKey::new("azure-test-key"))).unwrap();
        assert!(provider.headers.contains_key("api-key"));
        assert!(!provider.headers.contains_key(AUTHORIZATION));
        assert!(!format!("{provider:?}").contains("azure-test-key"));
    }
}
