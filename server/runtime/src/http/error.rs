//! Why an integration request was not answered. Every message names the profile and says what to
//! do, and none ever holds a secret: values that could carry one are redacted when the error is
//! built.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    #[error(
        "no integration profile named `{profile}` (known: {known}); add integrations/<name>.toml with `name = \"{profile}\"`, or fix the name passed to ctx.integration()"
    )]
    UnknownProfile { profile: String, known: String },

    #[error("integration `{profile}` cannot be used: {problem}; fix its integrations/*.toml")]
    InvalidProfile { profile: String, problem: String },

    #[error(
        "integration `{profile}`: `{path}` is not a usable request path: {problem}; pass a path relative to the profile's base_url (\"/users/x\") or a full URL on its host"
    )]
    InvalidPath {
        profile: String,
        path: String,
        problem: String,
    },

    #[error(
        "integration `{profile}` only sends requests to {allowed}; refused `{requested}`, which is elsewhere (nothing was sent): call that API through its own integration profile"
    )]
    ForeignHost {
        profile: String,
        /// `scheme://host:port` of the profile's base_url.
        allowed: String,
        /// The URL the playbook asked for, redacted.
        requested: String,
    },

    #[error(
        "integration `{profile}`: playbooks may not set the `{header}` header ({reason}); remove it from headers="
    )]
    ForbiddenHeader {
        profile: String,
        header: String,
        reason: &'static str,
    },

    #[error("integration `{profile}`: header `{header}` is not valid: {problem}")]
    InvalidHeader {
        profile: String,
        header: String,
        problem: String,
    },

    #[error(
        "integration `{profile}` needs the secret `{field}`, which is not set, so the request was not sent: {where_to_set}"
    )]
    MissingSecret {
        profile: String,
        field: String,
        env_var: String,
        /// From the secret source: where a person sets it ([`SecretSource::where_to_set`]).
        ///
        /// [`SecretSource::where_to_set`]: crate::secrets::SecretSource::where_to_set
        where_to_set: String,
    },

    #[error(
        "integration `{profile}`: {method} {url} got no complete answer within {secs:.1} s; the API may be down or slow: retry later, or pass a larger timeout=",
        secs = .after.as_secs_f64()
    )]
    Timeout {
        profile: String,
        method: String,
        /// Redacted.
        url: String,
        after: Duration,
    },

    #[error(
        "integration `{profile}`: cannot reach {url}: {detail}; check the profile's base_url and that the API is up"
    )]
    Network {
        profile: String,
        /// Redacted.
        url: String,
        detail: String,
    },

    #[error(
        "integration `{profile}`: no access token from {token_url}: {detail}; check the client_id and client_secret ({env_prefix}CLIENT_ID, {env_prefix}CLIENT_SECRET or the secrets file) and the profile's scopes"
    )]
    Token {
        profile: String,
        token_url: String,
        detail: String,
        /// `RIPOSTE_<PROFILE>_`.
        env_prefix: String,
    },

    #[error("integration `{profile}`: cannot sign the request: {detail}")]
    Signing { profile: String, detail: String },

    #[error(
        "integration `{profile}`: the answer from {url} is larger than the {limit}-byte limit; ask for less (paging, filters, $select)"
    )]
    ResponseTooLarge {
        profile: String,
        /// Redacted.
        url: String,
        limit: usize,
    },
}

impl SendError {
    /// The profile the request was for.
    pub fn profile(&self) -> &str {
        match self {
            SendError::UnknownProfile { profile, .. }
            | SendError::InvalidProfile { profile, .. }
            | SendError::InvalidPath { profile, .. }
            | SendError::ForeignHost { profile, .. }
            | SendError::ForbiddenHeader { profile, .. }
            | SendError::InvalidHeader { profile, .. }
            | SendError::MissingSecret { profile, .. }
            | SendError::Timeout { profile, .. }
            | SendError::Network { profile, .. }
            | SendError::Token { profile, .. }
            | SendError::Signing { profile, .. }
            | SendError::ResponseTooLarge { profile, .. } => profile,
        }
    }

    /// A stable, machine-readable name for run records and the SDK's exception type.
    pub fn kind(&self) -> &'static str {
        match self {
            SendError::UnknownProfile { .. } => "unknown_profile",
            SendError::InvalidProfile { .. } => "invalid_profile",
            SendError::InvalidPath { .. } => "invalid_path",
            SendError::ForeignHost { .. } => "foreign_host",
            SendError::ForbiddenHeader { .. } => "forbidden_header",
            SendError::InvalidHeader { .. } => "invalid_header",
            SendError::MissingSecret { .. } => "missing_secret",
            SendError::Timeout { .. } => "timeout",
            SendError::Network { .. } => "network",
            SendError::Token { .. } => "token",
            SendError::Signing { .. } => "signing",
            SendError::ResponseTooLarge { .. } => "response_too_large",
        }
    }

    /// Whether anything may have reached the network (false for every refusal made before
    /// sending).
    pub fn was_sent(&self) -> bool {
        matches!(
            self,
            SendError::Timeout { .. }
                | SendError::Network { .. }
                | SendError::Token { .. }
                | SendError::ResponseTooLarge { .. }
        )
    }
}
