//! Input that a validator meets in the wild or from an attacker: each gives a diagnostic, never a
//! panic, a hang or a stack overflow. Run on the test harness's small thread stacks on purpose.

use riposte_core::{Rule, SourceFile, Workspace, check_playbook, check_playbook_bytes};

fn codes(source: &str) -> Vec<Rule> {
    check_playbook(&SourceFile::new(source), &Workspace::default())
        .iter()
        .map(|d| d.rule)
        .collect()
}

const RUN: &str = "def run(alert, ctx):\n    pass\n";

#[test]
fn empty_file_only_misses_the_entry_point() {
    assert_eq!(codes(""), vec![Rule::MissingEntryPoint]);
}

#[test]
fn binary_file_is_a_syntax_error_at_the_nul_byte() {
    let (source, diagnostics) =
        check_playbook_bytes(b"import os\n\x00\x01\x02\xff", &Workspace::default());
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].rule, Rule::SyntaxError);
    assert!(diagnostics[0].message.contains("binary"));
    assert_eq!(source.position(diagnostics[0].range.start()).line, 2);
}

#[test]
fn non_utf8_is_reported_where_it_starts() {
    let (source, diagnostics) = check_playbook_bytes(
        b"def run(alert, ctx):\n    x = '\xe9t\xe9'\n",
        &Workspace::default(),
    );
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].rule, Rule::SyntaxError);
    assert!(diagnostics[0].message.contains("UTF-8"));
    let at = source.position(diagnostics[0].range.start());
    assert_eq!((at.line, at.column), (2, 10));
}

#[test]
fn nested_parentheses_beyond_python_limit_are_refused() {
    let source = format!("{RUN}x = {}1{}\n", "(".repeat(5000), ")".repeat(5000));
    let found = check_playbook(&SourceFile::new(source.as_str()), &Workspace::default());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].rule, Rule::SyntaxError);
    assert!(found[0].message.contains("nested brackets"));
}

#[test]
fn nesting_at_python_limit_is_accepted() {
    let source = format!("{RUN}x = {}1{}\n", "(".repeat(199), ")".repeat(199));
    assert!(codes(&source).is_empty());
}

#[test]
fn long_operator_chains_are_refused_not_overflowed() {
    for chain in [
        "1+".repeat(200_000),
        "-".repeat(200_000),
        "not ".repeat(100_000),
        "a.".repeat(100_000),
    ] {
        let source = format!("{RUN}x = {chain}1\n");
        let found = codes(&source);
        assert_eq!(
            found,
            vec![Rule::SyntaxError],
            "chain starting {:?}",
            &chain[..8]
        );
    }
}

#[test]
fn deep_indentation_is_refused() {
    let mut source = String::from(RUN);
    for level in 0..150 {
        source.push_str(&" ".repeat(level));
        source.push_str("if x:\n");
    }
    source.push_str(&" ".repeat(150));
    source.push_str("pass\n");
    let found = check_playbook(&SourceFile::new(source), &Workspace::default());
    assert!(
        found
            .iter()
            .any(|d| d.rule == Rule::SyntaxError && d.message.contains("indentation")),
        "{found:?}"
    );
}

#[test]
fn a_100k_character_line_is_checked() {
    let source = format!("{RUN}x = '{}'\n", "a".repeat(100_000));
    assert!(codes(&source).is_empty());
}

#[test]
fn a_10_mb_file_is_checked_and_reported_as_too_long() {
    let mut source = String::from(RUN);
    while source.len() < 10 * 1024 * 1024 {
        source.push_str("value = {'key': [1, 2, 3], 'name': f'item {len(source)}'}\n");
    }
    let found = codes(&source);
    assert!(found.contains(&Rule::TooManyLines));
    assert!(!found.contains(&Rule::SyntaxError));
}

#[test]
fn unterminated_strings_and_brackets_do_not_hang() {
    for source in [
        "x = '''never closed",
        "x = (\n",
        "def run(alert, ctx):\n    return [1, 2",
        "f'{'",
        "\\",
        "@",
        "class",
    ] {
        let found = codes(source);
        assert!(found.contains(&Rule::SyntaxError), "{source:?}: {found:?}");
    }
}

#[test]
fn every_recovered_syntax_error_is_reported() {
    let source = "def run(alert, ctx)\n    pass\nx = = 1\ny = (1,\n";
    let errors = codes(source)
        .into_iter()
        .filter(|r| *r == Rule::SyntaxError)
        .count();
    assert!(errors >= 3, "{errors}");
}

#[test]
fn chains_just_under_the_limit_are_checked_on_a_small_stack() {
    // Deep but legal trees are walked and dropped on the harness's 2 MiB thread stacks.
    for chain in [
        "1+".repeat(900),
        "a.".repeat(900),
        "not ".repeat(900),
        "-".repeat(900),
    ] {
        let source = format!("{RUN}x = {chain}1\n");
        let found = codes(&source);
        assert!(
            !found.contains(&Rule::SyntaxError) || chain.starts_with("a."),
            "{found:?}"
        );
    }
    let source = format!("{RUN}x = {}1{}\n", "[".repeat(199), "]".repeat(199));
    assert!(codes(&source).is_empty());
}
