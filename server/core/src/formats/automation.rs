//! `rules/<name>.toml`: an automation rule on the enhanced alert trigger: conditions on the alert,
//! the workspaces it applies to, and exactly one action.

use ruff_text_size::TextRange;
use serde::{Deserialize, Serialize};

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

const SEVERITIES: &[&str] = &["informational", "low", "medium", "high"];

impl AutomationRule {
    /// Parses and validates a rule. `playbook_exists` answers whether a playbook name is in the
    /// workspace. Problems are RP102 diagnostics; the rule is returned only when it can be used.
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
        match rule.actions.len() {
            1 => {}
            0 => diagnostics.push(invalid("actions", "a rule needs exactly one action: add an [[actions]] table (type = \"run_playbook\" or \"update_alert\")".into())),
            n => diagnostics.push(invalid("actions", format!("a rule has exactly one action, this one has {n}: split it into {n} rules"))),
        }
        for action in &rule.actions {
            match action {
                Action::RunPlaybook { playbook } if !playbook_exists(playbook) => diagnostics.push(invalid(
                    "playbook",
                    format!("no playbook `{playbook}` in playbooks/: create playbooks/{playbook}.py or name an existing one"),
                )),
                Action::UpdateAlert { status: None, classification: None, determination: None, assigned_to: None } => {
                    diagnostics.push(invalid("actions", "update_alert changes nothing: set status, classification, determination or assigned_to".into()))
                }
                _ => {}
            }
        }
        for condition in &rule.conditions {
            if let Err(problem) = condition.validate() {
                let quoted = format!("\"{}\"", condition.field);
                let range = match text.find(&quoted) {
                    Some(at) => TextRange::at(super::to_size(at), super::to_size(quoted.len())),
                    None => super::key_range(text, "conditions"),
                };
                diagnostics.push(Diagnostic::new(Rule::InvalidRule, range, problem));
            }
        }
        if rule.workspaces.is_empty() {
            diagnostics.push(invalid(
                "workspaces",
                "`workspaces` is empty: list workspace names, or [\"*\"] for all".into(),
            ));
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

impl Condition {
    fn validate(&self) -> Result<(), String> {
        let field = self.field.as_str();
        let known = CONDITION_FIELDS.contains(&field)
            || field.strip_prefix("raw.").is_some_and(|p| !p.is_empty());
        if !known {
            return Err(format!(
                "unknown condition field `{field}`; use one of {} or a path into the raw alert such as `raw.serviceSource`",
                CONDITION_FIELDS.join(", ")
            ));
        }
        let value = self.value.as_ref();
        match self.operator {
            Operator::Exists => {
                if value.is_some_and(|v| v.as_bool().is_none()) {
                    return Err("`exists` takes no value (or true/false)".into());
                }
            }
            Operator::In | Operator::NotIn => {
                if !value.is_some_and(|v| v.is_array()) {
                    return Err(format!(
                        "`{}` needs a list value, e.g. value = [\"high\", \"medium\"]",
                        self.operator_name()
                    ));
                }
            }
            Operator::Gte | Operator::Lte => {
                if field != "severity" {
                    return Err(format!(
                        "`{}` compares severities: use it with field = \"severity\"",
                        self.operator_name()
                    ));
                }
                let severity = value
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                if !SEVERITIES.contains(&severity.as_str()) {
                    return Err(format!(
                        "`{}` needs a severity value: one of {}",
                        self.operator_name(),
                        SEVERITIES.join(", ")
                    ));
                }
            }
            Operator::Matches => {
                let pattern = value
                    .and_then(|v| v.as_str())
                    .ok_or("`matches` needs a regular expression string")?;
                regex::Regex::new(pattern)
                    .map_err(|err| format!("invalid regular expression: {err}"))?;
            }
            _ => {
                if value.is_none_or(|v| v.is_table() || v.is_array()) {
                    return Err(format!(
                        "`{}` needs a single value (a string, number or boolean)",
                        self.operator_name()
                    ));
                }
            }
        }
        if field == "severity"
            && let Some(s) = value.and_then(|v| v.as_str())
            && matches!(self.operator, Operator::Equals | Operator::NotEquals)
            && !SEVERITIES.contains(&s.to_ascii_lowercase().as_str())
        {
            return Err(format!(
                "`{s}` is not a severity: use one of {}",
                SEVERITIES.join(", ")
            ));
        }
        Ok(())
    }

    fn operator_name(&self) -> &'static str {
        OPERATORS[self.operator as usize]
    }
}
