//! The SDK module the runtime gives playbooks must be `riposte.pyi`, exactly: same classes,
//! members, signatures and docstrings (`sdk_matches_stub.py` compares them with Python's `ast`).

use std::path::PathBuf;
use std::process::Command;

fn python() -> PathBuf {
    riposte_runtime::interpreter::resolve(None)
        .expect("CPython 3.10+ for the tests")
        .executable
}

fn manifest(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn the_sdk_implements_the_stub_exactly() {
    let output = Command::new(python())
        .arg("-I")
        .arg(manifest("tests/sdk_matches_stub.py"))
        .arg(manifest("../core/sdk/riposte.pyi"))
        .arg(manifest("python"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the SDK drifted from riposte.pyi:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("9 classes compared, 0 difference(s)"),
        "{stdout}"
    );
}

#[test]
fn the_stub_the_checks_read_is_the_one_compared() {
    let stub = std::fs::read_to_string(manifest("../core/sdk/riposte.pyi")).unwrap();
    assert_eq!(stub, riposte_core::sdk::RIPOSTE_PYI);
}

/// Importing the SDK must stay cheap: it is on every run's start-up path.
#[test]
fn importing_the_sdk_loads_no_typing_and_no_threading() {
    let output = Command::new(python())
        .args(["-I", "-S", "-c"])
        .arg(
            "import sys; sys.path.insert(0, sys.argv[1]); import riposte; \
             heavy = sorted({'typing', 'threading', 'traceback', 're'} & set(sys.modules)); \
             print(heavy); from riposte import JSON, EntityKind; print(EntityKind)",
        )
        .arg(manifest("python"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let first = stdout.lines().next().unwrap();
    assert!(
        !first.contains("typing") && !first.contains("threading"),
        "{stdout}"
    );
    assert!(stdout.contains("Literal['user', 'ip', 'url'"), "{stdout}");
}

/// What the SDK sends for query and form parameters, the way `requests` encodes them.
#[test]
fn parameters_are_encoded_like_requests() {
    let output = Command::new(python())
        .args(["-I", "-S", "-c"])
        .arg(
            "import sys, json; sys.path.insert(0, sys.argv[1]); import riposte; \
             print(json.dumps(riposte._pairs('params', {'a': 1, 'b': [2, 'x'], 'c': None, 'd': True})))",
        )
        .arg(manifest("python"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        r#"[["a", "1"], ["b", "2"], ["b", "x"], ["d", "True"]]"#
    );
}
