//! When validation runs and where: after the debounce, on a snapshot, on tokio's blocking pool
//! (never on the async workers that read the client's messages), isolated with `catch_unwind`,
//! and published only if the document is still at the version that was checked.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use riposte_core::formats::automation::AutomationRule;
use riposte_core::formats::config::Config;
use riposte_core::formats::profile::Profile;
use riposte_core::{Diagnostic, check_playbook};
use tower_lsp_server::jsonrpc;
use tower_lsp_server::ls_types::{self as lsp, Uri};

use crate::convert;
use crate::documents::{DocumentKind, DocumentSnapshot};
use crate::session::Session;

/// The result of checking one version of one document.
pub struct Validation {
    pub version: i32,
    /// The workspace generation it was checked against.
    pub generation: u64,
    /// The core's findings (code actions are built from these).
    pub diagnostics: Vec<Diagnostic>,
    /// What the client is shown.
    pub lsp: Vec<lsp::Diagnostic>,
}

/// Checks a document against its workspace. Blocking (it may read the workspace): run it through
/// [`blocking`].
pub fn validate(session: &Session, document: &DocumentSnapshot) -> Validation {
    let snapshot = session.workspace(document.placement.root.as_deref());
    let encoding = session.encoding();
    let source = &document.source;
    let mut extra = Vec::new();
    let diagnostics = match document.placement.kind {
        DocumentKind::Playbook => check_playbook(source, &snapshot.workspace),
        DocumentKind::Config => {
            if let Err(error) = Config::parse(source.text()) {
                extra.push(convert::config_error(source, &error, encoding));
            }
            Vec::new()
        }
        DocumentKind::Profile | DocumentKind::Rule => {
            // The snapshot's report also knows duplicate names and custom catalogs; use it when
            // it was made from this very text.
            let report = document
                .placement
                .path
                .as_deref()
                .and_then(|path| snapshot.file(path))
                .filter(|report| report.source.text() == source.text());
            match report {
                Some(report) => report.diagnostics.clone(),
                None if document.placement.kind == DocumentKind::Profile => {
                    Profile::parse(source.text()).1
                }
                None => {
                    AutomationRule::parse(source.text(), &|name| {
                        snapshot.workspace.has_playbook(name)
                    })
                    .1
                }
            }
        }
        DocumentKind::Other => Vec::new(),
    };
    let mut lsp: Vec<lsp::Diagnostic> = diagnostics
        .iter()
        .map(|diagnostic| convert::diagnostic(source, diagnostic, encoding))
        .collect();
    lsp.extend(extra);
    Validation {
        version: document.version,
        generation: snapshot.generation,
        diagnostics,
        lsp,
    }
}

/// Validates a document after the debounce and publishes the result, superseding (aborting) a
/// validation of the same document still waiting or running.
pub fn schedule(session: &Arc<Session>, uri: &Uri) {
    if session.caps().pull_diagnostics {
        // The client asks when it wants them (`textDocument/diagnostic`).
        return;
    }
    let debounce = session.settings().debounce;
    let task = {
        let session = Arc::clone(session);
        let uri = uri.clone();
        tokio::spawn(async move {
            if !debounce.is_zero() {
                tokio::time::sleep(debounce).await;
            }
            validate_and_publish(&session, &uri).await;
        })
    };
    session.set_pending(uri, task.abort_handle());
}

/// Re-validates every open document of a workspace (or all, for `None`).
pub fn schedule_all(session: &Arc<Session>, root: Option<&std::path::Path>) {
    let uris = session.open_documents(root);
    tracing::debug!("re-validating {} open document(s)", uris.len());
    for uri in uris {
        schedule(session, &uri);
    }
}

async fn validate_and_publish(session: &Arc<Session>, uri: &Uri) {
    let Some(document) = session.snapshot(uri) else {
        return;
    };
    if document.placement.kind == DocumentKind::Other {
        return;
    }
    let version = document.version;
    let started = std::time::Instant::now();
    let validation = {
        let session = Arc::clone(session);
        blocking("validation", move || validate(&session, &document)).await
    };
    let Ok(validation) = validation else {
        // The panic was logged; the document keeps its previous diagnostics.
        return;
    };
    let validation = Arc::new(validation);
    let _publishing = session.publish.lock().await;
    if !session.store_validation(uri, &validation) {
        tracing::trace!("a newer version superseded version {version}; not published");
        return;
    }
    tracing::debug!(
        "version {version}: {} diagnostic(s) in {:.1} ms",
        validation.lsp.len(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    session
        .client
        .publish_diagnostics(uri.clone(), validation.lsp.clone(), Some(version))
        .await;
}

/// Runs analysis on tokio's blocking pool with panics caught: a panic becomes an internal error
/// (and a log line), never a dead server.
pub async fn blocking<T, F>(what: &'static str, work: F) -> jsonrpc::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    match tokio::task::spawn_blocking(move || catch_unwind(AssertUnwindSafe(work))).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => {
            let message = panic_message(&panic);
            tracing::error!("{what} panicked: {message}");
            Err(internal_error(what, &message))
        }
        Err(err) => {
            tracing::error!("{what} did not finish: {err}");
            Err(internal_error(what, &err.to_string()))
        }
    }
}

pub fn internal_error(what: &str, message: &str) -> jsonrpc::Error {
    jsonrpc::Error {
        code: jsonrpc::ErrorCode::InternalError,
        message: format!("{what} failed inside the server: {message}").into(),
        data: None,
    }
}

pub fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}
