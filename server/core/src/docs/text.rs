//! Turning source text into short, safe labels: one line, bounded length, and escaped for the
//! place it goes (a Mermaid label, a Markdown table cell, a Markdown code span).

use std::collections::HashMap;

use ruff_python_ast::visitor::{Visitor, walk_stmt};
use ruff_python_ast::{Expr, FStringPart, InterpolatedStringElement, ModModule, Operator, Stmt};
use ruff_text_size::Ranged;

use crate::catalog::PathPart;
use crate::lint::semantic::fstring_parts;

/// How long a condition, loop header or comment text may be in a diagram label.
pub const LABEL_CHARS: usize = 60;

/// Collapses every run of whitespace (newlines included) to one space and cuts the text to at
/// most `max` characters, ending with `…` when it was cut.
pub fn shorten(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            pending_space = count > 0;
            continue;
        }
        if pending_space {
            out.push(' ');
            count += 1;
            pending_space = false;
        }
        out.push(c);
        count += 1;
        if count > max {
            break;
        }
    }
    if count <= max {
        return out;
    }
    let mut kept: String = out.chars().take(max.saturating_sub(1)).collect();
    while kept.ends_with(' ') {
        kept.pop();
    }
    kept.push('…');
    kept
}

/// Escapes text for a quoted Mermaid label or edge label, with Mermaid's entity codes: quotes,
/// brackets, `|`, `<`, `>`, `&`, `#` and backticks cannot break out of the label or be read as
/// HTML or Markdown. Newlines are expected to be gone already ([`shorten`]).
pub fn mermaid_escape(text: &str) -> String {
    // Mermaid strips the last `;` of any line where `style` or `classDef` is followed by
    // `:…#…;` (to tidy style statements), which would break the entity it ends: with no raw `:`
    // on the line, that cannot happen.
    let escape_colons = text.contains("style") || text.contains("classDef");
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            ':' if escape_colons => out.push_str("#58;"),
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '|' => out.push_str("#124;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '[' => out.push_str("#91;"),
            ']' => out.push_str("#93;"),
            '`' => out.push_str("#96;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text for one Markdown table cell: one line, `|` escaped.
pub fn cell(text: &str) -> String {
    shorten(text, 400).replace('|', "\\|")
}

/// An inline code span that survives backticks in the text (and `|` inside a table).
pub fn code(text: &str) -> String {
    let text = shorten(text, 400).replace('|', "\\|");
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

/// The source text of a node, as written.
pub fn source<'t>(text: &'t str, node: &impl Ranged) -> &'t str {
    text.get(node.range().start().to_usize()..node.range().end().to_usize())
        .unwrap_or("")
}

/// A request path as written: literal text, with `{…}` where an f-string interpolates (or for the
/// whole path when it is not a string at all).
pub fn path_display(expr: Option<&Expr>) -> String {
    match expr {
        Some(Expr::StringLiteral(literal)) => literal.value.to_str().to_string(),
        Some(Expr::FString(fstring)) => fstring_parts(fstring)
            .into_iter()
            .map(|part| match part {
                PathPart::Text(text) => text,
                PathPart::Hole => "{…}".to_string(),
            })
            .collect(),
        _ => "{…}".to_string(),
    }
}

/// Names assigned exactly once in the file, to a string, an f-string or a concatenation starting
/// with one: `text = f"Disabled {user}"` lets `ctx.comment(text)` say what it comments.
#[derive(Debug, Default)]
pub struct StringValues<'a> {
    values: HashMap<&'a str, Option<&'a Expr>>,
}

impl<'a> StringValues<'a> {
    pub fn collect(module: &'a ModModule) -> Self {
        let mut collector = StringValues::default();
        for stmt in &module.body {
            collector.visit_stmt(stmt);
        }
        collector
    }

    fn record(&mut self, target: &'a Expr, value: Option<&'a Expr>) {
        if let Expr::Name(name) = target {
            let value = value.filter(|v| is_stringy(v));
            self.values
                .entry(name.id.as_str())
                .and_modify(|known| *known = None)
                .or_insert(value);
        }
    }

    /// The string a name was given, when it was given exactly one.
    pub fn get(&self, name: &str) -> Option<&'a Expr> {
        self.values.get(name).copied().flatten()
    }
}

fn is_stringy(expr: &Expr) -> bool {
    match expr {
        Expr::StringLiteral(_) | Expr::FString(_) => true,
        Expr::BinOp(binop) if binop.op == Operator::Add => {
            matches!(
                binop.left.as_ref(),
                Expr::StringLiteral(_) | Expr::FString(_) | Expr::BinOp(_)
            )
        }
        _ => false,
    }
}

impl<'a> Visitor<'a> for StringValues<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Assign(assign) => {
                for target in &assign.targets {
                    let value = (assign.targets.len() == 1).then_some(assign.value.as_ref());
                    self.record(target, value);
                }
            }
            Stmt::AnnAssign(assign) => self.record(&assign.target, assign.value.as_deref()),
            Stmt::AugAssign(assign) => self.record(&assign.target, None),
            Stmt::For(for_stmt) => self.record(&for_stmt.target, None),
            _ => {}
        }
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || walk_stmt(self, stmt));
    }

    fn visit_expr(&mut self, _: &'a Expr) {}
}

/// What a string argument says, for a label: literal text, with `{name}` where an f-string
/// interpolates a name or attribute and `{…}` where it interpolates anything longer; a
/// concatenation reads as its parts; a name assigned one string reads as that string.
pub fn spoken_text(text: &str, expr: &Expr, strings: &StringValues<'_>) -> String {
    let expr = match expr {
        Expr::Name(name) => strings.get(name.id.as_str()).unwrap_or(expr),
        _ => expr,
    };
    let mut out = String::new();
    spoken_into(text, expr, &mut out);
    out
}

fn spoken_into(text: &str, expr: &Expr, out: &mut String) {
    // A label is short: past this there is nothing worth collecting (and no deep recursion).
    if out.len() > 4 * LABEL_CHARS {
        return;
    }
    match expr {
        Expr::StringLiteral(literal) => out.push_str(literal.value.to_str()),
        Expr::FString(fstring) => {
            for part in fstring.value.iter() {
                match part {
                    FStringPart::Literal(literal) => out.push_str(&literal.value),
                    FStringPart::FString(f) => {
                        for element in &f.elements {
                            match element {
                                InterpolatedStringElement::Literal(literal) => {
                                    out.push_str(&literal.value)
                                }
                                InterpolatedStringElement::Interpolation(hole) => {
                                    hole_into(text, &hole.expression, out)
                                }
                            }
                        }
                    }
                }
            }
        }
        Expr::BinOp(binop) if binop.op == Operator::Add => {
            stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
                spoken_into(text, &binop.left, out);
                spoken_into(text, &binop.right, out);
            });
        }
        other => hole_into(text, other, out),
    }
}

/// `{user.upn}` for a name or attribute chain, `{…}` for anything else (a call, a join).
fn hole_into(text: &str, expr: &Expr, out: &mut String) {
    fn simple(expr: &Expr) -> bool {
        match expr {
            Expr::Name(_) => true,
            Expr::Attribute(attribute) => simple(&attribute.value),
            _ => false,
        }
    }
    let written = source(text, expr);
    if simple(expr) && written.len() <= 40 {
        out.push('{');
        out.push_str(written);
        out.push('}');
    } else {
        out.push_str("{…}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_collapses_and_cuts() {
        assert_eq!(shorten("a\n   b\tc", 60), "a b c");
        assert_eq!(shorten("abcdef", 6), "abcdef");
        assert_eq!(shorten("abcdefg", 6), "abcde…");
        assert_eq!(shorten("abcd  efg", 6), "abcd…");
        assert_eq!(shorten("  lead", 60), "lead");
        assert_eq!(shorten("", 60), "");
    }

    #[test]
    fn mermaid_escape_neutralises_syntax() {
        let escaped = mermaid_escape(r#"x["a|b"] < 3 > 1 & `y` #z"#);
        for bad in ['"', '[', ']', '|', '<', '>', '`'] {
            assert!(!escaped.contains(bad), "{escaped} still has {bad}");
        }
        assert!(
            escaped.contains("#quot;") && escaped.contains("#124;") && escaped.contains("#lt;")
        );
        assert!(escaped.contains("#35;z"));
        assert_eq!(mermaid_escape("a: b"), "a: b");
        assert_eq!(mermaid_escape("style:#x;"), "style#58;#35;x;");
    }
}
