//! Reading a workspace from disk: the one place that turns `riposte.toml`, `integrations/*.toml`,
//! `rules/*.toml` and `playbooks/*.py` into the core's `Workspace`, for the CLI, the language
//! server, the runtime and the engine alike.
//!
//! Problems with a profile or a rule are diagnostics on that file (RP101, RP102); a broken
//! `riposte.toml` is an error, because nothing can be checked without the settings.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use riposte_core::catalog::ApiCatalog;
use riposte_core::formats::automation::AutomationRule;
use riposte_core::formats::config::{Config, ConfigError};
use riposte_core::formats::profile::Profile;
use riposte_core::source::Position;
use riposte_core::{Diagnostic, Rule, SourceFile, Workspace};

/// Files bigger than this are refused rather than read: no playbook, profile or rule is this big.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

pub const CONFIG_FILE: &str = "riposte.toml";
pub const PLAYBOOKS_DIR: &str = "playbooks";
pub const INTEGRATIONS_DIR: &str = "integrations";
pub const RULES_DIR: &str = "rules";

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is {size} bytes, over the {MAX_FILE_BYTES}-byte limit for workspace files")]
    TooLarge { path: PathBuf, size: u64 },
    #[error("{path}:{line}:{column}: {message}")]
    Config {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// One workspace file's text and what is wrong with it.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub path: PathBuf,
    pub source: SourceFile,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone)]
pub struct LoadedWorkspace {
    /// The folder holding `riposte.toml`, or the folder given when there is none.
    pub root: PathBuf,
    /// Whether a `riposte.toml` was found (without one, defaults apply).
    pub has_config: bool,
    pub workspace: Workspace,
    /// Profile and rule files, with their diagnostics.
    pub files: Vec<FileReport>,
    /// `playbooks/*.py`, sorted.
    pub playbooks: Vec<PathBuf>,
}

/// The nearest folder at or above `start` that holds a `riposte.toml`.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    // Canonicalise first: a bare file name's parent is "", which names no folder.
    let absolute = fs::canonicalize(start).ok()?;
    let absolute = if absolute.is_file() {
        absolute.parent()?.to_path_buf()
    } else {
        absolute
    };
    absolute
        .ancestors()
        .find(|dir| dir.join(CONFIG_FILE).is_file())
        .map(Path::to_path_buf)
}

/// Reads a file, refusing ones too large to be workspace files.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, WorkspaceError> {
    let read_error = |source| WorkspaceError::Read {
        path: path.to_path_buf(),
        source,
    };
    let size = fs::metadata(path).map_err(read_error)?.len();
    if size > MAX_FILE_BYTES {
        return Err(WorkspaceError::TooLarge {
            path: path.to_path_buf(),
            size,
        });
    }
    fs::read(path).map_err(read_error)
}

/// Parses `riposte.toml` text, with the error located for a person.
pub fn parse_config(path: &Path, text: &str) -> Result<Config, WorkspaceError> {
    Config::parse(text).map_err(|ConfigError { message, range }| {
        let Position { line, column } = SourceFile::new(text).position(range.start());
        WorkspaceError::Config {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    })
}

/// Open editor buffers that stand in for the files on disk at these paths (`root.join(…)`).
pub type Overlays = HashMap<PathBuf, String>;

/// Loads the workspace rooted at `root` (which may lack a `riposte.toml`: defaults then apply).
pub fn load(root: &Path) -> Result<LoadedWorkspace, WorkspaceError> {
    let config_path = root.join(CONFIG_FILE);
    let config = if config_path.is_file() {
        let bytes = read_bytes(&config_path)?;
        let text = String::from_utf8(bytes).map_err(|_| WorkspaceError::Config {
            path: config_path.clone(),
            line: 1,
            column: 1,
            message: "riposte.toml is not valid UTF-8".into(),
        })?;
        Some(parse_config(&config_path, &text)?)
    } else {
        None
    };
    load_with(root, config, &Overlays::new())
}

/// What an editor loads: like [`load`], but open buffers (`overlays`) stand in for the files on
/// disk, unsaved new files included, and a broken `riposte.toml` does not stop the load: the
/// defaults apply and its error comes back beside the workspace, for the editor to show at its
/// range.
pub fn load_for_editor(
    root: &Path,
    overlays: &Overlays,
) -> Result<(LoadedWorkspace, Option<ConfigError>), WorkspaceError> {
    let config_path = root.join(CONFIG_FILE);
    let text: Option<Result<String, ConfigError>> = match overlays.get(&config_path) {
        Some(text) => Some(Ok(text.clone())),
        None if config_path.is_file() => Some(
            String::from_utf8(read_bytes(&config_path)?).map_err(|_| ConfigError {
                message: "riposte.toml is not valid UTF-8".into(),
                range: Default::default(),
            }),
        ),
        None => None,
    };
    let (config, error) = match text {
        None => (None, None),
        Some(Err(error)) => (Some(Config::default()), Some(error)),
        Some(Ok(text)) => match Config::parse(&text) {
            Ok(config) => (Some(config), None),
            Err(error) => (Some(Config::default()), Some(error)),
        },
    };
    Ok((load_with(root, config, overlays)?, error))
}

fn load_with(
    root: &Path,
    config: Option<Config>,
    overlays: &Overlays,
) -> Result<LoadedWorkspace, WorkspaceError> {
    let has_config = config.is_some();
    let mut workspace = Workspace::new(config.unwrap_or_default());
    let playbooks = list(&root.join(PLAYBOOKS_DIR), "py", overlays)?;
    for playbook in &playbooks {
        if let Some(stem) = playbook.file_stem().and_then(|s| s.to_str()) {
            workspace.add_playbook(stem);
        }
    }

    let mut files = Vec::new();
    for path in list(&root.join(INTEGRATIONS_DIR), "toml", overlays)? {
        let (source, mut diagnostics) = read_text(&path, Rule::InvalidProfile, overlays)?;
        if diagnostics.is_empty() {
            let (profile, found) = Profile::parse(source.text());
            diagnostics = found;
            if let Some(profile) = profile {
                if let Some(existing) = workspace.profile(&profile.name) {
                    diagnostics.push(Diagnostic::new(
                        Rule::InvalidProfile,
                        key_range(&source, "name"),
                        format!("another profile, {}, is already named `{}`: profile names must be unique", existing.path, profile.name),
                    ));
                } else {
                    let catalog =
                        load_custom_catalog(root, &profile, &source, &mut diagnostics, overlays);
                    workspace.add_profile(relative(root, &path), profile, catalog);
                }
            }
        }
        files.push(FileReport {
            path,
            source,
            diagnostics,
        });
    }

    for path in list(&root.join(RULES_DIR), "toml", overlays)? {
        let (source, mut diagnostics) = read_text(&path, Rule::InvalidRule, overlays)?;
        if diagnostics.is_empty() {
            diagnostics =
                AutomationRule::parse(source.text(), &|name| workspace.has_playbook(name)).1;
        }
        files.push(FileReport {
            path,
            source,
            diagnostics,
        });
    }

    Ok(LoadedWorkspace {
        root: root.to_path_buf(),
        has_config,
        workspace,
        files,
        playbooks,
    })
}

/// A profile's own OpenAPI document, when `api` names a file; problems become RP101 on `api`.
fn load_custom_catalog(
    root: &Path,
    profile: &Profile,
    source: &SourceFile,
    diagnostics: &mut Vec<Diagnostic>,
    overlays: &Overlays,
) -> Option<ApiCatalog> {
    let api = profile.api.as_deref()?;
    if !profile.api_is_file() {
        if ApiCatalog::builtin(api).is_none() {
            diagnostics.push(Diagnostic::new(
                Rule::InvalidProfile,
                key_range(source, "api"),
                format!(
                    "`{api}` is neither a built-in catalog ({}) nor a path to an OpenAPI JSON file",
                    ApiCatalog::builtin_names().join(", ")
                ),
            ));
        }
        return None;
    }
    let path = root.join(api);
    let read = match overlays.get(&path) {
        Some(text) => Ok(Ok(text.clone())),
        None => read_bytes(&path).map(String::from_utf8),
    };
    let text = match read {
        Ok(Ok(text)) => text,
        Ok(Err(_)) => {
            diagnostics.push(Diagnostic::new(
                Rule::InvalidProfile,
                key_range(source, "api"),
                format!("{api} is not valid UTF-8"),
            ));
            return None;
        }
        Err(err) => {
            diagnostics.push(Diagnostic::new(
                Rule::InvalidProfile,
                key_range(source, "api"),
                err.to_string(),
            ));
            return None;
        }
    };
    match ApiCatalog::from_openapi(&profile.name, &text) {
        Ok(catalog) => Some(catalog),
        Err(err) => {
            diagnostics.push(Diagnostic::new(
                Rule::InvalidProfile,
                key_range(source, "api"),
                format!("{api}: {err}"),
            ));
            None
        }
    }
}

/// Reads a TOML file as text; bytes that are not UTF-8 are a diagnostic of `rule` on the file.
fn read_text(
    path: &Path,
    rule: Rule,
    overlays: &Overlays,
) -> Result<(SourceFile, Vec<Diagnostic>), WorkspaceError> {
    if let Some(text) = overlays.get(path) {
        return Ok((SourceFile::new(text.as_str()), Vec::new()));
    }
    let bytes = read_bytes(path)?;
    let (source, invalid_at) = SourceFile::from_bytes(&bytes);
    let diagnostics = match invalid_at {
        Some(at) => vec![Diagnostic::at_offset(
            rule,
            at,
            "the file is not valid UTF-8; TOML must be UTF-8",
        )],
        None => Vec::new(),
    };
    Ok((source, diagnostics))
}

fn key_range(source: &SourceFile, key: &str) -> riposte_core::source::TextRange {
    riposte_core::formats::key_range(source.text(), key)
}

/// Files with the extension directly in `dir` (on disk or open in the editor), sorted; a missing
/// folder is an empty list.
fn list(dir: &Path, extension: &str, overlays: &Overlays) -> Result<Vec<PathBuf>, WorkspaceError> {
    let opened = overlays
        .keys()
        .filter(|path| {
            path.parent() == Some(dir) && path.extension().is_some_and(|e| e == extension)
        })
        .cloned();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let mut paths: Vec<PathBuf> = opened.collect();
            paths.sort();
            return Ok(paths);
        }
        Err(source) => {
            return Err(WorkspaceError::Read {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == extension))
        .chain(opened)
        .collect();
    paths.sort();
    paths.dedup();
    Ok(paths)
}

/// `path` relative to `root`, with `/` separators, for messages and records.
pub fn relative(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
