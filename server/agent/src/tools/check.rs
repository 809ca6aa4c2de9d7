//! `validate` and `write_docs`: the validator and the docs generator of `riposte_core`, on the
//! workspace as `riposte_workspace` loads it (the same view `riposte check` and the editor have).

use std::fmt::Write as _;
use std::path::Path;

use riposte_core::{Severity, SourceFile};
use riposte_workspace::LoadedWorkspace;

use crate::events::DiagnosticItem;

/// A playbook's diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    pub path: String,
    pub items: Vec<DiagnosticItem>,
    pub errors: usize,
    pub warnings: usize,
}

impl Validation {
    /// No error-level diagnostic: what `riposte check` passes (and what completion needs).
    pub fn passes(&self) -> bool {
        self.errors == 0
    }

    /// No diagnostic at all.
    pub fn is_clean(&self) -> bool {
        self.items.is_empty()
    }

    /// The diagnostics as the model reads them.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if self.items.is_empty() {
            let _ = writeln!(out, "{}: clean, no errors or warnings.", self.path);
            return out;
        }
        let _ = writeln!(
            out,
            "{}: {} error(s), {} warning(s).",
            self.path, self.errors, self.warnings
        );
        for item in &self.items {
            let _ = writeln!(
                out,
                "line {}, column {}: {} {} {}",
                item.line, item.column, item.severity, item.code, item.message
            );
        }
        out
    }
}

pub fn load(root: &Path) -> Result<LoadedWorkspace, String> {
    riposte_workspace::load(root).map_err(|err| format!("cannot load the workspace: {err}"))
}

/// Checks `text` as the playbook at `relative` (`playbooks/<name>.py`) of `loaded`.
pub fn validate_text(loaded: &LoadedWorkspace, relative: &str, text: &str) -> Validation {
    let source = SourceFile::new(text);
    let diagnostics = riposte_core::check_playbook(&source, &loaded.workspace);
    let mut validation = Validation {
        path: relative.to_string(),
        items: Vec::new(),
        errors: 0,
        warnings: 0,
    };
    for diagnostic in diagnostics {
        match diagnostic.severity {
            Severity::Error => validation.errors += 1,
            Severity::Warning | Severity::Info => validation.warnings += 1,
        }
        let start = source.position(diagnostic.range.start());
        validation.items.push(DiagnosticItem {
            line: start.line,
            column: start.column,
            code: diagnostic.rule.code().to_string(),
            severity: diagnostic.severity.as_str().to_string(),
            message: diagnostic.message,
        });
    }
    validation
}

/// `validate`: reads the playbook at `relative` and checks it.
pub fn validate(root: &Path, relative: &str) -> Result<Validation, String> {
    let loaded = load(root)?;
    let path = root.join(relative);
    let bytes = riposte_workspace::read_bytes(&path).map_err(|err| match &err {
        riposte_workspace::WorkspaceError::Read { source, .. }
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            format!("{relative} does not exist: write it first with write_playbook")
        }
        _ => err.to_string(),
    })?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{relative} is not UTF-8 text"))?;
    Ok(validate_text(&loaded, relative, &text))
}

/// The documentation of the playbook at `relative` (`playbooks/<name>.py`): its `.md` path and
/// Markdown text.
pub fn render_docs(root: &Path, relative: &str) -> Result<(String, String), String> {
    let loaded = load(root)?;
    let text = std::fs::read_to_string(root.join(relative))
        .map_err(|err| format!("cannot read {relative}: {err}"))?;
    let stem = Path::new(relative)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let markdown = riposte_core::docs::render(&stem, &SourceFile::new(text), &loaded.workspace)
        .map_err(|err| format!("{relative}: {err}"))?;
    Ok((format!("playbooks/{stem}.md"), markdown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_errors_with_positions() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("riposte.toml"), "").unwrap();
        let loaded = load(dir.path()).unwrap();
        let bad = validate_text(
            &loaded,
            "playbooks/x.py",
            "import requests\n\ndef run(alert, ctx):\n    requests.get('https://example.test')\n",
        );
        assert!(!bad.passes(), "{}", bad.to_text());
        assert!(bad.to_text().contains("line 1"), "{}", bad.to_text());
        let good = validate_text(
            &loaded,
            "playbooks/x.py",
            "\"\"\"Comment on the alert.\"\"\"\nfrom riposte import Alert, Context\n\n\ndef run(alert: Alert, ctx: Context) -> None:\n    ctx.comment(\"seen\")\n",
        );
        assert!(good.passes() && good.is_clean(), "{}", good.to_text());
    }
}
