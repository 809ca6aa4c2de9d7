//! Riposte's language server, `riposte lsp`: LSP over stdio for playbooks and the workspace's
//! TOML files (diagnostics, code actions, completion, hover, go to definition, document symbols,
//! semantic tokens, commands) and the chat panel's Plan/Act agent ([`chat`], `riposte/chat/*`).
//!
//! The layout follows ruff's `ruff_server`: [`session`] holds the client's capabilities, the
//! settings, the open documents ([`documents`]) and workspace snapshots ([`workspaces`]);
//! [`scheduler`] decides when validation runs and where; [`handlers`] has one file per request;
//! [`transport`] frames JSON-RPC on stdio. There is no analysis here: every answer comes from
//! `riposte_core` (`check_playbook`, the format parsers, and `riposte_core::ide`), this crate
//! converts positions and shapes.

pub mod chat;
pub mod convert;
pub mod documents;
pub mod handlers;
pub mod logging;
pub mod scheduler;
pub mod server;
pub mod session;
pub mod settings;
pub mod transport;
pub mod workspaces;

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tower_lsp_server::LspService;

use crate::handlers::chat as chat_methods;
use crate::server::Backend;

/// How `riposte lsp` was started.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--log-level`: a level for Riposte's crates, or a `tracing` filter. `RIPOSTE_LOG` when
    /// absent.
    pub log_level: Option<String>,
}

/// Serves LSP on stdin/stdout until the client sends `exit` or closes the stream. Returns the
/// exit code the spec asks for: 0 when `shutdown` came before, 1 otherwise.
pub fn run(options: &Options) -> anyhow::Result<u8> {
    if let Some(problem) = logging::init(options.log_level.as_deref()) {
        tracing::warn!("{problem}; logging at {}", logging::DEFAULT_LEVEL);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("riposte-lsp")
        .enable_all()
        .build()?;
    let code = runtime.block_on(serve(tokio::io::stdin(), tokio::io::stdout()));
    // A validation still running on the blocking pool (or the stdin reader) must not hold the
    // exit up.
    runtime.shutdown_timeout(Duration::from_millis(200));
    Ok(code)
}

/// Serves one client over any byte streams (stdio, or pipes in tests).
pub async fn serve<I, O>(input: I, output: O) -> u8
where
    I: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
{
    let debug_commands = std::env::var("RIPOSTE_LSP_DEBUG").is_ok_and(|value| value == "1");
    let mut session = None;
    let (service, socket) = LspService::build(|client| {
        let backend = Backend::new(client, debug_commands);
        session = Some(std::sync::Arc::clone(backend.session()));
        backend
    })
    .custom_method(chat_methods::STATUS, Backend::chat_status)
    .custom_method(chat_methods::START, Backend::chat_start)
    .custom_method(chat_methods::CANCEL, Backend::chat_cancel)
    .custom_method(chat_methods::SET_MODE, Backend::chat_set_mode)
    .custom_method(
        chat_methods::SET_AUTO_APPROVE,
        Backend::chat_set_auto_approve,
    )
    .custom_method(chat_methods::LM_DELTA, Backend::lm_delta)
    .finish();
    transport::serve(input, output, service, socket).await;
    let clean = session.is_some_and(|session| session.shutdown_requested());
    tracing::info!("the client is gone; exiting");
    u8::from(!clean)
}
