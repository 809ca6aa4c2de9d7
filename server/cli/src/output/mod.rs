//! The formats `riposte check` prints: text for people, JSON for scripts, SARIF for code
//! scanning, GitHub workflow commands for pull-request annotations.

pub mod github;
pub mod json;
pub mod sarif;
pub mod text;

/// Where `docs/rules.md` is published with the source (the rule links are `Rule::doc_url`).
pub const DOCS_BASE: &str = riposte_core::Rule::DOCS_URL;
