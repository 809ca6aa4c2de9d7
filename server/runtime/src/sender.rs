//! What the run needs from the authenticated HTTP layer, as a small object-safe trait: send one
//! request for a profile, say up front whether a profile can be used at all (its secrets are
//! there), and mask secrets in anything written. `integrations.rs` adapts the real layer
//! (`http::Integrations` and `secrets::Redactor`) to it; tests may stand in their own.

use std::future::Future;
use std::pin::Pin;

use crate::http::{IncomingResponse, OutgoingRequest};

/// A boxed future, so that the trait stays object-safe.
pub type SendFuture<'a> =
    Pin<Box<dyn Future<Output = Result<IncomingResponse, SendFailure>> + Send + 'a>>;

/// Sends integration requests on the run's behalf: resolves the profile, checks the host, signs,
/// sends, and answers with the response (credentials removed).
pub trait RequestSender: Send + Sync {
    fn send(&self, request: OutgoingRequest) -> SendFuture<'_>;

    /// Whether requests through `profile` can be sent at all: the profile exists and every required
    /// secret is available. Checked before the playbook starts, for each profile it names, so a
    /// missing secret is a clear error up front rather than a failure halfway through a run.
    fn check_profile(&self, profile: &str) -> Result<(), SendFailure> {
        let _ = profile;
        Ok(())
    }

    /// Checks a request without sending it or reading a secret (a dry run plans mutating requests
    /// this way, so that one the host would refuse shows up in the dry run too): `Ok(Some(url))`
    /// with the URL it would go to, redacted; `Ok(None)` when this sender cannot tell.
    fn check(&self, request: &OutgoingRequest) -> Result<Option<String>, SendFailure> {
        let _ = request;
        Ok(None)
    }

    /// Masks every secret this sender knows in `text`. Applied to everything the run writes.
    fn redact(&self, text: &str) -> String {
        text.to_owned()
    }
}

/// Why a request was not answered. The message is shown to the playbook (as `IntegrationError`)
/// and kept in the record, so it must never hold a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendFailure {
    pub kind: FailureKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// No such profile in the workspace.
    UnknownProfile,
    /// A secret the profile's auth method needs is not available.
    MissingSecret,
    /// The request was refused before sending: a foreign host, a credential header, a bad path.
    Refused,
    /// The remote did not answer in time.
    Timeout,
    /// Connection, TLS, token endpoint or any other failure to get an answer.
    Transport,
}

impl SendFailure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// A sender for runs that must not reach anything: every request fails with a clear message.
/// Useful where no sender is configured (the dry run of a playbook with no profiles, tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoNetwork;

impl RequestSender for NoNetwork {
    fn send(&self, request: OutgoingRequest) -> SendFuture<'_> {
        Box::pin(async move {
            Err(SendFailure::new(
                FailureKind::Refused,
                format!(
                    "no integration requests can be sent in this run ({} {} through `{}`)",
                    request.method, request.path, request.profile
                ),
            ))
        })
    }
}
