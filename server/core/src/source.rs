//! A checked text and its line index: byte ranges in, line/column positions out.

pub use ruff_source_file::PositionEncoding;
use ruff_source_file::{LineIndex, OneIndexed, SourceLocation};
pub use ruff_text_size::{TextRange, TextSize};
use serde::Serialize;

/// A one-based line and column; the column unit depends on the encoding asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone)]
pub struct SourceFile {
    text: String,
    index: LineIndex,
}

impl SourceFile {
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let index = LineIndex::from_source_text(&text);
        Self { text, index }
    }

    /// Decodes bytes as UTF-8, replacing invalid sequences so positions of everything before the
    /// first bad byte stay exact. Returns the offset of the first invalid byte, if any.
    pub fn from_bytes(bytes: &[u8]) -> (Self, Option<TextSize>) {
        match std::str::from_utf8(bytes) {
            Ok(text) => (Self::new(text), None),
            Err(err) => {
                let at = TextSize::try_from(err.valid_up_to()).unwrap_or_default();
                (
                    Self::new(String::from_utf8_lossy(bytes).into_owned()),
                    Some(at),
                )
            }
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn line_index(&self) -> &LineIndex {
        &self.index
    }

    pub fn line_count(&self) -> usize {
        self.index.line_count()
    }

    /// Position in characters (what a person counts), one-based.
    pub fn position(&self, offset: TextSize) -> Position {
        self.position_in(offset, PositionEncoding::Utf32)
    }

    pub fn position_in(&self, offset: TextSize, encoding: PositionEncoding) -> Position {
        let offset = offset.min(TextSize::try_from(self.text.len()).unwrap_or_default());
        let loc = self.index.source_location(offset, &self.text, encoding);
        Position {
            line: loc.line.get(),
            column: loc.character_offset.get(),
        }
    }

    /// Byte offset of a zero-based line/character position, clamped to the document: positions
    /// past the end of a line or of the document are legal in LSP and mean "the end".
    pub fn offset_of(&self, line: u32, character: u32, encoding: PositionEncoding) -> TextSize {
        let loc = SourceLocation {
            line: OneIndexed::from_zero_indexed(line as usize),
            character_offset: OneIndexed::from_zero_indexed(character as usize),
        };
        self.index.offset(loc, &self.text, encoding)
    }

    /// The full text of the line holding `offset`, without its line ending.
    pub fn line_text(&self, offset: TextSize) -> &str {
        let line = self.index.line_index(offset);
        let range = self.index.line_range(line, &self.text);
        self.text[range].trim_end_matches(['\n', '\r'])
    }

    pub fn line_range_of(&self, offset: TextSize) -> TextRange {
        let line = self.index.line_index(offset);
        self.index.line_range(line, &self.text)
    }
}
