//! Shared by the runtime's run tests: the loopback stand-ins (`tests/runtime/standins.rs` at the
//! repository's root, also used by the CLI's tests) and running a playbook through the real
//! runtime with the real HTTP layer and the stand-ins' secrets.
#![allow(dead_code)]

#[path = "../../../../tests/runtime/standins.rs"]
pub mod standins;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use riposte_runtime::secrets::EnvSecrets;
use riposte_runtime::{
    AlertInput, IntegrationsSender, RequestSender, RunError, RunRecord, RunRequest,
};

pub use standins::*;

/// The stand-ins' secrets, as the environment would give them.
pub fn sender_for(root: &Path) -> Arc<dyn RequestSender> {
    let loaded = riposte_workspace::load(root).unwrap();
    let secrets = Arc::new(EnvSecrets::from_vars(secrets::env()));
    Arc::new(IntegrationsSender::from_workspace(&loaded.workspace, secrets).unwrap())
}

pub struct Run<'a> {
    pub root: &'a Path,
    pub playbook: std::path::PathBuf,
    pub alert: AlertInput,
    pub dry_run: bool,
    pub timeout: Duration,
    pub sender: Option<Arc<dyn RequestSender>>,
}

impl<'a> Run<'a> {
    pub fn new(root: &'a Path, playbook: impl AsRef<Path>, alert: AlertInput) -> Self {
        Run {
            root,
            playbook: playbook.as_ref().to_path_buf(),
            alert,
            dry_run: false,
            timeout: Duration::from_secs(20),
            sender: None,
        }
    }

    pub fn dry(mut self) -> Self {
        self.dry_run = true;
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn sender(mut self, sender: Arc<dyn RequestSender>) -> Self {
        self.sender = Some(sender);
        self
    }

    pub async fn go(self) -> Result<RunRecord, RunError> {
        let loaded = riposte_workspace::load(self.root).unwrap();
        let sender = self.sender.unwrap_or_else(|| sender_for(self.root));
        riposte_runtime::run_playbook(RunRequest {
            playbook: self.playbook,
            source: None,
            display_path: None,
            workspace: Arc::new(loaded),
            alert: self.alert,
            dry_run: self.dry_run,
            timeout: Some(self.timeout),
            sender,
            progress: None,
            cancel: None,
        })
        .await
    }

    pub async fn record(self) -> RunRecord {
        self.go().await.expect("the run starts")
    }
}

/// The alert file from `fixtures/alerts`.
pub fn alert_file(name: &str) -> AlertInput {
    AlertInput::File(repo_root().join("fixtures/alerts").join(name))
}

/// The record as JSON and as text, checked to hold no secret of the stand-ins.
pub fn assert_no_secret(record: &RunRecord) {
    let json = serde_json::to_string(record).unwrap();
    let text = riposte_runtime::report::render_text(record);
    for output in [&json, &text] {
        assert!(
            !output.contains(secrets::SENTINEL),
            "a secret reached the record:\n{output}"
        );
        for secret in secrets::values() {
            assert!(!output.contains(secret), "{secret} reached the record");
        }
    }
}

/// One line of the record for assertion messages.
pub fn summary(record: &RunRecord) -> String {
    format!(
        "{} {:?}: {}\n{}",
        record.status,
        record.blocked_by,
        record.message.clone().unwrap_or_default(),
        riposte_runtime::report::render_text(record)
    )
}
