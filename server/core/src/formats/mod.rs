//! The workspace's TOML formats: `riposte.toml`, `integrations/*.toml`, `rules/*.toml`.
//!
//! Each is parsed from text handed in by the caller (the core reads no files) and validated into a
//! typed value, with problems reported as diagnostics at the offending key.

pub mod automation;
pub mod config;
pub mod profile;

use ruff_text_size::{TextRange, TextSize};

/// The byte range a `toml` error points at, or the start of the file when it names none.
pub(crate) fn toml_error_range(err: &toml::de::Error, text: &str) -> TextRange {
    let span = err.span().unwrap_or(0..0);
    let start = span.start.min(text.len());
    let end = span.end.clamp(start, text.len());
    TextRange::new(to_size(start), to_size(end))
}

/// The first line of a `toml` error message (the rest repeats the source frame, which we render ourselves).
pub(crate) fn toml_error_message(err: &toml::de::Error) -> String {
    err.message().trim().to_string()
}

pub(crate) fn to_size(offset: usize) -> TextSize {
    TextSize::try_from(offset).unwrap_or(TextSize::new(u32::MAX))
}

/// Where a top-level key (or `[table]` header) is written, for diagnostics about its value.
pub fn key_range(text: &str, key: &str) -> TextRange {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let bare = trimmed.trim_start_matches('[').trim_start();
        if let Some(rest) = bare.strip_prefix(key) {
            let next = rest.trim_start().chars().next();
            if matches!(next, Some('=') | Some(']') | Some('.')) {
                let start = offset + indent + (trimmed.len() - bare.len());
                return TextRange::new(to_size(start), to_size(start + key.len()));
            }
        }
        offset += line.len();
    }
    TextRange::empty(TextSize::new(0))
}
