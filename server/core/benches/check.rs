//! How long `check_playbook` takes: every rule over a realistic 5,000-line playbook (the target is
//! a median of 5 ms or less), each demo playbook on its own, and a 10 MB file.
//!
//! `cargo bench -p riposte_core --bench check` (see docs/performance.md for the figures). The
//! generated playbook is deterministic: the demo workspace's playbooks, copied over and over with
//! every top-level name made unique, plus a small helper per copy with f-strings, alert reads, an
//! integration call and, every few copies, a `# noqa` comment. It is valid Python with no syntax
//! error, and the bench checks that before timing it. `RIPOSTE_BENCH_DRIVER=N` turns the binary
//! into a plain driver for interleaved timings and profilers (see `driver`).

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use riposte_core::catalog::ApiCatalog;
use riposte_core::formats::config::Config;
use riposte_core::formats::profile::Profile;
use riposte_core::lint::semantic::Bindings;
use riposte_core::lint::{noqa_directives, parse_playbook};
use riposte_core::{Rule, SourceFile, Workspace, check_playbook, check_playbook_bytes};

// The `riposte` binary's allocator (server/cli/src/main.rs): time what ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn demo_workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/workspace")
}

/// Sorted `*.ext` files directly in `dir`.
fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == ext))
        .collect();
    found.sort();
    found
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

/// The demo workspace as `riposte check` loads it: settings, profiles (with the custom OpenAPI
/// catalog), playbook names.
fn demo_workspace() -> Workspace {
    let root = demo_workspace_dir();
    let config =
        Config::parse(&read(&root.join("riposte.toml"))).expect("the demo riposte.toml parses");
    let mut workspace = Workspace::new(config);
    for playbook in files(&root.join("playbooks"), "py") {
        workspace.add_playbook(
            playbook
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("UTF-8 name"),
        );
    }
    for path in files(&root.join("integrations"), "toml") {
        let (profile, diagnostics) = Profile::parse(&read(&path));
        let profile = profile
            .unwrap_or_else(|| panic!("{} is a valid profile: {diagnostics:?}", path.display()));
        let custom = if profile.api_is_file() {
            let api = profile.api.clone().expect("api_is_file implies api");
            Some(
                ApiCatalog::from_openapi(&api, &read(&root.join(&api)))
                    .expect("the demo OpenAPI document parses"),
            )
        } else {
            None
        };
        let relative = format!(
            "integrations/{}",
            path.file_name()
                .and_then(|n| n.to_str())
                .expect("UTF-8 name")
        );
        workspace.add_profile(relative, profile, custom);
    }
    workspace
}

/// One demo playbook split for copying: its body without docstring and top-level imports, and the
/// top-level names (functions and constants) that must be renamed in each copy.
struct Template {
    body: String,
    names: Vec<String>,
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Replaces whole identifiers named in `names` by `name_suffix`.
fn rename(text: &str, names: &[String], suffix: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| is_ident_char(c)) {
        out.push_str(&rest[..start]);
        let word_len = rest[start..]
            .find(|c: char| !is_ident_char(c))
            .unwrap_or(rest.len() - start);
        let word = &rest[start..start + word_len];
        out.push_str(word);
        // Not after a `.` (attributes keep their names), not a digit-led token.
        let after_dot = out[..out.len() - word.len()].ends_with('.');
        if !after_dot && names.iter().any(|n| n == word) {
            out.push('_');
            out.push_str(suffix);
        }
        rest = &rest[start + word_len..];
    }
    out.push_str(rest);
    out
}

fn template(text: &str) -> Template {
    let mut lines = text.lines().peekable();
    // Module docstring (one line or several).
    if let Some(first) = lines.peek().copied()
        && first.starts_with("\"\"\"")
    {
        lines.next();
        if !(first.len() > 3 && first.trim_end().ends_with("\"\"\"")) {
            for line in lines.by_ref() {
                if line.trim_end().ends_with("\"\"\"") {
                    break;
                }
            }
        }
    }
    let body: Vec<&str> = lines
        .filter(|line| !(line.starts_with("import ") || line.starts_with("from ")))
        .collect();
    let names = body
        .iter()
        .filter_map(|line| {
            let name = line.strip_prefix("def ").unwrap_or(line);
            let end = name.find(|c: char| !is_ident_char(c))?;
            let is_def = line.starts_with("def ");
            let is_constant = !is_def
                && name[end..].trim_start().starts_with('=')
                && name[..end].chars().all(|c| !c.is_ascii_lowercase());
            (end > 0 && (is_def || is_constant)).then(|| name[..end].to_string())
        })
        .collect();
    Template {
        body: body.join("\n").trim().to_string() + "\n",
        names,
    }
}

const HEADER: &str = "\"\"\"Generated for benchmarking: the demo workspace's playbooks, copied with unique names.\"\"\"
import time

from riposte import Alert, Context, HTTPError

";

/// A helper per copy: f-strings, alert reads, an integration call and sometimes a `# noqa`.
fn helper(copy: usize) -> String {
    let integration = [
        "VirusTotal",
        "Microsoft Graph",
        "Slack",
        "Jira",
        "ServiceNow",
    ][copy % 5];
    let noqa = if copy.is_multiple_of(7) {
        format!("    print(f\"summary {copy}: {{summary}}\")  # noqa: RP014\n")
    } else {
        String::new()
    };
    format!(
        "def summarize_{copy}(alert: Alert, ctx: Context) -> str:
    evidence = [f\"{{u.value}}\" for u in alert.urls()] + [f\"{{ip.value}}\" for ip in alert.ips()]
    summary = f\"{{alert.title}} [{{alert.severity}}] {{len(evidence)}} items, incident {{alert.incident_id or 'none'}}\"
    client = ctx.integration(\"{integration}\")
    ctx.log(\"summary\", copy={copy}, summary=summary, client=str(client), created=alert.created)
{noqa}    return summary


"
    )
}

/// A valid playbook of at most `max_lines` lines (and at least `min_bytes` bytes, when asked,
/// regardless of lines): template copies until the next one would not fit, then `run`.
fn generate(max_lines: usize, min_bytes: usize) -> String {
    let root = demo_workspace_dir();
    let templates: Vec<Template> = files(&root.join("playbooks"), "py")
        .iter()
        .map(|p| template(&read(p)))
        .collect();
    let mut out = String::from(HEADER);
    let mut lines = HEADER.lines().count();
    let mut runs = Vec::new();
    let footer_lines = |runs: usize| 8 + runs;
    for copy in 0.. {
        let t = &templates[copy % templates.len()];
        let unit = format!(
            "{}\n\n{}",
            rename(&t.body, &t.names, &copy.to_string()),
            helper(copy)
        );
        let unit_lines = unit.lines().count();
        let fits_lines = lines + unit_lines + footer_lines(runs.len() + 1) <= max_lines;
        if !(fits_lines || out.len() < min_bytes) {
            break;
        }
        out.push_str(&unit);
        lines += unit_lines;
        runs.push(format!("run_{copy}"));
    }
    out.push_str("HANDLERS = [\n");
    for run in &runs {
        out.push_str(&format!("    {run},\n"));
    }
    out.push_str(
        "]


def run(alert: Alert, ctx: Context) -> dict:
    results = {}
    for handler in HANDLERS:
        results[handler.__name__] = handler(alert, ctx)
    return results
",
    );
    out
}

fn summary(diagnostics: &[riposte_core::Diagnostic]) -> String {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for d in diagnostics {
        *counts.entry(d.rule.code()).or_default() += 1;
    }
    format!("{counts:?}")
}

fn benches(c: &mut Criterion) {
    let workspace = demo_workspace();

    let playbook = generate(5_000, 0);
    let source = SourceFile::new(playbook.clone());
    let found = check_playbook(&source, &workspace);
    assert!(
        !found.iter().any(|d| matches!(
            d.rule,
            Rule::SyntaxError | Rule::TooManyLines | Rule::UnsupportedSyntax
        )),
        "the generated playbook must be valid and within the line limit: {found:?}"
    );
    let lines = playbook.lines().count();
    eprintln!(
        "generated playbook: {lines} lines, {} bytes, diagnostics {}",
        playbook.len(),
        summary(&found)
    );
    if let Ok(path) = std::env::var("RIPOSTE_BENCH_WRITE") {
        fs::write(&path, &playbook).expect("write the generated playbook");
        eprintln!("wrote it to {path}");
    }

    let mut group = c.benchmark_group("check");
    group.throughput(Throughput::Bytes(playbook.len() as u64));
    group.bench_function(
        BenchmarkId::new("generated", format!("{lines}_lines")),
        |b| b.iter(|| check_playbook_bytes(black_box(playbook.as_bytes()), &workspace)),
    );
    group.finish();

    // Where the time of the 5,000-line check goes, measured side by side: the line index
    // (building the SourceFile), ruff's parser alone (with the nesting pre-check and freeing the
    // tree), the name bindings pass, the `# noqa` scan, then everything.
    let mut group = c.benchmark_group("phases_5000");
    group.bench_function("source_file", |b| {
        b.iter(|| SourceFile::new(black_box(playbook.as_str())))
    });
    group.bench_function("parse", |b| {
        b.iter(|| parse_playbook(black_box(&playbook), &workspace))
    });
    let parsed = parse_playbook(&playbook, &workspace).expect("not too deep");
    group.bench_function("bindings", |b| {
        b.iter(|| Bindings::collect(black_box(parsed.syntax())))
    });
    group.bench_function("noqa_directives", |b| {
        b.iter(|| noqa_directives(black_box(&playbook)))
    });
    group.bench_function("check", |b| {
        b.iter(|| check_playbook(black_box(&source), &workspace))
    });
    group.finish();

    let mut group = c.benchmark_group("seed");
    for path in files(&demo_workspace_dir().join("playbooks"), "py") {
        let bytes = fs::read(&path).expect("read seed playbook");
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("UTF-8 name")
            .to_string();
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| check_playbook_bytes(black_box(&bytes), &workspace))
        });
    }
    group.finish();

    // Generated only when this benchmark is selected: it takes a while.
    let big = OnceLock::new();
    let big = || {
        big.get_or_init(|| {
            let big = generate(0, 10 * 1024 * 1024);
            let found = check_playbook_bytes(big.as_bytes(), &workspace).1;
            eprintln!(
                "10 MB playbook: {} lines, {} bytes, diagnostics {}",
                big.lines().count(),
                big.len(),
                summary(&found)
            );
            big
        })
    };
    let mut group = c.benchmark_group("large");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.bench_function("10MB", |b| {
        let big = big();
        b.iter(|| check_playbook_bytes(black_box(big.as_bytes()), &workspace))
    });
    group.finish();
}

/// `RIPOSTE_BENCH_DRIVER=N`: no criterion. After the setup, 15 rounds that each time N full
/// checks of the 5,000-line playbook and then N parses alone, interleaved so both see the same
/// machine; prints the minimum and median per-call time over the rounds. On a busy machine the
/// minimum is the closest to the uncontended cost. `RIPOSTE_BENCH_DRIVER=N` with `perf stat` or
/// `valgrind` also profiles exactly N checks plus the setup (N=0 measures the setup alone).
fn driver(iterations: u32) {
    const ROUNDS: usize = 15;
    let workspace = demo_workspace();
    let playbook = generate(5_000, 0);
    if iterations == 0 || std::env::var_os("RIPOSTE_BENCH_DRIVER_ONCE").is_some() {
        for _ in 0..iterations {
            black_box(check_playbook_bytes(
                black_box(playbook.as_bytes()),
                &workspace,
            ));
        }
        return;
    }
    let time = |f: &dyn Fn()| {
        let start = std::time::Instant::now();
        for _ in 0..iterations {
            f();
        }
        start.elapsed() / iterations
    };
    let (mut checks, mut parses) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        checks.push(time(&|| {
            drop(black_box(check_playbook_bytes(
                black_box(playbook.as_bytes()),
                &workspace,
            )))
        }));
        parses.push(time(&|| {
            drop(black_box(parse_playbook(black_box(&playbook), &workspace)))
        }));
    }
    checks.sort();
    parses.sort();
    let lines = playbook.lines().count();
    let (check_min, parse_min) = (checks[0], parses[0]);
    let (check_median, parse_median) = (checks[ROUNDS / 2], parses[ROUNDS / 2]);
    println!(
        "{lines} lines, {} bytes, {ROUNDS} rounds of {iterations} calls each",
        playbook.len()
    );
    println!("check_playbook_bytes: min {check_min:?}, median {check_median:?} per call");
    println!("parse_playbook alone: min {parse_min:?}, median {parse_median:?} per call");
    println!(
        "parse share of the check: {:.0}% (minimums), {:.0}% (medians)",
        100.0 * parse_min.as_secs_f64() / check_min.as_secs_f64(),
        100.0 * parse_median.as_secs_f64() / check_median.as_secs_f64()
    );
}

criterion_group!(check, benches);

fn main() {
    if let Some(iterations) = std::env::var("RIPOSTE_BENCH_DRIVER")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        driver(iterations);
        return;
    }
    check();
    Criterion::default().configure_from_args().final_summary();
}
