//! `riposte rule`: a check rule's documentation, the same text hover shows (`riposte rule RP003`,
//! or the list with `riposte rule`); and the automation rules on the engine (`riposte rule
//! list|deploy|enable|disable|delete`), through `riposte_engine_client`.
//!
//! Exit codes as `riposte deploy`: 0 done; 1 a rule file with errors or a rule the engine refused;
//! 2 bad usage, an unreachable engine or a refused token.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use riposte_core::Severity;
use riposte_engine_client::client::ClientError;
use riposte_engine_client::wire::{RuleInfo, SaveRule};

use crate::check::{Report, load_workspace_for};
use crate::engine_cmd::{EngineArgs, Format, connect, print_engine_diagnostics, report_error};
use crate::{exit, output};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RuleArgs {
    #[command(subcommand)]
    command: Option<RuleCommand>,
    /// A check rule code such as RP003; without one, every check rule is listed.
    code: Option<String>,
}

#[derive(Subcommand)]
enum RuleCommand {
    /// The automation rules on the engine, in evaluation order.
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Save automation rules (`rules/<name>.toml`) to the engine, each checked here first.
    /// Defaults to every rule file of the workspace. A rule's name is its file name.
    Deploy {
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Enable a rule on the engine: it fires on matching alerts.
    Enable {
        name: String,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Disable a rule on the engine: it stays stored and fires on nothing.
    Disable {
        name: String,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Delete a rule from the engine.
    Delete {
        name: String,
        #[command(flatten)]
        engine: EngineArgs,
    },
}

pub fn run(args: &RuleArgs) -> anyhow::Result<u8> {
    let Some(command) = &args.command else {
        return explain_rule(args.code.as_deref());
    };
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    match command {
        RuleCommand::List { format, engine } => list(*format, engine, &cwd),
        RuleCommand::Deploy { files, engine } => deploy(files, engine, &cwd),
        RuleCommand::Enable { name, engine } => change(Change::Enable, name, engine, &cwd),
        RuleCommand::Disable { name, engine } => change(Change::Disable, name, engine, &cwd),
        RuleCommand::Delete { name, engine } => change(Change::Delete, name, engine, &cwd),
    }
}

fn explain_rule(code: Option<&str>) -> anyhow::Result<u8> {
    use riposte_core::Rule;
    match code {
        None => {
            for rule in Rule::ALL {
                println!(
                    "{} {:<28} {:<8} {}",
                    rule.code(),
                    rule.name(),
                    rule.default_severity().as_str(),
                    rule.summary()
                );
            }
            Ok(exit::CLEAN)
        }
        Some(code) => {
            let rule = Rule::from_code(code).ok_or_else(|| {
                anyhow::anyhow!(
                    "`{code}` is not a rule code; `riposte rule` lists them (automation rules on the engine: `riposte rule list`)"
                )
            })?;
            println!("{}", rule.documentation());
            Ok(exit::CLEAN)
        }
    }
}

fn list(format: Format, engine: &EngineArgs, cwd: &Path) -> anyhow::Result<u8> {
    let engine = connect(engine, cwd)?;
    let rules = match engine.block_on(engine.client().list_rules()) {
        Ok(list) => list.rules,
        Err(err) => return Ok(report_error(&err)),
    };
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&rules)?),
        Format::Text => print!("{}", rules_table(&rules)),
    }
    Ok(exit::CLEAN)
}

fn rules_table(rules: &[RuleInfo]) -> String {
    if rules.is_empty() {
        return "no automation rules on the engine: `riposte rule deploy` saves the workspace's rules/*.toml\n".to_string();
    }
    let mut text = format!(
        "{:<28}  {:<8}  {:>5}  {:<14}  {:<13}  {}\n",
        "RULE", "ENABLED", "ORDER", "TRIGGER", "ACTION", "PLAYBOOK"
    );
    for rule in rules {
        let mut playbook = rule.playbook.clone().unwrap_or_else(|| "-".to_string());
        if let Some(problem) = &rule.problem {
            playbook.push_str(&format!("  (cannot fire: {problem})"));
        }
        text.push_str(&format!(
            "{:<28}  {:<8}  {:>5}  {:<14}  {:<13}  {}\n",
            rule.name,
            if rule.enabled { "yes" } else { "no" },
            rule.order,
            rule.trigger,
            rule.action,
            playbook
        ));
    }
    text
}

fn deploy(files: &[PathBuf], engine: &EngineArgs, cwd: &Path) -> anyhow::Result<u8> {
    let files = if files.is_empty() {
        let loaded = load_workspace_for(cwd)?;
        if !loaded.has_config {
            bail!(
                "no riposte.toml at or above {}: name the rule files to deploy, or run this in a workspace",
                cwd.display()
            );
        }
        let dir = loaded.root.join(riposte_workspace::RULES_DIR);
        let mut found: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect(),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(err) => return Err(err).with_context(|| format!("cannot list {}", dir.display())),
        };
        if found.is_empty() {
            bail!(
                "the workspace {} has no rules/*.toml",
                loaded.root.display()
            );
        }
        found.sort();
        found
    } else {
        files.to_vec()
    };
    let near = files
        .first()
        .and_then(|p| p.parent())
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| cwd.to_path_buf(), Path::to_path_buf);
    let engine = connect(engine, &near)?;
    let client = engine.client();
    let mut failed = 0;
    for file in &files {
        let shown = file.strip_prefix(cwd).unwrap_or(file).display().to_string();
        let Some((name, text)) = checked_rule(file, &shown, cwd)? else {
            failed += 1;
            continue;
        };
        let body = SaveRule {
            toml: Some(text),
            rule: None,
        };
        match engine.block_on(client.save_rule(&name, &body)) {
            Ok(rule) => println!(
                "{name}: saved on {} ({}{})",
                client.url(),
                if rule.enabled { "enabled" } else { "disabled" },
                rule.problem
                    .as_deref()
                    .map(|p| format!("; cannot fire yet: {p}"))
                    .unwrap_or_default()
            ),
            Err(err) if err.is_refusal() => {
                failed += 1;
                eprintln!("riposte: {shown}: {err}");
                print_engine_diagnostics(&shown, &err);
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok(if failed > 0 {
        exit::FINDINGS
    } else {
        exit::CLEAN
    })
}

/// The rule's name and text, after the checks `riposte check` makes of `rules/*.toml`; `None`
/// (findings printed) when it has errors.
fn checked_rule(file: &Path, shown: &str, cwd: &Path) -> anyhow::Result<Option<(String, String)>> {
    if file.extension().is_none_or(|e| e != "toml") || !file.is_file() {
        bail!("{shown} is not an automation rule file (rules/<name>.toml)");
    }
    let name = file
        .file_stem()
        .and_then(|s| s.to_str())
        .with_context(|| format!("{shown}: the file name is not valid UTF-8"))?
        .to_string();
    let absolute =
        std::fs::canonicalize(cwd.join(file)).with_context(|| format!("cannot resolve {shown}"))?;
    let loaded = load_workspace_for(&absolute)?;
    let report = loaded
        .files
        .iter()
        .find(|f| std::fs::canonicalize(&f.path).ok().as_ref() == Some(&absolute));
    let text = match report {
        Some(report) => {
            if report
                .diagnostics
                .iter()
                .any(|d| d.severity == Severity::Error)
            {
                let report = Report {
                    display_path: shown.to_string(),
                    file: report.clone(),
                };
                eprint!("{}", output::text::render(&[report]));
                eprintln!("riposte: {name}: not saved: fix the errors above first");
                return Ok(None);
            }
            report.source.text().to_string()
        }
        // Outside the workspace's rules/: the engine checks it on its own.
        None => {
            let bytes = riposte_workspace::read_bytes(file)?;
            String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{shown} is not UTF-8 text"))?
        }
    };
    Ok(Some((name, text)))
}

#[derive(Clone, Copy)]
enum Change {
    Enable,
    Disable,
    Delete,
}

fn change(change: Change, name: &str, engine: &EngineArgs, cwd: &Path) -> anyhow::Result<u8> {
    let engine = connect(engine, cwd)?;
    let client = engine.client();
    let outcome: Result<String, ClientError> = match change {
        Change::Enable => {
            engine
                .block_on(client.enable_rule(name))
                .map(|rule| match rule.problem {
                    Some(problem) => format!("{name}: enabled, but it cannot fire yet: {problem}"),
                    None => format!("{name}: enabled; it fires on matching alerts"),
                })
        }
        Change::Disable => engine
            .block_on(client.disable_rule(name))
            .map(|_| format!("{name}: disabled")),
        Change::Delete => engine
            .block_on(client.delete_rule(name))
            .map(|()| format!("{name}: deleted from {}", client.url())),
    };
    match outcome {
        Ok(text) => {
            println!("{text}");
            Ok(exit::CLEAN)
        }
        Err(err) => {
            print_engine_diagnostics(name, &err);
            Ok(report_error(&err))
        }
    }
}
