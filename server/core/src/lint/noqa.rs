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
    // Lines before this offset are done. The pattern starts with `#`, so only the lines that hold
    // a `#` with `noqa` after it go to the regex: a byte search skips the rest, which is most of
    // a file, at a fraction of a regex call per line.
    let mut done = 0;
    while let Some(found) = text[done..].find('#') {
        let hash = done + found;
        let line_start = text[done..hash].rfind('\n').map_or(done, |i| done + i + 1);
        let line_end = text[hash..].find('\n').map_or(text.len(), |i| hash + i + 1);
        done = line_end;
        if contains_noqa(&text[hash..line_end])
            && let Some(directive) = directive(&text[line_start..line_end], line_start)
        {
            out.push(directive);
        }
    }
    out
}

/// The `# noqa` comment on one line (with its line ending), which starts at `offset`.
fn directive(line: &str, offset: usize) -> Option<NoqaDirective> {
    let found = NOQA.captures(line)?;
    let whole = found.get(0).expect("group 0 exists");
    let at = |start: usize, end: usize| TextRange::new(size(offset + start), size(offset + end));
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
    Some(NoqaDirective {
        line: at(0, line.len()),
        range: at(whole.start(), whole.end()),
        codes,
    })
}

/// `noqa` in any case, as the pattern's `(?i)` accepts it.
fn contains_noqa(line: &str) -> bool {
    line.as_bytes()
        .windows(4)
        .any(|window| window.eq_ignore_ascii_case(b"noqa"))
}

fn size(offset: usize) -> TextSize {
    TextSize::try_from(offset).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_are_found_on_the_lines_that_have_them() {
        let text = "x = 1  # a comment\ny = '#'  # NoQa: rp014, RP003\nz = 2\n# noqa\nprint(x)  # noqa:RP014";
        let directives = noqa_directives(text);
        let lines: Vec<&str> = directives.iter().map(|d| &text[d.line]).collect();
        assert_eq!(
            lines,
            [
                "y = '#'  # NoQa: rp014, RP003\n",
                "# noqa\n",
                "print(x)  # noqa:RP014"
            ]
        );
        let codes = |i: usize| -> Vec<(&str, &str)> {
            directives[i]
                .codes
                .iter()
                .map(|(code, range)| (code.as_str(), &text[*range]))
                .collect()
        };
        assert_eq!(codes(0), [("RP014", "rp014"), ("RP003", "RP003")]);
        assert!(codes(1).is_empty());
        assert_eq!(codes(2), [("RP014", "RP014")]);
        assert_eq!(&text[directives[1].range], "# noqa");
        assert!(noqa_directives("a = '# no'\nb = 'qa'\n").is_empty());
        assert!(noqa_directives("").is_empty());
    }
}
