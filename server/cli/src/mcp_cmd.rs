//! `riposte mcp [--workspace DIR] [--allow-real-runs]`: the MCP server on stdin/stdout, for agents
//! users already have (`docs/mcp.md` says how to register it). The server is `riposte_mcp`'s.

use std::path::PathBuf;

use riposte_mcp::{Options, RealRuns};

use crate::exit;

#[derive(clap::Args)]
pub struct McpArgs {
    /// The workspace (the folder with `riposte.toml`); found at or above the current folder by
    /// default. Tools only read and write files inside it.
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Let the `test` tool make real runs when a call asks for `dry_run: false` (requests that
    /// change data are sent, comments and alert updates made). Without it every run is a dry
    /// run: the MCP client's approval prompt would be the only person in the loop.
    #[arg(long)]
    pub allow_real_runs: bool,
}

pub fn run(args: &McpArgs) -> anyhow::Result<u8> {
    let real_runs = if args.allow_real_runs {
        RealRuns::Allowed
    } else {
        RealRuns::Refused
    };
    let options = Options::from_environment(args.workspace.as_deref(), real_runs)?;
    riposte_mcp::run_stdio(options)?;
    Ok(exit::CLEAN)
}
