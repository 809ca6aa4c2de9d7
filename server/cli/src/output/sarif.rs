//! SARIF 2.1.0, as GitHub code scanning accepts it: relative artifact URIs, UTF-16 columns, one
//! reporting descriptor per rule with its help link.

use riposte_core::source::{PositionEncoding, TextSize};
use riposte_core::{Rule, Severity, SourceFile};
use serde_json::{Value, json};

use crate::check::Report;

pub fn render(reports: &[Report]) -> String {
    let rules: Vec<Value> = Rule::ALL
        .iter()
        .map(|rule| {
            json!({
                "id": rule.code(),
                "name": rule.name(),
                "shortDescription": { "text": rule.summary() },
                "fullDescription": { "text": rule.summary() },
                "helpUri": rule.doc_url(),
                "help": { "text": format!("{} See {}", rule.summary(), rule.doc_url()), "markdown": rule.documentation() },
                "defaultConfiguration": { "level": level(rule.default_severity()) },
                "properties": properties(*rule),
            })
        })
        .collect();
    let results: Vec<Value> = reports
        .iter()
        .flat_map(|report| {
            report.file.diagnostics.iter().map(move |d| {
                let start = position(&report.file.source, d.range.start());
                let end = position(&report.file.source, d.range.end());
                json!({
                    "ruleId": d.rule.code(),
                    "ruleIndex": Rule::ALL.iter().position(|r| *r == d.rule).unwrap_or_default(),
                    "level": level(d.severity),
                    "message": { "text": d.message },
                    "locations": [{
                        "physicalLocation": {
                            "artifactLocation": { "uri": report.display_path, "uriBaseId": "%SRCROOT%" },
                            "region": {
                                "startLine": start.0, "startColumn": start.1,
                                "endLine": end.0, "endColumn": end.1,
                            },
                        },
                    }],
                })
            })
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "riposte",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": super::DOCS_BASE,
                    "rules": rules,
                },
            },
            "columnKind": "utf16CodeUnits",
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).expect("JSON values serialise");
    text.push('\n');
    text
}

/// Tags and, for security rules, the `security-severity` GitHub uses to rank alerts (CVSS-like 0-10).
fn properties(rule: Rule) -> Value {
    let security_severity = match rule {
        Rule::HardcodedSecret | Rule::ForeignHost => Some("8.0"),
        Rule::DangerousCall | Rule::DirectNetwork => Some("7.0"),
        Rule::InvalidProfile => Some("6.0"),
        Rule::InsecureUrl => Some("5.0"),
        _ => None,
    };
    match security_severity {
        Some(score) => {
            json!({ "tags": ["security"], "precision": "high", "security-severity": score })
        }
        None => json!({ "tags": ["correctness"], "precision": "high" }),
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn position(source: &SourceFile, offset: TextSize) -> (usize, usize) {
    let p = source.position_in(offset, PositionEncoding::Utf16);
    (p.line, p.column)
}
