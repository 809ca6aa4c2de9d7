//! `riposte`: the command line. Argument parsing and wiring only; the work is done by the crates.

mod agent_cmd;
mod check;
mod docs;
mod engine_cmd;
mod mcp_cmd;
mod output;
mod rule_cmd;
mod serve;
mod test_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Explain a check rule (`riposte rule RP003`); automation rules on the engine
    /// (`riposte rule list|deploy|enable|disable|delete`).
    Rule(rule_cmd::RuleArgs),
    /// Run the engine: the store, the HTTP API and console, alert intake and run workers.
    Serve(serve::ServeArgs),
    /// Save playbooks to the engine (stored disabled), and activate or deactivate them.
    Deploy(engine_cmd::DeployArgs),
    /// Runs on the engine: list them, show one with its record, follow new ones.
    Runs(engine_cmd::RunsArgs),
    /// Write a playbook from a description with the Plan/Act agent, in the terminal.
    Generate(agent_cmd::GenerateArgs),
    /// Run the seed prompts against a configured model and report how the agent did.
    Eval(agent_cmd::EvalArgs),
    /// Serve validate, docs, integrations, test and save over MCP on stdin/stdout.
    Mcp(mcp_cmd::McpArgs),
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
        Command::Rule(args) => rule_cmd::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Deploy(args) => engine_cmd::deploy(&args),
        Command::Runs(args) => engine_cmd::runs(&args),
        Command::Generate(args) => agent_cmd::generate(&args),
        Command::Eval(args) => agent_cmd::eval(&args),
        Command::Mcp(args) => mcp_cmd::run(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("riposte: error: {err:#}");
            ExitCode::from(exit::USAGE)
        }
    }
}
