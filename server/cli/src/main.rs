//! `riposte`: the command line. Argument parsing and wiring only; the work is done by the crates.

mod check;

mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit codes, as scripts and CI rely on them.
pub mod exit {
    /// Nothing at error level.
    pub const CLEAN: u8 = 0;
    /// Findings at error level.
    pub const FINDINGS: u8 = 1;
    /// Bad usage, unreadable input or a broken `riposte.toml`.
    pub const USAGE: u8 = 2;
}

#[derive(Parser)]
#[command(
    name = "riposte",
    version,
    about = "Validate, document, test and deploy Python playbooks for security operations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check playbooks, integration profiles and automation rules.
    Check(check::CheckArgs),
    /// Write a playbook's Markdown documentation with its Mermaid flow diagram.

    /// Explain a rule: `riposte rule RP003` (or list them all without a code).
    Rule {
        /// A rule code such as RP003.
        code: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() {
                exit::USAGE
            } else {
                exit::CLEAN
            };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Check(args) => check::run(&args),

        Command::Rule { code } => explain_rule(code.as_deref()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("riposte: error: {err:#}");
            ExitCode::from(exit::USAGE)
        }
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
                anyhow::anyhow!("`{code}` is not a rule code; `riposte rule` lists them")
            })?;
            println!("{}", rule.documentation());
            Ok(exit::CLEAN)
        }
    }
}
