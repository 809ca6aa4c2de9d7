//! A playbook's documentation: what it is for, what it talks to, what it reads and changes, and a
//! Mermaid diagram of its flow, as the Markdown file `playbooks/<name>.md` next to the playbook.
//!
//! Everything here is derived from the playbook's text and the workspace, and the output is the
//! same bytes for the same inputs (no timestamps, source order or sorted order everywhere), so CI
//! can check that the committed docs are current (`riposte docs --check`).
//!
//! [`outline`] gives the parts as data for other front ends (the language server's hover, the
//! agent's plan); [`render`] gives the Markdown. See [`flow`] for what the diagram draws.

mod facts;
pub mod flow;
pub mod text;

use serde::Serialize;

use crate::catalog::HttpMethod;
use crate::lint::parse_playbook;
use crate::lint::semantic::Bindings;
use crate::sdk;
use crate::source::SourceFile;
use crate::workspace::Workspace;

pub use flow::{Flowchart, MAX_HELPER_DEPTH, MAX_NODES};

/// Why docs could not be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocsError {
    /// The playbook does not parse: docs of code that does not run would mislead.
    #[error(
        "line {line}, column {column}: {message}; fix the playbook before generating its docs (`riposte check` lists every problem)"
    )]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
}

/// Everything the docs say about a playbook, as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlaybookOutline {
    /// The playbook's name: its file stem.
    pub name: String,
    /// The module docstring, dedented.
    pub summary: Option<String>,
    /// Profiles bound with `ctx.integration("…")`, in the order the file first names them.
    pub integrations: Vec<IntegrationUse>,
    /// Requests through integration clients, one row per distinct request, in source order.
    pub endpoints: Vec<EndpointCall>,
    /// `alert.<attr>` and `alert.<accessor>()` the playbook reads, sorted by name.
    pub alert_fields: Vec<AlertField>,
    /// Comments, alert updates and requests that change data, in source order.
    pub changes: Vec<Change>,
    /// The Mermaid diagram of `run`, or `None` without a top-level `def run`.
    pub flowchart: Option<String>,
    /// Steps the diagram leaves out past [`MAX_NODES`] nodes.
    pub omitted_steps: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntegrationUse {
    pub profile: String,
    /// Where the file first binds it.
    pub line: usize,
    /// `None` when the workspace has no profile of this name.
    pub details: Option<ProfileDetails>,
}

/// What the docs show of a profile: never a secret (a profile holds none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileDetails {
    pub base_url: String,
    /// The auth method and its non-secret settings: `api_key (header x-apikey)`.
    pub auth: String,
    /// The API catalog's title, when the profile names one that loaded.
    pub catalog: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointCall {
    pub profile: String,
    pub method: HttpMethod,
    /// As written, f-string holes as `{…}`.
    pub path: String,
    /// The AWS Query `Action`, when given literally.
    pub action: Option<String>,
    /// The catalog's summary of the endpoint, or why the catalog cannot say.
    pub summary: String,
    /// Whether the catalog has exactly this endpoint.
    pub in_catalog: bool,
    /// Whether it changes data (planned, not sent, in a dry run).
    pub mutating: bool,
    /// Every line that sends it.
    pub lines: Vec<usize>,
}

impl EndpointCall {
    /// `GET /urls/{…}` or `POST / Action=AttachUserPolicy`.
    pub fn request_line(&self) -> String {
        match &self.action {
            Some(action) => format!("{} {} Action={action}", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertField {
    /// `alert.severity` or `alert.urls()`.
    pub name: String,
    pub method: bool,
    /// The first line of the SDK stub's doc; `None` when the SDK's `Alert` has no such member.
    pub doc: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub line: usize,
    pub kind: ChangeKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeKind {
    /// `ctx.comment(text)`: the text with f-string holes as `{expression}`.
    Comment { text: String },
    /// `ctx.update_alert(...)`: keyword names and the source of their values.
    UpdateAlert { fields: Vec<(String, String)> },
    /// A request that changes data through an integration.
    Request {
        profile: String,
        request: String,
        summary: String,
    },
}

/// The outline of a playbook, or why there is none (it does not parse).
pub fn outline(
    name: &str,
    source: &SourceFile,
    workspace: &Workspace,
) -> Result<PlaybookOutline, DocsError> {
    // The walks recurse; give them room whatever thread the caller is on.
    stacker::maybe_grow(256 * 1024, 8 * 1024 * 1024, || {
        outline_inner(name, source, workspace)
    })
}

fn outline_inner(
    name: &str,
    source: &SourceFile,
    workspace: &Workspace,
) -> Result<PlaybookOutline, DocsError> {
    let syntax_error = |offset, message: String| {
        let position = source.position(offset);
        DocsError::Syntax {
            line: position.line,
            column: position.column,
            message,
        }
    };
    let parsed = parse_playbook(source.text(), workspace)
        .map_err(|diagnostic| syntax_error(diagnostic.range.start(), diagnostic.message))?;
    if let Some(error) = parsed.errors().iter().min_by_key(|e| e.location.start()) {
        return Err(syntax_error(
            error.location.start(),
            format!("syntax error: {}", error.error),
        ));
    }
    let module = parsed.syntax();
    let bindings = Bindings::collect(module);
    let strings = text::StringValues::collect(module);
    let facts = facts::collect(module, source, &bindings, &strings, workspace);
    let flow = flow::flowchart(module, source.text(), &bindings, &strings, workspace);
    Ok(PlaybookOutline {
        name: name.to_string(),
        summary: sdk::docstring(&module.body).map(|doc| dedent(&doc)),
        integrations: facts.integrations,
        endpoints: facts.endpoints,
        alert_fields: facts.alert_fields,
        changes: facts.changes,
        omitted_steps: flow.as_ref().map_or(0, |f| f.omitted),
        flowchart: flow.map(|f| f.text),
    })
}

/// The Markdown documentation of a playbook (`playbooks/<name>.md`).
pub fn render(name: &str, source: &SourceFile, workspace: &Workspace) -> Result<String, DocsError> {
    Ok(outline(name, source, workspace)?.to_markdown())
}

/// `inspect.cleandoc`: the first line as it is, the common indentation of the others removed.
fn dedent(doc: &str) -> String {
    let mut lines = doc.lines();
    let first = lines.next().unwrap_or("").trim();
    let rest: Vec<&str> = lines.collect();
    let indent = rest
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = vec![first.to_string()];
    out.extend(
        rest.iter()
            .map(|line| line.get(indent..).unwrap_or("").trim_end().to_string()),
    );
    out.join("\n").trim().to_string()
}

impl PlaybookOutline {
    pub fn to_markdown(&self) -> String {
        use text::{cell, code};
        let name = &self.name;
        let mut md = String::new();
        md.push_str(&format!("# {name}\n\n"));
        md.push_str(&format!(
            "<!-- Generated by riposte docs from playbooks/{name}.py; edit the playbook, not this file. -->\n\n"
        ));

        md.push_str("## Summary\n\n");
        match &self.summary {
            Some(summary) if !summary.is_empty() => md.push_str(&format!("{summary}\n\n")),
            _ => md.push_str(
                "No docstring. Say what the playbook is for in a docstring at the top of the file, and it will show here.\n\n",
            ),
        }

        md.push_str("## Integrations\n\n");
        if self.integrations.is_empty() {
            md.push_str("None: the playbook calls no integration.\n\n");
        } else {
            md.push_str("| Profile | Base URL | Auth | API catalog |\n| --- | --- | --- | --- |\n");
            for integration in &self.integrations {
                match &integration.details {
                    Some(details) => md.push_str(&format!(
                        "| {} | {} | {} | {} |\n",
                        cell(&integration.profile),
                        cell(&details.base_url),
                        cell(&details.auth),
                        details
                            .catalog
                            .as_deref()
                            .map_or_else(|| "none".to_string(), cell),
                    )),
                    None => md.push_str(&format!(
                        "| {} | (no profile) | — | — |\n",
                        cell(&integration.profile)
                    )),
                }
            }
            md.push('\n');
        }

        md.push_str("## Endpoints called\n\n");
        if self.endpoints.is_empty() {
            md.push_str("None.\n\n");
        } else {
            md.push_str("| Integration | Request | What it does | Effect | Line |\n| --- | --- | --- | --- | --- |\n");
            for endpoint in &self.endpoints {
                let effect = if endpoint.mutating {
                    "**changes data** (planned, not sent, in a dry run)"
                } else {
                    "reads"
                };
                let lines: Vec<String> = endpoint.lines.iter().map(ToString::to_string).collect();
                md.push_str(&format!(
                    "| {} | {} | {} | {effect} | {} |\n",
                    cell(&endpoint.profile),
                    code(&endpoint.request_line()),
                    cell(&endpoint.summary),
                    lines.join(", "),
                ));
            }
            md.push('\n');
        }

        md.push_str("## Alert fields read\n\n");
        if self.alert_fields.is_empty() {
            md.push_str("None.\n\n");
        } else {
            md.push_str("| Field | What it holds |\n| --- | --- |\n");
            for field in &self.alert_fields {
                let doc = field
                    .doc
                    .as_deref()
                    .map_or_else(|| "not part of the SDK's `Alert`".to_string(), cell);
                md.push_str(&format!("| {} | {doc} |\n", code(&field.name)));
            }
            md.push('\n');
        }

        md.push_str("## Changes it makes\n\n");
        if self.changes.is_empty() {
            md.push_str("None: the playbook only reads.\n\n");
        } else {
            for change in &self.changes {
                let line = change.line;
                match &change.kind {
                    ChangeKind::Comment { text } => {
                        md.push_str(&format!(
                            "- Comments on the alert (line {line}): {}\n",
                            code(text)
                        ));
                    }
                    ChangeKind::UpdateAlert { fields } => {
                        let fields: Vec<String> = fields
                            .iter()
                            .map(|(name, value)| code(&format!("{name}={value}")))
                            .collect();
                        let fields = if fields.is_empty() {
                            "nothing named".to_string()
                        } else {
                            fields.join(", ")
                        };
                        md.push_str(&format!("- Updates the alert (line {line}): {fields}\n"));
                    }
                    ChangeKind::Request {
                        profile,
                        request,
                        summary,
                    } => {
                        md.push_str(&format!(
                            "- Changes data through {} (line {line}): {} — {}; planned, not sent, in a dry run\n",
                            text::shorten(profile, 200),
                            code(request),
                            text::shorten(summary, 200),
                        ));
                    }
                }
            }
            md.push('\n');
        }

        md.push_str("## Flow\n\n");
        match &self.flowchart {
            Some(flowchart) => {
                md.push_str("```mermaid\n");
                md.push_str(flowchart);
                md.push_str("```\n\n");
                md.push_str(
                    "Blue boxes read through an integration; red ones change data (planned, not sent, in a dry run). \
                     Slanted boxes comment on or update the alert; grey ends return, red ends fail the run. \
                     Dotted edges are taken on an error. Helpers of this file are drawn where they are called.\n",
                );
                if self.omitted_steps > 0 {
                    md.push_str(&format!(
                        "\nThe diagram stops at {MAX_NODES} nodes; {} more steps are not drawn.\n",
                        self.omitted_steps
                    ));
                }
            }
            None => md.push_str("No top-level `def run(alert, ctx)`: there is no flow to draw.\n"),
        }
        md
    }
}
