//! Open documents: their text, version and kind, and incremental edits applied in order.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use riposte_core::SourceFile;
use riposte_core::source::PositionEncoding;
use riposte_workspace::{CONFIG_FILE, INTEGRATIONS_DIR, PLAYBOOKS_DIR, RULES_DIR};
use tower_lsp_server::ls_types::{TextDocumentContentChangeEvent, Uri};

use crate::convert;
use crate::scheduler::Validation;

/// What a document is to Riposte, which decides how it is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// `playbooks/*.py`, or any `.py` file in a folder with a `riposte.toml` above it.
    Playbook,
    /// `riposte.toml`.
    Config,
    /// `integrations/*.toml`.
    Profile,
    /// `rules/*.toml`.
    Rule,
    /// Anything else: kept in sync, not validated.
    Other,
}

impl DocumentKind {
    /// Whether a change to a document of this kind changes what other documents are checked
    /// against.
    pub fn shapes_workspace(self) -> bool {
        matches!(
            self,
            DocumentKind::Config | DocumentKind::Profile | DocumentKind::Rule
        )
    }
}

/// Where a file sits: its kind, its path as the workspace loader spells it, its workspace root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub kind: DocumentKind,
    pub path: Option<PathBuf>,
    pub root: Option<PathBuf>,
}

impl Placement {
    pub fn of(uri: &Uri) -> Placement {
        let Some(path) = uri.to_file_path() else {
            return Placement {
                kind: DocumentKind::Other,
                path: None,
                root: None,
            };
        };
        Self::of_path(&path)
    }

    pub fn of_path(path: &Path) -> Placement {
        // The loader lists `root.join(dir).join(name)` with a canonical root: spell it the same.
        let path = match (
            path.parent().and_then(|p| std::fs::canonicalize(p).ok()),
            path.file_name(),
        ) {
            (Some(parent), Some(name)) => parent.join(name),
            _ => path.to_path_buf(),
        };
        let parent = path.parent();
        let folder = parent
            .and_then(Path::file_name)
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        let file_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let found_root = parent.and_then(riposte_workspace::find_root);
        // The folder above `playbooks/` (or `integrations/`, `rules/`) when there is no riposte.toml.
        let above = || parent.and_then(Path::parent).map(Path::to_path_buf);
        let (kind, root) = if file_name == CONFIG_FILE {
            (DocumentKind::Config, parent.map(Path::to_path_buf))
        } else if extension == "toml" && folder == INTEGRATIONS_DIR {
            (DocumentKind::Profile, found_root.or_else(above))
        } else if extension == "toml" && folder == RULES_DIR {
            (DocumentKind::Rule, found_root.or_else(above))
        } else if extension == "py" && folder == PLAYBOOKS_DIR {
            (DocumentKind::Playbook, found_root.or_else(above))
        } else if extension == "py" && found_root.is_some() {
            (DocumentKind::Playbook, found_root)
        } else {
            (DocumentKind::Other, None)
        };
        Placement {
            kind,
            path: Some(path),
            root,
        }
    }
}

pub struct Document {
    pub placement: Placement,
    pub version: i32,
    pub source: Arc<SourceFile>,
    /// The validation in flight for this document, aborted when a newer change supersedes it.
    pub pending: Option<tokio::task::AbortHandle>,
    /// The latest validation of the current version, if it has finished.
    pub validated: Option<Arc<Validation>>,
}

/// A consistent view of a document for work off the async runtime.
#[derive(Clone)]
pub struct DocumentSnapshot {
    pub uri: Uri,
    pub placement: Placement,
    pub version: i32,
    pub source: Arc<SourceFile>,
}

impl Document {
    pub fn new(uri: &Uri, version: i32, text: String) -> Document {
        Document {
            placement: Placement::of(uri),
            version,
            source: Arc::new(SourceFile::new(text)),
            pending: None,
            validated: None,
        }
    }

    /// Applies `didChange` content changes, each against the text the previous one produced.
    /// Ranges are clamped to the document; a reversed range is read in order.
    pub fn apply_changes(
        &mut self,
        version: i32,
        changes: Vec<TextDocumentContentChangeEvent>,
        encoding: PositionEncoding,
    ) {
        let mut source = Arc::clone(&self.source);
        for change in changes {
            let text = match change.range {
                None => change.text,
                Some(range) => {
                    let range = convert::text_range(&source, range, encoding);
                    let old = source.text();
                    let mut text = String::with_capacity(old.len() + change.text.len());
                    text.push_str(&old[..range.start().to_usize()]);
                    text.push_str(&change.text);
                    text.push_str(&old[range.end().to_usize()..]);
                    text
                }
            };
            source = Arc::new(SourceFile::new(text));
        }
        self.source = source;
        self.version = version;
        self.validated = None;
    }
}
