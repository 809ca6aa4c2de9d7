//! `vscode-lm`: the editor's own models (`vscode.lm`) as an agent [`Provider`]. Each model turn
//! is a `riposte/lm/complete` request to the editor, which runs it and answers with the whole
//! turn; `riposte/lm/delta` notifications on the way become text deltas. A cancelled turn sends
//! `riposte/lm/cancel` (also when the agent drops the turn on its own cancellation). An error
//! answer or an answer of the wrong shape is a provider error, never a panic.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use riposte_agent::provider::settings::EDITOR_MODELS;
use riposte_agent::provider::{
    BoxFuture, ChatRequest, Completion, Provider, ProviderError, StopReason, StreamEvent, ToolCall,
    Usage,
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::notification::Notification;
use tower_lsp_server::ls_types::request::Request;

/// `riposte/lm/complete` (server → client request).
enum Complete {}

impl Request for Complete {
    type Params = Value;
    type Result = Value;
    const METHOD: &'static str = "riposte/lm/complete";
}

/// `riposte/lm/cancel` (server → client notification).
enum Cancel {}

impl Notification for Cancel {
    type Params = Value;
    const METHOD: &'static str = "riposte/lm/cancel";
}

/// The turns waiting for the editor, by request id, each with where its deltas go.
#[derive(Default)]
pub struct Streams {
    issued: AtomicU64,
    pending: Mutex<HashMap<String, mpsc::UnboundedSender<String>>>,
}

impl Streams {
    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<String>>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn open(&self) -> (String, mpsc::UnboundedReceiver<String>) {
        let id = format!("lm-{}", self.issued.fetch_add(1, Ordering::Relaxed) + 1);
        let (sender, receiver) = mpsc::unbounded_channel();
        self.pending().insert(id.clone(), sender);
        (id, receiver)
    }

    /// A `riposte/lm/delta`: text of a turn still waiting. Others (late, unknown) are dropped.
    pub fn delta(&self, request_id: &str, text: String) {
        if let Some(sender) = self.pending().get(request_id) {
            let _ = sender.send(text);
        }
    }
}

/// One turn's place in [`Streams`]; dropping it before the answer came tells the editor to stop.
struct Turn {
    id: String,
    streams: Arc<Streams>,
    client: Client,
    answered: bool,
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.streams.pending().remove(&self.id);
        if !self.answered
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let client = self.client.clone();
            let params = json!({ "requestId": self.id });
            runtime.spawn(async move { client.send_notification::<Cancel>(params).await });
        }
    }
}

/// The editor's models, for one chat task.
pub struct EditorModels {
    pub client: Client,
    pub chat_id: String,
    /// An id or family, or empty for the editor's first model.
    pub model: String,
    pub streams: Arc<Streams>,
}

impl Provider for EditorModels {
    fn name(&self) -> &str {
        EDITOR_MODELS
    }

    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
        events: &'a (dyn Fn(StreamEvent) + Send + Sync),
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<Completion, ProviderError>> {
        Box::pin(async move {
            let (id, mut deltas) = self.streams.open();
            let mut turn = Turn {
                id: id.clone(),
                streams: Arc::clone(&self.streams),
                client: self.client.clone(),
                answered: false,
            };
            let params = json!({
                "chatId": self.chat_id,
                "requestId": id,
                "model": self.model,
                "system": request.system,
                "messages": request.messages,
                "tools": request.tools,
                "maxTokens": request.max_tokens,
            });
            let answer = self.client.send_request::<Complete>(params);
            tokio::pin!(answer);
            loop {
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => return Err(ProviderError::Cancelled),
                    Some(text) = deltas.recv() => events(StreamEvent::TextDelta(text)),
                    answer = &mut answer => {
                        turn.answered = true;
                        while let Ok(text) = deltas.try_recv() {
                            events(StreamEvent::TextDelta(text));
                        }
                        return match answer {
                            Ok(value) => completion(value),
                            Err(error) => Err(editor_error(&error)),
                        };
                    }
                }
            }
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    tool_calls: Vec<AnsweredCall>,
    #[serde(default)]
    usage: Option<AnsweredUsage>,
    #[serde(default)]
    stop: Option<String>,
}

#[derive(Deserialize)]
struct AnsweredCall {
    id: String,
    name: String,
    /// JSON text as the protocol says; an object is taken too (written back as text).
    arguments: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnsweredUsage {
    input_tokens: u64,
    output_tokens: u64,
}

fn malformed(reason: impl Into<String>) -> ProviderError {
    ProviderError::Malformed {
        provider: EDITOR_MODELS.into(),
        reason: reason.into(),
    }
}

/// The editor's answer as a turn.
fn completion(value: Value) -> Result<Completion, ProviderError> {
    let answer: Answer = serde_json::from_value(value)
        .map_err(|err| malformed(format!("the riposte/lm/complete answer: {err}")))?;
    let tool_calls: Vec<ToolCall> = answer
        .tool_calls
        .into_iter()
        .map(|call| ToolCall {
            id: call.id,
            name: call.name,
            arguments: match call.arguments {
                Value::String(text) => text,
                other => other.to_string(),
            },
        })
        .collect();
    let stop = match answer.stop.as_deref() {
        Some("end_turn") => StopReason::EndTurn,
        Some("tool_use") => StopReason::ToolUse,
        Some("max_tokens") => StopReason::MaxTokens,
        Some(other) => StopReason::Other(other.to_string()),
        None if tool_calls.is_empty() => StopReason::EndTurn,
        None => StopReason::ToolUse,
    };
    let usage = answer.usage.map_or_else(Usage::default, |usage| Usage {
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
    });
    Ok(Completion {
        text: answer.text.unwrap_or_default(),
        tool_calls,
        usage,
        stop,
    })
}

/// An error answer (`data.kind`: `no_model`, `refused`, `failed`) with the editor's message.
fn editor_error(error: &tower_lsp_server::jsonrpc::Error) -> ProviderError {
    let kind = error
        .data
        .as_ref()
        .and_then(|data| data.get("kind"))
        .and_then(Value::as_str)
        .unwrap_or("failed");
    ProviderError::Unreachable {
        url: format!("the editor ({EDITOR_MODELS}, {kind})"),
        reason: error.message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_becomes_a_turn() {
        let turn = completion(json!({
            "text": "Planning.",
            "toolCalls": [
                { "id": "c1", "name": "propose_plan", "arguments": "{\"summary\": \"s\"}" },
                { "id": "c2", "name": "list_integrations", "arguments": {} },
            ],
            "usage": { "inputTokens": 1200, "outputTokens": 310 },
            "stop": "tool_use",
        }))
        .unwrap();
        assert_eq!(turn.text, "Planning.");
        assert_eq!(turn.tool_calls.len(), 2);
        assert_eq!(turn.tool_calls[0].arguments, "{\"summary\": \"s\"}");
        assert_eq!(turn.tool_calls[1].arguments, "{}");
        assert_eq!(turn.usage.input_tokens, 1200);
        assert_eq!(turn.stop, StopReason::ToolUse);
        let bare = completion(json!({ "text": "done" })).unwrap();
        assert_eq!(bare.stop, StopReason::EndTurn);
    }

    #[test]
    fn a_malformed_answer_is_an_error() {
        for bad in [
            json!(null),
            json!("text"),
            json!({ "toolCalls": [{ "name": "x" }] }),
            json!({ "usage": { "inputTokens": "many" } }),
        ] {
            let err = completion(bad.clone()).unwrap_err();
            assert!(
                matches!(err, ProviderError::Malformed { .. }),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn an_error_answer_keeps_the_editors_message_and_kind() {
        let error = tower_lsp_server::jsonrpc::Error {
            code: tower_lsp_server::jsonrpc::ErrorCode::ServerError(-32803),
            message: "no chat model matches gpt-9".into(),
            data: Some(json!({ "kind": "no_model" })),
        };
        let text = editor_error(&error).to_string();
        assert!(text.contains("no chat model matches gpt-9"), "{text}");
        assert!(text.contains("no_model"), "{text}");
    }
}
