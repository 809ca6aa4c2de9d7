//! Automation rules as stored: the TOML they were saved as, their JSON form, and the columns the
//! engine sorts and counts by. `meta.rules_generation` changes with every change to a rule, so
//! every engine process knows when to recompile its rule set.

use riposte_engine_client::wire::RuleInfo;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{LimitedTable, Store, StoreError, now_ms, opt, timestamp};

/// A checked rule to store.
pub struct NewRule {
    pub name: String,
    pub enabled: bool,
    pub order: u32,
    pub trigger: String,
    pub toml: String,
    pub rule_json: serde_json::Value,
    pub action: String,
    pub playbook: Option<String>,
}

const SELECT: &str = "SELECT r.name, r.enabled, r.ord, r.trigger_kind, r.toml, r.rule_json, r.action, \
     r.playbook, r.created_at, r.updated_at, p.name AS found, p.active_version \
     FROM rules r LEFT JOIN playbooks p ON p.name = r.playbook";

fn info(row: &AnyRow) -> Result<RuleInfo, StoreError> {
    let playbook: Option<String> = opt(row, "playbook")?;
    let found: Option<String> = opt(row, "found")?;
    let active: Option<i64> = opt(row, "active_version")?;
    let problem = match (&playbook, found, active) {
        (Some(name), None, _) => Some(format!(
            "playbook `{name}` is not in the engine: save it, or point the rule at another playbook"
        )),
        (Some(name), Some(_), None) => Some(format!(
            "playbook `{name}` has no active version: matches queue no run until one is activated"
        )),
        _ => None,
    };
    Ok(RuleInfo {
        name: row.try_get("name")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        order: row.try_get::<i64, _>("ord")? as u32,
        trigger: row.try_get("trigger_kind")?,
        rule: serde_json::from_str(&row.try_get::<String, _>("rule_json")?)
            .unwrap_or(serde_json::Value::Null),
        toml: row.try_get("toml")?,
        action: row.try_get("action")?,
        playbook,
        problem,
        created_at: timestamp(row.try_get("created_at")?),
        updated_at: timestamp(row.try_get("updated_at")?),
    })
}

impl Store {
    /// All rules in evaluation order: ascending `order`, then name.
    pub async fn list_rules(&self) -> Result<Vec<RuleInfo>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} ORDER BY r.ord, r.name"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(info).collect()
    }

    pub async fn rule(&self, name: &str) -> Result<Option<RuleInfo>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE r.name = $1")))
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(info).transpose()
    }

    /// The enabled rules' JSON, in evaluation order, with the generation they belong to.
    pub async fn enabled_rules(&self) -> Result<(i64, Vec<(String, String)>), StoreError> {
        let generation = self.rules_generation().await?;
        let rows =
            sqlx::query("SELECT name, rule_json FROM rules WHERE enabled = 1 ORDER BY ord, name")
                .fetch_all(self.pool())
                .await?;
        Ok((
            generation,
            rows.iter().map(|r| (r.get(0), r.get(1))).collect(),
        ))
    }

    pub async fn rules_generation(&self) -> Result<i64, StoreError> {
        Ok(self
            .meta("rules_generation")
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    async fn bump_generation(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ('rules_generation', '1') \
             ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT)",
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn check_active_limit(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        name: &str,
        max_active: usize,
    ) -> Result<(), StoreError> {
        self.lock_for_count(tx, LimitedTable::Rules).await?;
        let others = sqlx::query("SELECT COUNT(*) FROM rules WHERE enabled = 1 AND name <> $1")
            .bind(name)
            .fetch_one(&mut **tx)
            .await?
            .get::<i64, _>(0);
        if others as usize >= max_active {
            return Err(StoreError::Limit(format!(
                "{others} rules are enabled, the limit (limits.max_active_rules in riposte.toml) is {max_active}: disable one first or save this rule with enabled = false"
            )));
        }
        Ok(())
    }

    /// Creates or replaces a rule.
    pub async fn save_rule(
        &self,
        rule: NewRule,
        max_active: usize,
    ) -> Result<RuleInfo, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        if rule.enabled {
            self.check_active_limit(&mut tx, &rule.name, max_active)
                .await?;
        }
        sqlx::query(
            "INSERT INTO rules (name, enabled, ord, trigger_kind, toml, rule_json, action, playbook, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
             ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, ord = excluded.ord, \
             trigger_kind = excluded.trigger_kind, toml = excluded.toml, rule_json = excluded.rule_json, \
             action = excluded.action, playbook = excluded.playbook, updated_at = excluded.updated_at",
        )
        .bind(&rule.name)
        .bind(i64::from(rule.enabled))
        .bind(i64::from(rule.order))
        .bind(&rule.trigger)
        .bind(&rule.toml)
        .bind(rule.rule_json.to_string())
        .bind(&rule.action)
        .bind(rule.playbook.clone())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        Self::bump_generation(&mut tx).await?;
        tx.commit().await?;
        self.rule(&rule.name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no rule `{}`", rule.name)))
    }

    /// Enables or disables a rule. The rule's stored TOML and JSON keep the `enabled` they were
    /// saved with; the column is what counts.
    pub async fn set_rule_enabled(
        &self,
        name: &str,
        enabled: bool,
        max_active: usize,
    ) -> Result<RuleInfo, StoreError> {
        let mut tx = self.begin_write().await?;
        if enabled {
            self.check_active_limit(&mut tx, name, max_active).await?;
        }
        let done = sqlx::query("UPDATE rules SET enabled = $1, updated_at = $2 WHERE name = $3")
            .bind(i64::from(enabled))
            .bind(now_ms())
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("no rule `{name}`")));
        }
        Self::bump_generation(&mut tx).await?;
        tx.commit().await?;
        self.rule(name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no rule `{name}`")))
    }

    pub async fn delete_rule(&self, name: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM rules WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("no rule `{name}`")));
        }
        Self::bump_generation(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
}
