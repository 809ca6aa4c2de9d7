//! Between the core's byte offsets and LSP's line/character positions (UTF-16 unless the client
//! agreed to UTF-8), and from core diagnostics to LSP ones.

use riposte_core::formats::config::ConfigError;
use riposte_core::source::{PositionEncoding, TextRange, TextSize};
use riposte_core::{Applicability, Diagnostic, Edit, Severity, SourceFile};
use serde_json::json;
use tower_lsp_server::ls_types as lsp;

/// The byte offset of an LSP position, clamped as the spec says: a line past the end means the
/// end of the document, a character past the end of its line means the end of that line (before
/// its line break). Never inside a UTF-8 sequence.
pub fn offset(
    source: &SourceFile,
    position: lsp::Position,
    encoding: PositionEncoding,
) -> TextSize {
    let text = source.text();
    let line = position.line as usize;
    let index = source.line_index();
    if line >= index.line_count() {
        return end(text);
    }
    let start = index.line_starts()[line];
    let next = index
        .line_starts()
        .get(line + 1)
        .copied()
        .unwrap_or_else(|| end(text));
    let content_end = start
        + TextSize::try_from(
            text[TextRange::new(start, next)]
                .trim_end_matches(['\n', '\r'])
                .len(),
        )
        .unwrap_or_default();
    let found = source
        .offset_of(position.line, position.character, encoding)
        .clamp(start, content_end);
    floor_boundary(text, found)
}

/// The LSP position of a byte offset (clamped to the text, moved back to a character boundary).
pub fn position(
    source: &SourceFile,
    offset: TextSize,
    encoding: PositionEncoding,
) -> lsp::Position {
    let offset = floor_boundary(source.text(), offset.min(end(source.text())));
    let found = source.position_in(offset, encoding);
    lsp::Position {
        line: u32::try_from(found.line.saturating_sub(1)).unwrap_or(u32::MAX),
        character: u32::try_from(found.column.saturating_sub(1)).unwrap_or(u32::MAX),
    }
}

pub fn range(source: &SourceFile, range: TextRange, encoding: PositionEncoding) -> lsp::Range {
    lsp::Range {
        start: position(source, range.start(), encoding),
        end: position(source, range.end(), encoding),
    }
}

pub fn text_range(source: &SourceFile, range: lsp::Range, encoding: PositionEncoding) -> TextRange {
    let start = offset(source, range.start, encoding);
    let end = offset(source, range.end, encoding);
    TextRange::new(start.min(end), start.max(end))
}

pub fn text_edit(source: &SourceFile, edit: &Edit, encoding: PositionEncoding) -> lsp::TextEdit {
    lsp::TextEdit {
        range: range(source, edit.range, encoding),
        new_text: edit.content.clone(),
    }
}

fn end(text: &str) -> TextSize {
    TextSize::try_from(text.len()).unwrap_or(TextSize::new(u32::MAX))
}

fn floor_boundary(text: &str, offset: TextSize) -> TextSize {
    let mut at = offset.to_usize().min(text.len());
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    TextSize::try_from(at).unwrap_or_default()
}

pub fn severity(severity: Severity) -> lsp::DiagnosticSeverity {
    match severity {
        Severity::Error => lsp::DiagnosticSeverity::ERROR,
        Severity::Warning => lsp::DiagnosticSeverity::WARNING,
        Severity::Info => lsp::DiagnosticSeverity::INFORMATION,
    }
}

pub const SOURCE: &str = "riposte";

/// A core diagnostic as LSP shows it: `code` is the rule code, `codeDescription` its docs,
/// `data` what code actions need (the rule and its fix, with LSP ranges) so a client can apply a
/// fix without asking again. The message never holds a secret (RP008 does not repeat values).
pub fn diagnostic(
    source: &SourceFile,
    found: &Diagnostic,
    encoding: PositionEncoding,
) -> lsp::Diagnostic {
    let fix = found.fix.as_ref().map(|fix| {
        json!({
            "title": fix.title,
            "applicability": match fix.applicability {
                Applicability::Safe => "safe",
                Applicability::Unsafe => "unsafe",
            },
            "edits": fix.edits.iter().map(|edit| text_edit(source, edit, encoding)).collect::<Vec<_>>(),
        })
    });
    lsp::Diagnostic {
        range: range(source, found.range, encoding),
        severity: Some(severity(found.severity)),
        code: Some(lsp::NumberOrString::String(found.rule.code().to_string())),
        code_description: found
            .rule
            .doc_url()
            .parse()
            .ok()
            .map(|href| lsp::CodeDescription { href }),
        source: Some(SOURCE.to_string()),
        message: found.message.clone(),
        related_information: None,
        tags: None,
        data: Some(json!({
            "rule": found.rule.code(),
            "name": found.rule.name(),
            "fix": fix,
        })),
    }
}

/// A broken `riposte.toml`: not a rule finding (nothing can be checked without settings), so it
/// has no code; it is an error at the range the parser names.
pub fn config_error(
    source: &SourceFile,
    error: &ConfigError,
    encoding: PositionEncoding,
) -> lsp::Diagnostic {
    lsp::Diagnostic {
        range: range(source, error.range, encoding),
        severity: Some(lsp::DiagnosticSeverity::ERROR),
        code: None,
        code_description: None,
        source: Some(SOURCE.to_string()),
        message: format!(
            "{} (until this is fixed, playbooks are checked with the default settings)",
            error.message
        ),
        related_information: None,
        tags: None,
        data: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_clamp_and_respect_the_encoding() {
        let source = SourceFile::new("a = \"é😀x\"\r\nb\n");
        let utf16 = PositionEncoding::Utf16;
        let at = |line, character, encoding| {
            offset(&source, lsp::Position { line, character }, encoding).to_usize()
        };
        // é is one UTF-16 unit and two bytes; 😀 two units and four bytes.
        assert_eq!(at(0, 6, utf16), 5 + 2);
        assert_eq!(at(0, 8, utf16), 5 + 2 + 4);
        // Inside a surrogate pair or a UTF-8 sequence: a character boundary nearby.
        assert!(source.text().is_char_boundary(at(0, 7, utf16)));
        assert_eq!(at(0, 6, PositionEncoding::Utf8), 5);
        // Past the end of the line: its end, before `\r\n`. Past the last line: the end.
        assert_eq!(at(0, 500, utf16), 13);
        assert_eq!(at(9, 0, utf16), source.text().len());
        assert_eq!(
            position(&source, TextSize::new(11), utf16),
            lsp::Position {
                line: 0,
                character: 8
            }
        );
        assert_eq!(
            position(&source, TextSize::new(100), utf16),
            lsp::Position {
                line: 2,
                character: 0
            }
        );
    }
}
