//! Normalising a Microsoft Graph `security/alerts_v2` alert and its `evidence` items. Property names
//! follow the Graph v1.0 `microsoft.graph.security` resource types (`alert`, `userEvidence`,
//! `fileDetails`, `userAccount`, ...).

use serde_json::{Map, Value};

use super::{
    Alert, AlertError, AlertShape, Entity, EntityKind, Fields, alert_text, first_label, first_text,
    object_at, registry_path, severity_of, string_list, text, text_of, url_host,
};

pub(super) fn alert(object: &Map<String, Value>) -> Result<Alert, AlertError> {
    let id = first_text(object, &["id", "providerAlertId"])?.ok_or(AlertError::MissingField {
        shape: AlertShape::Graph,
        field: "id",
        advice: "give the alert as `GET /security/alerts_v2/{id}` returns it (or set `providerAlertId`)",
    })?;
    let evidence = match object.get("evidence") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(items)) => items.as_slice(),
        Some(other) => {
            return Err(AlertError::WrongType {
                field: "evidence".to_owned(),
                expected: "an array of evidence objects",
                found: super::json_type(other),
            });
        }
    };
    Ok(Alert {
        id,
        title: alert_text(object, "title")?.unwrap_or_default(),
        severity: severity_of(alert_text(object, "severity")?),
        status: alert_text(object, "status")?
            .unwrap_or_default()
            .to_lowercase(),
        provider: first_text(object, &["serviceSource", "productName"])?.unwrap_or_default(),
        detection_source: alert_text(object, "detectionSource")?,
        description: alert_text(object, "description")?.unwrap_or_default(),
        created: alert_text(object, "createdDateTime")?,
        incident_id: alert_text(object, "incidentId")?,
        // Graph gives one ATT&CK tactic per alert, as its `category`.
        tactics: alert_text(object, "category")?.into_iter().collect(),
        techniques: string_list("mitreTechniques", object.get("mitreTechniques"))?,
        recommended_actions: alert_text(object, "recommendedActions")?,
        url: alert_text(object, "alertWebUrl")?,
        source: AlertShape::Graph,
        // Items that are not objects carry no evidence; skipping them keeps the rest usable.
        entities: evidence
            .iter()
            .filter_map(Value::as_object)
            .map(entity)
            .collect(),
        raw: Value::Null,
    })
}

/// The evidence type without its namespace, lower-cased: `#microsoft.graph.security.ipEvidence` →
/// `ipevidence`. Graph's own documentation spells some types with a capital (`AmazonResourceEvidence`).
fn evidence_type(item: &Map<String, Value>) -> (String, String) {
    let full = item
        .get("@odata.type")
        .and_then(Value::as_str)
        .unwrap_or("");
    let short = full
        .rsplit('.')
        .next()
        .unwrap_or("")
        .trim_start_matches('#');
    (short.to_owned(), short.to_ascii_lowercase())
}

fn entity(item: &Map<String, Value>) -> Entity {
    let (source_type, lower) = evidence_type(item);
    let mut fields = Fields::default();
    fields.text("source_type", Some(source_type));
    let (kind, value) = match lower.as_str() {
        "userevidence" => (EntityKind::User, user(item, &mut fields)),
        "ipevidence" => (EntityKind::Ip, ip(item, &mut fields)),
        "urlevidence" => {
            let url = text(item, "url");
            fields.text("url", url.clone());
            fields.text("host", url.as_deref().and_then(url_host));
            (EntityKind::Url, url.unwrap_or_default())
        }
        "fileevidence" => (EntityKind::File, file(item, &mut fields)),
        "processevidence" => (EntityKind::Process, process(item, &mut fields)),
        "deviceevidence" => (EntityKind::Device, device(item, &mut fields)),
        "mailboxevidence" => (EntityKind::Mailbox, mailbox(item, &mut fields)),
        "analyzedmessageevidence" => (EntityKind::Mailbox, message(item, &mut fields)),
        "submissionmailevidence" => (EntityKind::Mailbox, submission(item, &mut fields)),
        "registrykeyevidence" | "registryvalueevidence" => {
            (EntityKind::RegistryKey, registry(item, &mut fields))
        }
        "cloudapplicationevidence" => (EntityKind::CloudResource, cloud_app(item, &mut fields)),
        "azureresourceevidence" | "amazonresourceevidence" | "googlecloudresourceevidence" => (
            EntityKind::CloudResource,
            cloud_resource(item, &lower, &mut fields),
        ),
        _ => (EntityKind::Other, other(item, &mut fields)),
    };
    Entity::new(
        kind,
        value,
        text(item, "verdict"),
        string_list("roles", item.get("roles")).unwrap_or_default(),
        fields.0,
        Value::Object(item.clone()),
    )
}

/// Fills the fields of a Graph `userAccount`; returns the best value for the user.
fn user_account(account: Option<&Map<String, Value>>, fields: &mut Fields) -> Option<String> {
    let account = account?;
    let upn = text(account, "userPrincipalName");
    let name = text(account, "accountName");
    let display = text(account, "displayName");
    let object_id = text(account, "azureAdUserId");
    let sid = text(account, "userSid");
    fields
        .text("upn", upn.clone())
        .text("account_name", name.clone())
        .text("domain", text(account, "domainName"))
        .text("display_name", display.clone())
        .text("object_id", object_id.clone())
        .text("aad_user_id", object_id.clone())
        .text("sid", sid.clone())
        .text("object_guid", text(account, "activeDirectoryObjectGuid"));
    upn.or(name).or(display).or(object_id).or(sid)
}

fn user(item: &Map<String, Value>, fields: &mut Fields) -> String {
    user_account(object_at(item, "userAccount"), fields).unwrap_or_default()
}

fn ip(item: &Map<String, Value>, fields: &mut Fields) -> String {
    let address = text(item, "ipAddress");
    fields
        .text("address", address.clone())
        .text("country", text(item, "countryLetterCode"));
    if let Some(location) = object_at(item, "location") {
        fields
            .text("country_name", text(location, "countryName"))
            .text("state", text(location, "state"))
            .text("city", text(location, "city"));
    }
    address.unwrap_or_default()
}

/// Fills the fields of a Graph `fileDetails`; returns the file name or, failing that, a hash.
fn file_details(details: Option<&Map<String, Value>>, fields: &mut Fields) -> Option<String> {
    let details = details?;
    let name = text(details, "fileName");
    fields
        .text("name", name.clone())
        .text("path", text(details, "filePath"))
        .text("sha256", text(details, "sha256"))
        .text("sha1", text(details, "sha1"))
        .text("md5", text(details, "md5"))
        .number("size", details.get("fileSize"))
        .text("publisher", text(details, "filePublisher"))
        .text("signer", text(details, "signer"))
        .text("issuer", text(details, "issuer"));
    name.or_else(|| fields.get("sha256"))
        .or_else(|| fields.get("sha1"))
        .or_else(|| fields.get("md5"))
}

fn file(item: &Map<String, Value>, fields: &mut Fields) -> String {
    let value = file_details(object_at(item, "fileDetails"), fields);
    fields
        .text("device_id", text(item, "mdeDeviceId"))
        .text("detection_status", text(item, "detectionStatus"));
    value.unwrap_or_default()
}

fn process(item: &Map<String, Value>, fields: &mut Fields) -> String {
    let command_line = text(item, "processCommandLine");
    fields
        .text("command_line", command_line.clone())
        .number("process_id", item.get("processId"))
        .number("parent_process_id", item.get("parentProcessId"))
        .text("created", text(item, "processCreationDateTime"))
        .text("device_id", text(item, "mdeDeviceId"))
        .text("detection_status", text(item, "detectionStatus"));
    if let Some(image) = object_at(item, "imageFile") {
        fields
            .text("image_file", text(image, "fileName"))
            .text("path", text(image, "filePath"))
            .text("sha256", text(image, "sha256"))
            .text("sha1", text(image, "sha1"))
            .text("md5", text(image, "md5"));
    }
    if let Some(parent) = object_at(item, "parentProcessImageFile") {
        fields.text("parent_image_file", text(parent, "fileName"));
    }
    if let Some(account) = object_at(item, "userAccount") {
        fields
            .text("account_name", text(account, "accountName"))
            .text("domain", text(account, "domainName"))
            .text("upn", text(account, "userPrincipalName"))
            .text("sid", text(account, "userSid"));
    }
    command_line
        .or_else(|| fields.get("image_file"))
        .or_else(|| text(item, "processId"))
        .unwrap_or_default()
}

fn device(item: &Map<String, Value>, fields: &mut Fields) -> String {
    let dns_name = text(item, "deviceDnsName");
    // Graph's `hostName` is the name without the domain; older alerts only give the FQDN.
    let host_name = text(item, "hostName").or_else(|| dns_name.as_deref().and_then(first_label));
    let device_id = text(item, "mdeDeviceId");
    fields
        .text("host_name", host_name.clone())
        .text("dns_name", dns_name.clone())
        .text("device_id", device_id.clone())
        .text("aad_device_id", text(item, "azureAdDeviceId"))
        .text("os", text(item, "osPlatform"))
        .text("os_version", text(item, "version"))
        .number("os_build", item.get("osBuild"))
        .text("dns_domain", text(item, "dnsDomain"))
        .text("nt_domain", text(item, "ntDomain"))
        .strings("ip_addresses", item.get("ipInterfaces"))
        .text("last_ip_address", text(item, "lastIpAddress"))
        .text(
            "last_external_ip_address",
            text(item, "lastExternalIpAddress"),
        )
        .text("risk_score", text(item, "riskScore"))
        .text("health_status", text(item, "healthStatus"));
    host_name.or(dns_name).or(device_id).unwrap_or_default()
}

fn mailbox(item: &Map<String, Value>, fields: &mut Fields) -> String {
    let address = text(item, "primaryAddress");
    let account = object_at(item, "userAccount");
    let upn = text(item, "upn").or_else(|| account.and_then(|a| text(a, "userPrincipalName")));
    let display = text(item, "displayName");
    fields
        .text("address", address.clone())
        .text("display_name", display.clone())
        .text("upn", upn.clone())
        .text("object_id", account.and_then(|a| text(a, "azureAdUserId")));
    address.or(upn).or(display).unwrap_or_default()
}

/// The address of a Graph `emailSender`.
fn sender_address(item: &Map<String, Value>, key: &str) -> Option<String> {
    object_at(item, key).and_then(|sender| text(sender, "emailAddress"))
}

/// An analyzed message is reported as a mailbox (the recipient's) with the message's details, so
/// that mail playbooks find it through `alert.mailboxes()`.
fn message(item: &Map<String, Value>, fields: &mut Fields) -> String {
    let recipient = text(item, "recipientEmailAddress");
    let p1 = sender_address(item, "p1Sender");
    let p2 = sender_address(item, "p2Sender");
    // P2 is the From: header a user sees; P1 is the envelope sender, used when P2 is missing.
    let sender = p2.clone().or_else(|| p1.clone());
    let sender_name = text_of_sender(item, "p2Sender").or_else(|| text_of_sender(item, "p1Sender"));
    let network_message_id = text(item, "networkMessageId");
    fields
        .text("address", recipient.clone())
        .text("recipient", recipient.clone())
        .text("sender", sender)
        .text("sender_display_name", sender_name)
        .text("p1_sender", p1)
        .text("p2_sender", p2)
        .text("sender_ip", text(item, "senderIp"))
        .text("subject", text(item, "subject"))
        .text("network_message_id", network_message_id.clone())
        .text("internet_message_id", text(item, "internetMessageId"))
        .text("received", text(item, "receivedDateTime"))
        .text("direction", text(item, "antiSpamDirection"))
        .text("delivery_action", text(item, "deliveryAction"))
        .text("delivery_location", text(item, "deliveryLocation"))
        .strings("urls", item.get("urls"))
        .strings("threats", item.get("threats"))
        .number("attachments_count", item.get("attachmentsCount"));
    recipient.or(network_message_id).unwrap_or_default()
}

fn text_of_sender(item: &Map<String, Value>, key: &str) -> Option<String> {
    object_at(item, key).and_then(|sender| text(sender, "displayName"))
}

fn submission(item: &Map<String, Value>, fields: &mut Fields) -> String {
    let recipient = text(item, "recipient");
    let network_message_id = text(item, "networkMessageId");
    fields
        .text("address", recipient.clone())
        .text("recipient", recipient.clone())
        .text("sender", text(item, "sender"))
        .text("sender_ip", text(item, "senderIp"))
        .text("subject", text(item, "subject"))
        .text("network_message_id", network_message_id.clone())
        .text("submitter", text(item, "submitter"))
        .text("report_type", text(item, "reportType"))
        .text("submission_id", text(item, "submissionId"));
    recipient.or(network_message_id).unwrap_or_default()
}

fn registry(item: &Map<String, Value>, fields: &mut Fields) -> String {
    let key = text(item, "registryKey");
    let hive = text(item, "registryHive");
    fields
        .text("key", key.clone())
        .text("hive", hive.clone())
        .text("value_name", text(item, "registryValueName"))
        .text("value_data", text(item, "registryValue"))
        .text("value_type", text(item, "registryValueType"))
        .text("device_id", text(item, "mdeDeviceId"));
    registry_path(hive.as_deref(), key.as_deref())
}

fn cloud_app(item: &Map<String, Value>, fields: &mut Fields) -> String {
    let name = text(item, "displayName");
    fields
        .text("display_name", name.clone())
        .number("app_id", item.get("appId"))
        .number("saas_app_id", item.get("saasAppId"))
        .number("instance_id", item.get("instanceId"))
        .text("instance_name", text(item, "instanceName"));
    name.or_else(|| text(item, "instanceName"))
        .or_else(|| text(item, "appId"))
        .unwrap_or_default()
}

fn cloud_resource(item: &Map<String, Value>, lower: &str, fields: &mut Fields) -> String {
    let (cloud, id) = match lower {
        "amazonresourceevidence" => ("aws", text_of(item, &["amazonResourceId", "resourceId"])),
        "googlecloudresourceevidence" => {
            ("gcp", text_of(item, &["fullResourceName", "resourceId"]))
        }
        _ => ("azure", text(item, "resourceId")),
    };
    let name = text(item, "resourceName");
    fields
        .text("cloud", Some(cloud.to_owned()))
        .text("resource_id", id.clone())
        .text("resource_name", name.clone())
        .text("resource_type", text(item, "resourceType"))
        .text("account_id", text(item, "amazonAccountId"))
        .text("project_id", text(item, "projectId"))
        .text("location", text(item, "location"));
    id.or(name).unwrap_or_default()
}

fn other(item: &Map<String, Value>, fields: &mut Fields) -> String {
    let value = text_of(
        item,
        &[
            "displayName",
            "name",
            "domainName",
            "url",
            "resourceName",
            "clusterByValue",
            "query",
        ],
    );
    fields.text("name", value.clone());
    value.unwrap_or_default()
}
