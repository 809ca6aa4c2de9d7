//! One condition of a rule, compiled: the field resolved to what the alert view reads, the value
//! turned into what the operator compares with (lower-cased text, a number, a severity, a regex),
//! so that testing an alert does no parsing and no allocation.

use regex::{Regex, RegexBuilder};

use super::view::{AlertView, Field, Resolved, Scalar, lowercase};
use crate::alert::Severity;
use crate::formats::automation::{CONDITION_FIELDS, Condition, Operator};

/// How large a `matches` pattern may grow once compiled, and how much memory its lazy DFA may use.
/// Far above what a SOC's patterns need (`(?i)phish|credential harvest` and `[0-9a-f]{64}` take a
/// few KiB, `\w{32}` 1.5 MiB since `\w` is Unicode), low enough that 500 rules cannot hold more
/// than about a gigabyte of compiled patterns, where the regex crate's default (10 MiB) would allow
/// five.
pub const REGEX_SIZE_LIMIT: usize = 2 << 20;
const REGEX_DFA_SIZE_LIMIT: usize = 1 << 20;

/// Which part of a condition a problem is about (for the diagnostic's range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionPart {
    Field,
    Operator,
    Value,
}

/// A problem with one condition: which part, and what to do about it.
pub(crate) type Problem = (ConditionPart, String);

#[derive(Debug, Clone)]
pub(crate) enum FieldRef {
    Normal(Field),
    /// A dotted path into the raw alert (without `raw.`) and its slot in the alert view's cache.
    Raw {
        path: String,
        slot: usize,
    },
}

/// A value compared with: lower-cased text, and the number when the rule wrote a number.
#[derive(Debug, Clone)]
pub(crate) struct Needle {
    lower: String,
    number: Option<f64>,
}

impl Needle {
    /// `equals`: numbers compare as numbers when both sides are numbers, else texts compare
    /// case-insensitively (so `true` equals the JSON `true`, `"87"` equals the JSON `87`).
    fn equals(&self, scalar: &Scalar<'_>) -> bool {
        match (self.number, scalar.number) {
            (Some(a), Some(b)) => a == b,
            _ => scalar.lower == self.lower,
        }
    }
}

#[derive(Debug, Clone)]
enum Test {
    Equals(Needle),
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    In(Vec<Needle>),
    Matches(Regex),
    Exists,
    SeverityAtLeast(Severity),
    SeverityAtMost(Severity),
    NumberAtLeast(f64),
    NumberAtMost(f64),
}

impl Test {
    fn scalar(&self, scalar: &Scalar<'_>) -> bool {
        match self {
            Test::Equals(needle) => needle.equals(scalar),
            Test::Contains(needle) => scalar.lower.contains(needle.as_str()),
            Test::StartsWith(needle) => scalar.lower.starts_with(needle.as_str()),
            Test::EndsWith(needle) => scalar.lower.ends_with(needle.as_str()),
            Test::In(needles) => needles.iter().any(|needle| needle.equals(scalar)),
            Test::Matches(regex) => regex.is_match(&scalar.text),
            Test::Exists => true,
            Test::NumberAtLeast(bound) => scalar.as_number().is_some_and(|n| n >= *bound),
            Test::NumberAtMost(bound) => scalar.as_number().is_some_and(|n| n <= *bound),
            // Severity order is read from the view, never from text.
            Test::SeverityAtLeast(_) | Test::SeverityAtMost(_) => false,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledCondition {
    pub(crate) field: FieldRef,
    test: Test,
    /// `not_*` operators and `exists = false`: the positive test, inverted.
    negated: bool,
}

impl CompiledCondition {
    pub(crate) fn holds(&self, view: &AlertView<'_>) -> bool {
        let positive = match (&self.test, &self.field) {
            (Test::SeverityAtLeast(bound), _) => view.severity().is_some_and(|s| s >= *bound),
            (Test::SeverityAtMost(bound), _) => view.severity().is_some_and(|s| s <= *bound),
            (test, field) => {
                let resolved = match field {
                    FieldRef::Normal(field) => view.field(*field),
                    FieldRef::Raw { path, slot } => view.raw(path, *slot),
                };
                match resolved {
                    Resolved::Missing => false,
                    Resolved::One(scalar) => test.scalar(scalar),
                    Resolved::Many(items) => {
                        matches!(test, Test::Exists) || items.iter().any(|item| test.scalar(item))
                    }
                    Resolved::Object => matches!(test, Test::Exists),
                }
            }
        };
        positive != self.negated
    }
}

const SEVERITIES: &str = "informational, low, medium, high";

/// Compiles one condition, or says what is wrong with it.
pub(crate) fn compile(condition: &Condition) -> Result<CompiledCondition, Problem> {
    let field = compile_field(&condition.field)?;
    let operator = condition.operator;
    let name = operator.as_str();
    let value = condition.value.as_ref();
    // On `severity`, the operators that compare whole values must be given severity names.
    let severity_names = matches!(field, FieldRef::Normal(Field::Severity))
        && matches!(
            operator,
            Operator::Equals | Operator::NotEquals | Operator::In | Operator::NotIn
        );
    let value_problem = |message: String| (ConditionPart::Value, message);

    let single = |value: Option<&toml::Value>| -> Result<Needle, Problem> {
        let value = value.ok_or_else(|| {
            value_problem(format!(
                "`{name}` needs a value (a string, number or boolean)"
            ))
        })?;
        let needle = needle(value).ok_or_else(|| {
            value_problem(format!(
                "`{name}` needs a single value (a string, number or boolean), not {}",
                toml_type(value)
            ))
        })?;
        if needle.lower.is_empty() {
            return Err(value_problem(format!(
                "`{name}` with an empty value: an empty field counts as absent, so test it with operator = \"exists\" instead"
            )));
        }
        if severity_names {
            check_severity(value, name)?;
        }
        Ok(needle)
    };

    let (test, negated) = match operator {
        Operator::Equals | Operator::NotEquals => (
            Test::Equals(single(value)?),
            operator == Operator::NotEquals,
        ),
        Operator::Contains | Operator::NotContains => (
            Test::Contains(single(value)?.lower),
            operator == Operator::NotContains,
        ),
        Operator::StartsWith => (Test::StartsWith(single(value)?.lower), false),
        Operator::EndsWith => (Test::EndsWith(single(value)?.lower), false),
        Operator::In | Operator::NotIn => {
            let Some(toml::Value::Array(items)) = value else {
                return Err(value_problem(format!(
                    "`{name}` needs a list value, e.g. value = [\"high\", \"medium\"]"
                )));
            };
            let needles = items
                .iter()
                .enumerate()
                .map(|(at, item)| {
                    single(Some(item)).map_err(|(part, message)| {
                        (part, format!("list item {}: {message}", at + 1))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            (Test::In(needles), operator == Operator::NotIn)
        }
        Operator::Matches => {
            let pattern = value.and_then(toml::Value::as_str).ok_or_else(|| {
                value_problem(
                    "`matches` needs a regular expression string, e.g. value = \"(?i)phish\""
                        .into(),
                )
            })?;
            let regex = RegexBuilder::new(pattern)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
                .build()
                .map_err(|err| value_problem(regex_problem(&err)))?;
            (Test::Matches(regex), false)
        }
        Operator::Exists => match value {
            None => (Test::Exists, false),
            Some(toml::Value::Boolean(exists)) => (Test::Exists, !exists),
            Some(_) => {
                return Err(value_problem(
                    "`exists` takes no value (or true/false)".into(),
                ));
            }
        },
        Operator::Gte | Operator::Lte => {
            let at_least = operator == Operator::Gte;
            let test = match &field {
                FieldRef::Normal(Field::Severity) => {
                    let severity = value
                        .and_then(toml::Value::as_str)
                        .and_then(Severity::parse)
                        .filter(|s| *s != Severity::Unknown)
                        .ok_or_else(|| {
                            value_problem(format!(
                                "`{name}` on severity needs a severity value: one of {SEVERITIES}"
                            ))
                        })?;
                    if at_least {
                        Test::SeverityAtLeast(severity)
                    } else {
                        Test::SeverityAtMost(severity)
                    }
                }
                FieldRef::Raw { .. } => {
                    let bound = value.and_then(toml_number).ok_or_else(|| {
                        value_problem(format!(
                            "`{name}` on a raw field needs a number value, e.g. value = 80 (severity order is for field = \"severity\")"
                        ))
                    })?;
                    if at_least {
                        Test::NumberAtLeast(bound)
                    } else {
                        Test::NumberAtMost(bound)
                    }
                }
                FieldRef::Normal(_) => {
                    return Err((
                        ConditionPart::Operator,
                        format!(
                            "`{name}` compares severities (field = \"severity\") or numbers (a `raw.` field with a number value), and `{}` is text",
                            condition.field
                        ),
                    ));
                }
            };
            (test, false)
        }
    };
    Ok(CompiledCondition {
        field,
        test,
        negated,
    })
}

fn compile_field(name: &str) -> Result<FieldRef, Problem> {
    if let Some(field) = Field::parse(name) {
        return Ok(FieldRef::Normal(field));
    }
    let problem = |message: String| Err((ConditionPart::Field, message));
    if let Some(path) = name.strip_prefix("raw.") {
        if path.split('.').any(str::is_empty) {
            return problem(format!(
                "`{name}` has an empty segment: write a dotted path into the raw alert such as `raw.serviceSource` or `raw.evidence.0.verdict`"
            ));
        }
        return Ok(FieldRef::Raw {
            path: path.to_owned(),
            slot: 0,
        });
    }
    let hint = match suggestion(name) {
        Some(known) => format!("did you mean `{known}`? Fields are "),
        None => "use one of ".to_owned(),
    };
    problem(format!(
        "unknown condition field `{name}`; {hint}{} or a path into the raw alert such as `raw.serviceSource`",
        CONDITION_FIELDS.join(", ")
    ))
}

/// The field someone most likely meant, from a differently spelled name or the source's own
/// column name (`ProductName`, `serviceSource`, `AlertName`).
fn suggestion(name: &str) -> Option<&'static str> {
    let squashed: String = name
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    if let Some(known) = CONDITION_FIELDS
        .iter()
        .find(|known| known.replace('_', "") == squashed)
    {
        return Some(known);
    }
    Some(match squashed.as_str() {
        "servicesource" | "productname" | "product" | "source" => "provider",
        "providername" | "detector" => "detection_source",
        "alertname" | "name" | "displayname" => "title",
        "alertseverity" => "severity",
        "tactic" | "category" => "tactics",
        "technique" => "techniques",
        "entities" | "entity" | "entitykind" | "entitytype" | "entitytypes" | "evidence" => {
            "entity_kinds"
        }
        "incident" => "incident_id",
        "systemalertid" | "alertid" => "id",
        _ => return None,
    })
}

/// A scalar rule value as a needle; None for tables and lists.
fn needle(value: &toml::Value) -> Option<Needle> {
    let (text, number) = match value {
        toml::Value::String(s) => (lowercase(s).into_owned(), None),
        toml::Value::Integer(i) => (i.to_string(), Some(*i as f64)),
        toml::Value::Float(f) => (f.to_string(), Some(*f)),
        toml::Value::Boolean(b) => (b.to_string(), None),
        toml::Value::Datetime(d) => (d.to_string().to_lowercase(), None),
        toml::Value::Array(_) | toml::Value::Table(_) => return None,
    };
    Some(Needle {
        lower: text,
        number,
    })
}

fn toml_number(value: &toml::Value) -> Option<f64> {
    match value {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) if f.is_finite() => Some(*f),
        _ => None,
    }
}

/// On `severity`, a text value must name a severity (a typo would silently never match).
fn check_severity(value: &toml::Value, operator: &str) -> Result<(), Problem> {
    match value.as_str() {
        Some(s) if !matches!(Severity::parse(s), Some(found) if found != Severity::Unknown) => {
            Err((
                ConditionPart::Value,
                format!("`{s}` is not a severity (in `{operator}`): use one of {SEVERITIES}"),
            ))
        }
        _ => Ok(()),
    }
}

fn regex_problem(err: &regex::Error) -> String {
    match err {
        regex::Error::CompiledTooBig(limit) => format!(
            "the regular expression is too large once compiled (over {} MiB): use fewer or smaller repetitions, and ASCII classes where they do (`[A-Za-z0-9_]` or `(?-u:\\w)` is hundreds of times smaller than the Unicode `\\w`)",
            limit >> 20
        ),
        // A syntax error's text is a framed pattern with a caret, then `error: what`: the last
        // line is what a one-line diagnostic (SARIF, GitHub annotations) can carry.
        regex::Error::Syntax(text) => {
            let gist = text
                .lines()
                .rev()
                .find_map(|line| line.strip_prefix("error: "))
                .unwrap_or(text);
            format!("invalid regular expression: {gist} (Rust `regex` syntax)")
        }
        other => format!("invalid regular expression: {other}"),
    }
}

fn toml_type(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date-time",
        toml::Value::Array(_) => "a list",
        toml::Value::Table(_) => "a table",
    }
}
