//! How long matching one alert against 500 automation rules takes (the target is a median of
//! 50 µs or less), and compiling them.
//!
//! `cargo bench -p riposte_core --bench automation` (figures in docs/performance.md, section
//! "Automation rules"). The alert is `fixtures/alerts/graph-reference-example.json`, Microsoft's
//! published Graph alert. Three deterministic sets of 500 rules, each parsed from TOML as
//! `riposte check` and the engine read them:
//!
//! - `varied`: ten realistic kinds of rule in turn (severity and provider, title regexes, entity
//!   kinds, tactics, detection source, raw service source, status, raw evidence verdicts,
//!   techniques, title words), 1 to 3 conditions each, every operator, each value varied per rule;
//!   some fire on the alert, most do not;
//! - `none_match`: every rule fails on its last of three conditions, so all conditions are read;
//! - `all_match`: every rule fires, after three conditions each.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use riposte_core::alert::Alert;
use riposte_core::automation::{CompiledRule, RuleSet};
use riposte_core::formats::automation::{AutomationRule, Trigger};

const RULES: usize = 500;

fn reference_alert() -> Alert {
    Alert::from_json(include_str!(
        "../../../fixtures/alerts/graph-reference-example.json"
    ))
    .expect("the reference alert parses")
}

fn condition(field: &str, operator: &str, value: &str) -> String {
    format!("[[conditions]]\nfield = \"{field}\"\noperator = \"{operator}\"\nvalue = {value}\n\n")
}

fn rule_text(i: usize, conditions: &[String]) -> String {
    format!(
        "name = \"rule {i:03}\"\norder = {}\n\n{}[[actions]]\ntype = \"run_playbook\"\nplaybook = \"p{}\"\n",
        i % 50,
        conditions.concat(),
        i % 7
    )
}

fn pick<'a>(items: &[&'a str], i: usize) -> &'a str {
    items[(i / 10) % items.len()]
}

/// One realistic rule of ten kinds, varied by `i`.
fn varied(i: usize) -> String {
    const SEVERITIES: &[&str] = &["informational", "low", "medium", "high"];
    const PROVIDERS: &[&str] = &[
        "microsoftDefenderForEndpoint",
        "microsoftDefenderForOffice365",
        "microsoftDefenderForCloudApps",
        "microsoftDefenderForIdentity",
        "azureAdIdentityProtection",
        "microsoftSentinel",
    ];
    const PATTERNS: &[&str] = &[
        r"(?i)phish",
        r"(?i)(mimikatz|sekurlsa|lsadump|procdump.*lsass)",
        r"(?i)hidden\s+file",
        r"^Suspicious\s+\w+",
        r"(?i)ransom(ware)?",
        r"[0-9a-f]{64}",
        r"(?i)impossible travel|atypical travel",
        r"(?i)brute[- ]?force",
    ];
    const KINDS: &[&str] = &["url", "ip", "file", "user", "mailbox", "process", "device"];
    const TACTICS: &[&str] = &[
        "DefenseEvasion",
        "Execution",
        "Persistence",
        "CredentialAccess",
        "InitialAccess",
        "LateralMovement",
    ];
    const DETECTORS: &[&str] = &["antivirus", "edr", "cloudAppSecurity", "customDetection"];
    const STATUSES: &[&str] = &["new", "inProgress", "resolved"];
    const VERDICTS: &[&str] = &["malicious", "suspicious", "unknown"];
    const WORDS: &[&str] = &["execution", "credential", "ransomware", "mailbox", "token"];
    let quoted = |s: &str| format!("\"{s}\"");
    let conditions = match i % 10 {
        0 => vec![
            condition("severity", "gte", &quoted(pick(SEVERITIES, i))),
            condition(
                "provider",
                "in",
                &format!(
                    "[\"{}\", \"{}\"]",
                    pick(PROVIDERS, i),
                    pick(PROVIDERS, i + 10)
                ),
            ),
        ],
        1 => vec![condition(
            "title",
            "matches",
            &format!("'{}|campaign-{i}'", pick(PATTERNS, i)),
        )],
        2 => vec![
            condition("entity_kinds", "contains", &quoted(pick(KINDS, i))),
            condition("severity", "gte", &quoted(pick(SEVERITIES, i + 10))),
        ],
        3 => vec![condition(
            "tactics",
            "in",
            &format!("[\"{}\", \"{}\"]", pick(TACTICS, i), pick(TACTICS, i + 20)),
        )],
        4 => vec![
            condition("detection_source", "equals", &quoted(pick(DETECTORS, i))),
            condition("status", "not_equals", "\"resolved\""),
        ],
        5 => vec![condition(
            "raw.serviceSource",
            if i % 20 == 5 { "starts_with" } else { "equals" },
            &quoted(pick(PROVIDERS, i)),
        )],
        6 => vec![
            condition("status", "in", &format!("[\"{}\"]", pick(STATUSES, i))),
            condition("description", "not_contains", &format!("\"test-{i}\"")),
            condition("incident_id", "exists", "true"),
        ],
        7 => vec![
            condition(
                "raw.evidence.0.verdict",
                "equals",
                &quoted(pick(VERDICTS, i)),
            ),
            condition(
                "raw.evidence.0.remediationStatus",
                "not_equals",
                "\"prevented\"",
            ),
        ],
        8 => vec![condition(
            "techniques",
            "starts_with",
            &format!("\"T1{}\"", 500 + (i * 7) % 100),
        )],
        _ => vec![
            condition("title", "contains", &quoted(pick(WORDS, i))),
            condition("severity", "lte", &quoted(pick(SEVERITIES, i + 30))),
        ],
    };
    rule_text(i, &conditions)
}

/// Three conditions that hold on the reference alert, then one that fails (a product it is not).
fn none_match(i: usize) -> String {
    rule_text(
        i,
        &[
            condition("severity", "gte", "\"low\""),
            condition("title", "contains", "\"hidden file\""),
            condition("raw.serviceSource", "equals", &format!("\"product-{i}\"")),
        ],
    )
}

/// Three conditions that hold on the reference alert.
fn all_match(i: usize) -> String {
    let third = match i % 3 {
        0 => condition("entity_kinds", "contains", "\"file\""),
        1 => condition("title", "matches", &format!("'(?i)hidden|x{i}'")),
        _ => condition("raw.detectionSource", "in", "[\"antivirus\", \"edr\"]"),
    };
    rule_text(
        i,
        &[
            condition("severity", "lte", "\"medium\""),
            condition("provider", "starts_with", "\"microsoftDefender\""),
            third,
        ],
    )
}

fn parse(text: &str) -> AutomationRule {
    let (rule, diagnostics) = AutomationRule::parse(text, &|_| true);
    rule.unwrap_or_else(|| panic!("{diagnostics:#?}\n{text}"))
}

fn compile(rules: &[AutomationRule]) -> RuleSet {
    RuleSet::new(
        rules
            .iter()
            .map(|rule| {
                let name = rule.name.as_deref().expect("named");
                CompiledRule::compile(name, rule).expect("compiles")
            })
            .collect(),
    )
}

fn benches(c: &mut Criterion) {
    let alert = reference_alert();
    let mut group = c.benchmark_group("automation");
    group.measurement_time(Duration::from_secs(10));
    for (name, generate, expected) in [
        ("varied", varied as fn(usize) -> String, None),
        ("none_match", none_match, Some(0)),
        ("all_match", all_match, Some(RULES)),
    ] {
        let rules: Vec<AutomationRule> = (0..RULES).map(|i| parse(&generate(i))).collect();
        let set = compile(&rules);
        let fired = set
            .matching(&alert, "default", Trigger::AlertCreated)
            .count();
        if let Some(expected) = expected {
            assert_eq!(fired, expected, "{name}");
        }
        eprintln!("automation/{name}: {fired} of {RULES} rules fire on the reference alert");
        group.bench_function(format!("match_500/{name}"), |b| {
            b.iter(|| match_once(black_box(&set), black_box(&alert)))
        });
        if name == "varied" {
            group.bench_function("compile_500/varied", |b| {
                b.iter(|| compile(black_box(&rules)))
            });
        }
    }
    group.finish();
}

/// One match of the alert against a set: the unit the driver counts (kept out of line so
/// callgrind's `--toggle-collect='*match_once*'` counts exactly it).
#[inline(never)]
fn match_once(set: &RuleSet, alert: &Alert) -> usize {
    set.matching(alert, "default", Trigger::AlertCreated)
        .count()
}

/// `RIPOSTE_BENCH_DRIVER=N`: N matches per set, timed without criterion (the minimum over 15
/// rounds), for profilers and instruction counts, which the machine's load does not change;
/// `RIPOSTE_BENCH_SET=varied` (or `none_match`, `all_match`) runs one set only.
fn driver(iterations: u32) {
    let alert = reference_alert();
    let only = std::env::var("RIPOSTE_BENCH_SET").ok();
    for (name, generate) in [
        ("varied", varied as fn(usize) -> String),
        ("none_match", none_match),
        ("all_match", all_match),
    ] {
        if only.as_deref().is_some_and(|only| only != name) {
            continue;
        }
        let rules: Vec<AutomationRule> = (0..RULES).map(|i| parse(&generate(i))).collect();
        let set = compile(&rules);
        let mut best = Duration::MAX;
        for _ in 0..15 {
            let start = std::time::Instant::now();
            for _ in 0..iterations {
                black_box(match_once(black_box(&set), black_box(&alert)));
            }
            best = best.min(start.elapsed() / iterations.max(1));
        }
        println!("{name}: min {best:?} per alert against {RULES} rules");
    }
}

criterion_group!(automation, benches);

fn main() {
    if let Some(iterations) = std::env::var("RIPOSTE_BENCH_DRIVER")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        driver(iterations);
        return;
    }
    automation();
    Criterion::default().configure_from_args().final_summary();
}
