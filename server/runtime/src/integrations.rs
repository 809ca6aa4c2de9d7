//! The run's [`RequestSender`] on the real HTTP layer: [`Integrations`] signs and sends, its
//! [`Redactor`](crate::secrets::Redactor) masks every secret it has handed out in what the run
//! writes. Also the usual way to build one from a workspace and the headless secret sources.

use std::path::Path;
use std::sync::Arc;

use riposte_core::Workspace;

use crate::http::{HttpConfig, Integrations, OutgoingRequest, SendError};
use crate::secrets::{ChainSecrets, EnvSecrets, FileSecrets, SecretSource};
use crate::sender::{FailureKind, RequestSender, SendFailure, SendFuture};

/// [`Integrations`] as a [`RequestSender`].
#[derive(Debug, Clone)]
pub struct IntegrationsSender {
    integrations: Arc<Integrations>,
}

impl IntegrationsSender {
    /// Registers every secret the profiles have with the redactor first, so that output is masked
    /// even for profiles the run never sends through.
    pub fn new(integrations: Arc<Integrations>) -> Self {
        let _missing = integrations.register_secrets();
        Self { integrations }
    }

    /// The workspace's profiles with secrets from `secrets`.
    pub fn from_workspace(
        workspace: &Workspace,
        secrets: Arc<dyn SecretSource>,
    ) -> Result<Self, String> {
        let integrations = Integrations::from_workspace(workspace, secrets, HttpConfig::default())
            .map_err(|err| err.to_string())?;
        Ok(Self::new(Arc::new(integrations)))
    }

    pub fn integrations(&self) -> &Arc<Integrations> {
        &self.integrations
    }
}

impl RequestSender for IntegrationsSender {
    fn send(&self, request: OutgoingRequest) -> SendFuture<'_> {
        Box::pin(async move {
            self.integrations
                .send(request)
                .await
                .map_err(|err| failure(&err))
        })
    }

    fn check_profile(&self, profile: &str) -> Result<(), SendFailure> {
        self.integrations
            .check_profile(profile)
            .map_err(|err| failure(&err))
    }

    fn check(&self, request: &OutgoingRequest) -> Result<Option<String>, SendFailure> {
        self.integrations
            .check(request)
            .map(Some)
            .map_err(|err| failure(&err))
    }

    fn redact(&self, text: &str) -> String {
        self.integrations.redactor().redact(text)
    }
}

fn failure(err: &SendError) -> SendFailure {
    let kind = match err.kind() {
        "unknown_profile" => FailureKind::UnknownProfile,
        "missing_secret" => FailureKind::MissingSecret,
        "timeout" => FailureKind::Timeout,
        "network" | "token" | "signing" | "response_too_large" => FailureKind::Transport,
        _ => FailureKind::Refused,
    };
    SendFailure::new(kind, err.to_string())
}

/// The headless secret sources DESIGN.md names: `RIPOSTE_<PROFILE>_<FIELD>` environment variables
/// (a snapshot of the process environment), then the `--secrets` file when one is given (refused
/// unless it is mode 0600 and outside the workspace).
pub fn headless_secrets(
    secrets_file: Option<&Path>,
    workspace_root: &Path,
) -> Result<Arc<dyn SecretSource>, String> {
    let mut sources: Vec<Arc<dyn SecretSource>> = vec![Arc::new(EnvSecrets::from_process_env())];
    if let Some(path) = secrets_file {
        let file = FileSecrets::load(path, workspace_root).map_err(|err| err.to_string())?;
        sources.push(Arc::new(file));
    }
    Ok(Arc::new(ChainSecrets::new(sources)))
}
