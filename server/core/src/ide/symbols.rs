//! Document symbols: functions and classes (nested), module constants, integration clients and
//! `with ctx.step("…")` steps, the outline a playbook author navigates by.

use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};
use serde::Serialize;

use super::analysis::{Analysis, literal_content};
use crate::source::SourceFile;
use crate::workspace::Workspace;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentSymbol {
    pub name: String,
    pub detail: Option<String>,
    pub kind: SymbolKind,
    /// The whole definition.
    pub range: TextRange,
    /// The name, to select.
    pub selection: TextRange,
    pub children: Vec<DocumentSymbol>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SymbolKind {
    Function,
    Method,
    Class,
    Constant,
    Variable,
    /// A name bound to `ctx.integration("…")`.
    Integration,
    /// A `with ctx.step("…")` block.
    Step,
}

pub fn document_symbols(source: &SourceFile, workspace: &Workspace) -> Vec<DocumentSymbol> {
    let Some(analysis) = Analysis::new(source, workspace) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    collect(&analysis, &analysis.module().body, Scope::Module, &mut out);
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Module,
    Class,
    Function,
}

fn collect(analysis: &Analysis, body: &[Stmt], scope: Scope, out: &mut Vec<DocumentSymbol>) {
    for stmt in body {
        match stmt {
            Stmt::FunctionDef(function) => {
                let mut children = Vec::new();
                collect(analysis, &function.body, Scope::Function, &mut children);
                let header_end = function
                    .body
                    .first()
                    .map_or(function.range().end(), |b| b.range().start());
                let header =
                    &analysis.text()[TextRange::new(function.name.range().end(), header_end)];
                let parameters = header.split(':').next().unwrap_or_default();
                out.push(DocumentSymbol {
                    name: function.name.to_string(),
                    detail: Some(
                        format!("def {}{}", function.name, parameters.trim_end())
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" "),
                    ),
                    kind: if scope == Scope::Class {
                        SymbolKind::Method
                    } else {
                        SymbolKind::Function
                    },
                    range: function.range(),
                    selection: function.name.range(),
                    children,
                });
            }
            Stmt::ClassDef(class) => {
                let mut children = Vec::new();
                collect(analysis, &class.body, Scope::Class, &mut children);
                out.push(DocumentSymbol {
                    name: class.name.to_string(),
                    detail: None,
                    kind: SymbolKind::Class,
                    range: class.range(),
                    selection: class.name.range(),
                    children,
                });
            }
            Stmt::Assign(assign) => {
                if let ([Expr::Name(target)], value) =
                    (assign.targets.as_slice(), assign.value.as_ref())
                {
                    push_binding(analysis, target, value, stmt.range(), scope, out);
                }
            }
            Stmt::AnnAssign(assign) => {
                if let (Expr::Name(target), Some(value)) =
                    (assign.target.as_ref(), assign.value.as_deref())
                {
                    push_binding(analysis, target, value, stmt.range(), scope, out);
                }
            }
            Stmt::With(with) => {
                let mut children = Vec::new();
                collect(analysis, &with.body, scope, &mut children);
                let step = with.items.iter().find_map(|item| {
                    let Expr::Call(call) = &item.context_expr else {
                        return None;
                    };
                    (analysis.bindings.ctx_method(call) == Some("step")).then_some(call)
                });
                match step {
                    Some(call) => {
                        let name = call.arguments.args.first().map_or_else(
                            || "step".to_string(),
                            |arg| {
                                literal_content(analysis.text(), arg).map_or_else(
                                    || analysis.text()[arg.range()].to_string(),
                                    |(content, _)| content,
                                )
                            },
                        );
                        out.push(DocumentSymbol {
                            name,
                            detail: Some("step".to_string()),
                            kind: SymbolKind::Step,
                            range: with.range(),
                            selection: call.range(),
                            children,
                        });
                    }
                    None => out.extend(children),
                }
            }
            Stmt::If(stmt) => {
                collect(analysis, &stmt.body, scope, out);
                for clause in &stmt.elif_else_clauses {
                    collect(analysis, &clause.body, scope, out);
                }
            }
            Stmt::For(stmt) => {
                collect(analysis, &stmt.body, scope, out);
                collect(analysis, &stmt.orelse, scope, out);
            }
            Stmt::While(stmt) => {
                collect(analysis, &stmt.body, scope, out);
                collect(analysis, &stmt.orelse, scope, out);
            }
            Stmt::Try(stmt) => {
                collect(analysis, &stmt.body, scope, out);
                for handler in &stmt.handlers {
                    let ruff_python_ast::ExceptHandler::ExceptHandler(handler) = handler;
                    collect(analysis, &handler.body, scope, out);
                }
                collect(analysis, &stmt.orelse, scope, out);
                collect(analysis, &stmt.finalbody, scope, out);
            }
            _ => {}
        }
    }
}

fn push_binding(
    analysis: &Analysis,
    target: &ruff_python_ast::ExprName,
    value: &Expr,
    range: TextRange,
    scope: Scope,
    out: &mut Vec<DocumentSymbol>,
) {
    let integration = match value {
        Expr::Call(call) => analysis.bindings.integration_ref(call),
        _ => None,
    };
    let (kind, detail) = match integration {
        Some(reference) => (
            SymbolKind::Integration,
            Some(format!("integration \"{}\"", reference.name)),
        ),
        // Inside functions only integration clients are worth an outline entry.
        None if scope == Scope::Function => return,
        None if target
            .id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') =>
        {
            (SymbolKind::Constant, None)
        }
        None => (SymbolKind::Variable, None),
    };
    out.push(DocumentSymbol {
        name: target.id.to_string(),
        detail,
        kind,
        range,
        selection: target.range(),
        children: Vec::new(),
    });
}
