//! [`Integrations`]: the host's side of `ctx.integration(name).get(...)`. It resolves the
//! profile, keeps the request on the profile's host, reads the secrets the auth method needs,
//! authenticates, sends with one shared `reqwest::Client`, and hands back a response with
//! credential-bearing headers removed.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use riposte_core::Workspace;
use riposte_core::catalog::HttpMethod;
use riposte_core::formats::profile::{Auth, Profile, check_endpoint_url, secret_env_var};
use url::Url;

use super::auth::{self, Credentials};
use super::error::SendError;
use super::request::{self, Prepared};
use super::types::{IncomingResponse, OutgoingRequest};
use crate::secrets::{MIN_REDACTED_LEN, REDACTED, Redactor, SecretSource, SecretString};

/// Where signing gets the time and Hawk its nonces; tests fix both.
pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
    /// A fresh, unpredictable nonce (letters, digits, `-`, `_`).
    fn nonce(&self) -> String;
}

/// The real clock and random nonces.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn nonce(&self) -> String {
        use base64::Engine;
        use ring::rand::SecureRandom;
        let mut bytes = [0u8; 12];
        // The system RNG failing is not something a request can recover from; a time-based
        // nonce is still unique enough for Hawk's replay window.
        if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos();
            bytes.copy_from_slice(&nanos.to_le_bytes()[..12]);
        }
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
}

/// A clock stopped at `time` that always gives `nonce`: for tests that compare signatures.
#[derive(Debug, Clone)]
pub struct FixedClock {
    pub time: SystemTime,
    pub nonce: String,
}

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.time
    }

    fn nonce(&self) -> String {
        self.nonce.clone()
    }
}

/// How integration requests are sent.
#[derive(Clone)]
pub struct HttpConfig {
    /// For a request whose playbook set no `timeout=` through a profile without `timeout_secs`.
    pub default_timeout: Duration,
    /// A larger answer is an error ([`SendError::ResponseTooLarge`]), never read into memory.
    pub max_response_bytes: usize,
    /// An OAuth2 token is replaced this long before it expires (at most half its lifetime).
    pub token_refresh_margin: Duration,
    pub clock: Arc<dyn Clock>,
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            default_timeout: Duration::from_secs(30),
            max_response_bytes: 10 * 1024 * 1024,
            token_refresh_margin: Duration::from_secs(60),
            clock: Arc::new(SystemClock),
            user_agent: format!("riposte/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpConfig")
            .field("default_timeout", &self.default_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("token_refresh_margin", &self.token_refresh_margin)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

/// The HTTP client could not be set up (TLS roots, for instance).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTP client for integration requests: {0}")]
pub struct HttpInitError(String);

struct ProfileState {
    profile: Profile,
    tokens: auth::oauth2::TokenCache,
}

/// The workspace's integration profiles, ready to send authenticated requests.
/// Cheap to share: wrap it in an `Arc` and call [`send`](Self::send) from any task.
pub struct Integrations {
    profiles: BTreeMap<String, ProfileState>,
    secrets: Arc<dyn SecretSource>,
    redactor: Arc<Redactor>,
    client: reqwest::Client,
    config: HttpConfig,
}

impl fmt::Debug for Integrations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Integrations")
            .field("profiles", &self.profiles.keys().collect::<Vec<_>>())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Integrations {
    pub fn new(
        profiles: impl IntoIterator<Item = Profile>,
        secrets: Arc<dyn SecretSource>,
        config: HttpConfig,
    ) -> Result<Self, HttpInitError> {
        let client = reqwest::Client::builder()
            // A redirect could carry an api-key header or query to another host: the playbook
            // gets the 3xx and decides, through a profile, where to go next.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(config.user_agent.clone())
            .build()
            .map_err(|err| HttpInitError(err.to_string()))?;
        let redactor = Arc::new(Redactor::new());
        let profiles = profiles
            .into_iter()
            .map(|profile| {
                (
                    profile.name.clone(),
                    ProfileState {
                        profile,
                        tokens: Default::default(),
                    },
                )
            })
            .collect();
        let integrations = Self {
            profiles,
            secrets,
            redactor,
            client,
            config,
        };
        integrations.register_names();
        Ok(integrations)
    }

    /// Every profile of a loaded workspace.
    pub fn from_workspace(
        workspace: &Workspace,
        secrets: Arc<dyn SecretSource>,
        config: HttpConfig,
    ) -> Result<Self, HttpInitError> {
        Self::new(
            workspace.profiles().map(|entry| entry.profile.clone()),
            secrets,
            config,
        )
    }

    /// Uses `redactor` (shared with whatever writes logs and run records) instead of a fresh one.
    pub fn with_redactor(mut self, redactor: Arc<Redactor>) -> Self {
        self.redactor = redactor;
        self.register_names();
        self
    }

    /// Knows every secret handed out and every token obtained: redact with it whatever is written.
    pub fn redactor(&self) -> Arc<Redactor> {
        self.redactor.clone()
    }

    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name).map(|state| &state.profile)
    }

    pub fn profile_names(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }

    /// Reads every profile's secrets once, so the redactor knows them all before a playbook runs
    /// (and can scrub them from its output even if it never makes a request). Returns one
    /// [`SendError::MissingSecret`] per required field that is not set.
    pub fn register_secrets(&self) -> Vec<SendError> {
        let mut missing = Vec::new();
        for state in self.profiles.values() {
            for field in state.profile.auth.secret_fields() {
                match self.secrets.secret(&state.profile.name, field.name) {
                    Some(value) if !value.is_empty() => self.redactor.add_secret(value.expose()),
                    _ if field.required => missing.push(SendError::MissingSecret {
                        profile: state.profile.name.clone(),
                        field: field.name.to_string(),
                        env_var: secret_env_var(&state.profile.name, field.name),
                        where_to_set: self.secrets.where_to_set(&state.profile.name, field.name),
                    }),
                    _ => {}
                }
            }
        }
        missing
    }

    /// Whether requests through `name` can be sent: the profile exists, is usable, and every
    /// secret its method requires is set (they are registered with the redactor on the way).
    /// For checking each profile a playbook names before it starts.
    pub fn check_profile(&self, name: &str) -> Result<(), SendError> {
        let state = self.state(name)?;
        self.usable_base(&state.profile)?;
        auth::fetch(&state.profile, self.secrets.as_ref(), &self.redactor).map(drop)
    }

    /// Checks a request without reading a secret or sending anything (a dry run's view): the
    /// profile exists and is usable, the URL is on its host, the headers are allowed. Returns the
    /// URL it would go to, redacted.
    pub fn check(&self, request: &OutgoingRequest) -> Result<String, SendError> {
        let state = self.state(&request.profile)?;
        let base = self.usable_base(&state.profile)?;
        let prepared = request::prepare(&state.profile, &base, request, &self.redactor)?;
        Ok(self.redactor.redact_url(prepared.url.as_str()))
    }

    /// Sends one integration request. Refusals (unknown profile, another host, a credential
    /// header, a missing secret) happen before anything is sent; the whole exchange, an OAuth2
    /// token fetch and one retry included, ends within the request's timeout.
    pub async fn send(&self, request: OutgoingRequest) -> Result<IncomingResponse, SendError> {
        let started = Instant::now();
        let state = self.state(&request.profile)?;
        let profile = &state.profile;
        let base = self.usable_base(profile)?;
        let prepared = request::prepare(profile, &base, &request, &self.redactor)?;
        let credentials = auth::fetch(profile, self.secrets.as_ref(), &self.redactor)?;
        let timeout = request
            .timeout
            .or(profile.timeout_secs.map(Duration::from_secs))
            .unwrap_or(self.config.default_timeout);
        let method = prepared.method;
        let url = prepared.url.clone();
        let exchange = self.exchange(state, prepared, &credentials);
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(answer)) => Ok(IncomingResponse {
                status: answer.status,
                headers: answer.headers,
                body: answer.body,
                elapsed: started.elapsed(),
                url: self.redactor.redact_url(answer.url.as_str()),
            }),
            Ok(Err(err)) => Err(err),
            Err(_) => Err(SendError::Timeout {
                profile: profile.name.clone(),
                method: method.as_str().to_string(),
                url: self.redactor.redact_url(url.as_str()),
                after: timeout,
            }),
        }
    }

    fn state(&self, name: &str) -> Result<&ProfileState, SendError> {
        self.profiles
            .get(name)
            .ok_or_else(|| SendError::UnknownProfile {
                profile: name.to_string(),
                known: if self.profiles.is_empty() {
                    "none".to_string()
                } else {
                    self.profiles
                        .keys()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            })
    }

    /// The profile's base URL, once the profile is known to be usable.
    fn usable_base(&self, profile: &Profile) -> Result<Url, SendError> {
        let invalid = |problem: String| SendError::InvalidProfile {
            profile: profile.name.clone(),
            problem,
        };
        let base = check_endpoint_url(&profile.base_url)
            .map_err(|problem| invalid(format!("base_url: {problem}")))?;
        match &profile.auth {
            Auth::Oauth2ClientCredentials { token_url, .. } => {
                check_endpoint_url(token_url)
                    .map_err(|problem| invalid(format!("token_url: {problem}")))?;
            }
            Auth::ApiKey { header, query } => match (header, query) {
                (Some(name), None) | (None, Some(name)) if !name.trim().is_empty() => {}
                _ => {
                    return Err(invalid(
                        "api_key auth needs exactly one of `header = \"NAME\"` or `query = \"NAME\"`"
                            .into(),
                    ));
                }
            },
            Auth::AwsSigv4 { region, service } => {
                if region.trim().is_empty() || service.trim().is_empty() {
                    return Err(invalid(
                        "aws_sigv4 auth needs a non-empty `region` and `service`".into(),
                    ));
                }
            }
            Auth::Hawk { algorithm } => {
                if auth::hawk::Algorithm::parse(algorithm).is_none() {
                    return Err(invalid(format!(
                        "hawk algorithm `{algorithm}` is not supported; use \"sha256\" or \"sha1\""
                    )));
                }
            }
            Auth::Basic {} | Auth::Bearer {} => {}
        }
        Ok(base)
    }

    /// Authenticates and sends; on a 401 to an OAuth2 token, fetches a new token and tries once
    /// more.
    async fn exchange(
        &self,
        state: &ProfileState,
        prepared: Prepared,
        credentials: &Credentials,
    ) -> Result<Answer, SendError> {
        let mut retried = false;
        loop {
            let mut signed = prepared.clone();
            let token = self.authenticate(state, &mut signed, credentials).await?;
            let mut answer = self.transmit(&state.profile, signed).await?;
            if answer.status == 401
                && !retried
                && let Some(token) = token
            {
                state.tokens.invalidate(&token).await;
                retried = true;
                continue;
            }
            // An API that echoes the request (httpbin's /anything, a debug endpoint) must not hand
            // the credential to the playbook.
            let mut echoes: Vec<String> = credentials
                .credential_values()
                .map(str::to_string)
                .collect();
            echoes.extend(token.map(|token| token.expose().to_string()));
            if let Auth::Basic {} = &state.profile.auth {
                echoes.push(auth::basic::encoded_pair(
                    credentials.require("username"),
                    credentials.require("password"),
                ));
            }
            for echo in &echoes {
                answer.body = replace_bytes(answer.body, echo.as_bytes(), REDACTED.as_bytes());
            }
            answer.headers = answer
                .headers
                .into_iter()
                .map(|(name, value)| {
                    let value = self.redactor.redact(&value);
                    (name, value)
                })
                .collect();
            return Ok(answer);
        }
    }

    /// Adds the method's credentials to the request; returns the OAuth2 token used, if any.
    async fn authenticate(
        &self,
        state: &ProfileState,
        request: &mut Prepared,
        credentials: &Credentials,
    ) -> Result<Option<SecretString>, SendError> {
        let profile = &state.profile;
        let signing = |detail: String| SendError::Signing {
            profile: profile.name.clone(),
            detail: self.redactor.redact(&detail),
        };
        match &profile.auth {
            Auth::Oauth2ClientCredentials { token_url, scopes } => {
                let token_url =
                    check_endpoint_url(token_url).map_err(|problem| SendError::InvalidProfile {
                        profile: profile.name.clone(),
                        problem: format!("token_url: {problem}"),
                    })?;
                let token = state
                    .tokens
                    .token(&auth::oauth2::TokenRequest {
                        profile: &profile.name,
                        token_url: &token_url,
                        scopes,
                        client_id: credentials.require("client_id"),
                        client_secret: credentials.require("client_secret"),
                        client: &self.client,
                        redactor: &self.redactor,
                        refresh_margin: self.config.token_refresh_margin,
                        env_prefix: secret_env_var(&profile.name, ""),
                    })
                    .await?;
                auth::basic::apply_bearer(request, token.expose()).map_err(signing)?;
                Ok(Some(token))
            }
            Auth::ApiKey { header, query } => {
                auth::api_key::apply(
                    request,
                    header.as_deref(),
                    query.as_deref(),
                    credentials.require("api_key"),
                )
                .map_err(signing)?;
                Ok(None)
            }
            Auth::AwsSigv4 { region, service } => {
                let keys = auth::sigv4::AwsKeys {
                    access_key_id: credentials.require("access_key_id"),
                    secret_access_key: credentials.require("secret_access_key"),
                    session_token: credentials.get("session_token"),
                };
                auth::sigv4::apply(
                    request,
                    region.trim(),
                    service.trim(),
                    &keys,
                    self.config.clock.now(),
                )
                .map_err(signing)?;
                Ok(None)
            }
            Auth::Basic {} => {
                auth::basic::apply_basic(
                    request,
                    credentials.require("username"),
                    credentials.require("password"),
                    &self.redactor,
                )
                .map_err(signing)?;
                Ok(None)
            }
            Auth::Bearer {} => {
                auth::basic::apply_bearer(request, credentials.require("token"))
                    .map_err(signing)?;
                Ok(None)
            }
            Auth::Hawk { algorithm } => {
                let algorithm = auth::hawk::Algorithm::parse(algorithm)
                    .ok_or_else(|| signing(format!("unsupported hawk algorithm `{algorithm}`")))?;
                auth::hawk::apply(
                    request,
                    algorithm,
                    credentials.require("hawk_id"),
                    credentials.require("hawk_key"),
                    self.config.clock.now(),
                    &self.config.clock.nonce(),
                )
                .map_err(signing)?;
                Ok(None)
            }
        }
    }

    async fn transmit(&self, profile: &Profile, request: Prepared) -> Result<Answer, SendError> {
        let redacted_url = || self.redactor.redact_url(request.url.as_str());
        let network = |err: reqwest::Error| SendError::Network {
            profile: profile.name.clone(),
            url: redacted_url(),
            detail: describe_reqwest_error(&err, &self.redactor),
        };
        let mut builder = self
            .client
            .request(reqwest_method(request.method), request.url.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if !request.body.is_empty() || request.method.is_mutating() {
            builder = builder.body(request.body.clone());
        }
        let mut response = builder.send().await.map_err(network)?;
        let too_large = || SendError::ResponseTooLarge {
            profile: profile.name.clone(),
            url: redacted_url(),
            limit: self.config.max_response_bytes,
        };
        if response
            .content_length()
            .is_some_and(|length| length > self.config.max_response_bytes as u64)
        {
            return Err(too_large());
        }
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter(|(name, _)| !self.redactor.is_sensitive_header(name.as_str()))
            .map(|(name, value)| {
                (
                    name.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = read_body(&mut response, self.config.max_response_bytes)
            .await
            .map_err(|err| match err {
                BodyError::TooLarge => too_large(),
                BodyError::Read(err) => network(err),
            })?;
        Ok(Answer {
            status,
            headers,
            body,
            url: request.url,
        })
    }

    fn register_names(&self) {
        for state in self.profiles.values() {
            if let Auth::ApiKey { header, query } = &state.profile.auth {
                if let Some(header) = header {
                    self.redactor.add_header_name(header.trim());
                }
                if let Some(query) = query {
                    self.redactor.add_query_param(query.trim());
                }
            }
        }
    }
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    url: Url,
}

fn reqwest_method(method: HttpMethod) -> reqwest::Method {
    match method {
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Post => reqwest::Method::POST,
        HttpMethod::Put => reqwest::Method::PUT,
        HttpMethod::Patch => reqwest::Method::PATCH,
        HttpMethod::Delete => reqwest::Method::DELETE,
    }
}

/// `haystack` with every occurrence of `needle` (when at least [`MIN_REDACTED_LEN`] bytes) replaced.
fn replace_bytes(haystack: Vec<u8>, needle: &[u8], with: &[u8]) -> Vec<u8> {
    if needle.len() < MIN_REDACTED_LEN || haystack.len() < needle.len() {
        return haystack;
    }
    let first = needle[0];
    let found = |from: usize, haystack: &[u8]| {
        (from..=haystack.len().saturating_sub(needle.len()))
            .find(|&at| haystack[at] == first && haystack[at..].starts_with(needle))
    };
    let Some(mut at) = found(0, &haystack) else {
        return haystack;
    };
    let mut out = Vec::with_capacity(haystack.len());
    let mut copied = 0;
    loop {
        out.extend_from_slice(&haystack[copied..at]);
        out.extend_from_slice(with);
        copied = at + needle.len();
        match found(copied, &haystack) {
            Some(next) => at = next,
            None => break,
        }
    }
    out.extend_from_slice(&haystack[copied..]);
    out
}

pub(crate) enum BodyError {
    TooLarge,
    Read(reqwest::Error),
}

/// Reads a response body, stopping as soon as it passes `max` bytes.
pub(crate) async fn read_body(
    response: &mut reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, BodyError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if body.len() + chunk.len() > max {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A reqwest error in words, without its URL (which may carry an api-key parameter) and with
/// every known secret redacted.
pub(crate) fn describe_reqwest_error(err: &reqwest::Error, redactor: &Redactor) -> String {
    let what = if err.is_connect() {
        "connection failed"
    } else if err.is_timeout() {
        "timed out"
    } else if err.is_body() || err.is_decode() {
        "the answer was cut off"
    } else if err.is_request() {
        "the request failed"
    } else {
        "error"
    };
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = cause.source();
    }
    let detail = if causes.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {}", causes.join(": "))
    };
    redactor.redact(&detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_bytes_replaces_every_occurrence() {
        let out = replace_bytes(b"aXsecretXsecretsecret".to_vec(), b"secret", b"[R]");
        assert_eq!(out, b"aX[R]X[R][R]");
        assert_eq!(
            replace_bytes(b"secre".to_vec(), b"secret", b"[R]"),
            b"secre"
        );
        assert_eq!(replace_bytes(b"abc".to_vec(), b"ab", b"[R]"), b"abc");
    }

    /// `send` can run on any tokio task.
    #[allow(dead_code)]
    fn send_is_send(integrations: &Integrations, request: OutgoingRequest) {
        fn is_send<T: Send>(_: &T) {}
        is_send(&integrations.send(request));
    }
}
