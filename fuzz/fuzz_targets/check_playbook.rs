//! Arbitrary bytes as a playbook, checked against the demo workspace's settings and profiles.
//!
//! Beyond "no panic, no hang", it asserts what the editor and `riposte check --fix` rely on:
//! diagnostics come sorted, every range and every fix edit lies inside the text on character
//! boundaries, LSP (UTF-16) positions can be computed, and applying the safe fixes gives text
//! that can be checked again.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use riposte_core::catalog::ApiCatalog;
use riposte_core::diagnostic::apply_edits;
use riposte_core::formats::config::Config;
use riposte_core::formats::profile::Profile;
use riposte_core::source::{PositionEncoding, TextRange};
use riposte_core::{Applicability, SourceFile, Workspace, check_playbook, check_playbook_bytes};

/// The demo workspace's files, embedded so the target needs nothing on disk at run time.
const CONFIG: &str = include_str!("../../fixtures/workspace/riposte.toml");
const PROFILES: &[(&str, &str)] = &[
    (
        "integrations/aws-iam.toml",
        include_str!("../../fixtures/workspace/integrations/aws-iam.toml"),
    ),
    (
        "integrations/jira.toml",
        include_str!("../../fixtures/workspace/integrations/jira.toml"),
    ),
    (
        "integrations/microsoft-graph.toml",
        include_str!("../../fixtures/workspace/integrations/microsoft-graph.toml"),
    ),
    (
        "integrations/servicenow.toml",
        include_str!("../../fixtures/workspace/integrations/servicenow.toml"),
    ),
    (
        "integrations/slack.toml",
        include_str!("../../fixtures/workspace/integrations/slack.toml"),
    ),
    (
        "integrations/threat-intel.toml",
        include_str!("../../fixtures/workspace/integrations/threat-intel.toml"),
    ),
    (
        "integrations/virustotal.toml",
        include_str!("../../fixtures/workspace/integrations/virustotal.toml"),
    ),
];
/// The one profile whose `api` is a file of the workspace rather than a built-in catalog.
const CUSTOM_CATALOGS: &[(&str, &str)] = &[(
    "apis/threat-intel.json",
    include_str!("../../fixtures/workspace/apis/threat-intel.json"),
)];

static WORKSPACE: LazyLock<Workspace> = LazyLock::new(|| {
    let config = Config::parse(CONFIG).expect("the demo riposte.toml parses");
    let mut workspace = Workspace::new(config);
    for name in [
        "aws-iam-block-user",
        "jira-issue",
        "phishing-sender-disable",
        "servicenow-ticket",
        "vt-url-enrichment",
    ] {
        workspace.add_playbook(name);
    }
    for (path, text) in PROFILES {
        let (profile, diagnostics) = Profile::parse(text);
        let profile =
            profile.unwrap_or_else(|| panic!("{path} is a valid profile: {diagnostics:?}"));
        let custom = profile.api.as_deref().and_then(|api| {
            let (_, document) = CUSTOM_CATALOGS.iter().find(|(file, _)| *file == api)?;
            Some(ApiCatalog::from_openapi(api, document).expect("the demo OpenAPI document parses"))
        });
        workspace.add_profile(*path, profile, custom);
    }
    workspace
});

fn assert_in_text(text: &str, range: TextRange, what: &str) {
    let (start, end) = (range.start().to_usize(), range.end().to_usize());
    assert!(
        end <= text.len(),
        "{what} {range:?} ends past the text ({} bytes)",
        text.len()
    );
    assert!(
        text.is_char_boundary(start) && text.is_char_boundary(end),
        "{what} {range:?} splits a character"
    );
}

fuzz_target!(|data: &[u8]| {
    let workspace = &*WORKSPACE;
    let (source, diagnostics) = check_playbook_bytes(data, workspace);
    let text = source.text();

    assert!(
        diagnostics
            .windows(2)
            .all(|pair| pair[0].range.start() <= pair[1].range.start()),
        "diagnostics are not sorted by position"
    );
    for diagnostic in &diagnostics {
        assert_in_text(text, diagnostic.range, diagnostic.rule.code());
        source.position_in(diagnostic.range.start(), PositionEncoding::Utf16);
        source.position_in(diagnostic.range.end(), PositionEncoding::Utf16);
        for edit in diagnostic.fix.iter().flat_map(|fix| &fix.edits) {
            assert_in_text(text, edit.range, "fix edit");
        }
    }

    // What `riposte check --fix` does: apply the safe fixes, then check the result again.
    let safe_edits: Vec<_> = diagnostics
        .iter()
        .filter_map(|d| d.fix.as_ref())
        .filter(|fix| fix.applicability == Applicability::Safe)
        .flat_map(|fix| &fix.edits)
        .collect();
    if !safe_edits.is_empty() {
        let fixed = apply_edits(text, safe_edits);
        check_playbook(&SourceFile::new(fixed), workspace);
    }
});
