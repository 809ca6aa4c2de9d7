//! Transcripts: every task is saved as JSON lines under `.riposte/transcripts/` in the workspace
//! (mode switches, tool calls, approvals, diagnostics, token use, the end), so a playbook's
//! history can be read later. Every string in a line is scrubbed of secrets before it is written;
//! each line is flushed as it happens, so a crash keeps what came before.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::events::Event;
use crate::redact::Scrubber;

pub const TRANSCRIPTS_DIR: &str = ".riposte/transcripts";

#[derive(Serialize)]
struct Line<'a> {
    at: String,
    task_id: &'a str,
    event: serde_json::Value,
}

#[derive(Debug)]
pub struct Transcript {
    path: PathBuf,
    task_id: String,
    file: File,
    scrubber: Scrubber,
}

impl Transcript {
    /// Creates `.riposte/transcripts/<time>-<task id>.jsonl` in the workspace.
    pub fn create(
        workspace_root: &Path,
        task_id: &str,
        scrubber: Scrubber,
    ) -> std::io::Result<Self> {
        let dir = workspace_root.join(TRANSCRIPTS_DIR);
        std::fs::create_dir_all(&dir)?;
        let stamp: String = riposte_runtime::record::rfc3339(std::time::SystemTime::now())
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let path = dir.join(format!("{stamp}-{task_id}.jsonl"));
        let file = File::options().create_new(true).append(true).open(&path)?;
        Ok(Self {
            path,
            task_id: task_id.to_string(),
            file,
            scrubber,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event (text deltas are skipped: the whole message follows as
    /// `assistant_message`).
    pub fn record(&mut self, event: &Event) -> std::io::Result<()> {
        if matches!(event, Event::TextDelta { .. }) {
            return Ok(());
        }
        let mut value = serde_json::to_value(event).map_err(std::io::Error::other)?;
        scrub_strings(&mut value, &self.scrubber);
        let line = Line {
            at: riposte_runtime::record::rfc3339(std::time::SystemTime::now()),
            task_id: &self.task_id,
            event: value,
        };
        let mut text = serde_json::to_string(&line).map_err(std::io::Error::other)?;
        text.push('\n');
        self.file.write_all(text.as_bytes())?;
        self.file.flush()
    }
}

/// Scrubs every string in a JSON value (keys included), so a secret cannot hide behind JSON
/// escaping.
pub fn scrub_strings(value: &mut serde_json::Value, scrubber: &Scrubber) {
    match value {
        serde_json::Value::String(text) => *text = scrubber.scrub(text),
        serde_json::Value::Array(items) => {
            for item in items {
                scrub_strings(item, scrubber);
            }
        }
        serde_json::Value::Object(map) => {
            let entries: Vec<(String, serde_json::Value)> = std::mem::take(map)
                .into_iter()
                .map(|(key, mut item)| {
                    scrub_strings(&mut item, scrubber);
                    (scrubber.scrub(&key), item)
                })
                .collect();
            map.extend(entries);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_json_and_scrubbed() {
        let dir = tempfile::tempdir().unwrap();
        let scrubber = Scrubber::default();
        scrubber.add_secret("pa\"ss-fake-0001");
        let mut transcript = Transcript::create(dir.path(), "t1", scrubber).unwrap();
        transcript
            .record(&Event::AssistantMessage {
                text: "the key is pa\"ss-fake-0001".into(),
            })
            .unwrap();
        transcript
            .record(&Event::TextDelta {
                text: "skipped".into(),
            })
            .unwrap();
        let text = std::fs::read_to_string(transcript.path()).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert!(!text.contains("ss-fake-0001"), "{text}");
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["event"]["type"], "assistant_message");
        assert_eq!(line["event"]["text"], "the key is [REDACTED]");
        assert_eq!(line["task_id"], "t1");
    }
}
