//! The run queue. A worker claims the oldest queued run in one statement (with `FOR UPDATE SKIP
//! LOCKED` on PostgreSQL, so any number of workers on any number of machines share the queue;
//! SQLite serialises writers, which makes the same statement atomic there), holds it under a
//! lease it renews while the run goes on, and finishes it only while it still holds the lease.
//! Runs whose lease expired (their worker died) go back to the queue, or fail after the last
//! attempt: a run is never lost, and never runs twice at once.

use riposte_engine_client::wire::{RunDetail, RunState, RunSummary};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{
    Dialect, NewActivity, Store, StoreError, add_activity, now_ms, opt, opt_timestamp, timestamp,
};

/// A run a worker now holds.
#[derive(Debug, Clone)]
pub struct ClaimedRun {
    pub id: i64,
    pub alert_id: String,
    pub rule: String,
    pub playbook: String,
    pub attempt: u32,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct Finish {
    pub state: RunState,
    pub status: Option<String>,
    pub error: Option<String>,
    pub playbook_version: Option<u32>,
    pub record: Option<serde_json::Value>,
    /// Entries for the alert's activity log besides the run's own `run_finished` one (comments,
    /// alert updates).
    pub activity: Vec<(String, String, serde_json::Value)>,
}

const CLAIM_SQLITE: &str = "UPDATE runs SET state = 'running', worker = $1, lease_until = $2, \
     attempt = attempt + 1, started_at = $3 \
     WHERE id = (SELECT id FROM runs WHERE state = 'queued' ORDER BY id LIMIT 1) AND state = 'queued' \
     RETURNING id, alert_id, rule, playbook, attempt";

const CLAIM_POSTGRES: &str = "UPDATE runs SET state = 'running', worker = $1, lease_until = $2, \
     attempt = attempt + 1, started_at = $3 \
     WHERE id = (SELECT id FROM runs WHERE state = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) \
     AND state = 'queued' \
     RETURNING id, alert_id, rule, playbook, attempt";

/// Which runs a listing keeps; an empty field means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// `queued`, `running`, `succeeded` or `failed`.
    pub state: String,
    pub alert: String,
    pub playbook: String,
}

const RUN_COLUMNS: &str = "SELECT id, alert_id, rule, playbook, playbook_version, state, status, error, \
     attempt, worker, queued_at, started_at, finished_at";

fn state(text: &str) -> RunState {
    match text {
        "queued" => RunState::Queued,
        "running" => RunState::Running,
        "succeeded" => RunState::Succeeded,
        _ => RunState::Failed,
    }
}

pub(crate) fn state_name(state: RunState) -> &'static str {
    match state {
        RunState::Queued => "queued",
        RunState::Running => "running",
        RunState::Succeeded => "succeeded",
        RunState::Failed => "failed",
    }
}

fn run_summary(row: &AnyRow) -> Result<RunSummary, StoreError> {
    Ok(RunSummary {
        id: row.try_get("id")?,
        alert_id: row.try_get("alert_id")?,
        rule: row.try_get("rule")?,
        playbook: row.try_get("playbook")?,
        playbook_version: opt::<i64>(row, "playbook_version")?.map(|v| v as u32),
        state: state(&row.try_get::<String, _>("state")?),
        status: opt(row, "status")?,
        error: opt(row, "error")?,
        attempt: row.try_get::<i64, _>("attempt")? as u32,
        worker: opt(row, "worker")?,
        queued_at: timestamp(row.try_get("queued_at")?),
        started_at: opt_timestamp(opt(row, "started_at")?),
        finished_at: opt_timestamp(opt(row, "finished_at")?),
    })
}

impl Store {
    /// Takes the oldest queued run for `worker`, leased for `lease_ms`.
    pub async fn claim_run(
        &self,
        worker: &str,
        lease_ms: i64,
    ) -> Result<Option<ClaimedRun>, StoreError> {
        let now = now_ms();
        let sql = match self.dialect() {
            Dialect::Sqlite => CLAIM_SQLITE,
            Dialect::Postgres => CLAIM_POSTGRES,
        };
        let row = sqlx::query(sql)
            .bind(worker)
            .bind(now + lease_ms)
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let claimed = ClaimedRun {
            id: row.try_get("id")?,
            alert_id: row.try_get("alert_id")?,
            rule: row.try_get("rule")?,
            playbook: row.try_get("playbook")?,
            attempt: row.try_get::<i64, _>("attempt")? as u32,
        };
        let mut tx = self.begin_write().await?;
        add_activity(
            &mut tx,
            NewActivity {
                alert_id: &claimed.alert_id,
                kind: "run_started",
                text: format!(
                    "run {} of playbook `{}` started (attempt {}, worker {worker})",
                    claimed.id, claimed.playbook, claimed.attempt
                ),
                run_id: Some(claimed.id),
                rule: Some(&claimed.rule),
                data: json!({"attempt": claimed.attempt, "worker": worker}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Some(claimed))
    }

    /// Extends the lease; `false` when the worker no longer holds the run.
    pub async fn renew_lease(
        &self,
        run: &ClaimedRun,
        worker: &str,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE runs SET lease_until = $1 WHERE id = $2 AND worker = $3 AND attempt = $4 AND state = 'running'",
        )
        .bind(now_ms() + lease_ms)
        .bind(run.id)
        .bind(worker)
        .bind(i64::from(run.attempt))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records how a run ended, with its activity; `false` (and nothing written) when the
    /// worker lost the lease meanwhile.
    pub async fn finish_run(
        &self,
        run: &ClaimedRun,
        worker: &str,
        finish: Finish,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE runs SET state = $1, status = $2, error = $3, record = $4, finished_at = $5, \
             lease_until = NULL, playbook_version = $6 \
             WHERE id = $7 AND worker = $8 AND attempt = $9 AND state = 'running'",
        )
        .bind(state_name(finish.state))
        .bind(finish.status.clone())
        .bind(finish.error.clone())
        .bind(finish.record.as_ref().map(|r| r.to_string()))
        .bind(now)
        .bind(finish.playbook_version.map(i64::from))
        .bind(run.id)
        .bind(worker)
        .bind(i64::from(run.attempt))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        for (kind, text, data) in finish.activity {
            add_activity(
                &mut tx,
                NewActivity {
                    alert_id: &run.alert_id,
                    kind: &kind,
                    text,
                    run_id: Some(run.id),
                    rule: Some(&run.rule),
                    data,
                },
            )
            .await?;
        }
        let outcome = match (&finish.status, &finish.error) {
            (_, Some(error)) => format!("run {} {}: {error}", run.id, state_name(finish.state)),
            (Some(status), None) => format!("run {} finished: {status}", run.id),
            (None, None) => format!("run {} {}", run.id, state_name(finish.state)),
        };
        add_activity(
            &mut tx,
            NewActivity {
                alert_id: &run.alert_id,
                kind: "run_finished",
                text: outcome,
                run_id: Some(run.id),
                rule: Some(&run.rule),
                data: json!({"state": state_name(finish.state), "status": finish.status}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Puts runs whose lease expired back in the queue, or fails them after `max_attempts`.
    /// Returns how many it changed.
    pub async fn recover_expired(&self, max_attempts: u32) -> Result<usize, StoreError> {
        let now = now_ms();
        let expired = sqlx::query(
            "SELECT id, alert_id, rule, attempt, worker FROM runs WHERE state = 'running' AND lease_until < $1",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        let mut changed = 0;
        for row in expired {
            let id: i64 = row.try_get("id")?;
            let alert_id: String = row.try_get("alert_id")?;
            let rule: String = row.try_get("rule")?;
            let attempt = row.try_get::<i64, _>("attempt")?;
            let worker: Option<String> = opt(&row, "worker")?;
            let worker = worker.unwrap_or_default();
            let mut tx = self.begin_write().await?;
            let (sql, kind, text) = if attempt < i64::from(max_attempts) {
                (
                    "UPDATE runs SET state = 'queued', worker = NULL, lease_until = NULL \
                     WHERE id = $1 AND state = 'running' AND attempt = $2 AND lease_until < $3",
                    "run_requeued",
                    format!(
                        "run {id}: worker {worker} stopped holding it (lease expired) during attempt {attempt}; queued again"
                    ),
                )
            } else {
                (
                    "UPDATE runs SET state = 'failed', error = 'the worker running it stopped (lease expired) on every attempt', \
                     lease_until = NULL, finished_at = $3 \
                     WHERE id = $1 AND state = 'running' AND attempt = $2 AND lease_until < $3",
                    "run_finished",
                    format!(
                        "run {id} failed: its worker stopped (lease expired) on all {attempt} attempts"
                    ),
                )
            };
            let done = sqlx::query(sql)
                .bind(id)
                .bind(attempt)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() != 1 {
                tx.rollback().await?;
                continue;
            }
            add_activity(
                &mut tx,
                NewActivity {
                    alert_id: &alert_id,
                    kind,
                    text,
                    run_id: Some(id),
                    rule: Some(&rule),
                    data: json!({"attempt": attempt, "worker": worker}),
                },
            )
            .await?;
            tx.commit().await?;
            changed += 1;
        }
        Ok(changed)
    }

    /// Runs, newest first, that pass `filter`.
    pub async fn list_runs(
        &self,
        limit: i64,
        filter: &RunFilter,
    ) -> Result<Vec<RunSummary>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{RUN_COLUMNS} FROM runs WHERE ($1 = '' OR state = $1) AND ($2 = '' OR alert_id = $2) \
             AND ($3 = '' OR playbook = $3) ORDER BY id DESC LIMIT $4"
        )))
        .bind(&filter.state)
        .bind(&filter.alert)
        .bind(&filter.playbook)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(run_summary).collect()
    }

    pub async fn run(&self, id: i64) -> Result<Option<RunDetail>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{RUN_COLUMNS}, record FROM runs WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let record: Option<String> = opt(&row, "record")?;
        Ok(Some(RunDetail {
            summary: run_summary(&row)?,
            record: record.and_then(|r| serde_json::from_str(&r).ok()),
        }))
    }
}
