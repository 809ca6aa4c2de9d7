//! `riposte`: the command line. Argument parsing and wiring only; the work is done by the crates.

mod check;
mod docs;
mod output;
mod test_cmd;

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
    Docs(docs::DocsArgs),
    /// Run the language server on stdin/stdout (for editors: `riposte lsp`).
    Lsp {
        /// Log level on stderr (error, warn, info, debug, trace) or a `tracing` filter; defaults
        /// to `RIPOSTE_LOG`, then `info`.
        #[arg(long, value_name = "LEVEL")]
        log_level: Option<String>,
    },
    /// Run a playbook against an alert in the sandbox: `--dry-run` plans changes, a real run asks
    /// first (or `--yes`). Exit 0 succeeded, 1 the run failed, 2 bad input, 3 blocked by checks.
    Test(test_cmd::TestArgs),
    /// Show which protections (network, filesystem, processes, limits) runs get on this machine.
    Doctor(test_cmd::DoctorArgs),
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
        Command::Docs(args) => docs::run(&args),
        Command::Lsp { log_level } => riposte_lsp::run(&riposte_lsp::Options { log_level }),
        Command::Test(args) => test_cmd::run(&args),
        Command::Doctor(args) => test_cmd::doctor(&args),
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
