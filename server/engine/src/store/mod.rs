//! The engine's store: one schema on SQLite (the embedded default, one file) or PostgreSQL, through
//! sqlx's `any` driver so that every query is written once. Dialect differences are confined to
//! the schema DDL (`schema.rs`), how a write transaction starts, and the queue's claim statement.
//!
//! Times are stored as milliseconds since the Unix epoch (BIGINT) and booleans as 0/1, which both
//! databases hold the same way; JSON is stored as text.

mod alerts;
mod playbooks;
mod profiles;
mod rules;
mod runs;
mod schema;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Row, Transaction};

pub use alerts::{AlertFields, Delivery, MatchedAction, MatchedRule};
pub use playbooks::{ActiveVersion, NewVersion};
pub use profiles::StoredProfile;
pub use rules::NewRule;
pub use runs::{ClaimedRun, Finish, RunFilter};

/// Which database the store is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }
}

/// What can go wrong in the store, sorted by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database is locked, restarting or unreachable: nothing was changed; try again later.
    #[error("the store is unavailable ({0}); nothing was changed, try again")]
    Unavailable(String),
    /// A row the operation needs is missing.
    #[error("{0}")]
    NotFound(String),
    /// The change conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// A configured limit would be exceeded.
    #[error("{0}")]
    Limit(String),
    /// The operation is refused for a reason the message gives.
    #[error("{0}")]
    Refused(String),
    /// Anything else the database said.
    #[error("store error: {0}")]
    Database(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if is_transient(&err) {
            return StoreError::Unavailable(describe(&err));
        }
        StoreError::Database(describe(&err))
    }
}

/// Database errors are described by kind and the database's message; bound parameters (which
/// may be secrets' ciphertexts or alert content) are never part of either.
fn describe(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} (code {code})", db.message()),
            None => db.message().to_string(),
        },
        sqlx::Error::PoolTimedOut => "timed out waiting for a database connection".into(),
        sqlx::Error::Io(io) => format!("I/O error talking to the database: {io}"),
        other => other.to_string(),
    }
}

fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // SQLite: 5 SQLITE_BUSY, 6 SQLITE_LOCKED (and extended codes built on them);
            // PostgreSQL: class 08 (connection), 57P01..57P03 (shutdown, cannot connect now),
            // 40001/40P01 (serialization failure, deadlock).
            let sqlite_busy = code
                .parse::<i64>()
                .is_ok_and(|n| n & 0xff == 5 || n & 0xff == 6);
            sqlite_busy
                || code.starts_with("08")
                || code.starts_with("57P")
                || code == "40001"
                || code == "40P01"
                || db.message().contains("database is locked")
        }
        _ => false,
    }
}

/// Whether an error is a unique-constraint violation (a concurrent insert won the race).
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // PostgreSQL 23505; SQLite 2067 (SQLITE_CONSTRAINT_UNIQUE), 1555 (PRIMARY KEY).
            code == "23505" || code == "2067" || code == "1555"
        }
        _ => false,
    }
}

/// The store: a connection pool and the dialect behind it.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
}

impl Store {
    /// Connects (creating the SQLite file if needed) and brings the schema up to date.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else {
            return Err(StoreError::Refused(
                "the store URL must start with sqlite: (for example sqlite:engine.db) or postgres://"
                    .into(),
            ));
        };
        let url = match dialect {
            // Create the file on first start.
            Dialect::Sqlite if !url.contains("mode=") => {
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}mode=rwc")
            }
            _ => url.to_string(),
        };
        let options = AnyPoolOptions::new()
            .max_connections(match dialect {
                Dialect::Sqlite => 4,
                Dialect::Postgres => 10,
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        // WAL: readers never wait for the writer; a writer waits up to 5 s for
                        // another before the request answers 503.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                    }
                    Ok(())
                })
            });
        let pool = options
            .connect(&url)
            .await
            .map_err(|err| StoreError::Unavailable(describe(&err)))?;
        let store = Store { pool, dialect };
        schema::migrate(&store).await?;
        Ok(store)
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A transaction that writes: on SQLite it takes the write lock at once (`BEGIN IMMEDIATE`),
    /// so two writers wait for each other (busy timeout) instead of failing on a lock upgrade.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        let tx = match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.pool.begin().await?,
        };
        Ok(tx)
    }

    /// Before counting rows against a limit on PostgreSQL: two transactions cannot both count
    /// and insert (SQLite's write transactions are serialised already).
    pub(crate) async fn lock_for_count(
        &self,
        tx: &mut Transaction<'static, Any>,
        table: LimitedTable,
    ) -> Result<(), StoreError> {
        if self.dialect == Dialect::Postgres {
            let sql = match table {
                LimitedTable::Playbooks => "LOCK TABLE playbooks IN SHARE ROW EXCLUSIVE MODE",
                LimitedTable::Rules => "LOCK TABLE rules IN SHARE ROW EXCLUSIVE MODE",
                LimitedTable::Profiles => "LOCK TABLE profiles IN SHARE ROW EXCLUSIVE MODE",
            };
            sqlx::query(sql).execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// A value from the `meta` table.
    pub async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get::<String, _>(0)))
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Tables whose row count a limit bounds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LimitedTable {
    Playbooks,
    Rules,
    Profiles,
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// A stored time as RFC 3339 (UTC).
pub fn timestamp(ms: i64) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    riposte_runtime::record::rfc3339(time)
}

fn opt_timestamp(ms: Option<i64>) -> Option<String> {
    ms.map(timestamp)
}

/// Reads an optional column that may be NULL.
fn opt<T>(row: &AnyRow, column: &str) -> Result<Option<T>, StoreError>
where
    T: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    Ok(row.try_get::<Option<T>, _>(column)?)
}

/// Appends one entry to an alert's activity log inside a transaction.
pub(crate) async fn add_activity(
    tx: &mut Transaction<'static, Any>,
    entry: NewActivity<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO activity (alert_id, at, kind, text, run_id, rule, data) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(entry.alert_id)
    .bind(now_ms())
    .bind(entry.kind)
    .bind(entry.text)
    .bind(entry.run_id)
    .bind(entry.rule)
    .bind(entry.data.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One activity entry to append.
pub(crate) struct NewActivity<'a> {
    pub alert_id: &'a str,
    pub kind: &'a str,
    pub text: String,
    pub run_id: Option<i64>,
    pub rule: Option<&'a str>,
    pub data: serde_json::Value,
}
