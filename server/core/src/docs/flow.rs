//! The flow diagram: a Mermaid `flowchart TD` drawn from `run`'s body.
//!
//! What is drawn (everything else is a plain statement, and plain statements are not drawn):
//! - the start (`run(alert, ctx)`), and every way out: `return` (grey), `raise` (red), and the end
//!   of `run` when it can be reached;
//! - integration requests (`GET /urls/{…} (VirusTotal)`; blue for reads, red for requests that
//!   change data), `ctx.comment` and `ctx.update_alert` (slanted boxes);
//! - `if`/`elif`/`else` and `match` as decisions with labelled edges, `for`/`while` as loop nodes
//!   with a back edge and a `done` exit, `continue` and `break` as edges to the loop and past it;
//! - `try` as a node with a dotted `on error` edge to each handler;
//! - `with ctx.step("X")` as a subgraph titled `X`.
//!
//! A compound statement with nothing drawable inside (a loop that only builds a list, an `if`
//! that only logs) is plain too: the diagram shows what the playbook does to the world and how it
//! decides, not every computation.
//!
//! Calls to the file's own top-level functions are followed: the helper's body is drawn in place,
//! at each call (a helper called twice is drawn twice, since what follows each call differs), and
//! a `return` inside it continues after the call. A helper that is already being drawn (recursion)
//! or that is nested deeper than [`MAX_HELPER_DEPTH`] is a single `name()` node instead, and a
//! helper with nothing drawable inside is a plain call. The diagram stops at [`MAX_NODES`] nodes:
//! the last one says how many more steps there are.
//!
//! Node ids are `n1`, `n2`, … in the order the walk meets them (source order, helpers at their
//! call), subgraph ids `s1`, `s2`, …; the same file always gives the same text.

use std::collections::{HashMap, HashSet};

use ruff_python_ast::visitor::{Visitor, walk_expr, walk_stmt};
use ruff_python_ast::{
    ElifElseClause, ExceptHandler, Expr, ExprCall, ModModule, Stmt, StmtFor, StmtFunctionDef,
    StmtIf, StmtMatch, StmtTry, StmtWhile, StmtWith,
};
use ruff_text_size::{Ranged, TextSize};

use super::facts::describe_request;
use super::text::{LABEL_CHARS, StringValues, mermaid_escape, shorten, source, spoken_text};
use crate::lint::semantic::{Bindings, RequestCall, entry_point};
use crate::workspace::Workspace;

/// At most this many nodes; the last one stands for the steps left out.
pub const MAX_NODES: usize = 200;
/// Helpers calling helpers are followed this deep.
pub const MAX_HELPER_DEPTH: usize = 8;

/// The diagram of `run`, or `None` when the file has no top-level `def run`.
pub fn flowchart(
    module: &ModModule,
    text: &str,
    bindings: &Bindings,
    strings: &StringValues<'_>,
    workspace: &Workspace,
) -> Option<Flowchart> {
    let run = entry_point(module)?;
    let helpers = Helpers::new(module, bindings);
    let mut builder = Builder {
        text,
        bindings,
        strings,
        workspace,
        helpers: &helpers,
        flow: Flow::default(),
        group_stack: Vec::new(),
        loops: Vec::new(),
        frames: Vec::new(),
        more: None,
        omitted: 0,
        draws_memo: HashMap::new(),
    };
    let params: Vec<&str> = run
        .parameters
        .posonlyargs
        .iter()
        .chain(&run.parameters.args)
        .map(|p| p.parameter.name.as_str())
        .collect();
    let start = builder.node(Shape::Start, format!("run({})", params.join(", ")), None);
    let exits = builder.body(&run.body, vec![Exit::plain(start)]);
    if !exits.is_empty() {
        let end = builder.node(Shape::End, "end of run".to_string(), Some(Class::Finish));
        builder.connect(exits, end);
    }
    let omitted = builder.omitted;
    if let Some(more) = builder.more {
        builder.flow.nodes[more].label = format!("… {omitted} more steps");
    }
    Some(Flowchart {
        text: builder.flow.render(),
        nodes: builder.flow.nodes.len(),
        omitted,
    })
}

/// A rendered diagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flowchart {
    /// Mermaid source, starting with `flowchart TD`, without the Markdown fence.
    pub text: String,
    /// Nodes drawn, the "… more steps" node included.
    pub nodes: usize,
    /// Steps left out past [`MAX_NODES`] (0 when everything is drawn).
    pub omitted: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Start,
    End,
    Decision,
    Loop,
    Box,
    AlertChange,
    Step,
    Subroutine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Class {
    Request,
    Mutating,
    AlertChange,
    Finish,
    Failure,
}

impl Class {
    const ALL: [Class; 5] = [
        Class::Request,
        Class::Mutating,
        Class::AlertChange,
        Class::Finish,
        Class::Failure,
    ];

    fn name(self) -> &'static str {
        match self {
            Class::Request => "request",
            Class::Mutating => "mutating",
            Class::AlertChange => "alertchange",
            Class::Finish => "finish",
            Class::Failure => "failure",
        }
    }

    fn style(self) -> &'static str {
        match self {
            Class::Request => "fill:#e8f1fb,stroke:#2f6fb0",
            Class::Mutating => "fill:#fde8e6,stroke:#c0392b,stroke-width:2px",
            Class::AlertChange => "fill:#fff4d6,stroke:#b7791f",
            Class::Finish => "fill:#eeeeee,stroke:#666666",
            Class::Failure => "fill:#fde8e6,stroke:#c0392b",
        }
    }
}

#[derive(Debug)]
struct Node {
    shape: Shape,
    label: String,
    class: Option<Class>,
}

#[derive(Debug, PartialEq, Eq)]
struct Edge {
    from: usize,
    to: usize,
    label: Option<String>,
    dotted: bool,
}

#[derive(Debug)]
struct Group {
    title: String,
    items: Vec<Item>,
}

#[derive(Debug, Clone, Copy)]
enum Item {
    Node(usize),
    Group(usize),
}

#[derive(Debug, Default)]
struct Flow {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    groups: Vec<Group>,
    root: Vec<Item>,
}

impl Flow {
    fn render(&self) -> String {
        let mut out = String::from("flowchart TD\n");
        let mut subgraphs = 0;
        self.render_items(&self.root, 1, &mut out, &mut subgraphs);
        for edge in &self.edges {
            let arrow = if edge.dotted { "-.->" } else { "-->" };
            match &edge.label {
                Some(label) => out.push_str(&format!(
                    "    n{} {arrow}|{}| n{}\n",
                    edge.from + 1,
                    edge_label(label),
                    edge.to + 1
                )),
                None => out.push_str(&format!(
                    "    n{} {arrow} n{}\n",
                    edge.from + 1,
                    edge.to + 1
                )),
            }
        }
        for class in Class::ALL {
            let members: Vec<String> = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, node)| node.class == Some(class))
                .map(|(id, _)| format!("n{}", id + 1))
                .collect();
            if !members.is_empty() {
                out.push_str(&format!(
                    "    classDef {} {}\n",
                    class.name(),
                    class.style()
                ));
                out.push_str(&format!(
                    "    class {} {}\n",
                    members.join(","),
                    class.name()
                ));
            }
        }
        out
    }

    fn render_items(&self, items: &[Item], depth: usize, out: &mut String, subgraphs: &mut usize) {
        let indent = "    ".repeat(depth);
        for item in items {
            match *item {
                Item::Node(id) => {
                    let node = &self.nodes[id];
                    let (open, close) = match node.shape {
                        Shape::Start | Shape::End => ("([\"", "\"])"),
                        Shape::Decision => ("{\"", "\"}"),
                        Shape::Loop => ("{{\"", "\"}}"),
                        Shape::Box => ("[\"", "\"]"),
                        Shape::AlertChange => ("[/\"", "\"/]"),
                        Shape::Step => ("(\"", "\")"),
                        Shape::Subroutine => ("[[\"", "\"]]"),
                    };
                    out.push_str(&format!(
                        "{indent}n{}{open}{}{close}\n",
                        id + 1,
                        mermaid_escape(&node.label)
                    ));
                }
                Item::Group(group) => {
                    if !self.group_has_nodes(group) {
                        continue;
                    }
                    *subgraphs += 1;
                    let title = mermaid_escape(&self.groups[group].title);
                    out.push_str(&format!("{indent}subgraph s{subgraphs}[\"{title}\"]\n"));
                    self.render_items(&self.groups[group].items, depth + 1, out, subgraphs);
                    out.push_str(&format!("{indent}end\n"));
                }
            }
        }
    }

    fn group_has_nodes(&self, group: usize) -> bool {
        self.groups[group].items.iter().any(|item| match *item {
            Item::Node(_) => true,
            Item::Group(inner) => self.group_has_nodes(inner),
        })
    }
}

/// An edge label: plain words as they are, anything else quoted and escaped.
fn edge_label(label: &str) -> String {
    if !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ') {
        label.to_string()
    } else {
        format!("\"{}\"", mermaid_escape(label))
    }
}

/// A loose end of the diagram drawn so far: the next node drawn gets an edge from it.
#[derive(Debug, Clone)]
struct Exit {
    from: usize,
    label: Option<String>,
    dotted: bool,
}

impl Exit {
    fn plain(from: usize) -> Self {
        Exit {
            from,
            label: None,
            dotted: false,
        }
    }

    fn labelled(from: usize, label: impl Into<String>) -> Self {
        Exit {
            from,
            label: Some(label.into()),
            dotted: false,
        }
    }

    /// `continue` after a `yes` edge reads `yes, continue`.
    fn jump(mut self, jump: &str) -> Self {
        self.label = Some(match self.label {
            Some(label) => format!("{label}, {jump}"),
            None => jump.to_string(),
        });
        self
    }
}

/// What a call does, when the diagram cares.
enum Event<'a> {
    Request(RequestCall<'a>),
    Comment(&'a ExprCall),
    UpdateAlert(&'a ExprCall),
    Helper(&'a str),
}

fn classify<'a>(
    call: &'a ExprCall,
    bindings: &Bindings,
    helpers: &HashMap<&'a str, &'a StmtFunctionDef>,
) -> Option<Event<'a>> {
    if let Some(request) = bindings.request_call(call) {
        return Some(Event::Request(request));
    }
    match bindings.ctx_method(call) {
        Some("comment") => return Some(Event::Comment(call)),
        Some("update_alert") => return Some(Event::UpdateAlert(call)),
        _ => {}
    }
    if let Expr::Name(name) = call.func.as_ref()
        && let Some((&helper, _)) = helpers.get_key_value(name.id.as_str())
    {
        return Some(Event::Helper(helper));
    }
    None
}

/// The calls of an expression that the diagram cares about, in the order they run (arguments
/// before the call they are passed to). Lambdas are not run where they are written: skipped.
struct EventScan<'a, 'b> {
    bindings: &'b Bindings,
    helpers: &'b HashMap<&'a str, &'a StmtFunctionDef>,
    events: Vec<Event<'a>>,
}

impl<'a> Visitor<'a> for EventScan<'a, '_> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Lambda(_) => {}
            Expr::Call(call) => {
                stacker::maybe_grow(64 * 1024, 1024 * 1024, || walk_expr(self, expr));
                if let Some(event) = classify(call, self.bindings, self.helpers) {
                    self.events.push(event);
                }
            }
            _ => stacker::maybe_grow(64 * 1024, 1024 * 1024, || walk_expr(self, expr)),
        }
    }

    // Only the expressions of the statement itself: nested bodies are walked by the builder.
    fn visit_stmt(&mut self, _: &'a Stmt) {}
}

/// The file's top-level functions (but `run`), and which of them draw anything.
struct Helpers<'a> {
    defs: HashMap<&'a str, &'a StmtFunctionDef>,
    significant: HashSet<&'a str>,
    weights: HashMap<&'a str, u64>,
}

/// What one helper's body holds, before following its calls.
#[derive(Default)]
struct HelperScan<'a> {
    /// Nodes of its own: requests, comments, alert updates, steps, raises.
    direct: u64,
    calls: Vec<&'a str>,
}

struct HelperScanner<'a, 'b> {
    bindings: &'b Bindings,
    defs: &'b HashMap<&'a str, &'a StmtFunctionDef>,
    scan: HelperScan<'a>,
}

impl<'a> Visitor<'a> for HelperScanner<'a, '_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            // Defined, not run.
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => return,
            Stmt::Raise(_) => self.scan.direct += 1,
            Stmt::With(with) if step_call(with, self.bindings).is_some() => self.scan.direct += 1,
            _ => {}
        }
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || walk_stmt(self, stmt));
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Lambda(_) => {}
            Expr::Call(call) => {
                match classify(call, self.bindings, self.defs) {
                    Some(Event::Helper(name)) => self.scan.calls.push(name),
                    Some(_) => self.scan.direct += 1,
                    None => {}
                }
                stacker::maybe_grow(64 * 1024, 1024 * 1024, || walk_expr(self, expr));
            }
            _ => stacker::maybe_grow(64 * 1024, 1024 * 1024, || walk_expr(self, expr)),
        }
    }
}

impl<'a> Helpers<'a> {
    fn new(module: &'a ModModule, bindings: &Bindings) -> Self {
        let mut defs = HashMap::new();
        for stmt in &module.body {
            if let Stmt::FunctionDef(function) = stmt
                && function.name.as_str() != "run"
            {
                // As in Python, a later definition replaces an earlier one.
                defs.insert(function.name.as_str(), function);
            }
        }
        let mut scans: HashMap<&'a str, HelperScan<'a>> = HashMap::new();
        for (&name, function) in &defs {
            let mut scanner = HelperScanner {
                bindings,
                defs: &defs,
                scan: HelperScan::default(),
            };
            for stmt in &function.body {
                scanner.visit_stmt(stmt);
            }
            scans.insert(name, scanner.scan);
        }

        // Significant: draws something of its own, or calls a helper that does.
        let mut callers: HashMap<&'a str, Vec<&'a str>> = HashMap::new();
        for (&name, scan) in &scans {
            for &callee in &scan.calls {
                callers.entry(callee).or_default().push(name);
            }
        }
        let mut significant: HashSet<&'a str> = scans
            .iter()
            .filter(|(_, scan)| scan.direct > 0)
            .map(|(&name, _)| name)
            .collect();
        let mut pending: Vec<&'a str> = significant.iter().copied().collect();
        while let Some(name) = pending.pop() {
            for &caller in callers.get(name).map(Vec::as_slice).unwrap_or_default() {
                if significant.insert(caller) {
                    pending.push(caller);
                }
            }
        }

        let mut weights = HashMap::new();
        let mut visiting = HashSet::new();
        let mut names: Vec<&'a str> = defs.keys().copied().collect();
        names.sort_unstable();
        for name in names {
            weight(name, &scans, &significant, &mut weights, &mut visiting);
        }
        Helpers {
            defs,
            significant,
            weights,
        }
    }

    fn is_significant(&self, name: &str) -> bool {
        self.significant.contains(name)
    }

    /// About how many nodes drawing the helper takes (for the "… N more steps" count).
    fn weight(&self, name: &str) -> u64 {
        self.weights.get(name).copied().unwrap_or(1).max(1)
    }
}

/// Cap on a helper's weight: any more is "very many" anyway.
const MAX_WEIGHT: u64 = 1_000_000;

fn weight<'a>(
    name: &'a str,
    scans: &HashMap<&'a str, HelperScan<'a>>,
    significant: &HashSet<&'a str>,
    weights: &mut HashMap<&'a str, u64>,
    visiting: &mut HashSet<&'a str>,
) -> u64 {
    if let Some(&known) = weights.get(name) {
        return known;
    }
    if !visiting.insert(name) {
        // Recursion: drawn as one node.
        return 1;
    }
    let Some(scan) = scans.get(name) else {
        return 1;
    };
    let mut total = scan.direct;
    for &callee in &scan.calls {
        if significant.contains(callee) {
            let callee_weight = stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
                weight(callee, scans, significant, weights, visiting)
            });
            total = total.saturating_add(callee_weight).min(MAX_WEIGHT);
        }
    }
    visiting.remove(name);
    weights.insert(name, total);
    total
}

/// `with ctx.step("X")`: the `ctx.step` call, if one of the items is one.
fn step_call<'a>(with: &'a StmtWith, bindings: &Bindings) -> Option<&'a ExprCall> {
    with.items.iter().find_map(|item| match &item.context_expr {
        Expr::Call(call) if bindings.ctx_method(call) == Some("step") => Some(call),
        _ => None,
    })
}

struct LoopFrame {
    node: usize,
    breaks: Vec<Exit>,
}

/// A helper being drawn.
struct HelperFrame<'a> {
    name: &'a str,
    /// Loops below this index belong to the callers.
    loop_base: usize,
    /// Where its `return`s leave from; they continue after the call.
    returns: Vec<Exit>,
}

struct Builder<'a, 'b> {
    text: &'b str,
    bindings: &'b Bindings,
    strings: &'b StringValues<'b>,
    workspace: &'b Workspace,
    helpers: &'b Helpers<'a>,
    flow: Flow,
    group_stack: Vec<usize>,
    loops: Vec<LoopFrame>,
    frames: Vec<HelperFrame<'a>>,
    /// The "… more steps" node, once the diagram is full.
    more: Option<usize>,
    omitted: u64,
    draws_memo: HashMap<(TextSize, bool), bool>,
}

impl<'a> Builder<'a, '_> {
    // ---- drawing ----

    fn node(&mut self, shape: Shape, label: String, class: Option<Class>) -> usize {
        if let Some(more) = self.more {
            self.omitted = self.omitted.saturating_add(1);
            return more;
        }
        let id = self.flow.nodes.len();
        if id + 1 >= MAX_NODES {
            self.flow.nodes.push(Node {
                shape: Shape::Box,
                label: String::new(),
                class: None,
            });
            self.flow.root.push(Item::Node(id));
            self.more = Some(id);
            self.omitted = 1;
            return id;
        }
        self.flow.nodes.push(Node {
            shape,
            label,
            class,
        });
        match self.group_stack.last() {
            Some(&group) => self.flow.groups[group].items.push(Item::Node(id)),
            None => self.flow.root.push(Item::Node(id)),
        }
        id
    }

    fn connect(&mut self, exits: Vec<Exit>, to: usize) {
        for exit in exits {
            if Some(exit.from) == self.more {
                continue;
            }
            let edge = Edge {
                from: exit.from,
                to,
                label: exit.label,
                dotted: exit.dotted,
            };
            if !self.flow.edges.contains(&edge) {
                self.flow.edges.push(edge);
            }
        }
    }

    /// A node after `cur`; the walk goes on from it.
    fn then(
        &mut self,
        shape: Shape,
        label: String,
        class: Option<Class>,
        cur: Vec<Exit>,
    ) -> Vec<Exit> {
        let node = self.node(shape, label, class);
        self.connect(cur, node);
        vec![Exit::plain(node)]
    }

    fn open_group(&mut self, title: String) -> bool {
        if self.more.is_some() {
            return false;
        }
        let id = self.flow.groups.len();
        self.flow.groups.push(Group {
            title,
            items: Vec::new(),
        });
        match self.group_stack.last() {
            Some(&parent) => self.flow.groups[parent].items.push(Item::Group(id)),
            None => self.flow.root.push(Item::Group(id)),
        }
        self.group_stack.push(id);
        true
    }

    fn src(&self, node: &impl Ranged) -> &str {
        source(self.text, node)
    }

    fn label(&self, node: &impl Ranged) -> String {
        shorten(self.src(node), LABEL_CHARS)
    }

    // ---- what is worth drawing ----

    fn events(&self, expr: &'a Expr) -> Vec<Event<'a>> {
        let mut scan = EventScan {
            bindings: self.bindings,
            helpers: &self.helpers.defs,
            events: Vec::new(),
        };
        scan.visit_expr(expr);
        scan.events
    }

    fn has_events(&self, expr: &'a Expr) -> bool {
        self.events(expr).iter().any(|event| match event {
            Event::Helper(name) => self.helpers.is_significant(name),
            _ => true,
        })
    }

    fn loop_base(&self) -> usize {
        self.frames.last().map_or(0, |frame| frame.loop_base)
    }

    fn in_loop(&self) -> bool {
        self.loops.len() > self.loop_base()
    }

    /// Whether any of the statements draws something. `jumps`: whether `continue`/`break` count
    /// (they do inside an `if` in a drawn loop, not for the loop they belong to).
    fn draws(&mut self, body: &'a [Stmt], jumps: bool) -> bool {
        body.iter().any(|stmt| self.stmt_draws(stmt, jumps))
    }

    fn stmt_draws(&mut self, stmt: &'a Stmt, jumps: bool) -> bool {
        let key = (stmt.range().start(), jumps);
        if let Some(&known) = self.draws_memo.get(&key) {
            return known;
        }
        let draws = stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.compute_draws(stmt, jumps));
        self.draws_memo.insert(key, draws);
        draws
    }

    fn compute_draws(&mut self, stmt: &'a Stmt, jumps: bool) -> bool {
        match stmt {
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => false,
            Stmt::Return(_) | Stmt::Raise(_) => true,
            Stmt::Continue(_) | Stmt::Break(_) => jumps,
            Stmt::For(s) => {
                self.has_events(&s.iter)
                    || self.draws(&s.body, false)
                    || self.draws(&s.orelse, jumps)
            }
            Stmt::While(s) => {
                self.has_events(&s.test)
                    || self.draws(&s.body, false)
                    || self.draws(&s.orelse, jumps)
            }
            Stmt::If(s) => {
                self.has_events(&s.test)
                    || self.draws(&s.body, jumps)
                    || s.elif_else_clauses.iter().any(|clause| {
                        clause
                            .test
                            .as_ref()
                            .is_some_and(|test| self.has_events(test))
                            || self.draws(&clause.body, jumps)
                    })
            }
            Stmt::With(s) => {
                step_call(s, self.bindings).is_some()
                    || s.items
                        .iter()
                        .any(|item| self.has_events(&item.context_expr))
                    || self.draws(&s.body, jumps)
            }
            Stmt::Try(s) => {
                self.draws(&s.body, jumps)
                    || self.draws(&s.orelse, jumps)
                    || self.draws(&s.finalbody, jumps)
                    || s.handlers
                        .iter()
                        .any(|ExceptHandler::ExceptHandler(h)| self.draws(&h.body, jumps))
            }
            Stmt::Match(s) => {
                self.has_events(&s.subject)
                    || s.cases.iter().any(|case| {
                        case.guard
                            .as_deref()
                            .is_some_and(|guard| self.has_events(guard))
                            || self.draws(&case.body, jumps)
                    })
            }
            simple => self.simple_events(simple).iter().any(|event| match event {
                Event::Helper(name) => self.helpers.is_significant(name),
                _ => true,
            }),
        }
    }

    fn simple_events(&self, stmt: &'a Stmt) -> Vec<Event<'a>> {
        let mut scan = EventScan {
            bindings: self.bindings,
            helpers: &self.helpers.defs,
            events: Vec::new(),
        };
        walk_stmt(&mut scan, stmt);
        scan.events
    }

    // ---- the walk ----

    fn body(&mut self, body: &'a [Stmt], mut cur: Vec<Exit>) -> Vec<Exit> {
        for stmt in body {
            if cur.is_empty() {
                // Unreachable: after a return, raise, continue or break.
                break;
            }
            cur = stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.stmt(stmt, cur));
        }
        cur
    }

    fn run_events(&mut self, events: Vec<Event<'a>>, mut cur: Vec<Exit>) -> Vec<Exit> {
        for event in events {
            cur = self.event(event, cur);
        }
        cur
    }

    fn expr(&mut self, expr: Option<&'a Expr>, cur: Vec<Exit>) -> Vec<Exit> {
        match expr {
            Some(expr) => {
                let events = self.events(expr);
                self.run_events(events, cur)
            }
            None => cur,
        }
    }

    fn stmt(&mut self, stmt: &'a Stmt, cur: Vec<Exit>) -> Vec<Exit> {
        match stmt {
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => cur,
            Stmt::Return(ret) => {
                let cur = self.expr(ret.value.as_deref(), cur);
                if let Some(frame) = self.frames.last_mut() {
                    frame.returns.extend(cur);
                } else {
                    let label = match &ret.value {
                        Some(value) => {
                            shorten(&format!("return {}", self.src(value.as_ref())), LABEL_CHARS)
                        }
                        None => "return".to_string(),
                    };
                    let end = self.node(Shape::End, label, Some(Class::Finish));
                    self.connect(cur, end);
                }
                Vec::new()
            }
            Stmt::Raise(raise) => {
                let cur = self.expr(raise.exc.as_deref(), cur);
                let cur = self.expr(raise.cause.as_deref(), cur);
                let label = match &raise.exc {
                    Some(exc) => shorten(&format!("raise {}", self.src(exc.as_ref())), LABEL_CHARS),
                    None => "raise: the run fails with the error".to_string(),
                };
                let end = self.node(Shape::End, label, Some(Class::Failure));
                self.connect(cur, end);
                Vec::new()
            }
            Stmt::Continue(_) => {
                if self.in_loop()
                    && let Some(node) = self.loops.last().map(|l| l.node)
                {
                    let exits = cur.into_iter().map(|exit| exit.jump("continue")).collect();
                    self.connect(exits, node);
                    Vec::new()
                } else {
                    cur
                }
            }
            Stmt::Break(_) => {
                if self.in_loop()
                    && let Some(frame) = self.loops.last_mut()
                {
                    frame
                        .breaks
                        .extend(cur.into_iter().map(|exit| exit.jump("break")));
                    Vec::new()
                } else {
                    cur
                }
            }
            Stmt::If(s) => self.if_stmt(s, cur),
            Stmt::For(s) => self.for_stmt(s, cur),
            Stmt::While(s) => self.while_stmt(s, cur),
            Stmt::With(s) => self.with_stmt(s, cur),
            Stmt::Try(s) => self.try_stmt(s, cur),
            Stmt::Match(s) => self.match_stmt(s, cur),
            simple => {
                let events = self.simple_events(simple);
                self.run_events(events, cur)
            }
        }
    }

    fn event(&mut self, event: Event<'a>, cur: Vec<Exit>) -> Vec<Exit> {
        match event {
            Event::Request(request) => {
                let info = describe_request(&request, self.workspace);
                let label = format!(
                    "{} ({})",
                    shorten(&info.request_line(), LABEL_CHARS),
                    info.profile
                );
                let class = if info.mutating {
                    Class::Mutating
                } else {
                    Class::Request
                };
                self.then(Shape::Box, label, Some(class), cur)
            }
            Event::Comment(call) => {
                let text = call
                    .arguments
                    .args
                    .first()
                    .or_else(|| call.arguments.find_keyword("text").map(|k| &k.value))
                    .map(|arg| spoken_text(self.text, arg, self.strings))
                    .unwrap_or_default();
                let label = format!("Comment: {}", shorten(&text, LABEL_CHARS));
                self.then(Shape::AlertChange, label, Some(Class::AlertChange), cur)
            }
            Event::UpdateAlert(call) => {
                let names: Vec<&str> = call
                    .arguments
                    .keywords
                    .iter()
                    .map(|k| k.arg.as_ref().map_or("**", |a| a.as_str()))
                    .collect();
                let label = format!("Update alert: {}", names.join(", "));
                self.then(
                    Shape::AlertChange,
                    shorten(&label, LABEL_CHARS),
                    Some(Class::AlertChange),
                    cur,
                )
            }
            Event::Helper(name) => self.helper(name, cur),
        }
    }

    fn helper(&mut self, name: &'a str, cur: Vec<Exit>) -> Vec<Exit> {
        if !self.helpers.is_significant(name) {
            return cur;
        }
        if self.more.is_some() {
            self.omitted = self.omitted.saturating_add(self.helpers.weight(name));
            return cur;
        }
        let recursive = self.frames.iter().any(|frame| frame.name == name);
        if recursive || self.frames.len() >= MAX_HELPER_DEPTH {
            let label = if recursive {
                format!("{name}() again (recursive call, not drawn twice)")
            } else {
                format!("{name}() (helpers nested too deep to draw)")
            };
            return self.then(Shape::Subroutine, label, None, cur);
        }
        let Some(function) = self.helpers.defs.get(name).copied() else {
            return cur;
        };
        self.frames.push(HelperFrame {
            name,
            loop_base: self.loops.len(),
            returns: Vec::new(),
        });
        let mut exits = self.body(&function.body, cur);
        if let Some(frame) = self.frames.pop() {
            exits.extend(frame.returns);
        }
        exits
    }

    fn if_stmt(&mut self, s: &'a StmtIf, cur: Vec<Exit>) -> Vec<Exit> {
        let jumps = self.in_loop();
        let drawn = self.draws(&s.body, jumps)
            || s.elif_else_clauses.iter().any(|clause| {
                clause
                    .test
                    .as_ref()
                    .is_some_and(|test| self.has_events(test))
                    || self.draws(&clause.body, jumps)
            });
        let mut pending = self.expr(Some(&s.test), cur);
        if !drawn {
            return pending;
        }
        let first = ElifElseTest {
            test: Some(&s.test),
            body: &s.body,
        };
        let rest = s
            .elif_else_clauses
            .iter()
            .map(|clause: &'a ElifElseClause| ElifElseTest {
                test: clause.test.as_ref(),
                body: &clause.body,
            });
        let mut out = Vec::new();
        for (index, branch) in std::iter::once(first).chain(rest).enumerate() {
            match branch.test {
                Some(test) => {
                    if index > 0 {
                        pending = self.expr(Some(test), pending);
                    }
                    let decision = self.node(Shape::Decision, self.label(test), None);
                    self.connect(pending, decision);
                    out.extend(self.body(branch.body, vec![Exit::labelled(decision, "yes")]));
                    pending = vec![Exit::labelled(decision, "no")];
                }
                None => {
                    out.extend(self.body(branch.body, pending));
                    pending = Vec::new();
                }
            }
        }
        out.extend(pending);
        out
    }

    fn for_stmt(&mut self, s: &'a StmtFor, cur: Vec<Exit>) -> Vec<Exit> {
        let cur = self.expr(Some(&s.iter), cur);
        let label = shorten(
            &format!(
                "for {} in {}",
                self.src(s.target.as_ref()),
                self.src(s.iter.as_ref())
            ),
            LABEL_CHARS,
        );
        self.loop_stmt(label, &s.body, &s.orelse, cur)
    }

    fn while_stmt(&mut self, s: &'a StmtWhile, cur: Vec<Exit>) -> Vec<Exit> {
        let cur = self.expr(Some(&s.test), cur);
        let label = shorten(&format!("while {}", self.src(s.test.as_ref())), LABEL_CHARS);
        self.loop_stmt(label, &s.body, &s.orelse, cur)
    }

    fn loop_stmt(
        &mut self,
        label: String,
        body: &'a [Stmt],
        orelse: &'a [Stmt],
        cur: Vec<Exit>,
    ) -> Vec<Exit> {
        let jumps = self.in_loop();
        if !self.draws(body, false) && !self.draws(orelse, jumps) {
            return cur;
        }
        let node = self.node(Shape::Loop, label, None);
        self.connect(cur, node);
        self.loops.push(LoopFrame {
            node,
            breaks: Vec::new(),
        });
        let back = self.body(body, vec![Exit::plain(node)]);
        self.connect(back, node);
        let breaks = self
            .loops
            .pop()
            .map(|frame| frame.breaks)
            .unwrap_or_default();
        let mut out = self.body(orelse, vec![Exit::labelled(node, "done")]);
        out.extend(breaks);
        out
    }

    fn with_stmt(&mut self, s: &'a StmtWith, mut cur: Vec<Exit>) -> Vec<Exit> {
        for item in &s.items {
            cur = self.expr(Some(&item.context_expr), cur);
        }
        let Some(step) = step_call(s, self.bindings) else {
            return self.body(&s.body, cur);
        };
        let title = step
            .arguments
            .args
            .first()
            .or_else(|| step.arguments.find_keyword("name").map(|k| &k.value))
            .map_or_else(
                || "step".to_string(),
                |arg| shorten(&spoken_text(self.text, arg, self.strings), LABEL_CHARS),
            );
        let jumps = self.in_loop();
        if !self.draws(&s.body, jumps) {
            // Nothing inside to frame: the step is one node.
            let cur = self.then(Shape::Step, format!("Step: {title}"), None, cur);
            return self.body(&s.body, cur);
        }
        let opened = self.open_group(title);
        let exits = self.body(&s.body, cur);
        if opened {
            self.group_stack.pop();
        }
        exits
    }

    fn try_stmt(&mut self, s: &'a StmtTry, cur: Vec<Exit>) -> Vec<Exit> {
        let jumps = self.in_loop();
        let drawn = self.draws(&s.body, jumps)
            || self.draws(&s.orelse, jumps)
            || self.draws(&s.finalbody, jumps)
            || s.handlers
                .iter()
                .any(|ExceptHandler::ExceptHandler(h)| self.draws(&h.body, jumps));
        if !drawn {
            return cur;
        }
        let label = match s.body.as_slice() {
            [only] => format!("try: {}", self.src(only)),
            [first, ..] => format!("try: {} …", self.src(first)),
            [] => "try".to_string(),
        };
        let node = self.node(Shape::Box, shorten(&label, LABEL_CHARS), None);
        self.connect(cur, node);
        let body = self.body(&s.body, vec![Exit::plain(node)]);
        let mut out = self.body(&s.orelse, body);
        for ExceptHandler::ExceptHandler(handler) in &s.handlers {
            let label = match &handler.type_ {
                Some(kind) => shorten(&format!("except {}", self.src(kind.as_ref())), LABEL_CHARS),
                None => "except (any error)".to_string(),
            };
            let handler_node = self.node(Shape::Box, label, None);
            self.connect(
                vec![Exit {
                    from: node,
                    label: Some("on error".to_string()),
                    dotted: true,
                }],
                handler_node,
            );
            out.extend(self.body(&handler.body, vec![Exit::plain(handler_node)]));
        }
        if s.finalbody.is_empty() {
            out
        } else {
            self.body(&s.finalbody, out)
        }
    }

    fn match_stmt(&mut self, s: &'a StmtMatch, cur: Vec<Exit>) -> Vec<Exit> {
        let jumps = self.in_loop();
        let drawn = s.cases.iter().any(|case| {
            case.guard
                .as_deref()
                .is_some_and(|guard| self.has_events(guard))
                || self.draws(&case.body, jumps)
        });
        let cur = self.expr(Some(&s.subject), cur);
        if !drawn {
            return cur;
        }
        let label = shorten(
            &format!("match {}", self.src(s.subject.as_ref())),
            LABEL_CHARS,
        );
        let decision = self.node(Shape::Decision, label, None);
        self.connect(cur, decision);
        let mut out = Vec::new();
        let mut exhaustive = false;
        for case in &s.cases {
            let mut label = format!("case {}", self.src(&case.pattern));
            if let Some(guard) = &case.guard {
                label.push_str(&format!(" if {}", self.src(guard.as_ref())));
            }
            let entry = vec![Exit::labelled(decision, shorten(&label, LABEL_CHARS))];
            let entry = match case.guard.as_deref() {
                Some(guard) => self.expr(Some(guard), entry),
                None => entry,
            };
            out.extend(self.body(&case.body, entry));
            exhaustive |= case.guard.is_none() && case.pattern.is_irrefutable();
        }
        if !exhaustive {
            out.push(Exit::labelled(decision, "no case matches"));
        }
        out
    }
}

struct ElifElseTest<'a> {
    test: Option<&'a Expr>,
    body: &'a [Stmt],
}
