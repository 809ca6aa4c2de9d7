//! `riposte mcp`: the MCP server on stdin/stdout.

#[derive(clap::Args)]
pub struct McpArgs {}

pub fn run(_args: &McpArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`riposte mcp` is not available yet in this build")
}
