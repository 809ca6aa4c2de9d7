//! LLM providers: the one interface the agent loop talks to, whatever model answers.
//! A provider runs one streamed model turn (text and native tool calls) and reports usage;
//! retries on 429/5xx, time-outs and body caps are its job, so the loop never sees a
//! transient failure it could have ridden out. No error, `Debug` or log here carries a key.

use std::future::Future;
use std::pin::Pin;
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments object
    pub parameters: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// Raw JSON text as the model sent it (may be invalid JSON: the agent answers that as a tool error)
    pub arguments: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Message {
    User {
        content: String,
    },
    Assistant {
        content: String,
        tool_calls: Vec<ToolCall>,
    },
    Tool {
        call_id: String,
        content: String,
        is_error: bool,
    },
}

#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub model: String,
    pub system: String,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
    pub max_tokens: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    TextDelta(String),
    ToolCallStarted {
        id: String,
        name: String,
    },
    /// The provider failed in a way worth another try (429, 5xx, a dropped connection) and the
    /// turn is sent again after `after`; the person sees why the answer is late.
    Retrying {
        /// The failure, key scrubbed.
        reason: String,
        after: std::time::Duration,
        /// The attempt about to be made (2 for the first retry), of `attempts` in all.
        attempt: u32,
        attempts: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndTurn,
    ToolUse,
    MaxTokens,
    Other(String),
}

#[derive(Debug, Clone)]
pub struct Completion {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Usage,
    pub stop: StopReason,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("cannot reach the model at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the model provider refused the key ({status}): check the API key for {provider}")]
    Unauthorized { provider: String, status: u16 },
    #[error("rate limited by {provider}{}", retry_after_secs.map(|s| format!("; retry after {s} s")).unwrap_or_default())]
    RateLimited {
        provider: String,
        retry_after_secs: Option<u64>,
    },
    #[error("{provider} answered {status}: {message}")]
    Http {
        provider: String,
        status: u16,
        message: String,
    },
    #[error("the response stream from {provider} ended early: {reason}")]
    StreamCut { provider: String, reason: String },
    #[error("{provider} sent something that is not its wire format: {reason}")]
    Malformed { provider: String, reason: String },
    #[error("cancelled")]
    Cancelled,
}

/// Price of a model in US dollars per million tokens, for the cost shown beside token use.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Price {
    pub input_per_million: f64,
    pub output_per_million: f64,
}

impl Price {
    /// Cost in US dollars of `usage` at this price.
    pub fn cost(&self, usage: Usage) -> f64 {
        (usage.input_tokens as f64 * self.input_per_million
            + usage.output_tokens as f64 * self.output_per_million)
            / 1_000_000.0
    }
}

pub trait Provider: Send + Sync {
    /// A short name for messages and transcripts ("openai-compatible", "anthropic", "vscode-lm").
    fn name(&self) -> &str;
    /// One model turn, streamed: `events` sees text deltas as they arrive; the result is the whole turn.
    /// Retries on 429/5xx with backoff are the provider's job (bounded; honour retry-after).
    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
        events: &'a (dyn Fn(StreamEvent) + Send + Sync),
        cancel: &'a tokio_util::sync::CancellationToken,
    ) -> BoxFuture<'a, Result<Completion, ProviderError>>;
    /// Price per million tokens of the configured model, when known; `None` shows tokens only.
    fn price(&self) -> Option<Price> {
        None
    }
}

pub mod anthropic;
pub mod config;
pub mod openai;
pub mod price;
pub mod settings;
mod transport;

pub use config::{
    ApiKey, ConfigError, KeyHeader, KeySource, Limits, ProviderConfig, ProviderKind, RetryPolicy,
};
pub use settings::{
    Front, ModelChoice, ModelError, ModelSettings, NO_MODEL, SettingsSource, build_provider,
    choose_model,
};
