//! Normalising a Microsoft Sentinel `SecurityAlert` table row. Its `Entities` column is a JSON string
//! written with .NET reference preservation: each entity object is written once with a `$id`, and
//! every later occurrence, at the top level or nested (a process's `ImageFile`), is `{"$ref": id}`.
//! Entity field names follow the Sentinel entity schema reference.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::{
    Alert, AlertError, AlertShape, Entity, EntityKind, Fields, alert_text, first_label, first_text,
    json_type, object_at, registry_path, severity_of, text, text_of, url_host,
};

/// How deep the `$id` collection walks. Parsed `Entities` cannot be deeper than serde_json's
/// recursion limit anyway; this bounds an already-parsed `Value` handed to `from_value`.
const MAX_DEPTH: usize = 128;
/// How many `$ref` → `$ref` hops are followed before a chain is taken to be a cycle.
const MAX_HOPS: usize = 16;

pub(super) fn alert(object: &Map<String, Value>) -> Result<Alert, AlertError> {
    let id = alert_text(object, "SystemAlertId")?.ok_or(AlertError::MissingField {
        shape: AlertShape::SecurityAlert,
        field: "SystemAlertId",
        advice: "export the whole SecurityAlert row (`SecurityAlert | where ...`), which always has this column",
    })?;
    let items = entity_items(object.get("Entities"))?;
    let compromised = alert_text(object, "CompromisedEntity")?;
    Ok(Alert {
        id,
        title: first_text(object, &["DisplayName", "AlertName"])?.unwrap_or_default(),
        severity: severity_of(first_text(object, &["AlertSeverity", "Severity"])?),
        status: alert_text(object, "Status")?
            .unwrap_or_default()
            .to_lowercase(),
        provider: alert_text(object, "ProductName")?.unwrap_or_default(),
        detection_source: alert_text(object, "ProviderName")?,
        description: alert_text(object, "Description")?.unwrap_or_default(),
        created: first_text(object, &["TimeGenerated", "StartTime"])?,
        incident_id: incident_id(object.get("ExtendedProperties")),
        tactics: tactics(object.get("Tactics"))?,
        techniques: techniques(object.get("Techniques"))?,
        recommended_actions: remediation_steps(object.get("RemediationSteps"))?,
        url: alert_text(object, "AlertLink")?,
        source: AlertShape::SecurityAlert,
        entities: entities(&items, compromised.as_deref()),
        raw: Value::Null,
    })
}

/// The `Entities` column as a list of items. Log Analytics returns it as a string; a row that went
/// through `parse_json` already holds the array, and both are accepted.
fn entity_items(column: Option<&Value>) -> Result<Vec<Value>, AlertError> {
    let parsed;
    let value = match column {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(Vec::new()),
        Some(Value::String(s)) => {
            parsed = serde_json::from_str::<Value>(s)
                .map_err(|source| AlertError::Entities { source })?;
            &parsed
        }
        Some(value) => value,
    };
    match value {
        Value::Array(items) => Ok(items.clone()),
        Value::Object(_) => Ok(vec![value.clone()]),
        other => Err(AlertError::WrongType {
            field: "Entities".to_owned(),
            expected: "a JSON array of entity objects",
            found: json_type(other),
        }),
    }
}

/// `Tactics` is a comma-separated string (`InitialAccess, Persistence`).
fn tactics(column: Option<&Value>) -> Result<Vec<String>, AlertError> {
    match column {
        Some(Value::String(s)) => Ok(split_list(s)),
        other => super::string_list("Tactics", other),
    }
}

/// `Techniques` is a JSON array written as a string (`["T1110","T1078"]`); plain comma-separated
/// text is accepted too, since hand-made rows often use it.
fn techniques(column: Option<&Value>) -> Result<Vec<String>, AlertError> {
    match column {
        Some(Value::String(s)) => Ok(match serde_json::from_str::<Value>(s) {
            Ok(value @ Value::Array(_)) => super::string_list("Techniques", Some(&value))?,
            _ => split_list(s.trim().trim_start_matches('[').trim_end_matches(']'))
                .into_iter()
                .map(|item| item.trim_matches('"').to_owned())
                .filter(|item| !item.is_empty())
                .collect(),
        }),
        other => super::string_list("Techniques", other),
    }
}

/// `RemediationSteps` is a JSON array of steps written as a string; the steps are joined one per
/// line. Text that is not such an array is kept as it is.
fn remediation_steps(column: Option<&Value>) -> Result<Option<String>, AlertError> {
    let steps = match column {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(items)) => items,
            _ => return Ok(Some(s.clone())),
        },
        Some(Value::Array(items)) => items.clone(),
        Some(other) => {
            return Err(AlertError::WrongType {
                field: "RemediationSteps".to_owned(),
                expected: "a string",
                found: json_type(other),
            });
        }
    };
    let lines: Vec<&str> = steps
        .iter()
        .filter_map(Value::as_str)
        .filter(|s| !s.is_empty())
        .collect();
    Ok((!lines.is_empty()).then(|| lines.join("\n")))
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The incident id, when the provider put one in `ExtendedProperties` (spelled `IncidentId`,
/// `incidentId` or `Incident Id`). The SecurityAlert table itself has no incident column, and
/// `ExtendedProperties` is informative only, so text that is not a JSON object is ignored.
fn incident_id(column: Option<&Value>) -> Option<String> {
    let parsed;
    let properties = match column? {
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).ok()?;
            parsed.as_object()?
        }
        Value::Object(object) => object,
        _ => return None,
    };
    properties.iter().find_map(|(key, value)| {
        let normalised: String = key
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if normalised != "incidentid" {
            return None;
        }
        match value {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    })
}

/// The `$id` or `$ref` of an object (written as a string, but accepted as a number).
fn reference(object: &Map<String, Value>, key: &str) -> Option<String> {
    match object.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Every object that carries a `$id`, wherever in the entity tree it was written.
struct Refs<'a> {
    by_id: HashMap<String, &'a Map<String, Value>>,
}

impl<'a> Refs<'a> {
    fn collect(items: &'a [Value]) -> Refs<'a> {
        let mut refs = Refs {
            by_id: HashMap::new(),
        };
        for item in items {
            refs.walk(item, 0);
        }
        refs
    }

    fn walk(&mut self, value: &'a Value, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match value {
            Value::Object(object) => {
                if let Some(id) = reference(object, "$id") {
                    self.by_id.entry(id).or_insert(object);
                }
                for child in object.values() {
                    self.walk(child, depth + 1);
                }
            }
            Value::Array(items) => {
                for child in items {
                    self.walk(child, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// The object a value stands for: itself, or what its `$ref` points to. A dangling or cyclic
    /// reference resolves to nothing.
    fn resolve(&self, value: &'a Value) -> Option<&'a Map<String, Value>> {
        let mut object = value.as_object()?;
        for _ in 0..MAX_HOPS {
            if !object.contains_key("$ref") {
                return Some(object);
            }
            object = self.by_id.get(&reference(object, "$ref")?)?;
        }
        None
    }

    /// A nested entity field, resolved.
    fn field(&self, object: &'a Map<String, Value>, key: &str) -> Option<&'a Map<String, Value>> {
        self.resolve(object.get(key)?)
    }
}

/// The entity type, lower-cased without separators: Sentinel writes both `mailMessage` and
/// `mail-message`, `registry-key`, `cloud-application`, `SubmissionMail`.
fn entity_type(object: &Map<String, Value>) -> String {
    object
        .get("Type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

fn entities(items: &[Value], compromised: Option<&str>) -> Vec<Entity> {
    let refs = Refs::collect(items);
    let mut seen = HashSet::new();
    // A top-level `$ref` repeats an entity written inline earlier; list each entity once.
    let objects: Vec<&Map<String, Value>> = items
        .iter()
        .filter_map(|item| refs.resolve(item))
        .filter(|object| reference(object, "$id").is_none_or(|id| seen.insert(id)))
        .collect();
    // Sentinel lists a file's hashes as entities of their own; those are folded into the file so a
    // hash lookup playbook sees each file once.
    let covered: HashSet<String> = objects
        .iter()
        .filter(|object| entity_type(object) == "file")
        .flat_map(|file| hashes(file, &refs))
        .map(|(_, value)| value.to_ascii_lowercase())
        .collect();
    let mut entities: Vec<Entity> = objects
        .into_iter()
        .filter_map(|object| entity(object, &refs, &covered))
        .collect();
    if let Some(compromised) = compromised {
        mark_compromised(&mut entities, compromised);
    }
    entities
}

/// `CompromisedEntity` names the alert's main entity by its display name; the first entity it names
/// gets the `compromised` role, as Graph evidence would carry it. Only the first: a mail message
/// sent to a compromised mailbox shares its address but is not itself compromised.
fn mark_compromised(entities: &mut [Entity], name: &str) {
    const NAMES: [&str; 5] = ["host_name", "dns_name", "account_name", "upn", "address"];
    let named = entities.iter_mut().find(|entity| {
        entity.value.eq_ignore_ascii_case(name)
            || NAMES.iter().any(|field| {
                entity
                    .fields
                    .get(*field)
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.eq_ignore_ascii_case(name))
            })
    });
    if let Some(entity) = named {
        entity.roles.push("compromised".to_owned());
    }
}

/// A file's hashes as (field name, value), from its `FileHashes` list of `filehash` entities.
fn hashes<'a>(file: &'a Map<String, Value>, refs: &Refs<'a>) -> Vec<(&'static str, String)> {
    let Some(Value::Array(items)) = file.get("FileHashes") else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| refs.resolve(item))
        .filter_map(hash_of)
        .collect()
}

/// A `filehash` entity as (field name, value); algorithms other than MD5, SHA1 and SHA256 have no
/// normalised field.
fn hash_of(object: &Map<String, Value>) -> Option<(&'static str, String)> {
    let algorithm = text(object, "Algorithm")?;
    let field = match algorithm.to_ascii_lowercase().as_str() {
        "md5" => "md5",
        "sha1" => "sha1",
        "sha256" => "sha256",
        _ => return None,
    };
    Some((field, text(object, "Value")?))
}

fn entity<'a>(
    object: &'a Map<String, Value>,
    refs: &Refs<'a>,
    covered: &HashSet<String>,
) -> Option<Entity> {
    let lower = entity_type(object);
    let mut fields = Fields::default();
    fields.text("source_type", text(object, "Type"));
    let (kind, value) = match lower.as_str() {
        "account" => (EntityKind::User, account(object, &mut fields)),
        "host" => (EntityKind::Device, host(object, &mut fields)),
        "ip" => (EntityKind::Ip, ip(object, &mut fields)),
        "url" => {
            let url = text(object, "Url");
            fields.text("url", url.clone());
            fields.text("host", url.as_deref().and_then(url_host));
            (EntityKind::Url, url.unwrap_or_default())
        }
        "file" => (EntityKind::File, file(object, refs, &mut fields)),
        "filehash" => {
            let value = text(object, "Value").unwrap_or_default();
            if covered.contains(&value.to_ascii_lowercase()) {
                return None;
            }
            fields.text("algorithm", text(object, "Algorithm"));
            if let Some((name, hash)) = hash_of(object) {
                fields.text(name, Some(hash));
            }
            (EntityKind::File, value)
        }
        "process" => (EntityKind::Process, process(object, refs, &mut fields)),
        "mailbox" => (EntityKind::Mailbox, mailbox(object, &mut fields)),
        "mailmessage" => (EntityKind::Mailbox, mail_message(object, &mut fields)),
        "submissionmail" => (EntityKind::Mailbox, submission(object, &mut fields)),
        "registrykey" | "registryvalue" => {
            (EntityKind::RegistryKey, registry(object, refs, &mut fields))
        }
        "azureresource" => (
            EntityKind::CloudResource,
            azure_resource(object, &mut fields),
        ),
        "cloudapplication" => (EntityKind::CloudResource, cloud_app(object, &mut fields)),
        _ => (EntityKind::Other, other(object, &mut fields)),
    };
    Some(Entity::new(
        kind,
        value,
        None,
        Vec::new(),
        fields.0,
        Value::Object(object.clone()),
    ))
}

fn account(object: &Map<String, Value>, fields: &mut Fields) -> String {
    let name = text(object, "Name");
    let suffix = text(object, "UPNSuffix");
    let upn = match (&name, &suffix) {
        (Some(name), Some(suffix)) => Some(format!("{name}@{suffix}")),
        // Some providers put the whole UPN in `Name`.
        (Some(name), None) if name.contains('@') => Some(name.clone()),
        _ => None,
    };
    let display = text(object, "DisplayName");
    let object_id = text(object, "AadUserId");
    let sid = text(object, "Sid");
    fields
        .text("upn", upn.clone())
        .text("account_name", name.clone())
        .text("domain", text_of(object, &["NTDomain", "DnsDomain"]))
        .text("nt_domain", text(object, "NTDomain"))
        .text("dns_domain", text(object, "DnsDomain"))
        .text("display_name", display.clone())
        .text("object_id", object_id.clone())
        .text("aad_user_id", object_id.clone())
        .text("tenant_id", text(object, "AadTenantId"))
        .text("sid", sid.clone())
        .text("object_guid", text(object, "ObjectGuid"))
        .text("puid", text(object, "PUID"))
        .text("cloud_app_account_id", text(object, "CloudAppAccountId"));
    upn.or(name)
        .or(display)
        .or(object_id)
        .or(sid)
        .unwrap_or_default()
}

fn host(object: &Map<String, Value>, fields: &mut Fields) -> String {
    let fqdn = text(object, "FQDN");
    let host_name = text_of(object, &["HostName", "NetBiosName"])
        .or_else(|| fqdn.as_deref().and_then(first_label));
    let dns_domain = text(object, "DnsDomain");
    let dns_name = fqdn.or_else(|| match (&host_name, &dns_domain) {
        (Some(host), Some(domain)) => Some(format!("{host}.{domain}")),
        _ => None,
    });
    let azure_id = text(object, "AzureID");
    fields
        .text("host_name", host_name.clone())
        .text("dns_name", dns_name.clone())
        .text("dns_domain", dns_domain)
        .text("nt_domain", text(object, "NTDomain"))
        .text("netbios_name", text(object, "NetBiosName"))
        .text("device_id", text(object, "MdatpDeviceId"))
        .text("azure_id", azure_id.clone())
        .text("oms_agent_id", text(object, "OMSAgentID"))
        .text("os", text(object, "OSFamily"))
        .text("os_version", text(object, "OSVersion"));
    host_name
        .or(dns_name)
        .or(azure_id)
        .or_else(|| text(object, "MdatpDeviceId"))
        .unwrap_or_default()
}

fn ip(object: &Map<String, Value>, fields: &mut Fields) -> String {
    let address = text(object, "Address");
    fields.text("address", address.clone());
    if let Some(location) = object_at(object, "Location") {
        fields
            .text("country", text(location, "CountryCode"))
            .text("country_name", text(location, "CountryName"))
            .text("state", text(location, "State"))
            .text("city", text(location, "City"))
            .number("asn", location.get("Asn"))
            .text("organization", text(location, "Organization"));
    }
    address.unwrap_or_default()
}

fn file<'a>(object: &'a Map<String, Value>, refs: &Refs<'a>, fields: &mut Fields) -> String {
    let name = text(object, "Name");
    fields
        .text("name", name.clone())
        .text("path", text(object, "Directory"))
        .number("size", object.get("SizeInBytes"));
    for (algorithm, value) in hashes(object, refs) {
        fields.text(algorithm, Some(value));
    }
    if let Some(host) = refs.field(object, "Host") {
        fields.text("host_name", text(host, "HostName"));
    }
    name.or_else(|| fields.get("sha256"))
        .or_else(|| fields.get("sha1"))
        .or_else(|| fields.get("md5"))
        .unwrap_or_default()
}

fn process<'a>(object: &'a Map<String, Value>, refs: &Refs<'a>, fields: &mut Fields) -> String {
    let command_line = text(object, "CommandLine");
    fields
        .text("command_line", command_line.clone())
        .number("process_id", object.get("ProcessId"))
        .text("created", text(object, "CreationTimeUtc"))
        .text("elevation_token", text(object, "ElevationToken"));
    if let Some(image) = refs.field(object, "ImageFile") {
        fields
            .text("image_file", text(image, "Name"))
            .text("path", text(image, "Directory"));
        for (algorithm, value) in hashes(image, refs) {
            fields.text(algorithm, Some(value));
        }
    }
    if let Some(parent) = refs.field(object, "ParentProcess") {
        fields.number("parent_process_id", parent.get("ProcessId"));
        if let Some(image) = refs.field(parent, "ImageFile") {
            fields.text("parent_image_file", text(image, "Name"));
        }
    }
    if let Some(account) = refs.field(object, "Account") {
        fields
            .text("account_name", text(account, "Name"))
            .text("domain", text(account, "NTDomain"))
            .text("sid", text(account, "Sid"));
    }
    if let Some(host) = refs.field(object, "Host") {
        fields.text("host_name", text(host, "HostName"));
    }
    command_line
        .or_else(|| fields.get("image_file"))
        .or_else(|| text(object, "ProcessId"))
        .unwrap_or_default()
}

fn mailbox(object: &Map<String, Value>, fields: &mut Fields) -> String {
    let address = text(object, "MailboxPrimaryAddress");
    let upn = text(object, "Upn");
    let display = text(object, "DisplayName");
    fields
        .text("address", address.clone())
        .text("display_name", display.clone())
        .text("upn", upn.clone())
        .text(
            "object_id",
            text_of(object, &["AadId", "ExternalDirectoryObjectId"]),
        )
        .text("risk_level", text(object, "RiskLevel"));
    address.or(upn).or(display).unwrap_or_default()
}

/// A mail message is reported as a mailbox (the recipient's) with the message's details, as Graph's
/// `analyzedMessageEvidence` is.
fn mail_message(object: &Map<String, Value>, fields: &mut Fields) -> String {
    let recipient = text(object, "Recipient");
    let network_message_id = text(object, "NetworkMessageId");
    fields
        .text("address", recipient.clone())
        .text("recipient", recipient.clone())
        .text(
            "sender",
            text_of(object, &["Sender", "P2Sender", "P1Sender"]),
        )
        .text(
            "sender_display_name",
            text_of(object, &["P2SenderDisplayName", "P1SenderDisplayName"]),
        )
        .text("p1_sender", text(object, "P1Sender"))
        .text("p2_sender", text(object, "P2Sender"))
        .text("sender_ip", text(object, "SenderIP"))
        .text("subject", text(object, "Subject"))
        .text("network_message_id", network_message_id.clone())
        .text("internet_message_id", text(object, "InternetMessageId"))
        .text("received", text(object, "ReceivedDate"))
        .text("direction", text(object, "AntispamDirection"))
        .text("delivery_action", text(object, "DeliveryAction"))
        .text("delivery_location", text(object, "DeliveryLocation"))
        .strings("urls", object.get("Urls"))
        .strings("threats", object.get("Threats"));
    recipient.or(network_message_id).unwrap_or_default()
}

fn submission(object: &Map<String, Value>, fields: &mut Fields) -> String {
    let recipient = text(object, "Recipient");
    let network_message_id = text(object, "NetworkMessageId");
    fields
        .text("address", recipient.clone())
        .text("recipient", recipient.clone())
        .text("sender", text(object, "Sender"))
        .text("sender_ip", text(object, "SenderIp"))
        .text("subject", text(object, "Subject"))
        .text("network_message_id", network_message_id.clone())
        .text("submitter", text(object, "Submitter"))
        .text("report_type", text(object, "ReportType"))
        .text("submission_id", text(object, "SubmissionId"));
    recipient.or(network_message_id).unwrap_or_default()
}

/// A `registry-key`, or a `registry-value` whose `Key` is a registry-key entity (inline or `$ref`).
fn registry<'a>(object: &'a Map<String, Value>, refs: &Refs<'a>, fields: &mut Fields) -> String {
    let key_entity = refs.field(object, "Key");
    let (hive, key) = match key_entity {
        Some(key_entity) => (text(key_entity, "Hive"), text(key_entity, "Key")),
        None => (text(object, "Hive"), text(object, "Key")),
    };
    fields.text("key", key.clone()).text("hive", hive.clone());
    if entity_type(object) == "registryvalue" {
        fields
            .text("value_name", text(object, "Name"))
            .text("value_data", text(object, "Value"))
            .text("value_type", text(object, "ValueType"));
    }
    registry_path(hive.as_deref(), key.as_deref())
}

fn azure_resource(object: &Map<String, Value>, fields: &mut Fields) -> String {
    let id = text(object, "ResourceId");
    fields
        .text("cloud", Some("azure".to_owned()))
        .text("resource_id", id.clone())
        .text("resource_name", text(object, "ResourceName"))
        .text("resource_type", text(object, "ResourceType"))
        .text("subscription_id", text(object, "SubscriptionId"));
    id.unwrap_or_default()
}

fn cloud_app(object: &Map<String, Value>, fields: &mut Fields) -> String {
    let name = text(object, "Name");
    fields
        .text("display_name", name.clone())
        .number("app_id", object.get("AppId"))
        .number("saas_app_id", object.get("SaasId"))
        .number("instance_id", object.get("InstanceId"))
        .text("instance_name", text(object, "InstanceName"));
    name.or_else(|| text(object, "InstanceName"))
        .or_else(|| text_of(object, &["SaasId", "AppId"]))
        .unwrap_or_default()
}

fn other(object: &Map<String, Value>, fields: &mut Fields) -> String {
    let value = text_of(
        object,
        &[
            "DisplayName",
            "Name",
            "DomainName",
            "DistinguishedName",
            "DeviceName",
            "DeviceId",
            "Query",
        ],
    );
    fields.text("name", value.clone());
    value.unwrap_or_default()
}
