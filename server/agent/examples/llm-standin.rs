//! The scripted LLM stand-in as a process, for end-to-end runs outside `cargo test` (the editor's
//! chat next to a real `riposte lsp`, or `riposte generate` by hand):
//!
//! ```text
//! cargo run -p riposte_agent --example llm-standin -- --script fixtures/llm/vt-url-comment.json --port 8089 [--key KEY]
//! ```
//!
//! It prints `listening on http://127.0.0.1:PORT` once ready, logs each request's verdict to
//! stderr, and serves until killed. Point an OpenAI-compatible client at `http://127.0.0.1:PORT/v1`
//! or an Anthropic client at `http://127.0.0.1:PORT`.

#[path = "../tests/standin/mod.rs"]
mod standin;

use std::path::PathBuf;
use std::time::Duration;

fn usage() -> ! {
    eprintln!("usage: llm-standin --script FILE [--port PORT] [--key KEY] [--secret VALUE]...");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let mut script = None;
    let mut port = 0u16;
    let mut options = standin::Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--script" => script = Some(PathBuf::from(value())),
            "--port" => port = value().parse().unwrap_or_else(|_| usage()),
            "--key" => options.key = Some(value()),
            "--secret" => options.planted_secrets.push(value()),
            _ => usage(),
        }
    }
    let Some(path) = script else { usage() };
    let script = standin::Script::load(&path).unwrap_or_else(|err| {
        eprintln!("llm-standin: {err}");
        std::process::exit(2);
    });
    let turns = script.turns.len();
    let server = standin::Standin::start(script, options, port)
        .await
        .unwrap_or_else(|err| {
            eprintln!("llm-standin: cannot listen on 127.0.0.1:{port}: {err}");
            std::process::exit(1);
        });
    println!("listening on http://{}", server.addr);
    eprintln!("llm-standin: {turns} turn(s) from {}", path.display());
    let mut reported = (0, 0);
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let requests = server.requests().len();
        let violations = server.violations();
        for violation in &violations[reported.1..] {
            eprintln!("llm-standin: VIOLATION {violation}");
        }
        if requests > reported.0 {
            eprintln!(
                "llm-standin: {requests} request(s), {} turn(s) left",
                server.remaining()
            );
        }
        reported = (requests, violations.len());
    }
}
