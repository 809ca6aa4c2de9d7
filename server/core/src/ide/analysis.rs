//! What the editor features share: one parse of the playbook, what its names stand for, and which
//! SDK class an expression evaluates to.

use std::collections::HashSet;

use ruff_python_ast::visitor::{Visitor, walk_expr, walk_stmt};
use ruff_python_ast::{Comprehension, Expr, ExprCall, ModModule, Stmt};
use ruff_python_parser::Parsed;
use ruff_text_size::{Ranged, TextRange, TextSize};

use crate::lint::parse_playbook;
use crate::lint::semantic::Bindings;
use crate::sdk::{self, SdkClass};
use crate::source::SourceFile;
use crate::workspace::Workspace;

/// A value of the SDK that a playbook expression evaluates to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SdkValue {
    Alert,
    Context,
    /// An integration client, with the profile it is bound to when that is written literally.
    Client(Option<String>),
    Entity,
    Response,
    Step,
}

impl SdkValue {
    pub(crate) fn class_name(&self) -> &'static str {
        match self {
            SdkValue::Alert => "Alert",
            SdkValue::Context => "Context",
            SdkValue::Client(_) => "Integration",
            SdkValue::Entity => "Entity",
            SdkValue::Response => "Response",
            SdkValue::Step => "Step",
        }
    }

    pub(crate) fn class(&self) -> Option<&'static SdkClass> {
        sdk::class(self.class_name())
    }
}

pub(crate) struct Analysis<'a> {
    pub(crate) source: &'a SourceFile,
    pub(crate) workspace: &'a Workspace,
    parsed: Parsed<ModModule>,
    pub(crate) bindings: Bindings,
    /// Names bound to one piece of evidence (`for url in alert.urls():`).
    entities: HashSet<String>,
    /// Names bound to an integration's answer (`report = vt.get(...)`).
    responses: HashSet<String>,
}

impl<'a> Analysis<'a> {
    /// `None` when the file is nested too deeply to parse safely (RP001 says so).
    pub(crate) fn new(source: &'a SourceFile, workspace: &'a Workspace) -> Option<Self> {
        let parsed = parse_playbook(source.text(), workspace).ok()?;
        let bindings = Bindings::collect(parsed.syntax());
        let mut analysis = Analysis {
            source,
            workspace,
            parsed,
            bindings,
            entities: HashSet::new(),
            responses: HashSet::new(),
        };
        let mut locals = Locals {
            analysis: &analysis,
            entities: HashSet::new(),
            responses: HashSet::new(),
        };
        for stmt in &analysis.module().body {
            locals.visit_stmt(stmt);
        }
        let (entities, responses) = (locals.entities, locals.responses);
        analysis.entities = entities;
        analysis.responses = responses;
        Some(analysis)
    }

    pub(crate) fn module(&self) -> &ModModule {
        self.parsed.syntax()
    }

    pub(crate) fn tokens(&self) -> &ruff_python_ast::token::Tokens {
        self.parsed.tokens()
    }

    pub(crate) fn text(&self) -> &'a str {
        self.source.text()
    }

    /// The SDK value an expression evaluates to, as far as a flow-insensitive look can tell.
    pub(crate) fn value_of(&self, expr: &Expr) -> Option<SdkValue> {
        match expr {
            Expr::Name(name) => self.value_of_name(name.id.as_str()),
            Expr::Call(call) => self.value_of_call(call),
            Expr::Subscript(subscript) => match subscript.value.as_ref() {
                Expr::Call(call) if self.returns_entities(call) => Some(SdkValue::Entity),
                _ => None,
            },
            _ => None,
        }
    }

    /// What a bare name stands for.
    pub(crate) fn value_of_name(&self, id: &str) -> Option<SdkValue> {
        if self.bindings.alert_names.iter().any(|n| n == id) {
            Some(SdkValue::Alert)
        } else if self.bindings.ctx_names.iter().any(|n| n == id) {
            Some(SdkValue::Context)
        } else if let Some(profile) = self.bindings.clients.get(id) {
            Some(SdkValue::Client(Some(profile.clone())))
        } else if self.entities.contains(id) {
            Some(SdkValue::Entity)
        } else if self.responses.contains(id) {
            Some(SdkValue::Response)
        } else {
            None
        }
    }

    fn value_of_call(&self, call: &ExprCall) -> Option<SdkValue> {
        if let Some(reference) = self.bindings.integration_ref(call) {
            return Some(SdkValue::Client(Some(reference.name)));
        }
        match self.bindings.ctx_method(call) {
            Some("integration") => return Some(SdkValue::Client(None)),
            Some("step") => return Some(SdkValue::Step),
            _ => {}
        }
        let Expr::Attribute(attribute) = call.func.as_ref() else {
            return None;
        };
        match self.value_of(&attribute.value)? {
            SdkValue::Client(_) if is_request_method(attribute.attr.as_str()) => {
                Some(SdkValue::Response)
            }
            _ => None,
        }
    }

    /// `alert.urls()`, `alert.entities("ip")`: a call that returns a list of evidence.
    pub(crate) fn returns_entities(&self, call: &ExprCall) -> bool {
        let Expr::Attribute(attribute) = call.func.as_ref() else {
            return false;
        };
        self.bindings.is_alert(&attribute.value) && is_entity_list_method(attribute.attr.as_str())
    }

    /// The innermost enclosing function's context parameter at `offset`, if it has one.
    pub(crate) fn ctx_name_at(&self, offset: TextSize) -> Option<String> {
        fn search(body: &[Stmt], offset: TextSize, names: &[String]) -> Option<Option<String>> {
            for stmt in body {
                if !stmt.range().contains_inclusive(offset) {
                    continue;
                }
                let inner = match stmt {
                    Stmt::FunctionDef(function) => {
                        let own = function
                            .parameters
                            .iter_non_variadic_params()
                            .map(|p| p.parameter.name.as_str())
                            .find(|name| names.iter().any(|n| n == name))
                            .map(str::to_string);
                        Some(search(&function.body, offset, names).unwrap_or(own))
                    }
                    Stmt::ClassDef(class) => search(&class.body, offset, names),
                    Stmt::If(stmt) => search(&stmt.body, offset, names).or_else(|| {
                        stmt.elif_else_clauses
                            .iter()
                            .find_map(|clause| search(&clause.body, offset, names))
                    }),
                    Stmt::For(stmt) => search(&stmt.body, offset, names)
                        .or_else(|| search(&stmt.orelse, offset, names)),
                    Stmt::While(stmt) => search(&stmt.body, offset, names)
                        .or_else(|| search(&stmt.orelse, offset, names)),
                    Stmt::With(stmt) => search(&stmt.body, offset, names),
                    Stmt::Try(stmt) => search(&stmt.body, offset, names)
                        .or_else(|| {
                            stmt.handlers.iter().find_map(|handler| {
                                let ruff_python_ast::ExceptHandler::ExceptHandler(handler) =
                                    handler;
                                search(&handler.body, offset, names)
                            })
                        })
                        .or_else(|| search(&stmt.orelse, offset, names))
                        .or_else(|| search(&stmt.finalbody, offset, names)),
                    Stmt::Match(stmt) => stmt
                        .cases
                        .iter()
                        .find_map(|case| search(&case.body, offset, names)),
                    _ => None,
                };
                if inner.is_some() {
                    return inner;
                }
            }
            None
        }
        search(&self.module().body, offset, &self.bindings.ctx_names).flatten()
    }
}

pub(crate) fn is_request_method(name: &str) -> bool {
    crate::lint::semantic::CLIENT_METHODS
        .iter()
        .any(|(method, _)| *method == name)
}

/// The `Alert` methods that return evidence lists (`entities`, `users`, `urls`, …), from the stub.
pub(crate) fn is_entity_list_method(name: &str) -> bool {
    sdk::class("Alert")
        .and_then(|alert| alert.member(name))
        .is_some_and(|member| member.signature.contains("list[Entity]"))
}

/// Collects names bound to evidence and to responses.
struct Locals<'a, 'b> {
    analysis: &'b Analysis<'a>,
    entities: HashSet<String>,
    responses: HashSet<String>,
}

impl Locals<'_, '_> {
    fn bind(&mut self, target: &Expr, value: &Expr, iterated: bool) {
        let Expr::Name(name) = target else {
            return;
        };
        let id = name.id.to_string();
        if iterated {
            if let Expr::Call(call) = value
                && self.analysis.returns_entities(call)
            {
                self.entities.insert(id);
            }
            return;
        }
        match self.analysis.value_of(value) {
            Some(SdkValue::Entity) => {
                self.entities.insert(id);
            }
            Some(SdkValue::Response) => {
                self.responses.insert(id);
            }
            _ => {}
        }
    }
}

impl<'x> Visitor<'x> for Locals<'_, '_> {
    fn visit_stmt(&mut self, stmt: &'x Stmt) {
        match stmt {
            Stmt::For(stmt) => self.bind(&stmt.target, &stmt.iter, true),
            Stmt::Assign(assign) => {
                if let [target] = assign.targets.as_slice() {
                    self.bind(target, &assign.value, false);
                }
            }
            Stmt::AnnAssign(assign) => {
                if let Some(value) = &assign.value {
                    self.bind(&assign.target, value, false);
                }
            }
            _ => {}
        }
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || walk_stmt(self, stmt));
    }

    fn visit_comprehension(&mut self, comprehension: &'x Comprehension) {
        self.bind(&comprehension.target, &comprehension.iter, true);
        ruff_python_ast::visitor::walk_comprehension(self, comprehension);
    }

    fn visit_expr(&mut self, expr: &'x Expr) {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || walk_expr(self, expr));
    }
}

/// What is under an offset: the innermost call chain, attribute, name and string around it.
#[derive(Default)]
pub(crate) struct NodesAt<'a> {
    /// Calls whose range holds the offset, outermost first.
    pub(crate) calls: Vec<&'a ExprCall>,
    /// The innermost attribute access whose member name holds the offset.
    pub(crate) attribute: Option<&'a ruff_python_ast::ExprAttribute>,
    pub(crate) name: Option<&'a ruff_python_ast::ExprName>,
    /// The innermost string or f-string holding the offset.
    pub(crate) string: Option<&'a Expr>,
}

impl<'a> NodesAt<'a> {
    pub(crate) fn find(module: &'a ModModule, offset: TextSize) -> Self {
        let mut finder = Finder {
            offset,
            found: NodesAt::default(),
        };
        for stmt in &module.body {
            finder.visit_stmt(stmt);
        }
        finder.found
    }

    /// The string under the offset, unless the offset is on code inside it (an f-string field).
    pub(crate) fn string_itself(&self) -> Option<&'a Expr> {
        let string = self.string?;
        let inner_name = self
            .name
            .is_some_and(|n| string.range().contains_range(n.range()));
        let inner_attribute = self
            .attribute
            .is_some_and(|a| string.range().contains_range(a.range()));
        (!inner_name && !inner_attribute).then_some(string)
    }

    /// The innermost call whose first positional argument (or keyword `keyword`) is `expr`.
    pub(crate) fn call_with_argument(
        &self,
        expr: &Expr,
        keywords: &[&str],
    ) -> Option<&'a ExprCall> {
        self.calls.iter().rev().copied().find(|call| {
            call.arguments.args.first().map(Ranged::range) == Some(expr.range())
                || keywords.iter().any(|keyword| {
                    call.arguments
                        .find_keyword(keyword)
                        .map(|k| k.value.range())
                        == Some(expr.range())
                })
        })
    }
}

struct Finder<'a> {
    offset: TextSize,
    found: NodesAt<'a>,
}

impl<'a> Visitor<'a> for Finder<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if stmt.range().contains_inclusive(self.offset) {
            stacker::maybe_grow(64 * 1024, 1024 * 1024, || walk_stmt(self, stmt));
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if !expr.range().contains_inclusive(self.offset) {
            return;
        }
        match expr {
            Expr::Call(call) => self.found.calls.push(call),
            Expr::Attribute(attribute)
                if attribute.attr.range().contains_inclusive(self.offset) =>
            {
                self.found.attribute = Some(attribute);
            }
            Expr::Name(name) => self.found.name = Some(name),
            Expr::StringLiteral(_) | Expr::FString(_) => self.found.string = Some(expr),
            _ => {}
        }
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || walk_expr(self, expr));
    }
}

/// The text of a single-part string literal between its quotes, with the range of that text,
/// when the source spells it out plainly (no escapes, no implicit concatenation).
pub(crate) fn literal_content(text: &str, expr: &Expr) -> Option<(String, TextRange)> {
    let Expr::StringLiteral(literal) = expr else {
        return None;
    };
    if literal.value.is_implicit_concatenated() {
        return None;
    }
    let raw = &text[literal.range()];
    let prefix = raw.find(['"', '\'']).unwrap_or(0);
    let quotes = if raw[prefix..].starts_with("\"\"\"") || raw[prefix..].starts_with("'''") {
        3
    } else {
        1
    };
    let start = prefix + quotes;
    let end = raw.len().checked_sub(quotes)?;
    if end < start {
        return None;
    }
    let content = &raw[start..end];
    if content.contains('\\') {
        return None;
    }
    let range = TextRange::new(
        literal.range().start() + TextSize::try_from(start).ok()?,
        literal.range().start() + TextSize::try_from(end).ok()?,
    );
    Some((content.to_string(), range))
}
