//! Every rule has a failing fixture and a fixed one, checked against the demo workspace.
//!
//! A failing fixture states what it must produce in `# expect: CODE line:column` comments; the
//! test compares the exact set of findings (code, line, column), so an extra or a moved finding
//! fails as surely as a missing one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use riposte_core::diagnostic::apply_edits;
use riposte_core::formats::automation::AutomationRule;
use riposte_core::formats::profile::Profile;
use riposte_core::{Applicability, Diagnostic, Rule, SourceFile, check_playbook};
use riposte_workspace::LoadedWorkspace;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn demo() -> LoadedWorkspace {
    riposte_workspace::load(&fixtures().join("workspace")).expect("the demo workspace loads")
}

fn files(dir: &str, extension: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures().join(dir))
        .unwrap_or_else(|err| panic!("fixtures/{dir}: {err}"))
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no fixtures in fixtures/{dir}");
    paths
}

type Finding = (String, usize, usize);

fn expected(text: &str) -> BTreeSet<Finding> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("# expect: "))
        .map(|spec| {
            let (code, at) = spec.split_once(' ').expect("`# expect: CODE line:col`");
            let (line, column) = at.split_once(':').expect("line:col");
            (
                code.to_string(),
                line.parse().expect("line"),
                column.parse().expect("column"),
            )
        })
        .collect()
}

fn found(source: &SourceFile, diagnostics: &[Diagnostic]) -> BTreeSet<Finding> {
    diagnostics
        .iter()
        .map(|d| {
            let at = source.position(d.range.start());
            (d.rule.code().to_string(), at.line, at.column)
        })
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// The rule a fixture is about, from its name (`RP003-external-import.py`).
fn rule_of(path: &Path) -> Rule {
    let name = path.file_name().unwrap().to_string_lossy();
    Rule::from_code(&name[..5]).unwrap_or_else(|| panic!("{name} does not start with a rule code"))
}

fn check_file(path: &Path, demo: &LoadedWorkspace) -> (SourceFile, Vec<Diagnostic>) {
    let source = SourceFile::new(read(path));
    let diagnostics = check_playbook(&source, &demo.workspace);
    (source, diagnostics)
}

#[test]
fn each_failing_playbook_reports_exactly_what_it_expects() {
    let demo = demo();
    for path in files("playbooks/bad", "py") {
        let (source, diagnostics) = check_file(&path, &demo);
        let want = expected(source.text());
        assert!(
            want.iter().any(|(code, ..)| code == rule_of(&path).code()),
            "{} expects no {}",
            path.display(),
            rule_of(&path)
        );
        assert_eq!(
            found(&source, &diagnostics),
            want,
            "{}: {diagnostics:#?}",
            path.display()
        );
    }
}

#[test]
fn each_fixed_playbook_is_clean() {
    let demo = demo();
    for path in files("playbooks/fixed", "py") {
        let (_, diagnostics) = check_file(&path, &demo);
        assert!(
            diagnostics.is_empty(),
            "{}: {diagnostics:#?}",
            path.display()
        );
    }
}

#[test]
fn each_failing_profile_reports_exactly_what_it_expects() {
    for path in files("profiles/bad", "toml") {
        let text = read(&path);
        let (profile, diagnostics) = Profile::parse(&text);
        assert!(profile.is_none(), "{} was accepted", path.display());
        assert_eq!(
            found(&SourceFile::new(text.clone()), &diagnostics),
            expected(&text),
            "{}: {diagnostics:#?}",
            path.display()
        );
    }
    for path in files("profiles/fixed", "toml") {
        let (profile, diagnostics) = Profile::parse(&read(&path));
        assert!(
            profile.is_some() && diagnostics.is_empty(),
            "{}: {diagnostics:#?}",
            path.display()
        );
    }
}

#[test]
fn each_failing_automation_rule_reports_exactly_what_it_expects() {
    let demo = demo();
    let exists = |name: &str| demo.workspace.has_playbook(name);
    for path in files("rules/bad", "toml") {
        let text = read(&path);
        let (rule, diagnostics) = AutomationRule::parse(&text, &exists);
        assert!(rule.is_none(), "{} was accepted", path.display());
        assert_eq!(
            found(&SourceFile::new(text.clone()), &diagnostics),
            expected(&text),
            "{}: {diagnostics:#?}",
            path.display()
        );
    }
    for path in files("rules/fixed", "toml") {
        let (rule, diagnostics) = AutomationRule::parse(&read(&path), &exists);
        assert!(
            rule.is_some() && diagnostics.is_empty(),
            "{}: {diagnostics:#?}",
            path.display()
        );
    }
}

#[test]
fn every_rule_has_a_failing_and_a_fixed_fixture() {
    let mut failing: BTreeSet<Rule> = BTreeSet::new();
    let mut fixed: BTreeSet<Rule> = BTreeSet::new();
    for (dir, ext) in [
        ("playbooks/bad", "py"),
        ("profiles/bad", "toml"),
        ("rules/bad", "toml"),
    ] {
        failing.extend(files(dir, ext).iter().map(|p| rule_of(p)));
    }
    for (dir, ext) in [
        ("playbooks/fixed", "py"),
        ("profiles/fixed", "toml"),
        ("rules/fixed", "toml"),
    ] {
        fixed.extend(files(dir, ext).iter().map(|p| rule_of(p)));
    }
    for rule in Rule::ALL {
        assert!(failing.contains(rule), "{rule} has no failing fixture");
        assert!(fixed.contains(rule), "{rule} has no fixed fixture");
    }
}

#[test]
fn the_demo_workspace_is_clean() {
    let demo = demo();
    for file in &demo.files {
        assert!(
            file.diagnostics.is_empty(),
            "{}: {:#?}",
            file.path.display(),
            file.diagnostics
        );
    }
    assert_eq!(demo.playbooks.len(), 5, "the five seed playbooks");
    for path in &demo.playbooks {
        let (_, diagnostics) = check_file(path, &demo);
        assert!(
            diagnostics.is_empty(),
            "{}: {diagnostics:#?}",
            path.display()
        );
    }
}

#[test]
fn safe_fixes_remove_their_finding() {
    let demo = demo();
    let (source, diagnostics) =
        check_file(&fixtures().join("playbooks/bad/RP014-print-call.py"), &demo);
    let edits: Vec<_> = diagnostics
        .iter()
        .filter_map(|d| d.fix.as_ref())
        .filter(|fix| fix.applicability == Applicability::Safe)
        .flat_map(|fix| &fix.edits)
        .collect();
    let fixed = apply_edits(source.text(), edits);
    assert!(
        fixed.contains("ctx.log(f\"handling {alert.id}\")"),
        "{fixed}"
    );
    let again = check_playbook(&SourceFile::new(fixed), &demo.workspace);
    assert!(
        again.iter().all(|d| d.rule != Rule::PrintCall),
        "{again:#?}"
    );
}

#[test]
fn rules_documentation_has_a_section_per_rule() {
    for rule in Rule::ALL {
        let doc = rule.documentation();
        assert!(
            doc.starts_with(&format!("## {} {}", rule.code(), rule.name())),
            "docs/rules.md lacks {rule}"
        );
        for part in ["**What.**", "**Why.**", "**Example.**", "**Fix.**"] {
            assert!(doc.contains(part), "{rule}'s section lacks {part}");
        }
    }
}
