//! Putting the engine together: open the store, then start the HTTP API (unless worker-only),
//! the in-process workers and the Graph poller, until told to stop. `riposte serve` calls
//! [`serve_blocking`]; tests call [`start`] and [`Running::stop`].

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{self, Tokens};
use crate::engine::{Engine, EngineOptions};
use crate::poller::{self, PollerOptions};
use crate::store::Store;

/// Everything `riposte serve` was asked for.
#[derive(Debug)]
pub struct ServeOptions {
    /// `sqlite:PATH` or `postgres://…`.
    pub db: String,
    /// Where the API listens; `None` for a worker-only process.
    pub listen: Option<SocketAddr>,
    /// In-process workers (0: this process runs no playbooks).
    pub workers: usize,
    pub tokens: Tokens,
    pub engine: EngineOptions,
    pub body_limit: usize,
    pub poller: Option<PollerOptions>,
}

/// A started engine.
pub struct Running {
    /// Where the API listens, when it does.
    pub addr: Option<SocketAddr>,
    pub engine: Arc<Engine>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting requests and claims, lets runs in hand finish, and closes the store.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        self.engine.store.close().await;
    }
}

/// Refuses configurations that would expose the engine or make a token pointless.
pub fn check_exposure(listen: Option<SocketAddr>, tokens: &Tokens) -> anyhow::Result<()> {
    if tokens.admin.is_none() && tokens.read.is_some() {
        bail!(
            "a read token (RIPOSTE_ENGINE_READ_TOKEN) needs an admin token too (RIPOSTE_ENGINE_TOKEN or --token-file): without one every request would be admin"
        );
    }
    if let Some(addr) = listen
        && !addr.ip().is_loopback()
        && tokens.admin.is_none()
    {
        bail!(
            "refusing to listen on {addr} without an admin token: set RIPOSTE_ENGINE_TOKEN or --token-file, or listen on 127.0.0.1"
        );
    }
    for token in [&tokens.admin, &tokens.read].into_iter().flatten() {
        if token.len() < 16 {
            bail!("engine tokens must be at least 16 characters (e.g. `openssl rand -hex 32`)");
        }
    }
    Ok(())
}

fn worker_prefix() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    format!("{host}-{}", std::process::id())
}

/// Opens the store and starts everything asked for.
pub async fn start(options: ServeOptions) -> anyhow::Result<Running> {
    check_exposure(options.listen, &options.tokens)?;
    let store = Store::open(&options.db)
        .await
        .with_context(|| format!("cannot open the store ({})", redact_url(&options.db)))?;
    let engine = Arc::new(Engine::new(store, options.engine).await?);
    let (shutdown, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    let mut addr = None;
    if let Some(listen) = options.listen {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        addr = Some(listener.local_addr()?);
        let app = api::router(engine.clone(), options.tokens, options.body_limit);
        let mut stop = stopped.clone();
        tasks.push(tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(err) = served {
                tracing::error!("the API stopped: {err}");
            }
        }));
    }
    let prefix = worker_prefix();
    for index in 0..options.workers {
        let name = format!("{prefix}-{index}");
        tasks.push(tokio::spawn(crate::worker::work(
            engine.clone(),
            name,
            stopped.clone(),
        )));
    }
    if let Some(poll) = options.poller {
        tasks.push(tokio::spawn(poller::poll(
            engine.clone(),
            poll,
            stopped.clone(),
        )));
    }
    Ok(Running {
        addr,
        engine,
        shutdown,
        tasks,
    })
}

/// A store URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("[REDACTED]"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// `riposte serve`: runs until Ctrl-C or SIGTERM.
pub fn serve_blocking(options: ServeOptions) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let running = start(options).await?;
        match running.addr {
            Some(addr) => eprintln!(
                "riposte engine on http://{addr} (store: {}; console: http://{addr}/console)",
                running.engine.store.dialect().as_str()
            ),
            None => eprintln!(
                "riposte engine worker (store: {}), no HTTP",
                running.engine.store.dialect().as_str()
            ),
        }
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .context("cannot watch for SIGTERM")?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        eprintln!("stopping: finishing runs in hand");
        running.stop().await;
        Ok(())
    })
}

/// Log lines to stderr; `RUST_LOG` filters (default `info` for the engine).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("riposte_engine=info,warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(admin: Option<&str>, read: Option<&str>) -> Tokens {
        Tokens {
            admin: admin.map(str::to_string),
            read: read.map(str::to_string),
        }
    }

    #[test]
    fn exposure_needs_an_admin_token_beyond_loopback() {
        let lan: SocketAddr = "0.0.0.0:7878".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:7878".parse().unwrap();
        let v6_local: SocketAddr = "[::1]:7878".parse().unwrap();
        let err = check_exposure(Some(lan), &tokens(None, None)).unwrap_err();
        assert!(
            err.to_string()
                .contains("refusing to listen on 0.0.0.0:7878")
        );
        assert!(check_exposure(Some(local), &tokens(None, None)).is_ok());
        assert!(check_exposure(Some(v6_local), &tokens(None, None)).is_ok());
        assert!(check_exposure(None, &tokens(None, None)).is_ok());
        let long = "0123456789abcdef0123";
        assert!(check_exposure(Some(lan), &tokens(Some(long), None)).is_ok());
        let short = check_exposure(Some(lan), &tokens(Some("short"), None)).unwrap_err();
        assert!(short.to_string().contains("at least 16"));
        let read_only = check_exposure(Some(local), &tokens(None, Some(long))).unwrap_err();
        assert!(read_only.to_string().contains("needs an admin token"));
    }

    #[test]
    fn store_urls_are_shown_without_passwords() {
        assert_eq!(
            redact_url("postgres://riposte:hunter2-fake@127.0.0.1:5432/db"),
            "postgres://riposte:%5BREDACTED%5D@127.0.0.1:5432/db"
        );
        assert_eq!(redact_url("sqlite:engine.db"), "sqlite:engine.db");
    }
}
