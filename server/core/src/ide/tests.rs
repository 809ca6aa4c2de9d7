//! The editor features on a small workspace: two profiles with built-in catalogs.

use ruff_text_size::TextSize;

use super::*;
use crate::diagnostic::apply_edits;
use crate::formats::profile::Profile;
use crate::{Rule, SourceFile, Workspace, check_playbook};

fn workspace() -> Workspace {
    let mut workspace = Workspace::default();
    for (path, text) in [
        (
            "integrations/virustotal.toml",
            "name = \"VirusTotal\"\ndescription = \"VirusTotal v3\"\nbase_url = \"https://www.virustotal.com/api/v3\"\napi = \"virustotal\"\n[auth]\nmethod = \"api_key\"\nheader = \"x-apikey\"\n",
        ),
        (
            "integrations/microsoft-graph.toml",
            "name = \"Microsoft Graph\"\nbase_url = \"https://graph.microsoft.com/v1.0\"\napi = \"microsoft-graph\"\n[auth]\nmethod = \"oauth2_client_credentials\"\ntoken_url = \"https://login.microsoftonline.com/x/oauth2/v2.0/token\"\n",
        ),
    ] {
        let (profile, diagnostics) = Profile::parse(text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        workspace.add_profile(path, profile.unwrap(), None);
    }
    workspace
}

/// The text without its `|` and the offset where it was.
fn cursor(text: &str) -> (SourceFile, TextSize) {
    let offset = text.find('|').expect("a cursor");
    (
        SourceFile::new(text.replacen('|', "", 1)),
        TextSize::try_from(offset).unwrap(),
    )
}

fn labels(text: &str) -> Vec<String> {
    let (source, offset) = cursor(text);
    completions(&source, &workspace(), offset)
        .into_iter()
        .map(|item| item.label)
        .collect()
}

const HEAD: &str =
    "from riposte import Alert, Context\n\n\ndef run(alert: Alert, ctx: Context) -> None:\n";

#[test]
fn completes_alert_context_client_and_entity_members() {
    let alert = labels(&format!("{HEAD}    x = alert.|\n    ctx.log('x')\n"));
    assert!(
        alert.contains(&"severity".to_string()) && alert.contains(&"urls".to_string()),
        "{alert:?}"
    );
    assert!(!alert.iter().any(|l| l.starts_with('_')));
    let ctx = labels(&format!("{HEAD}    ctx.|"));
    assert!(
        ctx.contains(&"integration".to_string()) && ctx.contains(&"dry_run".to_string()),
        "{ctx:?}"
    );
    let client = labels(&format!(
        "{HEAD}    vt = ctx.integration(\"VirusTotal\")\n    vt.|"
    ));
    assert_eq!(client, ["name", "get", "post", "put", "patch", "delete"]);
    let chained = labels(&format!("{HEAD}    ctx.integration(\"VirusTotal\").po|"));
    assert!(chained.contains(&"post".to_string()));
    let entity = labels(&format!(
        "{HEAD}    for url in alert.urls():\n        url.|"
    ));
    assert!(
        entity.contains(&"value".to_string()) && entity.contains(&"verdict".to_string()),
        "{entity:?}"
    );
    let response = labels(&format!(
        "{HEAD}    vt = ctx.integration(\"VirusTotal\")\n    r = vt.get('/x')\n    r.|"
    ));
    assert!(
        response.contains(&"raise_for_status".to_string()),
        "{response:?}"
    );
    // Nothing for names Riposte knows nothing about, or in comments.
    assert!(labels(&format!("{HEAD}    other.|")).is_empty());
    assert!(labels(&format!("{HEAD}    # alert.|")).is_empty());
}

#[test]
fn completes_profiles_paths_and_entity_kinds_in_strings() {
    let (source, offset) = cursor(&format!("{HEAD}    vt = ctx.integration(\"Vi|\")\n"));
    let items = completions(&source, &workspace(), offset);
    let names: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
    assert_eq!(names, ["Microsoft Graph", "VirusTotal"]);
    let replace = items[0].replace.unwrap();
    assert_eq!(&source.text()[replace], "Vi");
    assert!(items[1].documentation.as_ref().unwrap().contains("api_key"));

    let paths = labels(&format!(
        "{HEAD}    vt = ctx.integration(\"VirusTotal\")\n    vt.get(f\"/u|\n"
    ));
    assert!(paths.contains(&"/urls/{id}".to_string()), "{paths:?}");
    let posts = labels(&format!(
        "{HEAD}    ctx.integration('Microsoft Graph').post(\"|\")\n"
    ));
    assert!(posts.iter().any(|p| p.ends_with("/sendMail")), "{posts:?}");
    assert!(
        posts.iter().all(|p| !p.starts_with("/v1.0")),
        "base path is not repeated: {posts:?}"
    );

    let kinds = labels(&format!("{HEAD}    alert.entities(\"|\")\n"));
    assert!(kinds.contains(&"ip".to_string()) && kinds.contains(&"mailbox".to_string()));
}

#[test]
fn hovers() {
    let ws = workspace();
    let hover_at = |text: &str| {
        let (source, offset) = cursor(text);
        hover(&source, &ws, offset).map(|h| h.markdown)
    };
    let severity = hover_at(&format!(
        "{HEAD}    if alert.sev|erity == 'high':\n        pass\n"
    ))
    .unwrap();
    assert!(
        severity.contains("Alert.severity") && severity.contains("lower-cased"),
        "{severity}"
    );
    let profile = hover_at(&format!(
        "{HEAD}    vt = ctx.integration(\"Virus|Total\")\n"
    ))
    .unwrap();
    assert!(
        profile.contains("https://www.virustotal.com/api/v3")
            && profile.contains("`api_key` in header `x-apikey`")
            && profile.contains("VirusTotal"),
        "{profile}"
    );
    let endpoint = hover_at(&format!(
        "{HEAD}    vt = ctx.integration(\"VirusTotal\")\n    vt.get(f\"/urls/{{u|rl}}\")\n"
    ));
    // The cursor in an f-string's field is on the name `url`, not the path: no endpoint hover.
    assert!(endpoint.is_none_or(|m| !m.contains("Required")));
    let endpoint = hover_at(&format!(
        "{HEAD}    vt = ctx.integration(\"VirusTotal\")\n    vt.get(f\"/ur|ls/{{x}}\")\n"
    ))
    .unwrap();
    assert!(
        endpoint.contains("GET /urls/{id}") && endpoint.contains("`id`: path"),
        "{endpoint}"
    );
    let kind = hover_at(&format!("{HEAD}    alert.entities(\"i|p\")\n")).unwrap();
    assert!(
        kind.contains("Entity kind `ip`") && kind.contains("alert.ips()"),
        "{kind}"
    );
    let noqa = hover_at("import requests  # noqa: RP0|03\n").unwrap();
    assert!(noqa.starts_with("## RP003 external-import"), "{noqa}");
    let param = hover_at(&format!("{HEAD}    ctx|.log('x')\n")).unwrap();
    assert!(param.contains("ctx: Context"), "{param}");
}

#[test]
fn goes_to_the_profile_file() {
    let ws = workspace();
    let (source, offset) = cursor(&format!(
        "{HEAD}    graph = ctx.integration(\"Microsoft |Graph\")\n    graph.get('/me')\n"
    ));
    let target = definition(&source, &ws, offset).unwrap();
    assert_eq!(target.path, "integrations/microsoft-graph.toml");
    let (source, offset) = cursor(&format!(
        "{HEAD}    graph = ctx.integration(\"Microsoft Graph\")\n    gra|ph.get('/me')\n"
    ));
    assert_eq!(
        definition(&source, &ws, offset).unwrap().path,
        "integrations/microsoft-graph.toml"
    );
    assert_eq!(
        profile_name_range("# x\nname = \"A\"\n"),
        ruff_text_size::TextRange::new(TextSize::new(4), TextSize::new(8))
    );
}

#[test]
fn outlines_functions_clients_and_steps() {
    let source = SourceFile::new(format!(
        "LIMIT = 3\n\n\ndef helper(x):\n    return x\n\n\n{}    vt = ctx.integration(\"VirusTotal\")\n    with ctx.step(\"Enrich\"):\n        vt.get('/urls/x')\n",
        HEAD.trim_start_matches("from riposte import Alert, Context\n\n\n")
    ));
    let symbols = document_symbols(&source, &workspace());
    let outline: Vec<(String, SymbolKind, Vec<String>)> = symbols
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.kind,
                s.children.iter().map(|c| c.name.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(
        outline,
        [
            ("LIMIT".to_string(), SymbolKind::Constant, vec![]),
            ("helper".to_string(), SymbolKind::Function, vec![]),
            (
                "run".to_string(),
                SymbolKind::Function,
                vec!["vt".to_string(), "Enrich".to_string()]
            ),
        ]
    );
}

#[test]
fn tokens_for_integrations_and_sdk_calls() {
    let text = format!(
        "{HEAD}    vt = ctx.integration(\"VirusTotal\")\n    vt.get('/x')\n    ctx.log(alert.title)\n"
    );
    let source = SourceFile::new(text.clone());
    let tokens: Vec<(&str, TokenType)> = semantic_tokens(&source, &workspace())
        .iter()
        .map(|t| (&text[t.range], t.token_type))
        .collect();
    assert_eq!(
        tokens,
        [
            ("vt", TokenType::Variable),
            ("integration", TokenType::Method),
            ("VirusTotal", TokenType::Namespace),
            ("vt", TokenType::Variable),
            ("get", TokenType::Method),
            ("log", TokenType::Method),
            ("title", TokenType::Property),
        ]
    );
}

#[test]
fn actions_for_diagnostics() {
    let ws = workspace();
    let text = format!("{HEAD}    vt = ctx.integration(\"VirusTotl\")\n    print(alert.title)\n");
    let source = SourceFile::new(text.clone());
    let diagnostics = check_playbook(&source, &ws);
    let rp005 = diagnostics
        .iter()
        .find(|d| d.rule == Rule::UnknownIntegration)
        .unwrap();
    let actions = code_actions(&source, &ws, rp005);
    let titles: Vec<&str> = actions.iter().map(|a| a.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Use profile `VirusTotal`",
            "Create integration profile `VirusTotl` (integrations/virustotl.toml)",
            "Suppress RP005 on this line (`# noqa`)",
        ]
    );
    assert_eq!(
        actions[1].command,
        Some(ActionCommand::CreateProfile {
            name: "VirusTotl".into(),
            path: "integrations/virustotl.toml".into()
        })
    );
    let fixed = apply_edits(&text, &actions[0].edits);
    assert!(fixed.contains("ctx.integration(\"VirusTotal\")"));

    let rp014 = diagnostics
        .iter()
        .find(|d| d.rule == Rule::PrintCall)
        .unwrap();
    let actions = code_actions(&source, &ws, rp014);
    assert!(actions[0].preferred && actions[0].title.contains("ctx.log"));
    let all = fix_all(&diagnostics);
    assert!(apply_edits(&text, &all).contains("ctx.log(str(alert.title))"));
}
