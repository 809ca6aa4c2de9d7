//! Rule compilation and matching: each operator on text, numbers, lists, objects and missing
//! fields; the workspace filter, triggers, disabled rules and evaluation order; compile errors;
//! and the demo workspace's rules against the fixture alerts.

use serde_json::json;

use super::*;
use crate::alert::Alert;

const RUN: &str = "[[actions]]\ntype = \"run_playbook\"\nplaybook = \"p\"\n";

fn parse_rule(text: &str) -> AutomationRule {
    toml::from_str(text).unwrap_or_else(|err| panic!("not a rule: {err}\n{text}"))
}

/// A rule of `extra` top-level keys, one condition per `(field, operator, value)` (value as TOML).
fn rule_text(extra: &str, conditions: &[(&str, &str, Option<&str>)]) -> String {
    let mut text = format!("{extra}\n");
    for (field, operator, value) in conditions {
        text.push_str(&format!(
            "[[conditions]]\nfield = \"{field}\"\noperator = \"{operator}\"\n"
        ));
        if let Some(value) = value {
            text.push_str(&format!("value = {value}\n"));
        }
    }
    text.push_str(RUN);
    text
}

fn compile(conditions: &[(&str, &str, Option<&str>)]) -> CompiledRule {
    let text = rule_text("", conditions);
    CompiledRule::compile("test", &parse_rule(&text))
        .unwrap_or_else(|err| panic!("does not compile: {err}\n{text}"))
}

fn compile_error(field: &str, operator: &str, value: Option<&str>) -> RuleError {
    let text = rule_text("", &[(field, operator, value)]);
    match CompiledRule::compile("bad", &parse_rule(&text)) {
        Ok(_) => panic!("compiled, but should not:\n{text}"),
        Err(err) => err,
    }
}

/// A Graph alert with a bit of everything: text fields in mixed case, a list of tactics (through
/// `category`), techniques, URL and IP evidence, and raw numbers, booleans, lists and objects.
fn alert() -> Alert {
    Alert::from_value(json!({
        "@odata.type": "#microsoft.graph.security.alert",
        "id": "da637578995287051192_756343937",
        "title": "Suspicious PowerShell download from Évreux",
        "severity": "medium",
        "status": "inProgress",
        "serviceSource": "microsoftDefenderForEndpoint",
        "detectionSource": "antivirus",
        "category": "Execution",
        "mitreTechniques": ["T1059.001", "T1105"],
        "description": "",
        "riskScore": 87,
        "confidence": "72.5",
        "isTest": false,
        "tags": ["VIP", "Finance"],
        "emptyList": [],
        "nothing": null,
        "alertPolicy": { "name": "Default" },
        "evidence": [
            { "@odata.type": "#microsoft.graph.security.urlEvidence", "url": "https://payload.example/x.ps1", "verdict": "malicious" },
            { "@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": "203.0.113.7" }
        ]
    }))
    .expect("the test alert is a Graph alert")
}

fn holds(conditions: &[(&str, &str, Option<&str>)]) -> bool {
    compile(conditions).matches(&alert(), "soc", Trigger::AlertCreated)
}

fn one(field: &str, operator: &str, value: &str) -> bool {
    holds(&[(field, operator, Some(value))])
}

#[test]
fn equals_compares_text_case_insensitively() {
    assert!(one(
        "title",
        "equals",
        "\"suspicious powershell download from ÉVREUX\""
    ));
    assert!(one("status", "equals", "\"inProgress\""));
    assert!(one(
        "provider",
        "equals",
        "\"MicrosoftDefenderForEndpoint\""
    ));
    assert!(!one("title", "equals", "\"Suspicious PowerShell\""));
    assert!(one("title", "not_equals", "\"Suspicious PowerShell\""));
    assert!(!one("status", "not_equals", "\"INPROGRESS\""));
}

#[test]
fn contains_starts_with_and_ends_with() {
    assert!(one("title", "contains", "\"powershell\""));
    assert!(!one("title", "contains", "\"bash\""));
    assert!(one("title", "not_contains", "\"bash\""));
    assert!(!one("title", "not_contains", "\"POWERSHELL\""));
    assert!(one("title", "starts_with", "\"SUSPICIOUS\""));
    assert!(!one("title", "starts_with", "\"PowerShell\""));
    assert!(one("title", "ends_with", "\"évreux\""));
    assert!(!one("title", "ends_with", "\"download\""));
    assert!(one("id", "starts_with", "\"da63\""));
}

#[test]
fn in_and_not_in() {
    assert!(one("status", "in", "[\"new\", \"InProgress\"]"));
    assert!(!one("status", "in", "[\"new\", \"resolved\"]"));
    assert!(one("status", "not_in", "[\"new\", \"resolved\"]"));
    assert!(!one("status", "not_in", "[\"inprogress\"]"));
    assert!(!one("status", "in", "[]"), "an empty list holds nothing");
    assert!(one("status", "not_in", "[]"));
    assert!(one("raw.riskScore", "in", "[12, 87]"));
}

#[test]
fn matches_is_a_regex_on_the_text_as_given() {
    assert!(one("title", "matches", "\"PowerShell\\\\s+download\""));
    assert!(
        !one("title", "matches", "\"^powershell\""),
        "case-sensitive"
    );
    assert!(one("title", "matches", "\"(?i)^suspicious powershell\""));
    assert!(
        one("raw.riskScore", "matches", "\"^8\\\\d$\""),
        "numbers as text"
    );
    assert!(one("tactics", "matches", "\"^Exec\""));
}

#[test]
fn severity_order() {
    // The alert is medium.
    assert!(one("severity", "gte", "\"low\""));
    assert!(one("severity", "gte", "\"Medium\""));
    assert!(!one("severity", "gte", "\"high\""));
    assert!(one("severity", "lte", "\"medium\""));
    assert!(one("severity", "lte", "\"HIGH\""));
    assert!(!one("severity", "lte", "\"informational\""));
    assert!(one("severity", "equals", "\"MEDIUM\""));
    assert!(one("severity", "in", "[\"high\", \"medium\"]"));
    assert!(one("severity", "not_equals", "\"high\""));
}

#[test]
fn an_unknown_severity_is_a_missing_field() {
    let mut unknown = alert();
    unknown.severity = crate::alert::Severity::Unknown;
    let test = |field: &str, operator: &str, value: Option<&str>| {
        compile(&[(field, operator, value)]).matches(&unknown, "soc", Trigger::AlertCreated)
    };
    assert!(!test("severity", "lte", Some("\"high\"")));
    assert!(!test("severity", "gte", Some("\"informational\"")));
    assert!(!test("severity", "equals", Some("\"informational\"")));
    assert!(!test("severity", "exists", None));
    assert!(test("severity", "not_equals", Some("\"high\"")));
    assert!(test("severity", "not_in", Some("[\"high\", \"low\"]")));
}

#[test]
fn numbers_compare_as_numbers() {
    assert!(one("raw.riskScore", "gte", "80"));
    assert!(one("raw.riskScore", "gte", "87.0"));
    assert!(!one("raw.riskScore", "gte", "87.5"));
    assert!(one("raw.riskScore", "lte", "87"));
    assert!(one("raw.riskScore", "equals", "87.0"));
    assert!(
        one("raw.riskScore", "equals", "\"87\""),
        "text against a number: as text"
    );
    assert!(
        one("raw.confidence", "gte", "70"),
        "a numeric string orders as a number"
    );
    assert!(!one("raw.confidence", "lte", "70"));
    assert!(
        !one("raw.serviceSource", "gte", "1"),
        "text is not a number"
    );
}

#[test]
fn booleans_compare_as_text() {
    assert!(one("raw.isTest", "equals", "false"));
    assert!(one("raw.isTest", "equals", "\"False\""));
    assert!(!one("raw.isTest", "equals", "true"));
}

#[test]
fn list_fields_match_when_any_item_matches() {
    // Positive operators: any item.
    assert!(one("entity_kinds", "contains", "\"url\""));
    assert!(one("entity_kinds", "equals", "\"ip\""));
    assert!(!one("entity_kinds", "equals", "\"file\""));
    assert!(one("techniques", "starts_with", "\"t1059\""));
    assert!(one("techniques", "in", "[\"T1105\", \"T1566\"]"));
    assert!(one("tactics", "equals", "\"execution\""));
    assert!(one("raw.tags", "equals", "\"vip\""));
    // Negative operators: no item.
    assert!(!one("entity_kinds", "not_contains", "\"url\""));
    assert!(one("entity_kinds", "not_contains", "\"mailbox\""));
    assert!(!one("raw.tags", "not_equals", "\"finance\""));
    assert!(one("raw.tags", "not_in", "[\"HR\", \"Legal\"]"));
    assert!(!one("techniques", "not_in", "[\"T1105\"]"));
}

#[test]
fn missing_fields_fail_positive_operators_and_pass_negative_ones() {
    // Absent, null, "" and [] are all missing.
    for field in [
        "raw.noSuchKey",
        "raw.nothing",
        "raw.emptyList",
        "description",
        "incident_id",
        "raw.alertPolicy.name.deeper",
        "raw.evidence.9.url",
    ] {
        for (operator, value) in [
            ("equals", "\"x\""),
            ("contains", "\"x\""),
            ("starts_with", "\"x\""),
            ("ends_with", "\"x\""),
            ("in", "[\"x\"]"),
            ("matches", "\".*\""),
        ] {
            assert!(!one(field, operator, value), "{field} {operator}");
        }
        for (operator, value) in [
            ("not_equals", "\"x\""),
            ("not_contains", "\"x\""),
            ("not_in", "[\"x\"]"),
        ] {
            assert!(one(field, operator, value), "{field} {operator}");
        }
        assert!(!holds(&[(field, "exists", None)]), "{field} exists");
        assert!(one(field, "exists", "false"), "{field} exists = false");
    }
    assert!(!one("raw.noSuchKey", "gte", "0"));
    assert!(!one("raw.noSuchKey", "lte", "0"));
}

#[test]
fn exists_and_objects() {
    assert!(holds(&[("title", "exists", None)]));
    assert!(holds(&[("raw.alertPolicy", "exists", None)]));
    assert!(!one("raw.alertPolicy", "exists", "false"));
    assert!(holds(&[("raw.isTest", "exists", None)]), "false is a value");
    assert!(holds(&[("tactics", "exists", None)]));
    // An object equals no value and contains nothing, so only the negative operators hold.
    assert!(!one("raw.alertPolicy", "equals", "\"Default\""));
    assert!(!one("raw.alertPolicy", "contains", "\"Default\""));
    assert!(one("raw.alertPolicy", "not_equals", "\"Default\""));
    assert!(one("raw.alertPolicy.name", "equals", "\"default\""));
}

#[test]
fn raw_paths_index_into_arrays() {
    assert!(one("raw.evidence.0.verdict", "equals", "\"malicious\""));
    assert!(one(
        "raw.evidence.1.ipAddress",
        "starts_with",
        "\"203.0.113.\""
    ));
    assert!(!one("raw.evidence.first.verdict", "exists", "true"));
}

#[test]
fn all_conditions_must_hold() {
    assert!(holds(&[]), "no condition: every alert");
    assert!(holds(&[
        ("severity", "gte", Some("\"medium\"")),
        ("entity_kinds", "contains", Some("\"url\"")),
        ("raw.riskScore", "gte", Some("50")),
    ]));
    assert!(!holds(&[
        ("severity", "gte", Some("\"medium\"")),
        ("entity_kinds", "contains", Some("\"mailbox\"")),
    ]));
}

#[test]
fn workspaces_triggers_and_enabled() {
    let alert = alert();
    let listed = CompiledRule::compile(
        "listed",
        &parse_rule(&format!("workspaces = [\"soc-eu\", \"soc-us\"]\n{RUN}")),
    )
    .unwrap();
    assert!(listed.matches(&alert, "soc-eu", Trigger::AlertCreated));
    assert!(listed.matches(&alert, "soc-us", Trigger::AlertCreated));
    assert!(!listed.matches(&alert, "soc-apac", Trigger::AlertCreated));
    assert!(
        !listed.matches(&alert, "SOC-EU", Trigger::AlertCreated),
        "names are exact"
    );

    let all = CompiledRule::compile("all", &parse_rule(RUN)).unwrap();
    assert!(all.matches(&alert, "anything", Trigger::AlertCreated));
    assert!(!all.matches(&alert, "anything", Trigger::AlertUpdated));

    let updated = CompiledRule::compile(
        "updated",
        &parse_rule(&format!("trigger = \"alert_updated\"\n{RUN}")),
    )
    .unwrap();
    assert!(updated.matches(&alert, "soc", Trigger::AlertUpdated));
    assert!(!updated.matches(&alert, "soc", Trigger::AlertCreated));

    let disabled =
        CompiledRule::compile("off", &parse_rule(&format!("enabled = false\n{RUN}"))).unwrap();
    assert!(!disabled.matches(&alert, "soc", Trigger::AlertCreated));
}

#[test]
fn rule_set_orders_by_order_then_name_and_filters() {
    let rule = |name: &str, extra: &str, conditions: &[(&str, &str, Option<&str>)]| {
        CompiledRule::compile(name, &parse_rule(&rule_text(extra, conditions))).unwrap()
    };
    let set = RuleSet::new(vec![
        rule("zeta", "order = 10", &[]),
        rule("alpha", "order = 10", &[]),
        rule(
            "late",
            "order = 500",
            &[("raw.riskScore", "gte", Some("50"))],
        ),
        rule(
            "first",
            "order = 0",
            &[("raw.serviceSource", "contains", Some("\"endpoint\""))],
        ),
        rule("default order", "", &[("raw.riskScore", "lte", Some("50"))]),
        rule("disabled", "order = 1\nenabled = false", &[]),
        rule("elsewhere", "order = 2\nworkspaces = [\"other\"]", &[]),
    ]);
    assert_eq!(set.len(), 7);
    assert!(!set.is_empty());
    assert_eq!(set.active_len(), 6);
    let order: Vec<&str> = set.iter().map(CompiledRule::name).collect();
    assert_eq!(
        order,
        [
            "first",
            "disabled",
            "elsewhere",
            "alpha",
            "zeta",
            "default order",
            "late"
        ]
    );
    let alert = alert();
    let fired: Vec<&str> = set
        .matching(&alert, "soc", Trigger::AlertCreated)
        .map(CompiledRule::name)
        .collect();
    assert_eq!(fired, ["first", "alpha", "zeta", "late"]);
    let fired: Vec<&str> = set
        .matching(&alert, "other", Trigger::AlertCreated)
        .map(CompiledRule::name)
        .collect();
    assert_eq!(fired, ["first", "elsewhere", "alpha", "zeta", "late"]);
    assert_eq!(
        set.matching(&alert, "soc", Trigger::AlertUpdated).count(),
        0
    );
    // A rule taken out of the set still matches on its own (its raw slots were renumbered).
    let late = set.get("late").expect("in the set");
    assert!(late.matches(&alert, "soc", Trigger::AlertCreated));
    assert!(set.get("missing").is_none());
}

#[test]
fn the_same_raw_path_in_many_rules_reads_consistently() {
    let rules: Vec<CompiledRule> = (0..20)
        .map(|i| {
            let path = if i % 2 == 0 {
                "raw.riskScore"
            } else {
                "raw.tags"
            };
            let (operator, value) = if i % 2 == 0 {
                ("gte", format!("{}", i * 5))
            } else {
                ("in", "[\"finance\"]".to_owned())
            };
            CompiledRule::compile(
                &format!("r{i:02}"),
                &parse_rule(&rule_text("", &[(path, operator, Some(&value))])),
            )
            .unwrap()
        })
        .collect();
    let alert = alert();
    let set = RuleSet::new(rules.clone());
    let fired: Vec<&str> = set
        .matching(&alert, "soc", Trigger::AlertCreated)
        .map(CompiledRule::name)
        .collect();
    let alone: Vec<&str> = rules
        .iter()
        .filter(|rule| rule.matches(&alert, "soc", Trigger::AlertCreated))
        .map(CompiledRule::name)
        .collect();
    assert_eq!(fired, alone);
    // riskScore 87 passes gte 0..=85 (i = 0, 2, ..., 16); every odd rule matches the tag.
    assert_eq!(fired.len(), 9 + 10);
}

#[test]
fn errors_say_which_rule_which_condition_and_why() {
    let text = rule_text(
        "",
        &[
            ("severity", "gte", Some("\"medium\"")),
            ("title", "matches", Some("\"(unclosed\"")),
        ],
    );
    let err = CompiledRule::compile("Phish triage", &parse_rule(&text)).unwrap_err();
    assert_eq!(err.rule(), "Phish triage");
    assert_eq!(
        err.location(),
        &Location::Condition {
            index: 1,
            field: "title".into(),
            part: ConditionPart::Value
        }
    );
    let message = err.to_string();
    assert!(
        message
            == "automation rule `Phish triage`: condition 2 (`title`): invalid regular expression: unclosed group (Rust `regex` syntax)",
        "{message}"
    );
    assert!(err.detail().starts_with("condition 2 (`title`): "));
    let boxed: Box<dyn std::error::Error> = Box::new(err);
    assert!(boxed.to_string().contains("Phish triage"));
}

#[test]
fn a_hostile_regex_is_refused_at_compile_time() {
    let err = compile_error("title", "matches", Some("\"(\\\\w{100}){100}\""));
    assert!(
        err.problem().contains("too large once compiled"),
        "{}",
        err.problem()
    );
    assert_eq!(
        err.location(),
        &Location::Condition {
            index: 0,
            field: "title".into(),
            part: ConditionPart::Value
        }
    );
}

#[test]
fn compile_errors() {
    let cases: &[(&str, &str, Option<&str>, &str)] = &[
        ("Title", "equals", Some("\"x\""), "did you mean `title`?"),
        (
            "serviceSource",
            "equals",
            Some("\"x\""),
            "did you mean `provider`?",
        ),
        (
            "AlertName",
            "equals",
            Some("\"x\""),
            "did you mean `title`?",
        ),
        (
            "colour",
            "equals",
            Some("\"x\""),
            "unknown condition field `colour`; use one of",
        ),
        ("raw.", "exists", None, "empty segment"),
        ("raw.a..b", "exists", None, "empty segment"),
        ("raw", "exists", None, "unknown condition field `raw`"),
        ("title", "equals", None, "`equals` needs a value"),
        ("title", "equals", Some("[\"a\"]"), "needs a single value"),
        ("title", "contains", Some("{ a = 1 }"), "not a table"),
        ("title", "contains", Some("\"\""), "operator = \"exists\""),
        ("status", "in", Some("\"new\""), "needs a list value"),
        (
            "status",
            "in",
            Some("[\"new\", [\"x\"]]"),
            "list item 2: `in` needs a single value",
        ),
        (
            "severity",
            "in",
            Some("[\"high\", \"critical\"]"),
            "list item 2: `critical` is not a severity",
        ),
        (
            "severity",
            "equals",
            Some("\"sev1\""),
            "`sev1` is not a severity",
        ),
        (
            "severity",
            "gte",
            Some("\"critical\""),
            "needs a severity value",
        ),
        (
            "severity",
            "gte",
            Some("\"unknown\""),
            "needs a severity value",
        ),
        ("severity", "lte", Some("3"), "needs a severity value"),
        ("title", "gte", Some("\"high\""), "compares severities"),
        (
            "raw.riskScore",
            "gte",
            Some("\"80\""),
            "needs a number value",
        ),
        ("raw.riskScore", "lte", None, "needs a number value"),
        ("title", "matches", Some("42"), "regular expression string"),
        ("title", "exists", Some("\"yes\""), "takes no value"),
    ];
    for (field, operator, value, expected) in cases {
        let err = compile_error(field, operator, *value);
        assert!(
            err.to_string().contains(expected),
            "{field} {operator} {value:?}: {err}"
        );
    }
}

#[test]
fn rule_level_errors() {
    let no_action = AutomationRule {
        actions: Vec::new(),
        ..parse_rule(RUN)
    };
    let err = CompiledRule::compile("r", &no_action).unwrap_err();
    assert_eq!(err.location(), &Location::Rule { key: "actions" });
    assert!(err.to_string().contains("exactly one action"), "{err}");

    let two = parse_rule(&format!("{RUN}{RUN}"));
    assert!(
        CompiledRule::compile("r", &two)
            .unwrap_err()
            .to_string()
            .contains("split it into 2 rules")
    );

    let nothing = parse_rule("[[actions]]\ntype = \"update_alert\"\n");
    assert!(
        CompiledRule::compile("r", &nothing)
            .unwrap_err()
            .to_string()
            .contains("changes nothing")
    );

    let empty = parse_rule(&format!("workspaces = []\n{RUN}"));
    let err = CompiledRule::compile("r", &empty).unwrap_err();
    assert_eq!(err.location(), &Location::Rule { key: "workspaces" });

    let blank = parse_rule(&format!("workspaces = [\"soc\", \" \"]\n{RUN}"));
    assert!(
        CompiledRule::compile("r", &blank)
            .unwrap_err()
            .to_string()
            .contains("empty name")
    );
}

#[test]
fn values_the_format_accepts_compile() {
    // Every operator with each value shape the schema allows.
    for (field, operator, value) in [
        ("severity", "equals", Some("3")),
        ("severity", "contains", Some("\"anything\"")),
        ("detection_source", "equals", Some("true")),
        (
            "raw.createdDateTime",
            "equals",
            Some("2024-05-01T10:00:00Z"),
        ),
        ("raw.riskScore", "equals", Some("87.5")),
        ("incident_id", "exists", Some("false")),
        ("techniques", "not_in", Some("[]")),
        ("raw.riskScore", "gte", Some("-1.5")),
    ] {
        compile(&[(field, operator, value)]);
    }
}

#[test]
fn a_toml_date_time_compares_as_its_text() {
    let alert = Alert::from_value(json!({
        "@odata.type": "#microsoft.graph.security.alert",
        "id": "a",
        "title": "t",
        "createdDateTime": "2024-05-01T10:00:00Z"
    }))
    .unwrap();
    let rule = compile(&[(
        "raw.createdDateTime",
        "equals",
        Some("2024-05-01T10:00:00Z"),
    )]);
    assert!(rule.matches(&alert, "soc", Trigger::AlertCreated));
    let rule = compile(&[("raw.createdDateTime", "starts_with", Some("\"2024-05-01\""))]);
    assert!(rule.matches(&alert, "soc", Trigger::AlertCreated));
}

// --- The demo workspace's rules against the fixture alerts ---

const DEMO_RULES: &[(&str, &str)] = &[
    (
        "block-aws-users",
        include_str!("../../../../fixtures/workspace/rules/block-aws-users.toml"),
    ),
    (
        "enrich-urls",
        include_str!("../../../../fixtures/workspace/rules/enrich-urls.toml"),
    ),
    (
        "phishing-sender",
        include_str!("../../../../fixtures/workspace/rules/phishing-sender.toml"),
    ),
    (
        "triage-informational",
        include_str!("../../../../fixtures/workspace/rules/triage-informational.toml"),
    ),
];

const FIXTURE_ALERTS: &[(&str, &str)] = &[
    (
        "graph-aws-iam-suspicious",
        include_str!("../../../../fixtures/alerts/graph-aws-iam-suspicious.json"),
    ),
    (
        "graph-impossible-travel",
        include_str!("../../../../fixtures/alerts/graph-impossible-travel.json"),
    ),
    (
        "graph-malware-device",
        include_str!("../../../../fixtures/alerts/graph-malware-device.json"),
    ),
    (
        "graph-phishing-url",
        include_str!("../../../../fixtures/alerts/graph-phishing-url.json"),
    ),
    (
        "graph-reference-example",
        include_str!("../../../../fixtures/alerts/graph-reference-example.json"),
    ),
    (
        "sentinel-securityalert-bruteforce",
        include_str!("../../../../fixtures/alerts/sentinel-securityalert-bruteforce.json"),
    ),
    (
        "sentinel-securityalert-phishing",
        include_str!("../../../../fixtures/alerts/sentinel-securityalert-phishing.json"),
    ),
];

fn demo_rule_set() -> RuleSet {
    RuleSet::new(
        DEMO_RULES
            .iter()
            .map(|(file, text)| {
                let (rule, diagnostics) = AutomationRule::parse(text, &|_| true);
                let rule = rule.unwrap_or_else(|| panic!("{file}: {diagnostics:#?}"));
                let name = rule.name.clone().unwrap_or_else(|| (*file).to_owned());
                CompiledRule::compile(&name, &rule).unwrap_or_else(|err| panic!("{err}"))
            })
            .collect(),
    )
}

#[test]
fn demo_rules_against_the_fixture_alerts() {
    let set = demo_rule_set();
    assert_eq!(set.len(), 4);
    assert_eq!(
        set.active_len(),
        3,
        "the informational triage rule ships disabled"
    );
    let expected: &[(&str, &[&str])] = &[
        // Defender for Cloud Apps, high: the AWS rule; no URL evidence.
        (
            "graph-aws-iam-suspicious",
            &["Block AWS IAM users on high severity"],
        ),
        (
            "graph-impossible-travel",
            &["Block AWS IAM users on high severity"],
        ),
        // Defender for Endpoint, high, with a C2 URL: only URL enrichment.
        ("graph-malware-device", &["Enrich URL evidence"]),
        ("graph-phishing-url", &["Enrich URL evidence"]),
        // Low, no URL: nothing (the informational triage rule is disabled, and it is low anyway).
        ("graph-reference-example", &[]),
        // High, but the provider is Azure Sentinel, not Defender for Cloud Apps.
        ("sentinel-securityalert-bruteforce", &[]),
        ("sentinel-securityalert-phishing", &["Enrich URL evidence"]),
    ];
    for (file, want) in expected {
        let text = FIXTURE_ALERTS
            .iter()
            .find(|(name, _)| name == file)
            .map(|(_, text)| text)
            .unwrap();
        let alert = Alert::from_json(text).unwrap_or_else(|err| panic!("{file}: {err}"));
        let fired: Vec<&str> = set
            .matching(&alert, "default", Trigger::AlertCreated)
            .map(CompiledRule::name)
            .collect();
        assert_eq!(&fired, want, "{file}");
        assert_eq!(
            set.matching(&alert, "default", Trigger::AlertUpdated)
                .count(),
            0,
            "{file}: every demo rule is on alert creation"
        );
    }
    assert_eq!(
        FIXTURE_ALERTS.len(),
        expected.len(),
        "every fixture alert asserted"
    );
}

#[test]
fn the_disabled_demo_rule_would_fire_on_an_informational_antivirus_alert() {
    let set = demo_rule_set();
    let triage = set
        .get("Close informational alerts from the antivirus")
        .expect("the demo triage rule");
    let mut alert = Alert::from_json(FIXTURE_ALERTS[4].1).unwrap();
    assert_eq!(alert.detection_source.as_deref(), Some("antivirus"));
    alert.severity = crate::alert::Severity::Informational;
    assert!(!triage.matches(&alert, "default", Trigger::AlertCreated));
    let mut enabled = triage.rule().clone();
    enabled.enabled = true;
    let enabled = CompiledRule::compile(triage.name(), &enabled).unwrap();
    assert!(enabled.matches(&alert, "default", Trigger::AlertCreated));
    assert!(matches!(enabled.action(), Action::UpdateAlert { .. }));
}

#[test]
fn rule_sets_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>(_: &T) {}
    fn sent<T: Send>(_: &T) {}
    let set = demo_rule_set();
    shared(&set);
    let alert = alert();
    let matching = set.matching(&alert, "default", Trigger::AlertCreated);
    sent(&matching);
    let handle = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                set.matching(&alert, "default", Trigger::AlertCreated)
                    .count()
            })
            .join()
            .expect("no panic")
    });
    assert_eq!(handle, 1, "the test alert has URL evidence");
}
