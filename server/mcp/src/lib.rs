//! `riposte mcp`: the playbook toolchain (validate, docs, list and describe integrations, the
//! alert schema, test, save) as a Model Context Protocol server over stdio, for agents users
//! already have (Cline, VS Code's Copilot agent mode, Claude Desktop and others).
//!
//! An MCP client is a model's tool runner, so everything a tool answers is treated as text sent
//! to a model: no secret value ever appears in it (profiles are described by the names of their
//! secret fields; run records and errors pass through the runtime's redactor), and tools only read
//! and write files inside the workspace. Validation and descriptions come from `riposte_core`
//! (`describe`), runs from `riposte_runtime`, saving from `riposte_engine_client`: this crate is
//! the protocol glue (`server.rs`) and the tools' argument handling (`tools.rs`).
//!
//! Real runs: `test` is a dry run unless the call says `dry_run: false` *and* the server was
//! started with `--allow-real-runs` ([`RealRuns::Allowed`]). The MCP client's own approval prompt
//! is then the only person between the model and requests that change data, so the operator opts
//! in when starting the server, never the model.
//!
//! Malformed input on stdin: rmcp's stdio transport skips a line that is not JSON (no answer, the
//! session goes on) and answers a JSON line that is not a JSON-RPC message with `-32600 Invalid
//! request`; neither ends the session (`tests/protocol.rs`).

mod server;
mod tools;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use riposte_engine_client::client::Token;
use riposte_runtime::secrets::SecretSource;
use rmcp::ServiceExt as _;

pub use server::RiposteMcp;

/// Whether `test` may make a real run (send mutating requests, comment, update the alert) when a
/// call asks for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealRuns {
    /// Every run is a dry run; a call with `dry_run: false` is refused with a tool error.
    Refused,
    /// The operator started the server with `--allow-real-runs`.
    Allowed,
}

/// Where `save` stores playbooks.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// `RIPOSTE_ENGINE_URL`; the workspace's `[engine] url` is used when this is `None`.
    pub url: Option<String>,
    /// `RIPOSTE_ENGINE_TOKEN`.
    pub token: Option<Token>,
}

/// How the server is set up.
#[derive(Clone)]
pub struct Options {
    /// The workspace root (the folder with `riposte.toml`); every path a tool takes is inside it.
    pub root: PathBuf,
    pub real_runs: RealRuns,
    /// Where test runs get the secrets of integration profiles (headless: the environment).
    pub secrets: Arc<dyn SecretSource>,
    pub engine: EngineSettings,
}

impl Options {
    /// Options for `riposte mcp` as started by a client: the workspace from `--workspace` or the
    /// `riposte.toml` at or above the current folder, secrets and the engine from the environment.
    pub fn from_environment(
        workspace: Option<&Path>,
        real_runs: RealRuns,
    ) -> anyhow::Result<Options> {
        let root = workspace_root(workspace)?;
        let secrets = riposte_runtime::headless_secrets(None, &root).map_err(anyhow::Error::msg)?;
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Ok(Options {
            root,
            real_runs,
            secrets,
            engine: EngineSettings {
                url: env(riposte_engine_client::client::URL_ENV),
                token: env(riposte_engine_client::client::TOKEN_ENV).and_then(Token::new),
            },
        })
    }
}

/// The workspace root: `explicit` (which must be a folder), else the nearest folder at or above
/// the current one that holds `riposte.toml`.
pub fn workspace_root(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    match explicit {
        Some(dir) => {
            let root = std::fs::canonicalize(dir)
                .with_context(|| format!("cannot open the workspace {}", dir.display()))?;
            anyhow::ensure!(
                root.is_dir(),
                "the workspace {} is not a folder",
                dir.display()
            );
            Ok(root)
        }
        None => {
            let cwd = std::env::current_dir().context("cannot read the current folder")?;
            riposte_workspace::find_root(&cwd).with_context(|| {
                format!(
                    "no {} at or above {}: start `riposte mcp` inside a workspace or pass --workspace DIR",
                    riposte_workspace::CONFIG_FILE,
                    cwd.display()
                )
            })
        }
    }
}

/// Serves MCP on stdin/stdout until the client closes the connection. Builds its own
/// multi-threaded Tokio runtime (test runs need one: see `riposte_runtime::run_playbook`).
pub fn run_stdio(options: Options) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let service = RiposteMcp::new(options)
            .serve(rmcp::transport::stdio())
            .await
            .context("the MCP client did not complete initialization")?;
        service
            .waiting()
            .await
            .context("the MCP session ended with an error")?;
        Ok(())
    })
}
