//! Integration profiles as stored: the profile file's text, the immutable `base_url` and auth
//! method beside it, and the secrets as one sealed blob (see `crate::secrets`). Only the names of
//! the secret fields that are set are kept in clear.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{LimitedTable, Store, StoreError, now_ms, timestamp};

/// A profile row. `sealed_secrets` is ciphertext; `secret_fields` names what it holds.
#[derive(Clone)]
pub struct StoredProfile {
    pub name: String,
    pub toml: String,
    pub base_url: String,
    pub auth_method: String,
    pub description: String,
    pub sealed_secrets: String,
    pub secret_fields: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

// Hand-written so that the ciphertext is not printed either.
impl std::fmt::Debug for StoredProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredProfile")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("auth_method", &self.auth_method)
            .field("secret_fields", &self.secret_fields)
            .finish_non_exhaustive()
    }
}

fn profile(row: &AnyRow) -> Result<StoredProfile, StoreError> {
    Ok(StoredProfile {
        name: row.try_get("name")?,
        toml: row.try_get("toml")?,
        base_url: row.try_get("base_url")?,
        auth_method: row.try_get("auth_method")?,
        description: row.try_get("description")?,
        sealed_secrets: row.try_get("secrets")?,
        secret_fields: serde_json::from_str(&row.try_get::<String, _>("secret_fields")?)
            .unwrap_or_default(),
        created_at: timestamp(row.try_get("created_at")?),
        updated_at: timestamp(row.try_get("updated_at")?),
    })
}

impl Store {
    pub async fn list_profiles(&self) -> Result<Vec<StoredProfile>, StoreError> {
        let rows = sqlx::query("SELECT * FROM profiles ORDER BY name")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(profile).collect()
    }

    pub async fn profile(&self, name: &str) -> Result<Option<StoredProfile>, StoreError> {
        let row = sqlx::query("SELECT * FROM profiles WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(profile).transpose()
    }

    /// Creates or updates a profile. `expected` is the row the caller read (and merged its
    /// secrets with): if another request changed the profile meanwhile, this answers a conflict
    /// rather than overwrite its secrets.
    pub async fn save_profile(
        &self,
        new: &StoredProfile,
        expected: Option<&StoredProfile>,
        max_profiles: usize,
    ) -> Result<StoredProfile, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let current = sqlx::query("SELECT * FROM profiles WHERE name = $1")
            .bind(&new.name)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(profile)
            .transpose()?;
        match (&current, expected) {
            (None, None) => {
                self.lock_for_count(&mut tx, LimitedTable::Profiles).await?;
                let count = sqlx::query("SELECT COUNT(*) FROM profiles")
                    .fetch_one(&mut *tx)
                    .await?
                    .get::<i64, _>(0);
                if count as usize >= max_profiles {
                    return Err(StoreError::Limit(format!(
                        "the engine holds {count} integration profiles, the limit (limits.max_integrations in riposte.toml) is {max_profiles}"
                    )));
                }
                sqlx::query(
                    "INSERT INTO profiles (name, toml, base_url, auth_method, description, secrets, secret_fields, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
                )
                .bind(&new.name)
                .bind(&new.toml)
                .bind(&new.base_url)
                .bind(&new.auth_method)
                .bind(&new.description)
                .bind(&new.sealed_secrets)
                .bind(serde_json::to_string(&new.secret_fields).unwrap_or_default())
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|err| {
                    if super::is_unique_violation(&err) {
                        StoreError::Conflict(format!(
                            "profile `{}` was created by another request at the same time: save again",
                            new.name
                        ))
                    } else {
                        err.into()
                    }
                })?;
            }
            (Some(current), Some(expected))
                if current.sealed_secrets == expected.sealed_secrets
                    && current.updated_at == expected.updated_at =>
            {
                if current.base_url != new.base_url || current.auth_method != new.auth_method {
                    return Err(StoreError::Conflict(format!(
                        "profile `{}` has base_url {} and auth method {}; they cannot change once created: create a profile with a new name instead",
                        new.name, current.base_url, current.auth_method
                    )));
                }
                sqlx::query(
                    "UPDATE profiles SET toml = $1, description = $2, secrets = $3, secret_fields = $4, updated_at = $5 \
                     WHERE name = $6",
                )
                .bind(&new.toml)
                .bind(&new.description)
                .bind(&new.sealed_secrets)
                .bind(serde_json::to_string(&new.secret_fields).unwrap_or_default())
                .bind(now)
                .bind(&new.name)
                .execute(&mut *tx)
                .await?;
            }
            _ => {
                return Err(StoreError::Conflict(format!(
                    "profile `{}` was changed by another request at the same time: save again",
                    new.name
                )));
            }
        }
        tx.commit().await?;
        self.profile(&new.name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no profile `{}`", new.name)))
    }

    pub async fn delete_profile(&self, name: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM profiles WHERE name = $1")
            .bind(name)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("no profile `{name}`")));
        }
        Ok(())
    }
}
