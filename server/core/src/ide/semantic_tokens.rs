//! Semantic tokens for what only Riposte knows: integration names (the profile in
//! `ctx.integration("…")` and the clients bound to one) and SDK calls and attributes.

use ruff_python_ast::visitor::{Visitor, walk_expr, walk_stmt};
use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};
use serde::Serialize;

use super::analysis::{Analysis, literal_content};
use crate::sdk::MemberKind;
use crate::source::SourceFile;
use crate::workspace::Workspace;

/// The token types, in legend order (the LSP legend is built from this list).
pub const TOKEN_TYPES: &[&str] = &["namespace", "method", "property", "variable"];
/// The token modifiers, in legend order (bit `1 << index`).
pub const TOKEN_MODIFIERS: &[&str] = &["defaultLibrary"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenType {
    /// A profile name: the literal in `ctx.integration("…")`.
    Namespace = 0,
    /// An SDK method called on an SDK value (`ctx.log`, `alert.urls`, `vt.get`).
    Method = 1,
    /// An SDK attribute (`alert.severity`, `response.status`).
    Property = 2,
    /// A name bound to an integration client.
    Variable = 3,
}

/// `defaultLibrary`: the member belongs to the Riposte SDK.
pub const MODIFIER_DEFAULT_LIBRARY: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemanticToken {
    /// On one line.
    pub range: TextRange,
    pub token_type: TokenType,
    pub modifiers: u32,
}

/// The tokens, sorted by position and not overlapping.
pub fn semantic_tokens(source: &SourceFile, workspace: &Workspace) -> Vec<SemanticToken> {
    let Some(analysis) = Analysis::new(source, workspace) else {
        return Vec::new();
    };
    let mut collector = Collector {
        analysis: &analysis,
        tokens: Vec::new(),
    };
    for stmt in &analysis.module().body {
        collector.visit_stmt(stmt);
    }
    let mut tokens = collector.tokens;
    tokens.sort_by_key(|token| (token.range.start(), token.range.end()));
    let mut out: Vec<SemanticToken> = Vec::with_capacity(tokens.len());
    for token in tokens {
        let text = &source.text()[token.range];
        if token.range.is_empty() || text.contains('\n') {
            continue;
        }
        if out
            .last()
            .is_some_and(|last| last.range.end() > token.range.start())
        {
            continue;
        }
        out.push(token);
    }
    out
}

struct Collector<'a, 'b> {
    analysis: &'b Analysis<'a>,
    tokens: Vec<SemanticToken>,
}

impl<'x> Visitor<'x> for Collector<'_, '_> {
    fn visit_stmt(&mut self, stmt: &'x Stmt) {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || walk_stmt(self, stmt));
    }

    fn visit_expr(&mut self, expr: &'x Expr) {
        match expr {
            Expr::Call(call) => {
                if let Some(reference) = self.analysis.bindings.integration_ref(call)
                    && let Some(arg) = call
                        .arguments
                        .args
                        .first()
                        .filter(|arg| arg.range() == reference.range)
                        .or_else(|| call.arguments.find_keyword("name").map(|k| &k.value))
                    && let Some((_, content)) = literal_content(self.analysis.text(), arg)
                {
                    self.tokens.push(SemanticToken {
                        range: content,
                        token_type: TokenType::Namespace,
                        modifiers: 0,
                    });
                }
            }
            Expr::Attribute(attribute) => {
                if let Some(value) = self.analysis.value_of(&attribute.value)
                    && let Some(member) = value
                        .class()
                        .and_then(|class| class.member(attribute.attr.as_str()))
                {
                    self.tokens.push(SemanticToken {
                        range: attribute.attr.range(),
                        token_type: match member.kind {
                            MemberKind::Method => TokenType::Method,
                            MemberKind::Attribute => TokenType::Property,
                        },
                        modifiers: MODIFIER_DEFAULT_LIBRARY,
                    });
                }
            }
            Expr::Name(name)
                if self
                    .analysis
                    .bindings
                    .clients
                    .contains_key(name.id.as_str()) =>
            {
                self.tokens.push(SemanticToken {
                    range: name.range(),
                    token_type: TokenType::Variable,
                    modifiers: 0,
                });
            }
            _ => {}
        }
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || walk_expr(self, expr));
    }
}
