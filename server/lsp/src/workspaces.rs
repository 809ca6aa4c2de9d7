//! Workspace snapshots: what `riposte_workspace` reads from disk, with open buffers standing in
//! for their files and the editor's lint settings applied. One per workspace root, rebuilt when a
//! `riposte.toml`, profile or rule changes (in the editor or on disk).

use std::path::{Path, PathBuf};

use riposte_core::Workspace;
use riposte_core::formats::config::ConfigError;
use riposte_workspace::{FileReport, LoadedWorkspace, Overlays};

use crate::settings::Settings;

pub struct WorkspaceSnapshot {
    pub root: Option<PathBuf>,
    /// Bumped by every change that invalidates the snapshot; a snapshot knows the one it saw.
    pub generation: u64,
    pub workspace: Workspace,
    /// Profile and rule files as loaded (open buffers included), with their diagnostics.
    pub files: Vec<FileReport>,
    /// `playbooks/*.py` on disk (and open ones not saved yet), sorted.
    pub playbooks: Vec<PathBuf>,
    /// A broken `riposte.toml`: the defaults apply meanwhile.
    pub config_error: Option<ConfigError>,
    /// The workspace could not be read at all (a folder it cannot list, say).
    pub load_error: Option<String>,
}

impl WorkspaceSnapshot {
    /// The snapshot of no workspace: a file outside any, checked with the defaults.
    pub fn detached(settings: &Settings) -> WorkspaceSnapshot {
        let mut workspace = Workspace::default();
        apply_settings(&mut workspace, settings);
        WorkspaceSnapshot {
            root: None,
            generation: 0,
            workspace,
            files: Vec::new(),
            playbooks: Vec::new(),
            config_error: None,
            load_error: None,
        }
    }

    /// Reads the workspace at `root`. Blocking file I/O: call it off the async runtime.
    pub fn load(root: &Path, overlays: &Overlays, settings: &Settings, generation: u64) -> Self {
        match riposte_workspace::load_for_editor(root, overlays) {
            Ok((
                LoadedWorkspace {
                    mut workspace,
                    files,
                    playbooks,
                    ..
                },
                config_error,
            )) => {
                apply_settings(&mut workspace, settings);
                WorkspaceSnapshot {
                    root: Some(root.to_path_buf()),
                    generation,
                    workspace,
                    files,
                    playbooks,
                    config_error,
                    load_error: None,
                }
            }
            Err(err) => {
                tracing::warn!("cannot read the workspace at {}: {err}", root.display());
                let mut snapshot = WorkspaceSnapshot::detached(settings);
                snapshot.root = Some(root.to_path_buf());
                snapshot.generation = generation;
                snapshot.load_error = Some(err.to_string());
                snapshot
            }
        }
    }

    /// The report of a profile or rule file, by path.
    pub fn file(&self, path: &Path) -> Option<&FileReport> {
        self.files.iter().find(|file| file.path == path)
    }
}

/// The editor's `lint.select` / `lint.ignore` replace the workspace's own.
fn apply_settings(workspace: &mut Workspace, settings: &Settings) {
    if let Some(select) = &settings.lint_select {
        workspace.config.lint.select = select.clone();
    }
    if let Some(ignore) = &settings.lint_ignore {
        workspace.config.lint.ignore = ignore.clone();
    }
}
