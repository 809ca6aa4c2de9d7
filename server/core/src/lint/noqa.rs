//! `# noqa` comments: `# noqa: RP003, RP014` suppresses those codes on its line, a bare `# noqa`
//! suppresses everything on it.

use std::sync::LazyLock;

use regex::Regex;
use ruff_text_size::{TextRange, TextSize};

use crate::lint::Rule;

static NOQA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?")
        .expect("noqa pattern is valid")
});

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoqaDirective {
    /// The line the comment is on.
    pub line: TextRange,
    /// Where the comment is, for editors.
    pub range: TextRange,
    /// The codes it names, each with its range; empty for a bare `# noqa`.
    pub codes: Vec<(String, TextRange)>,
}

impl NoqaDirective {
    pub fn suppresses(&self, rule: Rule, at: TextSize, text: &str) -> bool {
        let on_line =
            self.line.contains(at) || (at == self.line.end() && at.to_usize() == text.len());
        on_line
            && (self.codes.is_empty()
                || self
                    .codes
                    .iter()
                    .any(|(code, _)| code.eq_ignore_ascii_case(rule.code())))
    }
}

/// Every `# noqa` comment in the text. A `#` inside a string may be taken for a comment; the cost
/// is a suppression the author wrote on purpose anyway.
pub fn noqa_directives(text: &str) -> Vec<NoqaDirective> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    for line in text.split_inclusive('\n') {
        if let Some(found) = NOQA.captures(line) {
            let whole = found.get(0).expect("group 0 exists");
            let at =
                |start: usize, end: usize| TextRange::new(size(offset + start), size(offset + end));
            let codes = found.name("codes").map_or_else(Vec::new, |codes| {
                let base = codes.start();
                let mut list = Vec::new();
                let mut cursor = 0;
                for code in codes
                    .as_str()
                    .split(|c: char| c == ',' || c.is_whitespace())
                {
                    if !code.is_empty() {
                        let start = base
                            + codes.as_str()[cursor..]
                                .find(code)
                                .map_or(0, |i| i + cursor);
                        list.push((code.to_ascii_uppercase(), at(start, start + code.len())));
                        cursor = start - base + code.len();
                    }
                }
                list
            });
            out.push(NoqaDirective {
                line: at(0, line.len()),
                range: at(whole.start(), whole.end()),
                codes,
            });
        }
        offset += line.len();
    }
    out
}

fn size(offset: usize) -> TextSize {
    TextSize::try_from(offset).unwrap_or_default()
}
