//! `riposte serve`: the engine's process (store, API, console, intake, workers). Arguments and
//! the environment are read here; everything else is `riposte_engine::serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use riposte_engine::EngineOptions;
use riposte_engine::api::{DEFAULT_BODY_LIMIT, Tokens};
use riposte_engine::poller::PollerOptions;
use riposte_engine::secrets::{KEY_ENV, SecretBox};
use riposte_engine::serve::{ServeOptions, serve_blocking};

/// The environment variable holding the admin token.
const TOKEN_ENV: &str = "RIPOSTE_ENGINE_TOKEN";
/// The environment variable holding the read-only token.
const READ_TOKEN_ENV: &str = "RIPOSTE_ENGINE_READ_TOKEN";

#[derive(clap::Args)]
pub struct ServeArgs {
    /// The store: `sqlite:PATH` (default `sqlite:<workspace>/.riposte/engine.db`) or
    /// `postgres://user:password@host/db`.
    #[arg(long, value_name = "URL")]
    db: Option<String>,
    /// Where the API and console listen.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// Playbook runs this process executes at once.
    #[arg(long, value_name = "N", default_value_t = 2)]
    workers: usize,
    /// Run queued playbooks only (no HTTP): start any number of these against one PostgreSQL store.
    #[arg(long)]
    worker: bool,
    /// A file holding the admin token (instead of RIPOSTE_ENGINE_TOKEN).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// A file holding the key that seals profile secrets (instead of RIPOSTE_ENGINE_KEY).
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// The workspace folder: riposte.toml (limits, Python), shared profiles and API catalogs.
    #[arg(long, value_name = "DIR", default_value = ".")]
    workspace: PathBuf,
    /// Poll Microsoft Graph `security/alerts_v2` through this integration profile.
    #[arg(long, value_name = "PROFILE")]
    poll: Option<String>,
    /// Seconds between Graph polls.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    poll_interval: u64,
    /// The workspace name polled alerts are delivered for.
    #[arg(long, value_name = "NAME", default_value = "default")]
    poll_workspace: String,
    /// Seconds a worker's lease on a run lasts without renewal.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    lease: u64,
    /// Attempts before a run whose worker keeps dying is marked failed.
    #[arg(long, value_name = "N", default_value_t = 3)]
    max_attempts: u32,
}

fn read_secret_file(path: &PathBuf, what: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} file {}", path.display()))?;
    Ok(text.trim().to_string())
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

pub fn run(args: &ServeArgs) -> anyhow::Result<u8> {
    riposte_engine::serve::init_logging();
    if args.worker && args.poll.is_some() {
        bail!("--poll needs the API process, not a --worker one");
    }
    let admin = match &args.token_file {
        Some(path) => Some(read_secret_file(path, "token")?),
        None => env_nonempty(TOKEN_ENV),
    };
    let tokens = Tokens {
        admin,
        read: env_nonempty(READ_TOKEN_ENV),
    };
    let key = match &args.key_file {
        Some(path) => Some(SecretBox::from_file(path)?),
        None => env_nonempty(KEY_ENV)
            .map(|text| SecretBox::from_text(&text))
            .transpose()?,
    };
    if key.is_none() {
        eprintln!(
            "note: no {KEY_ENV} or --key-file: profile secrets cannot be stored (see docs/engine.md)"
        );
    }
    let listen = (!args.worker).then_some(args.listen);
    riposte_engine::serve::check_exposure(listen, &tokens)?;
    let workspace = args.workspace.clone();
    let db = match &args.db {
        Some(db) => db.clone(),
        None => {
            let dir = workspace.join(".riposte");
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            format!("sqlite:{}", dir.join("engine.db").display())
        }
    };
    let options = ServeOptions {
        db,
        listen,
        workers: if args.worker {
            args.workers.max(1)
        } else {
            args.workers
        },
        tokens,
        engine: EngineOptions {
            workspace,
            key,
            lease: Duration::from_secs(args.lease.max(3)),
            max_attempts: args.max_attempts.max(1),
        },
        body_limit: DEFAULT_BODY_LIMIT,
        poller: args.poll.clone().map(|profile| PollerOptions {
            profile,
            interval: Duration::from_secs(args.poll_interval.max(1)),
            workspace: args.poll_workspace.clone(),
            since: None,
        }),
    };
    serve_blocking(options)?;
    Ok(crate::exit::CLEAN)
}
