//! The rules that read the syntax tree, in one walk over it.

use std::collections::HashSet;

use ruff_python_ast::visitor::{Visitor, walk_except_handler, walk_expr, walk_stmt};
use ruff_python_ast::{ExceptHandler, Expr, ExprCall, ModModule, Stmt, StmtFunctionDef};
use ruff_python_stdlib::sys::is_known_standard_library;
use ruff_text_size::{Ranged, TextLen, TextRange, TextSize};

use super::modules::{self, dangerous_module, network_module};
use super::secrets;
use super::semantic::{Bindings, RequestCall, entry_point, leading_text};
use crate::catalog::{Lookup, ParamLocation};
use crate::diagnostic::{Diagnostic, Edit, Fix};
use crate::formats::profile::{is_loopback_host, profile_file_stem};
use crate::lint::Rule;
use crate::sdk;
use crate::source::SourceFile;
use crate::workspace::Workspace;

pub(super) fn check_module(
    module: &ModModule,
    source: &SourceFile,
    workspace: &Workspace,
) -> Vec<Diagnostic> {
    let bindings = Bindings::collect(module);
    let mut checker = Checker {
        source,
        workspace,
        bindings: &bindings,
        diagnostics: Vec::new(),
        flagged_imports: HashSet::new(),
        secret_ranges: HashSet::new(),
        ctx_in_scope: Vec::new(),
    };
    checker.check_entry_point(module);
    for stmt in &module.body {
        checker.visit_stmt(stmt);
    }
    checker.diagnostics
}

struct Checker<'a> {
    source: &'a SourceFile,
    workspace: &'a Workspace,
    bindings: &'a Bindings,
    diagnostics: Vec<Diagnostic>,
    /// Names whose import was already reported, so their uses are not reported again.
    flagged_imports: HashSet<String>,
    /// String literals already reported as secrets (by shape or by name).
    secret_ranges: HashSet<TextRange>,
    /// For each enclosing function, the name its context parameter has, if any.
    ctx_in_scope: Vec<Option<String>>,
}

impl Checker<'_> {
    fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn check_entry_point(&mut self, module: &ModModule) {
        let Some(run) = entry_point(module) else {
            let message = "no top-level `def run(alert, ctx)`: add the entry point the runtime calls with the alert and the context";
            self.report(Diagnostic::new(
                Rule::MissingEntryPoint,
                TextRange::empty(TextSize::new(0)),
                message,
            ));
            return;
        };
        let params = &run.parameters;
        let positional = params.posonlyargs.len() + params.args.len();
        let required_positional = params
            .posonlyargs
            .iter()
            .chain(&params.args)
            .filter(|p| p.default.is_none())
            .count();
        let required_keyword = params
            .kwonlyargs
            .iter()
            .filter(|p| p.default.is_none())
            .count();
        let problem = if run.is_async {
            Some(
                "`run` must be a plain `def`, not `async def`: the runtime calls it synchronously"
                    .to_string(),
            )
        } else if positional < 2 && params.vararg.is_none() {
            Some(format!(
                "`run` takes {positional} positional parameter(s); it must take two: `def run(alert, ctx)`"
            ))
        } else if required_positional > 2 {
            Some(format!(
                "`run` requires {required_positional} positional parameters; the runtime passes two: `def run(alert, ctx)`"
            ))
        } else if required_keyword > 0 {
            Some("`run` has required keyword-only parameters the runtime cannot pass: give them defaults".to_string())
        } else {
            None
        };
        if let Some(message) = problem {
            self.report(Diagnostic::new(
                Rule::MissingEntryPoint,
                run.name.range(),
                message,
            ));
        }
    }

    fn check_import(&mut self, module: &str, bound: &str, range: TextRange) {
        let top = module.split('.').next().unwrap_or(module);
        if top == "riposte" || top == "__future__" {
            return;
        }
        let minor = self.workspace.config.python_version().minor;
        if !is_known_standard_library(minor, top) {
            let version = &self.workspace.config.python.version;
            self.report(Diagnostic::new(
                Rule::ExternalImport,
                range,
                format!(
                    "`{top}` is not in the Python {version} standard library and playbooks cannot install packages: {}",
                    modules::replacement_for(top)
                ),
            ));
            return;
        }
        if let Some(network) = network_module(module) {
            self.flagged_imports.insert(bound.to_string());
            self.report(Diagnostic::new(
                Rule::DirectNetwork,
                range,
                format!("`{network}` reaches the network directly; every request goes through an integration: `ctx.integration(\"Name\").get(path)`"),
            ));
        } else if let Some(dangerous) = dangerous_module(module) {
            self.flagged_imports.insert(bound.to_string());
            self.report(Diagnostic::new(
                Rule::DangerousCall,
                range,
                dangerous_message(dangerous),
            ));
        } else if modules::is_dangerous_call(module) {
            self.flagged_imports.insert(bound.to_string());
            self.report(Diagnostic::new(
                Rule::DangerousCall,
                range,
                dangerous_message(module),
            ));
        }
    }

    fn check_call(&mut self, call: &ExprCall) {
        // Only a builtin or something imported can be a listed call or `print`: a method on a
        // local value (`vt.get`, `ctx.log`, most calls) needs no qualified name, which allocates.
        let imported_or_builtin =
            matches!(call.func.as_ref(), Expr::Name(_)) || self.bindings.is_imported(&call.func);
        if imported_or_builtin && let Some(qualified) = self.bindings.qualified_name(&call.func) {
            let root = root_name(&call.func);
            let reported = root.is_some_and(|r| self.flagged_imports.contains(r));
            if !reported {
                // Calls into a listed module are reported where the module is named (import or
                // attribute); here only the exact call targets that live in harmless modules.
                if modules::DANGEROUS_CALLS.contains(&qualified.as_str()) {
                    self.report(Diagnostic::new(
                        Rule::DangerousCall,
                        call.func.range(),
                        dangerous_message(&qualified),
                    ));
                } else if modules::NETWORK_CALLS.contains(&qualified.as_str()) {
                    self.report(Diagnostic::new(
                        Rule::DirectNetwork,
                        call.func.range(),
                        format!("`{qualified}` reaches the network directly; every request goes through an integration: `ctx.integration(\"Name\").get(path)`"),
                    ));
                }
            }
            if qualified == "print" {
                self.check_print(call);
            }
        }
        if let Some(reference) = self.bindings.integration_ref(call) {
            self.check_integration_name(&reference.name, reference.range);
        }
        if let Some(request) = self.bindings.request_call(call) {
            self.check_request(&request);
        }
    }

    fn check_print(&mut self, call: &ExprCall) {
        let ctx = self.ctx_in_scope.iter().rev().flatten().next().cloned();
        let mut diagnostic = Diagnostic::new(
            Rule::PrintCall,
            call.func.range(),
            "`print` output is lost when the playbook runs: use `ctx.log(message, **fields)`",
        );
        let single_arg = call.arguments.args.len() == 1 && call.arguments.keywords.is_empty();
        if let (Some(ctx), true) = (ctx, single_arg) {
            let arg = &call.arguments.args[0];
            let mut edits = vec![Edit::replace(call.func.range(), format!("{ctx}.log"))];
            if !matches!(arg, Expr::StringLiteral(_) | Expr::FString(_)) {
                edits.push(Edit::insert(arg.range().start(), "str("));
                edits.push(Edit::insert(arg.range().end(), ")"));
            }
            diagnostic = diagnostic.with_fix(Fix::safe(
                format!("Replace `print` with `{ctx}.log`"),
                edits,
            ));
        }
        self.report(diagnostic);
    }

    fn check_integration_name(&mut self, name: &str, range: TextRange) {
        if self.workspace.profile(name).is_some() {
            return;
        }
        let known: Vec<&str> = self.workspace.profile_names().collect();
        let hint = match known.iter().find(|k| k.eq_ignore_ascii_case(name)) {
            Some(close) => format!("did you mean `{close}`?"),
            None if known.is_empty() => "the workspace has no profiles yet".to_string(),
            None => format!("known profiles: {}", known.join(", ")),
        };
        self.report(Diagnostic::new(
            Rule::UnknownIntegration,
            range,
            format!(
                "no integration profile named `{name}`: create `integrations/{}.toml` ({hint})",
                profile_file_stem(name)
            ),
        ));
    }

    fn check_request(&mut self, request: &RequestCall) {
        let Some(reference) = &request.profile else {
            return;
        };
        let Some(entry) = self.workspace.profile(&reference.name) else {
            return;
        };
        let Some(path_expr) = request.path else {
            return;
        };

        if let Some(text) = leading_text(path_expr)
            && (text.starts_with("https://") || text.starts_with("http://"))
        {
            let host = url::Url::parse(&text)
                .ok()
                .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
            if host.is_some() && host != entry.profile.host() {
                self.report(Diagnostic::new(
                    Rule::ForeignHost,
                    path_expr.range(),
                    format!(
                        "this URL's host is not `{}`, the host of profile `{}`: the profile's credentials would be sent to another host; use a path relative to its base_url, or a profile for that host",
                        entry.profile.host().unwrap_or_default(),
                        entry.profile.name
                    ),
                ));
            }
            // An absolute URL cannot be matched against the catalog.
            return;
        }

        let Some(catalog) = &entry.catalog else {
            return;
        };
        let Some(pattern) = request.path_pattern() else {
            return;
        };
        let action = request.aws_action();
        match catalog.lookup(
            request.method,
            &pattern,
            entry.base_path(),
            action.as_deref(),
        ) {
            Lookup::Found(endpoint) => {
                let combine_aws = endpoint.action.is_some();
                let query = request.literal_keys("params");
                let body = match (request.literal_keys("json"), request.literal_keys("data")) {
                    (Some(keys), _) | (None, Some(keys)) => Some(keys),
                    (None, None) => None,
                };
                // Absent means "none given" (Some(empty)); a non-literal argument means "unknown".
                let given = |keys: Option<Option<Vec<String>>>| keys.unwrap_or(Some(Vec::new()));
                let (query, body) = if combine_aws {
                    let mut all = given(query.clone()).unwrap_or_default();
                    all.extend(given(body.clone()).unwrap_or_default());
                    let known = given(query).is_some() && given(body).is_some();
                    (known.then(|| all.clone()), known.then_some(all))
                } else {
                    (given(query), given(body))
                };
                for missing in
                    endpoint.missing_required(&pattern, query.as_deref(), body.as_deref())
                {
                    let (range, message) = match missing.location {
                        ParamLocation::Path if missing.forgotten_f_string => (
                            path_expr.range(),
                            format!(
                                "the path has a `{{…}}` placeholder that is never filled in (parameter `{}`): add the `f` prefix to make it an f-string",
                                missing.name
                            ),
                        ),
                        ParamLocation::Path => (
                            path_expr.range(),
                            format!("path parameter `{}` is empty: fill it in", missing.name),
                        ),
                        ParamLocation::Query if combine_aws => (
                            request.method_range,
                            format!(
                                "`{}` requires the parameter `{}`: add it to `params=` or `data=`",
                                endpoint.label(),
                                missing.name
                            ),
                        ),
                        ParamLocation::Query => (
                            request.method_range,
                            format!(
                                "`{} {}` requires the query parameter `{}`: add it to `params=`",
                                endpoint.method.as_str(),
                                endpoint.path,
                                missing.name
                            ),
                        ),
                        ParamLocation::Body if combine_aws => (
                            request.method_range,
                            format!(
                                "`{}` requires the parameter `{}`: add it to `params=` or `data=`",
                                endpoint.label(),
                                missing.name
                            ),
                        ),
                        ParamLocation::Body => (
                            request.method_range,
                            format!(
                                "`{} {}` requires the body field `{}`: add it to `json=`",
                                endpoint.method.as_str(),
                                endpoint.path,
                                missing.name
                            ),
                        ),
                    };
                    self.report(Diagnostic::new(
                        Rule::MissingRequiredParameter,
                        range,
                        message,
                    ));
                }
            }
            // Several endpoints fit a call whose path or action is computed: nothing to say.
            Lookup::Ambiguous { .. } => {}
            Lookup::MethodNotAllowed { allowed } => {
                let allowed: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
                self.report(Diagnostic::new(
                    Rule::UnknownEndpoint,
                    request.method_range,
                    format!(
                        "the API catalog of profile `{}` has no {} for this path (it allows {}): check the method",
                        entry.profile.name,
                        request.method.as_str(),
                        allowed.join(", ")
                    ),
                ));
            }
            Lookup::NotFound { suggestion } => {
                let what = match &action {
                    Some(action) => format!("action `{action}`"),
                    None => format!(
                        "`{} {}`",
                        request.method.as_str(),
                        pattern_text(path_expr, self.source)
                    ),
                };
                let hint = suggestion.map_or_else(String::new, |s| match &s.action {
                    Some(a) => format!("; did you mean action `{a}`?"),
                    None => format!("; did you mean `{} {}`?", s.method.as_str(), s.path),
                });
                self.report(Diagnostic::new(
                    Rule::UnknownEndpoint,
                    path_expr.range(),
                    format!(
                        "{what} is not in the API catalog of profile `{}` ({}){hint}",
                        entry.profile.name, catalog.title
                    ),
                ));
            }
        }
    }

    fn check_string(&mut self, range: TextRange, value: &str) {
        if let Some(what) = secrets::known_shape(value) {
            self.report_secret(range, what);
        }
        // `contains(':')` is a byte search; `find("http://")` sets up a substring searcher, which
        // costs more than that on every one of a playbook's thousands of strings.
        if value.contains(':')
            && let Some(at) = value.find("http://")
        {
            let host_is_loopback = url::Url::parse(&value[at..])
                .ok()
                .is_some_and(|u| u.host().is_some_and(|host| is_loopback_host(&host)));
            if !host_is_loopback {
                // Point at the scheme itself when the source spells it out (it may not, with escapes).
                let raw = &self.source.text()[range];
                let scheme = raw.find("http://").map(|offset| {
                    TextRange::at(
                        range.start() + TextSize::try_from(offset).unwrap_or_default(),
                        "http://".text_len(),
                    )
                });
                let mut diagnostic = Diagnostic::new(
                    Rule::InsecureUrl,
                    scheme.unwrap_or(range),
                    "`http://` sends data unencrypted: use `https://`",
                );
                if let Some(scheme) = scheme {
                    diagnostic = diagnostic.with_fix(Fix::unsafe_edit(
                        "Use `https://`",
                        vec![Edit::replace(scheme, "https://")],
                    ));
                }
                self.report(diagnostic);
            }
        }
    }

    fn report_secret(&mut self, range: TextRange, what: &str) {
        if self.secret_ranges.insert(range) {
            self.report(
                Diagnostic::new(
                    Rule::HardcodedSecret,
                    range,
                    format!("this looks like {what}: remove it, keep credentials in the integration profile's secret store, and rotate it (it is in the file's history)"),
                )
                .with_secret(range),
            );
        }
    }

    /// A string assigned to a secret-sounding name (`api_key = "…"`, `token="…"`, `{"password": "…"}`).
    fn check_named_value(&mut self, name: &str, value: &Expr) {
        let Expr::StringLiteral(literal) = value else {
            return;
        };
        let text = literal.value.to_str();
        // `looks_random` turns most strings down on their length alone; `is_secret_name` allocates.
        if secrets::looks_random(text) && secrets::is_secret_name(name) {
            self.report_secret(
                literal.range(),
                &format!("a credential assigned to `{name}`"),
            );
        }
    }

    fn check_except_handler(&mut self, handler: &ExceptHandler) {
        let ExceptHandler::ExceptHandler(handler) = handler;
        let keyword = TextRange::at(handler.range.start(), "except".text_len());
        match handler.type_.as_deref() {
            None => {
                let fix = Fix::unsafe_edit(
                    "Catch `Exception`",
                    vec![Edit::replace(keyword, "except Exception")],
                );
                self.report(
                    Diagnostic::new(
                        Rule::SwallowedException,
                        keyword,
                        "a bare `except:` also catches timeouts and cancellation: catch `Exception` (or narrower) and log it with `ctx.log`",
                    )
                    .with_fix(fix),
                );
            }
            Some(Expr::Name(name)) if matches!(name.id.as_str(), "Exception" | "BaseException") => {
                let only_pass = handler.body.iter().all(|stmt| match stmt {
                    Stmt::Pass(_) => true,
                    Stmt::Expr(e) => matches!(e.value.as_ref(), Expr::EllipsisLiteral(_)),
                    _ => false,
                });
                if only_pass {
                    self.report(Diagnostic::new(
                        Rule::SwallowedException,
                        keyword,
                        format!("`except {}: pass` hides every failure from the run record: log it with `ctx.log` or let it raise", name.id),
                    ));
                }
            }
            Some(_) => {}
        }
    }

    fn enter_function(&mut self, function: &StmtFunctionDef) {
        let ctx = function
            .parameters
            .posonlyargs
            .iter()
            .chain(&function.parameters.args)
            .chain(&function.parameters.kwonlyargs)
            .map(|p| p.parameter.name.as_str())
            .find(|name| self.bindings.ctx_names.iter().any(|c| c == name))
            .map(str::to_string);
        self.ctx_in_scope.push(ctx);
    }
}

impl<'a> Visitor<'a> for Checker<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(import) => {
                for alias in &import.names {
                    let bound = alias.asname.as_ref().map_or_else(
                        || {
                            alias
                                .name
                                .as_str()
                                .split('.')
                                .next()
                                .unwrap_or_default()
                                .to_string()
                        },
                        ToString::to_string,
                    );
                    self.check_import(alias.name.as_str(), &bound, alias.range());
                }
            }
            Stmt::ImportFrom(import) => {
                if import.level > 0 {
                    self.report(Diagnostic::new(
                        Rule::ExternalImport,
                        import.range(),
                        "a playbook is a single file: relative imports have nothing to import; move the code into this file",
                    ));
                } else {
                    let module = import.module.as_ref().map_or("", |m| m.as_str());
                    let top = module.split('.').next().unwrap_or(module);
                    let minor = self.workspace.config.python_version().minor;
                    if top != "riposte"
                        && top != "__future__"
                        && !is_known_standard_library(minor, top)
                    {
                        let range = import.module.as_ref().map_or(import.range(), Ranged::range);
                        self.check_import(module, module, range);
                    } else {
                        for alias in &import.names {
                            let bound = alias.asname.as_ref().unwrap_or(&alias.name).to_string();
                            self.check_import(
                                &format!("{module}.{}", alias.name.as_str()),
                                &bound,
                                alias.range(),
                            );
                        }
                    }
                }
            }
            Stmt::FunctionDef(function) => {
                self.enter_function(function);
                walk_stmt(self, stmt);
                self.ctx_in_scope.pop();
                return;
            }
            Stmt::Assign(assign) => {
                for target in &assign.targets {
                    if let Some(name) = target_name(target) {
                        self.check_named_value(name, &assign.value);
                    }
                }
            }
            Stmt::AnnAssign(assign) => {
                if let (Some(name), Some(value)) =
                    (target_name(&assign.target), assign.value.as_deref())
                {
                    self.check_named_value(name, value);
                }
            }
            _ => {}
        }
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || walk_stmt(self, stmt));
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Call(call) => {
                self.check_call(call);
                for keyword in &call.arguments.keywords {
                    if let Some(arg) = &keyword.arg {
                        self.check_named_value(arg.as_str(), &keyword.value);
                    }
                }
            }
            Expr::Dict(dict) => {
                for item in &dict.items {
                    if let Some(Expr::StringLiteral(key)) = &item.key {
                        self.check_named_value(key.value.to_str(), &item.value);
                    }
                }
            }
            Expr::StringLiteral(literal) => {
                self.check_string(literal.range(), literal.value.to_str())
            }
            Expr::FString(fstring) => {
                if let Some(text) = leading_text(expr) {
                    self.check_string(fstring.range(), &text);
                }
            }
            Expr::Attribute(attribute) => {
                if self.bindings.is_alert(&attribute.value) {
                    let name = attribute.attr.as_str();
                    let alert = sdk::class("Alert").expect("the stub defines Alert");
                    // `alert.` with nothing after it yet is a syntax error already (RP001), not a typo.
                    if !name.is_empty() && alert.member(name).is_none() {
                        let known: Vec<&str> =
                            alert.public_members().map(|m| m.name.as_str()).collect();
                        self.report(Diagnostic::new(
                            Rule::UnknownAlertAttribute,
                            attribute.attr.range(),
                            format!(
                                "`Alert` has no attribute `{name}`: use one of {} (or `alert.raw[...]` for source fields)",
                                known.join(", ")
                            ),
                        ));
                    }
                } else if !self.bindings.is_imported(&attribute.value)
                    || !root_name(&attribute.value)
                        .is_some_and(|r| self.flagged_imports.contains(r))
                {
                    self.check_module_attribute(expr);
                }
            }
            _ => {}
        }
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || walk_expr(self, expr));
    }

    fn visit_except_handler(&mut self, handler: &'a ExceptHandler) {
        self.check_except_handler(handler);
        walk_except_handler(self, handler);
    }
}

impl Checker<'_> {
    /// `urllib.request` reached through `import urllib`: the import was harmless, the use is not.
    fn check_module_attribute(&mut self, expr: &Expr) {
        let Expr::Attribute(attribute) = expr else {
            return;
        };
        if !self.bindings.is_imported(&attribute.value) {
            return;
        }
        let Some(qualified) = self.bindings.qualified_name(expr) else {
            return;
        };
        let Some(parent) = self.bindings.qualified_name(&attribute.value) else {
            return;
        };
        // Report where the dangerous module is first named, not again at each deeper attribute.
        if let Some(network) = network_module(&qualified)
            && network_module(&parent).is_none()
        {
            self.report(Diagnostic::new(
                Rule::DirectNetwork,
                expr.range(),
                format!("`{network}` reaches the network directly; every request goes through an integration: `ctx.integration(\"Name\").get(path)`"),
            ));
        } else if let Some(dangerous) = dangerous_module(&qualified)
            && dangerous_module(&parent).is_none()
        {
            self.report(Diagnostic::new(
                Rule::DangerousCall,
                expr.range(),
                dangerous_message(dangerous),
            ));
        }
    }
}

fn dangerous_message(what: &str) -> String {
    format!(
        "`{what}` can run arbitrary code or processes, which a playbook must not do: express the logic in Python and call services through integrations"
    )
}

fn root_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(name) => Some(name.id.as_str()),
        Expr::Attribute(attribute) => root_name(&attribute.value),
        Expr::Call(call) => root_name(&call.func),
        _ => None,
    }
}

fn target_name(target: &Expr) -> Option<&str> {
    match target {
        Expr::Name(name) => Some(name.id.as_str()),
        Expr::Attribute(attribute) => Some(attribute.attr.as_str()),
        Expr::Subscript(subscript) => match subscript.slice.as_ref() {
            Expr::StringLiteral(key) => Some(key.value.to_str()),
            _ => None,
        },
        _ => None,
    }
}

fn pattern_text(expr: &Expr, source: &SourceFile) -> String {
    let raw = &source.text()[expr.range()];
    raw.trim_start_matches(['f', 'F', 'r', 'R'])
        .trim_matches(['"', '\''])
        .to_string()
}
