//! `run_test`: the playbook on a saved alert through `riposte_runtime` (the sandboxed CPython run
//! `riposte test` makes). A dry run comes first; a real run needs a succeeded dry run of the same
//! code in this task, and the person approves it after seeing that dry run's change list.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use riposte_runtime::{AlertInput, Cancel, RequestSender, RunRecord, RunRequest, Status};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Deserialize)]
pub struct TestArgs {
    pub path: String,
    pub alert: Option<String>,
    #[serde(default = "yes")]
    pub dry_run: bool,
}

fn yes() -> bool {
    true
}

/// The alert file a test uses: `alert` (inside the workspace), or the first `alerts/*.json`.
pub fn alert_path(root: &Path, alert: Option<&str>) -> Result<(String, PathBuf), String> {
    if let Some(alert) = alert {
        let path = super::files::resolve_inside(root, alert).map_err(|e| e.0)?;
        return Ok((alert.to_string(), path));
    }
    let mut saved: Vec<PathBuf> = std::fs::read_dir(root.join("alerts"))
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    saved.sort();
    match saved.into_iter().next() {
        Some(path) => {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok((format!("alerts/{name}"), path))
        }
        None => Err(
            "the workspace has no saved alert: ask the user to save one under alerts/ (Graph alerts_v2 or Sentinel SecurityAlert JSON), or pass `alert`"
                .into(),
        ),
    }
}

/// Runs the playbook at `relative` on `alert`.
pub async fn run(
    root: &Path,
    relative: &str,
    alert: PathBuf,
    dry_run: bool,
    sender: Arc<dyn RequestSender>,
    cancel: &CancellationToken,
) -> Result<RunRecord, String> {
    let loaded = super::check::load(root)?;
    let run_cancel = Cancel::new();
    let request = RunRequest {
        playbook: root.join(relative),
        source: None,
        display_path: Some(relative.to_string()),
        workspace: Arc::new(loaded),
        alert: AlertInput::File(alert),
        dry_run,
        timeout: None,
        sender,
        progress: None,
        cancel: Some(run_cancel.clone()),
    };
    let run = riposte_runtime::run_playbook(request);
    tokio::pin!(run);
    tokio::select! {
        result = &mut run => result.map_err(|err| err.to_string()),
        () = cancel.cancelled() => {
            // The runtime ends the child and still gives a record (status `killed`).
            run_cancel.cancel();
            let _ = run.await;
            Err("cancelled".into())
        }
    }
}

/// One line per change the run planned (dry run) or made.
pub fn change_lines(record: &RunRecord) -> Vec<String> {
    record
        .changes
        .iter()
        .map(|change| change.description.clone())
        .collect()
}

pub fn succeeded(record: &RunRecord) -> bool {
    record.status == Status::Succeeded
}

/// The record as the model reads it (the text `riposte test` prints).
pub fn summary(record: &RunRecord) -> String {
    riposte_runtime::report::render_text(record)
}
