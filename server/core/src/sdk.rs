//! The playbook SDK's surface, read from `riposte.pyi` itself so that the stub, the checks, the
//! completions and the hovers cannot disagree.

use std::sync::LazyLock;

use ruff_python_ast::{Expr, Stmt};
use ruff_python_parser::parse_module;
use ruff_text_size::Ranged;

/// The SDK stub that playbooks are written against.
pub const RIPOSTE_PYI: &str = include_str!("../sdk/riposte.pyi");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkClass {
    pub name: String,
    pub doc: String,
    pub members: Vec<SdkMember>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkMember {
    pub name: String,
    pub kind: MemberKind,
    /// `name: type` for attributes, `name(params) -> type` for methods, as written in the stub.
    pub signature: String,
    pub doc: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    Attribute,
    Method,
}

static CLASSES: LazyLock<Vec<SdkClass>> = LazyLock::new(|| read_stub(RIPOSTE_PYI));

/// Every public class of the stub (`Alert`, `Entity`, `Context`, `Integration`, `Response`, …).
pub fn classes() -> &'static [SdkClass] {
    &CLASSES
}

pub fn class(name: &str) -> Option<&'static SdkClass> {
    CLASSES.iter().find(|c| c.name == name)
}

impl SdkClass {
    pub fn member(&self, name: &str) -> Option<&SdkMember> {
        self.members.iter().find(|m| m.name == name)
    }

    /// Public members (dunder methods are plumbing, not API).
    pub fn public_members(&self) -> impl Iterator<Item = &SdkMember> {
        self.members.iter().filter(|m| !m.name.starts_with('_'))
    }
}

fn read_stub(text: &str) -> Vec<SdkClass> {
    let parsed = parse_module(text).expect("riposte.pyi is valid Python");
    let mut classes = Vec::new();
    for stmt in parsed.suite() {
        let Stmt::ClassDef(class) = stmt else {
            continue;
        };
        let mut members = Vec::new();
        let mut pending: Option<SdkMember> = None;
        for item in &class.body {
            match item {
                Stmt::AnnAssign(assign) => {
                    members.extend(pending.take());
                    if let Expr::Name(target) = assign.target.as_ref() {
                        pending = Some(SdkMember {
                            name: target.id.to_string(),
                            kind: MemberKind::Attribute,
                            signature: text[assign.range()].to_string(),
                            doc: String::new(),
                        });
                    }
                }
                Stmt::Expr(expr) => {
                    // An attribute's docstring is the string right after it.
                    if let (Some(member), Expr::StringLiteral(doc)) =
                        (pending.as_mut(), expr.value.as_ref())
                    {
                        member.doc = doc.value.to_str().to_string();
                        members.extend(pending.take());
                    }
                }
                Stmt::FunctionDef(function) => {
                    members.extend(pending.take());
                    let header_end = function
                        .body
                        .first()
                        .map_or(function.range().end(), |b| b.range().start());
                    let header = text
                        [ruff_text_size::TextRange::new(function.name.range().start(), header_end)]
                    .trim_end()
                    .trim_end_matches(':')
                    .trim()
                    .to_string();
                    members.push(SdkMember {
                        name: function.name.to_string(),
                        kind: MemberKind::Method,
                        signature: header.split_whitespace().collect::<Vec<_>>().join(" "),
                        doc: docstring(&function.body).unwrap_or_default(),
                    });
                }
                _ => members.extend(pending.take()),
            }
        }
        members.extend(pending.take());
        classes.push(SdkClass {
            name: class.name.to_string(),
            doc: docstring(&class.body).unwrap_or_default(),
            members,
        });
    }
    classes
}

/// The docstring of a body: its first statement when that is a string literal.
pub fn docstring(body: &[Stmt]) -> Option<String> {
    let Some(Stmt::Expr(first)) = body.first() else {
        return None;
    };
    let Expr::StringLiteral(doc) = first.value.as_ref() else {
        return None;
    };
    Some(doc.value.to_str().trim().to_string())
}
