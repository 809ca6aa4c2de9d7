//! JSON-RPC over a byte stream (stdio): `Content-Length` framing, and the loop that feeds
//! `tower-lsp-server`'s service and writes what it answers and asks.
//!
//! This replaces `tower_lsp_server::Server` for one reason: its reader stops at the first frame
//! it cannot decode (malformed JSON, a bad header), which ends the session. Here a bad frame is
//! answered with the JSON-RPC error the spec asks for (`-32700` parse error, `-32600` invalid
//! request, id `null` when none can be read) and the loop goes on with the next frame. Otherwise
//! the loop is the library's: requests are polled in arrival order in one task (so notifications
//! such as `didChange` start in order), up to `MAX_CONCURRENCY` at once.

use bytes::{Buf, BytesMut};
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt, future};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tower::Service;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Id, Request, Response};
use tower_lsp_server::{ClientSocket, LanguageServer, LspService};

/// How many requests run at once before reading pauses. Handlers hand long work to tasks, so
/// this bounds only what waits on them (pull diagnostics, commands).
const MAX_CONCURRENCY: usize = 32;
/// A frame larger than this is refused and skipped: 10 MB documents fit several times over.
pub const MAX_FRAME_BYTES: usize = 128 * 1024 * 1024;
/// Headers longer than this are not headers.
const MAX_HEADER_BYTES: usize = 8 * 1024;

/// One incoming message, as the library's own (private) `Message` reads it.
#[derive(Deserialize)]
#[serde(untagged)]
enum Incoming {
    Response(Response),
    Request(Request),
}

/// What goes out: answers to the client's requests, and the server's own requests and
/// notifications.
enum Outgoing {
    Response(Response),
    Request(Request),
}

/// Serves one client until it sends `exit` or closes the stream.
pub async fn serve<I, O, S>(input: I, output: O, service: LspService<S>, socket: ClientSocket)
where
    I: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
    S: LanguageServer,
{
    let mut service = service;
    let (client_requests, mut client_responses) = socket.split();
    let (out_tx, out_rx) = mpsc::unbounded::<Outgoing>();
    let (tasks_tx, tasks_rx) = mpsc::unbounded();

    let process = tasks_rx
        .buffer_unordered(MAX_CONCURRENCY)
        .filter_map(future::ready)
        .map(|response| Ok(Outgoing::Response(response)))
        .forward(out_tx.clone().sink_map_err(|_| ()));

    let (client_requests, abort_client_requests) = futures::stream::abortable(client_requests);
    let server_requests = client_requests
        .map(|request| Ok(Outgoing::Request(request)))
        .forward(out_tx.clone().sink_map_err(|_| ()));

    let write = write_loop(output, out_rx);

    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let read = async {
        let mut reader = FrameReader::new(input);
        loop {
            let frame = match reader.next_frame().await {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(FrameError::Io(err)) => {
                    tracing::error!("reading the client's messages failed: {err}");
                    break;
                }
                Err(FrameError::Malformed(why)) => {
                    tracing::warn!("malformed message from the client: {why}");
                    let error = Error {
                        code: ErrorCode::ParseError,
                        message: why.into(),
                        data: None,
                    };
                    let _ = out_tx
                        .unbounded_send(Outgoing::Response(Response::from_error(Id::Null, error)));
                    continue;
                }
            };
            let value: serde_json::Value = match serde_json::from_slice(&frame) {
                Ok(value) => value,
                Err(err) => {
                    tracing::warn!("a message from the client is not JSON: {err}");
                    let error = Error {
                        code: ErrorCode::ParseError,
                        message: format!("the message is not JSON: {err}").into(),
                        data: None,
                    };
                    let _ = out_tx
                        .unbounded_send(Outgoing::Response(Response::from_error(Id::Null, error)));
                    continue;
                }
            };
            let id = request_id(&value);
            let incoming = match shape(&value) {
                Ok(()) => serde_json::from_value::<Incoming>(value).map_err(|err| err.to_string()),
                Err(why) => Err(why.to_string()),
            };
            match incoming {
                Ok(Incoming::Request(request)) => {
                    let will_exit = request.method() == "exit";
                    if future::poll_fn(|cx| service.poll_ready(cx)).await.is_err() {
                        break;
                    }
                    let task = service.call(request);
                    let task = async move { task.await.unwrap_or(None) };
                    if tasks_tx.unbounded_send(Box::pin(task)).is_err() {
                        break;
                    }
                    if will_exit {
                        break;
                    }
                }
                Ok(Incoming::Response(response)) => {
                    if client_responses.send(response).await.is_err() {
                        break;
                    }
                }
                Err(err) => {
                    tracing::warn!("a message from the client is not JSON-RPC 2.0: {err}");
                    let error = Error {
                        code: ErrorCode::InvalidRequest,
                        message: format!(
                            "not a JSON-RPC 2.0 request, notification or response: {err}"
                        )
                        .into(),
                        data: None,
                    };
                    let _ = out_tx.unbounded_send(Outgoing::Response(Response::from_error(
                        id.unwrap_or(Id::Null),
                        error,
                    )));
                }
            }
        }
        tasks_tx.close_channel();
        abort_client_requests.abort();
        let _ = done_tx.send(());
    };

    // After the client is gone, work in flight gets a moment to answer, then the session ends
    // (a handler waiting on a client that will never answer must not keep the process alive).
    let finish = async {
        let drain = futures::future::join(process, server_requests);
        let deadline = async {
            let _ = done_rx.await;
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        };
        tokio::select! {
            _ = drain => {}
            () = deadline => tracing::warn!("work still in flight at exit was dropped"),
        }
        out_tx.close_channel();
    };
    futures::join!(read, finish, write);
}

/// What the library's reader would wave through or misread: a request without a method (read as
/// method `""`), another protocol version, a batch.
fn shape(value: &serde_json::Value) -> Result<(), &'static str> {
    if !value.is_object() {
        return Err("a message is one JSON object (LSP has no batches)");
    }
    if value.get("jsonrpc").and_then(serde_json::Value::as_str) != Some("2.0") {
        return Err("`jsonrpc` must be \"2.0\"");
    }
    let is_request = value
        .get("method")
        .is_some_and(serde_json::Value::is_string);
    let is_response = value.get("id").is_some()
        && (value.get("result").is_some() || value.get("error").is_some());
    if !is_request && !is_response {
        return Err("neither a request (no `method`) nor a response (no `result` or `error`)");
    }
    Ok(())
}

/// The `id` of a message that is not a valid request, when it has a usable one.
fn request_id(value: &serde_json::Value) -> Option<Id> {
    match value.get("id")? {
        serde_json::Value::Number(n) => n.as_i64().map(Id::Number),
        serde_json::Value::String(s) => Some(Id::String(s.clone())),
        _ => None,
    }
}

async fn write_loop<O: AsyncWrite + Unpin>(
    mut output: O,
    mut messages: mpsc::UnboundedReceiver<Outgoing>,
) {
    while let Some(message) = messages.next().await {
        let body = match &message {
            Outgoing::Response(response) => serde_json::to_vec(response),
            Outgoing::Request(request) => serde_json::to_vec(request),
        };
        let Ok(body) = body else {
            tracing::error!("could not serialise an outgoing message");
            continue;
        };
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend_from_slice(&body);
        if output.write_all(&frame).await.is_err() || output.flush().await.is_err() {
            tracing::error!("the client's end of the stream is closed");
            break;
        }
    }
}

#[derive(Debug)]
pub enum FrameError {
    Io(std::io::Error),
    /// The frame was skipped; the reader is ready for the next one.
    Malformed(String),
}

/// Reads `Content-Length` framed messages, recovering from bad headers by skipping to the next
/// `Content-Length`.
pub struct FrameReader<R> {
    input: R,
    buffer: BytesMut,
    eof: bool,
    /// Bytes of a refused frame still to skip.
    skip: usize,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(input: R) -> Self {
        Self {
            input,
            buffer: BytesMut::with_capacity(64 * 1024),
            eof: false,
            skip: 0,
        }
    }

    async fn fill(&mut self) -> Result<bool, FrameError> {
        if self.eof {
            return Ok(false);
        }
        self.buffer.reserve(64 * 1024);
        let read = self
            .input
            .read_buf(&mut self.buffer)
            .await
            .map_err(FrameError::Io)?;
        if read == 0 {
            self.eof = true;
        }
        Ok(read > 0)
    }

    /// The next frame's body; `None` at the end of the stream.
    pub async fn next_frame(&mut self) -> Result<Option<BytesMut>, FrameError> {
        loop {
            while self.skip > 0 {
                if self.buffer.is_empty() && !self.fill().await? {
                    return Ok(None);
                }
                let n = self.skip.min(self.buffer.len());
                self.buffer.advance(n);
                self.skip -= n;
            }
            if let Some(header_end) = find(&self.buffer, b"\r\n\r\n") {
                // Junk before a header: drop it, and say so once.
                if let Some(at) = find(&self.buffer[..header_end], b"Content-Length")
                    && at > 0
                {
                    self.buffer.advance(at);
                    return Err(FrameError::Malformed(
                        "bytes before a `Content-Length` header were skipped".into(),
                    ));
                }
                let header = String::from_utf8_lossy(&self.buffer[..header_end]).into_owned();
                self.buffer.advance(header_end + 4);
                let length = match content_length(&header) {
                    Ok(length) => length,
                    Err(why) => {
                        self.resync();
                        return Err(FrameError::Malformed(why));
                    }
                };
                if length > MAX_FRAME_BYTES {
                    self.skip = length;
                    return Err(FrameError::Malformed(format!(
                        "a message of {length} bytes is over the {MAX_FRAME_BYTES}-byte limit; skipped"
                    )));
                }
                while self.buffer.len() < length {
                    if !self.fill().await? {
                        return Ok(None);
                    }
                }
                return Ok(Some(self.buffer.split_to(length)));
            }
            if self.buffer.len() > MAX_HEADER_BYTES {
                self.buffer.advance(self.buffer.len() - 16);
                self.resync();
                return Err(FrameError::Malformed(
                    "expected a `Content-Length` header".into(),
                ));
            }
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    /// Drops bytes up to the next `Content-Length` (or all but a possible partial one).
    fn resync(&mut self) {
        match find(&self.buffer, b"Content-Length") {
            Some(at) => self.buffer.advance(at),
            None => {
                let keep = self.buffer.len().min(16);
                self.buffer.advance(self.buffer.len() - keep);
            }
        }
    }
}

fn content_length(header: &str) -> Result<usize, String> {
    let mut length = None;
    for line in header.split("\r\n") {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!(
                "`{}` is not a header",
                line.chars().take(40).collect::<String>()
            ));
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| format!("`Content-Length: {}` is not a length", value.trim()))?,
            );
        }
    }
    length.ok_or_else(|| "the message has no `Content-Length` header".to_string())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
