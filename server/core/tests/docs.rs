//! `riposte docs`: the Markdown and the Mermaid flow of each demo playbook (snapshots), what the
//! flow must contain for an analyst to follow it, determinism, escaping, bounds and refusals.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use riposte_core::catalog::ApiCatalog;
use riposte_core::docs::{self, ChangeKind, DocsError, MAX_NODES};
use riposte_core::formats::config::Config;
use riposte_core::formats::profile::Profile;
use riposte_core::{SourceFile, Workspace};

fn demo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/workspace")
}

fn sorted_files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The demo workspace, loaded through the core's own types.
fn demo_workspace() -> Workspace {
    let root = demo_root();
    let config =
        Config::parse(&read(&root.join("riposte.toml"))).expect("the demo riposte.toml parses");
    let mut workspace = Workspace::new(config);
    for path in sorted_files(&root.join("integrations"), "toml") {
        let (profile, diagnostics) = Profile::parse(&read(&path));
        let profile =
            profile.unwrap_or_else(|| panic!("{} is invalid: {diagnostics:?}", path.display()));
        let custom = if profile.api_is_file() {
            let api = profile.api.clone().expect("api_is_file implies api");
            let catalog = ApiCatalog::from_openapi(&profile.name, &read(&root.join(&api)))
                .unwrap_or_else(|e| panic!("{api} does not load: {e}"));
            Some(catalog)
        } else {
            None
        };
        let file = path
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        workspace.add_profile(format!("integrations/{file}"), profile, custom);
    }
    for path in sorted_files(&root.join("playbooks"), "py") {
        workspace.add_playbook(
            path.file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned(),
        );
    }
    workspace
}

fn demo_playbook(stem: &str) -> SourceFile {
    SourceFile::new(read(
        &demo_root().join("playbooks").join(format!("{stem}.py")),
    ))
}

fn render(stem: &str, text: &str) -> String {
    docs::render(stem, &SourceFile::new(text), &demo_workspace())
        .unwrap_or_else(|e| panic!("{stem}: {e}"))
}

fn flowchart(markdown: &str) -> &str {
    let start = markdown.find("```mermaid\n").expect("a mermaid block") + "```mermaid\n".len();
    let end = start + markdown[start..].find("```").expect("the block closes");
    &markdown[start..end]
}

/// `n3` for the first node line whose declaration (after the id) contains `needle`.
fn node_id(flow: &str, needle: &str) -> String {
    flow.lines()
        .map(str::trim)
        .find(|line| {
            line.starts_with('n')
                && !line.contains("-->")
                && !line.contains("-.->")
                && line.contains(needle)
        })
        .and_then(|line| line.split(|c: char| !c.is_ascii_alphanumeric()).next())
        .unwrap_or_else(|| panic!("no node with {needle:?} in\n{flow}"))
        .to_string()
}

/// What Mermaid itself would reject or misdraw: undeclared or duplicate ids, unbalanced
/// subgraphs, raw quotes inside labels, edges that point nowhere.
fn assert_well_formed(flow: &str) {
    let mut lines = flow.lines();
    assert_eq!(lines.next(), Some("flowchart TD"), "{flow}");
    let mut declared = BTreeSet::new();
    let mut depth = 0usize;
    let mut edges = Vec::new();
    for line in lines {
        let line = line.trim();
        if line.starts_with("subgraph ") {
            depth += 1;
            let title = line.split_once('[').expect("subgraph title").1;
            assert!(title.starts_with('"') && title.ends_with("\"]"), "{line}");
            assert_eq!(title.matches('"').count(), 2, "raw quote in {line}");
        } else if line == "end" {
            depth = depth.checked_sub(1).expect("`end` without `subgraph`");
        } else if line.starts_with("classDef ") || line.starts_with("class ") {
        } else if line.contains("-->") || line.contains("-.->") {
            let parts: Vec<&str> = line.split_whitespace().collect();
            let from = parts[0].to_string();
            let to = parts.last().expect("edge target").to_string();
            if let Some(label) = line
                .split_once('|')
                .map(|(_, rest)| rest.rsplit_once('|').expect("label closes").0)
            {
                assert!(!label.contains('|'), "{line}");
                if label.starts_with('"') {
                    assert_eq!(label.matches('"').count(), 2, "raw quote in {line}");
                }
            }
            edges.push((from, to));
        } else {
            let id: String = line
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            assert!(
                id.starts_with('n') && id[1..].parse::<usize>().is_ok(),
                "bad node line {line:?}"
            );
            assert!(declared.insert(id.clone()), "{id} declared twice");
            let label = &line[id.len()..];
            assert_eq!(label.matches('"').count(), 2, "raw quote in {line}");
            for bad in ['<', '>', '|', '`'] {
                assert!(!label.contains(bad), "raw {bad} in {line}");
            }
            let inner = &label[label.find('"').unwrap() + 1..label.rfind('"').unwrap()];
            assert!(
                !inner.contains('[') && !inner.contains(']'),
                "raw bracket in {line}"
            );
        }
    }
    assert_eq!(depth, 0, "unbalanced subgraphs");
    for (from, to) in edges {
        assert!(
            declared.contains(&from) && declared.contains(&to),
            "edge {from} -> {to} to an undeclared node"
        );
    }
    assert!(declared.len() <= MAX_NODES, "{} nodes", declared.len());
}

#[test]
fn every_demo_playbook_snapshot() {
    let workspace = demo_workspace();
    let playbooks = sorted_files(&demo_root().join("playbooks"), "py");
    assert!(
        playbooks.len() >= 5,
        "the demo workspace has its five playbooks"
    );
    for path in playbooks {
        let stem = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let markdown = docs::render(&stem, &SourceFile::new(read(&path)), &workspace)
            .unwrap_or_else(|e| panic!("{stem}: {e}"));
        assert!(markdown.starts_with(&format!(
            "# {stem}\n\n<!-- Generated by riposte docs from playbooks/{stem}.py; edit the playbook, not this file. -->\n"
        )));
        assert_well_formed(flowchart(&markdown));
        insta::assert_snapshot!(stem.clone(), markdown);
    }
}

#[test]
fn virustotal_flow_shows_the_loop_the_lookup_and_the_decisions() {
    let markdown = render(
        "vt-url-enrichment",
        demo_playbook("vt-url-enrichment").text(),
    );
    let flow = flowchart(&markdown);

    let start = node_id(flow, "([\"run(alert, ctx)\"])");
    assert_eq!(start, "n1");
    let loop_node = node_id(flow, "{{\"for url in alert.urls()\"}}");
    let lookup = node_id(flow, "[\"GET /urls/{…} (VirusTotal)\"]");
    let not_found = node_id(flow, "{\"response.status == 404\"}");
    let no_verdicts = node_id(flow, "{\"not verdicts\"}");
    let comment = node_id(flow, "[/\"Comment: VirusTotal: no URL evidence");

    // The step is a subgraph around the loop.
    assert!(flow.contains("subgraph s1[\"Look up URLs\"]"), "{flow}");
    // Edges: into the loop, the lookup inside it, 404 goes back to the loop (continue), the loop
    // exits with "done", the decision's yes branch comments.
    for edge in [
        format!("{loop_node} --> {lookup}"),
        format!("{lookup} --> {not_found}"),
        format!("{not_found} -->|\"yes, continue\"| {loop_node}"),
        format!("{loop_node} -->|done| {no_verdicts}"),
        format!("{no_verdicts} -->|yes| {comment}"),
    ] {
        assert!(flow.contains(&edge), "no edge {edge:?} in\n{flow}");
    }
    // The lookup only reads; comments are styled as alert changes; the ends are styled.
    assert!(flow.contains(&format!("class {lookup} request")), "{flow}");
    assert!(flow.contains("classDef alertchange"), "{flow}");
    assert!(flow.contains("return {#quot;urls#quot;: 0}"), "{flow}");

    // The sections around the diagram.
    assert!(
        markdown.contains(
            "| VirusTotal | https://www.virustotal.com/api/v3 | api_key (header x-apikey) |"
        ),
        "{markdown}"
    );
    assert!(
        markdown.contains("| VirusTotal | `GET /urls/{…}` |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| `alert.urls()` | URLs in the evidence. |"),
        "{markdown}"
    );
    assert!(markdown.contains("- Comments on the alert (line 18): `VirusTotal: no URL evidence was known to VirusTotal.`"), "{markdown}");
}

#[test]
fn rendering_is_deterministic() {
    for stem in [
        "vt-url-enrichment",
        "aws-iam-block-user",
        "phishing-sender-disable",
        "jira-issue",
        "servicenow-ticket",
    ] {
        let source = demo_playbook(stem);
        let first = docs::render(stem, &source, &demo_workspace()).expect("renders");
        let second = docs::render(stem, &source, &demo_workspace()).expect("renders");
        assert_eq!(first, second, "{stem} rendered differently twice");
        let outline = docs::outline(stem, &source, &demo_workspace()).expect("outline");
        assert_eq!(outline.to_markdown(), first);
    }
}

#[test]
fn mutating_requests_are_styled_and_listed_as_changes() {
    let markdown = render(
        "phishing-sender-disable",
        demo_playbook("phishing-sender-disable").text(),
    );
    let flow = flowchart(&markdown);
    let read_user = node_id(flow, "GET /users/{…} (Microsoft Graph)");
    let disable = node_id(flow, "PATCH /users/{…} (Microsoft Graph)");
    let revoke = node_id(
        flow,
        "POST /users/{…}/revokeSignInSessions (Microsoft Graph)",
    );
    let slack = node_id(flow, "POST /chat.postMessage (Slack)");
    assert!(
        flow.contains(&format!("class {read_user} request")),
        "{flow}"
    );
    assert!(
        flow.contains(&format!("class {disable},{revoke},{slack} mutating")),
        "{flow}"
    );
    // `if not internal: continue` goes back to the loop, labelled.
    let loop_node = node_id(flow, "for sender in senders");
    let external = node_id(flow, "not sender.lower().endswith(INTERNAL_DOMAIN)");
    assert!(
        flow.contains(&format!("{external} -->|\"yes, continue\"| {loop_node}")),
        "{flow}"
    );

    let outline = docs::outline(
        "phishing-sender-disable",
        &demo_playbook("phishing-sender-disable"),
        &demo_workspace(),
    )
    .unwrap();
    let changed: Vec<&str> = outline
        .changes
        .iter()
        .filter_map(|change| match &change.kind {
            ChangeKind::Request { request, .. } => Some(request.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        changed,
        [
            "PATCH /users/{…}",
            "POST /users/{…}/revokeSignInSessions",
            "POST /chat.postMessage"
        ]
    );
    assert!(markdown.contains("**changes data** (planned, not sent, in a dry run)"));
}

#[test]
fn helpers_are_drawn_where_they_are_called() {
    // Jira: the helper that creates the issue is called twice (the retry), so it is drawn twice;
    // the try/except has an "on error" edge to its handler, which comments and re-raises.
    let markdown = render("jira-issue", demo_playbook("jira-issue").text());
    let flow = flowchart(&markdown);
    assert_eq!(
        flow.matches("POST /rest/api/3/issue (Jira)").count(),
        2,
        "{flow}"
    );
    let try_node = node_id(flow, "[\"try: response.raise_for_status()\"]");
    let handler = node_id(flow, "except HTTPError");
    assert!(
        flow.contains(&format!("{try_node} -.->|on error| {handler}")),
        "{flow}"
    );
    assert!(
        flow.contains("raise: the run fails with the error"),
        "{flow}"
    );

    // AWS: the helper's step becomes a subgraph inside the loop; its own loop over keys too.
    let markdown = render(
        "aws-iam-block-user",
        demo_playbook("aws-iam-block-user").text(),
    );
    let flow = flowchart(&markdown);
    assert!(
        flow.contains("subgraph s1[\"Block {user_name}\"]"),
        "{flow}"
    );
    assert!(
        flow.contains("POST / Action=AttachUserPolicy (AWS IAM)"),
        "{flow}"
    );
    assert!(
        flow.contains("GET / Action=ListAccessKeys (AWS IAM)"),
        "{flow}"
    );
    assert!(flow.contains("Update alert: status, assigned_to"), "{flow}");
    assert!(
        markdown.contains(
            "- Updates the alert (line 49): `status=\"inProgress\"`, `assigned_to=TIER2`"
        ),
        "{markdown}"
    );
}

#[test]
fn recursive_helpers_are_drawn_once() {
    let markdown = render(
        "recursive",
        r#"from riposte import Alert, Context

def walk(vt, ctx: Context, depth: int) -> None:
    vt.get("/urls/x")
    if depth > 0:
        walk(vt, ctx, depth - 1)

def run(alert: Alert, ctx: Context) -> None:
    vt = ctx.integration("VirusTotal")
    walk(vt, ctx, 3)
    walk(vt, ctx, 1)
"#,
    );
    let flow = flowchart(&markdown);
    assert_well_formed(flow);
    assert_eq!(
        flow.matches("walk() again (recursive call, not drawn twice)")
            .count(),
        2,
        "{flow}"
    );
    assert_eq!(
        flow.matches("GET /urls/x (VirusTotal)").count(),
        2,
        "{flow}"
    );
}

#[test]
fn condition_labels_are_escaped_for_mermaid() {
    let markdown = render(
        "escaping",
        r#"from riposte import Alert, Context

def run(alert: Alert, ctx: Context) -> None:
    if alert.raw["k"] in ["a|b", "`#`"] and 0 < len(alert.id) > 3:
        ctx.comment("odd <b>tags</b> | [x]")
"#,
    );
    let flow = flowchart(&markdown);
    assert_well_formed(flow);
    let decision = flow
        .lines()
        .find(|line| line.trim_start().starts_with("n2{"))
        .expect("the decision is n2");
    assert_eq!(
        decision.trim(),
        "n2{\"alert.raw#91;#quot;k#quot;#93; in #91;#quot;a#124;b#quot;, #quot;#96;#35;#96;#quot;#93; and 0 #lt; len(alert.id) #gt; 3\"}",
        "{flow}"
    );
    let comment = flow
        .lines()
        .find(|line| line.contains("Comment:"))
        .expect("a comment node");
    assert!(
        comment.contains("odd #lt;b#gt;tags#lt;/b#gt; #124; #91;x#93;"),
        "{comment}"
    );
}

#[test]
fn long_conditions_are_shortened_to_one_line() {
    let markdown = render(
        "long",
        r#"from riposte import Alert, Context

def run(alert: Alert, ctx: Context) -> None:
    if (alert.severity == "high"
            and alert.title.startswith("Suspicious sign-in from an unfamiliar location")
            and alert.provider == "Microsoft Entra ID Protection"):
        ctx.comment("escalate")
"#,
    );
    let flow = flowchart(&markdown);
    let decision = flow
        .lines()
        .find(|line| line.trim_start().starts_with("n2{"))
        .expect("decision");
    let label = decision
        .trim()
        .trim_start_matches("n2{\"")
        .trim_end_matches("\"}");
    assert!(label.ends_with('…'), "{label}");
    assert!(label.chars().count() <= 60 + 20, "{label}"); // entity codes may lengthen it a little
    assert!(!label.contains("  "), "{label}");
}

#[test]
fn a_huge_playbook_gives_a_bounded_diagram() {
    let mut text = String::from(
        "from riposte import Alert, Context\n\n\ndef run(alert: Alert, ctx: Context) -> None:\n    vt = ctx.integration(\"VirusTotal\")\n",
    );
    for i in 0..1240 {
        text.push_str(&format!(
            "    if alert.severity == \"s{i}\":\n        vt.get(\"/urls/u{i}\")\n        ctx.comment(\"seen {i}\")\n    x{i} = {i}\n"
        ));
    }
    assert!(text.lines().count() > 4900);
    let started = std::time::Instant::now();
    let outline =
        docs::outline("huge", &SourceFile::new(text.as_str()), &demo_workspace()).expect("renders");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let flow = outline.flowchart.as_deref().expect("a flow");
    assert_well_formed(flow);
    let nodes = flow
        .lines()
        .filter(|l| l.trim_start().starts_with('n') && !l.contains("--"))
        .count();
    assert_eq!(nodes, MAX_NODES);
    // 3 nodes per `if`, 1240 of them, the start and the end: 3722 steps, 199 drawn.
    assert_eq!(outline.omitted_steps, 3722 - 199);
    assert!(
        flow.contains(&format!("n{MAX_NODES}[\"… {} more steps\"]", 3722 - 199)),
        "{flow}"
    );
    assert!(
        outline
            .to_markdown()
            .contains("The diagram stops at 200 nodes")
    );
}

#[test]
fn helpers_calling_helpers_stay_bounded() {
    // Each helper calls the next twice: drawn naively, 2^30 requests.
    let mut text = String::from("from riposte import Alert, Context\n\n");
    for i in 0..30 {
        text.push_str(&format!(
            "def h{i}(vt):\n    vt.get(\"/urls/{i}\")\n    h{next}(vt)\n    h{next}(vt)\n\n",
            next = i + 1
        ));
    }
    text.push_str("def h30(vt):\n    vt.get(\"/urls/end\")\n\n");
    text.push_str("def run(alert: Alert, ctx: Context) -> None:\n    vt = ctx.integration(\"VirusTotal\")\n    h0(vt)\n");
    let started = std::time::Instant::now();
    let outline =
        docs::outline("deep", &SourceFile::new(text.as_str()), &demo_workspace()).expect("renders");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let flow = outline.flowchart.as_deref().expect("a flow");
    assert_well_formed(flow);
    assert!(flow.contains("(helpers nested too deep to draw)"), "{flow}");
}

#[test]
fn syntax_errors_refuse_with_the_first_line() {
    let text = "from riposte import Alert, Context\n\ndef run(alert: Alert, ctx: Context) -> None:\n    if alert.severity == \"high\"\n        ctx.comment(\"x\")\n    x = (\n";
    let error =
        docs::render("broken", &SourceFile::new(text), &demo_workspace()).expect_err("refused");
    let DocsError::Syntax { line, .. } = &error;
    assert_eq!(*line, 4, "{error}");
    assert!(error.to_string().starts_with("line 4, column"), "{error}");
    assert!(error.to_string().contains("syntax error"), "{error}");

    let deep = format!("x = {}1{}\n", "(".repeat(300), ")".repeat(300));
    let error =
        docs::render("deep", &SourceFile::new(deep), &demo_workspace()).expect_err("refused");
    assert!(error.to_string().starts_with("line 1,"), "{error}");
}

#[test]
fn unknown_profiles_missing_docstring_and_missing_run_are_said_plainly() {
    let markdown = render(
        "bare",
        "from riposte import Alert, Context\n\ndef run(alert: Alert, ctx: Context) -> None:\n    ctx.integration(\"Nowhere\").delete(\"/things/1\")\n",
    );
    assert!(markdown.contains("No docstring."), "{markdown}");
    assert!(
        markdown.contains("| Nowhere | (no profile) | — | — |"),
        "{markdown}"
    );
    assert!(markdown.contains("| Nowhere | `DELETE /things/1` | unknown: no integration profile of this name | **changes data**"), "{markdown}");
    assert!(flowchart(&markdown).contains("DELETE /things/1 (Nowhere)"));

    let markdown = render(
        "no-run",
        "\"\"\"Helpers only.\"\"\"\n\ndef helper():\n    pass\n",
    );
    assert!(markdown.contains("Helpers only."));
    assert!(markdown.contains("No top-level `def run(alert, ctx)`: there is no flow to draw."));
    assert!(!markdown.contains("```mermaid"));
}

#[test]
fn loops_match_break_and_while_are_drawn() {
    let markdown = render(
        "shapes",
        r#"from riposte import Alert, Context

def run(alert: Alert, ctx: Context) -> None:
    vt = ctx.integration("VirusTotal")
    for ip in alert.ips():
        if vt.get(f"/ip_addresses/{ip.value}").status == 429:
            break
        ctx.comment(f"checked {ip.value}")
    else:
        ctx.comment("all checked")
    match alert.severity:
        case "high" | "medium":
            ctx.update_alert(status="inProgress")
        case _:
            return None
    while ctx.deadline > 5:
        vt.get("/urls/x")
"#,
    );
    let flow = flowchart(&markdown);
    assert_well_formed(flow);
    let loop_node = node_id(flow, "for ip in alert.ips()");
    let decision = node_id(
        flow,
        "vt.get(f#quot;/ip_addresses/{ip.value}#quot;).status == 429",
    );
    let match_node = node_id(flow, "{\"match alert.severity\"}");
    let all_checked = node_id(flow, "Comment: all checked");
    assert!(
        flow.contains(&format!("{decision} -->|\"yes, break\"| {match_node}")),
        "break leaves the loop: {flow}"
    );
    assert!(
        flow.contains(&format!("{loop_node} -->|done| {all_checked}")),
        "{flow}"
    );
    assert!(
        flow.contains("|\"case #quot;high#quot; #124; #quot;medium#quot;\"|"),
        "{flow}"
    );
    assert!(flow.contains("|\"case _\"|"), "{flow}");
    assert!(
        !flow.contains("no case matches"),
        "the wildcard makes it exhaustive: {flow}"
    );
    assert!(flow.contains("{{\"while ctx.deadline #gt; 5\"}}"), "{flow}");
}
