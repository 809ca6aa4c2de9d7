//! What the names in a playbook stand for: imported modules, the `run` entry point's alert and
//! context parameters, and integration clients bound to profiles. Flow-insensitive on purpose: a
//! playbook is one small file, and a name rebound to something else is rare enough to ignore.

use std::collections::HashMap;

use ruff_python_ast::visitor::{Visitor, walk_expr, walk_stmt};
use ruff_python_ast::{Expr, ExprCall, ModModule, Stmt, StmtFunctionDef};
use ruff_text_size::{Ranged, TextRange};

use crate::catalog::{HttpMethod, PathPart, PathPattern};

/// The client methods that send a request, by HTTP method.
pub const CLIENT_METHODS: &[(&str, HttpMethod)] = &[
    ("get", HttpMethod::Get),
    ("post", HttpMethod::Post),
    ("put", HttpMethod::Put),
    ("patch", HttpMethod::Patch),
    ("delete", HttpMethod::Delete),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportBinding {
    /// The fully qualified module or member the name stands for (`subprocess`, `os.system`).
    pub qualified: String,
    /// The import statement's alias, for diagnostics that point at the import.
    pub range: TextRange,
}

#[derive(Debug, Default)]
pub struct Bindings {
    pub imports: HashMap<String, ImportBinding>,
    /// Names bound to `ctx.integration("<profile>")`.
    pub clients: HashMap<String, String>,
    pub ctx_names: Vec<String>,
    pub alert_names: Vec<String>,
}

/// `ctx.integration("X")`: the literal profile name and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationRef {
    pub name: String,
    pub range: TextRange,
}

/// A request through an integration client: `vt.get(f"/urls/{id}", params={...})`.
#[derive(Debug, Clone)]
pub struct RequestCall<'a> {
    /// The profile the client is bound to, when the binding is visible.
    pub profile: Option<IntegrationRef>,
    pub method: HttpMethod,
    pub method_range: TextRange,
    pub path: Option<&'a Expr>,
    pub call: &'a ExprCall,
}

impl<'a> RequestCall<'a> {
    pub fn keyword_value(&self, name: &str) -> Option<&'a Expr> {
        self.call.arguments.find_keyword(name).map(|k| &k.value)
    }

    /// The path as a pattern, when it is a string literal or an f-string.
    pub fn path_pattern(&self) -> Option<PathPattern> {
        path_pattern(self.path?)
    }

    /// The literal keys of a `params=`/`json=`/`data=` dict; `None` when the argument is absent;
    /// `Some(None)` when present but not a literal dict (so nothing can be said about it).
    pub fn literal_keys(&self, keyword: &str) -> Option<Option<Vec<String>>> {
        let value = self.keyword_value(keyword)?;
        Some(dict_literal_keys(value))
    }

    /// The AWS Query `Action`, from a literal `params`/`data` dict.
    pub fn aws_action(&self) -> Option<String> {
        ["params", "data"].iter().find_map(|kw| {
            let Expr::Dict(dict) = self.keyword_value(kw)? else {
                return None;
            };
            dict.items
                .iter()
                .find_map(|item| match (&item.key, &item.value) {
                    (Some(Expr::StringLiteral(k)), Expr::StringLiteral(v))
                        if k.value.to_str() == "Action" =>
                    {
                        Some(v.value.to_str().to_string())
                    }
                    _ => None,
                })
        })
    }
}

pub fn dict_literal_keys(value: &Expr) -> Option<Vec<String>> {
    let Expr::Dict(dict) = value else { return None };
    dict.items
        .iter()
        .map(|item| match &item.key {
            Some(Expr::StringLiteral(key)) => Some(key.value.to_str().to_string()),
            _ => None,
        })
        .collect()
}

/// A path literal or f-string as a pattern with holes where values are interpolated.
pub fn path_pattern(expr: &Expr) -> Option<PathPattern> {
    match expr {
        Expr::StringLiteral(literal) => Some(PathPattern::parse_literal(literal.value.to_str())),
        Expr::FString(fstring) => Some(PathPattern::from_parts(&fstring_parts(fstring))),
        _ => None,
    }
}

/// An f-string as text and holes.
pub fn fstring_parts(fstring: &ruff_python_ast::ExprFString) -> Vec<PathPart> {
    use ruff_python_ast::{FStringPart, InterpolatedStringElement};
    let mut parts = Vec::new();
    for part in fstring.value.iter() {
        match part {
            FStringPart::Literal(literal) => parts.push(PathPart::Text(literal.value.to_string())),
            FStringPart::FString(f) => {
                for element in &f.elements {
                    match element {
                        InterpolatedStringElement::Literal(text) => {
                            parts.push(PathPart::Text(text.value.to_string()))
                        }
                        InterpolatedStringElement::Interpolation(_) => parts.push(PathPart::Hole),
                    }
                }
            }
        }
    }
    parts
}

/// The literal text at the start of a string or f-string (what a URL's scheme and host are in).
pub fn leading_text(expr: &Expr) -> Option<String> {
    match expr {
        Expr::StringLiteral(literal) => Some(literal.value.to_str().to_string()),
        Expr::FString(fstring) => {
            let mut text = String::new();
            for part in fstring_parts(fstring) {
                match part {
                    PathPart::Text(t) => text.push_str(&t),
                    PathPart::Hole => break,
                }
            }
            Some(text)
        }
        _ => None,
    }
}

impl Bindings {
    pub fn collect(module: &ModModule) -> Bindings {
        let mut bindings = Bindings {
            ctx_names: vec!["ctx".into()],
            alert_names: vec!["alert".into()],
            ..Bindings::default()
        };
        if let Some(run) = entry_point(module) {
            let positional: Vec<_> = run
                .parameters
                .posonlyargs
                .iter()
                .chain(&run.parameters.args)
                .collect();
            if let Some(alert) = positional.first() {
                push_unique(&mut bindings.alert_names, alert.parameter.name.as_str());
            }
            if let Some(ctx) = positional.get(1) {
                push_unique(&mut bindings.ctx_names, ctx.parameter.name.as_str());
            }
        }
        let mut collector = Collector {
            bindings: &mut bindings,
        };
        collector.visit_body(&module.body);
        bindings
    }

    /// The dotted name an expression refers to, with imports resolved: `sp.run` → `subprocess.run`.
    /// Builtins come back bare (`eval`).
    pub fn qualified_name(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Name(name) => Some(
                self.imports
                    .get(name.id.as_str())
                    .map_or_else(|| name.id.to_string(), |import| import.qualified.clone()),
            ),
            Expr::Attribute(attribute) => {
                let base = self.qualified_name(&attribute.value)?;
                Some(format!("{base}.{}", attribute.attr.as_str()))
            }
            _ => None,
        }
    }

    /// Whether the expression's root name was imported (so its qualified name means a module).
    pub fn is_imported(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Name(name) => self.imports.contains_key(name.id.as_str()),
            Expr::Attribute(attribute) => self.is_imported(&attribute.value),
            _ => false,
        }
    }

    pub fn is_ctx(&self, expr: &Expr) -> bool {
        matches!(expr, Expr::Name(name) if self.ctx_names.iter().any(|n| n == name.id.as_str()))
    }

    pub fn is_alert(&self, expr: &Expr) -> bool {
        matches!(expr, Expr::Name(name) if self.alert_names.iter().any(|n| n == name.id.as_str()))
    }

    /// `ctx.<method>(...)`: the SDK method a call invokes on the context.
    pub fn ctx_method<'e>(&self, call: &'e ExprCall) -> Option<&'e str> {
        let Expr::Attribute(attribute) = call.func.as_ref() else {
            return None;
        };
        self.is_ctx(&attribute.value)
            .then(|| attribute.attr.as_str())
    }

    /// `ctx.integration("X")` with a literal name.
    pub fn integration_ref(&self, call: &ExprCall) -> Option<IntegrationRef> {
        if self.ctx_method(call)? != "integration" {
            return None;
        }
        let arg = call
            .arguments
            .args
            .first()
            .or_else(|| call.arguments.find_keyword("name").map(|k| &k.value))?;
        let Expr::StringLiteral(name) = arg else {
            return None;
        };
        Some(IntegrationRef {
            name: name.value.to_str().to_string(),
            range: name.range(),
        })
    }

    /// A request through an integration client, if this call is one.
    pub fn request_call<'a>(&self, call: &'a ExprCall) -> Option<RequestCall<'a>> {
        let Expr::Attribute(attribute) = call.func.as_ref() else {
            return None;
        };
        let method = CLIENT_METHODS
            .iter()
            .find(|(name, _)| *name == attribute.attr.as_str())?
            .1;
        let profile = match attribute.value.as_ref() {
            Expr::Name(name) => {
                let profile = self.clients.get(name.id.as_str())?;
                // The binding's own range is not known here; point at the client name.
                Some(IntegrationRef {
                    name: profile.clone(),
                    range: name.range(),
                })
            }
            Expr::Call(inner) => Some(self.integration_ref(inner)?),
            _ => return None,
        };
        let path = call
            .arguments
            .args
            .first()
            .or_else(|| call.arguments.find_keyword("path").map(|k| &k.value));
        Some(RequestCall {
            profile,
            method,
            method_range: attribute.attr.range(),
            path,
            call,
        })
    }
}

/// The top-level `def run`, if there is one (the last one wins, as in Python).
pub fn entry_point(module: &ModModule) -> Option<&StmtFunctionDef> {
    module.body.iter().rev().find_map(|stmt| match stmt {
        Stmt::FunctionDef(function) if function.name.as_str() == "run" => Some(function),
        _ => None,
    })
}

fn push_unique(names: &mut Vec<String>, name: &str) {
    if !names.iter().any(|n| n == name) {
        names.push(name.to_string());
    }
}

struct Collector<'b> {
    bindings: &'b mut Bindings,
}

impl Collector<'_> {
    fn visit_body(&mut self, body: &[Stmt]) {
        for stmt in body {
            self.visit_stmt(stmt);
        }
    }
}

impl<'a> Visitor<'a> for Collector<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(import) => {
                for alias in &import.names {
                    let module = alias.name.as_str();
                    let (bound, qualified) = match &alias.asname {
                        Some(asname) => (asname.to_string(), module.to_string()),
                        // `import os.path` binds `os`.
                        None => {
                            let top = module.split('.').next().unwrap_or(module).to_string();
                            (top.clone(), top)
                        }
                    };
                    self.bindings.imports.insert(
                        bound,
                        ImportBinding {
                            qualified,
                            range: alias.range(),
                        },
                    );
                }
            }
            Stmt::ImportFrom(import) if import.level == 0 => {
                let module = import.module.as_ref().map_or("", |m| m.as_str());
                for alias in &import.names {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name).to_string();
                    let qualified = format!("{module}.{}", alias.name.as_str());
                    self.bindings.imports.insert(
                        bound,
                        ImportBinding {
                            qualified,
                            range: alias.range(),
                        },
                    );
                }
            }
            Stmt::FunctionDef(function) => {
                // Helpers commonly take the context and alert under their usual names.
                for param in function
                    .parameters
                    .posonlyargs
                    .iter()
                    .chain(&function.parameters.args)
                {
                    let annotation = param.parameter.annotation.as_deref();
                    let annotated = |class: &str| matches!(annotation, Some(Expr::Name(n)) if n.id.as_str() == class);
                    if annotated("Context") {
                        push_unique(&mut self.bindings.ctx_names, param.parameter.name.as_str());
                    } else if annotated("Alert") {
                        push_unique(
                            &mut self.bindings.alert_names,
                            param.parameter.name.as_str(),
                        );
                    }
                }
            }
            Stmt::Assign(assign) => {
                if let ([Expr::Name(target)], Expr::Call(call)) =
                    (assign.targets.as_slice(), assign.value.as_ref())
                    && let Some(reference) = self.bindings.integration_ref(call)
                {
                    self.bindings
                        .clients
                        .insert(target.id.to_string(), reference.name);
                }
            }
            Stmt::AnnAssign(assign) => {
                if let (Expr::Name(target), Some(Expr::Call(call))) =
                    (assign.target.as_ref(), assign.value.as_deref())
                    && let Some(reference) = self.bindings.integration_ref(call)
                {
                    self.bindings
                        .clients
                        .insert(target.id.to_string(), reference.name);
                }
            }
            _ => {}
        }
        walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Named(named) = expr
            && let (Expr::Name(target), Expr::Call(call)) =
                (named.target.as_ref(), named.value.as_ref())
            && let Some(reference) = self.bindings.integration_ref(call)
        {
            self.bindings
                .clients
                .insert(target.id.to_string(), reference.name);
        }
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || walk_expr(self, expr));
    }
}
