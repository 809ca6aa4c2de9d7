//! A lexical look at the line before the cursor: is it code, a comment, or inside a string, and
//! what comes before that string. Completion runs on text being typed, where the parser's tree
//! is at its least reliable (an unterminated `ctx.integration("`), so it reads the line itself.

/// Where an offset is on its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineContext<'a> {
    /// Code; `prefix` is the code before the cursor (from the line start, or from the `{` of an
    /// f-string replacement field the cursor is in).
    Code {
        prefix: &'a str,
    },
    /// Inside a string literal opened on this line.
    String {
        /// The line's text before the string (and its prefix letters), e.g. `    vt.get(`.
        before: &'a str,
        /// What is typed between the opening quote and the cursor.
        typed: &'a str,
        /// Byte offset (in the whole text) of the string's first character after the quote.
        content_start: usize,
        /// Byte offset of the closing quote, or of the cursor when the string is not closed yet.
        content_end: usize,
        fstring: bool,
    },
    Comment,
}

/// The context of `offset` in `text`, read from the start of its line. A string opened on an
/// earlier line (a triple-quoted docstring) is not seen: the line then reads as code.
pub(crate) fn line_context(text: &str, offset: usize) -> LineContext<'_> {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = &text[line_start..line_end];
    let cursor = offset - line_start;
    let bytes = line.as_bytes();

    let mut i = 0;
    while i < cursor {
        let c = bytes[i];
        if c == b'#' {
            return LineContext::Comment;
        }
        if c != b'"' && c != b'\'' {
            i += 1;
            continue;
        }
        // A string starts here; its prefix letters are the identifier characters just before.
        let letters = line[..i]
            .bytes()
            .rev()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        let prefix = &line[i - letters..i];
        let is_prefix = prefix.len() <= 2
            && prefix
                .bytes()
                .all(|b| matches!(b.to_ascii_lowercase(), b'f' | b'r' | b'b' | b'u' | b't'));
        let fstring = is_prefix
            && prefix
                .bytes()
                .any(|b| matches!(b, b'f' | b'F' | b't' | b'T'));
        let quote = c;
        let triple = bytes[i..].starts_with(&[quote, quote, quote]);
        let open_len = if triple { 3 } else { 1 };
        let content_start = i + open_len;
        // Find where the string ends (it may end after the cursor, or not on this line).
        let mut j = content_start;
        let mut depth = 0usize;
        let mut closed_at = None;
        while j < bytes.len() {
            let b = bytes[j];
            if depth == 0 {
                if b == b'\\' {
                    // Even a raw string cannot end on an escaped quote.
                    j += 2;
                    continue;
                }
                if fstring && b == b'{' {
                    if bytes.get(j + 1) == Some(&b'{') {
                        j += 2;
                    } else {
                        depth = 1;
                        j += 1;
                    }
                    continue;
                }
                let closes = if triple {
                    bytes[j..].starts_with(&[quote, quote, quote])
                } else {
                    b == quote
                };
                if closes {
                    closed_at = Some(j);
                    break;
                }
            } else if b == b'{' {
                depth += 1;
            } else if b == b'}' {
                depth -= 1;
            }
            j += 1;
        }
        if let Some(end) = closed_at
            && end < cursor
        {
            i = end + open_len;
            continue;
        }
        if cursor < content_start {
            // The cursor is between the prefix letters or quotes: not inside yet.
            return LineContext::Code {
                prefix: &line[..cursor],
            };
        }
        // The cursor is inside this string. Inside an f-string's replacement field it is code.
        if fstring {
            let field = open_field(&line[content_start..cursor]);
            if let Some(field) = field {
                return LineContext::Code {
                    prefix: &line[content_start + field..cursor],
                };
            }
        }
        let content_end = closed_at.unwrap_or(cursor).max(cursor);
        return LineContext::String {
            before: &line[..i - letters],
            typed: &line[content_start..cursor],
            content_start: line_start + content_start,
            content_end: line_start + content_end,
            fstring,
        };
    }
    LineContext::Code {
        prefix: &line[..cursor],
    }
}

/// Where the f-string replacement field the text ends in starts, if it is open.
fn open_field(content: &str) -> Option<usize> {
    let bytes = content.as_bytes();
    let mut depth = 0usize;
    let mut start = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if depth == 0 && bytes.get(i + 1) == Some(&b'{') => i += 1,
            b'{' => {
                if depth == 0 {
                    start = Some(i + 1);
                }
                depth += 1;
            }
            b'}' if depth > 0 => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    (depth > 0).then_some(start).flatten()
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The identifier characters at the end of `text` (what is typed of a member name).
pub(crate) fn trailing_identifier(text: &str) -> &str {
    let start = text
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
        .last()
        .map_or(text.len(), |(i, _)| i);
    &text[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text_with_cursor: &str) -> (String, LineContext<'static>) {
        let offset = text_with_cursor.find('|').unwrap();
        let text: String = text_with_cursor.replacen('|', "", 1);
        let leaked: &'static str = Box::leak(text.clone().into_boxed_str());
        (text, line_context(leaked, offset))
    }

    #[test]
    fn code_comment_and_strings() {
        assert_eq!(
            at("x = 1\n    alert.|\n").1,
            LineContext::Code {
                prefix: "    alert."
            }
        );
        assert_eq!(at("    x = 1  # alert.|").1, LineContext::Comment);
        let (_, context) = at("    vt = ctx.integration(\"Vir|");
        let LineContext::String {
            before,
            typed,
            fstring,
            ..
        } = context
        else {
            panic!("{context:?}")
        };
        assert_eq!(
            (before, typed, fstring),
            ("    vt = ctx.integration(", "Vir", false)
        );
    }

    #[test]
    fn closed_strings_and_f_string_fields() {
        // A string closed before the cursor is passed over.
        assert_eq!(
            at("    ctx.log(\"a # b\", x=alert.|)").1,
            LineContext::Code {
                prefix: "    ctx.log(\"a # b\", x=alert."
            }
        );
        assert_eq!(
            at("    ctx.log(f\"{alert.|}\")").1,
            LineContext::Code { prefix: "alert." }
        );
        let (text, context) = at("    vt.get(f\"/urls/{u.id}/x|\")");
        let LineContext::String {
            typed,
            content_end,
            fstring,
            ..
        } = context
        else {
            panic!()
        };
        assert_eq!(typed, "/urls/{u.id}/x");
        assert!(fstring);
        assert_eq!(&text[content_end..], "\")");
    }

    #[test]
    fn trailing_identifiers() {
        assert_eq!(trailing_identifier("alert.sev"), "sev");
        assert_eq!(trailing_identifier("alert."), "");
    }
}
