//! GitHub Actions workflow commands: `::error file=…,line=…,col=…,title=…::message`.

use std::fmt::Write as _;

use riposte_core::Severity;

use crate::check::Report;

pub fn render(reports: &[Report]) -> String {
    let mut out = String::new();
    for report in reports {
        for d in &report.file.diagnostics {
            let start = report.file.source.position(d.range.start());
            let end = report.file.source.position(d.range.end());
            let command = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            let _ = writeln!(
                out,
                "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}",
                property(&report.display_path),
                start.line,
                start.column,
                end.line,
                end.column,
                property(&format!("{} ({})", d.rule.code(), d.rule.name())),
                data(&format!("{} {}", d.rule.code(), d.message)),
            );
        }
    }
    out
}

/// Escaping for a command's message, as the runner's toolkit does it.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping for a property value, which also may not contain `:` or `,`.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}
