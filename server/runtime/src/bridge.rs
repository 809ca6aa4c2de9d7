//! The bridge: how the SDK inside the child talks to the host.
//!
//! # Transport
//!
//! Two pipes the host creates for each run and the child inherits as file descriptors 3 (host to
//! child) and 4 (child to host). stdin, stdout and stderr are not used: they belong to the playbook,
//! which may print anything. Each frame is one JSON object on one line of UTF-8, ended by `\n`, at
//! most [`MAX_FRAME_BYTES`]. The child is untrusted: a frame that is too long, not JSON, not an
//! object, of an unknown `op`, or out of turn ends the run with status `bridge_error`, and so does a
//! bridge closed before `done`. The host never blocks on the child beyond the run's deadline.
//!
//! # Host to child
//!
//! - `start`, first and once: `{"op": "start", "protocol": 1, "playbook": {"path", "display_path",
//!   "source"}, "alert": <riposte_core::alert::Alert as JSON>, "dry_run": bool, "seconds_left":
//!   float, "profiles": [names], "max_result_bytes": int}`. The playbook's text travels here: the
//!   sandbox does not let the child read the workspace.
//! - `reply`, one per call below, in order: `{"op": "reply", "id": n, "result": {...}}` or
//!   `{"op": "reply", "id": n, "error": {"type": "IntegrationError", "message": "..."}}`.
//!
//! # Child to host
//!
//! Calls (the child waits for the `reply` with the same `id`; one call at a time):
//! - `request`: `{"op": "request", "id", "step", "profile", "method", "path", "params": [[k, v]],
//!   "headers": [[k, v]], "json"?: any, "data"?: [[k, v]], "timeout"?: seconds}`; the result is
//!   `{"status", "headers": {name: value}, "text", "url", "planned": bool}` (`planned`: a dry run's
//!   stand-in answer, nothing was sent).
//! - `comment`: `{"op": "comment", "id", "step", "text"}`; the result is `{}`.
//! - `update_alert`: `{"op": "update_alert", "id", "step", "fields": {"status"?, "classification"?,
//!   "determination"?, "assigned_to"?}}`; the result is `{}`.
//!
//! Notes (no reply):
//! - `log`: `{"op": "log", "step", "message", "fields": {...}}`.
//! - `step_start`: `{"op": "step_start", "step": id, "parent": id or null, "name"}`;
//!   `step_end`: `{"op": "step_end", "step": id, "error": exception type name or null}`.
//!
//! The end, last and once, then the child exits:
//! - `done`: `{"op": "done", "outcome": "returned", "value": any}`, or `{"op": "done", "outcome":
//!   "raised", "error": {"type", "message", "traceback": [{"file", "line", "function", "code",
//!   "in_playbook"}], "text"}, "sandbox": {"operation", "message"} or null}`, or `{"op": "done",
//!   "outcome": "unserialisable", "message", "type"}`.
//!
//! The child only reports; the host decides the status from what it saw (a `done` frame, the exit
//! status, its own timer).

use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

/// The longest frame either side may send.
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// The protocol version in the `start` frame.
pub const PROTOCOL_VERSION: u32 = 1;

/// A frame from the child, as the host understands it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChildFrame {
    Request {
        id: u64,
        #[serde(default)]
        step: Option<u64>,
        profile: String,
        method: String,
        path: String,
        #[serde(default)]
        params: Vec<(String, String)>,
        #[serde(default)]
        headers: Vec<(String, String)>,
        #[serde(default)]
        json: Option<Value>,
        #[serde(default)]
        data: Option<Vec<(String, String)>>,
        #[serde(default)]
        timeout: Option<f64>,
    },
    Comment {
        id: u64,
        #[serde(default)]
        step: Option<u64>,
        text: String,
    },
    UpdateAlert {
        id: u64,
        #[serde(default)]
        step: Option<u64>,
        fields: Map<String, Value>,
    },
    Log {
        #[serde(default)]
        step: Option<u64>,
        message: String,
        #[serde(default)]
        fields: Map<String, Value>,
    },
    StepStart {
        step: u64,
        #[serde(default)]
        parent: Option<u64>,
        name: String,
    },
    StepEnd {
        #[serde(default)]
        step: Option<u64>,
        #[serde(default)]
        error: Option<String>,
    },
    Done(Done),
}

/// How `run()` ended, as the child tells it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Done {
    Returned {
        #[serde(default)]
        value: Value,
    },
    Raised {
        error: RaisedError,
        #[serde(default)]
        sandbox: Option<SandboxRefusal>,
    },
    Unserialisable {
        message: String,
        #[serde(rename = "type", default)]
        type_name: String,
    },
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RaisedError {
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub traceback: Vec<FrameInfo>,
    #[serde(default)]
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
pub struct FrameInfo {
    pub file: String,
    pub line: u32,
    pub function: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub in_playbook: bool,
}

/// An operation the sandbox refused and that ended the run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SandboxRefusal {
    pub operation: String,
    pub message: String,
}

/// Why the bridge cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BridgeError {
    #[error("the playbook process closed the bridge before reporting how run() ended{0}")]
    Closed(String),
    #[error("the playbook process sent a bridge frame longer than {} MiB", MAX_FRAME_BYTES >> 20)]
    TooLarge,
    #[error("the playbook process sent a bridge frame that is not valid: {0}")]
    Invalid(String),
    #[error("the bridge to the playbook process failed: {0}")]
    Io(String),
}

impl ChildFrame {
    /// Parses one line from the child. The message never quotes more than a short prefix of the
    /// line: it is the child's text, and the record must stay small.
    pub fn parse(line: &[u8]) -> Result<ChildFrame, BridgeError> {
        serde_json::from_slice(line).map_err(|err| {
            let shown: String = String::from_utf8_lossy(&line[..line.len().min(80)])
                .chars()
                .map(|c| if c.is_control() { '.' } else { c })
                .collect();
            let more = if line.len() > 80 { "…" } else { "" };
            BridgeError::Invalid(format!("{err} (the frame began `{shown}{more}`)"))
        })
    }
}

/// Reads one frame (without its `\n`) into `buf`; `Ok(false)` at a clean end of stream. A line
/// longer than `max` is refused as soon as that many bytes arrived without a newline, so a child
/// that writes without end costs the host at most `max` bytes of memory.
pub async fn read_frame<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> Result<bool, BridgeError> {
    buf.clear();
    loop {
        let available = reader
            .fill_buf()
            .await
            .map_err(|err| BridgeError::Io(err.to_string()))?;
        if available.is_empty() {
            return if buf.is_empty() {
                Ok(false)
            } else {
                Err(BridgeError::Closed(
                    " (the last frame had no end of line)".into(),
                ))
            };
        }
        let (chunk, found) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (&available[..at], true),
            None => (available, false),
        };
        if buf.len() + chunk.len() > max {
            return Err(BridgeError::TooLarge);
        }
        buf.extend_from_slice(chunk);
        let used = chunk.len() + usize::from(found);
        reader.consume(used);
        if found {
            return Ok(true);
        }
    }
}

/// Writes one frame and its `\n`.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    writer: &mut W,
    frame: &Value,
) -> Result<(), BridgeError> {
    let mut line = serde_json::to_vec(frame).map_err(|err| BridgeError::Io(err.to_string()))?;
    if line.len() > MAX_FRAME_BYTES {
        return Err(BridgeError::Io(format!(
            "a frame for the playbook would be {} bytes, over the {} MiB limit",
            line.len(),
            MAX_FRAME_BYTES >> 20
        )));
    }
    line.push(b'\n');
    writer
        .write_all(&line)
        .await
        .map_err(|err| BridgeError::Io(err.to_string()))?;
    writer
        .flush()
        .await
        .map_err(|err| BridgeError::Io(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_are_lines_with_a_cap() {
        let input: &[u8] = b"{\"op\":\"log\",\"message\":\"hi\"}\nabc";
        let mut reader = tokio::io::BufReader::with_capacity(4, input);
        let mut buf = Vec::new();
        assert!(read_frame(&mut reader, &mut buf, 100).await.unwrap());
        assert_eq!(
            ChildFrame::parse(&buf).unwrap(),
            ChildFrame::Log {
                step: None,
                message: "hi".into(),
                fields: Map::new()
            }
        );
        assert!(matches!(
            read_frame(&mut reader, &mut buf, 100).await,
            Err(BridgeError::Closed(_))
        ));

        let long = vec![b'x'; 1000];
        let mut reader = tokio::io::BufReader::with_capacity(64, &long[..]);
        assert_eq!(
            read_frame(&mut reader, &mut buf, 100).await,
            Err(BridgeError::TooLarge)
        );
    }

    #[test]
    fn garbage_is_named_briefly() {
        let err = ChildFrame::parse(b"\x00\x01garbage").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("not valid"), "{text}");
        assert!(text.contains("..garbage"), "{text}");
        assert!(ChildFrame::parse(br#"{"op":"nope"}"#).is_err());
        assert!(ChildFrame::parse(br#"{"op":"log","message":"x","extra":1}"#).is_err());
    }
}
