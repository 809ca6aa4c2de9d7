//! Checking a playbook: parse it error-resiliently, run every rule in one walk, then apply the
//! workspace's lint selection and the file's `# noqa` comments.

mod checker;
mod modules;
mod nesting;
mod noqa;
mod rule;
pub mod secrets;
pub mod semantic;

pub use noqa::{NoqaDirective, noqa_directives};
pub use rule::Rule;

use std::collections::HashSet;

use ruff_python_ast::ModModule;
use ruff_python_parser::{Mode, ParseOptions, Parsed, parse_unchecked};
use ruff_text_size::{Ranged, TextRange, TextSize};

use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;
use crate::workspace::Workspace;

/// Parses a playbook for the configured Python version, or says why it would not be safe to:
/// nesting deeper than CPython accepts is refused before the parser builds a tree that deep.
pub fn parse_playbook(
    source: &str,
    workspace: &Workspace,
) -> Result<Parsed<ModModule>, Diagnostic> {
    if let Some(too_deep) = nesting::find_excess(source) {
        return Err(too_deep);
    }
    let options =
        ParseOptions::from(Mode::Module).with_target_version(workspace.config.python_version());
    let parsed = parse_unchecked(source, options);
    Ok(parsed
        .try_into_module()
        .expect("Mode::Module parses a module"))
}

/// Every diagnostic for one playbook, sorted by position, after lint selection and `noqa`.
pub fn check_playbook(source: &SourceFile, workspace: &Workspace) -> Vec<Diagnostic> {
    // The AST walk recurses; a fresh stack keeps a hostile but CPython-legal file from exhausting
    // the caller's (a 2 MiB test or worker thread, say).
    stacker::maybe_grow(256 * 1024, 8 * 1024 * 1024, || {
        check_unfiltered(source, workspace)
    })
    .into_iter()
    .filter_map(|mut diagnostic| {
        diagnostic.severity = workspace.config.effective_severity(diagnostic.rule)?;
        Some(diagnostic)
    })
    .collect::<Vec<_>>()
    .apply_noqa(source.text())
}

/// Checks bytes as read from disk: a binary or non-UTF-8 file is an RP001 at the first bad byte.
pub fn check_playbook_bytes(bytes: &[u8], workspace: &Workspace) -> (SourceFile, Vec<Diagnostic>) {
    // `contains` is a fast byte search; the position is only needed for a binary file.
    if bytes.contains(&0)
        && let Some(nul) = bytes.iter().position(|&b| b == 0)
    {
        let (file, _) = SourceFile::from_bytes(&bytes[..nul]);
        let at = TextSize::try_from(file.text().len()).unwrap_or_default();
        let diagnostic = Diagnostic::at_offset(
            Rule::SyntaxError,
            at,
            "this is a binary file (it contains a NUL byte), not a Python playbook",
        );
        return (file, vec![diagnostic]);
    }
    let (file, invalid_at) = SourceFile::from_bytes(bytes);
    if let Some(at) = invalid_at {
        let diagnostic = Diagnostic::at_offset(
            Rule::SyntaxError,
            at,
            "the file is not valid UTF-8 here; save it as UTF-8 (Python source must be UTF-8)",
        );
        return (file, vec![diagnostic]);
    }
    let diagnostics = check_playbook(&file, workspace);
    (file, diagnostics)
}

fn check_unfiltered(source: &SourceFile, workspace: &Workspace) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let max_lines = workspace.config.limits.max_lines;
    let lines = source.line_count() - usize::from(source.text().ends_with('\n'));
    if lines > max_lines {
        let line_start = source
            .line_index()
            .line_starts()
            .get(max_lines)
            .copied()
            .unwrap_or_default();
        diagnostics.push(Diagnostic::at_offset(
            Rule::TooManyLines,
            line_start,
            format!(
                "the playbook has {lines} lines, over the limit of {max_lines} (`limits.max_lines`): split helpers out or simplify"
            ),
        ));
    }

    let parsed = match parse_playbook(source.text(), workspace) {
        Ok(parsed) => parsed,
        Err(too_deep) => {
            diagnostics.push(too_deep);
            return sorted(diagnostics);
        }
    };

    let mut seen_errors: HashSet<TextRange> = HashSet::new();
    for error in parsed.errors() {
        // The recovering parser can report several errors at one spot; one is enough to read.
        if !seen_errors.insert(error.location) {
            continue;
        }
        diagnostics.push(Diagnostic::new(
            Rule::SyntaxError,
            error.location,
            format!("syntax error: {}", error.error),
        ));
    }
    for error in parsed.unsupported_syntax_errors() {
        diagnostics.push(Diagnostic::new(
            Rule::UnsupportedSyntax,
            error.range(),
            format!("{error}: raise `python.version` in riposte.toml or rewrite it"),
        ));
    }

    diagnostics.extend(checker::check_module(parsed.syntax(), source, workspace));
    sorted(diagnostics)
}

fn sorted(mut diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diagnostics.sort_by(|a, b| {
        (a.range.start(), a.rule, &a.message).cmp(&(b.range.start(), b.rule, &b.message))
    });
    diagnostics
}

trait ApplyNoqa {
    fn apply_noqa(self, text: &str) -> Self;
}

impl ApplyNoqa for Vec<Diagnostic> {
    fn apply_noqa(self, text: &str) -> Self {
        if !text.contains("noqa") {
            return self;
        }
        // Directives come in line order: find the one on a diagnostic's line by binary search,
        // so a file with a `noqa` and a finding on every line stays linear.
        let directives = noqa_directives(text);
        self.into_iter()
            .filter(|d| {
                let at = d.range.start();
                let next = directives.partition_point(|directive| directive.line.end() <= at);
                let candidates = [next.checked_sub(1), Some(next)].into_iter().flatten();
                !candidates
                    .filter_map(|i| directives.get(i))
                    .any(|directive| directive.suppresses(d.rule, at, text))
            })
            .collect()
    }
}

/// A code or code prefix in `[lint] select/ignore`: `RP003`, `RP0`, `RP`, or `ALL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSelector<'a> {
    All,
    Prefix(&'a str),
}

impl<'a> RuleSelector<'a> {
    pub fn parse(text: &'a str) -> Option<Self> {
        if text.eq_ignore_ascii_case("ALL") {
            return Some(RuleSelector::All);
        }
        let matches_any = Rule::ALL
            .iter()
            .any(|rule| rule.code().starts_with(&text.to_ascii_uppercase()));
        (text.len() >= 2 && matches_any).then_some(RuleSelector::Prefix(text))
    }

    pub fn matches(self, rule: Rule) -> bool {
        match self {
            RuleSelector::All => true,
            RuleSelector::Prefix(prefix) => rule.code().starts_with(&prefix.to_ascii_uppercase()),
        }
    }
}
