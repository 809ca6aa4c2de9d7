//! Machine output: one JSON array of findings with one-based line/column (characters) and fixes.

use riposte_core::Diagnostic;
use riposte_core::SourceFile;
use serde_json::{Value, json};

use crate::check::Report;

pub fn render(reports: &[Report]) -> String {
    let findings: Vec<Value> = reports
        .iter()
        .flat_map(|report| {
            report
                .file
                .diagnostics
                .iter()
                .map(move |d| finding(&report.display_path, &report.file.source, d))
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&findings).expect("JSON values serialise");
    text.push('\n');
    text
}

pub fn finding(path: &str, source: &SourceFile, diagnostic: &Diagnostic) -> Value {
    let fix = diagnostic.fix.as_ref().map(|fix| {
        json!({
            "title": fix.title,
            "applicability": fix.applicability,
            "edits": fix.edits.iter().map(|edit| json!({
                "start": source.position(edit.range.start()),
                "end": source.position(edit.range.end()),
                "content": edit.content,
            })).collect::<Vec<_>>(),
        })
    });
    json!({
        "path": path,
        "code": diagnostic.rule.code(),
        "name": diagnostic.rule.name(),
        "severity": diagnostic.severity,
        "message": diagnostic.message,
        "start": source.position(diagnostic.range.start()),
        "end": source.position(diagnostic.range.end()),
        "fix": fix,
        "url": diagnostic.rule.doc_url(),
    })
}
