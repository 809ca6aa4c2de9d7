//! The formats `riposte check` prints: text for people, JSON for scripts, SARIF for code
//! scanning, GitHub workflow commands for pull-request annotations.

pub mod github;
pub mod json;
pub mod sarif;
pub mod text;

/// The rule documentation a diagnostic links to.
pub fn rule_url(rule: riposte_core::Rule) -> String {
    format!("{DOCS_BASE}#{}", rule.doc_anchor())
}

/// Where `docs/rules.md` is published with the source.
pub const DOCS_BASE: &str = "https://github.com/riposte-soc/riposte/blob/main/docs/rules.md";
