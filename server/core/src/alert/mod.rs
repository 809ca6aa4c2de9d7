//! The alert model: one normalised [`Alert`] built from either alert shape a SOC hands Riposte, a
//! Microsoft Graph `security/alerts_v2` alert or a Microsoft Sentinel `SecurityAlert` table row.
//!
//! `serde_json::to_value(&alert)` is what the runtime gives the Python SDK, so the serialised keys
//! are exactly the attribute names of `Alert` and `Entity` in `sdk/riposte.pyi` (plus `source` and
//! `entities`). Parsing never panics: every malformed input becomes an [`AlertError`] that says what
//! was wrong and what was expected.

mod graph;
mod sentinel;

use std::fmt;

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};

/// A security alert, normalised from either source shape; `raw` keeps the input as it was sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// The alert's identifier in its source (Graph `id`, Sentinel `SystemAlertId`).
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// Status as the source names it, lower-cased (`inProgress` becomes `inprogress`); `""` when absent.
    pub status: String,
    /// Graph `serviceSource`, Sentinel `ProductName`; `""` when absent.
    pub provider: String,
    /// Graph `detectionSource`, Sentinel `ProviderName`.
    pub detection_source: Option<String>,
    /// `""` when absent.
    pub description: String,
    /// Graph `createdDateTime`, Sentinel `TimeGenerated` (or `StartTime`), as the source wrote it.
    pub created: Option<String>,
    pub incident_id: Option<String>,
    /// MITRE ATT&CK tactics: Graph `category`, Sentinel `Tactics`.
    pub tactics: Vec<String>,
    /// MITRE ATT&CK technique ids such as `T1564.001`.
    pub techniques: Vec<String>,
    pub recommended_actions: Option<String>,
    /// A link to the alert in its portal.
    pub url: Option<String>,
    /// Which input shape the alert was built from.
    pub source: AlertShape,
    pub entities: Vec<Entity>,
    /// The alert object exactly as it was given.
    pub raw: Value,
}

/// The input shape an [`Alert`] was built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertShape {
    /// A Microsoft Graph `security/alerts_v2` alert.
    Graph,
    /// A Microsoft Sentinel `SecurityAlert` table row.
    SecurityAlert,
}

impl AlertShape {
    /// The serialised name: `graph` or `security_alert`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertShape::Graph => "graph",
            AlertShape::SecurityAlert => "security_alert",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            AlertShape::Graph => "Microsoft Graph `security/alerts_v2`",
            AlertShape::SecurityAlert => "Sentinel `SecurityAlert`",
        }
    }
}

impl fmt::Display for AlertShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Alert severity. Ordered by urgency with `Unknown` lowest, so a rule such as "severity at least
/// low" never fires on an alert whose source gave no usable severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Unknown,
    Informational,
    Low,
    Medium,
    High,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Unknown,
        Severity::Informational,
        Severity::Low,
        Severity::Medium,
        Severity::High,
    ];

    /// The lower-case name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Unknown => "unknown",
        }
    }

    /// Parses a severity name case-insensitively (`High`, `high`, `HIGH`); `None` for anything else,
    /// including Graph's `unknownFutureValue`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        Severity::ALL
            .into_iter()
            .find(|severity| severity.as_str().eq_ignore_ascii_case(text))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of evidence, normalised from a Graph `evidence` item or a Sentinel `Entities` item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entity {
    pub kind: EntityKind,
    /// The main value: UPN, address, URL, file name, host name, mailbox address, command line or
    /// registry key path.
    pub value: String,
    /// VirusTotal's URL identifier (unpadded URL-safe base64 of `value`) for URLs, else `value`.
    pub id: String,
    /// The source's verdict (`malicious`, `suspicious`, `noThreatsFound`, `unknown`) when given.
    pub verdict: Option<String>,
    /// Roles the evidence plays (`attacker`, `compromised`, `contextual`, ...).
    pub roles: Vec<String>,
    /// Kind-specific fields in snake_case (`upn`, `sha256`, `device_id`, `sender`, ...), plus
    /// `source_type`: the source's own type name (`userEvidence`, `mailMessage`, ...).
    pub fields: Map<String, Value>,
    /// The item exactly as the source sent it (a Sentinel `$ref` item is given as the object it
    /// refers to).
    pub raw: Value,
}

impl Entity {
    /// A field from `fields`, as the SDK's `Entity.get` reads it.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// Builds an entity whose `id` follows from its kind and value.
    fn new(
        kind: EntityKind,
        value: String,
        verdict: Option<String>,
        roles: Vec<String>,
        fields: Map<String, Value>,
        raw: Value,
    ) -> Entity {
        let id = match kind {
            EntityKind::Url => url_id(&value),
            _ => value.clone(),
        };
        Entity {
            kind,
            value,
            id,
            verdict,
            roles,
            fields,
            raw,
        }
    }
}

/// What a piece of evidence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    User,
    Ip,
    Url,
    File,
    Device,
    Mailbox,
    Process,
    RegistryKey,
    CloudResource,
    Other,
}

impl EntityKind {
    /// Every kind, in the order the SDK stub lists them.
    pub const ALL: [EntityKind; 10] = [
        EntityKind::User,
        EntityKind::Ip,
        EntityKind::Url,
        EntityKind::File,
        EntityKind::Device,
        EntityKind::Mailbox,
        EntityKind::Process,
        EntityKind::RegistryKey,
        EntityKind::CloudResource,
        EntityKind::Other,
    ];

    /// The serialised name, as the SDK's `EntityKind` literal spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Ip => "ip",
            EntityKind::Url => "url",
            EntityKind::File => "file",
            EntityKind::Device => "device",
            EntityKind::Mailbox => "mailbox",
            EntityKind::Process => "process",
            EntityKind::RegistryKey => "registry_key",
            EntityKind::CloudResource => "cloud_resource",
            EntityKind::Other => "other",
        }
    }

    /// The kind with this serialised name (exact, as the SDK passes it).
    pub fn parse(text: &str) -> Option<Self> {
        EntityKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an alert could not be normalised.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error(
        "the alert is not valid JSON: {source}. Give one alert object exactly as Microsoft Graph or Log Analytics returned it"
    )]
    Json {
        line: usize,
        column: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "expected one alert object, got an array of {len}; pass a single alert (one element of the array) per call"
    )]
    Array { len: usize },
    #[error(
        "expected one alert object, got {found}; pass a Microsoft Graph `security/alerts_v2` alert or a Sentinel `SecurityAlert` row as a JSON object"
    )]
    NotAnObject { found: &'static str },
    #[error(
        "not a recognised alert: expected a Microsoft Graph `security/alerts_v2` alert (with `evidence`, `serviceSource` or `providerAlertId`) or a Sentinel `SecurityAlert` row (with `SystemAlertId`, `AlertName` or `Entities`), but the object has {keys}{hint}"
    )]
    UnknownShape { keys: String, hint: String },
    #[error("the {shape} alert has no `{field}`; {advice}")]
    MissingField {
        shape: AlertShape,
        field: &'static str,
        advice: &'static str,
    },
    #[error("`{field}` is {found}, expected {expected}")]
    WrongType {
        field: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error(
        "`Entities` is not valid JSON: {source}. It must be a JSON string holding an array of entities, as the SecurityAlert table stores it"
    )]
    Entities {
        #[source]
        source: serde_json::Error,
    },
}

impl Alert {
    /// Parses and normalises one alert given as JSON text.
    pub fn from_json(text: &str) -> Result<Alert, AlertError> {
        // Files saved by Windows tools often start with a byte-order mark, which serde_json refuses.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let value: Value = serde_json::from_str(text).map_err(|source| AlertError::Json {
            line: source.line(),
            column: source.column(),
            source,
        })?;
        Alert::from_value(value)
    }

    /// Normalises one alert already parsed as JSON.
    pub fn from_value(value: Value) -> Result<Alert, AlertError> {
        let object = match &value {
            Value::Object(object) => object,
            Value::Array(items) => return Err(AlertError::Array { len: items.len() }),
            other => {
                return Err(AlertError::NotAnObject {
                    found: json_type(other),
                });
            }
        };
        let mut alert = match detect_shape(object) {
            Some(AlertShape::Graph) => graph::alert(object)?,
            Some(AlertShape::SecurityAlert) => sentinel::alert(object)?,
            None => return Err(unknown_shape(object)),
        };
        alert.raw = value;
        Ok(alert)
    }

    /// The entities of one kind, in the order the source listed them.
    pub fn entities_of(&self, kind: EntityKind) -> impl Iterator<Item = &Entity> {
        self.entities
            .iter()
            .filter(move |entity| entity.kind == kind)
    }

    /// The value of a field for automation-rule conditions: "title", "severity", "status",
    /// "provider", "detection_source", "description", "tactics", "techniques", "entity_kinds",
    /// "incident_id" (also "id", "created", "url", "recommended_actions", "source"), or a dotted path
    /// into `raw` such as "raw.serviceSource" or "raw.evidence.0.verdict" (array items by index).
    /// Returns JSON (a string, list, ...) or None when the field is absent or null.
    pub fn field(&self, path: &str) -> Option<Value> {
        let text = |s: &str| Some(Value::String(s.to_owned()));
        let optional = |s: &Option<String>| s.as_deref().and_then(text);
        let list = |items: &[String]| Some(Value::from(items.to_vec()));
        match path {
            "id" => text(&self.id),
            "title" => text(&self.title),
            "severity" => text(self.severity.as_str()),
            "status" => text(&self.status),
            "provider" => text(&self.provider),
            "detection_source" => optional(&self.detection_source),
            "description" => text(&self.description),
            "created" => optional(&self.created),
            "incident_id" => optional(&self.incident_id),
            "tactics" => list(&self.tactics),
            "techniques" => list(&self.techniques),
            "recommended_actions" => optional(&self.recommended_actions),
            "url" => optional(&self.url),
            "source" => text(self.source.as_str()),
            "entity_kinds" => Some(Value::from(
                EntityKind::ALL
                    .into_iter()
                    .filter(|kind| self.entities.iter().any(|entity| entity.kind == *kind))
                    .map(|kind| kind.as_str())
                    .collect::<Vec<_>>(),
            )),
            "raw" => Some(self.raw.clone()),
            _ => self.raw_at(path.strip_prefix("raw.")?).cloned(),
        }
    }

    /// The value at a dotted path into `raw` (`serviceSource`, `evidence.0.verdict`: object keys,
    /// array items by index), without copying; None when absent or null.
    pub fn raw_at(&self, path: &str) -> Option<&Value> {
        let mut at = &self.raw;
        for segment in path.split('.') {
            at = match at {
                Value::Object(object) => object.get(segment)?,
                Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        (!at.is_null()).then_some(at)
    }
}

/// VirusTotal's URL identifier: the URL-safe base64 of the URL without `=` padding.
fn url_id(url: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url.as_bytes())
}

/// Which shape an object is. Unambiguous markers (`@odata.type`, `SystemAlertId`) are tried before
/// the keys both shapes could plausibly carry.
fn detect_shape(object: &Map<String, Value>) -> Option<AlertShape> {
    let odata = object.get("@odata.type").and_then(Value::as_str);
    if odata.is_some_and(|t| t.to_ascii_lowercase().contains("security.alert")) {
        return Some(AlertShape::Graph);
    }
    if object.contains_key("SystemAlertId") {
        return Some(AlertShape::SecurityAlert);
    }
    if ["evidence", "providerAlertId", "serviceSource"]
        .iter()
        .any(|key| object.contains_key(*key))
    {
        return Some(AlertShape::Graph);
    }
    if ["AlertName", "Entities"]
        .iter()
        .any(|key| object.contains_key(*key))
    {
        return Some(AlertShape::SecurityAlert);
    }
    None
}

fn unknown_shape(object: &Map<String, Value>) -> AlertError {
    const SHOWN: usize = 8;
    let keys = if object.is_empty() {
        "no keys".to_owned()
    } else {
        let mut names: Vec<String> = object
            .keys()
            .take(SHOWN)
            .map(|key| format!("`{key}`"))
            .collect();
        if object.len() > SHOWN {
            names.push(format!("... ({} keys in all)", object.len()));
        }
        format!("the keys {}", names.join(", "))
    };
    let odata = object
        .get("@odata.type")
        .and_then(Value::as_str)
        .unwrap_or("");
    let hint = if let Some(Value::Array(items)) = object.get("value") {
        format!(
            ". This looks like a list response with {} item(s): pass one element of `value`",
            items.len()
        )
    } else if odata.eq_ignore_ascii_case("#microsoft.graph.alert") {
        ". This is the retired Graph `security/alerts` (v1) shape: fetch the alert from `security/alerts_v2` instead".to_owned()
    } else if object.contains_key("properties") {
        ". This looks like an Azure resource envelope: pass the SecurityAlert table row or the Graph alert itself".to_owned()
    } else {
        String::new()
    };
    AlertError::UnknownShape { keys, hint }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// --- Reading alert-level fields strictly: a wrong type there is an error, not silently ignored. ---

/// A text field of the alert: strings as given (empty ones count as absent, as Log Analytics writes
/// absent columns as `""`), numbers as their decimal text, null or missing as `None`.
fn alert_text(object: &Map<String, Value>, key: &str) -> Result<Option<String>, AlertError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(AlertError::WrongType {
            field: key.to_owned(),
            expected: "a string",
            found: json_type(other),
        }),
    }
}

/// The first of several alert text fields that is present.
fn first_text(object: &Map<String, Value>, keys: &[&str]) -> Result<Option<String>, AlertError> {
    for key in keys {
        if let Some(text) = alert_text(object, key)? {
            return Ok(Some(text));
        }
    }
    Ok(None)
}

fn severity_of(text: Option<String>) -> Severity {
    text.as_deref()
        .and_then(Severity::parse)
        .unwrap_or(Severity::Unknown)
}

/// A list of strings given as a JSON array; non-string items are skipped, as they carry no name.
fn string_list(field: &str, value: Option<&Value>) -> Result<Vec<String>, AlertError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()),
        Some(other) => Err(AlertError::WrongType {
            field: field.to_owned(),
            expected: "an array of strings",
            found: json_type(other),
        }),
    }
}

// --- Reading evidence leniently: evidence is informative, so an odd field is skipped, not fatal. ---

/// A string or number field of an evidence object, as text; empty strings count as absent.
fn text(object: &Map<String, Value>, key: &str) -> Option<String> {
    match object.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The first of several evidence fields that holds text.
fn text_of(object: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| text(object, key))
}

/// A nested object field.
fn object_at<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Map<String, Value>> {
    object.get(key)?.as_object()
}

/// Collects normalised fields, leaving out the ones the source did not give.
#[derive(Default)]
struct Fields(Map<String, Value>);

impl Fields {
    fn text(&mut self, name: &str, value: Option<String>) -> &mut Self {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            self.0.insert(name.to_owned(), Value::String(value));
        }
        self
    }

    /// A number kept as a JSON number; a numeric string (Sentinel writes process ids as text) is
    /// converted so both sources give the same type.
    fn number(&mut self, name: &str, value: Option<&Value>) -> &mut Self {
        let number = match value {
            Some(Value::Number(n)) => Some(Value::Number(n.clone())),
            Some(Value::String(s)) => match s.trim().parse::<i64>() {
                Ok(n) => Some(Value::from(n)),
                Err(_) if !s.trim().is_empty() => Some(Value::String(s.clone())),
                Err(_) => None,
            },
            _ => None,
        };
        if let Some(number) = number {
            self.0.insert(name.to_owned(), number);
        }
        self
    }

    /// A list of strings; absent or empty lists are left out.
    fn strings(&mut self, name: &str, value: Option<&Value>) -> &mut Self {
        let items: Vec<Value> = value
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter(|item| item.as_str().is_some_and(|s| !s.is_empty()))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if !items.is_empty() {
            self.0.insert(name.to_owned(), Value::Array(items));
        }
        self
    }

    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).and_then(Value::as_str).map(str::to_owned)
    }
}

/// The host name of an absolute URL, when it has one.
fn url_host(value: &str) -> Option<String> {
    url::Url::parse(value)
        .ok()
        .and_then(|parsed| parsed.host_str().map(str::to_owned))
}

/// The first label of a fully qualified name (`ws-01.contoso.example` → `ws-01`).
fn first_label(fqdn: &str) -> Option<String> {
    fqdn.split('.')
        .next()
        .filter(|label| !label.is_empty())
        .map(str::to_owned)
}

/// `HIVE\key` when the hive is known, else the key alone.
fn registry_path(hive: Option<&str>, key: Option<&str>) -> String {
    match (hive, key) {
        (Some(hive), Some(key)) => format!("{hive}\\{}", key.trim_start_matches('\\')),
        (Some(hive), None) => hive.to_owned(),
        (None, Some(key)) => key.to_owned(),
        (None, None) => String::new(),
    }
}
