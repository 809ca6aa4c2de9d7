//! Which model to talk to and with what key: the one place a provider is chosen and built.
//! The key comes from the environment (headless) or from the editor's SecretStorage (passed in
//! by the front end as a value); never from the workspace. [`ApiKey`] never prints itself.

use std::sync::Arc;
use std::time::Duration;

use super::anthropic::Anthropic;
use super::openai::OpenAiCompatible;
use super::{Price, Provider, price};

/// The wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    /// OpenAI Chat Completions: OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp server, LM Studio, LiteLLM.
    OpenaiCompatible,
    /// Anthropic Messages.
    Anthropic,
}

impl ProviderKind {
    /// Parses the names people type (`--provider openai`, `anthropic`, `ollama`, ...).
    pub fn parse(text: &str) -> Option<ProviderKind> {
        match text.trim().to_ascii_lowercase().as_str() {
            "openai" | "openai-compatible" | "azure" | "azure-openai" | "ollama" | "vllm"
            | "llama.cpp" | "llamacpp" | "lmstudio" | "lm-studio" | "litellm" => {
                Some(ProviderKind::OpenaiCompatible)
            }
            "anthropic" | "claude" => Some(ProviderKind::Anthropic),
            _ => None,
        }
    }

    /// The provider's public endpoint, used when no base URL is configured.
    pub fn default_base_url(self) -> &'static str {
        match self {
            ProviderKind::OpenaiCompatible => "https://api.openai.com/v1",
            ProviderKind::Anthropic => "https://api.anthropic.com",
        }
    }

    /// The environment variable a key is read from when none is named.
    pub fn default_key_env(self) -> &'static str {
        match self {
            ProviderKind::OpenaiCompatible => "OPENAI_API_KEY",
            ProviderKind::Anthropic => "ANTHROPIC_API_KEY",
        }
    }

    /// The short name used in messages and transcripts.
    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::OpenaiCompatible => "openai-compatible",
            ProviderKind::Anthropic => "anthropic",
        }
    }
}

/// A model provider's API key. Its `Debug` never shows the value; [`ApiKey::expose`] is the one
/// way out (for the request header and the agent's redactor).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(value: impl Into<String>) -> ApiKey {
        ApiKey(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Where the key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// An environment variable, read when the provider is built.
    Env(String),
    /// A value the front end read from SecretStorage.
    Value(ApiKey),
    /// No key: local servers (Ollama, llama.cpp, vLLM without `--api-key`).
    None,
}

/// How an OpenAI-compatible server wants its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyHeader {
    /// `Authorization: Bearer KEY` (OpenAI and nearly every compatible server).
    Bearer,
    /// A header of its own, e.g. Azure OpenAI's `api-key`.
    Named(String),
}

/// Bounded retries on 408/429/5xx and connection failures, with exponential backoff that a
/// `retry-after` answer overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// A `retry-after` longer than this is not waited for: the call fails as rate limited and
    /// says how long the provider asked for.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// Time-outs and size caps of one model turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub connect_timeout: Duration,
    /// Longest silence between two pieces of a streamed answer (or before the headers).
    pub idle_timeout: Duration,
    /// Largest streamed answer read, in bytes.
    pub max_response_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            max_response_bytes: 16 * 1024 * 1024,
        }
    }
}

/// Everything needed to build a provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// `None`: the provider's public endpoint ([`ProviderKind::default_base_url`]).
    pub base_url: Option<String>,
    pub model: String,
    pub key: KeySource,
    /// OpenAI-compatible only.
    pub key_header: KeyHeader,
    /// Overrides the built-in price list (e.g. a negotiated rate, or a local model at 0).
    pub price: Option<Price>,
    pub retry: RetryPolicy,
    pub limits: Limits,
}

/// Why a provider could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no API key for {provider}: set the environment variable {env_var} (or store the key in the editor)"
    )]
    MissingKey {
        provider: &'static str,
        env_var: String,
    },
    #[error("the model base URL `{url}` is not usable: {reason}")]
    BadBaseUrl { url: String, reason: String },
    #[error("no model name given for {provider}")]
    MissingModel { provider: &'static str },
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

impl ProviderConfig {
    /// A configuration whose key is read from the kind's usual environment variable
    /// (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`) when the provider is built.
    pub fn from_env(kind: ProviderKind, model: impl Into<String>) -> ProviderConfig {
        ProviderConfig {
            kind,
            base_url: None,
            model: model.into(),
            key: KeySource::Env(kind.default_key_env().to_owned()),
            key_header: KeyHeader::Bearer,
            price: None,
            retry: RetryPolicy::default(),
            limits: Limits::default(),
        }
    }

    /// The key, read now. `Ok(None)` only for [`KeySource::None`], or an OpenAI-compatible
    /// server on loopback whose environment variable is unset (local servers need none).
    pub fn resolve_key(&self) -> Result<Option<ApiKey>, ConfigError> {
        match &self.key {
            KeySource::Value(key) => Ok(Some(key.clone())),
            KeySource::None => Ok(None),
            KeySource::Env(var) => match std::env::var(var) {
                Ok(value) if !value.trim().is_empty() => Ok(Some(ApiKey::new(value.trim()))),
                _ if self.kind == ProviderKind::OpenaiCompatible && self.is_loopback() => Ok(None),
                _ => Err(ConfigError::MissingKey {
                    provider: self.kind.name(),
                    env_var: var.clone(),
                }),
            },
        }
    }

    /// The base URL in use.
    pub fn base_url(&self) -> &str {
        self.base_url
            .as_deref()
            .unwrap_or(self.kind.default_base_url())
    }

    pub(crate) fn is_loopback(&self) -> bool {
        url::Url::parse(self.base_url())
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .is_some_and(|host| {
                host == "localhost"
                    || host
                        .trim_matches(['[', ']'])
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            })
    }

    /// The price used for cost accounting: the configured one, else the built-in list's.
    pub fn effective_price(&self) -> Option<Price> {
        self.price.or_else(|| price::known_price(&self.model))
    }

    /// Builds the provider, reading the key now.
    pub fn build(&self) -> Result<Arc<dyn Provider>, ConfigError> {
        if self.model.trim().is_empty() {
            return Err(ConfigError::MissingModel {
                provider: self.kind.name(),
            });
        }
        let key = self.resolve_key()?;
        Ok(match self.kind {
            ProviderKind::OpenaiCompatible => Arc::new(OpenAiCompatible::new(self, key)?),
            ProviderKind::Anthropic => Arc::new(Anthropic::new(self, key)?),
        })
    }
}
