//! The HTTP part both wire formats share: one POST with bounded, cancellable retries
//! (408/429/5xx and connection failures; `retry-after` honoured), error answers turned into
//! [`ProviderError`]s with the key scrubbed out, and a Server-Sent Events reader with an idle
//! time-out and a size cap.

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use tokio_util::sync::CancellationToken;

use super::config::{ApiKey, ConfigError, Limits, ProviderConfig, RetryPolicy};
use super::{ProviderError, StreamEvent};

/// Error bodies are read up to this size: enough for any provider's message.
const ERROR_BODY_CAP: usize = 64 * 1024;
/// Longest provider message repeated in an error.
const MESSAGE_CAP: usize = 400;

/// A configured HTTP client for one provider.
pub(crate) struct Transport {
    client: reqwest::Client,
    provider: &'static str,
    key: Option<ApiKey>,
    retry: RetryPolicy,
    limits: Limits,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("provider", &self.provider)
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("retry", &self.retry)
            .field("limits", &self.limits)
            .finish()
    }
}

/// A header value that carries the key: marked sensitive so `Debug` of the header map hides it.
pub(crate) fn secret_header(value: &str) -> Result<HeaderValue, ConfigError> {
    let mut header = HeaderValue::from_str(value).map_err(|_| {
        ConfigError::Client("the API key contains characters a header cannot carry".to_owned())
    })?;
    header.set_sensitive(true);
    Ok(header)
}

/// `base` with `path` appended to its path, keeping any query (Azure's `api-version`).
pub(crate) fn endpoint(base: &str, path: &str) -> Result<url::Url, ConfigError> {
    // The URL as shown in the error: without any user-info, which may hold a password.
    let shown = match url::Url::parse(base.trim()) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        Err(_) => base.chars().take(200).collect(),
    };
    let bad = |reason: &str| ConfigError::BadBaseUrl {
        url: shown.clone(),
        reason: reason.to_owned(),
    };
    let mut url = url::Url::parse(base.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("only http and https are supported"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "credentials in the URL are not accepted: pass the key as an API key",
        ));
    }
    let joined = format!(
        "{}/{}",
        url.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    url.set_path(&joined);
    Ok(url)
}

/// Why a streamed chunk could not be taken in: its shape is not the wire format's, or the
/// provider reported an error in the middle of the answer.
pub(crate) enum ChunkProblem {
    Shape(String),
    Reported(String),
}

impl Transport {
    /// The task-facing error for a chunk that could not be taken in (the provider's own message
    /// scrubbed of the key).
    pub(crate) fn chunk_error(&self, problem: ChunkProblem) -> ProviderError {
        match problem {
            ChunkProblem::Shape(reason) => ProviderError::Malformed {
                provider: self.provider.to_owned(),
                reason,
            },
            ChunkProblem::Reported(message) => ProviderError::StreamCut {
                provider: self.provider.to_owned(),
                reason: format!("it reported an error mid-answer: {}", self.scrub(&message)),
            },
        }
    }

    /// The stream ended before the turn was whole.
    pub(crate) fn cut(&self, reason: String) -> ProviderError {
        ProviderError::StreamCut {
            provider: self.provider.to_owned(),
            reason,
        }
    }

    pub(crate) fn new(
        provider: &'static str,
        config: &ProviderConfig,
        key: Option<ApiKey>,
    ) -> Result<Transport, ConfigError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.limits.connect_timeout)
            // No read_timeout: the idle time-out is ours (see `SseStream::next`), so its message
            // can say what happened.
            // A redirect could carry the key header to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError::Client(e.to_string()))?;
        Ok(Transport {
            client,
            provider,
            key,
            retry: config.retry,
            limits: config.limits,
        })
    }

    /// Removes the key from text that came from the provider or the HTTP stack (some providers
    /// repeat the key they refused).
    pub(crate) fn scrub(&self, text: &str) -> String {
        match &self.key {
            Some(key) if key.expose().len() >= 4 => text.replace(key.expose(), "[REDACTED]"),
            _ => text.to_owned(),
        }
    }

    /// POSTs `body` and returns the successful response, after bounded retries (each announced
    /// to `events` as [`StreamEvent::Retrying`]).
    pub(crate) async fn post(
        &self,
        url: &url::Url,
        headers: &HeaderMap,
        body: &serde_json::Value,
        events: &(dyn Fn(StreamEvent) + Send + Sync),
        cancel: &CancellationToken,
    ) -> Result<reqwest::Response, ProviderError> {
        let body = serde_json::to_vec(body).map_err(|e| ProviderError::Malformed {
            provider: self.provider.to_owned(),
            reason: format!("the request could not be encoded: {e}"),
        })?;
        let attempts = self.retry.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let send = self
                .client
                .post(url.clone())
                .headers(headers.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(reqwest::header::ACCEPT, "text/event-stream")
                .body(body.clone())
                .send();
            let sent = tokio::select! {
                _ = cancel.cancelled() => return Err(ProviderError::Cancelled),
                sent = tokio::time::timeout(self.limits.idle_timeout, send) => sent,
            };
            let last = attempt >= attempts;
            let failure = match sent {
                Ok(Ok(response)) if response.status().is_success() => return Ok(response),
                Ok(Ok(response)) => self.failure(response, cancel).await?,
                Ok(Err(error)) => Failure {
                    error: ProviderError::Unreachable {
                        url: display_url(url),
                        reason: self.scrub(&error_chain(&error)),
                    },
                    wait: None,
                    retryable: error.is_connect() || error.is_timeout() || error.is_request(),
                },
                Err(_) => Failure {
                    error: ProviderError::Unreachable {
                        url: display_url(url),
                        reason: format!("no answer within {:?}", self.limits.idle_timeout),
                    },
                    wait: None,
                    retryable: true,
                },
            };
            if last || !failure.retryable {
                return Err(failure.error);
            }
            let wait = match failure.wait {
                Some(wait) if wait > self.retry.max_retry_after => return Err(failure.error),
                Some(wait) => wait,
                None => self.backoff(attempt),
            };
            events(StreamEvent::Retrying {
                reason: failure.error.to_string(),
                after: wait,
                attempt: attempt + 1,
                attempts,
            });
            tokio::select! {
                _ = cancel.cancelled() => return Err(ProviderError::Cancelled),
                _ = tokio::time::sleep(wait) => {}
            }
            attempt += 1;
        }
    }

    /// Exponential backoff: initial, 2×, 4×, ... capped. No jitter: one editor's agent is not a
    /// thundering herd, and a fixed schedule keeps tests deterministic.
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.retry
            .initial_backoff
            .saturating_mul(factor)
            .min(self.retry.max_backoff)
    }

    async fn failure(
        &self,
        response: reqwest::Response,
        cancel: &CancellationToken,
    ) -> Result<Failure, ProviderError> {
        let status = response.status();
        let wait = retry_after(response.headers());
        let provider = self.provider.to_owned();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            // The body is not read: it may repeat the refused key.
            return Ok(Failure {
                error: ProviderError::Unauthorized {
                    provider,
                    status: status.as_u16(),
                },
                wait: None,
                retryable: false,
            });
        }
        let body = tokio::select! {
            _ = cancel.cancelled() => return Err(ProviderError::Cancelled),
            body = read_capped(response, ERROR_BODY_CAP, self.limits.idle_timeout) => body,
        };
        let retryable = status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_MANY_REQUESTS
            || status.is_server_error();
        let error = if status == StatusCode::TOO_MANY_REQUESTS {
            ProviderError::RateLimited {
                provider,
                retry_after_secs: wait.map(|w| w.as_secs_f64().ceil() as u64),
            }
        } else {
            ProviderError::Http {
                provider,
                status: status.as_u16(),
                message: self.scrub(&error_message(&body, status)),
            }
        };
        Ok(Failure {
            error,
            wait,
            retryable,
        })
    }

    /// The response's events, read with the idle time-out and size cap.
    pub(crate) fn events(&self, response: reqwest::Response) -> Result<SseStream, ProviderError> {
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("application/json") {
            return Err(ProviderError::Malformed {
                provider: self.provider.to_owned(),
                reason:
                    "it answered with one JSON document instead of a stream (text/event-stream); \
                         the server may not support streaming"
                        .to_owned(),
            });
        }
        let cap = self.limits.max_response_bytes;
        let mut seen = 0usize;
        let bytes = response.bytes_stream().map(move |chunk| {
            let chunk = chunk.map_err(ReadFailure::Transport)?;
            seen += chunk.len();
            if seen > cap {
                Err(ReadFailure::TooLarge(cap))
            } else {
                Ok::<Bytes, ReadFailure>(chunk)
            }
        });
        Ok(SseStream {
            inner: Box::pin(bytes.eventsource()),
            provider: self.provider,
            idle: self.limits.idle_timeout,
            key: self.key.clone(),
        })
    }
}

struct Failure {
    error: ProviderError,
    wait: Option<Duration>,
    retryable: bool,
}

#[derive(Debug)]
enum ReadFailure {
    Transport(reqwest::Error),
    TooLarge(usize),
}

impl std::fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadFailure::Transport(error) => f.write_str(&error_chain(error)),
            ReadFailure::TooLarge(cap) => write!(f, "the answer passed the {cap}-byte cap"),
        }
    }
}

type EventItem = Result<Event, EventStreamError<ReadFailure>>;

/// Server-Sent Events of one streamed answer.
pub(crate) struct SseStream {
    inner: Pin<Box<dyn Stream<Item = EventItem> + Send>>,
    provider: &'static str,
    idle: Duration,
    key: Option<ApiKey>,
}

impl SseStream {
    /// The next event; `Ok(None)` when the server closed the stream.
    pub(crate) async fn next(
        &mut self,
        cancel: &CancellationToken,
    ) -> Result<Option<Event>, ProviderError> {
        let item = tokio::select! {
            _ = cancel.cancelled() => return Err(ProviderError::Cancelled),
            item = tokio::time::timeout(self.idle, self.inner.next()) => item,
        };
        let provider = self.provider.to_owned();
        match item {
            Err(_) => Err(ProviderError::StreamCut {
                provider,
                reason: format!("nothing arrived for {:?}", self.idle),
            }),
            Ok(None) => Ok(None),
            Ok(Some(Ok(event))) => Ok(Some(event)),
            Ok(Some(Err(EventStreamError::Transport(failure)))) => {
                let reason = failure.to_string();
                let reason = match &self.key {
                    Some(key) if key.expose().len() >= 4 => {
                        reason.replace(key.expose(), "[REDACTED]")
                    }
                    _ => reason,
                };
                Err(ProviderError::StreamCut { provider, reason })
            }
            Ok(Some(Err(EventStreamError::Utf8(_)))) => Err(ProviderError::Malformed {
                provider,
                reason: "the stream is not UTF-8".to_owned(),
            }),
            Ok(Some(Err(EventStreamError::Parser(error)))) => Err(ProviderError::Malformed {
                provider,
                reason: format!("the event stream does not parse: {error}"),
            }),
        }
    }
}

/// `retry-after-ms` (OpenAI), else `retry-after` in seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = text("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The provider's own words from an error body (`{"error": {"message": ...}}` for OpenAI and
/// Anthropic, `{"error": "..."}` for Ollama), else the start of the body.
fn error_message(body: &[u8], status: StatusCode) -> String {
    let text = String::from_utf8_lossy(body);
    let from_json = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|json| {
            let error = json.get("error").unwrap_or(&json);
            error
                .get("message")
                .and_then(|m| m.as_str())
                .or_else(|| error.as_str())
                .map(str::to_owned)
        });
    let message = from_json.unwrap_or_else(|| text.trim().to_owned());
    let message: String = message
        .chars()
        .filter(|c| !c.is_control() || *c == ' ')
        .take(MESSAGE_CAP)
        .collect();
    if message.is_empty() {
        status.canonical_reason().unwrap_or("no message").to_owned()
    } else {
        message
    }
}

async fn read_capped(mut response: reqwest::Response, cap: usize, idle: Duration) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < cap {
        match tokio::time::timeout(idle, response.chunk()).await {
            Ok(Ok(Some(chunk))) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(cap);
    body
}

/// The URL as shown in messages: no query (it may carry an `api-version` or worse).
fn display_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.to_string()
}

/// The causes of a reqwest error, innermost last, without reqwest's "error sending request for
/// url (...)" wrapper that repeats the URL.
fn error_chain(error: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        // hyper-util's "client error (Connect)" wrapper says nothing its cause does not.
        let wrapper = text.starts_with("client error (");
        if !wrapper && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    if parts.is_empty() {
        if error.is_timeout() {
            "timed out".to_owned()
        } else {
            match error.url() {
                Some(url) => error.to_string().replace(url.as_str(), "(the model URL)"),
                None => error.to_string(),
            }
        }
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_the_query_and_refuse_credentials() {
        let azure = endpoint(
            "https://contoso.openai.azure.com/openai/deployments/gpt4o?api-version=2024-10-21",
            "chat/completions",
        )
        .unwrap();
        assert_eq!(
            azure.as_str(),
            "https://contoso.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(
            endpoint("http://127.0.0.1:11434/v1/", "chat/completions")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:11434/v1/chat/completions"
        );
        let refused = endpoint("https://user:pw@example.com/v1", "x").unwrap_err();
        assert!(refused.to_string().contains("credentials"), "{refused}");
        assert!(!refused.to_string().contains("pw"), "{refused}");
        assert!(endpoint("ftp://example.com", "x").is_err());
        assert!(endpoint("not a url", "x").is_err());
    }

    #[test]
    fn retry_after_in_seconds_milliseconds_or_a_date() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
        let mut dated = HeaderMap::new();
        dated.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(
            retry_after(&dated),
            Some(Duration::ZERO),
            "a past date: now"
        );
        dated.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&dated), None);
    }

    #[test]
    fn error_messages_are_the_providers_words_capped() {
        let openai =
            br#"{"error": {"message": "model not found", "type": "invalid_request_error"}}"#;
        assert_eq!(
            error_message(openai, StatusCode::NOT_FOUND),
            "model not found"
        );
        let ollama = br#"{"error": "model \"llama9\" not found, try pulling it first"}"#;
        assert!(error_message(ollama, StatusCode::NOT_FOUND).starts_with("model \"llama9\""));
        assert_eq!(error_message(b"", StatusCode::BAD_GATEWAY), "Bad Gateway");
        let long = "x".repeat(10_000);
        assert_eq!(
            error_message(long.as_bytes(), StatusCode::BAD_REQUEST).len(),
            MESSAGE_CAP
        );
        assert_eq!(
            error_message(b"line one\nline two\x1b[31m", StatusCode::BAD_REQUEST),
            "line oneline two[31m"
        );
    }
}
