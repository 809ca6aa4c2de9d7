//! The run record as text for people: what ran where, the trace, the changes (planned or made),
//! the result or the traceback, what the playbook printed, and a closing line.

use std::fmt::Write as _;

use serde_json::Value;

use crate::record::{Outcome, RunRecord, Status, TraceNode};

/// Lines of stdout or stderr the text shows (the JSON record keeps up to its cap).
const SHOWN_OUTPUT_LINES: usize = 20;

pub fn render_text(record: &RunRecord) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", headline(record));
    if let Some(python) = &record.python {
        let isolation = record
            .isolation
            .map(|isolation| isolation.summary())
            .unwrap_or_else(|| "none".into());
        let _ = writeln!(
            out,
            "  python {} ({}) · isolation: {isolation}",
            python.version, python.executable
        );
    }

    if !record.diagnostics.is_empty() {
        out.push_str("\nValidation errors\n");
        for diagnostic in &record.diagnostics {
            let _ = writeln!(
                out,
                "  {}:{}:{}: {} {}",
                record.playbook,
                diagnostic.line,
                diagnostic.column,
                diagnostic.code,
                diagnostic.message
            );
        }
    }

    if !record.trace.is_empty() {
        out.push_str("\nTrace\n");
        for node in &record.trace {
            trace_node(&mut out, record, node, 1);
        }
        if record.logs_dropped > 0 {
            let _ = writeln!(
                out,
                "  … and {} more log lines (a record keeps the first {})",
                record.logs_dropped,
                record.logs.len()
            );
        }
    }

    let planned: Vec<_> = record.planned_changes().collect();
    if record.dry_run {
        out.push_str("\nChanges the real run would make\n");
        if planned.is_empty() {
            out.push_str("  none\n");
        }
        for change in &planned {
            let _ = writeln!(out, "  {}", change.description);
        }
    } else {
        let made: Vec<_> = record
            .changes
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Sent | Outcome::Failed))
            .collect();
        if !made.is_empty() {
            out.push_str("\nChanges made\n");
            for change in made {
                let failed = if change.outcome == Outcome::Failed {
                    " (failed)"
                } else {
                    ""
                };
                let _ = writeln!(out, "  {}{failed}", change.description);
            }
        }
    }
    let recorded: Vec<_> = record
        .changes
        .iter()
        .filter(|c| c.outcome == Outcome::Recorded)
        .collect();
    if !recorded.is_empty() {
        out.push_str("\nKept in the run record only (the alert came from a file)\n");
        for change in recorded {
            let _ = writeln!(out, "  {}", change.description);
        }
    }

    if record.status == Status::Succeeded && !record.result.is_null() {
        out.push_str("\nResult\n");
        let text = serde_json::to_string_pretty(&record.result).unwrap_or_default();
        for line in text.lines().take(40) {
            let _ = writeln!(out, "  {line}");
        }
        if text.lines().count() > 40 {
            out.push_str("  … (the JSON record has all of it)\n");
        }
    }

    if let Some(error) = &record.error
        && !error.text.is_empty()
    {
        out.push('\n');
        out.push_str(error.text.trim_end());
        out.push('\n');
    }

    for (name, text, bytes, truncated) in [
        (
            "stdout",
            &record.printed.stdout,
            record.printed.stdout_bytes,
            record.printed.stdout_truncated,
        ),
        (
            "stderr",
            &record.printed.stderr,
            record.printed.stderr_bytes,
            record.printed.stderr_truncated,
        ),
    ] {
        if text.is_empty() {
            continue;
        }
        let lines: Vec<&str> = text.lines().collect();
        let cut = if truncated {
            format!(
                ", truncated: {} printed, the record keeps the first {}",
                human_bytes(bytes),
                human_bytes(record.limits.output_bytes as u64)
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "\n{name} ({} line{}{cut})",
            lines.len(),
            plural(lines.len())
        );
        for line in lines.iter().take(SHOWN_OUTPUT_LINES) {
            let shown: String = line.chars().take(200).collect();
            let _ = writeln!(out, "  {shown}");
        }
        if lines.len() > SHOWN_OUTPUT_LINES {
            let _ = writeln!(
                out,
                "  … {} more line{} (`--format json` has them)",
                lines.len() - SHOWN_OUTPUT_LINES,
                plural(lines.len() - SHOWN_OUTPUT_LINES)
            );
        }
    }

    out.push('\n');
    out.push_str(&closing_line(record));
    out.push('\n');
    out
}

fn headline(record: &RunRecord) -> String {
    let mode = if record.dry_run { "dry run" } else { "run" };
    if record.alert.id.is_empty() {
        return format!("{} ({mode})", record.playbook);
    }
    format!(
        "{} ({mode}) on alert {} \"{}\" from {}",
        record.playbook,
        short(&record.alert.id, 40),
        short(&record.alert.title, 80),
        record.alert.source
    )
}

/// `succeeded in 0.42 s · 3 requests (1 planned) · 1 comment · 0 alert updates`, or the status and
/// the reason.
pub fn closing_line(record: &RunRecord) -> String {
    let secs = record.duration_ms / 1000.0;
    let by_playbook = record.requests.iter().filter(|r| !r.by_host).count();
    let planned = record
        .requests
        .iter()
        .filter(|r| r.outcome == Outcome::Planned)
        .count();
    let counts = format!(
        "{by_playbook} request{}{} · {} comment{} · {} alert update{}",
        plural(by_playbook),
        if planned > 0 {
            format!(" ({planned} planned)")
        } else {
            String::new()
        },
        record.comments.len(),
        plural(record.comments.len()),
        record.updates.len(),
        plural(record.updates.len())
    );
    match (&record.status, &record.message) {
        (Status::Succeeded, _) => format!("{} in {secs:.2} s · {counts}", record.status),
        (status, Some(message)) => format!("{status} after {secs:.2} s: {message} · {counts}"),
        (status, None) => format!("{status} after {secs:.2} s · {counts}"),
    }
}

fn trace_node(out: &mut String, record: &RunRecord, node: &TraceNode, depth: usize) {
    let pad = "  ".repeat(depth);
    match node {
        TraceNode::Step(step) => {
            let time = match step.duration_ms {
                Some(ms) => format!("{ms:.1} ms"),
                None => "did not finish".into(),
            };
            let error = step
                .error
                .as_deref()
                .map(|e| format!(", left by {e}"))
                .unwrap_or_default();
            let _ = writeln!(out, "{pad}step {} ({time}{error})", step.name);
            for child in &step.children {
                trace_node(out, record, child, depth + 1);
            }
        }
        TraceNode::Request { index, .. } => {
            let Some(request) = record.requests.get(*index) else {
                return;
            };
            let what = match request.outcome {
                Outcome::Sent => format!(
                    "→ {} ({:.1} ms)",
                    request.status.map(|s| s.to_string()).unwrap_or_default(),
                    request.duration_ms
                ),
                Outcome::Planned => "planned, not sent (dry run)".into(),
                Outcome::Recorded => "recorded".into(),
                Outcome::Failed => format!(
                    "failed: {}",
                    request.error.as_deref().unwrap_or("no answer")
                ),
            };
            let _ = writeln!(
                out,
                "{pad}{} {} {what}",
                request.method,
                short(&request.url, 120)
            );
        }
        TraceNode::Comment { index, .. } => {
            if let Some(comment) = record.comments.get(*index) {
                let _ = writeln!(
                    out,
                    "{pad}comment ({}, {}): {}",
                    comment.target,
                    outcome_word(comment.outcome),
                    crate::run::one_line(&comment.text, 100)
                );
            }
        }
        TraceNode::Update { index, .. } => {
            if let Some(update) = record.updates.get(*index) {
                let fields = update
                    .fields
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(", ");
                let _ = writeln!(
                    out,
                    "{pad}update alert ({}, {}): {fields}",
                    update.target,
                    outcome_word(update.outcome)
                );
            }
        }
        TraceNode::Log { index, .. } => {
            if let Some(log) = record.logs.get(*index) {
                let fields = log
                    .fields
                    .iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => format!("{k}={}", short(s, 60)),
                        other => format!("{k}={}", short(&other.to_string(), 60)),
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                let _ = writeln!(out, "{pad}log {} {fields}", short(&log.message, 120));
            }
        }
    }
}

fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Sent => "sent",
        Outcome::Planned => "planned",
        Outcome::Recorded => "recorded",
        Outcome::Failed => "failed",
    }
}

fn short(text: &str, max: usize) -> String {
    let first = text.lines().next().unwrap_or("");
    if first.chars().count() <= max && first.len() == text.len() {
        return first.to_string();
    }
    let mut shown: String = first.chars().take(max).collect();
    shown.push('…');
    shown
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

pub fn human_bytes(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    let b = bytes as f64;
    if b >= MIB {
        format!("{:.1} MiB", b / MIB)
    } else if b >= 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{bytes} bytes")
    }
}
