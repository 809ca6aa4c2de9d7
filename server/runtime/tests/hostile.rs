//! The hostile suite: every playbook in `fixtures/playbooks/hostile/` runs through the real runtime
//! (real CPython, the real sandbox) and must end with its status and a clear message, with the
//! host unharmed and no secret in the record.

mod run_support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use riposte_runtime::record::BlockedBy;
use riposte_runtime::{AlertInput, RunRecord, Status};
use run_support::*;
use serde_json::json;

fn hostile(name: &str) -> PathBuf {
    repo_root().join("fixtures/playbooks/hostile").join(name)
}

async fn run_hostile(ws: &DemoWorkspace, name: &str, alert: AlertInput) -> RunRecord {
    let record = Run::new(ws.root(), hostile(name), alert)
        .timeout(Duration::from_secs(20))
        .record()
        .await;
    assert_no_secret(&record);
    record
}

fn phishing() -> AlertInput {
    alert_file("graph-phishing-url.json")
}

/// A Graph alert carrying extra `raw` keys for the probes.
fn probe_alert(ws: &DemoWorkspace, extra: serde_json::Value) -> AlertInput {
    let mut alert = fixture_alert("graph-phishing-url.json");
    for (key, value) in extra.as_object().unwrap() {
        alert[key] = value.clone();
    }
    AlertInput::File(ws.add_alert("probe.json", &alert))
}

fn assert_sandbox_blocked(record: &RunRecord, needle: &str) {
    assert_eq!(record.status, Status::Blocked, "{}", summary(record));
    assert_eq!(
        record.blocked_by,
        Some(BlockedBy::Sandbox),
        "{}",
        summary(record)
    );
    let message = record.message.as_deref().unwrap_or_default();
    assert!(message.starts_with("the sandbox refused to "), "{message}");
    assert!(
        message.contains(needle),
        "{message} should mention {needle}"
    );
    assert!(
        message.contains("of the playbook"),
        "{message} should give the line"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_loop_times_out_and_the_group_is_killed() {
    let ws = DemoWorkspace::new();
    let started = Instant::now();
    let record = Run::new(ws.root(), hostile("infinite-loop.py"), phishing())
        .timeout(Duration::from_secs(2))
        .record()
        .await;
    assert_eq!(record.status, Status::Timeout, "{}", summary(&record));
    assert!(
        record
            .message
            .as_deref()
            .unwrap()
            .contains("time limit of 2 s"),
        "{}",
        summary(&record)
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_allocation_ends_in_memory() {
    let ws = DemoWorkspace::new();
    let record = run_hostile(&ws, "unbounded-allocation.py", phishing()).await;
    assert_eq!(record.status, Status::Memory, "{}", summary(&record));
    let message = record.message.as_deref().unwrap();
    assert!(message.contains("512 MiB"), "{message}");
    assert!(message.contains("line 8 of the playbook"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_bomb_is_refused_by_seccomp() {
    let ws = DemoWorkspace::new();
    let record = run_hostile(&ws, "fork-bomb.py", phishing()).await;
    assert_sandbox_blocked(&record, "start a process (os.fork)");
    assert!(
        record
            .message
            .as_deref()
            .unwrap()
            .contains("Operation not permitted")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subprocess_is_refused() {
    let ws = DemoWorkspace::new();
    let record = run_hostile(&ws, "process-spawn.py", phishing()).await;
    assert_sandbox_blocked(&record, "start a process (subprocess)");
    assert!(!record.printed.stdout.contains("escaped"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_reaches_nothing() {
    let ws = DemoWorkspace::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = tokio::spawn(async move {
        tokio::time::timeout(Duration::from_secs(15), listener.accept())
            .await
            .is_ok()
    });
    let alert = probe_alert(&ws, json!({"probePort": port}));
    let record = run_hostile(&ws, "socket-connect.py", alert).await;
    assert_sandbox_blocked(&record, "open a network connection");
    accepted.abort();
    let connected = accepted.await.unwrap_or(false);
    assert!(
        !connected,
        "the listener saw a connection from the playbook"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etc_shadow_is_out_of_reach() {
    let ws = DemoWorkspace::new();
    let record = run_hostile(&ws, "read-shadow.py", phishing()).await;
    assert_sandbox_blocked(&record, "access /etc/shadow");
    // Whatever the host could read of it must not be in the record.
    if let Ok(shadow) = std::fs::read_to_string("/etc/shadow") {
        let json = serde_json::to_string(&record).unwrap();
        for line in shadow.lines().filter(|l| l.contains(":$")) {
            assert!(
                !json.contains(line),
                "a line of /etc/shadow reached the record"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_keys_are_out_of_reach() {
    let ws = DemoWorkspace::new();
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".ssh")).unwrap();
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nkey-material-that-must-not-leak\n";
    std::fs::write(home.path().join(".ssh/id_rsa"), key).unwrap();
    let alert = probe_alert(&ws, json!({"probeHome": home.path()}));
    let record = run_hostile(&ws, "read-ssh-key.py", alert).await;
    assert_sandbox_blocked(&record, ".ssh/id_rsa");
    let json = serde_json::to_string(&record).unwrap();
    assert!(!json.contains("key-material-that-must-not-leak"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_outside_the_run_folder_are_refused() {
    let ws = DemoWorkspace::new();
    let outside = tempfile::tempdir().unwrap();
    let alert = probe_alert(&ws, json!({"probeDir": outside.path()}));
    let record = run_hostile(&ws, "write-outside.py", alert).await;
    assert_sandbox_blocked(&record, "riposte-escaped.txt");
    assert!(!outside.path().join("riposte-escaped.txt").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_cannot_be_signalled() {
    let ws = DemoWorkspace::new();
    // Were the signal delivered, this test process would die here.
    let record = run_hostile(&ws, "kill-host.py", phishing()).await;
    assert_sandbox_blocked(&record, "signal a process");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_environment_is_out_of_reach() {
    let ws = DemoWorkspace::new();
    let record = run_hostile(&ws, "read-host-environment.py", phishing()).await;
    assert_sandbox_blocked(&record, "/environ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctypes_is_refused_by_validation() {
    let ws = DemoWorkspace::new();
    let record = run_hostile(&ws, "ctypes-import.py", phishing()).await;
    assert_eq!(record.status, Status::Blocked, "{}", summary(&record));
    assert_eq!(record.blocked_by, Some(BlockedBy::Validation));
    assert_eq!(record.diagnostics.len(), 1);
    assert_eq!(record.diagnostics[0].code, "RP010");
    assert_eq!(record.diagnostics[0].line, 2);
    assert!(record.python.is_none(), "no interpreter may start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctypes_hidden_from_validation_is_refused_at_run_time() {
    let ws = DemoWorkspace::new();
    let record = run_hostile(&ws, "ctypes-bypass.py", phishing()).await;
    assert_sandbox_blocked(&record, "import ctypes");
    assert_eq!(record.error.as_ref().unwrap().type_name, "PermissionError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn megabytes_of_output_are_truncated() {
    let ws = DemoWorkspace::new();
    let record = run_hostile(&ws, "print-megabytes.py", phishing()).await;
    assert_eq!(record.status, Status::Succeeded, "{}", summary(&record));
    assert!(record.printed.stdout_truncated);
    assert_eq!(record.printed.stdout_bytes, 5_000_000);
    assert!(record.printed.stdout.len() <= riposte_runtime::OUTPUT_CAP);
    let text = riposte_runtime::report::render_text(&record);
    assert!(text.contains("truncated: 4.8 MiB printed"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_bridge_is_a_bridge_error() {
    let ws = DemoWorkspace::new();
    let record = run_hostile(&ws, "bridge-garbage.py", phishing()).await;
    assert_eq!(record.status, Status::BridgeError, "{}", summary(&record));
    let message = record.message.as_deref().unwrap();
    assert!(message.contains("not valid"), "{message}");
    assert!(message.contains("this is not a frame"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_frame_is_a_bridge_error() {
    let ws = DemoWorkspace::new();
    let record = run_hostile(&ws, "bridge-huge-frame.py", phishing()).await;
    assert_eq!(record.status, Status::BridgeError, "{}", summary(&record));
    assert!(
        record
            .message
            .as_deref()
            .unwrap()
            .contains("longer than 16 MiB")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_bridge_is_a_bridge_error() {
    let ws = DemoWorkspace::new();
    let record = run_hostile(&ws, "bridge-close.py", phishing()).await;
    assert_eq!(record.status, Status::BridgeError, "{}", summary(&record));
    assert!(
        record
            .message
            .as_deref()
            .unwrap()
            .contains("closed the bridge before reporting")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unserialisable_return_is_an_output_error() {
    let ws = DemoWorkspace::new();
    let record = run_hostile(&ws, "unserialisable-return.py", phishing()).await;
    assert_eq!(record.status, Status::OutputError, "{}", summary(&record));
    assert!(
        record
            .message
            .as_deref()
            .unwrap()
            .contains("Object of type set is not JSON serializable")
    );
}

/// After the whole suite in one process, the host still runs a playbook normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_stays_healthy_after_the_suite() {
    let ws = DemoWorkspace::new();
    for name in [
        "fork-bomb.py",
        "bridge-garbage.py",
        "bridge-huge-frame.py",
        "bridge-close.py",
        "kill-host.py",
        "unbounded-allocation.py",
    ] {
        let record = run_hostile(&ws, name, phishing()).await;
        assert_ne!(record.status, Status::Succeeded, "{name}");
    }
    let playbook = ws.add_playbook(
        "fine.py",
        "\"\"\"Fine.\"\"\"\nfrom riposte import Alert, Context\n\n\ndef run(alert: Alert, ctx: Context) -> str:\n    return alert.id\n",
    );
    let record = Run::new(ws.root(), playbook, phishing()).record().await;
    assert_eq!(record.status, Status::Succeeded, "{}", summary(&record));
    assert_eq!(
        record.result,
        json!("fa6c1d9f5e-2b7a-4c3e-9d84-1f0a6b2c7e95")
    );
}
