//! The deploy target behind `riposte serve`: the store (SQLite or PostgreSQL), playbook versions
//! and activation, automation rules, alert intake, the run queue and its workers, the activity
//! log, and the HTTP API and console over them.
//!
//! Code map: `store` (schema, migrations, every query), `engine` (the operations: validation,
//! rules, profiles, intake), `secrets` (profile secrets sealed at rest), `worker` (claiming and
//! running queued runs), `api` (the HTTP API, its authentication and errors), `console` (the
//! read-only web page), `poller` (alerts from Microsoft Graph), `serve` (putting it together).

pub mod api;
pub mod console;
pub mod engine;
pub mod error;
pub mod poller;
pub mod secrets;
pub mod serve;
pub mod store;
pub mod worker;

pub use engine::{Engine, EngineOptions};
pub use error::EngineError;
