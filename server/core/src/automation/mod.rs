//! Automation rules at run time: a rule (`formats::automation::AutomationRule`) compiled once into
//! a [`CompiledRule`] that tests an alert cheaply, and a [`RuleSet`] that gives the rules an alert
//! fires, in evaluation order.
//!
//! Compiling is also the one place that decides whether a rule is usable: `AutomationRule::parse`
//! (RP102 in `riposte check` and the editor) reports exactly the [`RuleError`]s compiling gives.
//! The semantics (case-insensitive text, lists, missing fields, severity order, evaluation order)
//! are documented for users in `docs/automation-rules.md`; the short version:
//!
//! - all conditions must hold; a rule with none matches every alert;
//! - `equals`, `contains`, `starts_with`, `ends_with`, `in` compare text case-insensitively (as
//!   Sentinel's automation rules do); `matches` is a regex on the text as the alert has it;
//! - on a list (tactics, entity kinds, a raw array) a positive operator holds when any item
//!   matches, a `not_*` operator when no item does;
//! - a missing field (absent, null, `""`, `[]`, unknown severity) fails every positive operator
//!   and passes every negative one;
//! - rules run in ascending `order`, then by name.

mod condition;
mod view;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;

use crate::alert::Alert;
use crate::formats::automation::{Action, AutomationRule, Trigger};
use condition::{CompiledCondition, FieldRef};
use view::AlertView;

pub use condition::{ConditionPart, REGEX_SIZE_LIMIT};

/// Why a rule cannot be used: which rule, where in it, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("automation rule `{rule}`: {location}{problem}")]
pub struct RuleError {
    rule: String,
    location: Location,
    problem: String,
}

/// Where in a rule a [`RuleError`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A top-level key of the rule (`actions`, `workspaces`).
    Rule { key: &'static str },
    /// A condition: its index (0-based) in `conditions`, its `field`, and the part at fault.
    Condition {
        index: usize,
        field: String,
        part: ConditionPart,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Rule { .. } => Ok(()),
            Location::Condition { index, field, .. } => {
                write!(f, "condition {} (`{field}`): ", index + 1)
            }
        }
    }
}

impl RuleError {
    /// The rule's name, as given to [`CompiledRule::compile`].
    pub fn rule(&self) -> &str {
        &self.rule
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// What is wrong and what to do, without the rule's name or the location.
    pub fn problem(&self) -> &str {
        &self.problem
    }

    /// The message without the rule's name, for a diagnostic that already sits in the rule's file.
    pub fn detail(&self) -> String {
        format!("{}{}", self.location, self.problem)
    }
}

/// The workspaces a rule applies to.
#[derive(Debug, Clone)]
enum Workspaces {
    All,
    Listed(Vec<String>),
}

/// A rule ready to test alerts: conditions compiled (regexes built, values lower-cased and parsed).
#[derive(Debug, Clone)]
pub struct CompiledRule {
    name: String,
    rule: AutomationRule,
    conditions: Vec<CompiledCondition>,
    workspaces: Workspaces,
    /// How many distinct `raw.` paths the conditions read (their cache slots are `0..raw_slots`).
    raw_slots: usize,
}

impl CompiledRule {
    /// Compiles a rule, checking everything about it but whether its playbook exists (that is the
    /// workspace's to say). `name` identifies the rule in errors and in evaluation order: pass the
    /// rule's `name`, or its file name when it has none.
    pub fn compile(name: &str, rule: &AutomationRule) -> Result<CompiledRule, RuleError> {
        compile_all(name, rule).map_err(|mut errors| errors.swap_remove(0))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn rule(&self) -> &AutomationRule {
        &self.rule
    }

    /// The rule's one action.
    pub fn action(&self) -> &Action {
        self.rule.action()
    }

    /// Whether the rule fires on this alert, received in `workspace` by `trigger`: false when the
    /// rule is disabled, listens to the other trigger, or does not list the workspace (`"*"`
    /// lists all); otherwise whether every condition holds.
    pub fn matches(&self, alert: &Alert, workspace: &str, trigger: Trigger) -> bool {
        self.applies(workspace, trigger) && self.holds(&AlertView::new(alert, self.raw_slots))
    }

    fn applies(&self, workspace: &str, trigger: Trigger) -> bool {
        self.rule.enabled
            && self.rule.trigger == trigger
            && match &self.workspaces {
                Workspaces::All => true,
                Workspaces::Listed(names) => names.iter().any(|name| name == workspace),
            }
    }

    fn holds(&self, view: &AlertView<'_>) -> bool {
        self.conditions
            .iter()
            .all(|condition| condition.holds(view))
    }

    fn raw_paths_mut(&mut self) -> impl Iterator<Item = (&str, &mut usize)> {
        self.conditions
            .iter_mut()
            .filter_map(|condition| match &mut condition.field {
                FieldRef::Raw { path, slot } => Some((path.as_str(), slot)),
                FieldRef::Normal(_) => None,
            })
    }

    /// Gives each distinct `raw.` path a cache slot, counting from `slots.len()`.
    fn assign_raw_slots(&mut self, slots: &mut HashMap<String, usize>) {
        for (path, slot) in self.raw_paths_mut() {
            let next = slots.len();
            *slot = *slots.entry(path.to_owned()).or_insert(next);
        }
    }
}

/// Compiles a rule, collecting every problem (the parser reports them all at once).
pub(crate) fn compile_all(
    name: &str,
    rule: &AutomationRule,
) -> Result<CompiledRule, Vec<RuleError>> {
    let mut errors = Vec::new();
    let mut error = |location: Location, problem: String| {
        errors.push(RuleError {
            rule: name.to_owned(),
            location,
            problem,
        });
    };
    let actions = Location::Rule { key: "actions" };
    match rule.actions.len() {
        1 => {}
        0 => error(actions.clone(), "a rule needs exactly one action: add an [[actions]] table (type = \"run_playbook\" or \"update_alert\")".into()),
        n => error(actions.clone(), format!("a rule has exactly one action, this one has {n}: split it into {n} rules")),
    }
    for action in &rule.actions {
        if let Action::UpdateAlert {
            status: None,
            classification: None,
            determination: None,
            assigned_to: None,
        } = action
        {
            error(actions.clone(), "update_alert changes nothing: set status, classification, determination or assigned_to".into());
        }
    }
    if rule.workspaces.is_empty() {
        error(
            Location::Rule { key: "workspaces" },
            "`workspaces` is empty: list workspace names, or [\"*\"] for all".into(),
        );
    } else if rule.workspaces.iter().any(|w| w.trim().is_empty()) {
        error(
            Location::Rule { key: "workspaces" },
            "`workspaces` has an empty name: list workspace names, or [\"*\"] for all".into(),
        );
    }
    let mut conditions = Vec::with_capacity(rule.conditions.len());
    for (index, condition) in rule.conditions.iter().enumerate() {
        match condition::compile(condition) {
            Ok(compiled) => conditions.push(compiled),
            Err((part, problem)) => error(
                Location::Condition {
                    index,
                    field: condition.field.clone(),
                    part,
                },
                problem,
            ),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let workspaces = if rule.workspaces.iter().any(|w| w == "*") {
        Workspaces::All
    } else {
        Workspaces::Listed(rule.workspaces.clone())
    };
    let mut compiled = CompiledRule {
        name: name.to_owned(),
        rule: rule.clone(),
        conditions,
        workspaces,
        raw_slots: 0,
    };
    let mut slots = HashMap::new();
    compiled.assign_raw_slots(&mut slots);
    compiled.raw_slots = slots.len();
    Ok(compiled)
}

/// The rules of a workspace (or an engine), in evaluation order: ascending `order`, then name
/// (byte order); rules with the same order and name keep the order they were given in.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<CompiledRule>,
    /// Distinct `raw.` paths over all rules: each alert resolves each of them at most once.
    raw_slots: usize,
}

impl RuleSet {
    pub fn new(mut rules: Vec<CompiledRule>) -> RuleSet {
        rules.sort_by(|a, b| (a.rule.order, a.name.as_str()).cmp(&(b.rule.order, b.name.as_str())));
        let mut slots = HashMap::new();
        for rule in &mut rules {
            rule.assign_raw_slots(&mut slots);
        }
        let raw_slots = slots.len();
        for rule in &mut rules {
            rule.raw_slots = raw_slots;
        }
        RuleSet { rules, raw_slots }
    }

    /// The rules that fire on `alert`, received in `workspace` by `trigger`, in evaluation order.
    /// Each alert field is read once, however many rules name it.
    pub fn matching<'a>(
        &'a self,
        alert: &'a Alert,
        workspace: &'a str,
        trigger: Trigger,
    ) -> impl Iterator<Item = &'a CompiledRule> + 'a {
        let view = AlertView::new(alert, self.raw_slots);
        self.rules
            .iter()
            .filter(move |rule| rule.applies(workspace, trigger) && rule.holds(&view))
    }

    /// Every rule, enabled or not, in evaluation order.
    pub fn iter(&self) -> impl Iterator<Item = &CompiledRule> {
        self.rules.iter()
    }

    /// The first rule with this name.
    pub fn get(&self, name: &str) -> Option<&CompiledRule> {
        self.rules.iter().find(|rule| rule.name == name)
    }

    /// How many rules there are, enabled or not.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// How many rules are enabled: what counts against `limits.max_active_rules` (500 by default).
    pub fn active_len(&self) -> usize {
        self.rules.iter().filter(|rule| rule.rule.enabled).count()
    }
}
