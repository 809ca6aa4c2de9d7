//! `oauth2_client_credentials`: an access token from the profile's token endpoint (the `oauth2`
//! crate, over our own bounded HTTP exchange), cached per profile until shortly before it
//! expires. One fetch at a time per profile: concurrent requests wait for it and share the token.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, RequestTokenError, Scope, TokenResponse, TokenUrl};
use tokio::sync::Mutex;

use super::super::client::{BodyError, describe_reqwest_error, read_body};
use super::super::error::SendError;
use crate::secrets::{Redactor, SecretString};

/// Largest token response read: a token response is a few kilobytes.
const MAX_TOKEN_RESPONSE_BYTES: usize = 1024 * 1024;

/// One profile's cached access token.
#[derive(Default)]
pub(crate) struct TokenCache {
    slot: Mutex<Option<Cached>>,
}

struct Cached {
    token: SecretString,
    /// Fetch a new one after this instant (`None`: until the API refuses it).
    refresh_at: Option<Instant>,
    /// Which client credentials, endpoint and scopes it was issued for.
    fingerprint: [u8; 32],
}

/// What fetching a token needs.
pub(crate) struct TokenRequest<'a> {
    pub profile: &'a str,
    pub token_url: &'a url::Url,
    pub scopes: &'a [String],
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub client: &'a reqwest::Client,
    pub redactor: &'a Arc<Redactor>,
    /// How long before `expires_in` runs out a token is replaced (at most half its lifetime).
    pub refresh_margin: Duration,
    /// `RIPOSTE_<PROFILE>_`, for messages.
    pub env_prefix: String,
}

impl TokenRequest<'_> {
    fn fingerprint(&self) -> [u8; 32] {
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [self.token_url.as_str(), self.client_id, self.client_secret]
            .into_iter()
            .chain(self.scopes.iter().map(String::as_str))
        {
            context.update(&(part.len() as u64).to_le_bytes());
            context.update(part.as_bytes());
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(context.finish().as_ref());
        out
    }

    fn error(&self, detail: String) -> SendError {
        SendError::Token {
            profile: self.profile.to_string(),
            token_url: self.token_url.to_string(),
            detail: self.redactor.redact(&detail),
            env_prefix: self.env_prefix.clone(),
        }
    }
}

impl TokenCache {
    /// The cached token, or a new one.
    pub async fn token(&self, request: &TokenRequest<'_>) -> Result<SecretString, SendError> {
        let fingerprint = request.fingerprint();
        let mut slot = self.slot.lock().await;
        if let Some(cached) = slot.as_ref()
            && cached.fingerprint == fingerprint
            && cached.refresh_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok(cached.token.clone());
        }
        *slot = None;
        let fetched_at = Instant::now();
        let (token, lifetime) = fetch(request).await?;
        let refresh_at = lifetime.map(|lifetime| {
            let margin = request.refresh_margin.min(lifetime / 2);
            fetched_at + (lifetime - margin)
        });
        *slot = Some(Cached {
            token: token.clone(),
            refresh_at,
            fingerprint,
        });
        Ok(token)
    }

    /// Forgets `used` (the API refused it), unless another request already replaced it.
    pub async fn invalidate(&self, used: &SecretString) {
        let mut slot = self.slot.lock().await;
        if slot
            .as_ref()
            .is_some_and(|cached| cached.token.expose() == used.expose())
        {
            *slot = None;
        }
    }
}

/// Why the token endpoint exchange failed, before the `oauth2` crate looks at the answer.
#[derive(Debug, thiserror::Error)]
enum ExchangeError {
    #[error("cannot reach it: {0}")]
    Network(String),
    #[error("it answered HTTP {0} without an OAuth2 error")]
    Status(u16),
    #[error("its answer is larger than {0} bytes")]
    TooLarge(usize),
}

async fn exchange(
    client: reqwest::Client,
    request: oauth2::HttpRequest,
    redactor: &Redactor,
) -> Result<oauth2::HttpResponse, ExchangeError> {
    let request = reqwest::Request::try_from(request)
        .map_err(|err| ExchangeError::Network(describe_reqwest_error(&err, redactor)))?;
    let mut response = client
        .execute(request)
        .await
        .map_err(|err| ExchangeError::Network(describe_reqwest_error(&err, redactor)))?;
    let status = response.status();
    let mut builder = oauth2::http::Response::builder().status(status);
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = read_body(&mut response, MAX_TOKEN_RESPONSE_BYTES)
        .await
        .map_err(|err| match err {
            BodyError::TooLarge => ExchangeError::TooLarge(MAX_TOKEN_RESPONSE_BYTES),
            BodyError::Read(err) => ExchangeError::Network(describe_reqwest_error(&err, redactor)),
        })?;
    // An error without an OAuth2 error document (an HTML 404, a proxy's 502) says more as a status.
    if !status.is_success()
        && serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|value| value.get("error").cloned())
            .is_none()
    {
        return Err(ExchangeError::Status(status.as_u16()));
    }
    builder
        .body(body)
        .map_err(|err| ExchangeError::Network(err.to_string()))
}

/// The `oauth2` crate's HTTP client: our shared `reqwest::Client`, with a bounded answer.
struct TokenHttp {
    client: reqwest::Client,
    redactor: Arc<Redactor>,
}

impl<'c> oauth2::AsyncHttpClient<'c> for TokenHttp {
    type Error = ExchangeError;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, ExchangeError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(exchange(self.client.clone(), request, &self.redactor))
    }
}

/// Asks the token endpoint for a token (client id and secret in HTTP Basic, as RFC 6749 prefers).
async fn fetch(request: &TokenRequest<'_>) -> Result<(SecretString, Option<Duration>), SendError> {
    let client = BasicClient::new(ClientId::new(request.client_id.to_string()))
        .set_client_secret(ClientSecret::new(request.client_secret.to_string()))
        .set_token_uri(TokenUrl::from_url(request.token_url.clone()))
        .set_auth_type(AuthType::BasicAuth);
    let http = TokenHttp {
        client: request.client.clone(),
        redactor: request.redactor.clone(),
    };
    let response = client
        .exchange_client_credentials()
        .add_scopes(request.scopes.iter().map(|scope| Scope::new(scope.clone())))
        .request_async(&http)
        .await
        .map_err(|err| {
            request.error(match err {
                RequestTokenError::ServerResponse(response) => {
                    let mut detail = format!(
                        "the token endpoint refused: `{}`",
                        response.error().as_ref()
                    );
                    if let Some(description) = response.error_description() {
                        detail.push_str(&format!(" ({description})"));
                    }
                    detail
                }
                RequestTokenError::Request(err) => err.to_string(),
                RequestTokenError::Parse(err, _) => format!(
                    "its answer is not an OAuth2 token response (at `{}`)",
                    err.path()
                ),
                RequestTokenError::Other(other) => other,
            })
        })?;
    let token = SecretString::new(response.access_token().secret().as_str());
    if token.is_empty() {
        return Err(request.error("it answered an empty access_token".into()));
    }
    request.redactor.add_secret(token.expose());
    Ok((token, response.expires_in()))
}
