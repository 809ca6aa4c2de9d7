//! The transport in process: framing that recovers from bad input, and a whole session over an
//! in-memory pipe (initialize, a change, the diagnostics it produces, shutdown).

use std::time::Duration;

use riposte_lsp::transport::{FrameError, FrameReader, MAX_FRAME_BYTES};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

fn frame(body: &str) -> Vec<u8> {
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

#[tokio::test]
async fn frames_are_read_and_bad_ones_skipped() {
    let mut input = Vec::new();
    input.extend(frame("{\"a\":1}"));
    input.extend(b"garbage before a header ");
    input.extend(frame("{\"b\":2}"));
    input.extend(b"Content-Length: nope\r\n\r\n");
    input.extend(format!("Content-Length: {}\r\n\r\n", MAX_FRAME_BYTES + 1).as_bytes());
    input.extend(frame("{\"c\":3}"));
    input.extend(
        b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: 2\r\n\r\n{}",
    );
    let mut reader = FrameReader::new(&input[..]);
    let mut seen = Vec::new();
    loop {
        match reader.next_frame().await {
            Ok(Some(body)) => seen.push(String::from_utf8(body.to_vec()).unwrap()),
            Ok(None) => break,
            Err(FrameError::Malformed(why)) => seen.push(format!("error: {why}")),
            Err(FrameError::Io(err)) => panic!("{err}"),
        }
    }
    assert_eq!(seen[0], "{\"a\":1}");
    assert!(seen[1].starts_with("error: bytes before"), "{seen:?}");
    assert_eq!(seen[2], "{\"b\":2}");
    assert!(
        seen[3].starts_with("error: `Content-Length: nope`"),
        "{seen:?}"
    );
    // The oversized frame is refused; its (absent) body swallows the rest of the input, which
    // is what a reader that cannot trust the length must do.
    assert!(seen[4].contains("over the"), "{seen:?}");
    assert_eq!(seen.len(), 5, "{seen:?}");
}

#[tokio::test]
async fn a_message_split_across_writes_is_one_frame() {
    let (mut client, server) = duplex(16);
    let writer = tokio::spawn(async move {
        for chunk in frame("{\"jsonrpc\":\"2.0\"}").chunks(3) {
            client.write_all(chunk).await.unwrap();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    let mut reader = FrameReader::new(server);
    let body = reader.next_frame().await.unwrap().unwrap();
    assert_eq!(&body[..], b"{\"jsonrpc\":\"2.0\"}");
    writer.await.unwrap();
}

async fn read_message(output: &mut tokio::io::DuplexStream) -> Value {
    let mut header = Vec::new();
    while !header.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        output.read_exact(&mut byte).await.unwrap();
        header.push(byte[0]);
    }
    let header = String::from_utf8(header).unwrap();
    let length: usize = header
        .trim()
        .strip_prefix("Content-Length: ")
        .unwrap()
        .parse()
        .unwrap();
    let mut body = vec![0; length];
    output.read_exact(&mut body).await.unwrap();
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_over_an_in_memory_pipe() {
    let (mut to_server, server_in) = duplex(1 << 20);
    let (server_out, mut from_server) = duplex(1 << 20);
    let server = tokio::spawn(riposte_lsp::serve(server_in, server_out));
    let send = |message: Value| frame(&message.to_string());

    to_server
        .write_all(&send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}, "initializationOptions": {"debounceMs": 0}}})))
        .await
        .unwrap();
    let answer = read_message(&mut from_server).await;
    assert_eq!(answer["id"], 1);
    assert_eq!(
        answer["result"]["capabilities"]["positionEncoding"],
        "utf-16"
    );
    to_server
        .write_all(&send(
            json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        ))
        .await
        .unwrap();

    // A playbook outside any workspace is not validated; an unknown request is answered.
    to_server
        .write_all(&send(
            json!({"jsonrpc": "2.0", "id": 2, "method": "nope/nope"}),
        ))
        .await
        .unwrap();
    loop {
        let message = read_message(&mut from_server).await;
        if message["id"] == 2 {
            assert_eq!(message["error"]["code"], -32601);
            break;
        }
    }
    to_server
        .write_all(&send(
            json!({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}),
        ))
        .await
        .unwrap();
    loop {
        if read_message(&mut from_server).await["id"] == 3 {
            break;
        }
    }
    to_server
        .write_all(&send(json!({"jsonrpc": "2.0", "method": "exit"})))
        .await
        .unwrap();
    let code = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code, 0);
}
