//! Code actions, built from a diagnostic: its fix, a `# noqa` for its line, "create integration
//! profile X" for RP005, and the rewrite of `requests` calls to integration clients for RP003.
//! The language server turns these into LSP code actions; nothing here knows LSP.

use ruff_python_ast::token::TokenKind;
use ruff_text_size::{Ranged, TextRange, TextSize};
use serde::Serialize;

use super::analysis::{Analysis, NodesAt};
use super::requests::rewrite_requests;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::formats::profile::{AUTH_METHODS, Profile, profile_file_stem};
use crate::lint::{Rule, noqa_directives};
use crate::source::SourceFile;
use crate::workspace::Workspace;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeAction {
    pub title: String,
    pub kind: CodeActionKind,
    /// Edits to this file.
    pub edits: Vec<Edit>,
    /// Something the editor asks the server to do instead of (or after) editing this file.
    pub command: Option<ActionCommand>,
    /// The action an editor may apply with one keystroke (a safe fix).
    pub preferred: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeActionKind {
    QuickFix,
    /// `source.fixAll`: every safe fix in the file.
    SourceFixAll,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum ActionCommand {
    /// Write a skeleton profile `path` (relative to the workspace root) for `name`.
    CreateProfile { name: String, path: String },
}

/// The quick fixes for one diagnostic of this playbook.
pub fn code_actions(
    source: &SourceFile,
    workspace: &Workspace,
    diagnostic: &Diagnostic,
) -> Vec<CodeAction> {
    let mut actions = Vec::new();
    if let Some(fix) = &diagnostic.fix {
        actions.push(CodeAction {
            title: fix.title.clone(),
            kind: CodeActionKind::QuickFix,
            edits: fix.edits.clone(),
            command: None,
            preferred: fix.applicability == Applicability::Safe,
        });
    }
    let analysis = Analysis::new(source, workspace);
    match diagnostic.rule {
        Rule::UnknownIntegration => {
            if let Some(analysis) = &analysis {
                actions.extend(unknown_integration_actions(analysis, diagnostic.range));
            }
        }
        Rule::ExternalImport => {
            let imports_requests = source.text()[diagnostic.range]
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
                .any(|word| word == "requests" || word.starts_with("requests."));
            if imports_requests
                && let Some(analysis) = &analysis
                && let Some(rewrite) = rewrite_requests(analysis)
            {
                actions.push(CodeAction {
                    title: rewrite.title,
                    kind: CodeActionKind::QuickFix,
                    edits: rewrite.edits,
                    command: None,
                    preferred: false,
                });
            }
        }
        _ => {}
    }
    if diagnostic.rule != Rule::SyntaxError
        && let Some(edit) = noqa_edit(
            source,
            analysis.as_ref(),
            diagnostic.rule,
            diagnostic.range.start(),
        )
    {
        actions.push(CodeAction {
            title: format!(
                "Suppress {} on this line (`# noqa`)",
                diagnostic.rule.code()
            ),
            kind: CodeActionKind::QuickFix,
            edits: vec![edit],
            command: None,
            preferred: false,
        });
    }
    actions
}

fn unknown_integration_actions(analysis: &Analysis, range: TextRange) -> Vec<CodeAction> {
    let nodes = NodesAt::find(analysis.module(), range.start());
    let Some(string) = nodes.string.filter(|s| s.range() == range) else {
        return Vec::new();
    };
    let Some(reference) = nodes
        .call_with_argument(string, &["name"])
        .and_then(|call| analysis.bindings.integration_ref(call))
    else {
        return Vec::new();
    };
    let mut actions = Vec::new();
    // A slip of the keyboard: offer the profiles whose names are close.
    for known in analysis.workspace.profile_names() {
        if is_close(&reference.name, known) {
            let quoted = toml_string(known);
            actions.push(CodeAction {
                title: format!("Use profile `{known}`"),
                kind: CodeActionKind::QuickFix,
                edits: vec![Edit::replace(range, quoted)],
                command: None,
                preferred: false,
            });
        }
    }
    if let Some(skeleton) = profile_skeleton(&reference.name) {
        actions.push(CodeAction {
            title: format!(
                "Create integration profile `{}` ({})",
                reference.name, skeleton.path
            ),
            kind: CodeActionKind::QuickFix,
            edits: Vec::new(),
            command: Some(ActionCommand::CreateProfile {
                name: reference.name.clone(),
                path: skeleton.path,
            }),
            preferred: false,
        });
    }
    actions
}

/// Every safe fix among `diagnostics`, as one set of non-overlapping edits (`source.fixAll`).
pub fn fix_all(diagnostics: &[Diagnostic]) -> Vec<Edit> {
    let mut accepted: Vec<Edit> = Vec::new();
    for diagnostic in diagnostics {
        let Some(fix) = &diagnostic.fix else { continue };
        if fix.applicability != Applicability::Safe {
            continue;
        }
        let overlaps = fix.edits.iter().any(|edit| {
            accepted.iter().any(|other| {
                edit.range.start() < other.range.end() && other.range.start() < edit.range.end()
                    || edit.range == other.range
            })
        });
        if !overlaps {
            accepted.extend(fix.edits.iter().cloned());
        }
    }
    accepted.sort_by_key(|edit| (edit.range.start(), edit.range.end()));
    accepted
}

/// The edit that adds `rule` to a `# noqa` comment on the line holding `at`: appended to the
/// line's existing `# noqa: …` list, or a new comment at the end of the line. `None` when the line
/// ends inside a string (a comment there would be part of the string) or a bare `# noqa` already
/// covers every code.
pub(crate) fn noqa_edit(
    source: &SourceFile,
    analysis: Option<&Analysis>,
    rule: Rule,
    at: TextSize,
) -> Option<Edit> {
    let text = source.text();
    let line = source.line_range_of(at);
    let line_text = &text[line];
    let content_end = line.start()
        + TextSize::try_from(line_text.trim_end_matches(['\n', '\r']).trim_end().len()).ok()?;
    if let Some(analysis) = analysis {
        let inside_token = analysis.tokens_contain(content_end);
        if inside_token {
            return None;
        }
    }
    if let Some(directive) = noqa_directives(line_text).into_iter().next() {
        let (_, last) = directive.codes.last()?;
        if directive.codes.iter().any(|(code, _)| code == rule.code()) {
            return None;
        }
        return Some(Edit::insert(
            line.start() + last.end(),
            format!(", {}", rule.code()),
        ));
    }
    Some(Edit::insert(
        content_end,
        format!("  # noqa: {}", rule.code()),
    ))
}

/// A new profile file for `name`: where it goes and a text that parses (with placeholders to fill
/// in). `None` when the name makes no file name (no letters or digits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileSkeleton {
    /// Relative to the workspace root: `integrations/<stem>.toml`.
    pub path: String,
    pub text: String,
}

pub fn profile_skeleton(name: &str) -> Option<ProfileSkeleton> {
    let stem = profile_file_stem(name);
    if stem.is_empty() {
        return None;
    }
    let text = format!(
        "# Integration profile: the API's address and how requests are signed. Never put a secret\n\
         # here: the editor's secret store or RIPOSTE_<PROFILE>_<FIELD> environment variables hold them.\n\
         name = {}\n\
         description = \"\"\n\
         base_url = \"https://api.example.com\"   # the API's base URL (https)\n\
         # api = \"virustotal\"   # a built-in catalog ({}) or an OpenAPI 3 JSON file\n\
         \n\
         [auth]\n\
         method = \"bearer\"   # {}\n",
        toml_string(name),
        crate::catalog::ApiCatalog::builtin_names().join(", "),
        AUTH_METHODS.join(" | "),
    );
    debug_assert!(Profile::parse(&text).0.is_some());
    Some(ProfileSkeleton {
        path: format!("integrations/{stem}.toml"),
        text,
    })
}

/// A TOML basic string for `value` (also a valid Python string literal for printable text).
fn toml_string(value: &str) -> String {
    toml::Value::String(value.to_string()).to_string()
}

/// Whether a typed profile name is a slip for `known`: same letters ignoring case, or one or two
/// edits apart.
fn is_close(typed: &str, known: &str) -> bool {
    if typed.eq_ignore_ascii_case(known) {
        return true;
    }
    let (a, b): (Vec<char>, Vec<char>) = (
        typed.to_lowercase().chars().collect(),
        known.to_lowercase().chars().collect(),
    );
    if a.len().min(b.len()) < 4 || a.len().abs_diff(b.len()) > 2 {
        return false;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            current.push(
                (previous[j] + cost)
                    .min(previous[j + 1] + 1)
                    .min(current[j] + 1),
            );
        }
        previous = current;
    }
    previous[b.len()] <= 2
}

impl Analysis<'_> {
    /// Whether `offset` falls strictly inside one token (a string spanning lines, say).
    pub(crate) fn tokens_contain(&self, offset: TextSize) -> bool {
        self.tokens().iter().any(|token| {
            matches!(
                token.kind(),
                TokenKind::String
                    | TokenKind::FStringMiddle
                    | TokenKind::FStringStart
                    | TokenKind::TStringMiddle
            ) && token.start() < offset
                && offset < token.end()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skeletons_parse_and_name_their_file() {
        let skeleton = profile_skeleton("Threat \"Intel\" v2").unwrap();
        assert_eq!(skeleton.path, "integrations/threat-intel-v2.toml");
        let (profile, diagnostics) = Profile::parse(&skeleton.text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(profile.unwrap().name, "Threat \"Intel\" v2");
        assert!(profile_skeleton("!!!").is_none());
    }

    #[test]
    fn noqa_is_appended_or_added() {
        let workspace = Workspace::default();
        let source =
            SourceFile::new("import requests  # noqa: RP009\nimport os\nx = \"\"\"a\nb\"\"\"\n");
        let analysis = Analysis::new(&source, &workspace);
        let edit = noqa_edit(
            &source,
            analysis.as_ref(),
            Rule::ExternalImport,
            TextSize::new(3),
        )
        .unwrap();
        let fixed = crate::diagnostic::apply_edits(source.text(), [&edit]);
        assert!(
            fixed.starts_with("import requests  # noqa: RP009, RP003\n"),
            "{fixed}"
        );
        let at = TextSize::try_from(source.text().find("import os").unwrap()).unwrap();
        let edit = noqa_edit(&source, analysis.as_ref(), Rule::DangerousCall, at).unwrap();
        let fixed = crate::diagnostic::apply_edits(source.text(), [&edit]);
        assert!(fixed.contains("import os  # noqa: RP010\n"), "{fixed}");
        // The end of `x = """a` is inside the string.
        let at = TextSize::try_from(source.text().find("x =").unwrap()).unwrap();
        assert!(noqa_edit(&source, analysis.as_ref(), Rule::HardcodedSecret, at).is_none());
    }

    #[test]
    fn close_names() {
        assert!(is_close("VirusTotl", "VirusTotal"));
        assert!(is_close("virustotal", "VirusTotal"));
        assert!(!is_close("Slack", "Jira"));
    }
}
