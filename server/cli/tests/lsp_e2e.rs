//! `riposte lsp` end to end: the real binary over stdio, on a copy of the demo workspace. Each
//! capability of the language server, then the bad input it must survive.

#[path = "lsp_e2e/harness.rs"]
mod harness;
#[path = "../../../tests/runtime/standins.rs"]
mod standins;

use std::time::Duration;

use harness::{Configuration, Options, Server, at, demo_workspace, fixture, position_of, uri};
use serde_json::{Value, json};

fn codes(diagnostics: &[Value]) -> Vec<String> {
    diagnostics
        .iter()
        .map(|d| d["code"].as_str().unwrap_or("-").to_string())
        .collect()
}

const PLAYBOOK_HEAD: &str =
    "from riposte import Alert, Context\n\n\ndef run(alert: Alert, ctx: Context) -> None:\n";

// ---------------------------------------------------------------------------------------------
// Lifecycle and capabilities

#[test]
fn initialize_advertises_what_the_server_does() {
    let (_dir, root) = demo_workspace();
    let server = Server::start(&root, Options::default());
    let capabilities = &server.initialize_result["capabilities"];
    assert_eq!(capabilities["positionEncoding"], "utf-16");
    assert_eq!(
        capabilities["textDocumentSync"]["change"], 2,
        "incremental sync"
    );
    assert!(
        capabilities["diagnosticProvider"].is_null(),
        "push unless the client pulls"
    );
    insta::assert_json_snapshot!("capabilities", capabilities);
    assert_eq!(server.initialize_result["serverInfo"]["name"], "riposte");
    assert!(server.shutdown().success(), "shutdown then exit exits 0");
}

#[test]
fn utf8_positions_when_the_client_offers_them() {
    let (_dir, root) = demo_workspace();
    let text = format!("{PLAYBOOK_HEAD}    ctx.log(\"é😀\"); vt = ctx.integration(\"Nope\")\n");
    let mut spans = Vec::new();
    for (encodings, expected) in [
        (json!(["utf-8", "utf-16"]), "utf-8"),
        (json!(["utf-16"]), "utf-16"),
    ] {
        let mut server = Server::start(
            &root,
            Options {
                capabilities: json!({ "general": { "positionEncodings": encodings } }),
                ..Options::default()
            },
        );
        assert_eq!(
            server.initialize_result["capabilities"]["positionEncoding"],
            expected
        );
        let uri = server.open(&root.join("playbooks/encoding.py"), "python", &text);
        let diagnostics = server.diagnostics(&uri, Some(1));
        let rp005 = diagnostics.iter().find(|d| d["code"] == "RP005").unwrap();
        spans.push(rp005["range"]["start"]["character"].as_u64().unwrap());
    }
    // `é` is 2 bytes and 1 UTF-16 unit, `😀` 4 bytes and 2 units.
    assert_eq!(spans[0], spans[1] + 3, "{spans:?}");
}

#[test]
fn exit_codes_follow_the_spec() {
    let (_dir, root) = demo_workspace();
    let mut server = Server::start(&root, Options::default());
    server.notify("exit", Value::Null);
    assert_eq!(
        server.wait_exit().code(),
        Some(1),
        "exit without shutdown is 1"
    );
    let server = Server::start(&root, Options::default());
    assert_eq!(
        server.close_stdin().code(),
        Some(1),
        "the end of input without shutdown is 1"
    );
}

// ---------------------------------------------------------------------------------------------
// Diagnostics

#[test]
fn diagnostics_are_pushed_with_codes_links_and_versions_and_cleared_on_close() {
    let (_dir, root) = demo_workspace();
    let mut server = Server::start(&root, Options::default());
    let text = fixture("playbooks/bad/RP005-unknown-integration.py");
    let uri = server.open(&root.join("playbooks/typo.py"), "python", &text);
    let diagnostics = server.diagnostics(&uri, Some(1));
    assert_eq!(codes(&diagnostics), ["RP005"]);
    let rp005 = &diagnostics[0];
    // `# expect: RP005 6:26` (one-based) is line 5, character 25.
    assert_eq!(
        rp005["range"],
        json!({ "start": { "line": 5, "character": 25 }, "end": { "line": 5, "character": 36 } })
    );
    assert_eq!(rp005["severity"], 1);
    assert_eq!(rp005["source"], "riposte");
    assert!(
        rp005["codeDescription"]["href"]
            .as_str()
            .unwrap()
            .ends_with("docs/rules.md#rp005-unknown-integration")
    );
    assert!(rp005["message"].as_str().unwrap().contains("VirusTotl"));
    assert_eq!(rp005["data"]["rule"], "RP005");

    server.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": uri } }),
    );
    assert_eq!(
        codes(&server.diagnostics(&uri, Some(1))),
        ["RP005"],
        "pushed again on save"
    );

    server.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": uri } }),
    );
    let cleared = server.wait("the clearing publish", |m| {
        m["method"] == "textDocument/publishDiagnostics"
            && m["params"]["uri"] == uri
            && m["params"]["diagnostics"] == json!([])
    });
    assert!(cleared["params"]["version"].is_null());
    assert!(server.shutdown().success());
}

#[test]
fn incremental_edits_apply_in_order_and_only_the_latest_version_is_published() {
    let (_dir, root) = demo_workspace();
    let mut server = Server::start(&root, Options::default());
    let text = format!("{PLAYBOOK_HEAD}    ctx.log('x')\n");
    let uri = server.open(&root.join("playbooks/typing.py"), "python", &text);
    assert!(server.diagnostics(&uri, Some(1)).is_empty());
    // Type `import requests` one character at a time on a new first line, without waiting.
    let typed = "import requests\n";
    for (index, character) in typed.chars().enumerate() {
        server.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": index + 2 },
                "contentChanges": [{
                    "range": { "start": { "line": 0, "character": index }, "end": { "line": 0, "character": index } },
                    "text": character.to_string(),
                }],
            }),
        );
    }
    let last = typed.len() as i64 + 1;
    let diagnostics = server.diagnostics(&uri, Some(last));
    assert_eq!(codes(&diagnostics), ["RP003"]);
    assert_eq!(
        diagnostics[0]["range"]["start"],
        json!({ "line": 0, "character": 7 })
    );
    // Nothing older may arrive after the latest version (earlier versions may have been
    // published before it: with no debounce, each edit is checked as it comes).
    server.backlog.clear();
    let mut stale = |m: &Value| {
        m["method"] == "textDocument/publishDiagnostics"
            && m["params"]["version"].as_i64().is_some_and(|v| v < last)
    };
    assert!(
        server
            .wait_for("a stale publish", Duration::from_millis(500), &mut stale)
            .is_none()
    );
    // A multi-change notification: the second range is read against the first's result.
    server.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": last + 1 },
            "contentChanges": [
                { "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 1, "character": 0 } }, "text": "" },
                { "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } }, "text": "import subprocess\n" },
            ],
        }),
    );
    assert_eq!(codes(&server.diagnostics(&uri, Some(last + 1))), ["RP010"]);
    assert!(server.shutdown().success());
}

#[test]
fn toml_files_are_validated_from_the_buffer() {
    let (_dir, root) = demo_workspace();
    let mut server = Server::start(&root, Options::default());
    let config = server.open(
        &root.join("riposte.toml"),
        "toml",
        "[python]\nversion = \"2.7\"\n",
    );
    let diagnostics = server.diagnostics(&config, Some(1));
    assert_eq!(diagnostics.len(), 1);
    assert!(
        diagnostics[0]["code"].is_null(),
        "a broken riposte.toml is not a rule finding"
    );
    assert!(diagnostics[0]["message"].as_str().unwrap().contains("2.7"));
    assert_eq!(diagnostics[0]["range"]["start"]["line"], 1);

    let profile = server.open(
        &root.join("integrations/jira.toml"),
        "toml",
        &fixture("profiles/bad/RP101-http-base-url.toml"),
    );
    let diagnostics = server.diagnostics(&profile, Some(1));
    assert_eq!(codes(&diagnostics), ["RP101"]);
    assert_eq!(
        diagnostics[0]["range"]["start"],
        json!({ "line": 2, "character": 0 })
    );

    let rule = server.open(
        &root.join("rules/new.toml"),
        "toml",
        "name = \"x\"\n\n[[actions]]\ntype = \"run_playbook\"\nplaybook = \"no-such-playbook\"\n",
    );
    let diagnostics = server.diagnostics(&rule, Some(1));
    assert_eq!(codes(&diagnostics), ["RP102"]);
    assert!(
        diagnostics[0]["message"]
            .as_str()
            .unwrap()
            .contains("no-such-playbook")
    );
    assert!(server.shutdown().success());
}

#[test]
fn a_profile_change_revalidates_open_playbooks() {
    let (_dir, root) = demo_workspace();
    let mut server = Server::start(&root, Options::default());
    let text = format!("{PLAYBOOK_HEAD}    ctx.integration(\"Brand New\").get(\"/x\")\n");
    let playbook = server.open(&root.join("playbooks/new.py"), "python", &text);
    assert_eq!(codes(&server.diagnostics(&playbook, Some(1))), ["RP005"]);

    // An unsaved profile buffer counts.
    let profile_text = "name = \"Brand New\"\nbase_url = \"https://brand.example.com\"\n[auth]\nmethod = \"bearer\"\n";
    let profile = server.open(
        &root.join("integrations/brand-new.toml"),
        "toml",
        profile_text,
    );
    assert!(
        server.diagnostics(&playbook, Some(1)).is_empty(),
        "re-validated against the new profile"
    );
    assert!(server.diagnostics(&profile, Some(1)).is_empty());

    // Renaming it in the buffer brings RP005 back.
    server.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": profile, "version": 2 }, "contentChanges": [{ "text": profile_text.replace("Brand New", "Renamed") }] }),
    );
    assert_eq!(codes(&server.diagnostics(&playbook, Some(1))), ["RP005"]);

    // Closing the buffer: the file on disk (there is none) counts again. Then the file appears on
    // disk and the client reports it.
    server.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": profile } }),
    );
    assert_eq!(codes(&server.diagnostics(&playbook, Some(1))), ["RP005"]);
    std::fs::write(root.join("integrations/brand-new.toml"), profile_text).unwrap();
    server.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [{ "uri": uri(&root.join("integrations/brand-new.toml")), "type": 1 }] }),
    );
    assert!(server.diagnostics(&playbook, Some(1)).is_empty());

    // riposte.toml changes re-validate too: ignoring RP005 in the buffer.
    std::fs::remove_file(root.join("integrations/brand-new.toml")).unwrap();
    let config_text = std::fs::read_to_string(root.join("riposte.toml")).unwrap();
    let config = server.open(
        &root.join("riposte.toml"),
        "toml",
        &config_text.replace(
            "select = [\"RP\"]",
            "select = [\"RP\"]\nignore = [\"RP005\"]",
        ),
    );
    assert!(server.diagnostics(&config, Some(1)).is_empty());
    assert!(
        server.diagnostics(&playbook, Some(1)).is_empty(),
        "RP005 ignored by the buffer's riposte.toml"
    );
    assert!(server.shutdown().success());
}

#[test]
fn pull_diagnostics_when_the_client_supports_them() {
    let (_dir, root) = demo_workspace();
    let mut server = Server::start(
        &root,
        Options {
            capabilities: json!({ "textDocument": { "diagnostic": { "dynamicRegistration": false } } }),
            ..Options::default()
        },
    );
    assert_eq!(
        server.initialize_result["capabilities"]["diagnosticProvider"]["identifier"],
        "riposte"
    );
    let uri = server.open(
        &root.join("playbooks/typo.py"),
        "python",
        &fixture("playbooks/bad/RP005-unknown-integration.py"),
    );
    let report = server.request(
        "textDocument/diagnostic",
        json!({ "textDocument": { "uri": uri } }),
    );
    assert_eq!(report["result"]["kind"], "full");
    assert_eq!(
        codes(report["result"]["items"].as_array().unwrap()),
        ["RP005"]
    );
    let result_id = report["result"]["resultId"].clone();
    let again = server.request(
        "textDocument/diagnostic",
        json!({ "textDocument": { "uri": uri }, "previousResultId": result_id }),
    );
    assert_eq!(again["result"]["kind"], "unchanged");
    let mut pushed = |m: &Value| m["method"] == "textDocument/publishDiagnostics";
    assert!(
        server
            .wait_for("a push", Duration::from_millis(300), &mut pushed)
            .is_none(),
        "no push when the client pulls"
    );
    assert!(server.shutdown().success());
}

// ---------------------------------------------------------------------------------------------
// Code actions and commands

#[test]
fn code_actions_offer_fixes_noqa_fix_all_and_profile_creation() {
    let (_dir, root) = demo_workspace();
    let mut server = Server::start(&root, Options::default());
    let text =
        format!("{PLAYBOOK_HEAD}    vt = ctx.integration(\"VirusTotl\")\n    print(alert.title)\n");
    let uri = server.open(&root.join("playbooks/actions.py"), "python", &text);
    let diagnostics = server.diagnostics(&uri, Some(1));
    assert_eq!(codes(&diagnostics), ["RP005", "RP014"]);
    let rp014 = diagnostics[1].clone();
    assert_eq!(rp014["data"]["fix"]["applicability"], "safe");

    let print_line = position_of(&text, "print").0;
    let response = server.request(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": uri },
            "range": { "start": { "line": print_line, "character": 4 }, "end": { "line": print_line, "character": 4 } },
            "context": { "diagnostics": [rp014] },
        }),
    );
    let actions = response["result"].as_array().unwrap().clone();
    let titles: Vec<&str> = actions
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Replace `print` with `ctx.log`",
            "Suppress RP014 on this line (`# noqa`)",
            "Riposte: fix all safely fixable problems"
        ]
    );
    assert_eq!(actions[0]["kind"], "quickfix");
    assert_eq!(actions[0]["isPreferred"], true);
    let edits = actions[0]["edit"]["changes"][&uri].as_array().unwrap();
    assert!(edits.iter().any(|e| e["newText"] == "ctx.log"));
    assert_eq!(
        actions[1]["edit"]["changes"][&uri][0]["newText"],
        "  # noqa: RP014"
    );
    assert_eq!(actions[2]["kind"], "source.fixAll.riposte");

    // Only fixAll when asked for source actions.
    let response = server.request(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": uri },
            "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } },
            "context": { "diagnostics": [], "only": ["source.fixAll"] },
        }),
    );
    let kinds: Vec<&str> = response["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["source.fixAll.riposte"]);

    let (line, character) = position_of(&text, "VirusTotl");
    let response = server.request(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": uri },
            "range": { "start": { "line": line, "character": character }, "end": { "line": line, "character": character } },
            "context": { "diagnostics": [diagnostics[0]], "only": ["quickfix"] },
        }),
    );
    let actions = response["result"].as_array().unwrap().clone();
    let create = actions
        .iter()
        .find(|a| {
            a["title"]
                .as_str()
                .unwrap()
                .starts_with("Create integration profile")
        })
        .unwrap();
    assert_eq!(create["command"]["command"], "riposte.createProfile");
    assert_eq!(create["command"]["arguments"][0]["name"], "VirusTotl");
    assert!(
        actions
            .iter()
            .any(|a| a["title"] == "Use profile `VirusTotal`")
    );
    assert!(server.shutdown().success());
}

#[test]
fn requests_calls_are_rewritten_to_an_integration_client() {
    let (_dir, root) = demo_workspace();
    let mut server = Server::start(&root, Options::default());
    let text = "import requests\nfrom riposte import Alert, Context\n\n\ndef run(alert: Alert, ctx: Context) -> None:\n    for url in alert.urls():\n        requests.get(f\"https://www.virustotal.com/api/v3/urls/{url.id}\", timeout=10)\n";
    let uri = server.open(&root.join("playbooks/requests.py"), "python", text);
    let diagnostics = server.diagnostics(&uri, Some(1));
    assert_eq!(codes(&diagnostics), ["RP003"]);
    let response = server.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri }, "range": diagnostics[0]["range"], "context": { "diagnostics": [diagnostics[0]] } }),
    );
    let actions = response["result"].as_array().unwrap();
    let rewrite = actions
        .iter()
        .find(|a| a["title"] == "Rewrite `requests` calls to integration `VirusTotal`")
        .expect("the rewrite is offered");
    let edits = rewrite["edit"]["changes"][&uri].as_array().unwrap();
    let new_texts: Vec<&str> = edits
        .iter()
        .map(|e| e["newText"].as_str().unwrap())
        .collect();
    assert_eq!(new_texts, ["", "ctx.integration(\"VirusTotal\").get", ""]);
    assert!(server.shutdown().success());
}

#[test]
fn create_profile_goes_through_apply_edit_or_the_disk() {
    let (_dir, root) = demo_workspace();
    let capabilities = json!({ "workspace": { "applyEdit": true, "workspaceEdit": { "documentChanges": true, "resourceOperations": ["create"] } } });
    let mut server = Server::start(
        &root,
        Options {
            capabilities,
            ..Options::default()
        },
    );
    let playbook = uri(&root.join("playbooks/vt-url-enrichment.py"));
    let response = server.request(
        "workspace/executeCommand",
        json!({ "command": "riposte.createProfile", "arguments": [{ "name": "Abuse IPDB", "uri": playbook }] }),
    );
    assert_eq!(response["result"]["path"], "integrations/abuse-ipdb.toml");
    assert_eq!(response["result"]["via"], "workspace/applyEdit");
    let apply = server
        .server_requests
        .iter()
        .find(|r| r["method"] == "workspace/applyEdit")
        .expect("applyEdit sent")
        .clone();
    let changes = apply["params"]["edit"]["documentChanges"]
        .as_array()
        .unwrap();
    assert_eq!(changes[0]["kind"], "create");
    assert!(
        changes[0]["uri"]
            .as_str()
            .unwrap()
            .ends_with("/integrations/abuse-ipdb.toml")
    );
    let inserted = changes[1]["edits"][0]["newText"].as_str().unwrap();
    assert!(inserted.contains("name = \"Abuse IPDB\"") && inserted.contains("method = \"bearer\""));
    assert!(
        !root.join("integrations/abuse-ipdb.toml").exists(),
        "the client writes it, not the server"
    );
    assert!(server.shutdown().success());

    // A client that cannot create files: the server writes the skeleton itself.
    let mut server = Server::start(&root, Options::default());
    let response = server.request(
        "workspace/executeCommand",
        json!({ "command": "riposte.createProfile", "arguments": [{ "name": "Abuse IPDB", "uri": playbook }] }),
    );
    assert_eq!(response["result"]["via"], "disk");
    let written = std::fs::read_to_string(root.join("integrations/abuse-ipdb.toml")).unwrap();
    assert!(written.contains("name = \"Abuse IPDB\""));
    let again = server.request(
        "workspace/executeCommand",
        json!({ "command": "riposte.createProfile", "arguments": [{ "name": "Abuse IPDB", "uri": playbook }] }),
    );
    assert_eq!(again["error"]["code"], -32803);
    assert!(
        again["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    assert!(server.shutdown().success());
}

#[test]
fn commands_return_structured_results_or_say_what_is_missing() {
    let (_dir, root) = demo_workspace();
    let mut server = Server::start(&root, Options::default());
    let open = server.open(
        &root.join("playbooks/broken.py"),
        "python",
        &fixture("playbooks/bad/RP014-print-call.py"),
    );
    server.diagnostics(&open, Some(1));

    let check = server.request(
        "workspace/executeCommand",
        json!({ "command": "riposte.check", "arguments": [] }),
    );
    let result = &check["result"];
    let workspace = &result["workspaces"][0];
    let files = workspace["files"].as_array().unwrap();
    let broken = files
        .iter()
        .find(|f| f["path"] == "playbooks/broken.py")
        .expect("the open, unsaved playbook is checked");
    assert_eq!(broken["counts"]["warning"], 1);
    assert_eq!(broken["diagnostics"][0]["code"], "RP014");
    let on_disk = ["playbooks", "integrations", "rules"]
        .iter()
        .map(|dir| {
            std::fs::read_dir(root.join(dir))
                .unwrap()
                .filter(|e| {
                    let path = e.as_ref().unwrap().path();
                    path.extension()
                        .is_some_and(|ext| ext == "py" || ext == "toml")
                })
                .count()
        })
        .sum::<usize>();
    assert_eq!(
        files.len(),
        on_disk + 1,
        "playbooks, profiles and rules, and the open unsaved playbook"
    );
    assert_eq!(
        result["counts"],
        json!({ "error": 0, "warning": 1, "info": 0 }),
        "the demo workspace is clean"
    );
    let mut redacted = broken.clone();
    redact(&mut redacted, &root.display().to_string());
    insta::assert_json_snapshot!("riposte_check_file", redacted);

    let playbook = root.join("playbooks/vt-url-enrichment.py");
    std::fs::remove_file(root.join("playbooks/vt-url-enrichment.md")).ok();
    let docs = server.request(
        "workspace/executeCommand",
        json!({ "command": "riposte.docs", "arguments": [{ "uri": uri(&playbook) }] }),
    );
    assert_eq!(docs["result"]["written"], true, "{docs}");
    let markdown = std::fs::read_to_string(root.join("playbooks/vt-url-enrichment.md")).unwrap();
    assert!(markdown.contains("```mermaid"), "{markdown}");
    let docs = server.request(
        "workspace/executeCommand",
        json!({ "command": "riposte.docs", "arguments": [uri(&playbook)] }),
    );
    assert_eq!(
        docs["result"]["written"], false,
        "unchanged docs are not rewritten"
    );

    for command in ["riposte.save", "riposte.deploy"] {
        let response = server.request(
            "workspace/executeCommand",
            json!({
                "command": command,
                "arguments": [{ "uri": uri(&playbook), "engineUrl": "http://127.0.0.1:9" }]
            }),
        );
        assert_eq!(response["error"]["code"], -32803, "{response}");
        assert!(
            response["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("cannot reach the engine at http://127.0.0.1:9"),
            "{response}"
        );
    }
    // `riposte.test` without an alert says what it takes.
    let response = server.request(
        "workspace/executeCommand",
        json!({ "command": "riposte.test", "arguments": [{ "uri": uri(&playbook) }] }),
    );
    assert_eq!(response["error"]["code"], -32602, "{response}");
    assert!(
        response["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"alert\""),
        "{response}"
    );
    let unknown = server.request(
        "workspace/executeCommand",
        json!({ "command": "riposte.nope" }),
    );
    assert_eq!(unknown["error"]["code"], -32602);
    assert!(server.shutdown().success());
}

// ---------------------------------------------------------------------------------------------
// riposte.test: the runtime behind the editor, secrets from the client

/// The Jira stand-in, a copy of the demo workspace pointing at it, and `riposte lsp` started in
/// it (logging at debug level) whose client answers `riposte/secret` with `secrets`.
fn run_setup(
    secrets: Vec<((String, String), String)>,
) -> (
    tokio::runtime::Runtime,
    standins::StandIn,
    standins::DemoWorkspace,
    std::path::PathBuf,
    Server,
) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let jira = runtime.block_on(standins::StandIn::start(standins::jira(false)));
    let ws = standins::DemoWorkspace::new();
    ws.point("jira.toml", &jira.url, None);
    let root = ws.root().canonicalize().unwrap();
    let server = Server::start(
        &root,
        Options {
            env: vec![("RIPOSTE_LOG".into(), "debug".into())],
            secrets,
            ..Options::default()
        },
    );
    (runtime, jira, ws, root, server)
}

fn run_test_command(server: &mut Server, playbook: &str, alert: Value, dry_run: bool) -> Value {
    server.request(
        "workspace/executeCommand",
        json!({
            "command": "riposte.test",
            "arguments": [{ "uri": playbook, "alert": alert, "dryRun": dry_run }],
        }),
    )
}

fn secret_requests(server: &Server) -> Vec<(String, String)> {
    server
        .server_requests
        .iter()
        .filter(|r| r["method"] == "riposte/secret")
        .map(|r| {
            (
                r["params"]["profile"].as_str().unwrap().to_string(),
                r["params"]["field"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn test_playbook_dry_then_real_with_secrets_from_the_client() {
    use standins::secrets::{JIRA_PASSWORD, JIRA_USER, SENTINEL};
    let (_runtime, jira, ws, root, mut server) = run_setup(vec![
        (("Jira".into(), "username".into()), JIRA_USER.into()),
        (("Jira".into(), "password".into()), JIRA_PASSWORD.into()),
    ]);
    let path = root.join("playbooks/jira-issue.py");
    let text = std::fs::read_to_string(&path).unwrap();
    let playbook = server.open(&path, "python", &text);
    // A saved alert, named relative to the workspace as the extension's alert list does.
    ws.add_alert(
        "malware.json",
        &standins::fixture_alert("graph-malware-device.json"),
    );
    let alert = json!({ "kind": "file", "path": "alerts/malware.json" });

    let dry = run_test_command(&mut server, &playbook, alert.clone(), true);
    let record = &dry["result"];
    assert_eq!(record["status"], "succeeded", "{dry:#}");
    assert_eq!(record["dry_run"], true);
    let requests = record["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1, "{record:#}");
    assert_eq!(requests[0]["profile"], "Jira");
    assert_eq!(requests[0]["method"], "POST");
    assert_eq!(requests[0]["outcome"], "planned");
    assert!(
        requests[0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/rest/api/3/issue")
    );
    assert!(jira.received().is_empty(), "a dry run sends no POST");
    assert_eq!(
        secret_requests(&server),
        vec![
            ("Jira".to_string(), "username".to_string()),
            ("Jira".to_string(), "password".to_string())
        ]
    );

    // Only `"dryRun": false` makes a real run.
    let real = run_test_command(&mut server, &playbook, alert, false);
    let record = &real["result"];
    assert_eq!(record["status"], "succeeded", "{real:#}");
    assert_eq!(record["dry_run"], false);
    let requests = record["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1, "{record:#}");
    assert_eq!(requests[0]["outcome"], "sent");
    assert_eq!(requests[0]["status"], 201);
    assert_eq!(jira.lines(), vec!["POST /rest/api/3/issue"]);
    let basic = format!(
        "Basic {}",
        standins::base64(format!("{JIRA_USER}:{JIRA_PASSWORD}").as_bytes())
    );
    assert_eq!(
        jira.received()[0].header("authorization"),
        Some(basic.as_str()),
        "the stand-in got the secret the client gave"
    );

    // The secret went to the stand-in and nowhere else.
    let stderr = server.stderr.lock().unwrap().clone();
    let transcript = server.transcript.lock().unwrap().clone();
    for (what, text) in [
        ("the dry run's result", dry.to_string()),
        ("the real run's result", real.to_string()),
        ("the server's stderr", stderr.clone()),
        ("the server's messages", transcript.clone()),
    ] {
        assert!(!text.contains(SENTINEL), "the secret is in {what}:\n{text}");
        assert!(!text.contains(&basic[6..]), "the credential is in {what}");
    }
    assert!(
        stderr.contains("riposte.test"),
        "the run is logged: {stderr}"
    );
    assert!(server.shutdown().success());
}

#[test]
fn test_playbook_with_a_declined_secret_names_profile_field_and_variable() {
    let (_runtime, jira, _ws, root, mut server) = run_setup(Vec::new());
    let path = root.join("playbooks/jira-issue.py");
    // Not open: the file on disk is run.
    let playbook = uri(&path);
    let alert = standins::repo_root().join("fixtures/alerts/graph-malware-device.json");
    let alert = json!({ "kind": "file", "path": alert.display().to_string() });
    let response = run_test_command(&mut server, &playbook, alert, true);
    assert_eq!(response["error"]["code"], -32803, "{response:#}");
    let message = response["error"]["message"].as_str().unwrap();
    assert!(message.contains("`Jira`"), "{message}");
    assert!(message.contains("`username`"), "{message}");
    assert!(message.contains("RIPOSTE_JIRA_USERNAME"), "{message}");
    assert_eq!(
        secret_requests(&server),
        vec![
            ("Jira".to_string(), "username".to_string()),
            ("Jira".to_string(), "password".to_string())
        ],
        "the client was asked before the run"
    );
    assert!(jira.received().is_empty(), "nothing is sent without auth");
    // A real run needs `"dryRun": false` said outright; a missing flag is a dry run.
    let response = server.request(
        "workspace/executeCommand",
        json!({ "command": "riposte.test", "arguments": [{ "uri": playbook, "alert": "alerts/none.json" }] }),
    );
    assert_eq!(response["error"]["code"], -32803, "{response:#}");
    assert!(server.shutdown().success());
}

fn redact(value: &mut Value, root: &str) {
    match value {
        Value::String(text) => *text = text.replace(root, "<root>"),
        Value::Array(items) => items.iter_mut().for_each(|item| redact(item, root)),
        Value::Object(map) => map.values_mut().for_each(|item| redact(item, root)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Completion, hover, definition, symbols, semantic tokens

#[test]
fn completion_after_alert_ctx_clients_and_in_strings() {
    let (_dir, root) = demo_workspace();
    let mut server = Server::start(&root, Options::default());
    let text = format!(
        "{PLAYBOOK_HEAD}    vt = ctx.integration(\"VirusTotal\")\n    alert.\n    ctx.\n    vt.\n    vt.get(\"/\")\n    ctx.integration(\"\")\n"
    );
    let uri = server.open(&root.join("playbooks/complete.py"), "python", &text);
    let labels = |server: &mut Server, (line, character): (u32, u32)| -> Vec<String> {
        let response = server.request("textDocument/completion", at(&uri, (line, character)));
        response["result"]
            .as_array()
            .map_or_else(Vec::new, |items| {
                items
                    .iter()
                    .map(|i| i["label"].as_str().unwrap().to_string())
                    .collect()
            })
    };
    let line = |needle: &str| position_of(&text, needle);

    let alert = labels(&mut server, (line("    alert.\n").0, 10));
    assert!(alert.contains(&"severity".to_string()) && alert.contains(&"urls".to_string()));
    insta::assert_json_snapshot!("completion_alert", alert);
    let response = server.request(
        "textDocument/completion",
        at(&uri, (line("    alert.\n").0, 10)),
    );
    let severity = response["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "severity")
        .unwrap()
        .clone();
    assert_eq!(severity["kind"], 10, "property");
    assert!(
        severity["documentation"]["value"]
            .as_str()
            .unwrap()
            .contains("lower-cased")
    );

    let ctx = labels(&mut server, (line("    ctx.\n").0, 8));
    assert!(ctx.contains(&"integration".to_string()) && ctx.contains(&"comment".to_string()));
    let client = labels(&mut server, (line("    vt.\n").0, 7));
    assert_eq!(client, ["name", "get", "post", "put", "patch", "delete"]);
    let paths = labels(&mut server, (line("    vt.get(\"/\")").0, 13));
    assert!(paths.contains(&"/urls/{id}".to_string()), "{paths:?}");
    let profiles = labels(&mut server, (line("    ctx.integration(\"\")").0, 21));
    assert_eq!(
        profiles,
        [
            "AWS IAM",
            "Jira",
            "Microsoft Defender for Endpoint",
            "Microsoft Graph",
            "ServiceNow",
            "Slack",
            "Threat Intel",
            "VirusTotal"
        ]
    );
    let response = server.request(
        "textDocument/completion",
        at(&uri, (line("    ctx.integration(\"\")").0, 21)),
    );
    let first = &response["result"][0];
    assert_eq!(first["textEdit"]["newText"], "AWS IAM");
    assert!(server.shutdown().success());
}

#[test]
fn hover_shows_sdk_docs_profiles_endpoints_and_rule_docs() {
    let (_dir, root) = demo_workspace();
    let mut server = Server::start(&root, Options::default());
    let text = format!(
        "import os  # noqa: RP010\n{PLAYBOOK_HEAD}    vt = ctx.integration(\"VirusTotal\")\n    vt.get(f\"/urls/{{alert.id}}\")\n    ctx.log(alert.severity)\n"
    );
    let uri = server.open(&root.join("playbooks/hover.py"), "python", &text);
    let hover = |server: &mut Server, needle: &str, into: u32| -> String {
        let (line, character) = position_of(&text, needle);
        let response = server.request("textDocument/hover", at(&uri, (line, character + into)));
        response["result"]["contents"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let severity = hover(&mut server, "severity)", 2);
    assert!(
        severity.contains("Alert.severity") && severity.contains("lower-cased"),
        "{severity}"
    );
    let profile = hover(&mut server, "VirusTotal\"", 3);
    assert!(
        profile.contains("https://www.virustotal.com/api/v3")
            && profile.contains("`api_key` in header `x-apikey`"),
        "{profile}"
    );
    assert!(
        !profile.to_ascii_lowercase().contains("secret"),
        "never a secret: {profile}"
    );
    insta::assert_snapshot!("hover_profile", profile);
    let endpoint = hover(&mut server, "/urls/", 2);
    assert!(
        endpoint.contains("GET /urls/{id}") && endpoint.contains("`id`: path"),
        "{endpoint}"
    );
    let rule = hover(&mut server, "RP010", 2);
    assert!(rule.starts_with("## RP010 dangerous-call"), "{rule}");
    assert!(server.shutdown().success());
}

#[test]
fn definition_symbols_and_semantic_tokens() {
    let (_dir, root) = demo_workspace();
    let mut server = Server::start(&root, Options::default());
    let path = root.join("playbooks/vt-url-enrichment.py");
    let text = std::fs::read_to_string(&path).unwrap();
    let uri = server.open(&path, "python", &text);

    let (line, character) = position_of(&text, "VirusTotal\")");
    let definition = server.request("textDocument/definition", at(&uri, (line, character + 2)));
    let link = &definition["result"][0];
    assert!(
        link["targetUri"]
            .as_str()
            .unwrap()
            .ends_with("/integrations/virustotal.toml"),
        "{definition}"
    );
    assert_eq!(
        link["targetSelectionRange"]["start"],
        json!({ "line": 0, "character": 0 })
    );
    assert_eq!(
        link["originSelectionRange"]["start"]["character"],
        character - 1
    );

    let symbols = server.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": uri } }),
    );
    let names: Vec<Value> = symbols["result"].as_array().unwrap().iter().map(|s| json!({
        "name": s["name"], "kind": s["kind"],
        "children": s["children"].as_array().unwrap().iter().map(|c| c["name"].clone()).collect::<Vec<_>>(),
    })).collect();
    insta::assert_json_snapshot!("document_symbols", names);

    let legend =
        server.initialize_result["capabilities"]["semanticTokensProvider"]["legend"].clone();
    assert_eq!(
        legend["tokenTypes"],
        json!(["namespace", "method", "property", "variable"])
    );
    let tokens = server.request(
        "textDocument/semanticTokens/full",
        json!({ "textDocument": { "uri": uri } }),
    );
    let data: Vec<u64> = tokens["result"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(data.len() % 5, 0);
    // Decode and look at the source text each token covers.
    let lines: Vec<&str> = text.lines().collect();
    let (mut line, mut start) = (0usize, 0usize);
    let mut decoded = Vec::new();
    for token in data.chunks(5) {
        if token[0] > 0 {
            line += token[0] as usize;
            start = token[1] as usize;
        } else {
            start += token[1] as usize;
        }
        let covered: String = lines[line]
            .chars()
            .skip(start)
            .take(token[2] as usize)
            .collect();
        decoded.push(format!(
            "{covered}:{}",
            legend["tokenTypes"][token[3] as usize].as_str().unwrap()
        ));
    }
    assert!(
        decoded.contains(&"VirusTotal:namespace".to_string()),
        "{decoded:?}"
    );
    assert!(decoded.contains(&"integration:method".to_string()));
    assert!(decoded.contains(&"vt:variable".to_string()));
    assert!(decoded.contains(&"status:property".to_string()));
    assert!(server.shutdown().success());
}

// ---------------------------------------------------------------------------------------------
// Settings and logging

#[test]
fn settings_from_initialization_options_and_configuration() {
    let (_dir, root) = demo_workspace();
    let text = fixture("playbooks/bad/RP014-print-call.py");
    let mut server = Server::start(
        &root,
        Options {
            initialization_options: json!({ "debounceMs": 0, "lint": { "ignore": ["RP014"] } }),
            ..Options::default()
        },
    );
    let uri = server.open(&root.join("playbooks/p.py"), "python", &text);
    assert!(
        server.diagnostics(&uri, Some(1)).is_empty(),
        "lint.ignore from initializationOptions"
    );
    assert!(server.shutdown().success());

    // workspace/configuration wins over initializationOptions.
    let mut server = Server::start(
        &root,
        Options {
            capabilities: json!({ "workspace": { "configuration": true } }),
            initialization_options: json!({ "debounceMs": 0, "lint": { "ignore": ["RP014"] } }),
            configuration: Configuration::Answer(
                json!({ "lint": { "ignore": [] }, "logLevel": "debug" }),
            ),
            ..Options::default()
        },
    );
    let uri = server.open(&root.join("playbooks/p.py"), "python", &text);
    // The answer may come after the first check: wait for the publish that reflects it.
    server.wait("RP014 once the configuration says so", |m| {
        m["method"] == "textDocument/publishDiagnostics"
            && m["params"]["uri"] == uri
            && m["params"]["diagnostics"]
                .as_array()
                .is_some_and(|d| codes(d) == ["RP014"])
    });
    assert!(
        server
            .server_requests
            .iter()
            .any(|r| r["method"] == "workspace/configuration"
                && r["params"]["items"][0]["section"] == "riposte")
    );
    assert!(server.shutdown().success());
}

#[test]
fn logs_go_to_stderr_and_to_the_client_without_document_text() {
    let (_dir, root) = demo_workspace();
    let secret_looking = "AKIAIOSFODNN7EXAMPLE";
    let text = format!("{PLAYBOOK_HEAD}    key = \"{secret_looking}\"\n");
    for (options, how) in [
        (
            Options {
                args: vec!["--log-level".into(), "debug".into()],
                ..Options::default()
            },
            "--log-level",
        ),
        (
            Options {
                env: vec![("RIPOSTE_LOG".into(), "debug".into())],
                ..Options::default()
            },
            "RIPOSTE_LOG",
        ),
    ] {
        let mut server = Server::start(&root, options);
        let uri = server.open(&root.join("playbooks/log.py"), "python", &text);
        let diagnostics = server.diagnostics(&uri, Some(1));
        assert_eq!(codes(&diagnostics), ["RP008"]);
        assert!(
            !diagnostics[0]["message"]
                .as_str()
                .unwrap()
                .contains(secret_looking)
        );
        // Commands are logged at info, the default level for the client's log.
        server.request(
            "workspace/executeCommand",
            json!({ "command": "riposte.save" }),
        );
        let log_message = server.wait("window/logMessage", |m| {
            m["method"] == "window/logMessage" && m["params"]["message"] == "command riposte.save"
        });
        assert_eq!(log_message["params"]["type"], 3, "{how}");
        assert!(server.shutdown().success());
    }
    // The stderr of the last run: debug lines, and never the document.
    let mut server = Server::start(
        &root,
        Options {
            args: vec!["--log-level".into(), "debug".into()],
            ..Options::default()
        },
    );
    let uri = server.open(&root.join("playbooks/log.py"), "python", &text);
    server.diagnostics(&uri, Some(1));
    let stderr = server.stderr.clone();
    assert!(server.shutdown().success());
    let stderr = stderr.lock().unwrap().clone();
    assert!(
        stderr.contains("DEBUG") && stderr.contains("opened"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(secret_looking),
        "document text in the log:\n{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// Bad input: answered or ignored as the spec says; the server keeps serving.

/// The server still answers a request (hover on the demo playbook).
fn still_serving(server: &mut Server, root: &std::path::Path) {
    let response = server.request(
        "textDocument/hover",
        at(&uri(&root.join("playbooks/nothing-open.py")), (0, 0)),
    );
    assert!(
        response.get("error").is_none() && response["result"].is_null(),
        "{response}"
    );
}

#[test]
fn malformed_json_rpc_is_answered_and_the_session_goes_on() {
    let (_dir, root) = demo_workspace();
    let mut server = Server::start(&root, Options::default());
    let null_error = |code: i64| move |m: &Value| m["id"].is_null() && m["error"]["code"] == code;

    server.send_raw(b"Content-Length: 9\r\n\r\n{not json");
    server.wait("a parse error", null_error(-32700));
    still_serving(&mut server, &root);

    server.send_raw(b"Content-Length: 4\r\n\r\n\xff\xfe\x00\x01");
    server.wait(
        "a parse error for bytes that are not UTF-8",
        null_error(-32700),
    );

    server.send_raw(b"Content-Type: text/plain\r\n\r\n");
    server.wait("a missing Content-Length", null_error(-32700));
    server.send_raw(b"Content-Length: many\r\n\r\n");
    server.wait("a bad Content-Length", null_error(-32700));
    still_serving(&mut server, &root);

    server.send(&json!({ "jsonrpc": "2.0", "id": 77 }));
    let invalid = server.wait("an invalid request", |m| m["id"] == 77);
    assert_eq!(invalid["error"]["code"], -32600);
    server.send(&json!([1, 2, 3]));
    server.wait("an invalid request for a batch", null_error(-32600));
    server.send(&json!({ "jsonrpc": "1.0", "id": 78, "method": "textDocument/hover" }));
    assert_eq!(
        server.wait("a wrong version", |m| m["id"] == 78)["error"]["code"],
        -32600
    );

    let unknown = server.request("riposte/noSuchMethod", json!({}));
    assert_eq!(unknown["error"]["code"], -32601);
    server.notify("riposte/noSuchNotification", json!({}));
    server.notify("$/someProtocolNotification", json!({}));
    let bad_params = server.request("textDocument/hover", json!({ "textDocument": 5 }));
    assert_eq!(bad_params["error"]["code"], -32602);
    still_serving(&mut server, &root);
    assert!(server.shutdown().success());
}

#[test]
fn positions_past_the_end_are_clamped() {
    let (_dir, root) = demo_workspace();
    let mut server = Server::start(&root, Options::default());
    let text = format!("{PLAYBOOK_HEAD}    ctx.log('x')\n");
    let uri = server.open(&root.join("playbooks/clamp.py"), "python", &text);
    server.diagnostics(&uri, Some(1));
    for position in [(4, 500), (900, 0), (u32::MAX, u32::MAX)] {
        for method in [
            "textDocument/hover",
            "textDocument/completion",
            "textDocument/definition",
        ] {
            let response = server.request(method, at(&uri, position));
            assert!(
                response.get("error").is_none(),
                "{method} at {position:?}: {response}"
            );
        }
    }
    // An edit past the end appends; a reversed range reads in order.
    server.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [
            { "range": { "start": { "line": 900, "character": 9 }, "end": { "line": 901, "character": 0 } }, "text": "import requests\n" },
            { "range": { "start": { "line": 4, "character": 11 }, "end": { "line": 4, "character": 4 } }, "text": "print" },
        ] }),
    );
    assert_eq!(
        codes(&server.diagnostics(&uri, Some(2))),
        ["RP014", "RP003"]
    );
    assert!(server.shutdown().success());
}

#[test]
fn changes_for_unopened_documents_and_old_versions_are_ignored() {
    let (_dir, root) = demo_workspace();
    let mut server = Server::start(&root, Options::default());
    let ghost = uri(&root.join("playbooks/ghost.py"));
    server.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": ghost, "version": 3 }, "contentChanges": [{ "text": "import os\n" }] }),
    );
    server.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": ghost } }),
    );
    still_serving(&mut server, &root);

    let text = format!("{PLAYBOOK_HEAD}    ctx.log('x')\n");
    let uri = server.open(&root.join("playbooks/versions.py"), "python", &text);
    server.diagnostics(&uri, Some(1));
    let change = |version: i64, body: &str| json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": format!("{body}{text}") }] });
    server.notify("textDocument/didChange", change(5, "import subprocess\n"));
    assert_eq!(codes(&server.diagnostics(&uri, Some(5))), ["RP010"]);
    server.notify("textDocument/didChange", change(4, "import requests\n"));
    server.notify("textDocument/didChange", change(5, "import requests\n"));
    let mut older =
        |m: &Value| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri;
    assert!(
        server
            .wait_for(
                "a publish for an older version",
                Duration::from_millis(500),
                &mut older
            )
            .is_none()
    );
    // The document is still version 5: a hover on it works and a newer change applies.
    server.notify("textDocument/didChange", change(6, ""));
    assert!(server.diagnostics(&uri, Some(6)).is_empty());
    let stderr = server.stderr.clone();
    assert!(server.shutdown().success());
    let stderr = stderr.lock().unwrap().clone();
    assert!(
        stderr.contains("not open: ignored") && stderr.contains("is not newer than version 5"),
        "{stderr}"
    );
}

#[test]
fn a_ten_megabyte_document_is_checked_without_blocking_other_requests() {
    let (_dir, root) = demo_workspace();
    let mut server = Server::start(&root, Options::default());
    let line = "    ctx.log(\"padding padding padding padding padding padding padding padding\")\n";
    let mut text = String::from(PLAYBOOK_HEAD);
    while text.len() < 10 * 1024 * 1024 {
        text.push_str(line);
    }
    let big = server.open(&root.join("playbooks/big.py"), "python", &text);
    // Other requests are answered while it is being checked.
    still_serving(&mut server, &root);
    let diagnostics = server.diagnostics(&big, Some(1));
    assert_eq!(
        codes(&diagnostics),
        ["RP002"],
        "over the line limit, and nothing else"
    );
    // An edit at its end is applied incrementally.
    let lines = text.lines().count() as u32;
    server.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": big, "version": 2 }, "contentChanges": [
            { "range": { "start": { "line": lines, "character": 0 }, "end": { "line": lines, "character": 0 } }, "text": "import requests\n" },
        ] }),
    );
    assert_eq!(
        codes(&server.diagnostics(&big, Some(2))),
        ["RP002", "RP003"]
    );
    assert!(server.shutdown().success());
}

#[test]
fn cancel_request_during_validation() {
    let (_dir, root) = demo_workspace();
    let mut server = Server::start(
        &root,
        Options {
            capabilities: json!({ "textDocument": { "diagnostic": {} } }),
            ..Options::default()
        },
    );
    let mut text = String::from(PLAYBOOK_HEAD);
    while text.len() < 4 * 1024 * 1024 {
        text.push_str("    ctx.log(alert.title)\n");
    }
    let big = server.open(&root.join("playbooks/big.py"), "python", &text);
    let id = server.send_request(
        "textDocument/diagnostic",
        json!({ "textDocument": { "uri": big } }),
    );
    server.notify("$/cancelRequest", json!({ "id": id }));
    let response = server.response(id);
    // Cancelled (-32800), or finished first: either is a proper answer.
    assert!(
        response["error"]["code"] == -32800 || response["result"]["kind"] == "full",
        "{response}"
    );
    still_serving(&mut server, &root);
    // Cancelling something unknown or finished is ignored.
    server.notify("$/cancelRequest", json!({ "id": 9999 }));
    still_serving(&mut server, &root);
    assert!(server.shutdown().success());
}

#[test]
fn a_client_that_never_answers_does_not_stall_the_server() {
    let (_dir, root) = demo_workspace();
    let mut server = Server::start(
        &root,
        Options {
            capabilities: json!({ "workspace": { "configuration": true, "didChangeWatchedFiles": { "dynamicRegistration": true } } }),
            configuration: Configuration::Never,
            ..Options::default()
        },
    );
    let uri = server.open(
        &root.join("playbooks/p.py"),
        "python",
        &fixture("playbooks/bad/RP014-print-call.py"),
    );
    assert_eq!(
        codes(&server.diagnostics(&uri, Some(1))),
        ["RP014"],
        "checked with the defaults meanwhile"
    );
    still_serving(&mut server, &root);
    assert!(
        server
            .server_requests
            .iter()
            .any(|r| r["method"] == "workspace/configuration")
    );
    // After the timeout the server says so, and goes on.
    let warning = server.wait("the configuration timeout", |m| {
        m["method"] == "window/logMessage"
            && m["params"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("did not answer workspace/configuration")
    });
    assert_eq!(warning["params"]["type"], 2);
    still_serving(&mut server, &root);
    assert!(server.shutdown().success());
}

#[test]
fn a_panicking_handler_is_an_internal_error_not_a_dead_server() {
    let (_dir, root) = demo_workspace();
    let mut server = Server::start(
        &root,
        Options {
            env: vec![("RIPOSTE_LSP_DEBUG".into(), "1".into())],
            ..Options::default()
        },
    );
    for _ in 0..3 {
        let response = server.request(
            "workspace/executeCommand",
            json!({ "command": "riposte.debug.panic" }),
        );
        assert_eq!(response["error"]["code"], -32603, "{response}");
        still_serving(&mut server, &root);
    }
    assert!(server.is_running());
    let stderr = server.stderr.clone();
    assert!(server.shutdown().success());
    assert!(stderr.lock().unwrap().contains("panicked"));
}

#[test]
fn the_debug_command_is_off_by_default() {
    let (_dir, root) = demo_workspace();
    let mut server = Server::start(&root, Options::default());
    let response = server.request(
        "workspace/executeCommand",
        json!({ "command": "riposte.debug.panic" }),
    );
    assert_eq!(response["error"]["code"], -32602);
    assert!(server.shutdown().success());
}
