//! Hover: SDK members and values (alert attributes, entity kinds), profiles (base URL, auth method,
//! catalog; never a secret), endpoint paths (the catalog's summary and required parameters), and
//! rule codes in `# noqa` comments (the rule's documentation).

use ruff_python_ast::Expr;
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::analysis::{Analysis, NodesAt, SdkValue, literal_content};
use crate::catalog::{ApiCatalog, Endpoint, Lookup, ParamLocation};
use crate::formats::profile::Auth;
use crate::lint::{Rule, noqa_directives};
use crate::sdk;
use crate::source::SourceFile;
use crate::workspace::{Catalog, ProfileEntry, Workspace};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoverResult {
    /// What the hover is about, for the editor to highlight.
    pub range: TextRange,
    pub markdown: String,
}

pub fn hover(source: &SourceFile, workspace: &Workspace, offset: TextSize) -> Option<HoverResult> {
    let text = source.text();
    let offset = offset.min(TextSize::try_from(text.len()).unwrap_or_default());
    if let Some(found) = noqa_hover(source, offset) {
        return Some(found);
    }
    let analysis = Analysis::new(source, workspace)?;
    let nodes = NodesAt::find(analysis.module(), offset);

    if let Some(string) = nodes.string_itself()
        && let Some(found) = string_hover(&analysis, &nodes, string)
    {
        return Some(found);
    }
    if let Some(attribute) = nodes.attribute {
        let value = analysis.value_of(&attribute.value)?;
        let class = value.class()?;
        let member = class.member(attribute.attr.as_str())?;
        let mut markdown = format!(
            "```python\n{}.{}\n```\n\n{}",
            class.name, member.signature, member.doc
        );
        if let SdkValue::Client(Some(profile)) = &value
            && let Some(entry) = workspace.profile(profile)
        {
            markdown.push_str(&format!(
                "\n\nThrough profile `{}`: {}",
                entry.profile.name, entry.profile.base_url
            ));
        }
        return Some(HoverResult {
            range: attribute.attr.range(),
            markdown,
        });
    }
    if let Some(name) = nodes.name {
        let value = analysis.value_of(&Expr::Name(name.clone()))?;
        if let SdkValue::Client(Some(profile)) = &value {
            let markdown = match workspace.profile(profile) {
                Some(entry) => format!(
                    "```python\n{}: Integration\n```\n\n{}",
                    name.id,
                    profile_markdown(entry)
                ),
                None => unknown_profile_markdown(profile, workspace),
            };
            return Some(HoverResult {
                range: name.range(),
                markdown,
            });
        }
        let class = value.class()?;
        return Some(HoverResult {
            range: name.range(),
            markdown: format!(
                "```python\n{}: {}\n```\n\n{}",
                name.id, class.name, class.doc
            ),
        });
    }
    None
}

fn noqa_hover(source: &SourceFile, offset: TextSize) -> Option<HoverResult> {
    let line = source.line_range_of(offset);
    let line_text = &source.text()[line];
    if !line_text.contains("noqa") {
        return None;
    }
    let directives = noqa_directives(line_text);
    for directive in directives {
        for (code, range) in directive.codes {
            let range = range + line.start();
            if range.contains_inclusive(offset) {
                let markdown = match Rule::from_code(&code) {
                    Some(rule) => format!(
                        "{}\n\n[Documentation]({})",
                        rule.documentation(),
                        rule.doc_url()
                    ),
                    None => {
                        format!("`{code}` is not a Riposte rule code (`riposte rule` lists them)")
                    }
                };
                return Some(HoverResult { range, markdown });
            }
        }
    }
    None
}

fn string_hover(analysis: &Analysis, nodes: &NodesAt, string: &Expr) -> Option<HoverResult> {
    let workspace = analysis.workspace;
    let range = string.range();
    if let Some(call) = nodes.call_with_argument(string, &["name", "path", "kind"]) {
        if let Some(reference) = analysis.bindings.integration_ref(call)
            && reference.range == range
        {
            let markdown = match workspace.profile(&reference.name) {
                Some(entry) => profile_markdown(entry),
                None => unknown_profile_markdown(&reference.name, workspace),
            };
            return Some(HoverResult { range, markdown });
        }
        if let Some(request) = analysis.bindings.request_call(call)
            && request.path.map(Ranged::range) == Some(range)
        {
            let profile = request.profile.as_ref()?;
            let entry = workspace.profile(&profile.name)?;
            let catalog = entry.catalog.as_ref()?;
            let pattern = request.path_pattern()?;
            let action = request.aws_action();
            let markdown = match catalog.lookup(
                request.method,
                &pattern,
                &entry.profile.base_path(),
                action.as_deref(),
            ) {
                Lookup::Found(endpoint) => {
                    endpoint_markdown(endpoint, catalog, &entry.profile.name)
                }
                Lookup::Ambiguous { candidates } => {
                    let mut markdown = format!(
                        "This call can reach {} endpoints of {} (the path or action is computed):\n",
                        candidates.len(),
                        catalog.title
                    );
                    for endpoint in candidates.iter().take(10) {
                        markdown.push_str(&format!(
                            "\n- `{}`: {}",
                            endpoint.label(),
                            endpoint.summary
                        ));
                    }
                    markdown
                }
                Lookup::MethodNotAllowed { .. } | Lookup::NotFound { .. } => format!(
                    "Not in the API catalog of profile `{}` ({}): see the diagnostic",
                    entry.profile.name, catalog.title
                ),
            };
            return Some(HoverResult { range, markdown });
        }
        if let Expr::Attribute(attribute) = call.func.as_ref()
            && attribute.attr.as_str() == "entities"
            && analysis.bindings.is_alert(&attribute.value)
            && let Some((kind, _)) = literal_content(analysis.text(), string)
        {
            return Some(HoverResult {
                range,
                markdown: entity_kind_markdown(&kind),
            });
        }
    }
    None
}

/// A profile as hover and completion show it: never a secret (profiles hold none).
pub(crate) fn profile_markdown(entry: &ProfileEntry) -> String {
    let profile = &entry.profile;
    let mut markdown = format!("**{}** (integration profile)", profile.name);
    if !profile.description.is_empty() {
        markdown.push_str(&format!("\n\n{}", profile.description));
    }
    markdown.push_str(&format!("\n\n- base URL: `{}`", profile.base_url));
    let auth = match &profile.auth {
        Auth::Oauth2ClientCredentials { token_url, scopes } => {
            let scopes = if scopes.is_empty() {
                String::new()
            } else {
                format!(
                    ", scopes {}",
                    scopes
                        .iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            };
            format!("`oauth2_client_credentials` (token URL `{token_url}`{scopes})")
        }
        Auth::ApiKey {
            header: Some(header),
            ..
        } => format!("`api_key` in header `{header}`"),
        Auth::ApiKey {
            query: Some(query), ..
        } => format!("`api_key` in query parameter `{query}`"),
        Auth::AwsSigv4 { region, service } => {
            format!("`aws_sigv4` (region `{region}`, service `{service}`)")
        }
        Auth::Hawk { algorithm } => format!("`hawk` ({algorithm})"),
        other => format!("`{}`", other.method()),
    };
    markdown.push_str(&format!("\n- auth: {auth}"));
    match &entry.catalog {
        Some(catalog) => {
            let origin = match catalog {
                Catalog::Builtin(_) => "built-in catalog",
                Catalog::Custom(_) => "OpenAPI document",
            };
            markdown.push_str(&format!(
                "\n- API catalog: {} ({origin} `{}`, {} endpoints)",
                catalog.title,
                profile.api.as_deref().unwrap_or_default(),
                catalog.endpoints.len()
            ));
        }
        None => markdown.push_str("\n- API catalog: none (calls are not checked against one)"),
    }
    markdown.push_str(&format!("\n- file: `{}`", entry.path));
    markdown
}

fn unknown_profile_markdown(name: &str, workspace: &Workspace) -> String {
    let known: Vec<String> = workspace
        .profile_names()
        .map(|n| format!("`{n}`"))
        .collect();
    format!(
        "No integration profile named `{name}` in this workspace (known: {})",
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        }
    )
}

/// An endpoint as hover and completion show it: summary, required parameters, whether it changes
/// anything.
pub(crate) fn endpoint_markdown(
    endpoint: &Endpoint,
    catalog: &ApiCatalog,
    profile: &str,
) -> String {
    let mut markdown = format!("**`{}`**", endpoint.label());
    if !endpoint.summary.is_empty() {
        markdown.push_str(&format!("\n\n{}", endpoint.summary));
    }
    let required = endpoint.required_params();
    if required.is_empty() {
        markdown.push_str("\n\nRequired parameters: none");
    } else {
        markdown.push_str("\n\nRequired parameters:");
        for (location, name) in required {
            let how = match location {
                ParamLocation::Path => "path",
                ParamLocation::Query => "query (`params=`)",
                ParamLocation::Body => "body (`json=`/`data=`)",
            };
            markdown.push_str(&format!("\n- `{name}`: {how}"));
        }
    }
    if endpoint.mutating {
        markdown.push_str("\n\nChanges data: planned, not sent, in a dry run.");
    }
    markdown.push_str(&format!("\n\n{} (profile `{profile}`)", catalog.title));
    markdown
}

/// An entity kind, with its `Alert` shortcut when there is one.
pub(crate) fn entity_kind_markdown(kind: &str) -> String {
    let shortcut = match kind {
        "user" => Some("users"),
        "ip" => Some("ips"),
        "url" => Some("urls"),
        "file" => Some("files"),
        "device" => Some("devices"),
        "mailbox" => Some("mailboxes"),
        "process" => Some("processes"),
        _ => None,
    };
    let known = crate::alert::EntityKind::parse(kind).is_some();
    if !known {
        return format!(
            "`{kind}` is not an entity kind; use one of {}",
            crate::alert::EntityKind::ALL
                .map(|k| format!("`{k}`"))
                .join(", ")
        );
    }
    let mut markdown = format!("**Entity kind `{kind}`**");
    if let Some(method) = shortcut
        && let Some(member) = sdk::class("Alert").and_then(|alert| alert.member(method))
    {
        markdown.push_str(&format!(
            "\n\n{} `alert.{method}()` is the same as `alert.entities(\"{kind}\")`.",
            member.doc
        ));
    }
    if let Some(value) = sdk::class("Entity").and_then(|entity| entity.member("value")) {
        markdown.push_str(&format!("\n\n`Entity.value`: {}", value.doc));
    }
    markdown
}

/// The path to write in a client call for an endpoint: catalog paths are relative to the
/// catalog's server, request paths to the profile's `base_url`.
pub(crate) fn request_path(endpoint: &Endpoint, catalog: &ApiCatalog, base_path: &str) -> String {
    let server = catalog.server_path.as_str();
    let prefix = server
        .strip_prefix(base_path)
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        .unwrap_or("");
    format!("{prefix}{}", endpoint.path)
}
