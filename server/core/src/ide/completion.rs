//! Completion: SDK members after `alert.`, `ctx.`, a client or an entity; profile names inside
//! `ctx.integration("`; catalog paths inside a client call's path string; entity kinds inside
//! `alert.entities("`.

use std::sync::LazyLock;

use regex::Regex;
use ruff_text_size::{TextRange, TextSize};
use serde::Serialize;

use super::analysis::{Analysis, SdkValue};
use super::hover::{endpoint_markdown, entity_kind_markdown, profile_markdown, request_path};
use super::scan::{LineContext, line_context, trailing_identifier};
use crate::alert::EntityKind;
use crate::catalog::HttpMethod;
use crate::sdk::MemberKind;
use crate::source::SourceFile;
use crate::workspace::Workspace;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionItem {
    pub label: String,
    pub kind: CompletionKind,
    /// One line shown beside the label (a signature, a base URL, an endpoint's summary).
    pub detail: Option<String>,
    /// Markdown.
    pub documentation: Option<String>,
    /// The text the item replaces (what is typed of a string's content), or `None` for the word
    /// at the cursor.
    pub replace: Option<TextRange>,
    /// Orders items before the editor's own filtering: catalog order, say.
    pub sort_text: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompletionKind {
    Method,
    Attribute,
    Profile,
    Path,
    EntityKind,
}

static RECEIVER_INTEGRATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"([A-Za-z_]\w*)\s*\.\s*integration\s*\(\s*(?:name\s*=\s*)?(?:"([^"]*)"|'([^']*)')\s*\)$"#,
    )
    .expect("valid pattern")
});
static RECEIVER_ENTITY_ITEM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([A-Za-z_]\w*)\s*\.\s*(\w+)\s*\([^()]*\)\s*\[[^\[\]]*\]$").expect("valid pattern")
});
static RECEIVER_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[^\w.])([A-Za-z_]\w*)$").expect("valid pattern"));
static PROFILE_ARGUMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([A-Za-z_]\w*)\s*\.\s*integration\s*\(\s*(?:name\s*=\s*)?$")
        .expect("valid pattern")
});
static PATH_ARGUMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?:([A-Za-z_]\w*)\s*\.\s*integration\s*\(\s*(?:name\s*=\s*)?(?:"([^"]*)"|'([^']*)')\s*\)|([A-Za-z_]\w*))\s*\.\s*(get|post|put|patch|delete)\s*\(\s*(?:path\s*=\s*)?$"#,
    )
    .expect("valid pattern")
});
static KIND_ARGUMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([A-Za-z_]\w*)\s*\.\s*entities\s*\(\s*(?:kind\s*=\s*)?$").expect("valid pattern")
});

/// What can be typed at `offset`. Empty when Riposte has nothing specific to offer there (the
/// editor's Python support covers the rest).
pub fn completions(
    source: &SourceFile,
    workspace: &Workspace,
    offset: TextSize,
) -> Vec<CompletionItem> {
    let text = source.text();
    let offset = offset.to_usize().min(text.len());
    match line_context(text, offset) {
        LineContext::Comment => Vec::new(),
        LineContext::Code { prefix } => {
            let Some(analysis) = Analysis::new(source, workspace) else {
                return Vec::new();
            };
            member_completions(&analysis, prefix)
        }
        LineContext::String {
            before,
            content_start,
            content_end,
            fstring,
            ..
        } => {
            let Some(analysis) = Analysis::new(source, workspace) else {
                return Vec::new();
            };
            let replace = TextRange::new(size(content_start), size(content_end));
            string_completions(&analysis, before.trim_end(), replace, fstring)
        }
    }
}

fn member_completions(analysis: &Analysis, prefix: &str) -> Vec<CompletionItem> {
    let typed = trailing_identifier(prefix);
    let before = prefix[..prefix.len() - typed.len()].trim_end();
    let Some(receiver) = before.strip_suffix('.') else {
        return Vec::new();
    };
    let receiver = receiver.trim_end();
    let Some(value) = receiver_value(analysis, receiver) else {
        return Vec::new();
    };
    let Some(class) = value.class() else {
        return Vec::new();
    };
    let profile_note = match &value {
        SdkValue::Client(Some(profile)) => analysis.workspace.profile(profile).map(|entry| {
            format!(
                "\n\nBound to profile `{}` ({})",
                profile, entry.profile.base_url
            )
        }),
        _ => None,
    };
    class
        .public_members()
        .enumerate()
        .map(|(index, member)| {
            let mut documentation = member.doc.clone();
            if member.kind == MemberKind::Method
                && let Some(note) = &profile_note
            {
                documentation.push_str(note);
            }
            CompletionItem {
                label: member.name.clone(),
                kind: match member.kind {
                    MemberKind::Method => CompletionKind::Method,
                    MemberKind::Attribute => CompletionKind::Attribute,
                },
                detail: Some(format!("{}.{}", class.name, member.signature)),
                documentation: (!documentation.is_empty()).then_some(documentation),
                replace: None,
                sort_text: Some(format!("{index:03}")),
            }
        })
        .collect()
}

/// The SDK value of the code before a `.`, read from its text.
fn receiver_value(analysis: &Analysis, receiver: &str) -> Option<SdkValue> {
    if let Some(found) = RECEIVER_INTEGRATION.captures(receiver) {
        let ctx = found.get(1).map_or("", |m| m.as_str());
        if analysis.bindings.ctx_names.iter().any(|n| n == ctx) {
            let profile = found
                .get(2)
                .or_else(|| found.get(3))
                .map(|m| m.as_str().to_string());
            return Some(SdkValue::Client(profile));
        }
        return None;
    }
    if let Some(found) = RECEIVER_ENTITY_ITEM.captures(receiver) {
        let (name, method) = (&found[1], &found[2]);
        let is_alert = analysis.bindings.alert_names.iter().any(|n| n == name);
        return (is_alert && super::analysis::is_entity_list_method(method))
            .then_some(SdkValue::Entity);
    }
    let found = RECEIVER_NAME.captures(receiver)?;
    let name = found.get(1)?.as_str();
    analysis.value_of_name(name)
}

fn string_completions(
    analysis: &Analysis,
    before: &str,
    replace: TextRange,
    fstring: bool,
) -> Vec<CompletionItem> {
    let workspace = analysis.workspace;
    let is_ctx = |name: &str| analysis.bindings.ctx_names.iter().any(|n| n == name);

    if !fstring
        && let Some(found) = PROFILE_ARGUMENT.captures(before)
        && is_ctx(&found[1])
    {
        return workspace
            .profiles()
            .map(|entry| CompletionItem {
                label: entry.profile.name.clone(),
                kind: CompletionKind::Profile,
                detail: Some(format!(
                    "{} ({})",
                    entry.profile.base_url,
                    entry.profile.auth.method()
                )),
                documentation: Some(profile_markdown(entry)),
                replace: Some(replace),
                sort_text: None,
            })
            .collect();
    }

    if let Some(found) = PATH_ARGUMENT.captures(before) {
        let profile = match (found.get(1), found.get(4)) {
            (Some(ctx), _) if is_ctx(ctx.as_str()) => found
                .get(2)
                .or_else(|| found.get(3))
                .map(|m| m.as_str().to_string()),
            (None, Some(client)) => analysis.bindings.clients.get(client.as_str()).cloned(),
            _ => None,
        };
        let method = found.get(5).and_then(|m| HttpMethod::parse(m.as_str()));
        let (Some(profile), Some(method)) = (profile, method) else {
            return Vec::new();
        };
        let Some(entry) = workspace.profile(&profile) else {
            return Vec::new();
        };
        let Some(catalog) = &entry.catalog else {
            return Vec::new();
        };
        let base_path = entry.profile.base_path();
        let mut seen = std::collections::HashSet::new();
        return catalog
            .endpoints_for(method)
            .filter_map(|endpoint| {
                let path = request_path(endpoint, catalog, &base_path);
                if !seen.insert(path.clone()) {
                    return None;
                }
                let detail = match &endpoint.action {
                    Some(_) => format!(
                        "{} (actions: use `params={{\"Action\": …}}`)",
                        endpoint.method
                    ),
                    None => endpoint.summary.clone(),
                };
                Some(CompletionItem {
                    documentation: Some(endpoint_markdown(endpoint, catalog, &entry.profile.name)),
                    label: path,
                    kind: CompletionKind::Path,
                    detail: Some(detail),
                    replace: Some(replace),
                    sort_text: Some(format!("{:04}", seen.len())),
                })
            })
            .collect();
    }

    if !fstring
        && let Some(found) = KIND_ARGUMENT.captures(before)
        && analysis.bindings.alert_names.iter().any(|n| n == &found[1])
    {
        return EntityKind::ALL
            .iter()
            .map(|kind| CompletionItem {
                label: kind.as_str().to_string(),
                kind: CompletionKind::EntityKind,
                detail: Some("EntityKind".to_string()),
                documentation: Some(entity_kind_markdown(kind.as_str())),
                replace: Some(replace),
                sort_text: None,
            })
            .collect();
    }
    Vec::new()
}

fn size(offset: usize) -> TextSize {
    TextSize::try_from(offset).unwrap_or_default()
}
