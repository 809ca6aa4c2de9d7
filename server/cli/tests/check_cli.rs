//! `riposte check` as a user runs it: the real binary, real files, exit codes and every format.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn riposte(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_riposte"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("riposte runs")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .canonicalize()
        .expect("fixtures exist")
}

/// A scratch copy of the demo workspace, with extra playbooks from the failing fixtures.
fn workspace_with(bad: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&fixtures().join("workspace"), dir.path());
    for name in bad {
        std::fs::copy(
            fixtures().join("playbooks/bad").join(name),
            dir.path().join("playbooks").join(name),
        )
        .expect("copy");
    }
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_demo_workspace_passes() {
    let output = riposte(&["check", "fixtures/workspace"], &fixtures().join(".."));
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("All checks passed!"));
}

#[test]
fn findings_at_error_level_exit_1_with_location_and_frame() {
    let ws = workspace_with(&["RP003-external-import.py"]);
    let output = riposte(&["check"], ws.path());
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("playbooks/RP003-external-import.py:3:8: RP003 [error] `requests` is not in the Python 3.11 standard library"), "{text}");
    assert!(
        text.contains("3 | import requests\n  |        ^^^^^^^^"),
        "{text}"
    );
    assert!(text.contains("Found 1 error and 0 warnings in"), "{text}");
}

#[test]
fn warnings_alone_exit_0() {
    let ws = workspace_with(&["RP006-unknown-endpoint.py"]);
    let output = riposte(&["check", "playbooks/RP006-unknown-endpoint.py"], ws.path());
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("RP006 [warning]"));
}

#[test]
fn json_output_has_code_position_and_fix() {
    let ws = workspace_with(&["RP014-print-call.py"]);
    let output = riposte(
        &["check", "--format", "json", "playbooks/RP014-print-call.py"],
        ws.path(),
    );
    let findings: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let finding = &findings[0];
    assert_eq!(finding["code"], "RP014");
    assert_eq!(finding["path"], "playbooks/RP014-print-call.py");
    assert_eq!(finding["start"]["line"], 6);
    assert_eq!(finding["start"]["column"], 5);
    assert_eq!(finding["fix"]["applicability"], "safe");
    assert_eq!(finding["fix"]["edits"][0]["content"], "ctx.log");
    assert!(
        finding["url"]
            .as_str()
            .unwrap()
            .ends_with("#rp014-print-call")
    );
}

#[test]
fn sarif_output_is_sarif_2_1_0_with_relative_uris() {
    let ws = workspace_with(&["RP008-hardcoded-secret.py", "RP011-insecure-url.py"]);
    let output = riposte(&["check", "--format", "sarif"], ws.path());
    assert_eq!(output.status.code(), Some(1));
    let log: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "riposte");
    assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 18);
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for result in results {
        let rule_index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            run["tool"]["driver"]["rules"][rule_index]["id"],
            result["ruleId"]
        );
        let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(uri.starts_with("playbooks/"), "{uri}");
        assert!(
            result["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .unwrap()
                > 0
        );
    }
    // The secret itself never appears in any output.
    assert!(!stdout(&output).contains("AKIAIOSFODNN7EXAMPLE"));
    assert!(!stdout(&output).contains("c4f1e9a7b2d84e0f9a6b3c5d7e8f1a2b"));
}

#[test]
fn github_output_is_workflow_commands() {
    let ws = workspace_with(&["RP011-insecure-url.py"]);
    let output = riposte(&["check", "--format", "github"], ws.path());
    let text = stdout(&output);
    assert_eq!(
        text.trim(),
        "::warning file=playbooks/RP011-insecure-url.py,line=6,col=35,endLine=6,endColumn=42,title=RP011 (insecure-url)::RP011 `http://` sends data unencrypted: use `https://`"
    );
}

#[test]
fn fix_applies_safe_fixes_in_place() {
    let ws = workspace_with(&["RP014-print-call.py"]);
    let output = riposte(
        &["check", "--fix", "playbooks/RP014-print-call.py"],
        ws.path(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let fixed = std::fs::read_to_string(ws.path().join("playbooks/RP014-print-call.py")).unwrap();
    assert!(
        fixed.contains("    ctx.log(f\"handling {alert.id}\")"),
        "{fixed}"
    );
}

#[test]
fn profiles_and_rules_are_checked_with_the_workspace() {
    let ws = workspace_with(&[]);
    std::fs::copy(
        fixtures().join("profiles/bad/RP101-secret-in-profile.toml"),
        ws.path().join("integrations/leaky.toml"),
    )
    .unwrap();
    std::fs::copy(
        fixtures().join("rules/bad/RP102-missing-playbook.toml"),
        ws.path().join("rules/nowhere.toml"),
    )
    .unwrap();
    let output = riposte(&["check"], ws.path());
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains("integrations/leaky.toml:9:1: RP101"),
        "{text}"
    );
    assert!(text.contains("rules/nowhere.toml:6:1: RP102"), "{text}");
    assert!(
        !text.contains("4f0c8d7e9a1b2c3d"),
        "a secret was echoed: {text}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let ws = workspace_with(&[]);
    let missing = riposte(&["check", "no/such/file.py"], ws.path());
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
    let flag = riposte(&["check", "--no-such-flag"], ws.path());
    assert_eq!(flag.status.code(), Some(2));
    let format = riposte(&["check", "--format", "xml"], ws.path());
    assert_eq!(format.status.code(), Some(2));
}

#[test]
fn a_broken_riposte_toml_exits_2_with_its_location() {
    let ws = workspace_with(&[]);
    std::fs::write(
        ws.path().join("riposte.toml"),
        "[python]\nversion = \"3.11\"\n[limits]\nmax_lines = \"many\"\n",
    )
    .unwrap();
    let output = riposte(&["check"], ws.path());
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("riposte.toml:4:13"), "{err}");

    std::fs::write(
        ws.path().join("riposte.toml"),
        "[lint]\nselect = [\"XX9\"]\n",
    )
    .unwrap();
    let output = riposte(&["check"], ws.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a rule code"));
}

#[test]
fn hostile_files_give_diagnostics_not_crashes() {
    let ws = workspace_with(&[]);
    let cases: [(&str, Vec<u8>); 4] = [
        ("binary.py", b"\x7fELF\x02\x01\x01\x00\x00".to_vec()),
        (
            "latin1.py",
            b"def run(alert, ctx):\n    x = 'caf\xe9'\n".to_vec(),
        ),
        (
            "nested.py",
            format!(
                "def run(alert, ctx):\n    return {}1{}\n",
                "(".repeat(5000),
                ")".repeat(5000)
            )
            .into_bytes(),
        ),
        ("empty.py", Vec::new()),
    ];
    for (name, bytes) in cases {
        std::fs::write(ws.path().join("playbooks").join(name), bytes).unwrap();
        let output = riposte(
            &["check", "--format", "json", &format!("playbooks/{name}")],
            ws.path(),
        );
        assert_eq!(output.status.code(), Some(1), "{name}");
        let findings: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
        let code = if name == "empty.py" { "RP004" } else { "RP001" };
        assert_eq!(findings[0]["code"], code, "{name}: {findings}");
    }
}

#[test]
fn rule_explains_itself() {
    let output = riposte(&["rule", "rp008"], &fixtures());
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).starts_with("## RP008 hardcoded-secret"));
    let unknown = riposte(&["rule", "RP999"], &fixtures());
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn text_frames_mask_secrets() {
    let ws = workspace_with(&["RP008-hardcoded-secret.py"]);
    let output = riposte(&["check", "playbooks/RP008-hardcoded-secret.py"], ws.path());
    let text = stdout(&output);
    assert!(
        text.contains("5 | AWS_KEY_ID = **********************"),
        "{text}"
    );
    assert!(
        !text.contains("AKIAIOSFODNN7EXAMPLE")
            && !text.contains("c4f1e9a7b2d84e0f9a6b3c5d7e8f1a2b"),
        "{text}"
    );
}

#[test]
fn a_bare_file_name_finds_its_workspace() {
    let ws = workspace_with(&[]);
    let output = riposte(
        &["check", "vt-url-enrichment.py"],
        &ws.path().join("playbooks"),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("All checks passed!"));
}
