//! Running a playbook: a CPython child started isolated, the `riposte` SDK talking to the host
//! over a private bridge, every integration request signed and sent by the host (credentials never
//! enter the Python process), limits, and the run record.
//!
//! The entry point is [`run_playbook`] (async, on a Tokio runtime with I/O, time and process
//! support) or [`run_playbook_blocking`] (builds its own runtime). Both take a [`RunRequest`] and
//! give a [`RunRecord`], or a [`RunError`] for what prevents a run from starting (bad input, a
//! missing secret, no suitable Python). A run that starts always ends in a record, whatever the
//! playbook does: see [`Status`].
//!
//! Code map: `run` (the sequence, statuses), `bridge` (the protocol), `child` (process, folder,
//! output), `sandbox` (limits and isolation; `sandbox/sys.rs` holds the only `unsafe` code),
//! `interpreter` (finding CPython), `record` (the record), `report` (its text form), `doctor`
//! (which protections this machine gives), `sender` (what a run needs from the HTTP layer) and
//! `integrations` (that, on `http` and `secrets`).

pub mod bridge;
mod child;
pub mod doctor;
pub mod http;
pub mod integrations;
pub mod interpreter;
pub mod record;
pub mod report;
mod run;
pub mod sandbox;
pub mod secrets;
pub mod sender;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use riposte_workspace::LoadedWorkspace;

pub use child::{BOOTSTRAP_SOURCE, OUTPUT_CAP, SDK_SOURCE};
pub use integrations::{IntegrationsSender, headless_secrets};
pub use record::{Outcome, RunRecord, Status};
pub use run::{DEFAULT_GRAPH_PROFILE, Validation, caps, is_mutating};
pub use sender::{FailureKind, NoNetwork, RequestSender, SendFailure};

/// Everything one run needs.
pub struct RunRequest {
    /// The playbook file. Tracebacks name it; its text is read from here unless `source` is given.
    pub playbook: PathBuf,
    /// The playbook's text when it differs from the file (an editor's unsaved buffer).
    pub source: Option<String>,
    /// How the record names the playbook; relative to the workspace root when `None`.
    pub display_path: Option<String>,
    pub workspace: Arc<LoadedWorkspace>,
    pub alert: AlertInput,
    /// Plan mutating requests, comments and alert updates instead of making them.
    pub dry_run: bool,
    /// The wall-clock limit; `limits.run_timeout_secs` from riposte.toml when `None`.
    pub timeout: Option<Duration>,
    /// Sends (and signs) integration requests; also redacts what the run writes.
    pub sender: Arc<dyn RequestSender>,
    /// Called about five times a second while the playbook runs.
    pub progress: Option<ProgressSink>,
    /// Ends the run (status `killed`) when cancelled.
    pub cancel: Option<Cancel>,
}

/// Where the alert comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertInput {
    /// A JSON file in Graph `alerts_v2` or Sentinel `SecurityAlert` shape.
    File(PathBuf),
    /// The same, as text (`label` names it in messages and the record).
    Json { text: String, label: String },
    /// Fetched by id through a Graph profile ([`DEFAULT_GRAPH_PROFILE`] when `None`); comments
    /// and updates then go back to Graph.
    Graph { profile: Option<String>, id: String },
}

/// Receives [`Progress`] snapshots (from a Tokio task: keep it quick).
pub type ProgressSink = Arc<dyn Fn(&Progress) + Send + Sync>;

/// A snapshot for a progress line.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub elapsed: Duration,
    pub requests: usize,
    /// Of `requests`, those a dry run planned instead of sending.
    pub planned: usize,
    /// The innermost open step.
    pub step: Option<String>,
}

/// A cancellation handle: clone it, keep one, put one in the [`RunRequest`].
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    inner: Arc<CancelInner>,
}

#[derive(Debug, Default)]
struct CancelInner {
    cancelled: AtomicBool,
    notify: tokio::sync::Notify,
}

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// Why a run could not start. (Once it starts, everything ends in a [`RunRecord`].)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// The playbook file cannot be read.
    #[error("{0}")]
    Playbook(String),
    /// The alert is not JSON, neither shape, or could not be fetched.
    #[error("{0}")]
    Alert(String),
    /// A secret a profile needs is missing (the message names the profile and the field).
    #[error("{0}")]
    Secret(String),
    /// A profile the run needs is missing or unusable.
    #[error("{0}")]
    Profile(String),
    /// No suitable CPython.
    #[error("{0}")]
    Python(String),
    /// The host could not prepare the run (temporary folder, pipes, process start).
    #[error("{0}")]
    Io(String),
}

/// Runs a playbook against an alert and returns its record. Needs a Tokio runtime with I/O, time
/// and process support (a multi-threaded one, or the thread that calls this outlives the run:
/// the child is tied to the thread that starts it through `PR_SET_PDEATHSIG`).
pub async fn run_playbook(request: RunRequest) -> Result<RunRecord, RunError> {
    run::run(request).await
}

/// The integration profiles a playbook names (`ctx.integration("…")`) that exist in the
/// workspace, in the order the file first names them: the profiles whose secrets a run will need
/// (a caller that asks a person or an editor for secrets can fetch these before the run). Add the
/// Graph profile when the alert is fetched by id.
pub fn profiles_used(playbook_text: &str, workspace: &riposte_core::Workspace) -> Vec<String> {
    let source = riposte_core::SourceFile::new(playbook_text);
    let Ok(outline) = riposte_core::docs::outline("playbook", &source, workspace) else {
        return Vec::new();
    };
    outline
        .integrations
        .into_iter()
        .map(|used| used.profile)
        .filter(|name| workspace.profile(name).is_some())
        .collect()
}

/// [`run_playbook`] on a runtime of its own, for callers without one (the CLI).
pub fn run_playbook_blocking(request: RunRequest) -> Result<RunRecord, RunError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| RunError::Io(format!("cannot start the async runtime: {err}")))?;
    runtime.block_on(run_playbook(request))
}
