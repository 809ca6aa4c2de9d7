//! What a check reports: a rule, a range in the checked text, a message that says what to do, and maybe a fix.
//!
//! Ranges are byte offsets into the text that was checked; `SourceFile` turns them into lines and
//! columns in whichever encoding the consumer speaks (UTF-32 for people, UTF-16 for LSP clients).

use ruff_text_size::{TextRange, TextSize};
use serde::Serialize;

use crate::lint::Rule;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub rule: Rule,
    pub severity: Severity,
    pub range: TextRange,
    pub message: String,
    pub fix: Option<Fix>,
    /// Source text that holds a secret: whoever shows the source around this diagnostic (a text
    /// frame, a CI log) must mask it.
    pub secret: Option<TextRange>,
}

impl Diagnostic {
    /// A diagnostic at the rule's default severity; the lint settings may change it later.
    pub fn new(rule: Rule, range: TextRange, message: impl Into<String>) -> Self {
        Self {
            rule,
            severity: rule.default_severity(),
            range,
            message: message.into(),
            fix: None,
            secret: None,
        }
    }

    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fix = Some(fix);
        self
    }

    pub fn with_secret(mut self, secret: TextRange) -> Self {
        self.secret = Some(secret);
        self
    }

    pub fn at_offset(rule: Rule, offset: TextSize, message: impl Into<String>) -> Self {
        Self::new(rule, TextRange::empty(offset), message)
    }
}

/// Whether a fix can be applied without a person looking at it (`--fix`, `source.fixAll`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Keeps the playbook's meaning.
    Safe,
    /// Changes behaviour; offered as a quick fix only.
    Unsafe,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub title: String,
    pub applicability: Applicability,
    pub edits: Vec<Edit>,
}

impl Fix {
    pub fn safe(title: impl Into<String>, edits: Vec<Edit>) -> Self {
        Self {
            title: title.into(),
            applicability: Applicability::Safe,
            edits,
        }
    }

    pub fn unsafe_edit(title: impl Into<String>, edits: Vec<Edit>) -> Self {
        Self {
            title: title.into(),
            applicability: Applicability::Unsafe,
            edits,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: TextRange,
    pub content: String,
}

impl Edit {
    pub fn replace(range: TextRange, content: impl Into<String>) -> Self {
        Self {
            range,
            content: content.into(),
        }
    }

    pub fn insert(at: TextSize, content: impl Into<String>) -> Self {
        Self {
            range: TextRange::empty(at),
            content: content.into(),
        }
    }
}

/// Applies non-overlapping edits to `text`; overlapping ones after the first are skipped so a
/// batch of fixes never corrupts the file.
pub fn apply_edits<'a>(text: &str, edits: impl IntoIterator<Item = &'a Edit>) -> String {
    let mut edits: Vec<&Edit> = edits.into_iter().collect();
    edits.sort_by_key(|e| (e.range.start(), e.range.end()));
    let mut out = String::with_capacity(text.len());
    let mut cursor = TextSize::new(0);
    for edit in edits {
        if edit.range.start() < cursor || edit.range.end().to_usize() > text.len() {
            continue;
        }
        out.push_str(&text[TextRange::new(cursor, edit.range.start())]);
        out.push_str(&edit.content);
        cursor = edit.range.end();
    }
    out.push_str(&text[cursor.to_usize()..]);
    out
}
