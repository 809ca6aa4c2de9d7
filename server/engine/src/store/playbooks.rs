//! Playbooks and their versions: every save is a new, inactive version; at most one version of
//! a playbook is active.

use riposte_engine_client::wire::{
    Diagnostic, PlaybookDetail, PlaybookSummary, PlaybookVersion, VersionSummary,
};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{LimitedTable, Store, StoreError, now_ms, opt, timestamp};

/// A version to store, with its validation result.
pub struct NewVersion {
    pub source: String,
    pub docs: String,
    pub diagnostics: Vec<Diagnostic>,
    pub lines: u32,
    pub errors: u32,
    pub warnings: u32,
}

/// The version runs use.
pub struct ActiveVersion {
    pub version: u32,
    pub source: String,
}

fn summary(row: &AnyRow) -> Result<PlaybookSummary, StoreError> {
    Ok(PlaybookSummary {
        name: row.try_get("name")?,
        active_version: opt::<i64>(row, "active_version")?.map(|v| v as u32),
        latest_version: row.try_get::<i64, _>("latest_version")? as u32,
        created_at: timestamp(row.try_get("created_at")?),
        updated_at: timestamp(row.try_get("updated_at")?),
    })
}

fn version_summary(row: &AnyRow, active: Option<u32>) -> Result<VersionSummary, StoreError> {
    let version = row.try_get::<i64, _>("version")? as u32;
    Ok(VersionSummary {
        version,
        active: active == Some(version),
        lines: row.try_get::<i64, _>("lines")? as u32,
        errors: row.try_get::<i64, _>("errors")? as u32,
        warnings: row.try_get::<i64, _>("warnings")? as u32,
        created_at: timestamp(row.try_get("created_at")?),
    })
}

impl Store {
    pub async fn list_playbooks(&self) -> Result<Vec<PlaybookSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, active_version, latest_version, created_at, updated_at FROM playbooks ORDER BY name",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(summary).collect()
    }

    pub async fn playbook(&self, name: &str) -> Result<Option<PlaybookSummary>, StoreError> {
        let row = sqlx::query(
            "SELECT name, active_version, latest_version, created_at, updated_at FROM playbooks WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(summary).transpose()
    }

    pub async fn playbook_names(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT name FROM playbooks ORDER BY name")
            .fetch_all(self.pool())
            .await?;
        Ok(rows.iter().map(|r| r.get::<String, _>(0)).collect())
    }

    pub async fn playbook_detail(&self, name: &str) -> Result<Option<PlaybookDetail>, StoreError> {
        let Some(summary) = self.playbook(name).await? else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT version, lines, errors, warnings, created_at FROM playbook_versions \
             WHERE playbook = $1 ORDER BY version DESC",
        )
        .bind(name)
        .fetch_all(self.pool())
        .await?;
        let versions = rows
            .iter()
            .map(|row| version_summary(row, summary.active_version))
            .collect::<Result<_, _>>()?;
        Ok(Some(PlaybookDetail { summary, versions }))
    }

    pub async fn playbook_version(
        &self,
        name: &str,
        version: u32,
    ) -> Result<Option<PlaybookVersion>, StoreError> {
        let Some(playbook) = self.playbook(name).await? else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT version, lines, errors, warnings, created_at, source, docs, diagnostics \
             FROM playbook_versions WHERE playbook = $1 AND version = $2",
        )
        .bind(name)
        .bind(i64::from(version))
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let diagnostics: Vec<Diagnostic> =
            serde_json::from_str(&row.try_get::<String, _>("diagnostics")?).unwrap_or_default();
        Ok(Some(PlaybookVersion {
            name: name.to_string(),
            summary: version_summary(&row, playbook.active_version)?,
            source: row.try_get("source")?,
            docs: row.try_get("docs")?,
            diagnostics,
        }))
    }

    /// Stores a new version (inactive). A new playbook counts against `max_playbooks`.
    pub async fn save_version(
        &self,
        name: &str,
        new: NewVersion,
        max_playbooks: usize,
    ) -> Result<PlaybookVersion, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        // One statement takes the next number, so concurrent saves get distinct versions.
        let bumped = sqlx::query(
            "UPDATE playbooks SET latest_version = latest_version + 1, updated_at = $1 \
             WHERE name = $2 RETURNING latest_version",
        )
        .bind(now)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| row.get::<i64, _>(0));
        let version = match bumped {
            Some(version) => version,
            None => {
                self.lock_for_count(&mut tx, LimitedTable::Playbooks)
                    .await?;
                let count = sqlx::query("SELECT COUNT(*) FROM playbooks")
                    .fetch_one(&mut *tx)
                    .await?
                    .get::<i64, _>(0);
                if count as usize >= max_playbooks {
                    return Err(StoreError::Limit(format!(
                        "the engine holds {count} playbooks, the limit (limits.max_playbooks in riposte.toml) is {max_playbooks}: delete one first or raise the limit"
                    )));
                }
                let inserted = sqlx::query(
                    "INSERT INTO playbooks (name, active_version, latest_version, created_at, updated_at) \
                     VALUES ($1, NULL, 1, $2, $2)",
                )
                .bind(name)
                .bind(now)
                .execute(&mut *tx)
                .await;
                if let Err(err) = inserted {
                    if super::is_unique_violation(&err) {
                        return Err(StoreError::Conflict(format!(
                            "playbook `{name}` was created by another request at the same time: save again"
                        )));
                    }
                    return Err(err.into());
                }
                1
            }
        };
        sqlx::query(
            "INSERT INTO playbook_versions \
             (playbook, version, source, docs, diagnostics, lines, errors, warnings, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(name)
        .bind(version)
        .bind(&new.source)
        .bind(&new.docs)
        .bind(serde_json::to_string(&new.diagnostics).unwrap_or_else(|_| "[]".into()))
        .bind(i64::from(new.lines))
        .bind(i64::from(new.errors))
        .bind(i64::from(new.warnings))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let active = self.playbook(name).await?.and_then(|p| p.active_version);
        Ok(PlaybookVersion {
            name: name.to_string(),
            summary: VersionSummary {
                version: version as u32,
                active: active == Some(version as u32),
                lines: new.lines,
                errors: new.errors,
                warnings: new.warnings,
                created_at: timestamp(now),
            },
            source: new.source,
            docs: new.docs,
            diagnostics: new.diagnostics,
        })
    }

    /// Makes `version` the active one. Refused for a version with error-level diagnostics
    /// (the caller shows them).
    pub async fn activate(&self, name: &str, version: u32) -> Result<PlaybookSummary, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT errors FROM playbook_versions WHERE playbook = $1 AND version = $2",
        )
        .bind(name)
        .bind(i64::from(version))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound(format!(
                "playbook `{name}` has no version {version}"
            )));
        };
        let errors = row.get::<i64, _>(0);
        if errors > 0 {
            return Err(StoreError::Refused(format!(
                "version {version} of `{name}` has {errors} error-level diagnostic(s) and cannot be activated: fix them and save a new version"
            )));
        }
        sqlx::query("UPDATE playbooks SET active_version = $1, updated_at = $2 WHERE name = $3")
            .bind(i64::from(version))
            .bind(now_ms())
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.playbook(name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no playbook `{name}`")))
    }

    pub async fn deactivate(&self, name: &str) -> Result<PlaybookSummary, StoreError> {
        let done = sqlx::query(
            "UPDATE playbooks SET active_version = NULL, updated_at = $1 WHERE name = $2",
        )
        .bind(now_ms())
        .bind(name)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("no playbook `{name}`")));
        }
        self.playbook(name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no playbook `{name}`")))
    }

    /// Deletes a playbook and its versions; refused while a rule runs it.
    pub async fn delete_playbook(&self, name: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let rules = sqlx::query("SELECT name FROM rules WHERE playbook = $1 ORDER BY name")
            .bind(name)
            .fetch_all(&mut *tx)
            .await?;
        if !rules.is_empty() {
            let names: Vec<String> = rules
                .iter()
                .map(|r| format!("`{}`", r.get::<String, _>(0)))
                .collect();
            return Err(StoreError::Conflict(format!(
                "playbook `{name}` is run by rule(s) {}: delete those rules or point them at another playbook first",
                names.join(", ")
            )));
        }
        sqlx::query("DELETE FROM playbook_versions WHERE playbook = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM playbooks WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("no playbook `{name}`")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// The active version's source, if the playbook exists and has one.
    pub async fn active_version(&self, name: &str) -> Result<Option<ActiveVersion>, StoreError> {
        let row = sqlx::query(
            "SELECT v.version, v.source FROM playbooks p \
             JOIN playbook_versions v ON v.playbook = p.name AND v.version = p.active_version \
             WHERE p.name = $1",
        )
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|row| ActiveVersion {
            version: row.get::<i64, _>(0) as u32,
            source: row.get(1),
        }))
    }
}
