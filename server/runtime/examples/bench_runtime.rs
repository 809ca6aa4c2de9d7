//! The runtime's benchmark (docs/performance.md, "Runtime"):
//!
//!     cargo run --release -p riposte_runtime --example bench_runtime [-- ROUNDS]
//!
//! 1. Run overhead: a trivial playbook run from start to record (validation, the sandboxed child,
//!    the bridge, the record) against `python -I -c pass` of the same interpreter, and against
//!    `python -I -S -B -X utf8 -c pass` (the flags the child starts with), interleaved round by
//!    round so all see the same machine.
//! 2. Bridge overhead per integration request: a playbook making 200 GETs to a loopback server
//!    through `ctx.integration`, against the same 200 GETs sent directly through the HTTP layer
//!    (`Integrations::send`, same client, same auth) and through a bare reqwest client.
//!
//! Prints medians (and the 10th/90th percentiles) in milliseconds.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use riposte_core::catalog::HttpMethod;
use riposte_runtime::http::{OutgoingRequest, RequestBody};
use riposte_runtime::secrets::EnvSecrets;
use riposte_runtime::{AlertInput, IntegrationsSender, RunRequest, Status};

const REQUESTS: usize = 200;

const TRIVIAL: &str = r#""""Does nothing."""
from riposte import Alert, Context


def run(alert: Alert, ctx: Context) -> str:
    return alert.id
"#;

const REQUESTING: &str = r#""""Calls the API 200 times and says how long each call took."""
import time

from riposte import Alert, Context


def run(alert: Alert, ctx: Context) -> float:
    api = ctx.integration("Bench")
    started = time.perf_counter()
    for _ in range(200):
        api.get("/ping", params={"q": "1"}).raise_for_status()
    return (time.perf_counter() - started) / 200 * 1000
"#;

fn percentiles(samples: &mut [f64]) -> (f64, f64, f64) {
    samples.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    (at(0.5), at(0.1), at(0.9))
}

fn line(name: &str, samples: &mut [f64]) -> f64 {
    let (median, p10, p90) = percentiles(samples);
    println!("  {name:<52} median {median:8.3} ms   p10 {p10:8.3}   p90 {p90:8.3}");
    median
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(30);
    let interpreter = riposte_runtime::interpreter::resolve(None).expect("python3");
    println!(
        "interpreter: CPython {} at {}",
        interpreter.version,
        interpreter.executable.display()
    );

    // A workspace with one bearer profile pointing at a loopback server.
    let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", server.local_addr().unwrap());
    let app =
        axum::Router::new().fallback(|| async { axum::Json(serde_json::json!({"ok": true})) });
    tokio::spawn(async move { axum::serve(server, app).await });
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("playbooks")).unwrap();
    std::fs::create_dir_all(root.join("integrations")).unwrap();
    std::fs::write(
        root.join("riposte.toml"),
        "[limits]\nrun_timeout_secs = 60\n",
    )
    .unwrap();
    std::fs::write(
        root.join("integrations/bench.toml"),
        format!("name = \"Bench\"\nbase_url = \"{url}\"\n\n[auth]\nmethod = \"bearer\"\n"),
    )
    .unwrap();
    std::fs::write(root.join("playbooks/trivial.py"), TRIVIAL).unwrap();
    std::fs::write(root.join("playbooks/requesting.py"), REQUESTING).unwrap();
    let alert =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/alerts/graph-phishing-url.json");
    let loaded = Arc::new(riposte_workspace::load(root).unwrap());
    let secrets = Arc::new(EnvSecrets::from_vars([(
        "RIPOSTE_BENCH_TOKEN",
        "bench-token",
    )]));
    let sender = Arc::new(IntegrationsSender::from_workspace(&loaded.workspace, secrets).unwrap());

    let run = |playbook: &str| RunRequest {
        playbook: root.join("playbooks").join(playbook),
        source: None,
        display_path: None,
        workspace: Arc::clone(&loaded),
        alert: AlertInput::File(alert.clone()),
        dry_run: false,
        timeout: None,
        sender: sender.clone(),
        progress: None,
        cancel: None,
    };

    // Warm up both (page cache, the interpreter's files).
    for _ in 0..3 {
        let record = riposte_runtime::run_playbook(run("trivial.py"))
            .await
            .unwrap();
        assert_eq!(record.status, Status::Succeeded, "{:?}", record.message);
        std::process::Command::new(&interpreter.executable)
            .args(["-I", "-c", "pass"])
            .status()
            .unwrap();
    }

    println!("\n1. run overhead, {rounds} rounds interleaved");
    let (mut bare, mut lean, mut runs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let started = Instant::now();
        let status = std::process::Command::new(&interpreter.executable)
            .args(["-I", "-S", "-B", "-X", "utf8", "-c", "pass"])
            .status()
            .unwrap();
        assert!(status.success());
        lean.push(started.elapsed().as_secs_f64() * 1000.0);

        let started = Instant::now();
        let status = std::process::Command::new(&interpreter.executable)
            .args(["-I", "-c", "pass"])
            .status()
            .unwrap();
        assert!(status.success());
        bare.push(started.elapsed().as_secs_f64() * 1000.0);

        let started = Instant::now();
        let record = riposte_runtime::run_playbook(run("trivial.py"))
            .await
            .unwrap();
        runs.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(record.status, Status::Succeeded);
    }
    let bare_median = line("python -I -c pass", &mut bare);
    let lean_median = line(
        "python -I -S -B -X utf8 -c pass (the child's flags)",
        &mut lean,
    );
    let run_median = line("trivial playbook, start to record (sandboxed)", &mut runs);
    println!(
        "  ratio: {:.2}× `python -I -c pass` (target ≤ 2×); {:.2}× the same interpreter with the child's flags",
        run_median / bare_median,
        run_median / lean_median
    );

    println!(
        "\n2. per-request overhead, {REQUESTS} GETs to a loopback server, {} rounds",
        rounds.min(10)
    );
    let integrations = sender.integrations().clone();
    let bare_client = reqwest::Client::new();
    let (mut direct, mut layer, mut bridged) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds.min(10) {
        let started = Instant::now();
        for _ in 0..REQUESTS {
            let response = bare_client
                .get(format!("{url}/ping?q=1"))
                .bearer_auth("bench-token")
                .send()
                .await
                .unwrap();
            response.bytes().await.unwrap();
        }
        direct.push(started.elapsed().as_secs_f64() * 1000.0 / REQUESTS as f64);

        let started = Instant::now();
        for _ in 0..REQUESTS {
            integrations
                .send(OutgoingRequest {
                    profile: "Bench".into(),
                    method: HttpMethod::Get,
                    path: "/ping".into(),
                    query: vec![("q".into(), "1".into())],
                    headers: Vec::new(),
                    body: RequestBody::Empty,
                    timeout: Some(Duration::from_secs(5)),
                })
                .await
                .unwrap();
        }
        layer.push(started.elapsed().as_secs_f64() * 1000.0 / REQUESTS as f64);

        let record = riposte_runtime::run_playbook(run("requesting.py"))
            .await
            .unwrap();
        assert_eq!(record.status, Status::Succeeded, "{:?}", record.message);
        bridged.push(record.result.as_f64().unwrap());
    }
    line("raw request (reqwest, same server)", &mut direct);
    let layer_median = line("HTTP layer (Integrations::send: auth, checks)", &mut layer);
    let bridged_median = line(
        "through the bridge (ctx.integration(...).get)",
        &mut bridged,
    );
    println!(
        "  bridge overhead per request: {:.3} ms (target ≤ 1 ms)",
        bridged_median - layer_median
    );
}
