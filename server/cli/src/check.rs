//! `riposte check [PATH…]`: which files to check, and the exit code their findings make.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use riposte_core::diagnostic::apply_edits;
use riposte_core::{Applicability, Severity, check_playbook_bytes};
use riposte_workspace::{FileReport, LoadedWorkspace};

use crate::exit;
use crate::output;

#[derive(Args)]
pub struct CheckArgs {
    /// Playbooks, workspace files or folders; the workspace is found from `riposte.toml`. Defaults to `.`.
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Apply safe fixes to playbooks in place, then report what is left.
    #[arg(long)]
    pub fix: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// path:line:col, code and message, with a source frame.
    Text,
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other viewers.
    Sarif,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
}

pub fn run(args: &CheckArgs) -> anyhow::Result<u8> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let mut reports: Vec<Report> = Vec::new();
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    for path in &paths {
        if !path.exists() {
            anyhow::bail!("{} does not exist", path.display());
        }
        let loaded = load_workspace_for(path)?;
        collect(path, &loaded, &cwd, args.fix, &mut reports)?;
    }
    reports.sort_by(|a, b| a.display_path.cmp(&b.display_path));
    reports.dedup_by(|a, b| a.display_path == b.display_path);

    let rendered = match args.format {
        Format::Text => output::text::render(&reports),
        Format::Json => output::json::render(&reports),
        Format::Sarif => output::sarif::render(&reports),
        Format::Github => output::github::render(&reports),
    };
    print!("{rendered}");
    let has_errors = reports
        .iter()
        .flat_map(|r| &r.file.diagnostics)
        .any(|d| d.severity == Severity::Error);
    Ok(if has_errors {
        exit::FINDINGS
    } else {
        exit::CLEAN
    })
}

/// One checked file, ready to print.
pub struct Report {
    /// The path as the user should see it: relative to the current folder when inside it.
    pub display_path: String,
    pub file: FileReport,
}

pub fn load_workspace_for(path: &Path) -> anyhow::Result<LoadedWorkspace> {
    let absolute = std::fs::canonicalize(path)
        .with_context(|| format!("cannot resolve {}", path.display()))?;
    let root = riposte_workspace::find_root(&absolute).unwrap_or_else(|| {
        let dir = if absolute.is_dir() {
            absolute.as_path()
        } else {
            absolute.parent().unwrap_or(&absolute)
        };
        // A playbook outside any workspace: use the folder above `playbooks/` when there is one.
        let dir = if dir.ends_with(riposte_workspace::PLAYBOOKS_DIR) {
            dir.parent().unwrap_or(dir)
        } else {
            dir
        };
        dir.to_path_buf()
    });
    Ok(riposte_workspace::load(&root)?)
}

fn collect(
    path: &Path,
    loaded: &LoadedWorkspace,
    cwd: &Path,
    fix: bool,
    reports: &mut Vec<Report>,
) -> anyhow::Result<()> {
    let canonical = std::fs::canonicalize(path)
        .with_context(|| format!("cannot resolve {}", path.display()))?;
    let root = std::fs::canonicalize(&loaded.root).unwrap_or_else(|_| loaded.root.clone());
    let targets: Vec<PathBuf> = if canonical.is_dir() {
        if canonical == root {
            // The whole workspace: its playbooks and its TOML files.
            for file in &loaded.files {
                reports.push(Report {
                    display_path: display(&file.path, cwd),
                    file: file.clone(),
                });
            }
            loaded.playbooks.clone()
        } else {
            python_files_under(&canonical)?
        }
    } else {
        if let Some(file) = loaded
            .files
            .iter()
            .find(|f| std::fs::canonicalize(&f.path).ok().as_ref() == Some(&canonical))
        {
            reports.push(Report {
                display_path: display(&file.path, cwd),
                file: file.clone(),
            });
            return Ok(());
        }
        vec![canonical]
    };
    for target in targets {
        reports.push(check_one(&target, loaded, cwd, fix)?);
    }
    Ok(())
}

fn check_one(
    path: &Path,
    loaded: &LoadedWorkspace,
    cwd: &Path,
    fix: bool,
) -> anyhow::Result<Report> {
    let bytes = riposte_workspace::read_bytes(path)?;
    let (mut source, mut diagnostics) = check_playbook_bytes(&bytes, &loaded.workspace);
    if fix {
        let edits: Vec<_> = diagnostics
            .iter()
            .filter_map(|d| d.fix.as_ref())
            .filter(|f| f.applicability == Applicability::Safe)
            .flat_map(|f| &f.edits)
            .collect();
        if !edits.is_empty() {
            let fixed = apply_edits(source.text(), edits);
            std::fs::write(path, &fixed)
                .with_context(|| format!("cannot write the fixes to {}", path.display()))?;
            let (again_source, again) = check_playbook_bytes(fixed.as_bytes(), &loaded.workspace);
            source = again_source;
            diagnostics = again;
        }
    }
    Ok(Report {
        display_path: display(path, cwd),
        file: FileReport {
            path: path.to_path_buf(),
            source,
            diagnostics,
        },
    })
}

fn python_files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let hidden = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if hidden {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "py") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

fn display(path: &Path, cwd: &Path) -> String {
    let shown = path.strip_prefix(cwd).unwrap_or(path);
    shown.to_string_lossy().replace('\\', "/")
}
