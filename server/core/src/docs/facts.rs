//! What a playbook touches, read from the whole file: the integrations it binds, the requests it
//! sends (looked up in each profile's API catalog), the alert fields it reads and the changes it
//! makes. Helpers count as much as `run`: they are code the playbook runs.

use std::collections::{HashMap, HashSet};

use ruff_python_ast::visitor::{Visitor, walk_expr, walk_stmt};
use ruff_python_ast::{Expr, ExprCall, ModModule, Stmt};
use ruff_text_size::{Ranged, TextSize};

use super::text::{StringValues, path_display, shorten, source, spoken_text};
use super::{AlertField, Change, ChangeKind, EndpointCall, IntegrationUse, ProfileDetails};
use crate::catalog::{HttpMethod, Lookup};
use crate::formats::profile::Auth;
use crate::lint::semantic::{Bindings, RequestCall};
use crate::sdk;
use crate::source::SourceFile;
use crate::workspace::Workspace;

/// A request as the docs show it, with what the profile's catalog says about it.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// The profile the client is bound to (always known for a recognised client).
    pub profile: String,
    pub method: HttpMethod,
    /// The path as written, f-string holes as `{…}`.
    pub path: String,
    /// The AWS Query `Action`, when the call names one literally.
    pub action: Option<String>,
    /// The catalog's one-line summary, or why there is none.
    pub summary: String,
    /// Whether the catalog found exactly this endpoint.
    pub found: bool,
    pub mutating: bool,
}

impl RequestInfo {
    /// `GET /urls/{…}` or `POST / Action=AttachUserPolicy`.
    pub fn request_line(&self) -> String {
        match &self.action {
            Some(action) => format!("{} {} Action={action}", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

pub fn describe_request(request: &RequestCall<'_>, workspace: &Workspace) -> RequestInfo {
    let profile = request
        .profile
        .as_ref()
        .map_or_else(String::new, |p| p.name.clone());
    let method = request.method;
    let path = path_display(request.path);
    let action = request.aws_action();
    let conventional = method.is_mutating();
    let entry = workspace.profile(&profile);
    let (summary, found, mutating) = match (entry, entry.and_then(|e| e.catalog.as_ref())) {
        (None, _) => (
            "unknown: no integration profile of this name".to_string(),
            false,
            conventional,
        ),
        (Some(_), None) => (
            "the profile names no API catalog".to_string(),
            false,
            conventional,
        ),
        (Some(entry), Some(catalog)) => match request.path_pattern() {
            None => (
                "the path is computed, so the catalog cannot tell".to_string(),
                false,
                conventional,
            ),
            Some(pattern) => {
                match catalog.lookup(
                    method,
                    &pattern,
                    &entry.profile.base_path(),
                    action.as_deref(),
                ) {
                    Lookup::Found(endpoint) => (endpoint.summary.clone(), true, endpoint.mutating),
                    Lookup::Ambiguous { candidates } => {
                        let all_mutating = candidates.iter().all(|e| e.mutating);
                        let none_mutating = candidates.iter().all(|e| !e.mutating);
                        let mutating = if all_mutating || none_mutating {
                            all_mutating
                        } else {
                            conventional
                        };
                        (
                            format!("one of {} endpoints of {}", candidates.len(), catalog.title),
                            false,
                            mutating,
                        )
                    }
                    Lookup::MethodNotAllowed { .. } | Lookup::NotFound { .. } => (
                        format!("not in the {} catalog", catalog.title),
                        false,
                        conventional,
                    ),
                }
            }
        },
    };
    RequestInfo {
        profile,
        method,
        path,
        action,
        summary,
        found,
        mutating,
    }
}

/// The non-secret way a profile authenticates: `api_key (header x-apikey)`.
pub fn auth_summary(auth: &Auth) -> String {
    match auth {
        Auth::Oauth2ClientCredentials { scopes, .. } if !scopes.is_empty() => {
            format!("oauth2_client_credentials (scopes {})", scopes.join(" "))
        }
        Auth::ApiKey {
            header: Some(name), ..
        } => format!("api_key (header {name})"),
        Auth::ApiKey {
            query: Some(name), ..
        } => format!("api_key (query {name})"),
        Auth::AwsSigv4 { region, service } => format!("aws_sigv4 ({service}, {region})"),
        Auth::Hawk { algorithm } => format!("hawk ({algorithm})"),
        other => other.method().to_string(),
    }
}

#[derive(Debug, Default)]
pub struct Facts {
    pub integrations: Vec<IntegrationUse>,
    pub endpoints: Vec<EndpointCall>,
    pub alert_fields: Vec<AlertField>,
    pub changes: Vec<Change>,
}

pub fn collect(
    module: &ModModule,
    source: &SourceFile,
    bindings: &Bindings,
    strings: &StringValues<'_>,
    workspace: &Workspace,
) -> Facts {
    let mut visitor = FactsVisitor {
        text: source.text(),
        source,
        bindings,
        strings,
        workspace,
        facts: Facts::default(),
        endpoint_index: HashMap::new(),
        field_names: HashSet::new(),
        changes: Vec::new(),
    };
    for stmt in &module.body {
        visitor.visit_stmt(stmt);
    }
    let mut facts = visitor.facts;
    facts.alert_fields.sort_by(|a, b| a.name.cmp(&b.name));
    let mut changes = visitor.changes;
    changes.sort_by_key(|(offset, _)| *offset);
    facts.changes = changes.into_iter().map(|(_, change)| change).collect();
    facts
}

struct FactsVisitor<'t> {
    text: &'t str,
    source: &'t SourceFile,
    bindings: &'t Bindings,
    strings: &'t StringValues<'t>,
    workspace: &'t Workspace,
    facts: Facts,
    endpoint_index: HashMap<(String, HttpMethod, String, Option<String>), usize>,
    field_names: HashSet<String>,
    changes: Vec<(TextSize, Change)>,
}

impl FactsVisitor<'_> {
    fn line(&self, offset: TextSize) -> usize {
        self.source.position(offset).line
    }

    fn alert_member(&mut self, name: &str, method: bool) {
        let display = if method {
            format!("alert.{name}()")
        } else {
            format!("alert.{name}")
        };
        if !self.field_names.insert(display.clone()) {
            return;
        }
        let member = sdk::class("Alert").and_then(|class| class.member(name));
        let doc = member.map(|m| m.doc.lines().next().unwrap_or("").trim().to_string());
        self.facts.alert_fields.push(AlertField {
            name: display,
            method,
            doc,
        });
    }

    fn call(&mut self, call: &ExprCall) {
        let line = self.line(call.range().start());
        if let Some(reference) = self.bindings.integration_ref(call)
            && !self
                .facts
                .integrations
                .iter()
                .any(|i| i.profile == reference.name)
        {
            let details = self
                .workspace
                .profile(&reference.name)
                .map(|entry| ProfileDetails {
                    base_url: entry.profile.base_url.clone(),
                    auth: auth_summary(&entry.profile.auth),
                    catalog: entry.catalog.as_ref().map(|c| c.title.clone()),
                });
            self.facts.integrations.push(IntegrationUse {
                profile: reference.name,
                line,
                details,
            });
        }
        if let Some(request) = self.bindings.request_call(call) {
            let info = describe_request(&request, self.workspace);
            let key = (
                info.profile.clone(),
                info.method,
                info.path.clone(),
                info.action.clone(),
            );
            match self.endpoint_index.get(&key) {
                Some(&index) => self.facts.endpoints[index].lines.push(line),
                None => {
                    self.endpoint_index.insert(key, self.facts.endpoints.len());
                    self.facts.endpoints.push(EndpointCall {
                        profile: info.profile.clone(),
                        method: info.method,
                        path: info.path.clone(),
                        action: info.action.clone(),
                        summary: info.summary.clone(),
                        in_catalog: info.found,
                        mutating: info.mutating,
                        lines: vec![line],
                    });
                }
            }
            if info.mutating {
                let change = Change {
                    line,
                    kind: ChangeKind::Request {
                        profile: info.profile.clone(),
                        request: info.request_line(),
                        summary: info.summary.clone(),
                    },
                };
                self.changes.push((call.range().start(), change));
            }
        }
        match self.bindings.ctx_method(call) {
            Some("comment") => {
                let text = call
                    .arguments
                    .args
                    .first()
                    .or_else(|| call.arguments.find_keyword("text").map(|k| &k.value))
                    .map(|arg| shorten(&spoken_text(self.text, arg, self.strings), 120))
                    .unwrap_or_default();
                self.changes.push((
                    call.range().start(),
                    Change {
                        line,
                        kind: ChangeKind::Comment { text },
                    },
                ));
            }
            Some("update_alert") => {
                let fields = call
                    .arguments
                    .keywords
                    .iter()
                    .map(|keyword| {
                        let name = keyword
                            .arg
                            .as_ref()
                            .map_or_else(|| "**".to_string(), ToString::to_string);
                        (name, shorten(source(self.text, &keyword.value), 80))
                    })
                    .collect();
                self.changes.push((
                    call.range().start(),
                    Change {
                        line,
                        kind: ChangeKind::UpdateAlert { fields },
                    },
                ));
            }
            _ => {}
        }
    }
}

impl<'a> Visitor<'a> for FactsVisitor<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || walk_stmt(self, stmt));
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Call(call) => {
                self.call(call);
                if let Expr::Attribute(attribute) = call.func.as_ref()
                    && self.bindings.is_alert(&attribute.value)
                {
                    self.alert_member(attribute.attr.as_str(), true);
                    for arg in &call.arguments.args {
                        self.visit_expr(arg);
                    }
                    for keyword in &call.arguments.keywords {
                        self.visit_expr(&keyword.value);
                    }
                    return;
                }
            }
            Expr::Attribute(attribute) if self.bindings.is_alert(&attribute.value) => {
                self.alert_member(attribute.attr.as_str(), false);
                return;
            }
            _ => {}
        }
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || walk_expr(self, expr));
    }
}
