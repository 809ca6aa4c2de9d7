//! `rules/<name>.toml`: an automation rule on the enhanced alert trigger: conditions on the alert,
//! the workspaces it applies to, and exactly one action.

use ruff_text_size::TextRange;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::automation::{ConditionPart, Location};
use crate::diagnostic::Diagnostic;
use crate::lint::Rule;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutomationRule {
    /// Defaults to the file name.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// Rules run in ascending `order`, then by name.
    #[serde(default = "default_order")]
    pub order: u32,
    #[serde(default)]
    pub trigger: Trigger,
    /// Workspaces the rule applies to; `["*"]` (the default) for all.
    #[serde(default = "all_workspaces")]
    pub workspaces: Vec<String>,
    /// All must hold (AND).
    #[serde(default)]
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
}

fn enabled_by_default() -> bool {
    true
}
fn default_order() -> u32 {
    100
}
fn all_workspaces() -> Vec<String> {
    vec!["*".to_string()]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    #[default]
    AlertCreated,
    AlertUpdated,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// A normalised alert field (see `CONDITION_FIELDS`) or a dotted path into the raw alert (`raw.serviceSource`).
    pub field: String,
    pub operator: Operator,
    #[serde(default)]
    pub value: Option<toml::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Equals,
    NotEquals,
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
    In,
    NotIn,
    Matches,
    Exists,
    Gte,
    Lte,
}

pub const OPERATORS: &[&str] = &[
    "equals",
    "not_equals",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "in",
    "not_in",
    "matches",
    "exists",
    "gte",
    "lte",
];

/// Normalised alert fields a condition may name without the `raw.` prefix.
pub const CONDITION_FIELDS: &[&str] = &[
    "id",
    "title",
    "severity",
    "status",
    "provider",
    "detection_source",
    "description",
    "incident_id",
    "tactics",
    "techniques",
    "entity_kinds",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    RunPlaybook {
        playbook: String,
    },
    UpdateAlert {
        #[serde(default)]
        status: Option<String>,
        #[serde(default)]
        classification: Option<String>,
        #[serde(default)]
        determination: Option<String>,
        #[serde(default)]
        assigned_to: Option<String>,
    },
}

impl Operator {
    /// The operator as rules spell it (`not_equals`).
    pub fn as_str(self) -> &'static str {
        OPERATORS[self as usize]
    }
}

impl AutomationRule {
    /// Parses and validates a rule. `playbook_exists` answers whether a playbook name is in the
    /// workspace. Problems are RP102 diagnostics; the rule is returned only when it can be used.
    /// Everything but the playbook's existence is decided by compiling the rule
    /// ([`CompiledRule::compile`](crate::automation::CompiledRule::compile)), so a rule that
    /// passes here is one the engine can run, and the messages are the engine's.
    pub fn parse(
        text: &str,
        playbook_exists: &dyn Fn(&str) -> bool,
    ) -> (Option<AutomationRule>, Vec<Diagnostic>) {
        let invalid = |key: &str, message: String| {
            Diagnostic::new(Rule::InvalidRule, super::key_range(text, key), message)
        };
        let rule: AutomationRule = match toml::from_str(text) {
            Ok(rule) => rule,
            Err(err) => {
                let mut message = super::toml_error_message(&err);
                if message.contains("unknown variant") && message.contains("equals") {
                    message = format!("{message} (operators: {})", OPERATORS.join(", "));
                }
                let range = super::toml_error_range(&err, text);
                return (
                    None,
                    vec![Diagnostic::new(
                        Rule::InvalidRule,
                        range,
                        format!("invalid automation rule: {message}"),
                    )],
                );
            }
        };

        let mut diagnostics = Vec::new();
        for action in &rule.actions {
            if let Action::RunPlaybook { playbook } = action
                && !playbook_exists(playbook)
            {
                diagnostics.push(invalid(
                    "playbook",
                    format!("no playbook `{playbook}` in playbooks/: create playbooks/{playbook}.py or name an existing one"),
                ));
            }
        }
        let name = rule.name.as_deref().unwrap_or("(unnamed)");
        if let Err(errors) = crate::automation::compile_all(name, &rule) {
            let spans = ConditionSpans::read(text);
            for error in errors {
                let range = match error.location() {
                    Location::Rule { key } => super::key_range(text, key),
                    Location::Condition { index, part, .. } => spans
                        .range(*index, *part)
                        .unwrap_or_else(|| super::key_range(text, "conditions")),
                };
                diagnostics.push(Diagnostic::new(Rule::InvalidRule, range, error.detail()));
            }
        }
        if diagnostics.is_empty() {
            (Some(rule), diagnostics)
        } else {
            (None, diagnostics)
        }
    }

    pub fn action(&self) -> &Action {
        &self.actions[0]
    }
}

/// Where each condition's keys are written, for diagnostics that point at the exact key.
#[derive(Deserialize, Default)]
struct ConditionSpans {
    #[serde(default)]
    conditions: Vec<Spanned<SpannedCondition>>,
}

#[derive(Deserialize)]
struct SpannedCondition {
    field: Option<Spanned<toml::Value>>,
    operator: Option<Spanned<toml::Value>>,
    value: Option<Spanned<toml::Value>>,
}

impl ConditionSpans {
    fn read(text: &str) -> ConditionSpans {
        toml::from_str(text).unwrap_or_default()
    }

    /// The part at fault, else the condition's field, else the whole condition.
    fn range(&self, index: usize, part: ConditionPart) -> Option<TextRange> {
        let condition = self.conditions.get(index)?;
        let keys = condition.get_ref();
        let key = match part {
            ConditionPart::Field => &keys.field,
            ConditionPart::Operator => &keys.operator,
            ConditionPart::Value => &keys.value,
        };
        let span = key
            .as_ref()
            .or(keys.field.as_ref())
            .map_or_else(|| condition.span(), Spanned::span);
        Some(TextRange::new(
            super::to_size(span.start),
            super::to_size(span.end),
        ))
    }
}
