//! Alert intake and the activity log. One delivery is one transaction: the alert row, its
//! activity entries and the runs its matching rules queue are stored together or not at all.
//! `runs (alert_id, rule, delivery)` is unique, so a delivery seen twice (a retry, a second
//! engine, a race) can never queue a second run.

use riposte_engine_client::wire::{ActivityEntry, AlertDetail, AlertSummary, IntakeOutcome};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{NewActivity, Store, StoreError, add_activity, now_ms, opt, timestamp};

/// The columns of an alert, taken from the normalised alert.
pub struct AlertFields {
    pub id: String,
    pub workspace: String,
    pub title: String,
    pub severity: String,
    pub status: String,
    pub provider: String,
    pub source: String,
    /// SHA-256 of the delivered JSON: the same content twice is a duplicate.
    pub fingerprint: String,
    pub raw: String,
}

/// A rule that matched, with what it does.
#[derive(Debug, Clone)]
pub struct MatchedRule {
    pub name: String,
    pub action: MatchedAction,
}

#[derive(Debug, Clone)]
pub enum MatchedAction {
    RunPlaybook(String),
    /// The alert fields to set (`status`, `classification`, `determination`, `assigned_to`).
    UpdateAlert(serde_json::Map<String, serde_json::Value>),
}

/// What one delivery did.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub outcome: IntakeOutcome,
    pub runs: Vec<i64>,
    pub matched: Vec<String>,
}

fn alert_summary(row: &AnyRow) -> Result<AlertSummary, StoreError> {
    Ok(AlertSummary {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        severity: row.try_get("severity")?,
        status: row.try_get("status")?,
        provider: row.try_get("provider")?,
        source: row.try_get("source")?,
        workspace: row.try_get("workspace")?,
        received_at: timestamp(row.try_get("received_at")?),
        updated_at: timestamp(row.try_get("updated_at")?),
    })
}

impl Store {
    /// Stores one delivery of an alert. `on_created` / `on_updated` are the rules that match it
    /// for each trigger (in evaluation order); which list applies depends on what is stored.
    pub async fn ingest(
        &self,
        alert: &AlertFields,
        on_created: &[MatchedRule],
        on_updated: &[MatchedRule],
    ) -> Result<Delivery, StoreError> {
        // A concurrent delivery of the same new alert can win the insert; the retry then sees
        // its row and answers duplicate or updated.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.ingest_once(alert, on_created, on_updated).await {
                Err(IngestError::Race) if attempt < 3 => continue,
                Err(IngestError::Race) => {
                    return Err(StoreError::Unavailable(
                        "the alert is being delivered concurrently; retry".into(),
                    ));
                }
                Err(IngestError::Store(err)) => return Err(err),
                Ok(delivery) => return Ok(delivery),
            }
        }
    }

    async fn ingest_once(
        &self,
        alert: &AlertFields,
        on_created: &[MatchedRule],
        on_updated: &[MatchedRule],
    ) -> Result<Delivery, IngestError> {
        // The common retry case (the same content again) is answered without the write lock.
        let known = sqlx::query("SELECT fingerprint FROM alerts WHERE id = $1")
            .bind(&alert.id)
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::from)?
            .map(|row| row.get::<String, _>(0));
        if known.as_deref() == Some(alert.fingerprint.as_str()) {
            return Ok(Delivery {
                outcome: IntakeOutcome::Duplicate,
                runs: Vec::new(),
                matched: Vec::new(),
            });
        }
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let stored = sqlx::query("SELECT fingerprint FROM alerts WHERE id = $1")
            .bind(&alert.id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?
            .map(|row| row.get::<String, _>(0));
        let (outcome, rules, delivery) = match stored {
            Some(fingerprint) if fingerprint == alert.fingerprint => {
                tx.rollback().await.map_err(StoreError::from)?;
                return Ok(Delivery {
                    outcome: IntakeOutcome::Duplicate,
                    runs: Vec::new(),
                    matched: Vec::new(),
                });
            }
            Some(_) => {
                sqlx::query(
                    "UPDATE alerts SET workspace = $1, title = $2, severity = $3, status = $4, provider = $5, \
                     source = $6, fingerprint = $7, raw = $8, updated_at = $9 WHERE id = $10",
                )
                .bind(&alert.workspace)
                .bind(&alert.title)
                .bind(&alert.severity)
                .bind(&alert.status)
                .bind(&alert.provider)
                .bind(&alert.source)
                .bind(&alert.fingerprint)
                .bind(&alert.raw)
                .bind(now)
                .bind(&alert.id)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
                add_activity(
                    &mut tx,
                    NewActivity {
                        alert_id: &alert.id,
                        kind: "updated",
                        text: format!("alert updated (status {})", or_none(&alert.status)),
                        run_id: None,
                        rule: None,
                        data: json!({"workspace": alert.workspace}),
                    },
                )
                .await?;
                (
                    IntakeOutcome::Updated,
                    on_updated,
                    format!("updated:{}", alert.fingerprint),
                )
            }
            None => {
                let inserted = sqlx::query(
                    "INSERT INTO alerts (id, workspace, title, severity, status, provider, source, fingerprint, raw, received_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
                )
                .bind(&alert.id)
                .bind(&alert.workspace)
                .bind(&alert.title)
                .bind(&alert.severity)
                .bind(&alert.status)
                .bind(&alert.provider)
                .bind(&alert.source)
                .bind(&alert.fingerprint)
                .bind(&alert.raw)
                .bind(now)
                .execute(&mut *tx)
                .await;
                if let Err(err) = inserted {
                    if super::is_unique_violation(&err) {
                        return Err(IngestError::Race);
                    }
                    return Err(StoreError::from(err).into());
                }
                add_activity(
                    &mut tx,
                    NewActivity {
                        alert_id: &alert.id,
                        kind: "received",
                        text: format!(
                            "alert received: {} ({} severity, workspace {})",
                            alert.title, alert.severity, alert.workspace
                        ),
                        run_id: None,
                        rule: None,
                        data: json!({"source": alert.source, "workspace": alert.workspace}),
                    },
                )
                .await?;
                (IntakeOutcome::Created, on_created, "created".to_string())
            }
        };

        let mut runs = Vec::new();
        let mut matched = Vec::new();
        for rule in rules {
            matched.push(rule.name.clone());
            match &rule.action {
                MatchedAction::RunPlaybook(playbook) => {
                    let active =
                        sqlx::query("SELECT active_version FROM playbooks WHERE name = $1")
                            .bind(playbook)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(StoreError::from)?;
                    let why = match &active {
                        None => Some("is not in the engine"),
                        Some(row) if opt::<i64>(row, "active_version")?.is_none() => {
                            Some("has no active version")
                        }
                        Some(_) => None,
                    };
                    if let Some(why) = why {
                        add_activity(
                            &mut tx,
                            NewActivity {
                                alert_id: &alert.id,
                                kind: "rule_matched",
                                text: format!(
                                    "rule `{}` matched, but playbook `{playbook}` {why}: no run queued",
                                    rule.name
                                ),
                                run_id: None,
                                rule: Some(&rule.name),
                                data: json!({"playbook": playbook, "queued": false}),
                            },
                        )
                        .await?;
                        continue;
                    }
                    let id = sqlx::query(
                        "INSERT INTO runs (alert_id, rule, playbook, delivery, state, attempt, queued_at) \
                         VALUES ($1, $2, $3, $4, 'queued', 0, $5) \
                         ON CONFLICT (alert_id, rule, delivery) DO NOTHING RETURNING id",
                    )
                    .bind(&alert.id)
                    .bind(&rule.name)
                    .bind(playbook)
                    .bind(&delivery)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(StoreError::from)?
                    .map(|row| row.get::<i64, _>(0));
                    let Some(id) = id else { continue };
                    runs.push(id);
                    add_activity(
                        &mut tx,
                        NewActivity {
                            alert_id: &alert.id,
                            kind: "run_queued",
                            text: format!(
                                "rule `{}` matched: run {id} of playbook `{playbook}` queued",
                                rule.name
                            ),
                            run_id: Some(id),
                            rule: Some(&rule.name),
                            data: json!({"playbook": playbook}),
                        },
                    )
                    .await?;
                }
                MatchedAction::UpdateAlert(fields) => {
                    if let Some(status) = fields.get("status").and_then(|v| v.as_str()) {
                        sqlx::query("UPDATE alerts SET status = $1 WHERE id = $2")
                            .bind(status.to_ascii_lowercase())
                            .bind(&alert.id)
                            .execute(&mut *tx)
                            .await
                            .map_err(StoreError::from)?;
                    }
                    let listed: Vec<String> = fields
                        .iter()
                        .map(|(k, v)| format!("{k} = {}", v.as_str().unwrap_or_default()))
                        .collect();
                    add_activity(
                        &mut tx,
                        NewActivity {
                            alert_id: &alert.id,
                            kind: "alert_update",
                            text: format!(
                                "rule `{}` updated the alert: {}",
                                rule.name,
                                listed.join(", ")
                            ),
                            run_id: None,
                            rule: Some(&rule.name),
                            data: serde_json::Value::Object(fields.clone()),
                        },
                    )
                    .await?;
                }
            }
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(Delivery {
            outcome,
            runs,
            matched,
        })
    }

    pub async fn list_alerts(&self, limit: i64) -> Result<Vec<AlertSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, title, severity, status, provider, source, workspace, received_at, updated_at \
             FROM alerts ORDER BY received_at DESC, id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(alert_summary).collect()
    }

    pub async fn alert(&self, id: &str) -> Result<Option<AlertDetail>, StoreError> {
        let row = sqlx::query(
            "SELECT id, title, severity, status, provider, source, workspace, received_at, updated_at, raw \
             FROM alerts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(AlertDetail {
            summary: alert_summary(&row)?,
            raw: serde_json::from_str(&row.try_get::<String, _>("raw")?)
                .unwrap_or(serde_json::Value::Null),
        }))
    }

    /// The alert's delivered JSON, for a run.
    pub async fn alert_raw(&self, id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT raw FROM alerts WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.get::<String, _>(0)))
    }

    pub async fn activity(&self, alert_id: &str) -> Result<Vec<ActivityEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, kind, text, run_id, rule, data FROM activity WHERE alert_id = $1 ORDER BY id",
        )
        .bind(alert_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ActivityEntry {
                    id: row.try_get("id")?,
                    at: timestamp(row.try_get("at")?),
                    kind: row.try_get("kind")?,
                    text: row.try_get("text")?,
                    run_id: opt(row, "run_id")?,
                    rule: opt(row, "rule")?,
                    data: serde_json::from_str(&row.try_get::<String, _>("data")?)
                        .unwrap_or(serde_json::Value::Null),
                })
            })
            .collect()
    }
}

fn or_none(text: &str) -> &str {
    if text.is_empty() { "none" } else { text }
}

enum IngestError {
    /// Another delivery inserted the alert first.
    Race,
    Store(StoreError),
}

impl From<StoreError> for IngestError {
    fn from(err: StoreError) -> Self {
        IngestError::Store(err)
    }
}
