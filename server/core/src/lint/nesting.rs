//! A guard in front of the parser: nesting deeper than CPython accepts is reported before a tree
//! that deep is built, walked and dropped (each of which recurses).
//!
//! CPython refuses more than 200 nested brackets ("too many nested parentheses") and more than 100
//! indentation levels; it also fails to compile very long operator chains. This scanner is a
//! character-level approximation that never under-counts brackets outside strings and comments,
//! and bounds the depth of an expression by the nesting operators that can chain inside it.

use ruff_text_size::TextSize;

use crate::diagnostic::Diagnostic;
use crate::lint::Rule;

/// CPython's tokenizer limit on nested brackets.
pub const MAX_BRACKETS: usize = 200;
/// CPython's tokenizer limit on indentation levels.
pub const MAX_INDENT_LEVELS: usize = 100;
/// Above this, an expression is deeper than a playbook has any reason to be (CPython gives up
/// compiling chains in the low thousands).
pub const MAX_EXPRESSION_DEPTH: usize = 1000;

const CHAIN_KEYWORDS: &[&str] = &["not", "if", "else", "lambda", "await", "yield", "and", "or"];
/// Longer words (most identifiers) need not be compared with the keywords.
const LONGEST_CHAIN_KEYWORD: usize = {
    let mut longest = 0;
    let mut i = 0;
    while i < CHAIN_KEYWORDS.len() {
        if CHAIN_KEYWORDS[i].len() > longest {
            longest = CHAIN_KEYWORDS[i].len();
        }
        i += 1;
    }
    longest
};

struct Frame {
    /// Depth of the deepest segment (comma-separated part) closed so far in this bracket.
    max: usize,
    /// Chaining operators in the current segment.
    ops: usize,
    /// Deepest child bracket inside the current segment.
    inner: usize,
}

impl Frame {
    fn new() -> Self {
        Frame {
            max: 0,
            ops: 0,
            inner: 0,
        }
    }
    fn depth(&self) -> usize {
        self.max.max(self.ops + self.inner)
    }
    fn end_segment(&mut self) {
        self.max = self.depth();
        self.ops = 0;
        self.inner = 0;
    }
}

pub fn find_excess(source: &str) -> Option<Diagnostic> {
    let bytes = source.as_bytes();
    let mut frames = vec![Frame::new()];
    // Sum of `ops + inner` over every frame but the innermost, kept up to date on push and pop
    // so the depth check costs O(1) per character.
    let mut outer = 0usize;
    let mut indents: Vec<usize> = vec![0];
    let mut at_line_start = true;
    let mut i = 0;
    let error = |at: usize, message: String| {
        Some(Diagnostic::at_offset(Rule::SyntaxError, size(at), message))
    };

    while i < bytes.len() {
        let b = bytes[i];
        let mut deeper = false;
        if at_line_start && frames.len() == 1 {
            at_line_start = false;
            let width = bytes[i..]
                .iter()
                .take_while(|&&c| c == b' ' || c == b'\t')
                .count();
            let next = bytes.get(i + width).copied();
            if !matches!(next, Some(b'\n' | b'\r' | b'#') | None) {
                while indents.last().is_some_and(|&w| w > width) {
                    indents.pop();
                }
                if indents.last().is_some_and(|&w| w < width) {
                    indents.push(width);
                    if indents.len() > MAX_INDENT_LEVELS + 1 {
                        return error(
                            i,
                            format!(
                                "too many levels of indentation (Python allows {MAX_INDENT_LEVELS}): move the inner blocks into functions"
                            ),
                        );
                    }
                }
            }
            i += width;
            continue;
        }
        match b {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'\\' if bytes.get(i + 1) == Some(&b'\n') => {
                i += 2;
                continue;
            }
            b'\\' if bytes.get(i + 1) == Some(&b'\r') => {
                i += if bytes.get(i + 2) == Some(&b'\n') {
                    3
                } else {
                    2
                };
                continue;
            }
            b'\n' if frames.len() == 1 => {
                frames[0] = Frame::new();
                at_line_start = true;
            }
            b';' if frames.len() == 1 => frames[0] = Frame::new(),
            b'\'' | b'"' => {
                i = skip_string(bytes, i);
                continue;
            }
            b'(' | b'[' | b'{' => {
                let top = frames.last().expect("the module frame stays");
                outer += top.ops + top.inner;
                frames.push(Frame::new());
                if frames.len() > MAX_BRACKETS + 1 {
                    return error(
                        i,
                        format!(
                            "too many nested brackets (Python allows {MAX_BRACKETS}): split the expression into named parts"
                        ),
                    );
                }
                deeper = true;
            }
            b')' | b']' | b'}' if frames.len() > 1 => {
                let closed = frames.pop().map_or(0, |f| f.depth()) + 1;
                let parent = frames.last_mut().expect("the module frame stays");
                outer -= parent.ops + parent.inner;
                parent.inner = parent.inner.max(closed);
                deeper = true;
            }
            b',' => frames
                .last_mut()
                .expect("the module frame stays")
                .end_segment(),
            b'+' | b'-' | b'*' | b'/' | b'%' | b'@' | b'&' | b'|' | b'^' | b'~' | b'.' | b'<'
            | b'>' => {
                frames.last_mut().expect("the module frame stays").ops += 1;
                deeper = true;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                let word = &source[start..i];
                if matches!(bytes.get(i), Some(b'\'' | b'"')) && is_string_prefix(word) {
                    i = skip_string(bytes, i);
                } else if word.len() <= LONGEST_CHAIN_KEYWORD && CHAIN_KEYWORDS.contains(&word) {
                    frames.last_mut().expect("the module frame stays").ops += 1;
                    if let Some(too_deep) = check_depth(outer, &frames, start) {
                        return Some(too_deep);
                    }
                }
                continue;
            }
            _ => {}
        }
        // Only a bracket or an operator can make the expression deeper; every other byte (most
        // of them) leaves the depth as it was.
        if deeper && let Some(too_deep) = check_depth(outer, &frames, i) {
            return Some(too_deep);
        }
        i += 1;
    }
    None
}

fn check_depth(outer: usize, frames: &[Frame], at: usize) -> Option<Diagnostic> {
    let top = frames.last()?;
    let depth = outer + top.ops + top.inner + frames.len();
    (depth > MAX_EXPRESSION_DEPTH).then(|| {
        Diagnostic::at_offset(
            Rule::SyntaxError,
            size(at),
            format!("this expression nests more than {MAX_EXPRESSION_DEPTH} levels deep: split it into smaller expressions"),
        )
    })
}

fn is_string_prefix(word: &str) -> bool {
    word.len() <= 2
        && word
            .chars()
            .all(|c| matches!(c.to_ascii_lowercase(), 'r' | 'b' | 'u' | 'f' | 't'))
}

/// Returns the offset after the string literal starting at the quote at `start`.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let triple = bytes.get(start + 1) == Some(&quote) && bytes.get(start + 2) == Some(&quote);
    let mut i = start + if triple { 3 } else { 1 };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\n' if !triple => return i,
            c if c == quote => {
                if !triple {
                    return i + 1;
                }
                if bytes.get(i + 1) == Some(&quote) && bytes.get(i + 2) == Some(&quote) {
                    return i + 3;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

fn size(offset: usize) -> TextSize {
    TextSize::try_from(offset).unwrap_or_default()
}
