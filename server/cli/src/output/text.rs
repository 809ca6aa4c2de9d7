//! Human output in the style of ruff: `path:line:col: CODE message`, then the source line with the
//! range underlined, then a count.

use std::fmt::Write as _;

use riposte_core::Severity;
use ruff_like::frame;

use crate::check::Report;

pub fn render(reports: &[Report]) -> String {
    let mut out = String::new();
    let (mut errors, mut warnings, mut fixable) = (0, 0, 0);
    for report in reports {
        let source = &report.file.source;
        for diagnostic in &report.file.diagnostics {
            match diagnostic.severity {
                Severity::Error => errors += 1,
                Severity::Warning | Severity::Info => warnings += 1,
            }
            if diagnostic
                .fix
                .as_ref()
                .is_some_and(|f| f.applicability == riposte_core::Applicability::Safe)
            {
                fixable += 1;
            }
            let start = source.position(diagnostic.range.start());
            let _ = writeln!(
                out,
                "{}:{}:{}: {} [{}] {}",
                report.display_path,
                start.line,
                start.column,
                diagnostic.rule.code(),
                diagnostic.severity.as_str(),
                diagnostic.message
            );
            let secrets: Vec<_> = report
                .file
                .diagnostics
                .iter()
                .filter_map(|d| d.secret)
                .collect();
            out.push_str(&frame(source, diagnostic.range, &secrets));
            if let Some(fix) = &diagnostic.fix {
                let _ = writeln!(out, "  = fix: {}", fix.title);
            }
            out.push('\n');
        }
    }
    if errors + warnings == 0 {
        let _ = writeln!(out, "All checks passed! ({} files)", reports.len());
    } else {
        let _ = writeln!(
            out,
            "Found {errors} error{} and {warnings} warning{} in {} file{}.",
            plural(errors),
            plural(warnings),
            reports.len(),
            plural(reports.len())
        );
        if fixable > 0 {
            let _ = writeln!(out, "{fixable} fixable with `riposte check --fix`.");
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

mod ruff_like {
    use riposte_core::SourceFile;
    use riposte_core::source::TextRange;

    /// The line a range starts on, with the range underlined (to the end of that line).
    /// Long lines are cut around the range so a 100,000-character line stays readable, and
    /// text that holds a secret is masked: these frames end up in CI logs.
    pub fn frame(source: &SourceFile, range: TextRange, secrets: &[TextRange]) -> String {
        const WIDTH: usize = 160;
        let start = source.position(range.start());
        let line_range = source.line_range_of(range.start());
        let line: String = source
            .line_text(range.start())
            .char_indices()
            .map(|(offset, c)| {
                let at = line_range.start()
                    + riposte_core::source::TextSize::try_from(offset).unwrap_or_default();
                if secrets.iter().any(|secret| secret.contains(at)) && !c.is_whitespace() {
                    '*'
                } else {
                    c
                }
            })
            .collect();
        let end_col = if source.position(range.end()).line == start.line {
            source.position(range.end()).column
        } else {
            line.chars().count() + 1
        };
        let chars: Vec<char> = line.chars().collect();
        let first = start.column.saturating_sub(1);
        let skip = first.saturating_sub(WIDTH / 2).min(chars.len());
        let shown: String = chars.iter().skip(skip).take(WIDTH).collect();
        let shown = shown.replace('\t', " ");
        let prefix = if skip > 0 { "…" } else { "" };
        let gutter = start.line.to_string();
        let pad = " ".repeat(gutter.len());
        let caret_start = first - skip + prefix.chars().count();
        let caret_len = end_col.saturating_sub(start.column).clamp(1, WIDTH);
        format!(
            "{pad} |\n{gutter} | {prefix}{shown}\n{pad} | {}{}\n",
            " ".repeat(caret_start),
            "^".repeat(caret_len)
        )
    }
}
