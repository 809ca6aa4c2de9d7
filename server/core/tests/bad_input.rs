//! Regression tests for inputs found by fuzzing and by probing the checker for slow paths
//! (docs/fuzzing.md). Each must give diagnostics in time proportional to its size, never a hang.
//!
//! Time is compared with a baseline of the same size checked in the same test, so the bound holds
//! on a slow or busy machine: a linear checker stays well inside 10 × baseline, a quadratic one
//! (what these inputs caught) runs for minutes.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use riposte_core::{Diagnostic, Rule, SourceFile, Workspace, check_playbook};

fn check(source: &str) -> Vec<Diagnostic> {
    check_playbook(&SourceFile::new(source), &Workspace::default())
}

fn playbook(lines: usize, line: impl Fn(usize) -> String) -> String {
    let mut source = String::from("def run(alert, ctx):\n");
    for i in 0..lines {
        source.push_str(&line(i));
        source.push('\n');
    }
    source
}

/// Checks `source` on its own thread (with a 64 MiB stack, like a worker) and fails if it takes
/// longer than ten times `baseline` (plus two seconds for noise). Returns the diagnostics.
fn check_within(baseline: Duration, source: String) -> Vec<Diagnostic> {
    let budget = baseline * 10 + Duration::from_secs(2);
    let (done, result) = mpsc::channel();
    thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            let _ = done.send(check(&source));
        })
        .expect("spawn the checker thread");
    // On a time-out the thread is left running; the test binary's exit ends it.
    result.recv_timeout(budget).unwrap_or_else(|_| {
        panic!("checking took over {budget:?} (10 × the {baseline:?} baseline + 2 s): superlinear")
    })
}

fn timed(source: &str) -> (Duration, Vec<Diagnostic>) {
    let start = Instant::now();
    let found = check(source);
    (start.elapsed(), found)
}

/// Found by probing: every diagnostic was compared with every `# noqa` comment of the file, so a
/// file with a diagnostic and a `# noqa` on each line took quadratic time (40,000 lines: 4 s of
/// CPU in release; a 10 MB file: minutes).
#[test]
fn many_noqa_comments_and_diagnostics_take_linear_time() {
    const LINES: usize = 50_000;
    let (baseline, plain) = timed(&playbook(LINES, |i| {
        format!("    print({i})  # no-qa: RP003")
    }));
    assert_eq!(
        plain.iter().filter(|d| d.rule == Rule::PrintCall).count(),
        LINES
    );

    let found = check_within(
        baseline,
        playbook(LINES, |i| format!("    print({i})  # noqa: RP003")),
    );
    // The comments name another rule, so every `print` is still reported.
    assert_eq!(
        found.iter().filter(|d| d.rule == Rule::PrintCall).count(),
        LINES
    );
}

/// Found by probing: each syntax error was looked up in a list of the ones already reported, so a
/// file with an error on every line took quadratic time (320,000 lines, 3.8 MB: 20 s of CPU in
/// release; a 10 MB file: minutes).
#[test]
fn many_syntax_errors_take_linear_time() {
    const LINES: usize = 100_000;
    let (baseline, valid) = timed(&playbook(LINES, |_| "    x = 1".to_string()));
    assert!(valid.iter().all(|d| d.rule != Rule::SyntaxError));

    let found = check_within(baseline, playbook(LINES, |_| "    x = = 1".to_string()));
    assert!(found.iter().filter(|d| d.rule == Rule::SyntaxError).count() >= LINES);
}
