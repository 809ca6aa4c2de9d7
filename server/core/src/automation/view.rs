//! One alert as automation conditions read it: each field resolved (and lower-cased) at most once
//! per alert, however many of the rules name it, so matching hundreds of rules stays cheap.

use std::borrow::Cow;
use std::cell::OnceCell;

use serde_json::Value;

use crate::alert::{Alert, EntityKind, Severity};

/// A normalised alert field a condition can name without the `raw.` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Id,
    Title,
    Severity,
    Status,
    Provider,
    DetectionSource,
    Description,
    IncidentId,
    Tactics,
    Techniques,
    EntityKinds,
}

impl Field {
    const COUNT: usize = 11;

    /// The field a condition's `field` names (exactly, as `CONDITION_FIELDS` spells it).
    pub(crate) fn parse(name: &str) -> Option<Field> {
        Some(match name {
            "id" => Field::Id,
            "title" => Field::Title,
            "severity" => Field::Severity,
            "status" => Field::Status,
            "provider" => Field::Provider,
            "detection_source" => Field::DetectionSource,
            "description" => Field::Description,
            "incident_id" => Field::IncidentId,
            "tactics" => Field::Tactics,
            "techniques" => Field::Techniques,
            "entity_kinds" => Field::EntityKinds,
            _ => return None,
        })
    }
}

/// One comparable value: the text as the alert has it (for `matches`), lower-cased (for the
/// case-insensitive operators), and the number when the alert gave a JSON number.
#[derive(Debug)]
pub(crate) struct Scalar<'a> {
    pub(crate) text: Cow<'a, str>,
    pub(crate) lower: Cow<'a, str>,
    pub(crate) number: Option<f64>,
}

impl<'a> Scalar<'a> {
    fn text(text: &'a str) -> Scalar<'a> {
        Scalar {
            lower: lowercase(text),
            text: Cow::Borrowed(text),
            number: None,
        }
    }

    fn owned(text: String, number: Option<f64>) -> Scalar<'a> {
        Scalar {
            lower: Cow::Owned(text.to_lowercase()),
            text: Cow::Owned(text),
            number,
        }
    }

    /// The value as a number for `gte`/`lte`: a JSON number, or a string holding a finite number
    /// (Log Analytics writes many numbers as text).
    pub(crate) fn as_number(&self) -> Option<f64> {
        self.number.or_else(|| {
            self.text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
        })
    }
}

/// What a field holds for an alert. Absent, null, `""` and `[]` are all `Missing`: the alert model
/// writes `""` for a text field the source did not give, as Log Analytics does for empty columns.
#[derive(Debug)]
pub(crate) enum Resolved<'a> {
    Missing,
    One(Scalar<'a>),
    /// A list; items that are not scalars (objects, nested lists) are left out, they equal nothing.
    Many(Vec<Scalar<'a>>),
    /// An object (only in `raw`): present, but equal to no value.
    Object,
}

/// Lower-cases without allocating when there is nothing to change.
pub(crate) fn lowercase(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        if text.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(text.to_ascii_lowercase())
        } else {
            Cow::Borrowed(text)
        }
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

/// An alert with a cache of resolved fields. `raw_slots` is how many distinct `raw.` paths the
/// rules that will read it name (see `RuleSet::new`).
pub(crate) struct AlertView<'a> {
    alert: &'a Alert,
    fields: [OnceCell<Resolved<'a>>; Field::COUNT],
    raw: Vec<OnceCell<Resolved<'a>>>,
}

impl<'a> AlertView<'a> {
    pub(crate) fn new(alert: &'a Alert, raw_slots: usize) -> AlertView<'a> {
        AlertView {
            alert,
            fields: std::array::from_fn(|_| OnceCell::new()),
            raw: std::iter::repeat_with(OnceCell::new)
                .take(raw_slots)
                .collect(),
        }
    }

    /// The alert's severity, `None` when the source gave none that Riposte knows: such an alert
    /// matches no severity condition but the negative ones.
    pub(crate) fn severity(&self) -> Option<Severity> {
        Some(self.alert.severity).filter(|s| *s != Severity::Unknown)
    }

    pub(crate) fn field(&self, field: Field) -> &Resolved<'a> {
        self.fields[field as usize].get_or_init(|| self.resolve(field))
    }

    /// A `raw.` path, cached in `slot`.
    pub(crate) fn raw(&self, path: &str, slot: usize) -> &Resolved<'a> {
        self.raw[slot].get_or_init(|| resolve_json(self.alert.raw_at(path)))
    }

    fn resolve(&self, field: Field) -> Resolved<'a> {
        let alert = self.alert;
        let text = |s: &'a str| {
            if s.is_empty() {
                Resolved::Missing
            } else {
                Resolved::One(Scalar::text(s))
            }
        };
        let list = |items: &'a [String]| {
            if items.is_empty() {
                Resolved::Missing
            } else {
                Resolved::Many(items.iter().map(|s| Scalar::text(s)).collect())
            }
        };
        match field {
            Field::Id => text(&alert.id),
            Field::Title => text(&alert.title),
            Field::Severity => match self.severity() {
                Some(severity) => text(severity.as_str()),
                None => Resolved::Missing,
            },
            Field::Status => text(&alert.status),
            Field::Provider => text(&alert.provider),
            Field::DetectionSource => text(alert.detection_source.as_deref().unwrap_or("")),
            Field::Description => text(&alert.description),
            Field::IncidentId => text(alert.incident_id.as_deref().unwrap_or("")),
            Field::Tactics => list(&alert.tactics),
            Field::Techniques => list(&alert.techniques),
            Field::EntityKinds => {
                let kinds: Vec<Scalar<'a>> = EntityKind::ALL
                    .into_iter()
                    .filter(|kind| alert.entities.iter().any(|e| e.kind == *kind))
                    .map(|kind| Scalar::text(kind.as_str()))
                    .collect();
                if kinds.is_empty() {
                    Resolved::Missing
                } else {
                    Resolved::Many(kinds)
                }
            }
        }
    }
}

fn json_scalar(value: &Value) -> Option<Scalar<'_>> {
    match value {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(Scalar::text(s)),
        Value::Number(n) => Some(Scalar::owned(n.to_string(), n.as_f64())),
        Value::Bool(b) => Some(Scalar::text(if *b { "true" } else { "false" })),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

fn resolve_json(value: Option<&Value>) -> Resolved<'_> {
    match value {
        None | Some(Value::Null) => Resolved::Missing,
        Some(Value::Array(items)) if items.is_empty() => Resolved::Missing,
        Some(Value::Array(items)) => Resolved::Many(items.iter().filter_map(json_scalar).collect()),
        Some(Value::Object(_)) => Resolved::Object,
        Some(scalar) => json_scalar(scalar).map_or(Resolved::Missing, Resolved::One),
    }
}
