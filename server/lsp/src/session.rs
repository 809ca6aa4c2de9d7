//! The session: what the client can do, the settings, the open documents and the workspace
//! snapshots. All of it sits behind one `std` mutex that is never held across an `.await`, so a
//! handler's synchronous part (applying a `didChange`) is atomic and runs in arrival order.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};

use riposte_core::source::PositionEncoding;
use riposte_workspace::Overlays;
use serde_json::Value;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::{
    InitializeParams, PositionEncodingKind, ResourceOperationKind, TextDocumentContentChangeEvent,
    Uri,
};

use crate::chat::Chat;
use crate::documents::{Document, DocumentKind, DocumentSnapshot, Placement};
use crate::logging::ClientLog;
use crate::scheduler::Validation;
use crate::settings::Settings;
use crate::workspaces::WorkspaceSnapshot;

/// What the client said it can do, read once from `initialize`.
#[derive(Debug, Clone)]
pub struct ClientCaps {
    pub encoding: PositionEncoding,
    /// The client pulls diagnostics (`textDocument/diagnostic`): do not push them too.
    pub pull_diagnostics: bool,
    pub diagnostic_refresh: bool,
    pub configuration: bool,
    pub watched_files_registration: bool,
    pub apply_edit: bool,
    pub create_files: bool,
    pub workspace_folders: Vec<PathBuf>,
}

impl Default for ClientCaps {
    fn default() -> Self {
        Self {
            encoding: PositionEncoding::Utf16,
            pull_diagnostics: false,
            diagnostic_refresh: false,
            configuration: false,
            watched_files_registration: false,
            apply_edit: false,
            create_files: false,
            workspace_folders: Vec::new(),
        }
    }
}

impl ClientCaps {
    pub fn from_params(params: &InitializeParams) -> ClientCaps {
        let caps = &params.capabilities;
        let utf8 = caps
            .general
            .as_ref()
            .and_then(|general| general.position_encodings.as_ref())
            .is_some_and(|encodings| encodings.contains(&PositionEncodingKind::UTF8));
        let workspace = caps.workspace.as_ref();
        let mut folders: Vec<PathBuf> = params
            .workspace_folders
            .iter()
            .flatten()
            .filter_map(|folder| folder.uri.to_file_path().map(|p| p.into_owned()))
            .collect();
        #[allow(deprecated)]
        if folders.is_empty()
            && let Some(root) = params.root_uri.as_ref().and_then(|uri| uri.to_file_path())
        {
            folders.push(root.into_owned());
        }
        ClientCaps {
            encoding: if utf8 {
                PositionEncoding::Utf8
            } else {
                PositionEncoding::Utf16
            },
            pull_diagnostics: caps
                .text_document
                .as_ref()
                .is_some_and(|text| text.diagnostic.is_some()),
            diagnostic_refresh: workspace
                .and_then(|w| w.diagnostics.as_ref())
                .and_then(|d| d.refresh_support)
                .unwrap_or(false),
            configuration: workspace.and_then(|w| w.configuration).unwrap_or(false),
            watched_files_registration: workspace
                .and_then(|w| w.did_change_watched_files.as_ref())
                .and_then(|w| w.dynamic_registration)
                .unwrap_or(false),
            apply_edit: workspace.and_then(|w| w.apply_edit).unwrap_or(false),
            create_files: workspace
                .and_then(|w| w.workspace_edit.as_ref())
                .and_then(|edit| edit.resource_operations.as_ref())
                .is_some_and(|ops| ops.contains(&ResourceOperationKind::Create)),
            workspace_folders: folders,
        }
    }

    pub fn encoding_kind(&self) -> PositionEncodingKind {
        match self.encoding {
            PositionEncoding::Utf8 => PositionEncodingKind::UTF8,
            _ => PositionEncodingKind::UTF16,
        }
    }
}

/// Why a `didChange` was not applied.
#[derive(Debug, PartialEq, Eq)]
pub enum ChangeRefused {
    NotOpen,
    /// The change's version is not newer than the document's.
    Stale {
        current: i32,
    },
}

pub struct Session {
    pub client: Client,
    pub log: Arc<ClientLog>,
    /// Commands for the test suite (`riposte.debug.panic`), on only with `RIPOSTE_LSP_DEBUG=1`.
    pub debug_commands: bool,
    caps: OnceLock<ClientCaps>,
    init_options: Mutex<Value>,
    settings: RwLock<Arc<Settings>>,
    state: Mutex<State>,
    /// Held from "is this still the current version?" to "published", so an older result can
    /// never be published after a newer one.
    pub publish: tokio::sync::Mutex<()>,
    /// The chat relay's state: the running agent task, `vscode-lm` turns in flight.
    pub chat: Chat,
}

#[derive(Default)]
struct State {
    documents: HashMap<Uri, Document>,
    workspaces: HashMap<PathBuf, WorkspaceEntry>,
    shutdown: bool,
}

#[derive(Default)]
struct WorkspaceEntry {
    generation: u64,
    snapshot: Option<Arc<WorkspaceSnapshot>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take every later request down with a poisoned lock.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Session {
    pub fn new(client: Client, log: Arc<ClientLog>, debug_commands: bool) -> Session {
        Session {
            client,
            log,
            debug_commands,
            caps: OnceLock::new(),
            init_options: Mutex::new(Value::Null),
            settings: RwLock::new(Arc::new(Settings::default())),
            state: Mutex::new(State::default()),
            publish: tokio::sync::Mutex::new(()),
            chat: Chat::default(),
        }
    }

    pub fn initialize(&self, caps: ClientCaps, init_options: Option<Value>) -> Vec<String> {
        let _ = self.caps.set(caps);
        let options = init_options.unwrap_or(Value::Null);
        *lock(&self.init_options) = options.clone();
        let (settings, warnings) = Settings::resolve([&options]);
        self.log.set_level(settings.log_level);
        *self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(settings);
        warnings
    }

    pub fn caps(&self) -> ClientCaps {
        self.caps.get().cloned().unwrap_or_default()
    }

    pub fn encoding(&self) -> PositionEncoding {
        self.caps
            .get()
            .map_or(PositionEncoding::Utf16, |caps| caps.encoding)
    }

    pub fn settings(&self) -> Arc<Settings> {
        self.settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Applies a `workspace/configuration` answer over the `initializationOptions`. Returns
    /// whether the lint settings changed (every workspace must then be re-checked) and warnings.
    pub fn configure(&self, configuration: &Value) -> (bool, Vec<String>) {
        let options = lock(&self.init_options).clone();
        let (settings, warnings) = Settings::resolve([&options, configuration]);
        self.log.set_level(settings.log_level);
        let mut current = self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let lint_changed = current.lint_select != settings.lint_select
            || current.lint_ignore != settings.lint_ignore;
        *current = Arc::new(settings);
        drop(current);
        if lint_changed {
            self.invalidate_all();
        }
        (lint_changed, warnings)
    }

    pub fn request_shutdown(&self) {
        lock(&self.state).shutdown = true;
    }

    pub fn shutdown_requested(&self) -> bool {
        lock(&self.state).shutdown
    }

    /// Opens (or reopens) a document.
    pub fn open(&self, uri: &Uri, version: i32, text: String) -> Placement {
        let document = Document::new(uri, version, text);
        let placement = document.placement.clone();
        let mut state = lock(&self.state);
        if let Some(previous) = state.documents.insert(uri.clone(), document)
            && let Some(pending) = previous.pending
        {
            pending.abort();
        }
        placement
    }

    pub fn change(
        &self,
        uri: &Uri,
        version: i32,
        changes: Vec<TextDocumentContentChangeEvent>,
    ) -> Result<Placement, ChangeRefused> {
        let encoding = self.encoding();
        let mut state = lock(&self.state);
        let document = state.documents.get_mut(uri).ok_or(ChangeRefused::NotOpen)?;
        if version <= document.version {
            return Err(ChangeRefused::Stale {
                current: document.version,
            });
        }
        document.apply_changes(version, changes, encoding);
        Ok(document.placement.clone())
    }

    pub fn close(&self, uri: &Uri) -> Option<Placement> {
        let document = lock(&self.state).documents.remove(uri)?;
        if let Some(pending) = document.pending {
            pending.abort();
        }
        Some(document.placement)
    }

    pub fn snapshot(&self, uri: &Uri) -> Option<DocumentSnapshot> {
        let state = lock(&self.state);
        let document = state.documents.get(uri)?;
        Some(DocumentSnapshot {
            uri: uri.clone(),
            placement: document.placement.clone(),
            version: document.version,
            source: Arc::clone(&document.source),
        })
    }

    pub fn is_current(&self, uri: &Uri, version: i32) -> bool {
        lock(&self.state)
            .documents
            .get(uri)
            .is_some_and(|document| document.version == version)
    }

    /// Records the validation in flight for a document, aborting the one it supersedes.
    pub fn set_pending(&self, uri: &Uri, task: tokio::task::AbortHandle) {
        let mut state = lock(&self.state);
        match state.documents.get_mut(uri) {
            Some(document) => {
                if let Some(previous) = document.pending.replace(task) {
                    previous.abort();
                }
            }
            None => task.abort(),
        }
    }

    /// Keeps a validation if it is of the document's current version and not older (by workspace
    /// generation) than the one kept; says whether it was kept, which is whether to publish it.
    /// A result checked against a workspace that changed since is still published: the change
    /// scheduled a new check of every open document, which will supersede it.
    pub fn store_validation(&self, uri: &Uri, validation: &Arc<Validation>) -> bool {
        let mut state = lock(&self.state);
        let Some(document) = state.documents.get_mut(uri) else {
            return false;
        };
        if document.version != validation.version {
            return false;
        }
        let newer = document
            .validated
            .as_ref()
            .is_none_or(|kept| kept.generation <= validation.generation);
        if newer {
            document.validated = Some(Arc::clone(validation));
        }
        newer
    }

    /// The stored validation, if it is still of the current version and workspace.
    pub fn validated(&self, uri: &Uri) -> Option<Arc<Validation>> {
        let state = lock(&self.state);
        let document = state.documents.get(uri)?;
        let validated = document.validated.clone()?;
        let generation = document
            .placement
            .root
            .as_deref()
            .and_then(|root| state.workspaces.get(root))
            .map_or(0, |entry| entry.generation);
        (validated.version == document.version && validated.generation == generation)
            .then_some(validated)
    }

    pub fn generation(&self, root: Option<&Path>) -> u64 {
        let state = lock(&self.state);
        root.and_then(|root| state.workspaces.get(root))
            .map_or(0, |entry| entry.generation)
    }

    /// Forgets the snapshot of the workspace at `root`: the next use reads it again.
    pub fn invalidate(&self, root: &Path) {
        let mut state = lock(&self.state);
        let entry = state.workspaces.entry(root.to_path_buf()).or_default();
        entry.generation += 1;
        entry.snapshot = None;
    }

    pub fn invalidate_all(&self) {
        let mut state = lock(&self.state);
        for entry in state.workspaces.values_mut() {
            entry.generation += 1;
            entry.snapshot = None;
        }
    }

    /// The open documents (in `root`, when given) that are validated.
    pub fn open_documents(&self, root: Option<&Path>) -> Vec<Uri> {
        let state = lock(&self.state);
        let mut uris: Vec<Uri> = state
            .documents
            .iter()
            .filter(|(_, document)| document.placement.kind != DocumentKind::Other)
            .filter(|(_, document)| {
                root.is_none_or(|root| document.placement.root.as_deref() == Some(root))
            })
            .map(|(uri, _)| uri.clone())
            .collect();
        uris.sort();
        uris
    }

    /// Every workspace root the session knows: the client's folders (when they are workspaces)
    /// and those of open documents.
    pub fn roots(&self) -> Vec<PathBuf> {
        let mut roots: Vec<PathBuf> = self
            .caps()
            .workspace_folders
            .iter()
            .filter_map(|folder| riposte_workspace::find_root(folder))
            .collect();
        let state = lock(&self.state);
        roots.extend(
            state
                .documents
                .values()
                .filter_map(|document| document.placement.root.clone()),
        );
        roots.sort();
        roots.dedup();
        roots
    }

    /// The snapshot of the workspace at `root` (or of none), reading it if needed. Blocking file
    /// I/O: call it off the async runtime.
    pub fn workspace(&self, root: Option<&Path>) -> Arc<WorkspaceSnapshot> {
        let settings = self.settings();
        let Some(root) = root else {
            return Arc::new(WorkspaceSnapshot::detached(&settings));
        };
        let (generation, overlays) = {
            let mut state = lock(&self.state);
            let entry = state.workspaces.entry(root.to_path_buf()).or_default();
            if let Some(snapshot) = &entry.snapshot {
                return Arc::clone(snapshot);
            }
            let generation = entry.generation;
            (generation, overlays(&state, root))
        };
        let snapshot = Arc::new(WorkspaceSnapshot::load(
            root, &overlays, &settings, generation,
        ));
        let mut state = lock(&self.state);
        if let Some(entry) = state.workspaces.get_mut(root)
            && entry.generation == generation
        {
            entry.snapshot = Some(Arc::clone(&snapshot));
        }
        snapshot
    }
}

/// The open buffers of a workspace that stand in for its files. Playbooks count only by name (a
/// new unsaved playbook is a playbook rules may point at), so their text is not copied.
fn overlays(state: &State, root: &Path) -> Overlays {
    let mut overlays = Overlays::new();
    for document in state.documents.values() {
        let placement = &document.placement;
        let Some(path) = &placement.path else {
            continue;
        };
        if !path.starts_with(root) {
            continue;
        }
        match placement.kind {
            DocumentKind::Config | DocumentKind::Profile | DocumentKind::Rule => {
                overlays.insert(path.clone(), document.source.text().to_string());
            }
            DocumentKind::Playbook => {
                overlays.insert(path.clone(), String::new());
            }
            // An OpenAPI document a profile may name.
            DocumentKind::Other if path.extension().is_some_and(|e| e == "json") => {
                overlays.insert(path.clone(), document.source.text().to_string());
            }
            DocumentKind::Other => {}
        }
    }
    overlays
}
