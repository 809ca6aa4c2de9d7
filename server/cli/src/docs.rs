//! `riposte docs PLAYBOOK…`: write each playbook's Markdown documentation, with its Mermaid flow
//! diagram, next to it (`playbooks/<name>.md`); `--stdout` prints it instead, `--check` only
//! says whether the file on disk is current (for CI).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use clap::Args;
use riposte_core::SourceFile;

use crate::check::load_workspace_for;
use crate::exit;

#[derive(Args)]
pub struct DocsArgs {
    /// Playbooks (`playbooks/<name>.py`); the workspace is found from `riposte.toml` above them.
    #[arg(required = true, value_name = "PLAYBOOK")]
    pub playbooks: Vec<PathBuf>,
    /// Print the Markdown instead of writing `<name>.md` next to the playbook.
    #[arg(long, conflicts_with = "check")]
    pub stdout: bool,
    /// Write nothing; exit 1 when a `<name>.md` is missing or differs from what would be generated.
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: &DocsArgs) -> anyhow::Result<u8> {
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let mut stale = 0;
    for playbook in &args.playbooks {
        let markdown = generate(playbook, &cwd)?;
        let target = playbook.with_extension("md");
        let shown = display(&target, &cwd);
        if args.stdout {
            print!("{markdown}");
            continue;
        }
        let existing = match std::fs::read(&target) {
            Ok(bytes) => Some(bytes),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => return Err(err).with_context(|| format!("cannot read {shown}")),
        };
        // A checkout that turned line endings into CRLF still holds the same document.
        let current = existing
            .as_deref()
            .is_some_and(|bytes| String::from_utf8_lossy(bytes).replace("\r\n", "\n") == markdown);
        if args.check {
            if current {
                println!("{shown} is up to date");
            } else {
                stale += 1;
                let what = if existing.is_some() {
                    "is out of date"
                } else {
                    "is missing"
                };
                eprintln!(
                    "riposte: {shown} {what}; run `riposte docs {}` and commit the result",
                    display(playbook, &cwd)
                );
            }
        } else if current {
            println!("{shown} is up to date");
        } else {
            std::fs::write(&target, &markdown).with_context(|| format!("cannot write {shown}"))?;
            println!("wrote {shown}");
        }
    }
    Ok(if stale > 0 {
        exit::FINDINGS
    } else {
        exit::CLEAN
    })
}

/// The Markdown for one playbook, or a clear reason why there is none.
fn generate(playbook: &Path, cwd: &Path) -> anyhow::Result<String> {
    let shown = display(playbook, cwd);
    if playbook.is_dir() {
        bail!("{shown} is a folder; name the playbooks: `riposte docs {shown}/*.py`");
    }
    if playbook.extension().is_none_or(|e| e != "py") {
        bail!("{shown} is not a Python playbook (a `.py` file)");
    }
    let name = playbook
        .file_stem()
        .and_then(|stem| stem.to_str())
        .ok_or_else(|| anyhow!("{shown}: the file name is not valid UTF-8"))?;
    if !playbook.exists() {
        bail!("{shown} does not exist");
    }
    // Absolute, so that a bare file name (`riposte docs x.py` inside `playbooks/`) still finds
    // the workspace above it.
    let loaded = load_workspace_for(&cwd.join(playbook))?;
    let bytes = riposte_workspace::read_bytes(playbook)?;
    if bytes.contains(&0) {
        bail!("{shown} is a binary file (it contains a NUL byte), not a Python playbook");
    }
    let (source, invalid_at) = SourceFile::from_bytes(&bytes);
    if let Some(at) = invalid_at {
        let position = source.position(at);
        bail!(
            "{shown}:{}:{}: the file is not valid UTF-8; save it as UTF-8",
            position.line,
            position.column
        );
    }
    riposte_core::docs::render(name, &source, &loaded.workspace)
        .map_err(|error| anyhow!("{shown}: {error}"))
}

/// The path as the user should see it: relative to the current folder when inside it.
fn display(path: &Path, cwd: &Path) -> String {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let shown = absolute.strip_prefix(cwd).unwrap_or(path);
    shown.to_string_lossy().replace('\\', "/")
}
