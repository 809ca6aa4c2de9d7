//! Logging: `tracing` to stderr (level from `--log-level` or `RIPOSTE_LOG`), and the same events
//! from Riposte's own crates to the client as `window/logMessage` (level from the `logLevel`
//! setting). Nothing logged here carries document text: handlers log URIs, versions and counts.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, RwLock, Weak};

use tokio::sync::mpsc;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::MessageType;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// The stderr level when neither `--log-level` nor `RIPOSTE_LOG` says otherwise.
pub const DEFAULT_LEVEL: &str = "info";

/// Installs the process-wide subscriber. `level` is a level (`debug`), applied to Riposte's
/// crates, or a full `tracing` filter (`riposte_lsp=trace,warn`). Returns a message when the
/// level is not understood (the default is used instead).
pub fn init(level: Option<&str>) -> Option<String> {
    let requested = level
        .map(str::to_string)
        .or_else(|| std::env::var("RIPOSTE_LOG").ok())
        .filter(|level| !level.trim().is_empty());
    let (filter, problem) = match requested.as_deref().map(filter_for) {
        Some(Ok(filter)) => (filter, None),
        Some(Err(problem)) => (
            filter_for(DEFAULT_LEVEL).expect("the default parses"),
            Some(problem),
        ),
        None => (filter_for(DEFAULT_LEVEL).expect("the default parses"), None),
    };
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .with_filter(filter);
    // A second server in one process (tests) keeps the first subscriber: that is fine.
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(ClientLayer)
        .try_init();
    problem
}

fn filter_for(level: &str) -> Result<EnvFilter, String> {
    let level = level.trim();
    if level.contains('=') || level.contains(',') {
        return EnvFilter::try_new(level).map_err(|err| format!("log filter `{level}`: {err}"));
    }
    let parsed: LevelFilter = level.parse().map_err(|_| {
        format!("`{level}` is not a log level (off, error, warn, info, debug, trace)")
    })?;
    // The protocol library stays at warn: its traces would echo message bodies.
    EnvFilter::try_new(format!(
        "warn,riposte_lsp={parsed},riposte_core={parsed},riposte_workspace={parsed},tower_lsp_server=warn"
    ))
    .map_err(|err| err.to_string())
}

/// The session's link to the client for `window/logMessage`.
pub struct ClientLog {
    level: AtomicU8,
    sender: OnceLock<mpsc::UnboundedSender<(MessageType, String)>>,
}

static CURRENT: RwLock<Weak<ClientLog>> = RwLock::new(Weak::new());

impl ClientLog {
    /// A log for a new session, which becomes the one events go to.
    pub fn new() -> Arc<ClientLog> {
        let log = Arc::new(ClientLog {
            level: AtomicU8::new(level_rank(LevelFilter::INFO)),
            sender: OnceLock::new(),
        });
        if let Ok(mut current) = CURRENT.write() {
            *current = Arc::downgrade(&log);
        }
        log
    }

    /// Starts forwarding to the client (on the current tokio runtime).
    pub fn connect(&self, client: Client) {
        let (sender, mut receiver) = mpsc::unbounded_channel::<(MessageType, String)>();
        if self.sender.set(sender).is_err() {
            return;
        }
        tokio::spawn(async move {
            while let Some((kind, message)) = receiver.recv().await {
                client.log_message(kind, message).await;
            }
        });
    }

    pub fn set_level(&self, level: LevelFilter) {
        self.level.store(level_rank(level), Ordering::Relaxed);
    }

    fn enabled(&self, level: &Level) -> bool {
        level_rank(LevelFilter::from_level(*level)) <= self.level.load(Ordering::Relaxed)
    }
}

fn level_rank(level: LevelFilter) -> u8 {
    match level {
        LevelFilter::OFF => 0,
        LevelFilter::ERROR => 1,
        LevelFilter::WARN => 2,
        LevelFilter::INFO => 3,
        LevelFilter::DEBUG => 4,
        _ => 5,
    }
}

struct ClientLayer;

impl<S: Subscriber> Layer<S> for ClientLayer {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let metadata = event.metadata();
        if !metadata.target().starts_with("riposte") {
            return;
        }
        let Some(log) = CURRENT.read().ok().and_then(|current| current.upgrade()) else {
            return;
        };
        if !log.enabled(metadata.level()) {
            return;
        }
        let Some(sender) = log.sender.get() else {
            return;
        };
        let mut message = Message(String::new());
        event.record(&mut message);
        let kind = match *metadata.level() {
            Level::ERROR => MessageType::ERROR,
            Level::WARN => MessageType::WARNING,
            Level::INFO => MessageType::INFO,
            _ => MessageType::LOG,
        };
        let _ = sender.send((kind, message.0));
    }
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}
