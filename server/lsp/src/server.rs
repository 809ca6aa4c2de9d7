//! The `LanguageServer` implementation: lifecycle and document notifications here, requests
//! handed to `handlers/`. Every handler runs inside [`guard`], so a panic becomes an
//! `InternalError` answer and a log line instead of the end of the session.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use serde_json::Value;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};

use crate::documents::{DocumentKind, Placement};
use crate::handlers::{self, chat, commands};
use crate::logging::ClientLog;
use crate::scheduler::{self, internal_error, panic_message};
use crate::session::{ChangeRefused, ClientCaps, Session};

pub struct Backend {
    session: Arc<Session>,
}

impl Backend {
    pub fn new(client: Client, debug_commands: bool) -> Backend {
        let log = ClientLog::new();
        log.connect(client.clone());
        Backend {
            session: Arc::new(Session::new(client, log, debug_commands)),
        }
    }

    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }
}

/// Runs a request handler with panics caught.
async fn guard<T>(method: &'static str, handler: impl Future<Output = Result<T>>) -> Result<T> {
    match AssertUnwindSafe(handler).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let message = panic_message(&panic);
            tracing::error!("{method} panicked: {message}");
            Err(internal_error(method, &message))
        }
    }
}

/// Runs a notification handler with panics caught (there is no one to answer).
async fn guard_notification(method: &'static str, handler: impl Future<Output = ()>) {
    if let Err(panic) = AssertUnwindSafe(handler).catch_unwind().await {
        tracing::error!("{method} panicked: {}", panic_message(&panic));
    }
}

fn server_capabilities(caps: &ClientCaps) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(caps.encoding_kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
                ..TextDocumentSyncOptions::default()
            },
        )),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(
                handlers::completion::TRIGGER_CHARACTERS
                    .iter()
                    .map(|c| (*c).to_string())
                    .collect(),
            ),
            ..CompletionOptions::default()
        }),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        semantic_tokens_provider: Some(SemanticTokensServerCapabilities::SemanticTokensOptions(
            SemanticTokensOptions {
                legend: handlers::semantic_tokens::legend(),
                full: Some(SemanticTokensFullOptions::Bool(true)),
                range: None,
                ..SemanticTokensOptions::default()
            },
        )),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![
                CodeActionKind::QUICKFIX,
                handlers::code_action::FIX_ALL,
            ]),
            ..CodeActionOptions::default()
        })),
        execute_command_provider: Some(ExecuteCommandOptions {
            commands: commands::COMMANDS
                .iter()
                .map(|c| (*c).to_string())
                .collect(),
            ..ExecuteCommandOptions::default()
        }),
        diagnostic_provider: caps.pull_diagnostics.then(|| {
            DiagnosticServerCapabilities::Options(DiagnosticOptions {
                identifier: Some("riposte".to_string()),
                inter_file_dependencies: true,
                workspace_diagnostics: false,
                ..DiagnosticOptions::default()
            })
        }),
        ..ServerCapabilities::default()
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        guard("initialize", async {
            let caps = ClientCaps::from_params(&params);
            tracing::info!(
                "riposte lsp {}: positions in {}, diagnostics {}",
                env!("CARGO_PKG_VERSION"),
                caps.encoding_kind().as_str(),
                if caps.pull_diagnostics {
                    "pulled"
                } else {
                    "pushed"
                }
            );
            let capabilities = server_capabilities(&caps);
            for warning in self.session.initialize(caps, params.initialization_options) {
                tracing::warn!("initializationOptions: {warning}");
            }
            Ok(InitializeResult {
                capabilities,
                server_info: Some(ServerInfo {
                    name: "riposte".to_string(),
                    version: Some(env!("CARGO_PKG_VERSION").to_string()),
                }),
                offset_encoding: None,
            })
        })
        .await
    }

    async fn initialized(&self, _: InitializedParams) {
        // Both ask the client and may wait for it: never in the handler itself.
        tokio::spawn(fetch_configuration(Arc::clone(&self.session)));
        tokio::spawn(register_watchers(Arc::clone(&self.session)));
    }

    async fn shutdown(&self) -> Result<()> {
        self.session.request_shutdown();
        tracing::info!("shutdown requested");
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        guard_notification("textDocument/didOpen", async {
            let document = params.text_document;
            let length = document.text.len();
            let placement = self
                .session
                .open(&document.uri, document.version, document.text);
            tracing::debug!(
                "opened {} version {} ({:?}, {length} bytes)",
                document.uri.as_str(),
                document.version,
                placement.kind
            );
            if placement.kind.shapes_workspace() {
                self.workspace_changed(&placement);
            } else {
                if is_unsaved_playbook(&placement) {
                    // A playbook rules may name now: only the open rules need a new look.
                    self.playbooks_changed(&placement);
                }
                scheduler::schedule(&self.session, &document.uri);
            }
        })
        .await
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        // No `.await` before the edit is applied: changes apply in the order they arrived.
        guard_notification("textDocument/didChange", async {
            let uri = params.text_document.uri;
            let version = params.text_document.version;
            match self.session.change(&uri, version, params.content_changes) {
                Ok(placement) if placement.kind.shapes_workspace() => {
                    self.workspace_changed(&placement)
                }
                Ok(_) => scheduler::schedule(&self.session, &uri),
                Err(ChangeRefused::NotOpen) => tracing::warn!(
                    "didChange for {}, which is not open: ignored",
                    uri.as_str()
                ),
                Err(ChangeRefused::Stale { current }) => tracing::warn!(
                    "didChange version {version} for {} is not newer than version {current}: ignored",
                    uri.as_str()
                ),
            }
        })
        .await
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        guard_notification("textDocument/didSave", async {
            scheduler::schedule(&self.session, &params.text_document.uri);
        })
        .await
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        guard_notification("textDocument/didClose", async {
            let uri = params.text_document.uri;
            let Some(placement) = self.session.close(&uri) else {
                tracing::warn!("didClose for {}, which is not open: ignored", uri.as_str());
                return;
            };
            if placement.kind != DocumentKind::Other && !self.session.caps().pull_diagnostics {
                let _publishing = self.session.publish.lock().await;
                self.session
                    .client
                    .publish_diagnostics(uri.clone(), Vec::new(), None)
                    .await;
            }
            if placement.kind.shapes_workspace() {
                // The file on disk counts again.
                self.workspace_changed(&placement);
            } else if is_unsaved_playbook(&placement) {
                self.playbooks_changed(&placement);
            }
        })
        .await
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        guard_notification("workspace/didChangeConfiguration", async {
            if self.session.caps().configuration {
                tokio::spawn(fetch_configuration(Arc::clone(&self.session)));
            } else {
                apply_configuration(&self.session, &params.settings);
            }
        })
        .await
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        guard_notification("workspace/didChangeWatchedFiles", async {
            let mut roots = Vec::new();
            for change in params.changes {
                let placement = Placement::of(&change.uri);
                let created_or_deleted = change.typ != FileChangeType::CHANGED;
                let relevant = match placement.kind {
                    DocumentKind::Config | DocumentKind::Profile | DocumentKind::Rule => true,
                    DocumentKind::Playbook => created_or_deleted,
                    DocumentKind::Other => placement
                        .path
                        .as_ref()
                        .is_some_and(|path| path.extension().is_some_and(|e| e == "json")),
                };
                if !relevant {
                    continue;
                }
                let root = placement.root.or_else(|| {
                    placement
                        .path
                        .as_deref()
                        .and_then(std::path::Path::parent)
                        .and_then(riposte_workspace::find_root)
                });
                if let Some(root) = root
                    && !roots.contains(&root)
                {
                    roots.push(root);
                }
            }
            for root in roots {
                tracing::debug!("workspace files changed on disk in {}", root.display());
                self.session.invalidate(&root);
                scheduler::schedule_all(&self.session, Some(&root));
            }
        })
        .await
    }

    async fn diagnostic(
        &self,
        params: DocumentDiagnosticParams,
    ) -> Result<DocumentDiagnosticReportResult> {
        guard(
            "textDocument/diagnostic",
            handlers::diagnostics::document_diagnostic(&self.session, params),
        )
        .await
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        guard(
            "textDocument/completion",
            handlers::completion::completion(&self.session, params),
        )
        .await
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        guard(
            "textDocument/hover",
            handlers::hover::hover(&self.session, params),
        )
        .await
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        guard(
            "textDocument/definition",
            handlers::definition::definition(&self.session, params),
        )
        .await
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        guard(
            "textDocument/documentSymbol",
            handlers::symbols::document_symbols(&self.session, params),
        )
        .await
    }

    async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        guard(
            "textDocument/semanticTokens/full",
            handlers::semantic_tokens::semantic_tokens(&self.session, params),
        )
        .await
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        guard(
            "textDocument/codeAction",
            handlers::code_action::code_action(&self.session, params),
        )
        .await
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        guard(
            "workspace/executeCommand",
            handlers::commands::execute(&self.session, params),
        )
        .await
    }
}

/// A playbook buffer with no file behind it yet.
fn is_unsaved_playbook(placement: &Placement) -> bool {
    placement.kind == DocumentKind::Playbook
        && placement.path.as_ref().is_some_and(|path| !path.exists())
}

/// The chat relay's methods (`docs/chat-protocol.md`), registered with `custom_method` in
/// `lib.rs`; each runs inside [`guard`] like the standard requests.
impl Backend {
    pub async fn chat_status(&self, params: Option<chat::StatusParams>) -> Result<Value> {
        guard(chat::STATUS, chat::status(&self.session, params)).await
    }

    pub async fn chat_start(&self, params: chat::StartParams) -> Result<Value> {
        guard(chat::START, chat::start(&self.session, params)).await
    }

    pub async fn chat_cancel(&self, params: chat::CancelParams) -> Result<Value> {
        guard(chat::CANCEL, chat::cancel(&self.session, params)).await
    }

    pub async fn chat_set_mode(&self, params: chat::SetModeParams) -> Result<Value> {
        guard(chat::SET_MODE, chat::set_mode(&self.session, params)).await
    }

    pub async fn chat_set_auto_approve(&self, params: chat::SetAutoApproveParams) -> Result<Value> {
        guard(
            chat::SET_AUTO_APPROVE,
            chat::set_auto_approve(&self.session, params),
        )
        .await
    }

    pub async fn lm_delta(&self, params: chat::DeltaParams) {
        guard_notification(chat::LM_DELTA, async {
            chat::lm_delta(&self.session, params)
        })
        .await
    }
}

impl Backend {
    /// The set of playbook names changed (an unsaved playbook opened or closed): what rules may
    /// point at changed, nothing else.
    fn playbooks_changed(&self, placement: &Placement) {
        let Some(root) = &placement.root else {
            return;
        };
        self.session.invalidate(root);
        for uri in self.session.open_documents(Some(root)) {
            if self
                .session
                .snapshot(&uri)
                .is_some_and(|d| d.placement.kind == DocumentKind::Rule)
            {
                scheduler::schedule(&self.session, &uri);
            }
        }
    }

    /// A `riposte.toml`, profile or rule changed: read the workspace again and re-check what is
    /// open in it (in pull mode, ask the client to pull again).
    fn workspace_changed(&self, placement: &Placement) {
        let Some(root) = &placement.root else {
            return;
        };
        self.session.invalidate(root);
        scheduler::schedule_all(&self.session, Some(root));
        let caps = self.session.caps();
        if caps.pull_diagnostics && caps.diagnostic_refresh {
            let session = Arc::clone(&self.session);
            tokio::spawn(async move {
                let refresh = session.client.workspace_diagnostic_refresh();
                if tokio::time::timeout(commands::CLIENT_TIMEOUT, refresh)
                    .await
                    .is_err()
                {
                    tracing::warn!(
                        "the client did not answer workspace/diagnostic/refresh in time"
                    );
                }
            });
        }
    }
}

fn apply_configuration(session: &Arc<Session>, value: &Value) {
    let (lint_changed, warnings) = session.configure(value);
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    if lint_changed {
        scheduler::schedule_all(session, None);
    }
}

/// Asks the client for the `riposte` settings; a client that never answers gets the
/// `initializationOptions` and defaults after a timeout.
async fn fetch_configuration(session: Arc<Session>) {
    if !session.caps().configuration {
        return;
    }
    let items = vec![ConfigurationItem {
        scope_uri: None,
        section: Some("riposte".to_string()),
    }];
    match tokio::time::timeout(
        commands::CLIENT_TIMEOUT,
        session.client.configuration(items),
    )
    .await
    {
        Ok(Ok(values)) => {
            let value = values.into_iter().next().unwrap_or(Value::Null);
            apply_configuration(&session, &value);
        }
        Ok(Err(err)) => tracing::warn!(
            "workspace/configuration failed ({}); using initializationOptions and defaults",
            err.message
        ),
        Err(_) => tracing::warn!(
            "the client did not answer workspace/configuration within {} s; using initializationOptions and defaults",
            commands::CLIENT_TIMEOUT.as_secs()
        ),
    }
}

/// Asks the client to report changes to workspace files made outside the editor.
async fn register_watchers(session: Arc<Session>) {
    if !session.caps().watched_files_registration {
        return;
    }
    let watchers = [
        "**/riposte.toml",
        "**/integrations/*.toml",
        "**/rules/*.toml",
        "**/playbooks/*.py",
        "**/*.json",
    ]
    .iter()
    .map(|glob| FileSystemWatcher {
        glob_pattern: GlobPattern::String((*glob).to_string()),
        kind: None,
    })
    .collect();
    let registration = Registration {
        id: "riposte-watched-files".to_string(),
        method: "workspace/didChangeWatchedFiles".to_string(),
        register_options: serde_json::to_value(DidChangeWatchedFilesRegistrationOptions {
            watchers,
        })
        .ok(),
    };
    let register = session.client.register_capability(vec![registration]);
    match tokio::time::timeout(commands::CLIENT_TIMEOUT, register).await {
        Ok(Ok(())) => tracing::debug!("watching workspace files"),
        Ok(Err(err)) => tracing::warn!("could not watch workspace files: {}", err.message),
        Err(_) => tracing::warn!("the client did not answer client/registerCapability in time"),
    }
}
