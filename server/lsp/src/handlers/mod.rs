//! One file per request. Each converts positions, runs the core's `ide` function for the
//! request on the blocking pool (isolated: a panic is an internal error), and converts back.
//! `chat.rs` is the chat panel's `riposte/chat/*` requests, relayed to the agent (`crate::chat`).

pub mod chat;
pub mod code_action;
pub mod commands;
pub mod completion;
pub mod definition;
pub mod diagnostics;
pub mod engine;
pub mod hover;
pub mod semantic_tokens;
pub mod symbols;
pub mod test_run;

use std::sync::Arc;

use riposte_core::source::PositionEncoding;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::Uri;

use crate::documents::{DocumentKind, DocumentSnapshot};
use crate::scheduler::blocking;
use crate::session::Session;
use crate::workspaces::WorkspaceSnapshot;

/// Runs `work` on an open playbook and its workspace, off the async runtime. `None` when the
/// document is not open or not a playbook (the spec allows `null` for "nothing here").
pub async fn on_playbook<T, F>(
    session: &Arc<Session>,
    uri: &Uri,
    what: &'static str,
    work: F,
) -> Result<Option<T>>
where
    T: Send + 'static,
    F: FnOnce(&DocumentSnapshot, &WorkspaceSnapshot, PositionEncoding) -> T + Send + 'static,
{
    let Some(document) = session.snapshot(uri) else {
        tracing::debug!("{what} for {}, which is not open", uri.as_str());
        return Ok(None);
    };
    if document.placement.kind != DocumentKind::Playbook {
        return Ok(None);
    }
    let encoding = session.encoding();
    let session = Arc::clone(session);
    blocking(what, move || {
        let workspace = session.workspace(document.placement.root.as_deref());
        work(&document, &workspace, encoding)
    })
    .await
    .map(Some)
}
