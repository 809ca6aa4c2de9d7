//! The alert model against real-shaped alerts: the fixtures in `fixtures/alerts/`, the published
//! Graph example, `$ref` handling in Sentinel entities, and malformed input that must give a clear
//! error instead of a panic.

use std::collections::BTreeSet;

use riposte_core::alert::{Alert, AlertError, AlertShape, Entity, EntityKind, Severity};
use serde_json::{Value, json};

macro_rules! fixture_text {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/alerts/",
            $name
        ))
    };
}

fn load(text: &str) -> Alert {
    match Alert::from_json(text) {
        Ok(alert) => alert,
        Err(error) => panic!("fixture did not load: {error}"),
    }
}

fn kinds(alert: &Alert) -> Vec<EntityKind> {
    alert.entities.iter().map(|entity| entity.kind).collect()
}

fn field<'a>(entity: &'a Entity, name: &str) -> &'a str {
    entity
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("entity {:?} has no text field `{name}`", entity.value))
}

fn only(alert: &Alert, kind: EntityKind) -> &Entity {
    let mut found = alert.entities_of(kind);
    let entity = found.next().unwrap_or_else(|| panic!("no {kind} entity"));
    assert!(found.next().is_none(), "more than one {kind} entity");
    entity
}

/// A Sentinel row holding the given entities, written into `Entities` as the table does: a string.
fn sentinel_row(entities: Value) -> Value {
    json!({
        "SystemAlertId": "11111111-2222-4333-8444-555555555555",
        "AlertName": "Test alert",
        "AlertSeverity": "Low",
        "ProductName": "Azure Sentinel",
        "Entities": entities.to_string(),
    })
}

fn nested(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

// ----------------------------------------------------------------------------------- fixtures

#[test]
fn every_fixture_in_the_directory_loads() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/alerts");
    let mut loaded = Vec::new();
    for entry in std::fs::read_dir(dir).expect("fixtures/alerts exists") {
        let path = entry.expect("readable directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("fixture is UTF-8");
        let alert = Alert::from_json(&text)
            .unwrap_or_else(|error| panic!("{} did not load: {error}", path.display()));
        assert!(!alert.id.is_empty(), "{}: empty id", path.display());
        assert!(!alert.title.is_empty(), "{}: empty title", path.display());
        assert!(
            !alert.entities.is_empty(),
            "{}: no entities",
            path.display()
        );
        for entity in &alert.entities {
            assert!(
                !entity.value.is_empty(),
                "{}: {} entity without a value",
                path.display(),
                entity.kind
            );
        }
        loaded.push(path.file_name().map(|n| n.to_string_lossy().into_owned()));
    }
    assert!(
        loaded.len() >= 7,
        "expected at least 7 fixtures, found {loaded:?}"
    );
}

#[test]
fn reference_example_loads_and_keeps_replacement_characters() {
    let text = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/alerts/graph-reference-example.json"
    ));
    let alert = load(text);
    assert_eq!(alert.id, "da637578995287051192_756343937");
    assert_eq!(alert.source, AlertShape::Graph);
    assert_eq!(alert.title, "Suspicious execution of hidden file");
    assert_eq!(alert.severity, Severity::Low);
    assert_eq!(alert.status, "new");
    assert_eq!(alert.provider, "microsoftDefenderForEndpoint");
    assert_eq!(alert.detection_source.as_deref(), Some("antivirus"));
    assert_eq!(alert.incident_id.as_deref(), Some("28282"));
    assert_eq!(
        alert.created.as_deref(),
        Some("2021-04-27T12:19:27.7211305Z")
    );
    assert_eq!(alert.tactics, ["DefenseEvasion"]);
    assert_eq!(alert.techniques, ["T1564.001"]);
    assert!(
        alert
            .description
            .starts_with("A hidden file has been launched.")
    );
    assert_eq!(
        alert.url.as_deref(),
        Some(
            "https://security.microsoft.com/alerts/da637578995287051192_756343937?tid=b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c"
        )
    );

    let actions = alert
        .recommended_actions
        .as_deref()
        .expect("recommendedActions");
    assert!(actions.starts_with("Collect artifacts and determine scope\n\u{FFFD}\tReview"));
    assert_eq!(actions.matches('\u{FFFD}').count(), 10);
    assert!(actions.ends_with("at the organization\u{FFFD}s perimeter."));
    assert_eq!(Some(actions), alert.raw["recommendedActions"].as_str());

    assert_eq!(
        kinds(&alert),
        [
            EntityKind::Device,
            EntityKind::File,
            EntityKind::Process,
            EntityKind::RegistryKey
        ]
    );
    let device = only(&alert, EntityKind::Device);
    assert_eq!(device.value, "tempDns");
    assert_eq!(
        field(device, "device_id"),
        "73e7e2de709dff64ef64b1d0c30e67fab63279db"
    );
    assert_eq!(field(device, "os"), "Windows10");
    assert_eq!(device.roles, ["compromised"]);
    assert_eq!(device.verdict.as_deref(), Some("unknown"));

    let file = only(&alert, EntityKind::File);
    assert_eq!(file.value, "MsSense.exe");
    assert_eq!(file.id, "MsSense.exe");
    assert_eq!(
        field(file, "sha256"),
        "8963a19fb992ad9a76576c5638fd68292cffb9aaac29eb8285f9abf6196a7dec"
    );
    assert_eq!(
        field(file, "sha1"),
        "5f1e8acedc065031aad553b710838eb366cfee9a"
    );
    assert_eq!(field(file, "path"), "C:\\Program Files\\temp");
    assert_eq!(file.get("size"), Some(&json!(6136392)));
    assert!(file.get("md5").is_none(), "absent fields are left out");

    let process = only(&alert, EntityKind::Process);
    assert_eq!(process.value, "\"MsSense.exe\"");
    assert_eq!(field(process, "command_line"), "\"MsSense.exe\"");
    assert_eq!(process.get("process_id"), Some(&json!(4780)));
    assert_eq!(process.get("parent_process_id"), Some(&json!(668)));
    assert_eq!(field(process, "image_file"), "MsSense.exe");
    assert_eq!(field(process, "parent_image_file"), "services.exe");
    assert_eq!(field(process, "account_name"), "SYSTEM");

    let key = only(&alert, EntityKind::RegistryKey);
    assert_eq!(
        key.value,
        "HKEY_LOCAL_MACHINE\\SYSTEM\\CONTROLSET001\\CONTROL\\WMI\\AUTOLOGGER\\SENSEAUDITLOGGER"
    );
    assert_eq!(field(key, "hive"), "HKEY_LOCAL_MACHINE");
    assert_eq!(
        field(key, "key"),
        "SYSTEM\\CONTROLSET001\\CONTROL\\WMI\\AUTOLOGGER\\SENSEAUDITLOGGER"
    );
    assert_eq!(field(key, "source_type"), "registryKeyEvidence");

    let raw: Value = serde_json::from_str(text).expect("reference example is JSON");
    assert_eq!(alert.raw, raw, "raw is the input as sent");
    assert_eq!(alert.entities[3].raw, raw["evidence"][3]);
}

#[test]
fn graph_phishing_alert() {
    let alert = load(fixture_text!("graph-phishing-url.json"));
    assert_eq!(alert.id, "fa6c1d9f5e-2b7a-4c3e-9d84-1f0a6b2c7e95");
    assert_eq!(alert.severity, Severity::Medium);
    assert_eq!(alert.provider, "microsoftDefenderForOffice365");
    assert_eq!(alert.incident_id.as_deref(), Some("31874"));
    assert_eq!(alert.techniques, ["T1566.002"]);
    assert_eq!(
        kinds(&alert),
        [
            EntityKind::User,
            EntityKind::Url,
            EntityKind::Mailbox,
            EntityKind::Mailbox,
            EntityKind::Ip
        ]
    );

    let user = only(&alert, EntityKind::User);
    assert_eq!(user.value, "adele.vance@contoso.example");
    assert_eq!(field(user, "upn"), "adele.vance@contoso.example");
    assert_eq!(field(user, "account_name"), "adele.vance");
    assert_eq!(
        field(user, "object_id"),
        "0b7e4f2a-6c1d-4e8b-9a3f-2d5c7e9b1a46"
    );
    assert_eq!(field(user, "aad_user_id"), field(user, "object_id"));

    let url = only(&alert, EntityKind::Url);
    assert_eq!(
        url.value,
        "https://login.contoso-payroll.example/verify?session=8842&user=adele.vance"
    );
    // VirusTotal's id for this URL: base64.urlsafe_b64encode(url).strip("=").
    assert_eq!(
        url.id,
        "aHR0cHM6Ly9sb2dpbi5jb250b3NvLXBheXJvbGwuZXhhbXBsZS92ZXJpZnk_c2Vzc2lvbj04ODQyJnVzZXI9YWRlbGUudmFuY2U"
    );
    assert_eq!(url.verdict.as_deref(), Some("malicious"));
    assert_eq!(url.roles, ["attacker"]);
    assert_eq!(field(url, "host"), "login.contoso-payroll.example");

    let mailboxes: Vec<&Entity> = alert.entities_of(EntityKind::Mailbox).collect();
    assert_eq!(field(mailboxes[0], "source_type"), "mailboxEvidence");
    assert_eq!(
        field(mailboxes[0], "address"),
        "adele.vance@contoso.example"
    );
    assert_eq!(field(mailboxes[0], "display_name"), "Adele Vance");
    let message = mailboxes[1];
    assert_eq!(field(message, "source_type"), "analyzedMessageEvidence");
    assert_eq!(message.value, "adele.vance@contoso.example");
    assert_eq!(field(message, "recipient"), "adele.vance@contoso.example");
    assert_eq!(field(message, "sender"), "payroll@fabrikam-payroll.example");
    assert_eq!(
        field(message, "p1_sender"),
        "bounce-7781@mail.fabrikam-payroll.example"
    );
    assert_eq!(
        field(message, "subject"),
        "Action required: confirm your March payroll details"
    );
    assert_eq!(
        field(message, "network_message_id"),
        "b2e9f7c4-31a8-4d6e-08a1-08dd6077c3f1"
    );
    assert_eq!(field(message, "sender_ip"), "198.51.100.14");
    assert_eq!(message.get("urls"), Some(&json!([url.value])));

    let ip = only(&alert, EntityKind::Ip);
    assert_eq!(ip.value, "198.51.100.14");
    assert_eq!(field(ip, "country"), "US");
}

#[test]
fn graph_aws_iam_alert_names_the_iam_user() {
    let alert = load(fixture_text!("graph-aws-iam-suspicious.json"));
    assert_eq!(alert.severity, Severity::High);
    assert_eq!(alert.provider, "microsoftDefenderForCloudApps");
    assert_eq!(alert.detection_source.as_deref(), Some("cloudAppSecurity"));
    assert_eq!(alert.tactics, ["Persistence"]);

    let user = only(&alert, EntityKind::User);
    assert_eq!(user.value, "svc-ci-deploy");
    assert_eq!(field(user, "account_name"), "svc-ci-deploy");
    assert!(user.get("upn").is_none(), "an IAM user has no UPN");
    assert_eq!(user.roles, ["compromised"]);

    let resources: Vec<&Entity> = alert.entities_of(EntityKind::CloudResource).collect();
    assert_eq!(resources.len(), 2);
    assert_eq!(
        resources[0].value,
        "arn:aws:iam::123456789012:user/svc-ci-deploy"
    );
    assert_eq!(field(resources[0], "cloud"), "aws");
    assert_eq!(field(resources[0], "account_id"), "123456789012");
    assert_eq!(field(resources[0], "resource_name"), "svc-ci-deploy");
    assert_eq!(resources[1].value, "Amazon Web Services");
    assert_eq!(resources[1].get("app_id"), Some(&json!(11599)));
    assert_eq!(only(&alert, EntityKind::Ip).value, "203.0.113.77");
}

#[test]
fn graph_malware_alert_on_a_device() {
    let alert = load(fixture_text!("graph-malware-device.json"));
    assert_eq!(alert.id, "da638756434312270000_1174520968");
    assert_eq!(alert.severity, Severity::High);
    assert_eq!(alert.status, "inprogress");
    assert_eq!(alert.tactics, ["Malware"]);

    let device = only(&alert, EntityKind::Device);
    assert_eq!(device.value, "ws-fin-042");
    assert_eq!(field(device, "host_name"), "ws-fin-042");
    assert_eq!(field(device, "dns_name"), "ws-fin-042.corp.contoso.example");
    assert_eq!(
        field(device, "device_id"),
        "5c9a0e7d3b1f4a6e8d2c0b9a7f5e3d1c0b8a6f4e"
    );
    assert_eq!(field(device, "os"), "Windows11");
    assert_eq!(
        device.get("ip_addresses"),
        Some(&json!(["192.0.2.42", "2001:db8::9c1e:4b7a:2d3f:8e61"]))
    );

    let files: Vec<&Entity> = alert.entities_of(EntityKind::File).collect();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].value, "zbmqsfv.dll");
    assert_eq!(
        field(files[0], "sha256"),
        "3f9c1b7a5e2d8c4f6a0b9e1d7c3a5f8b2e4d6c0a9f1b3e5d7c9a2f4b6e8d0c1a"
    );
    assert_eq!(field(files[0], "md5"), "7d2f9b4e1c6a8d3f5b0e2c4a6f8d1b3e");
    assert_eq!(files[1].value, "Invoice_2025-02-18.docm");

    let process = only(&alert, EntityKind::Process);
    assert!(
        process
            .value
            .starts_with("rundll32.exe \"C:\\Users\\nestor.wilke")
    );
    assert_eq!(process.get("process_id"), Some(&json!(7312)));
    assert_eq!(field(process, "image_file"), "rundll32.exe");
    assert_eq!(field(process, "parent_image_file"), "WINWORD.EXE");

    let url = only(&alert, EntityKind::Url);
    assert_eq!(
        url.value,
        "http://203.0.113.200:8080/wp-content/plugins/eb/"
    );
    assert_eq!(
        url.id,
        "aHR0cDovLzIwMy4wLjExMy4yMDA6ODA4MC93cC1jb250ZW50L3BsdWdpbnMvZWIv"
    );
    assert_eq!(field(url, "host"), "203.0.113.200");
}

#[test]
fn graph_impossible_travel_alert() {
    let alert = load(fixture_text!("graph-impossible-travel.json"));
    assert_eq!(alert.title, "Impossible travel activity");
    assert_eq!(alert.severity, Severity::High);
    assert_eq!(
        only(&alert, EntityKind::User).value,
        "megan.bowen@contoso.example"
    );
    let ips: Vec<(&str, &str, &[String])> = alert
        .entities_of(EntityKind::Ip)
        .map(|ip| (ip.value.as_str(), field(ip, "country"), ip.roles.as_slice()))
        .collect();
    assert_eq!(
        ips,
        [
            ("198.51.100.23", "US", &["source".to_owned()][..]),
            ("203.0.113.45", "NL", &["attacker".to_owned()][..]),
        ]
    );
}

#[test]
fn sentinel_bruteforce_row_resolves_references() {
    let alert = load(fixture_text!("sentinel-securityalert-bruteforce.json"));
    assert_eq!(alert.source, AlertShape::SecurityAlert);
    assert_eq!(alert.id, "0d2f4b6e-8a1c-4e3f-b5d7-9a1c3e5f7b20");
    assert_eq!(
        alert.title,
        "Brute force attack against SRV-FILE-01 from 203.0.113.87"
    );
    assert_eq!(alert.severity, Severity::High);
    assert_eq!(alert.status, "new");
    assert_eq!(alert.provider, "Azure Sentinel");
    assert_eq!(
        alert.detection_source.as_deref(),
        Some("ASI Scheduled Alerts")
    );
    assert_eq!(
        alert.created.as_deref(),
        Some("2025-04-21T06:15:03.4410000Z")
    );
    assert_eq!(alert.tactics, ["CredentialAccess", "InitialAccess"]);
    assert_eq!(alert.techniques, ["T1110", "T1078"]);
    assert_eq!(alert.incident_id, None);
    assert_eq!(alert.url, None, "an empty AlertLink is no link");
    assert_eq!(alert.recommended_actions, None);

    // The host is written inline inside the account; the top-level `{"$ref": "3"}` stands for it.
    assert_eq!(
        kinds(&alert),
        [EntityKind::User, EntityKind::Device, EntityKind::Ip]
    );
    let user = only(&alert, EntityKind::User);
    assert_eq!(user.value, "svc-backup");
    assert_eq!(field(user, "domain"), "CONTOSO");
    assert_eq!(
        field(user, "sid"),
        "S-1-5-21-1004336348-1177238915-682003330-1604"
    );
    assert!(user.verdict.is_none());

    let host = only(&alert, EntityKind::Device);
    assert_eq!(host.value, "SRV-FILE-01");
    assert_eq!(field(host, "dns_name"), "SRV-FILE-01.corp.contoso.example");
    assert_eq!(field(host, "os"), "Windows");
    assert_eq!(
        host.roles,
        ["compromised"],
        "CompromisedEntity names the host"
    );
    assert_eq!(
        host.raw["$id"], "3",
        "a $ref item is given as the object it refers to"
    );

    let ip = only(&alert, EntityKind::Ip);
    assert_eq!(ip.value, "203.0.113.87");
    assert_eq!(field(ip, "country"), "BR");
    assert_eq!(ip.get("asn"), Some(&json!(64511)));
    assert!(ip.roles.is_empty());
}

#[test]
fn sentinel_phishing_row() {
    let alert = load(fixture_text!("sentinel-securityalert-phishing.json"));
    assert_eq!(alert.id, "9a1c3e5b-7d9f-4b2c-8e0a-6c4e2a0f8d1b");
    assert_eq!(alert.severity, Severity::Medium);
    assert_eq!(alert.provider, "Office 365 Advanced Threat Protection");
    assert_eq!(alert.detection_source.as_deref(), Some("OATP"));
    assert_eq!(alert.incident_id.as_deref(), Some("48213"));
    assert_eq!(alert.techniques, ["T1566"]);
    assert_eq!(
        alert.recommended_actions.as_deref(),
        Some(
            "Review the removed messages in Threat Explorer.\nReset the password of any recipient who clicked the URL and entered credentials."
        )
    );
    assert_eq!(
        kinds(&alert),
        [
            EntityKind::User,
            EntityKind::Mailbox,
            EntityKind::Mailbox,
            EntityKind::Url,
            EntityKind::Ip
        ]
    );

    let user = only(&alert, EntityKind::User);
    assert_eq!(user.value, "alex.wilber@contoso.example");
    assert_eq!(field(user, "upn"), "alex.wilber@contoso.example");
    assert_eq!(field(user, "account_name"), "alex.wilber");
    assert_eq!(user.roles, ["compromised"]);

    let mailboxes: Vec<&Entity> = alert.entities_of(EntityKind::Mailbox).collect();
    assert_eq!(
        field(mailboxes[0], "address"),
        "alex.wilber@contoso.example"
    );
    assert!(
        mailboxes[0].roles.is_empty(),
        "only the first entity named is compromised"
    );
    let message = mailboxes[1];
    assert_eq!(field(message, "source_type"), "mailMessage");
    assert_eq!(
        field(message, "sender"),
        "accounts@fabrikam-invoices.example"
    );
    assert_eq!(field(message, "recipient"), "alex.wilber@contoso.example");
    assert_eq!(field(message, "subject"), "Invoice INV-20931 is overdue");
    assert_eq!(
        field(message, "network_message_id"),
        "4e7c2a91-5d3b-4f8e-b1a6-08dd5c9e2f74"
    );

    let url = only(&alert, EntityKind::Url);
    assert_eq!(
        url.id,
        "aHR0cHM6Ly9zaGFyZXBvaW50LWRvY3MuZmFicmlrYW0taW52b2ljZXMuZXhhbXBsZS9zL0lOVi0yMDkzMT9lPTdLcTI"
    );
}

// --------------------------------------------------------------------------- entity details

#[test]
fn url_id_is_virustotal_unpadded_url_safe_base64() {
    let value = json!({
        "id": "x",
        "evidence": [
            {"@odata.type": "#microsoft.graph.security.urlEvidence", "url": "http://www.example.com/?a=~~~>>>"},
            {"@odata.type": "#microsoft.graph.security.urlEvidence", "url": "https://a.example/"},
        ]
    });
    let alert = Alert::from_value(value).expect("loads");
    // Python: base64.urlsafe_b64encode(url.encode()).decode().strip("=")
    assert_eq!(
        alert.entities[0].id,
        "aHR0cDovL3d3dy5leGFtcGxlLmNvbS8_YT1-fn4-Pj4"
    );
    assert_eq!(alert.entities[1].id, "aHR0cHM6Ly9hLmV4YW1wbGUv");
    assert!(alert.entities.iter().all(|e| !e.id.contains('=')));
}

#[test]
fn sentinel_process_image_file_reference_is_resolved() {
    let row = sentinel_row(json!([
        {"$id": "2", "Algorithm": "SHA256", "Value": "ab".repeat(32), "Type": "filehash"},
        {"$id": "3", "Name": "powershell.exe", "Directory": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0",
         "FileHashes": [{"$ref": "2"}, {"$id": "4", "Algorithm": "SHA1", "Value": "cd".repeat(20), "Type": "filehash"}],
         "Type": "file"},
        {"$id": "5", "ProcessId": "4412", "CommandLine": "powershell.exe -enc SQBFAFgA",
         "ImageFile": {"$ref": "3"},
         "ParentProcess": {"$id": "6", "ProcessId": "880", "ImageFile": {"$id": "7", "Name": "cmd.exe", "Type": "file"}, "Type": "process"},
         "Account": {"$id": "8", "Name": "nestor.wilke", "NTDomain": "CONTOSO", "Type": "account"},
         "Type": "process"},
        {"$ref": "4"},
        {"$id": "9", "Algorithm": "MD5", "Value": "ef".repeat(16), "Type": "filehash"},
    ]));
    let alert = Alert::from_value(row).expect("loads");
    assert_eq!(
        kinds(&alert),
        [EntityKind::File, EntityKind::Process, EntityKind::File],
        "hashes of a listed file are folded into it; a lone hash stays a file entity"
    );
    let file = &alert.entities[0];
    assert_eq!(file.value, "powershell.exe");
    assert_eq!(field(file, "sha256"), "ab".repeat(32));
    assert_eq!(field(file, "sha1"), "cd".repeat(20));

    let process = only(&alert, EntityKind::Process);
    assert_eq!(process.value, "powershell.exe -enc SQBFAFgA");
    assert_eq!(process.get("process_id"), Some(&json!(4412)));
    assert_eq!(field(process, "image_file"), "powershell.exe");
    assert_eq!(field(process, "sha256"), "ab".repeat(32));
    assert_eq!(process.get("parent_process_id"), Some(&json!(880)));
    assert_eq!(field(process, "parent_image_file"), "cmd.exe");
    assert_eq!(field(process, "account_name"), "nestor.wilke");
    assert_eq!(
        process.raw["ImageFile"],
        json!({"$ref": "3"}),
        "raw is left as sent"
    );

    let lone = &alert.entities[2];
    assert_eq!(lone.value, "ef".repeat(16));
    assert_eq!(field(lone, "md5"), "ef".repeat(16));
}

#[test]
fn dangling_and_cyclic_references_are_skipped() {
    let row = sentinel_row(json!([
        {"$ref": "99"},
        {"$id": "2", "$ref": "2", "Type": "host", "HostName": "LOOP"},
        {"$id": "3", "$ref": "4"},
        {"$id": "4", "$ref": "3"},
        {"$id": "5", "ProcessId": "1", "ImageFile": {"$ref": "42"}, "Account": {"$ref": "5"}, "Type": "process"},
        {"$id": "6", "Address": "192.0.2.10", "Type": "ip"},
        {"$ref": "6"},
        7, "text", null, [], {"Type": 5}, {"$ref": {"nested": true}},
    ]));
    let alert = Alert::from_value(row).expect("loads despite broken references");
    let values: Vec<(&str, &str)> = alert
        .entities
        .iter()
        .map(|e| (e.kind.as_str(), e.value.as_str()))
        .collect();
    assert_eq!(
        values,
        [("process", "1"), ("ip", "192.0.2.10"), ("other", "")],
        "unresolvable items dropped, the repeated ip listed once, an untyped object kept as other"
    );
}

#[test]
fn sentinel_registry_value_reads_its_key_entity() {
    let row = sentinel_row(json!([
        {"$id": "2", "Hive": "HKEY_CURRENT_USER", "Key": "Software\\Microsoft\\Windows\\CurrentVersion\\Run", "Type": "registry-key"},
        {"$id": "3", "Key": {"$ref": "2"}, "Name": "Updater", "Value": "C:\\Users\\Public\\upd.exe", "ValueType": "String", "Type": "registry-value"},
        {"$id": "4", "ResourceId": "/subscriptions/8b2d4f6a-0c1e-4a3b-9d5f-7e9a1c3b5d70/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/vm-web-01", "Type": "azure-resource"},
    ]));
    let alert = Alert::from_value(row).expect("loads");
    let keys: Vec<&Entity> = alert.entities_of(EntityKind::RegistryKey).collect();
    assert_eq!(keys.len(), 2);
    let path = "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run";
    assert_eq!(keys[0].value, path);
    assert_eq!(keys[1].value, path);
    assert_eq!(field(keys[1], "value_name"), "Updater");
    assert_eq!(field(keys[1], "value_data"), "C:\\Users\\Public\\upd.exe");
    let resource = only(&alert, EntityKind::CloudResource);
    assert!(resource.value.ends_with("/virtualMachines/vm-web-01"));
    assert_eq!(field(resource, "cloud"), "azure");
}

#[test]
fn entities_may_be_an_already_parsed_array() {
    let mut row = sentinel_row(json!([]));
    row["Entities"] = json!([{"$id": "2", "Url": "https://b.example/x", "Type": "url"}]);
    let alert = Alert::from_value(row).expect("loads");
    assert_eq!(only(&alert, EntityKind::Url).value, "https://b.example/x");
}

#[test]
fn unknown_evidence_types_become_other() {
    let value = json!({
        "@odata.type": "#microsoft.graph.security.alert",
        "id": "x",
        "evidence": [
            {"@odata.type": "#microsoft.graph.security.dnsEvidence", "domainName": "c2.fabrikam.example", "roles": ["commandAndControl"]},
            {"@odata.type": "#microsoft.graph.security.securityGroupEvidence", "displayName": "Domain Admins", "securityGroupId": "S-1-5-21-1-512"},
            {"verdict": "malicious"},
            "not an object",
        ]
    });
    let alert = Alert::from_value(value).expect("loads");
    assert_eq!(
        kinds(&alert),
        [EntityKind::Other, EntityKind::Other, EntityKind::Other]
    );
    assert_eq!(alert.entities[0].value, "c2.fabrikam.example");
    assert_eq!(field(&alert.entities[0], "source_type"), "dnsEvidence");
    assert_eq!(alert.entities[1].value, "Domain Admins");
    assert_eq!(alert.entities[2].verdict.as_deref(), Some("malicious"));
}

// --------------------------------------------------------------------------- errors

#[test]
fn not_json_reports_line_and_column() {
    let error = Alert::from_json("{\n  \"id\": ,\n}").expect_err("not JSON");
    match &error {
        AlertError::Json { line, column, .. } => {
            assert_eq!(*line, 2);
            assert_eq!(*column, 9);
        }
        other => panic!("expected Json, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("not valid JSON"), "{message}");
    assert!(message.contains("line 2 column 9"), "{message}");

    assert!(matches!(Alert::from_json(""), Err(AlertError::Json { .. })));
    assert!(matches!(
        Alert::from_json("\u{0}\u{1}binary"),
        Err(AlertError::Json { .. })
    ));
}

#[test]
fn an_array_is_refused_with_its_length() {
    let error = Alert::from_json(r#"[{"id": "a"}, {"id": "b"}]"#).expect_err("array");
    assert!(matches!(error, AlertError::Array { len: 2 }));
    assert!(
        error
            .to_string()
            .starts_with("expected one alert object, got an array of 2"),
        "{error}"
    );
}

#[test]
fn scalars_are_refused() {
    for (text, found) in [
        ("42", "a number"),
        ("\"alert\"", "a string"),
        ("null", "null"),
        ("true", "a boolean"),
    ] {
        let error = Alert::from_json(text).expect_err("scalar");
        assert!(
            matches!(error, AlertError::NotAnObject { found: f } if f == found),
            "{text}: {error:?}"
        );
        assert!(error.to_string().contains("expected one alert object"));
    }
}

#[test]
fn an_object_of_neither_shape_names_what_was_expected() {
    let error = Alert::from_json(r#"{"name": "x", "when": 1}"#).expect_err("neither shape");
    assert!(
        matches!(error, AlertError::UnknownShape { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("security/alerts_v2"), "{message}");
    assert!(message.contains("SecurityAlert"), "{message}");
    assert!(message.contains("`name`, `when`"), "{message}");

    let empty = Alert::from_json("{}").expect_err("empty object");
    assert!(empty.to_string().contains("no keys"), "{empty}");

    let list = Alert::from_json(r#"{"@odata.context": "x", "value": [{}, {}, {}]}"#)
        .expect_err("list response");
    assert!(
        list.to_string().contains("list response with 3 item(s)"),
        "{list}"
    );
}

#[test]
fn entities_that_are_not_json_are_an_error() {
    let row = json!({"SystemAlertId": "a", "Entities": "[{\"$id\":\"1\",\"Type\":\"ip\""});
    let error = Alert::from_value(row).expect_err("bad Entities");
    assert!(matches!(error, AlertError::Entities { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("`Entities` is not valid JSON"),
        "{error}"
    );

    let row = json!({"SystemAlertId": "a", "Entities": "42"});
    assert!(matches!(
        Alert::from_value(row),
        Err(AlertError::WrongType { ref field, .. }) if field == "Entities"
    ));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let error = Alert::from_json(&nested(200)).expect_err("too deep");
    assert!(matches!(error, AlertError::Json { .. }), "{error:?}");
    assert!(error.to_string().contains("recursion limit"), "{error}");

    let deep_object = format!(
        "{}{}",
        "{\"a\":".repeat(200),
        "1".to_owned() + &"}".repeat(200)
    );
    assert!(matches!(
        Alert::from_json(&deep_object),
        Err(AlertError::Json { .. })
    ));

    let row = json!({"SystemAlertId": "a", "Entities": nested(200)});
    assert!(matches!(
        Alert::from_value(row),
        Err(AlertError::Entities { .. })
    ));
}

#[test]
fn missing_ids_and_wrong_types_are_reported() {
    let error = Alert::from_json(r#"{"serviceSource": "x", "title": "t"}"#).expect_err("no id");
    assert!(
        matches!(
            error,
            AlertError::MissingField {
                shape: AlertShape::Graph,
                field: "id",
                ..
            }
        ),
        "{error:?}"
    );
    let error = Alert::from_json(r#"{"AlertName": "x"}"#).expect_err("no SystemAlertId");
    assert!(error.to_string().contains("`SystemAlertId`"), "{error}");

    let error =
        Alert::from_json(r#"{"id": "a", "evidence": {}, "title": "t"}"#).expect_err("evidence");
    assert!(
        matches!(error, AlertError::WrongType { ref field, found: "an object", .. } if field == "evidence"),
        "{error:?}"
    );
    let error = Alert::from_json(r#"{"id": "a", "serviceSource": "x", "title": ["t"]}"#)
        .expect_err("title");
    assert_eq!(error.to_string(), "`title` is an array, expected a string");
}

#[test]
fn odd_but_valid_inputs_never_panic() {
    let inputs = [
        json!({"id": 5, "evidence": null}),
        json!({"id": "a", "evidence": [null, 1, [], {}, {"@odata.type": 3}, {"@odata.type": "#microsoft.graph.security.userEvidence", "userAccount": "x"}]}),
        json!({"id": "a", "evidence": [{"@odata.type": "#microsoft.graph.security.fileEvidence", "fileDetails": {"fileSize": "big"}}]}),
        json!({"id": "a", "evidence": [{"@odata.type": "#microsoft.graph.security.processEvidence", "processId": -1, "imageFile": null}]}),
        json!({"id": "a", "evidence": [{"@odata.type": "#microsoft.graph.security.urlEvidence", "url": "not a url"}]}),
        json!({"id": "a", "serviceSource": "x", "severity": "unknownFutureValue", "mitreTechniques": [1, null, "T1"]}),
        json!({"SystemAlertId": "a", "Entities": "", "Tactics": ",,", "Techniques": "[\"T1\", 2]", "RemediationSteps": "plain text", "ExtendedProperties": "{not json"}),
        json!({"SystemAlertId": "a", "Entities": "{\"Type\":\"url\",\"Url\":\"https://c.example\"}", "ExtendedProperties": {"Incident Id": 7}}),
        json!({"Entities": "[]", "SystemAlertId": "\u{FFFD}"}),
    ];
    for input in inputs {
        let shown = input.to_string();
        let _ = Alert::from_value(input).map_err(|error| error.to_string());
        let _ = Alert::from_json(&shown);
    }

    let alert = Alert::from_value(json!({"id": "a", "serviceSource": "x", "severity": "unknownFutureValue", "mitreTechniques": [1, null, "T1"]}))
        .expect("loads");
    assert_eq!(alert.severity, Severity::Unknown);
    assert_eq!(alert.techniques, ["T1"]);
    let alert = Alert::from_value(json!({"SystemAlertId": "a", "Entities": "{\"Type\":\"url\",\"Url\":\"https://c.example\"}", "ExtendedProperties": {"Incident Id": 7}}))
        .expect("loads");
    assert_eq!(alert.incident_id.as_deref(), Some("7"));
    assert_eq!(only(&alert, EntityKind::Url).value, "https://c.example");
}

#[test]
fn large_alerts_load() {
    let evidence: Vec<Value> = (0..20_000)
        .map(|i| json!({"@odata.type": "#microsoft.graph.security.urlEvidence", "url": format!("https://host{i}.example/path")}))
        .collect();
    let text = json!({"id": "big", "description": "d".repeat(2_000_000), "evidence": evidence})
        .to_string();
    assert!(text.len() > 2_500_000);
    let alert = Alert::from_json(&text).expect("large alert loads");
    assert_eq!(alert.entities.len(), 20_000);
    assert_eq!(alert.description.len(), 2_000_000);
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let text = format!("\u{feff}{}", fixture_text!("graph-impossible-travel.json"));
    assert_eq!(load(&text).title, "Impossible travel activity");
}

// --------------------------------------------------------------------------- field paths

#[test]
fn field_paths_for_rule_conditions() {
    let alert = load(fixture_text!("graph-reference-example.json"));
    assert_eq!(
        alert.field("title"),
        Some(json!("Suspicious execution of hidden file"))
    );
    assert_eq!(alert.field("severity"), Some(json!("low")));
    assert_eq!(alert.field("status"), Some(json!("new")));
    assert_eq!(
        alert.field("provider"),
        Some(json!("microsoftDefenderForEndpoint"))
    );
    assert_eq!(alert.field("detection_source"), Some(json!("antivirus")));
    assert_eq!(alert.field("incident_id"), Some(json!("28282")));
    assert_eq!(alert.field("tactics"), Some(json!(["DefenseEvasion"])));
    assert_eq!(alert.field("techniques"), Some(json!(["T1564.001"])));
    assert_eq!(
        alert.field("entity_kinds"),
        Some(json!(["file", "device", "process", "registry_key"]))
    );
    assert_eq!(alert.field("source"), Some(json!("graph")));
    assert!(
        alert
            .field("description")
            .is_some_and(|d| d.as_str().is_some_and(|d| d.starts_with("A hidden file")))
    );
    assert_eq!(
        alert.field("raw.serviceSource"),
        Some(json!("microsoftDefenderForEndpoint"))
    );
    assert_eq!(
        alert.field("raw.evidence.0.verdict"),
        Some(json!("unknown"))
    );
    assert_eq!(
        alert.field("raw.evidence.1.fileDetails.fileSize"),
        Some(json!(6136392))
    );
    assert_eq!(
        alert.field("raw.systemTags"),
        Some(json!(["Defender Experts"]))
    );
    assert_eq!(alert.field("raw.evidence.9.verdict"), None);
    assert_eq!(alert.field("raw.evidence.x"), None);
    assert_eq!(alert.field("raw.assignedTo"), None, "null counts as absent");
    assert_eq!(alert.field("raw.title.more"), None);
    assert_eq!(alert.field("nonsense"), None);
    assert_eq!(alert.field(""), None);

    let row = load(fixture_text!("sentinel-securityalert-bruteforce.json"));
    assert_eq!(row.field("incident_id"), None);
    assert_eq!(row.field("raw.AlertSeverity"), Some(json!("High")));
    assert_eq!(
        row.field("entity_kinds"),
        Some(json!(["user", "ip", "device"]))
    );
}

// --------------------------------------------------------------------------- enums and JSON keys

#[test]
fn severity_parses_orders_and_serialises() {
    assert_eq!(Severity::parse("High"), Some(Severity::High));
    assert_eq!(
        Severity::parse("INFORMATIONAL"),
        Some(Severity::Informational)
    );
    assert_eq!(Severity::parse("medium"), Some(Severity::Medium));
    assert_eq!(Severity::parse("unknown"), Some(Severity::Unknown));
    assert_eq!(Severity::parse("critical"), None);
    assert!(
        Severity::Unknown < Severity::Informational
            && Severity::Informational < Severity::Low
            && Severity::Low < Severity::Medium
            && Severity::Medium < Severity::High
    );
    for severity in Severity::ALL {
        assert_eq!(
            serde_json::to_value(severity).ok(),
            Some(json!(severity.as_str()))
        );
        assert_eq!(Severity::parse(severity.as_str()), Some(severity));
    }
}

#[test]
fn entity_kinds_match_the_sdk_literal() {
    let names: Vec<&str> = EntityKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "user",
            "ip",
            "url",
            "file",
            "device",
            "mailbox",
            "process",
            "registry_key",
            "cloud_resource",
            "other"
        ]
    );
    for kind in EntityKind::ALL {
        assert_eq!(serde_json::to_value(kind).ok(), Some(json!(kind.as_str())));
        assert_eq!(EntityKind::parse(kind.as_str()), Some(kind));
    }
    assert_eq!(
        serde_json::to_value(AlertShape::Graph).ok(),
        Some(json!("graph"))
    );
    assert_eq!(
        serde_json::to_value(AlertShape::SecurityAlert).ok(),
        Some(json!("security_alert"))
    );
}

#[test]
fn serialised_keys_are_the_sdk_attribute_names() {
    let alert = load(fixture_text!("graph-phishing-url.json"));
    let value = serde_json::to_value(&alert).expect("serialises");
    let keys: BTreeSet<&str> = value
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = [
        "id",
        "title",
        "severity",
        "status",
        "provider",
        "detection_source",
        "description",
        "created",
        "incident_id",
        "tactics",
        "techniques",
        "recommended_actions",
        "url",
        "raw",
        "source",
        "entities",
    ]
    .into_iter()
    .collect();
    assert_eq!(keys, expected);
    assert_eq!(value["severity"], "medium");
    assert_eq!(value["source"], "graph");

    let entity = &value["entities"][1];
    let keys: BTreeSet<&str> = entity
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["fields", "id", "kind", "raw", "roles", "value", "verdict"]
            .into_iter()
            .collect()
    );
    assert_eq!(entity["kind"], "url");
    assert_eq!(
        entity["raw"]["@odata.type"],
        "#microsoft.graph.security.urlEvidence"
    );
}
